"""Club blocks and companions under concurrency: members reaching for a block's last places
at the same instant, from two workers (two engines on one database), on SQLite and
PostgreSQL: exactly as many win as there are places, and no count is ever exceeded."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from db.engine import create_engine
from db.models import ClubBlock, DriveSlot, Pledge
from services import blocks, clubs, companions, drives, invites, persons, pledges
from services.audit import Actor
from services.clock import FixedClock
from services.clubs import ClubKind
from services.companions import Companion
from services.drives import SlotSpec
from services.errors import Conflict, InvalidInput, NotAllowed
from services.rules import Rules
from services.validation import Birth
from services.work import Database
from tests.conftest import TEST_SECRET, ZONE
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive

DAY = dt.date(2026, 12, 12)


@pytest.fixture
async def second(database_url: str, clock: FixedClock) -> AsyncIterator[Database]:
    """A second worker on the same database."""
    other = Database(create_engine(database_url), clock, Rules(), ZONE, secret=TEST_SECRET)
    yield other
    await other.dispose()


async def _club_with_members(database: Database, count: int) -> tuple[int, int, list[int]]:
    """(chair, club, members): a chair's club with `count` members."""
    chair = await add_person(database, "chu", "Đỗ Văn Chủ", "+84912300900", role="club_chair")
    members = [
        await add_person(database, f"m{i}", "Thành Viên", f"+849123{i:05d}") for i in range(count)
    ]
    async with database.work() as work:
        person = await persons.get(work, chair)
        assert person is not None
        club = await clubs.create(work, person, "CLB Máu Sống", ClubKind.REGULAR, Actor("t"))
        for member_id in members:
            member = await persons.get(work, member_id)
            assert member is not None
            await invites.join_club(work, club, member, Actor("t"))
        return chair, club.id, members


async def _reserve(database: Database, chair: int, club: int, drive: int, places: int) -> int:
    async with database.work() as work:
        person = await persons.get(work, chair)
        assert person is not None
        slot_id = (await drives.get(work, drive)).slots[0].id
        block = await blocks.reserve(work, person, club, drive, slot_id, places, Actor("t"))
        return block.id


async def _claim(database: Database, person_id: int, block_id: int) -> str:
    try:
        async with database.work() as work:
            person = await persons.get(work, person_id)
            assert person is not None
            await blocks.claim(work, person, block_id, Actor(f"t:{person_id}"))
        return "ok"
    except Conflict:
        return "full"


async def _counts(database: Database) -> tuple[int, int, int, int]:
    """(slot taken, slot capacity, block claimed, live pledges from the block)."""
    async with database.work() as work:
        slot = await work.session.scalar(select(DriveSlot).order_by(DriveSlot.start_time))
        block = await work.session.scalar(select(ClubBlock))
        assert slot is not None and block is not None
        live = await work.session.scalar(
            select(func.count(Pledge.id)).where(
                Pledge.block_id == block.id, Pledge.status == "pledged"
            )
        )
        return slot.taken, slot.capacity, block.claimed, int(live or 0)


@pytest.mark.slow
async def test_two_claims_for_the_last_place_at_once_one_wins(
    database: Database, second: Database
) -> None:
    await load_units(database)
    drive = await add_drive(database, DAY, slots=(SlotSpec(dt.time(7, 30), dt.time(9), 10),))
    chair, club, members = await _club_with_members(database, 8)
    last = await _reserve(database, chair, club, drive, 1)
    results = await asyncio.gather(
        _claim(database, members[0], last), _claim(second, members[1], last)
    )
    assert sorted(results) == ["full", "ok"]
    assert await _counts(database) == (1, 10, 1, 1)


@pytest.mark.slow
async def test_many_members_at_once_never_overfill_a_block(
    database: Database, second: Database
) -> None:
    await load_units(database)
    drive = await add_drive(database, DAY, slots=(SlotSpec(dt.time(7, 30), dt.time(9), 10),))
    chair, club, members = await _club_with_members(database, 8)
    block = await _reserve(database, chair, club, drive, 3)
    workers = (database, second)
    results = await asyncio.gather(
        *(_claim(workers[i % 2], member, block) for i, member in enumerate(members))
    )
    assert results.count("ok") == 3 and results.count("full") == 5
    assert await _counts(database) == (3, 10, 3, 3)


