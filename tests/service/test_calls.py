"""The call list's planner: who ignored their last two appeals (SQL over the outbox), and the
"do not contact" gate every queued notice passes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from db.models import CallTask, Outbox, Person
from services import aftercare, calls, outbox, persons, pledges
from services.audit import Actor
from services.clock import FixedClock
from services.work import Database
from tests.conftest import NOW
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive

DRIVE_DAY = dt.date(2026, 12, 12)


async def appeal(
    database: Database, person_id: int, key: str, days_ago: int, status: str = "sent"
) -> None:
    """An appeal sent to the person `days_ago` days before now."""
    dedup = f"test:{person_id}:{key}:{days_ago}"
    async with database.work() as work:
        assert await outbox.enqueue(work, person_id, key, {}, dedup)
        await work.session.execute(
            update(Outbox)
            .where(Outbox.dedup_key == dedup)
            .values(status=status, sent_at=NOW - dt.timedelta(days=days_ago))
        )


async def listed(database: Database) -> list[tuple[int, str]]:
    async with database.work() as work:
        rows = await work.session.execute(
            select(CallTask.person_id, CallTask.reason).order_by(CallTask.id)
        )
        return [(p, r) for p, r in rows.all()]


async def test_two_ignored_appeals_in_a_row_put_a_donor_on_the_call_list(
    database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    people = {
        name: await add_person(database, name, name.title(), f"+8491230000{n}")
        for n, name in enumerate(("ignored", "pledged", "once", "recent", "failed", "old"))
    }
    drive = await add_drive(database, DRIVE_DAY, unit_code="LCU-TD")
    for name in people:
        await appeal(database, people[name], "drive_notice", 20)
    await appeal(database, people["ignored"], "eligible", 10)
    await appeal(database, people["pledged"], "eligible_nudge", 10)
    await appeal(database, people["recent"], "notice", 3)  # not ignored yet: a week to answer
    await appeal(database, people["failed"], "notice", 10, status="failed")  # never reached them
    await appeal(database, people["old"], "notice", 10)
    for name, days_ago in (("pledged", 12), ("old", 30)):
        # "pledged" answered an appeal with a pledge; "old" pledged before both appeals,
        # which says nothing about the appeals.
        clock.set(NOW - dt.timedelta(days=days_ago))
        async with database.work() as work:
            person = await persons.get(work, people[name])
            assert person is not None
            await pledges.pledge(work, person, drive, None, Actor("t"))
    clock.set(NOW)

    async with database.work() as work:  # 10:00: the daily scan ran at 08:00 (missed here)
        assert (await aftercare.plan(work)).calls == 0
    clock.set(NOW - dt.timedelta(hours=2))
    async with database.work() as work:
        assert (await aftercare.plan(work)).calls == 2
    clock.set(NOW)
    assert await listed(database) == [
        (people["ignored"], "ignored_two_appeals"),
        (people["old"], "ignored_two_appeals"),
    ]
    async with database.work() as work:
        assert await calls.plan_ignored(work) == 0  # once
        # A donor on the list is not added twice for another reason while the task is open.
        assert await calls.add(work, people["ignored"], calls.Reason.NO_SHOW, "no_show:x") == 0

    # Marked "do not contact": nothing is queued to them, except news of their own drive.
    async with database.work() as work:
        person = await work.session.get(Person, people["ignored"])
        assert person is not None
        person.do_not_contact_at = NOW
    async with database.work() as work:
        assert not await outbox.enqueue(work, people["ignored"], "eligible", {}, "t:1")
        assert await outbox.enqueue(
            work, people["ignored"], "drive_cancelled", {"drive_id": drive}, "t:2"
        )
        notices = [
            outbox.Notice(people["ignored"], "drive_notice", {}, "t:3"),
            outbox.Notice(people["once"], "drive_notice", {}, "t:4"),
        ]
        assert await outbox.enqueue_many(work, notices) == 1


async def test_aftercare_planning_twice_queues_nothing_new(
    database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    drive = await add_drive(database, NOW.date(), unit_code="LCU-TD")
    async with database.work() as work:
        person = await persons.get(work, lan)
        assert person is not None
        await pledges.pledge(work, person, drive, None, Actor("t"))
    clock.set(NOW + dt.timedelta(days=1))  # the next morning, 10:00
    async with database.work() as work:
        first = await aftercare.plan(work)
    async with database.work() as work:
        again = await aftercare.plan(work)
    assert (first.missed, first.calls) == (1, 1) and again.total == 0
    clock.set(NOW + dt.timedelta(days=6))  # past the catch-up window: nothing late
    async with database.work() as work:
        assert (await aftercare.plan(work)).total == 0
