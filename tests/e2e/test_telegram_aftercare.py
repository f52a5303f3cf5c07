"""After the drive on Telegram (the real PTB Application against the fake Bot API): "we
missed you" delivered by the scheduler's tick with its buttons, the donor's one-tap answer,
the volunteer's call list; and a certificate photo sent, stored and sent back."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from db.models import CallTask, Donation
from scheduler.sender import Limits, Sender
from scheduler.ticker import Ticker
from services import donations, drives, persons, pledges
from services.audit import Actor
from services.clock import FixedClock
from services.drives import SlotSpec
from services.eligibility import DonationKind
from services.planners import PlanSettings
from services.roles import Role
from services.work import Database
from tests.conftest import NOW, ZONE
from tests.e2e import test_telegram as channel_tests
from tests.e2e.test_telegram import Harness, add_telegram_person
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.sample import load_units
from tests.sample_drives import add_drive

api = channel_tests.api  # the fake platform and the channel, as its own tests set them up
bot = channel_tests.bot
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

JPEG = b"\xff\xd8\xff\xe0" + b"giay chung nhan" * 30


async def test_a_no_show_gets_the_follow_up_and_a_volunteer_calls_them(
    bot: Harness,
    api: FakeTelegramAPI,
    database: Database,
    clock: FixedClock,
) -> None:
    await load_units(database)
    dung = await add_telegram_person(database, 7101, "Lê Thị Dung", "+84912000071")
    await add_telegram_person(database, 7102, "Trần Văn Tình", "+84912000072", Role.VOLUNTEER)
    slots = (SlotSpec(dt.time(7, 30), dt.time(9, 30), 40),)
    drive = await add_drive(database, NOW.date(), "Nhà văn hoá xã Bình Lư", slots, "LCU-TD")
    await add_drive(database, dt.date(2026, 12, 12), "Trung tâm Y tế huyện", slots, "LCU-TD")
    async with database.work() as work:
        person = await persons.get(work, dung)
        assert person is not None
        first_slot = (await drives.get(work, drive)).slots[0].id
        await pledges.pledge(work, person, drive, first_slot, Actor("t"))

    clock.set(dt.datetime(2026, 11, 27, 9, 0, tzinfo=ZONE))
    sender = Sender(
        database,
        {"telegram": bot.channel.deliver},
        {"telegram": Limits(per_second=1000, per_chat_seconds=0)},
    )
    result = await Ticker(database, PlanSettings(), sender).tick()
    assert result.sent.sent == 1
    missed = api.sent(7101)[-1]
    assert "mình không gặp bạn" in (missed.text or "")
    assert missed.button_texts[:4] == [
        "😅 Quên mất",
        "🤒 Bị ốm",
        "💼 Bận việc",
        "🩺 Bị hoãn hiến tại chỗ",
    ]
    dung_user = api.user(7101, "Dung")
    _pressed, answer = await bot.press(dung_user, "Bị hoãn hiến tại chỗ")
    assert "Hoãn hiến là chuyện bình thường" in answer
    async with database.work() as work:
        pledge = await pledges.current(work, dung, drive)
        assert pledge is not None and pledge.missed_reason == "deferred"

    volunteer = api.user(7102, "Tình")
    listing = await bot.say(volunteer, "/calls")
    assert "1. Lê Thị Dung · 0912 000 071" in listing
    assert "Liên lạc gần nhất: 27/11/2026 09:00" in listing
    card = (await bot.press(volunteer, "Lê Thị Dung"))[1]
    assert "Kết quả: chưa gọi" in card
    done = (await bot.press(volunteer, "Đã liên lạc được"))[1]
    assert "Đã ghi: Lê Thị Dung — đã liên lạc được." in done
    assert "Xong" in (await bot.press(volunteer, "Bỏ qua"))[1]
    async with database.work() as work:
        task = (await work.session.scalars(select(CallTask))).one()
        assert task.outcome == "reached"
    assert "Hiện không có ai cần gọi" in await bot.say(volunteer, "/calls")


async def test_a_certificate_photo_sent_on_telegram_is_kept_and_sent_back(
    bot: Harness,
    api: FakeTelegramAPI,
    database: Database,
) -> None:
    await load_units(database)
    lan = await add_telegram_person(database, 7201, "Nguyễn Thị Lan", "+84912000081")
    async with database.work() as work:
        person = await persons.get(work, lan)
        assert person is not None
        await donations.add(
            work, person, NOW.date(), DonationKind.WHOLE_BLOOD, Actor("t"), volume_ml=350
        )
    user = api.user(7201, "Lan")
    await bot.say(user, "/mydonations")
    await bot.press(user, "Giấy chứng nhận")
    await bot.press(user, "26/11/2026")
    ask = (await bot.press(user, "Lưu ảnh giấy chứng nhận"))[1]
    assert "Gửi cho mình ảnh chụp" in ask
    seen = len(api.sent(user.id))
    await bot.act(lambda: user.send_photo(data=JPEG))
    saved = "\n".join(m.text or "" for m in api.sent(user.id)[seen:])
    assert "✅ Đã lưu ảnh giấy chứng nhận cho lần hiến ngày 26/11/2026." in saved
    async with database.work() as work:
        donation = (await work.session.scalars(select(Donation))).one()
        assert work.data_dir is not None and donation.certificate_path is not None
        assert (work.data_dir / donation.certificate_path).read_bytes() == JPEG

    await bot.press(user, "Xem ảnh giấy chứng nhận")
    [document] = [m for m in api.sent(user.id) if m.method == "sendDocument"]
    assert document.message["document"]["file_name"] == "giay-chung-nhan-2026-11-26.jpg"
    assert bytes(document.params["document"]) == JPEG