async def test_blocks_never_overbook_and_non_members_are_refused(database: Database) -> None:
    await load_units(database)
    drive = await add_drive(database, DAY, slots=(SlotSpec(dt.time(7, 30), dt.time(9), 10),))
    chair, club, members = await _club_with_members(database, 1)
    outsider = await add_person(database, "out", "Người Ngoài", "+84912399999")
    with pytest.raises(InvalidInput):
        await _reserve(database, chair, club, drive, 11)  # larger than the slot
    block = await _reserve(database, chair, club, drive, 8)
    assert await _reserve(database, chair, club, drive, 1) == block  # one more place
    assert await _counts(database) == (9, 10, 0, 0)
    async with database.work() as work:
        person = await persons.get(work, chair)
        assert person is not None
        slot_id = (await drives.get(work, drive)).slots[0].id
        stranger = await persons.get(work, outsider)
        assert stranger is not None
        with pytest.raises(NotAllowed):
            await blocks.claim(work, stranger, block, Actor("t"))
        other = await clubs.create(work, person, "CLB Công Nhân", ClubKind.REGULAR, Actor("t"))
        with pytest.raises(Conflict) as more_than_free:  # within capacity, beyond what is free
            await blocks.reserve(work, person, other.id, drive, slot_id, 3, Actor("t"))
        assert more_than_free.value.params == {"time": "07:30", "left": 1, "places": 3}
    # One public place is left: a family of one donor and two companions does not fit.
    async with database.work() as work:
        donor = await persons.get(work, members[0])
        assert donor is not None
        await pledges.pledge(work, donor, drive, slot_id, Actor("t"))
    async with database.work() as work:
        donor = await persons.get(work, members[0])
        assert donor is not None
        assert await companions.room(work, donor, drive) == 0
        family = [
            Companion("Lê Thị Hoa", "+84987654321", Birth(1998)),
            Companion("Lê Văn Nam", "+84987654322", Birth(2000)),
        ]
        with pytest.raises(Conflict):
            await companions.book(work, donor, drive, family, Actor("t"))
    assert (await _counts(database))[:2] == (10, 10)  # nothing half-written


@pytest.mark.slow
async def test_a_double_tap_on_claim_takes_one_place(database: Database, second: Database) -> None:
    await load_units(database)
    drive = await add_drive(database, DAY, slots=(SlotSpec(dt.time(7, 30), dt.time(9), 10),))
    chair, club, members = await _club_with_members(database, 2)
    block = await _reserve(database, chair, club, drive, 4)
    fresh, moving = members
    # One member has no pledge yet; the other moves from a public place into the block.
    async with database.work() as work:
        person = await persons.get(work, moving)
        assert person is not None
        slot_id = (await drives.get(work, drive)).slots[0].id
        await pledges.pledge(work, person, drive, slot_id, Actor("t"))
    assert (await _counts(database))[0] == 5
    for member in (fresh, moving):
        results = await asyncio.gather(
            _claim(database, member, block), _claim(second, member, block)
        )
        assert results == ["ok", "ok"]
    assert await _counts(database) == (4, 10, 2, 2)  # the public place went back


async def test_a_committee_reserves_for_any_club_of_its_scope_a_chair_for_their_own(
    database: Database,
) -> None:
    await load_units(database)
    drive = await add_drive(database, DAY, slots=(SlotSpec(dt.time(7, 30), dt.time(9), 50),))
    _chair, club, _members = await _club_with_members(database, 1)
    committee = await add_person(
        database, "bcd", "Nguyễn Minh Đức", "+84912300800", role="committee", unit="LCU"
    )
    other_chair = await add_person(
        database, "chu2", "Lò Văn Khác", "+84912300801", role="club_chair", unit="LCU-X-BINHLU"
    )
    assert await _reserve(database, committee, club, drive, 5)
    with pytest.raises(NotAllowed):
        await _reserve(database, other_chair, club, drive, 5)
    assert (await _counts(database))[:3] == (5, 50, 0)
