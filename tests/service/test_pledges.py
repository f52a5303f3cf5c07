"""Pledges: capacity holds under concurrent presses, eligibility is checked, cancelling frees
the place; rescheduling and cancelling a drive queue one notice per pledged donor."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from db.models import DriveSlot, Outbox, Pledge
from services import donations, drives, persons, pledges
from services.audit import Actor
from services.drives import SlotSpec
from services.eligibility import DonationKind
from services.errors import Conflict, InvalidInput
from services.pledges import NotEligible
from services.work import Database
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive

DAY = dt.date(2026, 12, 12)
SLOTS = (SlotSpec(dt.time(7, 30), dt.time(8, 30), 5), SlotSpec(dt.time(8, 30), dt.time(10), 50))


async def _pledge(database: Database, person_id: int, drive_id: int, slot_id: int | None) -> str:
    try:
        async with database.work() as work:
            person = await persons.get(work, person_id)
            assert person is not None
            await pledges.pledge(work, person, drive_id, slot_id, Actor(f"t:{person_id}"))
        return "ok"
    except Conflict:
        return "full"


async def _slots(database: Database, drive_id: int) -> list[DriveSlot]:
    async with database.work() as work:
        drive = await drives.get(work, drive_id)
        return list(drive.slots)


@pytest.mark.slow
async def test_capacity_holds_when_many_donors_press_at_once(database: Database) -> None:
    await load_units(database)
    drive_id = await add_drive(database, DAY, slots=SLOTS)
    first = (await _slots(database, drive_id))[0]
    people = [
        await add_person(database, f"d{i}", "Người Hiến", f"+8491230{i:04d}") for i in range(24)
    ]
    results = await asyncio.gather(*(_pledge(database, p, drive_id, first.id) for p in people))
    assert results.count("ok") == 5 and results.count("full") == 19
    async with database.work() as work:
        live = list(
            await work.session.scalars(
                select(Pledge).where(Pledge.drive_id == drive_id, Pledge.status == "pledged")
            )
        )
    assert len(live) == 5 and all(p.slot_id == first.id for p in live)
    assert (await _slots(database, drive_id))[0].taken == 5


async def test_moving_and_cancelling_free_places(database: Database) -> None:
    await load_units(database)
    drive_id = await add_drive(database, DAY, slots=SLOTS)
    early, late = await _slots(database, drive_id)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    assert await _pledge(database, lan, drive_id, early.id) == "ok"
    assert await _pledge(database, lan, drive_id, early.id) == "ok"  # a second press: no change
    assert [s.taken for s in await _slots(database, drive_id)] == [1, 0]
    assert await _pledge(database, lan, drive_id, late.id) == "ok"  # move to another slot
    assert [s.taken for s in await _slots(database, drive_id)] == [0, 1]
    async with database.work() as work:
        person = await persons.get(work, lan)
        assert person is not None
        await pledges.cancel(work, person, drive_id, Actor("t"))
        assert await pledges.mine(work, lan, dt.date(2026, 11, 26)) == []
    assert [s.taken for s in await _slots(database, drive_id)] == [0, 0]


async def test_a_donor_not_yet_eligible_is_told_when_they_may_donate(database: Database) -> None:
    await load_units(database)
    drive_id = await add_drive(database, DAY)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    async with database.work() as work:
        person = await persons.get(work, lan)
        assert person is not None
        await donations.add(
            work, person, dt.date(2026, 10, 1), DonationKind.WHOLE_BLOOD, Actor("t")
        )
        assert person.next_eligible_on == dt.date(2026, 12, 24)  # 12 weeks
        with pytest.raises(NotEligible) as refused:
            await pledges.pledge(work, person, drive_id, None, Actor("t"))
    assert refused.value.from_date == dt.date(2026, 12, 24)
    assert refused.value.params["date"] == "24/12/2026"
    young = await add_person(database, "em", "Lò Văn Em", "+84912300002", year=2009)
    async with database.work() as work:
        person = await persons.get(work, young)
        assert person is not None
        with pytest.raises(NotEligible) as too_young:
            await pledges.pledge(work, person, drive_id, None, Actor("t"))
    assert too_young.value.from_date == dt.date(2027, 1, 1)


async def test_rescheduling_and_cancelling_notify_each_pledged_donor_once(
    database: Database,
) -> None:
    await load_units(database)
    drive_id = await add_drive(database, DAY)
    donors = [
        await add_person(database, f"p{i}", "Người Hiến", f"+8491240000{i}") for i in range(3)
    ]
    for person_id in donors[:2]:
        assert await _pledge(database, person_id, drive_id, None) == "ok"
    async with database.work() as work:
        drive = await drives.get(work, drive_id)
        queued = await drives.reschedule(work, drive, dt.date(2026, 12, 19), Actor("t"))
    assert queued == 2
    async with database.work() as work:
        drive = await drives.get(work, drive_id)
        assert await drives.cancel(work, drive, Actor("t")) == 2
        with pytest.raises(Conflict):
            await drives.cancel(work, drive, Actor("t"))
        rows = list(await work.session.scalars(select(Outbox).order_by(Outbox.id)))
    assert [r.key for r in rows] == ["drive_rescheduled"] * 2 + ["drive_cancelled"] * 2
    assert {r.person_id for r in rows} == set(donors[:2])
    assert rows[0].params["date"] == "2026-12-19" and rows[0].params["old_date"] == "2026-12-12"
    assert all(r.status == "pending" for r in rows)


def test_slots_are_read_as_a_committee_types_them() -> None:
    slots = drives.parse_slots("7h30-8h30 120; 08:30 - 09:30: 100 người\n9:30–11:00 (80)")
    assert [(f"{s.start:%H:%M}", f"{s.end:%H:%M}", s.capacity) for s in slots] == [
        ("07:30", "08:30", 120),
        ("08:30", "09:30", 100),
        ("09:30", "11:00", 80),
    ]
    for bad in ("07:30-08:30", "9:00-8:00 10", "07:30-09:00 10; 08:30-10:00 10", "sáng 50"):
        with pytest.raises(InvalidInput):
            drives.parse_slots(bad)
