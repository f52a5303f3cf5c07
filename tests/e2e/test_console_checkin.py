"""Volunteers at a drive, through the console: `/checkin` finds donors by phone or by the token
of their `/card`, checks them in, records verified donations and deferrals, and registers
walk-ins on the spot; volunteers of other units and forged cards are refused.

"Today" is Thursday 26/11/2026, 10:00 (tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from db.models import Audit, Deferral, Donation, Outbox, Person, Pledge
from handlers.messages import Inbound, InboundKind
from services import cards, donations, drives, persons, pledges, sharing, units
from services.audit import Actor
from services.drives import SlotSpec
from services.eligibility import DonationKind
from services.units import UnitKind, UnitRow
from services.work import Database
from tests.conftest import NOW, TEST_SECRET, Transcript
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive

TODAY = dt.date(2026, 11, 26)
SLOTS = (SlotSpec(dt.time(7, 30), dt.time(8, 30), 40), SlotSpec(dt.time(8, 30), dt.time(10), 40))
LAN_PHONE = "+84912300001"
DONOR_MENU = ["✅ Đã đến (check-in)", "🩸 Ghi nhận hiến máu", "⏸ Hoãn hiến", "👥 Người khác"]


async def setup(database: Database, *, pledged: bool = True) -> tuple[int, int, int]:
    """Units, a volunteer of Tam Đường, Lan of Bình Lư (pledged to the 07:30 slot) and
    today's drive in Bình Lư. Returns (volunteer, Lan, drive) ids."""
    await load_units(database)
    volunteer = await add_person(
        database, "vol", "Trần Văn Hùng", "+84912000001", role="volunteer", unit="LCU-TD"
    )
    lan = await add_person(
        database, "lan", "Nguyễn Thị Lan", LAN_PHONE, year=1995, unit="LCU-X-BINHLU"
    )
    drive = await add_drive(database, TODAY, "Nhà văn hoá xã Bình Lư", SLOTS, unit_code="LCU-TD")
    if pledged:
        await pledge(database, lan, drive, first_slot=True)
    return volunteer, lan, drive


async def pledge(database: Database, person_id: int, drive_id: int, first_slot: bool) -> None:
    async with database.work() as work:
        person = await persons.get(work, person_id)
        assert person is not None
        drive = await drives.get(work, drive_id)
        slot = drive.slots[0].id if first_slot and drive.slots else None
        await pledges.pledge(work, person, drive_id, slot, Actor("test", person_id))


async def card_code(chat: Transcript) -> str:
    """The token as the donor's /card shows it (grouped by dashes)."""
    text = await chat.say("/card")
    found = re.search(r"Mã thẻ: (\S+)", text)
    assert found is not None, text
    return found[1]


async def press(chat: Transcript, payload: str) -> str:
    """Press a button by its payload, as a chat platform sends an old keyboard's press."""
    inbound = Inbound(
        "console", chat.console.user_id, chat.console.user_id, InboundKind.BUTTON, payload
    )
    chat.replies = await chat.console.dispatch(inbound)
    return "\n".join(r.text for r in chat.replies)


async def audit_actions(database: Database, subject: int | None = None) -> list[str]:
    async with database.work() as work:
        statement = select(Audit.action).order_by(Audit.id)
        if subject is not None:
            statement = statement.where(Audit.subject_person_id == subject)
        return list(await work.session.scalars(statement))


