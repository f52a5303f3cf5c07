"""Bringing donors back, on the console: "you can donate again" in the evening naming a drive,
a one-tap pledge, /busy, change slot and cancel from a reminder, the waiting list; and
`hienmau jobs tick --now` as an operator runs it."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from db.engine import create_engine
from db.models import DriveSlot, Waitlist
from handlers.messages import Reply
from scheduler.sender import Limits, Sender
from scheduler.ticker import Ticker
from services import donations, persons
from services.audit import Actor
from services.clock import FixedClock
from services.drives import SlotSpec
from services.eligibility import DonationKind
from services.planners import PlanSettings
from services.rules import Rules
from services.schedule import QuietHours
from services.work import Database
from tests.conftest import TEST_SECRET, ZONE
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive

QUIET = QuietHours.parse("21:00-07:00")
SLOTS = (SlotSpec(dt.time(7, 30), dt.time(9), 1), SlotSpec(dt.time(9), dt.time(10, 30), 5))


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=ZONE)


class Console:
    """The console channel's deliveries (what `jobs tick` prints), kept with their buttons."""

    def __init__(self) -> None:
        self.got: list[tuple[str, Reply]] = []

    async def deliver(self, chat_id: str, replies: list[Reply]) -> None:
        self.got.extend((chat_id, r) for r in replies)

    def to(self, chat_id: str) -> list[Reply]:
        return [r for chat, r in self.got if chat == chat_id]


def ticker(database: Database, console: Console) -> Ticker:
    sender = Sender(
        database,
        {"console": console.deliver},
        {"console": Limits(per_second=1000, per_chat_seconds=0)},
        quiet=QUIET,
    )
    return Ticker(database, PlanSettings(notice_lead_days=0, quiet_hours=QUIET), sender)


async def donated(database: Database, person_id: int, day: dt.date) -> None:
    async with database.work() as work:
        person = await persons.get(work, person_id)
        assert person is not None
        await donations.add(work, person, day, DonationKind.WHOLE_BLOOD, Actor("t"))


def show(chat, reply: Reply) -> None:  # type: ignore[no-untyped-def]
    """A delivered message in the chat: its numbered menu is the one a typed number picks."""
    chat.console.menu = reply.choices


