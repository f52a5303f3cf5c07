"""Benchmark: a rush of pledges when a drive opens, through the engine, on a real database.

    .venv/bin/python benchmarks/bench_pledges.py [--donors 400] [--capacity 300] [--url URL]

Registered donors all press a slot button of the same drive at once (`--concurrency` chats at
a time); the slots hold fewer places than there are donors. Prints pledges per second, latency
percentiles, and checks that exactly `capacity` places were taken. Then imports a generated
annual plan of `--plan-rows` drives from CSV and prints how long that took.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
import zoneinfo
from importlib import resources
from pathlib import Path

from sqlalchemy import func, select

from db.engine import create_engine
from db.migrate import upgrade
from db.models import Pledge
from handlers.engine import Engine
from handlers.messages import Inbound, InboundKind
from services import drives, identities, persons, plan_file, plans, units
from services.audit import Actor
from services.clock import SystemClock
from services.drives import DriveDraft, SlotSpec
from services.persons import DonorDraft, Purpose
from services.rules import Rules
from services.validation import Birth
from services.work import Database

ZONE = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


async def _setup(database: Database, donors: int, capacity: int) -> tuple[int, list[int]]:
    text = (resources.files("bot") / "sample" / "units-laichau.csv").read_text(encoding="utf-8")
    async with database.work() as work:
        await units.upsert(work, units.read_unit_csv(text))
        for number in range(donors):
            user = f"bench-{number}"
            identity = await identities.touch(work, "console", user, user, "vi", user)
            draft = DonorDraft(
                "Người Hiến Máu",
                f"+8491{number:07d}",
                Birth(1995),
                "male",
                "O+",
                None,
                None,
                frozenset(Purpose),
            )
            await persons.register_self(work, identity, draft, Actor("bench"))
        slots = [SlotSpec(dt.time(7 + i), dt.time(8 + i), capacity // 3) for i in range(3)]
        slots[-1] = SlotSpec(dt.time(9), dt.time(10), capacity - 2 * (capacity // 3))
        drive = await drives.create(
            work,
            DriveDraft(
                "Ngày hội hiến máu",
                work.today() + dt.timedelta(days=10),
                "Nhà văn hoá",
                slots=slots,
                target_units=capacity,
            ),
            Actor("bench"),
        )
        return drive.id, [slot.id for slot in drive.slots]


async def rush(url: str, donors: int, capacity: int, concurrency: int) -> None:
    database = Database(create_engine(url), SystemClock(), Rules(), ZONE)
    drive_id, slot_ids = await _setup(database, donors, capacity)
    engine = Engine(database)
    latencies: list[float] = []
    semaphore = asyncio.Semaphore(concurrency)

    async def press(number: int) -> None:
        user = f"bench-{number}"
        slot_id = slot_ids[number % len(slot_ids)]
        async with semaphore:
            started = time.perf_counter()
            replies = await engine.dispatch(
                Inbound("console", user, user, InboundKind.BUTTON, f"slot:{drive_id}:{slot_id}")
            )
            latencies.append(time.perf_counter() - started)
        assert replies and "trục trặc" not in replies[0].text, replies

    started = time.perf_counter()
    await asyncio.gather(*(press(n) for n in range(donors)))
    elapsed = time.perf_counter() - started
    async with database.work() as work:
        taken = await work.session.scalar(
            select(func.count(Pledge.id)).where(Pledge.status == "pledged")
        )
    await database.dispose()
    assert taken == min(capacity, donors), (taken, capacity)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{url.split(':')[0]}: {donors} presses for {capacity} places in {elapsed:.2f} s = "
        f"{donors / elapsed:.0f} presses/s (concurrency {concurrency}); latency p50 "
        f"{q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms; "
        f"pledged {taken}, never more than capacity"
    )


async def plan_import(url: str, rows: int) -> None:
    lines = ["Đợt,Ngày,Giờ,Địa điểm,Đơn vị tổ chức,Cơ sở tiếp nhận,Chỉ tiêu,Chủ đề"]
    start = dt.date(2026, 12, 1)
    for number in range(1, rows + 1):
        day = start + dt.timedelta(days=number % 390)
        lines.append(
            f"{number},{day:%d/%m/%Y},7h30-11h00,Trạm Y tế xã số {number},Đoàn xã số {number},"
            f'Bệnh viện Đa khoa tỉnh,"1.{number % 10}00",Hành trình Đỏ'
        )
    content = ("\n".join(lines) + "\n").encode()
    database = Database(create_engine(url), SystemClock(), Rules(), ZONE)
    started = time.perf_counter()
    parsed = plan_file.read_plan(content, "plan.csv", 2027)
    parsed_at = time.perf_counter()
    async with database.work() as work:
        result = await plans.import_rows(work, parsed.rows, 2027, Actor("bench"))
    done = time.perf_counter()
    async with database.work() as work:
        again = await plans.import_rows(work, parsed.rows, 2027, Actor("bench"))
    redone = time.perf_counter()
    await database.dispose()
    assert not parsed.problems and result.drives == rows
    assert again.count(plans.Change.UNCHANGED) == rows
    print(
        f"{url.split(':')[0]}: plan of {rows} drives ({len(content) / 1024:.0f} KB CSV): parse "
        f"{(parsed_at - started) * 1000:.0f} ms, import {(done - parsed_at) * 1000:.0f} ms, "
        f"re-import (no change) {(redone - done) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--donors", type=int, default=400)
    parser.add_argument("--capacity", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--plan-rows", type=int, default=1000)
    parser.add_argument("--url", help="database URL of an empty database (default: new SQLite)")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    upgrade(url)
    asyncio.run(rush(url, args.donors, args.capacity, args.concurrency))
    asyncio.run(plan_import(url, args.plan_rows))


if __name__ == "__main__":
    main()
