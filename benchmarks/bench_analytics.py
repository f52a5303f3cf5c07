"""Benchmark: the mobilisation analytics on the national-scale data set.

    .venv/bin/python benchmarks/bench_analytics.py [--people 1000000] [--url URL [--loaded]]

Builds the data set of bench_planning.py with its own builders (`--people` donors, each with a
chat, consent to reminders and three whole-blood donations over three years: 3,000,000
donations for a million), then adds in set-based SQL what the analytics read: a province of 30
districts the donors live in, 300 drives in the reporting year 2026, a donate-again message
to every third donor and a drive notice to every fifth (created over the year, 90 % delivered),
a pledge from every tenth donor and a donation at that drive from half of them, a fifth
donation this year for one in 100 (an honour), 1 donor in 1,000 erased, the province's quota
and campaign shares. Then times each report as a committee of the province sees it
(`/analytics`, `/lapsed`, `/honours`, the campaign chart's figures), twice in a row.
`--loaded` times again a database filled by an earlier run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sqlite3
import tempfile
import time
import zoneinfo
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from bench_planning import _pg_fill, _sqlite_fill
from sqlalchemy.engine import make_url

from db.engine import create_engine
from db.migrate import upgrade
from services import analytics, campaigns
from services.audit import Actor
from services.clock import FixedClock
from services.rules import Rules
from services.work import Database, Work

ZONE = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=ZONE)
YEAR = 2026
DISTRICTS = 30
DRIVES = 300


def _statements(sqlite: bool) -> list[str]:
    """The additions to the planning data set, as SQL for SQLite or PostgreSQL."""

    def day(base: str, offset: str) -> str:
        if sqlite:
            return f"date('{base}', '+' || ({offset}) || ' days')"
        return f"(DATE '{base}' + ({offset})::integer)"

    def moment(base: str, offset_days: str, hours: int = 2) -> str:
        if sqlite:
            return (
                f"strftime('%Y-%m-%d %H:%M:%S.000000', '{base}', '+' || ({offset_days}) || ' days',"
                f" '+{hours} hours')"
            )
        return (
            f"(TIMESTAMPTZ '{base} 00:00:00+00' + ({offset_days}) * INTERVAL '1 day'"
            f" + INTERVAL '{hours} hours')"
        )

    json = "'{}'" if sqlite else "'{}'::json"
    true = "1" if sqlite else "TRUE"
    drive_json = (
        f"json_object('drive_id', 1 + p.id % {DRIVES})"
        if sqlite
        else f"json_build_object('drive_id', 1 + p.id % {DRIVES})"
    )
    stamp = "'2024-01-01 00:00:00.000000'" if sqlite else "TIMESTAMPTZ '2024-01-01 00:00:00+00'"
    statements = [
        "INSERT INTO unit (id, code, name, kind, parent_id, search_name)"
        " VALUES (1, 'BENCH', 'Tỉnh Benchmark', 'province', NULL, 'tinh benchmark')",
        *(
            "INSERT INTO unit (id, code, name, kind, parent_id, search_name)"
            f" VALUES ({1 + n}, 'BENCH-{n}', 'Huyện {n}', 'district', 1, 'huyen {n}')"
            for n in range(1, DISTRICTS + 1)
        ),
        f"UPDATE person SET unit_id = 2 + id % {DISTRICTS}",
        (
            (
                "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s"
                f" WHERE n < {DRIVES})"
                if sqlite
                else ""
            )
            + " INSERT INTO drive (id, title, date, date_is_month_only, place, target_units,"
            f" status, unit_id) SELECT n, 'Đợt ' || n, {day('2025-12-01', 'n')},"
            f" {'0' if sqlite else 'FALSE'}, 'Điểm ' || n, 1000, 'done', 2 + n % {DISTRICTS}"
            + (" FROM s" if sqlite else f" FROM generate_series(1, {DRIVES}) AS s(n)")
        ),
        # A donate-again to every third donor, a drive notice to every fifth.
        "INSERT INTO outbox (identity_id, person_id, key, params, urgent, due_at, dedup_key,"
        " status, attempts, created_at, sent_at)"
        f" SELECT i.id, p.id, 'eligible', {json}, {'0' if sqlite else 'FALSE'},"
        f" {moment('2025-12-01', 'p.id % 360')}, 'bench:e:' || p.id,"
        " CASE WHEN p.id % 10 = 0 THEN 'failed' ELSE 'sent' END, 1,"
        f" {moment('2025-12-01', 'p.id % 360')}, {moment('2025-12-01', 'p.id % 360')}"
        " FROM person p JOIN identity i ON i.person_id = p.id WHERE p.id % 3 = 0",
        "INSERT INTO outbox (identity_id, person_id, key, params, urgent, due_at, dedup_key,"
        " status, attempts, created_at, sent_at)"
        f" SELECT i.id, p.id, 'drive_notice', {drive_json}, {'0' if sqlite else 'FALSE'},"
        f" {moment('2025-12-01', 'p.id % 300')}, 'bench:n:' || p.id, 'sent', 1,"
        f" {moment('2025-12-01', 'p.id % 300')}, {moment('2025-12-01', 'p.id % 300')}"
        " FROM person p JOIN identity i ON i.person_id = p.id WHERE p.id % 5 = 0",
        # A pledge from every tenth donor, two days after their message; half of them gave.
        "INSERT INTO pledge (person_id, drive_id, status, channel, created_at, updated_at)"
        f" SELECT p.id, 1 + p.id % {DRIVES}, CASE WHEN p.id % 20 = 0 THEN 'attended'"
        " ELSE 'pledged' END, 'telegram',"
        f" {moment('2025-12-01', 'p.id % 300 + 2')}, {moment('2025-12-01', 'p.id % 300 + 2')}"
        " FROM person p WHERE p.id % 10 = 0",
        "INSERT INTO donation (person_id, donated_on, drive_id, kind, verified, created_at)"
        f" SELECT p.id, {day('2025-12-01', '1 + p.id % ' + str(DRIVES))}, 1 + p.id % {DRIVES},"
        f" 'whole_blood', {true}, {stamp} FROM person p WHERE p.id % 20 = 0",
        # A fifth donation for one donor in 100: an honour (5 donations) this year.
        "INSERT INTO donation (person_id, donated_on, kind, verified, created_at)"
        f" SELECT p.id, {day('2026-01-15', 'p.id % 30')}, 'platelets', {true}, {stamp}"
        " FROM person p WHERE p.id % 100 = 0",
        "UPDATE person SET status = 'erased', full_name = NULL, phone = NULL,"
        " next_eligible_on = NULL WHERE id % 1000 = 7",
        "INSERT INTO quota (unit_id, year, target_units, months, created_at, updated_at)"
        f" VALUES (1, {YEAR}, 60000, {json}, {stamp}, {stamp})",
    ]
    return statements


def _sqlite_extend(path: str) -> None:
    connection = sqlite3.connect(path)
    for statement in _statements(sqlite=True):
        connection.execute(statement)
    connection.commit()
    connection.execute("ANALYZE")
    connection.commit()
    connection.close()


async def _pg_extend(url: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        for statement in _statements(sqlite=False):
            await connection.execute(statement)
        for table in ("unit", "drive", "outbox", "pledge", "donation", "quota"):
            await connection.execute(
                f"SELECT setval('{table}_id_seq', (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        # As autovacuum would by the time anyone asks: index-only scans need the visibility map.
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


Report = Callable[[Work], Awaitable[str]]


def _reports() -> dict[str, Report]:
    actor = Actor("bench")

    async def repeat(work: Work) -> str:
        report = await analytics.repeat(work, await analytics.unit_scope(work, "BENCH"), YEAR)
        total = report.total
        return (
            f"{total.returned}/{total.windows} back in 16 weeks, "
            f"{total.repeat_donors}/{total.donors} repeat donors, {len(report.rows)} units"
        )

    async def funnel(work: Work) -> str:
        report = await analytics.funnel(work, await analytics.unit_scope(work, "BENCH"), YEAR)
        return ", ".join(
            f"{row.key} {row.sent}>{row.delivered}>{row.pledged}>{row.donated}"
            for row in report.totals
            if row.sent
        )

    async def lapsed(work: Work) -> str:
        report = await analytics.lapsed(work, await analytics.unit_scope(work, "BENCH"), actor)
        return f"{report.count} lapsed, first {len(report.people)} listed"

    async def honours(work: Work) -> str:
        report = await analytics.honours(
            work, await analytics.unit_scope(work, "BENCH"), YEAR, actor
        )
        return f"{report.counted} honoured ({report.counts}), {len(report.people)} named"

    async def campaign(work: Work) -> str:
        progress = await campaigns.progress(work, "BENCH", YEAR)
        return f"{progress.collected}/{progress.plan} units, behind: {progress.lag is not None}"

    return {
        "repeat (return rate + repeat donors)": repeat,
        "funnel (each kind x 12 months + units)": funnel,
        "lapsed (count + first 50)": lapsed,
        "honours (counts + names)": honours,
        "campaign progress": campaign,
    }


async def _time_reports(url: str) -> None:
    database = Database(create_engine(url), FixedClock(NOW), Rules(), ZONE)
    try:
        async with database.work() as work:
            await campaigns.set_shares(
                work,
                "BENCH",
                YEAR,
                campaigns.parse_shares("1-3:20,4:10,5-9:35,10-11:25"),
                Actor("bench"),
            )
        for name, report in _reports().items():
            timings: list[float] = []
            summary = ""
            for _run in range(2):
                started = time.perf_counter()
                async with database.work() as work:
                    summary = await report(work)
                timings.append(time.perf_counter() - started)
            print(f"  {name}: {timings[0]:.2f} s, again {timings[1]:.2f} s  [{summary}]")
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--url", help="an empty database (default: a new SQLite file)")
    parser.add_argument(
        "--loaded", action="store_true", help="--url already holds the data set: only time"
    )
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    upgrade(url)
    started = time.perf_counter()
    sqlite = url.startswith("sqlite")
    if args.loaded:
        pass
    elif sqlite:
        path = make_url(url).database or ""
        _sqlite_fill(path, args.people)
        _sqlite_extend(path)
    else:
        asyncio.run(_pg_fill(url, args.people))
        asyncio.run(_pg_extend(url))
    print(
        f"{url}: {args.people} donors, {3 * args.people} donations and the "
        f"analytics' rows loaded in {time.perf_counter() - started:.0f} s"
    )
    asyncio.run(_time_reports(url))


if __name__ == "__main__":
    main()