async def test_volunteer_checks_in_a_pledged_donor_by_phone_and_records_whole_blood(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    volunteer, lan, drive_id = await setup(database)
    vol = chat_factory("vol")
    assert "/checkin" in await vol.say("/help")
    ask = await vol.say("/checkin")  # one drive today: no need to choose it
    assert "Ngày hội hiến máu Nhà văn hoá xã Bình Lư · 26/11/2026" in ask
    assert "Đã check-in: 0 người · đã hiến: 0 người" in ask
    assert "số điện thoại hoặc mã thẻ" in ask

    card = await vol.say("0912 300 001")
    assert "👤 Nguyễn Thị Lan" in card
    assert "Năm sinh: 1995 · Nhóm máu: O Rh+" in card
    assert "✅ Đủ điều kiện hiến máu ngày 26/11/2026" in card
    assert "🕒 Đã đăng ký khung 07:30–08:30." in card and "📍 Chưa check-in." in card
    assert "0912" not in card  # the phone is not read back
    assert vol.menu == DONOR_MENU
    # A button left on an earlier donor's card is not taken for this donor's.
    stale = await press(vol, f"ci_donor:in:{volunteer}")
    assert "thuộc thẻ của người hiến trước" in stale and "👤 Nguyễn Thị Lan" in stale

    done = await vol.choose("Đã đến")
    assert "✅ Đã check-in: Nguyễn Thị Lan." in done and "Đã check-in: 1 người" in done
    async with database.work() as work:
        row = await pledges.current(work, lan, drive_id)
        assert row is not None
        assert (row.status, row.checked_in_at, row.checked_in_by_id) == ("pledged", NOW, volunteer)

    card = await vol.say("0912300001")  # back from screening: the donation
    assert "📍 Đã check-in lúc 10:00." in card and "Đã đến" not in " ".join(vol.menu)
    assert "loại nào" in await vol.choose("Ghi nhận hiến máu")
    assert vol.menu == ["Máu toàn phần", "Tiểu cầu", "Huyết tương", "↩️ Quay lại"]
    await vol.choose("Máu toàn phần")
    assert vol.menu == ["250 ml", "350 ml", "450 ml", "↩️ Quay lại"]
    recorded = await vol.choose("350 ml")
    assert "🩸 Đã ghi nhận hiến máu: Nguyễn Thị Lan, Máu toàn phần 350 ml (lần thứ 1)" in recorded
    assert "Được hiến lại từ ngày 18/02/2027" in recorded  # 12 weeks after 26/11/2026
    assert "đã hiến: 1 người" in recorded

    async with database.work() as work:
        [donation] = list(await work.session.scalars(select(Donation)))
        assert (donation.person_id, donation.donated_on, donation.drive_id) == (
            lan,
            TODAY,
            drive_id,
        )
        assert (donation.kind, donation.volume_ml) == ("whole_blood", 350)
        assert donation.verified and donation.recorded_by_id == volunteer
        person = await persons.get(work, lan)
        assert person is not None and person.next_eligible_on == dt.date(2027, 2, 18)
        row = await pledges.current(work, lan, drive_id)
        assert row is not None and row.status == "attended" and row.checked_in_at == NOW
        by_volunteer = await work.session.scalars(
            select(Audit.action).where(
                Audit.subject_person_id == lan, Audit.actor_person_id == volunteer
            )
        )
        assert set(by_volunteer) == {"checkin.lookup", "pledge.check_in", "donation.add"}

    again = await vol.say("0912300001")
    assert "🩸 Đã ghi nhận hiến máu ngày 26/11/2026: Máu toàn phần 350 ml." in again
    assert vol.menu == ["👥 Người khác"]  # nothing more to record today
    await vol.choose("Người khác")
    end = await vol.choose("Kết thúc")
    assert "1 người đã check-in, 1 người đã hiến" in end
    assert "Không có thao tác nào" in await vol.say("/cancel")  # the session is over

    history = await chat_factory("lan").say("/mydonations")
    assert "26/11/2026 · Máu toàn phần · 350 ml · đã xác nhận" in history


async def test_donor_shows_the_card_and_the_volunteer_checks_in_by_its_token(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    _volunteer, lan_id, _drive = await setup(database)
    lan = chat_factory("lan")
    code = await card_code(lan)
    text = lan.replies[0].text
    assert "🪪 Thẻ hiến máu của Nguyễn Thị Lan" in text and "Nhóm máu: O Rh+" in text
    token = code.replace("-", "")
    assert re.fullmatch(r"[0-9A-Z]{13,20}", token) and "912300001" not in token
    assert cards.holder(TEST_SECRET, token) == lan_id
    qr = lan.replies[0].attachment
    assert qr is not None and qr.mime_type == "image/png"
    # The console has no deep links: the QR holds the command a volunteer sends.
    assert qr.content == sharing.qr_png(f"/start card_{token}")

    vol = chat_factory("vol")
    await vol.say("/checkin")
    card = await vol.say(code.lower())  # typed as read out, in any case
    assert "👤 Nguyễn Thị Lan" in card and vol.menu == DONOR_MENU
    assert "Đã check-in: Nguyễn Thị Lan" in await vol.choose("Đã đến")
    # A QR scanner's text pasted in: the deep link of another platform works too.
    card = await vol.say(f"https://t.me/hienmau_bot?start=card_{token}")
    assert "👤 Nguyễn Thị Lan" in card and "Đã check-in lúc 10:00" in card
    await vol.choose("Người khác")
    await vol.choose("Kết thúc")

    # Scanned outside a session (the deep link sends /start card_...): straight to the donor.
    card = await vol.say(f"/start card_{token}")
    assert "👤 Nguyễn Thị Lan" in card and "Đã check-in lúc 10:00" in card
    # ... and in the middle of one, at the donor step too.
    assert "Nguyễn Thị Lan" in await vol.say(f"/start card_{token}")
    assert "đang check-in" in await vol.say("/start")  # a bare /start keeps the session
    assert "đang làm dở" in await vol.say("/drives")  # other commands wait as usual
    async with database.work() as work:
        lookups = await work.session.scalars(
            select(Audit.details).where(Audit.action == "checkin.lookup")
        )
        assert [d["by"] for d in lookups] == ["card"] * 4

    # A donor who scans a card (their own or anyone's) is told what it is for.
    assert "tình nguyện viên tại điểm hiến máu" in await lan.say(f"/start card_{token}")
    assert "chưa đăng ký" in await chat_factory("stranger").say("/card")


async def test_a_walk_in_is_registered_on_the_spot_and_gives_platelets(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    volunteer, _lan, drive_id = await setup(database)
    vol = chat_factory("vol")
    await vol.say("/checkin")
    assert "Chưa có ai đăng ký với số" in await vol.say("0987 654 321")
    assert "đã đồng ý" in await vol.choose("Người mới")
    await vol.choose("Đồng ý lưu và nhận nhắc lịch")
    await vol.say("Lê Văn Nam")
    await vol.say("0987 654 321")
    await vol.say("1999")
    await vol.choose("Nam")
    await vol.choose("A Rh+")
    await vol.say("binh lu")
    await vol.choose("Xã Bình Lư")
    summary = await vol.choose("Bỏ qua")
    assert "Lê Văn Nam" in summary and "0987 654 321" in summary
    card = await vol.choose("Lưu")
    assert "✅ Đã đăng ký người hiến mới và check-in." in card
    assert "👤 Lê Văn Nam" in card and "Năm sinh: 1999 · Nhóm máu: A Rh+" in card
    assert "Chưa đăng ký trước đợt này (đến trực tiếp)" in card
    assert "📍 Đã check-in lúc 10:00." in card
    await vol.choose("Ghi nhận hiến máu")
    recorded = await vol.choose("Tiểu cầu")  # apheresis: no volume asked
    assert "Lê Văn Nam, Tiểu cầu (lần thứ 1)" in recorded
    assert "Được hiến lại từ ngày 10/12/2026" in recorded  # 2 weeks after apheresis

    async with database.work() as work:
        nam = await persons.find_by_phone(work, "+84987654321")
        assert nam is not None and nam.registered_by_id == volunteer
        assert persons.awaits_confirmation(nam)  # the donor confirms on first contact
        row = await pledges.current(work, nam.id, drive_id)
        assert row is not None
        assert (row.status, row.channel, row.slot_id) == ("attended", "walk_in", None)
        assert (row.checked_in_at, row.checked_in_by_id) == (NOW, volunteer)
        [donation] = await donations.history(work, nam.id)
        assert (donation.kind, donation.volume_ml, donation.verified) == ("platelets", None, True)
    actions = await audit_actions(database, nam.id)
    assert actions == ["person.register_on_behalf", "pledge.check_in", "donation.add"]

    # A "new" donor whose phone is on file is found, not registered twice.
    await vol.choose("Người mới")
    await vol.choose("Chỉ đồng ý lưu thông tin")
    await vol.say("Nguyễn Lan")
    card = await vol.say("0912300001")
    assert "đã có hồ sơ người hiến máu" in card and "👤 Nguyễn Thị Lan" in card
    # A walk-in who did not agree: nothing stored, the session goes on.
    await vol.choose("Người khác")
    await vol.choose("Người mới")
    assert "Đã dừng đăng ký" in await vol.choose("Chưa đồng ý")
    async with database.work() as work:
        assert len(list(await work.session.scalars(select(Person)))) == 3


async def test_the_fifth_donation_queues_the_milestone_for_the_donor(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    _volunteer, lan, _drive = await setup(database)
    async with database.work() as work:
        person = await persons.get(work, lan)
        assert person is not None
        for day in ("2025-06-01", "2025-09-01", "2025-12-01", "2026-08-20"):
            await donations.add(
                work,
                person,
                dt.date.fromisoformat(day),
                DonationKind.WHOLE_BLOOD,
                Actor("test"),
                volume_ml=350,
                verified=True,
            )
    vol = chat_factory("vol")
    await vol.say("/checkin")
    assert "✅ Đủ điều kiện" in await vol.say("0912300001")  # 20/08 + 84 days = 12/11
    await vol.choose("Ghi nhận hiến máu")
    await vol.choose("Máu toàn phần")
    recorded = await vol.choose("450 ml")
    assert "(lần thứ 5)" in recorded and "đạt mốc 5 lần hiến máu" in recorded
    async with database.work() as work:
        queued = list(await work.session.scalars(select(Outbox)))
    assert [(row.key, row.person_id, row.params) for row in queued] == [
        ("milestone", lan, {"count": 5})
    ]


async def test_a_deferral_keeps_the_end_date_and_a_reason_code_only(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    volunteer, lan, drive_id = await setup(database)
    vol = chat_factory("vol")
    await vol.say("/checkin")
    await vol.say("0912300001")
    reasons = await vol.choose("Hoãn hiến")
    assert "không lưu chi tiết sức khoẻ" in reasons
    assert vol.menu == [
        "Cảm cúm (7 ngày)",
        "Huyết áp",
        "Huyết sắc tố thấp",
        "Mới xăm (6 tháng)",
        "Phẫu thuật (12 tháng)",
        "Lý do khác",
        "↩️ Quay lại",
    ]
    await vol.choose("Mới xăm")
    assert vol.menu == ["Đến 26/05/2027", "↩️ Quay lại"]
    assert "phải sau ngày 26/11/2026" in await vol.say("20/11/2026")
    assert "tối đa 2 năm" in await vol.say("01/01/2030")
    done = await vol.choose("Đến 26/05/2027")
    assert "⏸ Đã ghi nhận hoãn hiến: Nguyễn Thị Lan, đến ngày 26/05/2027." in done

    async with database.work() as work:
        [deferral] = list(await work.session.scalars(select(Deferral)))
        assert (deferral.person_id, deferral.until, deferral.reason) == (
            lan,
            dt.date(2027, 5, 26),
            "tattoo",
        )
        assert deferral.recorded_by_id == volunteer
        person = await persons.get(work, lan)
        assert person is not None and person.next_eligible_on == dt.date(2027, 5, 26)
        row = await pledges.current(work, lan, drive_id)
        assert row is not None and row.checked_in_at == NOW  # deferred, but they came
        assert await work.session.scalar(select(Donation)) is None
        logged = await work.session.scalar(select(Audit).where(Audit.action == "deferral.add"))
        assert logged is not None and logged.actor_person_id == volunteer
        assert "tattoo" not in str(logged.details)  # not even the code leaves the record

    card = await vol.say("0912300001")
    assert "⏸ Đang hoãn hiến đến ngày 26/05/2027." in card
    assert "⚠️ Chưa đủ điều kiện hiến máu: chỉ được hiến lại từ ngày 26/05/2027." in card
    assert vol.menu == ["⏸ Hoãn hiến", "👥 Người khác"]
    # Another reason with no usual length: quick choices, or a typed date.
    await vol.choose("Hoãn hiến")
    await vol.choose("Lý do khác")
    assert vol.menu == ["Đến 10/12/2026", "Đến 26/12/2026", "Đến 26/02/2027", "↩️ Quay lại"]
    assert "đến ngày 01/06/2027" in await vol.say("01/06/2027")


async def test_an_ineligible_donor_is_warned_and_may_only_be_deferred(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    _volunteer, lan, _drive = await setup(database)
    await add_person(database, "ong", "Lò Văn Ông", "+84912300009", year=1960, unit="LCU-TD")
    async with database.work() as work:
        person = await persons.get(work, lan)
        assert person is not None
        await donations.add(
            work, person, dt.date(2026, 11, 1), DonationKind.WHOLE_BLOOD, Actor("t"), volume_ml=350
        )
    vol = chat_factory("vol")
    await vol.say("/checkin")
    card = await vol.say("0912300001")
    assert "⚠️ Chưa đủ điều kiện hiến máu: chỉ được hiến lại từ ngày 24/01/2027." in card
    assert vol.menu == ["✅ Đã đến (check-in)", "⏸ Hoãn hiến", "👥 Người khác"]
    await vol.choose("Hoãn hiến")
    await vol.choose("Cảm cúm")
    assert "đến ngày 03/12/2026" in await vol.choose("Đến 03/12/2026")

    old = await vol.say("0912300009")
    assert "⚠️ Đã quá 60 tuổi" in old
    assert "Ghi nhận hiến máu" not in " ".join(vol.menu)
    async with database.work() as work:
        assert len(list(await work.session.scalars(select(Donation)))) == 1


async def add_thai_nguyen(database: Database) -> None:
    async with database.work() as work:
        await units.upsert(
            work,
            [
                UnitRow("TNG", "Tỉnh Thái Nguyên", UnitKind.PROVINCE, None),
                UnitRow("TNG-X-PHUCHU", "Xã Phúc Chu", UnitKind.COMMUNE, "TNG"),
            ],
        )


async def test_a_volunteer_of_another_province_is_refused_and_nothing_changes(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    _volunteer, lan, lcu_drive = await setup(database, pledged=False)
    await add_thai_nguyen(database)
    other = await add_person(
        database, "tng", "Hà Văn Tú", "+84912000077", role="volunteer", unit="TNG"
    )
    tng_drive = await add_drive(
        database, TODAY, "Nhà văn hoá xã Phúc Chu", unit_code="TNG-X-PHUCHU"
    )
    code = await card_code(chat_factory("lan"))

    tng = chat_factory("tng")
    ask = await tng.say("/checkin")  # only the drive of their own province
    assert "Phúc Chu" in ask and "Bình Lư" not in ask
    refused = await tng.say("0912300001")
    assert "ngoài phạm vi bạn phụ trách" in refused
    assert "ngoài phạm vi bạn phụ trách" in await tng.say(code)
    assert "ngoài phạm vi bạn phụ trách" in await tng.say(f"/start card_{code}")
    async with database.work() as work:
        assert list(await work.session.scalars(select(Pledge))) == []
        assert await work.session.scalar(select(Donation)) is None
        refusals = list(
            await work.session.execute(
                select(Audit.subject_person_id, Audit.details).where(
                    Audit.action == "checkin.refused", Audit.actor_person_id == other
                )
            )
        )
    assert [(subject, details["why"]) for subject, details in refusals] == [
        (lan, "donor_scope")
    ] * 3
    assert "checkin.lookup" not in await audit_actions(database, lan)

    # A volunteer of another district of Lai Châu has no drive today.
    await add_person(database, "tu", "Lò Văn Tú", "+84912000078", role="volunteer", unit="LCU-TU")
    assert "không có đợt hiến máu nào" in await chat_factory("tu").say("/checkin")
    # A donor without a role cannot check anyone in.
    assert "vai trò" in await chat_factory("lan").say("/checkin")

    # Lan signs up for the Thái Nguyên drive herself: its volunteer may now check her in.
    await pledge(database, lan, tng_drive, first_slot=False)
    card = await tng.say("0912300001")
    assert "👤 Nguyễn Thị Lan" in card and "Đã đăng ký tham gia đợt này" in card
    assert "Đã check-in: Nguyễn Thị Lan" in await tng.choose("Đã đến")
    async with database.work() as work:
        assert await pledges.current(work, lan, lcu_drive) is None


async def test_a_forged_or_altered_card_is_refused(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    _volunteer, lan, _drive = await setup(database)
    token = (await card_code(chat_factory("lan"))).replace("-", "")
    last = token[-1]
    altered = token[:-1] + ("0" if last != "0" else "1")
    forged = cards.card(b"someone-else's-secret-0123456789abcdef", lan).token
    padded = "0" + token  # the same number, spelled differently

    vol = chat_factory("vol")
    await vol.say("/checkin")
    for attempt in (altered, forged, padded, "card_" + altered):
        refused = await vol.say(attempt)
        assert "Mã thẻ không đúng" in refused, attempt
        assert "Nguyễn Thị Lan" not in refused
    refused = await vol.say(f"/start card_{forged}")
    assert "Mã thẻ không đúng" in refused and "Nguyễn Thị Lan" not in refused
    assert "👤 Nguyễn Thị Lan" in await vol.say(token)  # the genuine one still works
    async with database.work() as work:
        details = list(
            await work.session.scalars(
                select(Audit.details).where(Audit.action == "checkin.refused")
            )
        )
        assert [d["why"] for d in details] == ["card_token"] * 5
        assert await work.session.scalar(select(Pledge.checked_in_at)) is None