async def test_donate_again_in_the_evening_one_tap_pledge_change_slot_cancel_and_waitlist(
    database: Database, clock: FixedClock, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    drive_id = await add_drive(
        database, dt.date(2026, 12, 5), "Trung tâm Y tế huyện Tam Đường", SLOTS, unit_code="LCU-TD"
    )
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    await donated(database, lan, dt.date(2026, 9, 3))  # may give again from 26/11
    console = Console()
    tick = ticker(database, console)

    clock.set(at(26, 10))  # the morning of the day: queued for the evening, nothing sent
    result = await tick.tick()
    assert result.planned.eligible == 1 and result.sent.sent == 0 and console.got == []
    clock.set(at(26, 18, 1))
    assert (await tick.tick()).sent.sent == 1
    [appeal] = console.to("lan")
    assert appeal.text.startswith("🩸 Từ ngày 26/11/2026 bạn đã có thể hiến máu trở lại.")
    assert "Ngày hội hiến máu Trung tâm Y tế huyện Tam Đường" in appeal.text
    assert "Thứ Bảy, 05/12/2026, 07:30–10:30" in appeal.text
    assert [b.label for b in appeal.buttons] == [
        "07:30–09:00 (còn 1 chỗ)",
        "09:00–10:30 (còn 5 chỗ)",
        "🩸 Các đợt khác",
        "⏸ Tạm dừng lời mời",
    ]

    chat = chat_factory("lan")
    show(chat, appeal)
    done = await chat.choose("07:30–09:00")  # one tap: pledged
    assert "Cảm ơn bạn! Mình đã ghi nhận bạn đăng ký hiến máu." in done
    assert "Bạn đã đăng ký khung 07:30–09:00" in done
    assert {"🔁 Đổi khung giờ", "❌ Huỷ đăng ký"} <= set(chat.menu)

    # Three days before, the reminder: change slot and cancel are one tap away.
    clock.set(at(2, 7, 30, month=12))
    await tick.tick()
    reminder = console.to("lan")[-1]
    assert reminder.text.startswith("⏰ Còn 3 ngày nữa")
    assert [b.label for b in reminder.buttons] == [
        "Xem chi tiết",
        "❌ Huỷ đăng ký",
        "🔁 Đổi khung giờ",
    ]
    show(chat, reminder)
    picker = await chat.choose("Đổi khung giờ")
    assert "khung giờ nào" in picker
    moved = await chat.choose("09:00–10:30")
    assert "🔁 Đã đổi sang khung 09:00–10:30. Chỗ cũ đã được nhường lại." in moved
    async with database.work() as work:
        counts = list(
            await work.session.scalars(
                select(DriveSlot.taken)
                .where(DriveSlot.drive_id == drive_id)
                .order_by(DriveSlot.start_time)
            )
        )
        assert counts == [0, 1]
    show(chat, reminder)
    assert "Đã huỷ đăng ký của bạn cho đợt ngày 05/12/2026" in await chat.choose("Huỷ đăng ký")


async def test_a_full_drive_offers_its_waiting_list_and_a_freed_place_goes_to_it(
    database: Database, clock: FixedClock, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    one = (SlotSpec(dt.time(7, 30), dt.time(9), 1),)
    drive_id = await add_drive(
        database, dt.date(2026, 12, 5), "Huyện Tam Đường", one, unit_code="LCU-TD"
    )
    await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    await add_person(database, "tu", "Vũ Văn Tú", "+84912300003")
    lan, tu = chat_factory("lan"), chat_factory("tu")
    await tu.say(f"/start drive_{drive_id}")
    await tu.choose("Đăng ký hiến máu")  # Tú sees the last place ...
    await lan.say(f"/start drive_{drive_id}")
    await lan.choose("Đăng ký hiến máu")
    assert "Bạn đã đăng ký khung 07:30–09:00" in await lan.choose("07:30–09:00")
    late = await tu.choose("07:30–09:00")  # ... Lan took it first
    assert "Khung 07:30 vừa hết chỗ" in late
    assert tu.menu == ["🕓 Vào danh sách chờ", "Khung giờ khác"]
    joined = await tu.choose("Vào danh sách chờ")
    assert "vào danh sách chờ đợt ngày 05/12/2026 (bạn đứng thứ 1)" in joined
    await tu.say(f"/start drive_{drive_id}")
    full = await tu.choose("Đăng ký hiến máu")
    assert "Đợt này đã kín chỗ" in full and tu.menu == ["🕓 Vào danh sách chờ"]
    assert "(bạn đứng thứ 1)" in await tu.choose("Vào danh sách chờ")  # once in the list

    console = Console()
    tick = ticker(database, console)
    assert (await tick.tick()).planned.offers == 0  # still full
    await lan.say("/mypledges")
    await lan.choose("Huyện Tam Đường")
    await lan.choose("Huỷ đăng ký")  # the place is freed at once ...
    assert (await tick.tick()).planned.offers == 1  # ... and offered at the next tick
    [offer] = console.to("tu")
    assert "Có một chỗ vừa trống ở đợt hiến máu bạn đang chờ" in offer.text
    assert "Chỗ này dành cho bạn đến 12:00 ngày 26/11/2026" in offer.text
    show(tu, offer)
    taken = await tu.choose("Nhận chỗ")
    assert "Bạn đã đăng ký khung 07:30–09:00" in taken
    async with database.work() as work:
        row = await work.session.scalar(select(Waitlist))
        assert row is not None and row.status == "pledged"
    exported = await tu.say("/export")
    assert exported  # the export lists the waiting list (checked in the service test)


async def test_busy_silences_appeals_until_its_date_then_they_resume(
    database: Database, clock: FixedClock, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    await add_drive(database, dt.date(2026, 12, 12), "Huyện Tam Đường", SLOTS, unit_code="LCU-TD")
    hoa_id = await add_person(database, "hoa", "Lê Thị Hoa", "+84912300002")
    await donated(database, hoa_id, dt.date(2026, 9, 4))  # may give again from 27/11
    hoa = chat_factory("hoa")
    menu = await hoa.say("/busy")
    assert "không cần nói lý do" in menu
    assert hoa.menu == ["1 tuần", "2 tuần", "1 tháng", "3 tháng", "📅 Chọn ngày khác"]
    await hoa.choose("Chọn ngày khác")
    assert "Ngày này đã qua rồi" in await hoa.say("20/11/2026")
    assert "tối đa 12 tháng" in await hoa.say("01/01/2028")
    paused = await hoa.say("02/12/2026")
    assert "Đã tạm dừng lời mời hiến máu đến hết ngày 02/12/2026" in paused
    assert "Từ ngày 03/12/2026, lời mời sẽ tự trở lại" in paused
    assert "Tạm dừng lời mời đến hết ngày: 02/12/2026" in await hoa.say("/profile")

    console = Console()
    tick = ticker(database, console)
    for day, month in ((27, 11), (28, 11), (1, 12), (2, 12)):
        clock.set(at(day, 18, 30, month=month))
        await tick.tick()
    assert console.to("hoa") == []
    clock.set(at(3, 18, 30, month=12))  # the pause is over: the appeal she missed, once
    await tick.tick()
    clock.set(at(4, 18, 30, month=12))
    await tick.tick()
    [appeal] = console.to("hoa")
    assert "Từ ngày 27/11/2026 bạn đã có thể hiến máu trở lại" in appeal.text
    assert "Huyện Tam Đường" in appeal.text

    # Typed forms: a date, and resuming early.
    assert "đến hết ngày 20/12/2026" in await hoa.say("/busy 20/12/2026")
    assert "Chào mừng bạn trở lại" in await hoa.say("/busy off")
    assert "không có tạm dừng nào" in await hoa.say("/busy off")
    assert "đến hết ngày 10/12/2026" in await hoa.say("/busy") + await hoa.choose("1 tuần")


def test_jobs_tick_sends_the_appeal_only_in_the_evening(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """`hienmau jobs tick --now`: before the window nothing is printed, in it the appeal."""
    path = tmp_path / "bot.sqlite3"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"

    async def setup() -> None:
        database = Database(
            create_engine(url), FixedClock(at(26, 9)), Rules(), ZONE, secret=TEST_SECRET
        )
        try:
            await load_units(database)
            await add_drive(
                database,
                dt.date(2026, 12, 5),
                "Trung tâm Y tế huyện Tam Đường",
                SLOTS,
                unit_code="LCU-TD",
            )
            lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
            await donated(database, lan, dt.date(2026, 9, 3))
        finally:
            await database.dispose()

    asyncio.run(setup())
    (tmp_path / "config.toml").write_text(f'[database]\nurl = "{url}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIENMAU_")}

    def tick(now: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "jobs", "tick", "--now", now],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    morning = tick("2026-11-26T10:00+07:00")
    assert "eligible 1" in morning and "sent 0" in morning and "[→ lan]" not in morning
    evening = tick("2026-11-26T18:10+07:00")
    assert "sent 1" in evening and "[→ lan]" in evening
    assert "Ngày hội hiến máu Trung tâm Y tế huyện Tam Đường" in evening
    assert "07:30–09:00 (còn 1 chỗ)" in evening
    assert "sent 0" in tick("2026-11-26T19:00+07:00")  # once
