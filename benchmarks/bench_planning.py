"""Benchmark: planning "you can donate again" reminders at national scale.

    .venv/bin/python benchmarks/bench_planning.py [--donors 1000000] [--url URL] [--naive 100000]

Fills an empty database with `--donors` donors (each with a chat, consent to reminders and
three whole-blood donations spread over three years, so 3,000,000 donations for a million
donors) and their `next_eligible_on`, then times one planning tick as the scheduler runs it:
the range scan that finds who became eligible, and the planner that also queues their
messages. For comparison it loads `--naive` one-off jobs into an APScheduler in-memory job
store, the way many donor bots keep one scheduled job per reminder, and scales that to the
number of donors. Prints times and the process's peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import resource
import sqlite3
import tempfile
import time
import tracemalloc
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import asyncpg
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from db.engine import create_engine
from db.migrate import upgrade
from db.models import Drive, DriveSlot, Person, Unit
from services import planners
from services.clock import FixedClock
from services.planners import PlanSettings
from services.rules import Rules
from services.work import Database

ZONE = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
TODAY = dt.date(2026, 11, 26)
NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=ZONE)
CHUNK = 50_000


def _people(donors: int, seed: int = 7) -> Iterator[tuple[int, dt.date, list[dt.date]]]:
    """(id, next eligible day, three donation days): the last donation within the past year."""
    rng = random.Random(seed)
    for person_id in range(1, donors + 1):
        last = TODAY - dt.timedelta(days=rng.randrange(0, 365))
        days = [last - dt.timedelta(days=365 * k + rng.randrange(0, 60)) for k in (2, 1)] + [last]
        yield person_id, last + dt.timedelta(days=84), days


def _sqlite_fill(path: str, donors: int) -> None:
    connection = sqlite3.connect(path)
    stamp = "2024-01-01 00:00:00.000000"
    people, identities, consents, donations = [], [], [], []

    def flush() -> None:
        connection.executemany(
            "INSERT INTO person (id, full_name, phone, birth_year, sex, blood_group, language,"
            " status, created_at, updated_at, next_eligible_on, confirmed_at)"
            " VALUES (?, 'Người Hiến', ?, 1990, 'male', 'O+', 'vi', 'active', ?, ?, ?, ?)",
            people,
        )
        connection.executemany(
            "INSERT INTO identity (channel, platform_user_id, chat_id, person_id, language,"
            " display_name, created_at, last_seen_at) VALUES ('telegram', ?, ?, ?, 'vi', '', ?, ?)",
            identities,
        )
        connection.executemany(
            "INSERT INTO consent (person_id, purpose, version, granted_at, channel)"
            " VALUES (?, 'reminders', '2026-01', ?, 'telegram')",
            consents,
        )
        connection.executemany(
            "INSERT INTO donation (person_id, donated_on, kind, verified, created_at)"
            " VALUES (?, ?, 'whole_blood', 1, ?)",
            donations,
        )
        connection.commit()
        for rows in (people, identities, consents, donations):
            rows.clear()

    for person_id, eligible, days in _people(donors):
        people.append(
            (person_id, f"+849{person_id:08d}", stamp, stamp, eligible.isoformat(), stamp)
        )
        identities.append((str(person_id), str(person_id), person_id, stamp, stamp))
        consents.append((person_id, stamp))
        donations.extend((person_id, day.isoformat(), stamp) for day in days)
        if len(people) >= CHUNK:
            flush()
    flush()
    connection.execute("ANALYZE")
    connection.commit()
    connection.close()


async def _pg_fill(url: str, donors: int) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    stamp = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    batch: list[tuple[int, dt.date, list[dt.date]]] = []

    async def flush() -> None:
        await connection.copy_records_to_table(
            "person",
            records=[
                (
                    p,
                    "Người Hiến",
                    f"+849{p:08d}",
                    1990,
                    "male",
                    "O+",
                    "vi",
                    "active",
                    stamp,
                    stamp,
                    e,
                    stamp,
                )
                for p, e, _d in batch
            ],
            columns=[
                "id",
                "full_name",
                "phone",
                "birth_year",
                "sex",
                "blood_group",
                "language",
                "status",
                "created_at",
                "updated_at",
                "next_eligible_on",
                "confirmed_at",
            ],
        )
        await connection.copy_records_to_table(
            "identity",
            records=[
                ("telegram", str(p), str(p), p, "vi", "", stamp, stamp) for p, _e, _d in batch
            ],
            columns=[
                "channel",
                "platform_user_id",
                "chat_id",
                "person_id",
                "language",
                "display_name",
                "created_at",
                "last_seen_at",
            ],
        )
        await connection.copy_records_to_table(
            "consent",
            records=[(p, "reminders", "2026-01", stamp, "telegram") for p, _e, _d in batch],
            columns=["person_id", "purpose", "version", "granted_at", "channel"],
        )
        await connection.copy_records_to_table(
            "donation",
            records=[(p, day, "whole_blood", True, stamp) for p, _e, days in batch for day in days],
            columns=["person_id", "donated_on", "kind", "verified", "created_at"],
        )
        batch.clear()

    for row in _people(donors):
        batch.append(row)
        if len(batch) >= CHUNK:
            await flush()
    await flush()
    await connection.execute("SELECT setval('person_id_seq', (SELECT max(id) FROM person))")
    await connection.execute("ANALYZE")
    await connection.close()


async def _units_and_drives(url: str, drives: int) -> None:
    """A unit tree (63 provinces of 10 communes each), every donor in a commune, and `drives`
    upcoming drives of communes and provinces with slots: the appeal names one of them."""
    if not drives:
        return
    rng = random.Random(11)
    database = Database(create_engine(url), FixedClock(NOW), Rules(), ZONE)
    async with database.work() as work:
        communes: list[Unit] = []
        provinces: list[Unit] = []
        for p in range(63):
            province = Unit(
                code=f"P{p}", name=f"Tỉnh {p}", kind="province", search_name=f"tinh {p}"
            )
            provinces.append(province)
            work.session.add(province)
            await work.session.flush()
            for c in range(10):
                commune = Unit(
                    code=f"P{p}-C{c}",
                    name=f"Xã {c}",
                    kind="commune",
                    parent_id=province.id,
                    search_name=f"xa {c}",
                )
                communes.append(commune)
                work.session.add(commune)
        await work.session.flush()
        first = min(c.id for c in communes)
        await work.session.execute(update(Person).values(unit_id=first + Person.id % len(communes)))
        for number in range(drives):
            unit = rng.choice(communes if number % 4 else provinces)
            drive = Drive(
                title=f"Đợt {number}",
                date=TODAY + dt.timedelta(days=rng.randrange(0, 60)),
                start_time=dt.time(7, 30),
                end_time=dt.time(11, 0),
                place=f"Nhà văn hoá {number}",
                status="open",
                unit_id=unit.id,
            )
            drive.slots = [
                DriveSlot(
                    start_time=dt.time(h, 0), end_time=dt.time(h + 1, 0), capacity=50, taken=0
                )
                for h in (7, 8, 9, 10)
            ]
            work.session.add(drive)
    # Statistics taken before the units were assigned would say every person has the same
    # unit (none), and the planner would scan instead of using the index on person.unit_id.
    # On PostgreSQL the update also left a million dead rows: vacuum them now, or autovacuum
    # does it during the tick being measured (a 3-4 times slower tick, measured).
    async with database.engine.connect() as connection:
        if database.engine.dialect.name == "sqlite":
            await connection.execute(text("ANALYZE"))
            await connection.commit()
        else:  # VACUUM runs outside a transaction
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))
    await database.dispose()


async def _tick(url: str, drives: int) -> None:
    await _units_and_drives(url, drives)
    database = Database(create_engine(url), FixedClock(NOW), Rules(), ZONE)
    settings = PlanSettings()
    started = time.perf_counter()
    async with database.work() as work:
        found = len(
            (
                await work.session.execute(
                    select(Person.id).where(
                        Person.next_eligible_on.between(TODAY - dt.timedelta(days=3), TODAY),
                        Person.status == "active",
                        planners._consenting(),
                    )
                )
            ).all()
        )
    scan = time.perf_counter() - started
    started = time.perf_counter()
    async with database.work() as work:
        eligible, nudges = await planners.donate_again(work, settings)
    plan = time.perf_counter() - started
    started = time.perf_counter()
    async with database.work() as work:
        again = await planners.donate_again(work, settings)
    replan = time.perf_counter() - started
    await database.dispose()
    print(
        f"  find who became eligible (range scan): {found} donors in {scan * 1000:.0f} ms\n"
        f"  plan the tick (find + queue {eligible} messages + {nudges} nudges): "
        f"{plan:.2f} s; the same again (all already queued): {replan:.2f} s, queued {sum(again)}"
    )
    # The first tick of 08:00 runs every planner: pledge reminders, tallies, drive notices,
    # donate again, club blocks, after the drive (thanks, feedback, missed you) with the
    # daily scan of the outbox for the call list, and waiting-list offers.
    eight = dt.datetime.combine(TODAY, dt.time(8, 0), ZONE)
    database = Database(create_engine(url), FixedClock(eight), Rules(), ZONE)
    # Twice, rolled back the first time: right after the messages above went into an empty
    # outbox (its statistics still say empty, as on a new installation's first big day), then
    # after ANALYZE (what autovacuum, or SQLite's statistics, soon give the planner).
    for label in ("statistics of the outbox as they were", "after ANALYZE outbox"):
        if label.startswith("after"):
            async with database.engine.connect() as connection:
                await connection.execute(text("ANALYZE outbox"))
                await connection.commit()
        started = time.perf_counter()
        async with database.work() as work:
            planned = await planners.plan_all(work, settings, daily=True)
            whole = time.perf_counter() - started
            if not label.startswith("after"):
                await work.session.rollback()
        print(
            f"  a whole daily tick at 08:00, every planner ({label}): {whole:.2f} s, "
            f"queued {planned.total}"
        )
    await database.dispose()


def _naive(jobs: int, donors: int) -> float:
    """Seconds to load one APScheduler job per reminder, scaled to `donors`."""
    scheduler = AsyncIOScheduler(timezone=ZONE)
    tracemalloc.start()
    started = time.perf_counter()
    run_at = NOW + dt.timedelta(days=30)

    def remind(person_id: int) -> None:
        pass

    for person_id in range(jobs):
        scheduler.add_job(remind, "date", run_date=run_at, args=[person_id], id=str(person_id))
    elapsed = time.perf_counter() - started
    grown = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    scale = donors / jobs
    print(
        f"  naive: {jobs} APScheduler jobs loaded in {elapsed:.1f} s (+{grown:.0f} MB); "
        f"for {donors} donors about {elapsed * scale:.0f} s and {grown * scale:.0f} MB"
    )
    return elapsed * scale


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--donors", type=int, default=1_000_000)
    parser.add_argument("--naive", type=int, default=100_000)
    parser.add_argument("--url", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--drives", type=int, default=300, help="upcoming drives (0: none)")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    upgrade(url)
    started = time.perf_counter()
    if url.startswith("sqlite"):
        _sqlite_fill(make_url(url).database or "", args.donors)
    else:
        asyncio.run(_pg_fill(url, args.donors))
    print(
        f"{url.split(':')[0]}: {args.donors} donors, {3 * args.donors} donations loaded in "
        f"{time.perf_counter() - started:.0f} s"
    )
    asyncio.run(_tick(url, args.drives))
    _naive(args.naive, args.donors)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
