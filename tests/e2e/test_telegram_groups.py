"""A family pledge on Telegram: the real PTB Application against the fake Bot API server. A
donor books a slot for themself and two companions with inline buttons and typed answers;
cancelling one companion frees one place; the reminder tick writes to the donor only."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from db.models import DriveSlot, Outbox
from scheduler.sender import Limits, Sender
from scheduler.ticker import Ticker
from services import persons
from services.clock import FixedClock
from services.drives import SlotSpec
from services.planners import PlanSettings
from services.schedule import QuietHours
from services.work import Database
from tests.conftest import ZONE
from tests.e2e.test_telegram import Harness, add_telegram_person
from tests.sample import load_units
from tests.sample_drives import add_drive

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def _taken(database: Database) -> list[int]:
    async with database.work() as work:
        slots = await work.session.scalars(select(DriveSlot).order_by(DriveSlot.start_time))
        return [s.taken for s in slots]


async def test_a_family_of_three_books_one_slot_on_telegram(
    telegram: Harness, database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    await add_drive(
        database,
        dt.date(2026, 12, 12),
        slots=(
            SlotSpec(dt.time(7, 30), dt.time(8, 30), 5),
            SlotSpec(dt.time(8, 30), dt.time(10), 40),
        ),
    )
    lan_id = await add_telegram_person(database, 7101, "Nguyễn Thị Lan", "+84912301001")
    lan = telegram.api.user(7101, "Lan")
    await telegram.say(lan, "/drives")
    await telegram.press(lan, "12/12")
    await telegram.press(lan, "Đăng ký hiến máu")
    _pressed, done = await telegram.press(lan, "07:30–08:30")
    assert "Bạn đã đăng ký khung 07:30–08:30" in done
    _pressed, ask = await telegram.press(lan, "Thêm người đi cùng")
    assert "Bạn đi cùng mấy người?" in ask and "còn 4 chỗ" in ask
    _pressed, first = await telegram.press(lan, "2")
    assert "người đi cùng thứ 1/2" in first
    await telegram.say(lan, "Lê Thị Hoa")
    assert "chính bạn" in await telegram.say(lan, "0912 301 001")  # the donor's own phone
    await telegram.say(lan, "0987 654 321")
    await telegram.say(lan, "1998")
    await telegram.say(lan, "Lê Văn Nam")
    await telegram.say(lan, "0987 654 322")
    consent = await telegram.say(lan, "2000")
    assert "đã đồng ý để bạn đăng ký giúp" in consent
    _pressed, review = await telegram.press(lan, "Người đi cùng đã đồng ý")
    assert "1. Lê Thị Hoa" in review and "2. Lê Văn Nam" in review
    _pressed, saved = await telegram.press(lan, "Lưu")
    assert "Đã giữ chỗ cho 2 người đi cùng bạn: Lê Thị Hoa, Lê Văn Nam" in saved
    assert await _taken(database) == [3, 0]

    mine = await telegram.say(lan, "/mypledges")
    assert "👥 Người đi cùng: Lê Thị Hoa, Lê Văn Nam" in mine
    _pressed, cancelled = await telegram.press(lan, "Huỷ chỗ của Lê Văn Nam")
    assert "Đã huỷ chỗ của Lê Văn Nam" in cancelled
    assert await _taken(database) == [2, 0]
    async with database.work() as work:
        hoa = await persons.find_by_phone(work, "+84987654321")
        assert hoa is not None and hoa.registered_by_id == lan_id
        assert persons.awaits_confirmation(hoa)

    # The reminder three days before goes to the donor only.
    clock.set(dt.datetime(2026, 12, 9, 7, 30, tzinfo=ZONE))
    sender = Sender(
        database,
        {"telegram": telegram.channel.deliver},
        {"telegram": Limits(per_second=1000, per_chat_seconds=0)},
        quiet=QuietHours.parse("21:00-07:00"),
    )
    result = await Ticker(database, PlanSettings(), sender).tick()
    assert result.sent.sent == 1
    assert "Còn 3 ngày nữa" in telegram.api.texts(lan.id)[-1]
    async with database.work() as work:
        assert set(await work.session.scalars(select(Outbox.person_id))) == {lan_id}
