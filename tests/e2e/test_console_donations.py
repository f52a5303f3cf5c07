"""Donations through the console: a donor reports a donation with /donated, sees the next date
they may give blood and their honour milestone, and reads their history in /mydonations.

"Today" is Thursday 26/11/2026 (tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from db.models import Donation
from services import donations, persons
from services.audit import Actor
from services.eligibility import DonationKind
from services.work import Database
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive

TODAY = dt.date(2026, 11, 26)


async def _add(
    database: Database,
    person_id: int,
    day: dt.date,
    kind: DonationKind = DonationKind.WHOLE_BLOOD,
    *,
    volume_ml: int | None = 350,
    verified: bool = True,
) -> None:
    async with database.work() as work:
        person = await persons.get(work, person_id)
        assert person is not None
        await donations.add(
            work, person, day, kind, Actor("volunteer"), volume_ml=volume_ml, verified=verified
        )


async def _stored(database: Database, person_id: int) -> list[Donation]:
    async with database.work() as work:
        return await donations.history(work, person_id)


async def test_donor_reports_whole_blood_and_may_give_again_12_weeks_later(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    chat = chat_factory("lan")
    assert "ngày nào" in await chat.say("/donated")
    assert chat.menu == ["Hôm nay", "Hôm qua"]
    assert "loại nào" in await chat.choose("Hôm nay")
    assert chat.menu == ["Máu toàn phần", "Tiểu cầu", "Huyết tương"]
    assert "bao nhiêu ml" in await chat.choose("Máu toàn phần")
    assert chat.menu == ["250 ml", "350 ml", "450 ml", "Không nhớ"]
    summary = await chat.choose("350 ml")
    assert "• Ngày: 26/11/2026" in summary
    assert "• Loại: Máu toàn phần" in summary and "• Thể tích: 350 ml" in summary
    assert (await _stored(database, lan)) == []  # nothing saved before the donor says so
    thanks = await chat.choose("Lưu")
    assert "Cảm ơn bạn" in thanks and "lần hiến máu thứ 1" in thanks
    assert "Bạn có thể hiến lại từ ngày 18/02/2027" in thanks  # 26/11/2026 + 84 days
    assert "Chúc mừng lần hiến máu đầu tiên" in thanks
    [saved] = await _stored(database, lan)
    assert (saved.donated_on, saved.kind, saved.volume_ml) == (TODAY, "whole_blood", 350)
    assert saved.verified is False and saved.recorded_by_id == lan
    async with database.work() as work:
        person = await persons.get(work, lan)
        assert person is not None and person.next_eligible_on == dt.date(2027, 2, 18)


async def test_platelets_take_a_typed_date_and_need_two_weeks(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    chat = chat_factory("lan")
    await chat.say("/donated")
    await chat.say("20/11/2026")
    summary = await chat.choose("Tiểu cầu")  # no volume question after apheresis
    assert "• Loại: Tiểu cầu" in summary and "Thể tích" not in summary
    thanks = await chat.choose("Lưu")
    assert "Bạn có thể hiến lại từ ngày 04/12/2026" in thanks
    [saved] = await _stored(database, lan)
    assert (saved.donated_on, saved.kind, saved.volume_ml) == (
        dt.date(2026, 11, 20),
        "platelets",
        None,
    )


async def test_typed_answers_and_redo_work_like_buttons(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    chat = chat_factory("lan")
    await chat.say("/donated")
    assert "loại nào" in await chat.say("hôm qua")
    await chat.say("máu toàn phần")
    assert "250, 350 hoặc 450 ml" in await chat.say("500")
    summary = await chat.say("Không nhớ")
    assert "25/11/2026" in summary and "không rõ thể tích" in summary
    assert "ngày nào" in await chat.choose("Sửa lại")
    await chat.say("01/09/2026")
    await chat.choose("Huyết tương")
    await chat.choose("Lưu")
    [saved] = await _stored(database, lan)
    assert (saved.donated_on, saved.kind) == (dt.date(2026, 9, 1), "plasma")


async def test_impossible_dates_are_refused_politely(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    await add_person(database, "minh", "Lò Văn Minh", "+84912300002", year=2008)
    chat = chat_factory("lan")
    await chat.say("/donated")
    refusal = await chat.say("27/11/2026")
    assert "không thể ở tương lai" in refusal and "ngày nào" in refusal  # asked again
    assert "10 năm gần đây" in await chat.say("01/01/2015")
    assert "ngày/tháng/năm" in await chat.say("hôm kia")
    assert "Đã huỷ" in await chat.say("/cancel")

    young = chat_factory("minh")  # born in 2008: 18 this year, 17 in 2025
    await young.say("/donated")
    assert "chưa đủ 18 tuổi" in await young.say("15/06/2025")
    assert "loại nào" in await young.say("15/06/2026")


async def test_a_day_already_recorded_is_not_added_twice(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    await _add(database, lan, dt.date(2026, 11, 20))
    chat = chat_factory("lan")
    await chat.say("/donated")
    refusal = await chat.say("20/11/2026")
    assert "ngày 20/11/2026 đã được ghi nhận rồi" in refusal
    assert len(await _stored(database, lan)) == 1

    # The same day recorded by a volunteer while the donor sat on the summary.
    await chat.choose("Hôm qua")
    await chat.choose("Máu toàn phần")
    await chat.choose("450 ml")
    await _add(database, lan, dt.date(2026, 11, 25))
    late = await chat.choose("Lưu")
    assert "ngày 25/11/2026 đã được ghi nhận rồi" in late
    assert len(await _stored(database, lan)) == 2
    assert "Không có thao tác nào" in await chat.say("/cancel")  # the wizard is over


async def test_the_fifth_donation_is_congratulated(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    for day in (
        dt.date(2025, 3, 1),
        dt.date(2025, 7, 1),
        dt.date(2025, 11, 1),
        dt.date(2026, 4, 1),
    ):
        await _add(database, lan, day)
    chat = chat_factory("lan")
    await chat.say("/donated")
    await chat.choose("Hôm nay")
    await chat.choose("Máu toàn phần")
    await chat.choose("350 ml")
    thanks = await chat.choose("Lưu")
    assert "lần hiến máu thứ 5" in thanks
    assert "Chúc mừng bạn đạt mốc 5 lần hiến máu" in thanks

    await chat.say("/donated")
    await chat.say("01/10/2026")  # an older one, told late: the 6th, no milestone
    await chat.choose("Tiểu cầu")
    thanks = await chat.choose("Lưu")
    assert "thứ 6" in thanks and "Chúc mừng" not in thanks
    assert "18/02/2027" in thanks  # the latest donation (whole blood today) still sets the date


async def test_history_tells_verified_from_self_reported(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    chat = chat_factory("lan")
    empty = await chat.say("/mydonations")
    assert "chưa có lần hiến máu nào" in empty
    assert chat.menu == ["🩸 Khai báo lần hiến máu", "📅 Các đợt hiến máu sắp tới"]

    await _add(database, lan, dt.date(2025, 8, 10), volume_ml=450)
    await _add(database, lan, dt.date(2026, 6, 14), DonationKind.PLATELETS, volume_ml=None)
    await _add(database, lan, dt.date(2026, 9, 1), volume_ml=None, verified=False)
    history = await chat.say("/mydonations")
    lines = history.splitlines()
    assert lines.index("• 01/09/2026 · Máu toàn phần · không rõ thể tích · tự khai") < (
        lines.index("• 14/06/2026 · Tiểu cầu · đã xác nhận")
    )
    assert "• 10/08/2025 · Máu toàn phần · 450 ml · đã xác nhận" in lines
    assert "Tổng cộng: 3 lần hiến máu." in history
    assert "Bạn có thể hiến lại từ ngày 24/11/2026" not in history  # 01/09 + 84 days has passed
    assert "Bạn có thể hiến ngay bây giờ" in history
    assert "Còn 2 lần nữa đạt mốc 5 lần hiến máu" in history
    assert "ngày nào" in await chat.choose("Khai báo lần hiến máu")
    await chat.choose("Hôm nay")
    await chat.choose("Huyết tương")
    await chat.choose("Lưu")
    history = await chat.say("/mydonations")
    assert "Bạn có thể hiến lại từ ngày 10/12/2026" in history
    assert "Còn 1 lần nữa đạt mốc 5 lần hiến máu" in history
    assert "chưa có đợt hiến máu nào sắp tới" in await chat.choose("Các đợt hiến máu sắp tới")


async def test_unregistered_people_are_asked_to_register(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    stranger = chat_factory("stranger")
    assert "chưa đăng ký hiến máu" in await stranger.say("/donated")
    assert "chưa đăng ký hiến máu" in await stranger.say("/mydonations")
    async with database.work() as work:
        assert await work.session.scalar(select(func.count()).select_from(Donation)) == 0


async def test_after_reporting_a_donation_a_drive_too_soon_is_refused(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    soon = await add_drive(database, dt.date(2026, 12, 12), "Nhà văn hoá xã Bình Lư")
    later = await add_drive(database, dt.date(2027, 3, 6), "Trường THPT Tam Đường")
    await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    chat = chat_factory("lan")
    await chat.say("/donated")
    await chat.choose("Hôm nay")
    await chat.choose("Máu toàn phần")
    await chat.choose("250 ml")
    await chat.choose("Lưu")
    await chat.say(f"/start drive_{soon}")
    refusal = await chat.choose("Đăng ký hiến máu")
    assert "Ngày 12/12/2026 bạn chưa đủ điều kiện" in refusal
    assert "hiến lại từ ngày 18/02/2027" in refusal
    await chat.say(f"/start drive_{later}")
    assert "Cảm ơn bạn" in await chat.choose("Đăng ký hiến máu")
