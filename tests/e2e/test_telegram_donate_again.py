"""Bringing donors back on Telegram (the real PTB Application against the fake Bot API): the
evening "donate again" names a drive with its slots as inline buttons; one tap pledges; /busy
pauses appeals with a tap."""

from __future__ import annotations

import datetime as dt

import pytest

from scheduler.sender import Limits, Sender
from scheduler.ticker import Ticker
from services import donations, persons
from services.audit import Actor
from services.clock import FixedClock
from services.drives import SlotSpec
from services.eligibility import DonationKind
from services.planners import PlanSettings
from services.schedule import QuietHours
from services.work import Database
from tests.conftest import ZONE
from tests.e2e.test_telegram import Harness, add_telegram_person, api, bot  # noqa: F401
from tests.sample import load_units
from tests.sample_drives import add_drive

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
QUIET = QuietHours.parse("21:00-07:00")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=ZONE)


async def test_the_evening_appeal_names_a_drive_and_one_tap_pledges(
    bot: Harness,  # noqa: F811
    database: Database,
    clock: FixedClock,
) -> None:
    await load_units(database)
    slots = (SlotSpec(dt.time(7, 30), dt.time(9), 3), SlotSpec(dt.time(9), dt.time(10, 30), 3))
    await add_drive(
        database, dt.date(2026, 12, 5), "Trung tâm Y tế huyện Tam Đường", slots, unit_code="LCU-TD"
    )
    lan_id = await add_telegram_person(database, 6101, "Nguyễn Thị Lan", "0912300001")
    async with database.work() as work:
        person = await persons.get(work, lan_id)
        assert person is not None
        await donations.add(work, person, dt.date(2026, 9, 3), DonationKind.WHOLE_BLOOD, Actor("t"))
    lan = bot.api.user(6101, "Lan")
    sender = Sender(
        database,
        {"telegram": bot.channel.deliver},
        {"telegram": Limits(per_second=1000, per_chat_seconds=0, per_group_seconds=0)},
        quiet=QUIET,
    )
    tick = Ticker(database, PlanSettings(notice_lead_days=0, quiet_hours=QUIET), sender)

    clock.set(at(26, 10))
    assert (await tick.tick()).planned.eligible == 1
    assert bot.api.sent(lan.id) == []  # not in the morning
    clock.set(at(26, 18, 5))
    assert (await tick.tick()).sent.sent == 1
    appeal = bot.api.last_sent(lan.id)
    assert "Từ ngày 26/11/2026 bạn đã có thể hiến máu trở lại" in (appeal.text or "")
    assert "Ngày hội hiến máu Trung tâm Y tế huyện Tam Đường" in (appeal.text or "")
    labels = [str(b.get("text")) for b in appeal.buttons]
    assert labels[:2] == ["07:30–09:00 (còn 3 chỗ)", "09:00–10:30 (còn 3 chỗ)"]
    _pressed, done = await bot.press(lan, "09:00–10:30")
    assert "Cảm ơn bạn! Mình đã ghi nhận bạn đăng ký hiến máu." in done
    assert "Bạn đã đăng ký khung 09:00–10:30" in done

    # /busy with a tap; appeals wait, the donor is told until when.
    assert "Tạm dừng trong bao lâu?" in await bot.say(lan, "/busy")
    _pressed, paused = await bot.press(lan, "2 tuần")
    assert "Đã tạm dừng lời mời hiến máu đến hết ngày 09/12/2026" in paused
    _pressed, back = await bot.press(lan, "Nhận lời mời trở lại")
    assert "Chào mừng bạn trở lại" in back
