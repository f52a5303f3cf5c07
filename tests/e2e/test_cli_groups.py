"""`hienmau jobs tick --now` on groups at drives: a family of three pledged to one slot gets one
reminder (the donor's: companions are sent nothing before they confirm), and a club block's
unclaimed places go back to everyone two days before the drive, the chair told once."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import create_engine
from db.models import ClubBlock, DriveSlot
from services import blocks, clubs, companions, drives, invites, persons, pledges
from services.audit import Actor
from services.clock import FixedClock
from services.clubs import ClubKind
from services.companions import Companion
from services.drives import SlotSpec
from services.rules import Rules
from services.validation import Birth
from services.work import Database
from tests.conftest import NOW, ZONE
from tests.e2e.test_cli import run
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive


async def _scenario(url: str) -> None:
    database = Database(create_engine(url), FixedClock(NOW), Rules(), ZONE)
    try:
        await load_units(database)
        drive_id = await add_drive(
            database,
            dt.date(2026, 12, 12),
            slots=(SlotSpec(dt.time(7, 30), dt.time(8, 30), 30),),
        )
        lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
        chair = await add_person(
            database, "chu", "Đỗ Văn Chủ", "+84912300009", role="club_chair", unit="LCU-TD"
        )
        member = await add_person(database, "m0", "Thành Viên", "+84912300020")
        async with database.work() as work:
            slot_id = (await drives.get(work, drive_id)).slots[0].id
            donor = await persons.get(work, lan)
            boss = await persons.get(work, chair)
            joiner = await persons.get(work, member)
            assert donor is not None and boss is not None and joiner is not None
            await pledges.pledge(work, donor, drive_id, slot_id, Actor("console:lan"))
            family = [
                Companion("Lê Thị Hoa", "+84987654321", Birth(1998)),
                Companion("Lê Văn Nam", "+84987654322", Birth(2000)),
            ]
            await companions.book(work, donor, drive_id, family, Actor("console:lan"))
            club = await clubs.create(
                work, boss, "CLB Ngân hàng máu sống", ClubKind.REGULAR, Actor("t")
            )
            await invites.join_club(work, club, joiner, Actor("t"))
            block = await blocks.reserve(work, boss, club.id, drive_id, slot_id, 20, Actor("t"))
            await blocks.claim(work, joiner, block.id, Actor("console:m0"))
    finally:
        await database.dispose()


async def _state(url: str) -> tuple[int, int | None]:
    database = Database(create_engine(url), FixedClock(NOW), Rules(), ZONE)
    try:
        async with database.work() as work:
            slot = await work.session.scalar(select(DriveSlot))
            block = await work.session.scalar(select(ClubBlock))
            assert slot is not None and block is not None
            return slot.taken, block.released_places
    finally:
        await database.dispose()


@pytest.mark.slow
def test_jobs_tick_reminds_the_family_donor_only_and_releases_a_club_block(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bot.sqlite3"
    (tmp_path / "config.toml").write_text(f'[database]\nurl = "sqlite:///{db}"\n')
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    url = f"sqlite:///{db}"
    asyncio.run(_scenario(url))
    assert asyncio.run(_state(url)) == (23, None)  # 3 of the family + 20 held by the club

    reminder = run(["jobs", "tick", "--now", "2026-12-09T07:30+07:00"], tmp_path)
    assert reminder.returncode == 0, reminder.stderr
    assert "[→ lan] ⏰ Còn 3 ngày nữa" in reminder.stdout
    assert "[→ chu]" not in reminder.stdout
    # The member who claimed a club place is reminded too; the companions get nothing.
    assert reminder.stdout.count("[→ ") == 2 and "[→ m0] ⏰ Còn 3 ngày nữa" in reminder.stdout

    released = run(["jobs", "tick", "--now", "2026-12-10T08:00+07:00"], tmp_path)
    assert released.returncode == 0, released.stderr
    assert (
        "[→ chu] 🎟 CLB Ngân hàng máu sống: 19/20 chỗ chưa ai nhận đã trả lại cho mọi người "
        "(đợt ngày 12/12/2026, khung 07:30–08:30)." in released.stdout
    ), released.stdout
    assert asyncio.run(_state(url)) == (4, 19)
    again = run(["jobs", "tick", "--now", "2026-12-10T09:00+07:00"], tmp_path)
    assert "[→ chu]" not in again.stdout
    assert asyncio.run(_state(url)) == (4, 19)
