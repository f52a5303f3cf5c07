"""On Telegram (the real PTB Application against the fake Bot API): a donor gets four appeals
in 30 days, pledges to the drive whose notice was skipped and still gets its reminders, and on
the day a volunteer's drive-day notice."""

from __future__ import annotations

import datetime as dt

import pytest

from scheduler.sender import Limits, Sender
from scheduler.ticker import Ticker
from services import drives
from services.clock import FixedClock
from services.drives import SlotSpec
from services.planners import PlanSettings
from services.roles import Role
from services.schedule import QuietHours
from services.work import Database
from tests.conftest import NOW, ZONE
from tests.e2e.test_telegram import Harness, add_telegram_person
from tests.sample import load_units
from tests.sample_drives import add_drive

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

FOOTER = "Tạm dừng: /busy · Tắt nhắc: /stop"


def ticker(database: Database, telegram: Harness) -> Ticker:
    sender = Sender(
        database,
        {"telegram": telegram.channel.deliver},
        {"telegram": Limits(per_second=1000, per_chat_seconds=0, per_group_seconds=0)},
        quiet=QuietHours.parse("21:00-07:00"),
    )
    return Ticker(database, PlanSettings(), sender)


async def test_four_appeals_then_the_reminders_of_the_drive_and_a_drive_day_notice(
    telegram: Harness, database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    await add_telegram_person(database, 6201, "Nguyễn Thị Lan", "0912000621")
    await add_telegram_person(database, 6202, "Trần Văn Tình", "0912000622", Role.VOLUNTEER)
    lan, tnv = telegram.api.user(6201, "Lan"), telegram.api.user(6202, "Tình")
    slot = (SlotSpec(dt.time(7, 30), dt.time(9), 50),)
    drive_ids = [
        await add_drive(database, NOW.date() + dt.timedelta(days=3 + i), f"Điểm số {i + 1}",
                        slot, unit_code="LCU-TD")
        for i in range(5)
    ]  # fmt: skip
    tick = ticker(database, telegram)

    first = await tick.tick()
    # Both live in Tam Đường: four drive notices each, the fifth skipped for each.
    assert (first.planned.drive_notices, first.planned.capped) == (8, 2)
    notices = telegram.api.texts(lan.id)
    assert len(notices) == 4 and all(text.endswith(FOOTER) for text in notices)
    assert len(telegram.api.texts(tnv.id)) == 4
    noticed = {int(b["callback_data"].split(":")[1]) for m in telegram.api.sent(lan.id)
               for b in m.buttons if str(b["callback_data"]).startswith("pledge:")}  # fmt: skip
    [skipped] = set(drive_ids) - noticed
    assert (await tick.tick()).planned.capped == 0  # counted once

    # Lan finds the drive herself and pledges; its reminders come despite the cap.
    card = await telegram.say(lan, f"/start drive_{skipped}")
    assert "👥 Đã đăng ký: 0 / mục tiêu đặt chỗ 375" in card
    await telegram.press(lan, "Đăng ký hiến máu")
    _pressed, pledged = await telegram.press(lan, "07:30")
    assert "đăng ký" in pledged.lower()
    async with database.work() as work:
        drive_day = (await drives.get(work, skipped)).date
    clock.set(dt.datetime.combine(drive_day - dt.timedelta(days=1), dt.time(7, 30), ZONE))
    await tick.tick()
    assert "Ngày mai bạn đi hiến máu" in telegram.api.texts(lan.id)[-1]
    clock.set(dt.datetime.combine(drive_day, dt.time(7, 0), ZONE))
    await tick.tick()
    assert "Hôm nay bạn đi hiến máu" in telegram.api.texts(lan.id)[-1]
    assert FOOTER not in telegram.api.texts(lan.id)[-1]

    # On the day, the volunteer asks those who pledged to bring their ID card.
    clock.set(dt.datetime.combine(drive_day, dt.time(7, 10), ZONE))
    assert "Bạn muốn báo gì" in await telegram.say(tnv, "/drivenotice")
    _pressed, preview = await telegram.press(tnv, "CCCD")
    assert "Sẽ gửi ngay tới 1 người" in preview
    _pressed, done = await telegram.press(tnv, "Gửi")
    assert "📣 Đã gửi tới 1 người lúc 07:10. Tin tiếp theo có thể gửi sau 07:40." in done
    await tick.tick()
    assert "Nhớ mang theo CCCD" in telegram.api.texts(lan.id)[-1]
    assert "Điểm số" in telegram.api.texts(lan.id)[-1]
