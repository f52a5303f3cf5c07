"""Benchmark: complete registration dialogues through the engine on a real database.

    .venv/bin/python benchmarks/bench_dialogue.py [--donors 200] [--url sqlite:///bench.sqlite3]

Each donor sends the 12 messages of a registration (consent, name, phone, birth date, sex,
blood group, unit search and pick, weight, save), one transaction per message, as a chat would.
Prints messages per second and the latency percentiles of one message.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import zoneinfo
from importlib import resources
from pathlib import Path

from db.engine import create_engine
from db.migrate import upgrade
from handlers.engine import Engine
from handlers.messages import Inbound, InboundKind
from services import units
from services.clock import SystemClock
from services.rules import Rules
from services.work import Database

SCRIPT = [
    (InboundKind.COMMAND, "/start"),
    (InboundKind.BUTTON, "consent:yes"),
    (InboundKind.BUTTON, "remind:yes"),
    (InboundKind.BUTTON, "club:no"),
    (InboundKind.TEXT, "Nguyễn Văn Thử"),
    (InboundKind.TEXT, "PHONE"),
    (InboundKind.TEXT, "17/12/1995"),
    (InboundKind.BUTTON, "sex:male"),
    (InboundKind.BUTTON, "blood:O+"),
    (InboundKind.TEXT, "tam duong"),
    (InboundKind.TEXT, "1"),
    (InboundKind.BUTTON, "weight:skip"),
    (InboundKind.BUTTON, "review:save"),
]


async def run(url: str, donors: int, concurrency: int) -> None:
    database = Database(
        create_engine(url), SystemClock(), Rules(), zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
    )
    text = (resources.files("bot") / "sample" / "units-laichau.csv").read_text(encoding="utf-8")
    async with database.work() as work:
        await units.upsert(work, units.read_unit_csv(text))
    engine = Engine(database)
    latencies: list[float] = []

    async def donor(number: int) -> None:
        user = f"bench-{number}"
        for kind, payload in SCRIPT:
            if payload == "PHONE":
                payload = f"09{number:08d}"
            started = time.perf_counter()
            replies = await engine.dispatch(Inbound("console", user, user, kind, payload))
            latencies.append(time.perf_counter() - started)
            assert replies and "trục trặc" not in replies[0].text, replies
        assert "thành công" in replies[-1].text, replies[-1].text

    semaphore = asyncio.Semaphore(concurrency)

    async def limited(number: int) -> None:
        async with semaphore:
            await donor(number)

    started = time.perf_counter()
    await asyncio.gather(*(limited(n) for n in range(1, donors + 1)))
    elapsed = time.perf_counter() - started
    await database.dispose()
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{url.split(':')[0]}: {donors} registrations, {len(latencies)} messages in "
        f"{elapsed:.2f} s = {len(latencies) / elapsed:.0f} messages/s "
        f"(concurrency {concurrency}); latency p50 {q[49] * 1000:.1f} ms, "
        f"p95 {q[94] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--donors", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    upgrade(url)
    asyncio.run(run(url, args.donors, args.concurrency))


if __name__ == "__main__":
    main()
