"""Benchmark: a broadcast through the real sender and Telegram channel, against the fake Bot API.

    .venv/bin/python benchmarks/bench_broadcast.py [--messages 10000] [--rate 30] [--url URL]

Queues `--messages` outbox rows for as many chats (1% of chats get 3 messages, to check the
per-chat limit), then drains them with the production sender: python-telegram-bot over HTTP to
the fake server on loopback, which answers 2% of sendMessage calls with 429 (retry_after 1).
Prints the sustained rate, the per-chat spacing, lost and duplicate messages.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import itertools
import sys
import tempfile
import time
import zoneinfo
from pathlib import Path

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import TelegramConfig
from channels.telegram.adapter import TelegramChannel
from db.engine import create_engine
from db.migrate import upgrade
from db.models import Identity, Outbox
from handlers.messages import Inbound, Reply
from scheduler.sender import Limits, Sender
from services.clock import SystemClock
from services.rules import Rules
from services.work import Database
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "777777:BENCHBENCHBENCHBENCHBENCHBENCH"
ZONE = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


async def _queue(database: Database, messages: int) -> int:
    now = dt.datetime.now(dt.UTC)
    chats = messages - 2 * (messages // 100)  # 1% of chats get three messages
    async with database.work() as work:
        await work.session.execute(
            insert(Identity),
            [
                {
                    "channel": "telegram",
                    "platform_user_id": str(200_000 + n),
                    "chat_id": str(200_000 + n),
                    "language": "vi",
                    "display_name": "",
                    "created_at": now,
                    "last_seen_at": now,
                }
                for n in range(chats)
            ],
        )
        ids = list(await work.session.scalars(select(Identity.id).order_by(Identity.id)))
        targets = ids + [i for i in ids[: messages // 100] for _ in range(2)]
        await work.session.execute(
            insert(Outbox),
            [
                {
                    "identity_id": identity_id,
                    "key": "broadcast",
                    "params": {},
                    "body": f"Thông báo đợt hiến máu số {n}",
                    "urgent": True,
                    "due_at": now,
                    "dedup_key": f"broadcast:{n}",
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                }
                for n, identity_id in enumerate(targets)
            ],
        )
    return len(targets)


async def _no_dispatch(inbound: Inbound) -> list[Reply]:
    return []


async def run(url: str, messages: int, rate: float) -> None:
    database = Database(create_engine(url), SystemClock(), Rules(), ZONE)
    queued = await _queue(database, messages)
    async with FakeTelegramAPI(token=TOKEN, bot_username="bench_bot") as api:
        channel = TelegramChannel(TelegramConfig(token=TOKEN, base_url=api.base_url), _no_dispatch)
        await channel.open_for_sending()
        sender = Sender(database, {"telegram": channel.deliver}, {"telegram": Limits(rate)})
        stop = asyncio.Event()

        async def inject_429s() -> None:  # 2% of sendMessage calls answered with 429
            seen = 0
            while not stop.is_set():
                calls = len(api.calls_to("sendMessage"))
                while seen + 50 <= calls:
                    seen += 50
                    api.fail_next("sendMessage", status=429, retry_after=1)
                await asyncio.sleep(0.05)

        injector = asyncio.create_task(inject_429s())
        started = time.monotonic()
        stats = await sender.drain()
        while True:  # rows retried after a 429 come due again: drain until none is left
            pending = await _pending(database)
            if not pending:
                break
            await asyncio.sleep(0.5)
            more = await sender.drain()
            stats.sent += more.sent
            stats.retried += more.retried
        elapsed = time.monotonic() - started
        stop.set()
        await injector
        await channel.stop()
        calls = api.calls_to("sendMessage")
    await database.dispose()
    delivered = [c for c in calls if c.ok]
    refused = sum(1 for c in calls if c.status == 429)
    by_chat: dict[str, list[float]] = collections.defaultdict(list)
    for call in delivered:
        by_chat[str(call.params["chat_id"])].append(call.at)
    gaps = [b - a for times in by_chat.values() for a, b in itertools.pairwise(times)]
    expected = collections.Counter(
        {chat: 1 for chat in by_chat} | {str(200_000 + n): 3 for n in range(messages // 100)}
    )
    got = collections.Counter({chat: len(times) for chat, times in by_chat.items()})
    lost = sum((expected - got).values())
    duplicates = sum((got - expected).values())
    print(
        f"{url.split(':')[0]}: {queued} messages to {len(by_chat)} chats in {elapsed:.1f} s = "
        f"{len(delivered) / elapsed:.1f} msg/s sustained (limit {rate:g}/s); "
        f"429s injected and answered: {refused}; lost {lost}; duplicates {duplicates}; "
        f"smallest gap between two messages to one chat {min(gaps):.2f} s"
    )


async def _pending(database: Database) -> int:
    async with database.work() as work:
        rows = await work.session.scalars(select(Outbox.id).where(Outbox.status == "pending"))
        return len(list(rows))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--url", help="database URL of an empty database (default: new SQLite)")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    upgrade(url)
    asyncio.run(run(url, args.messages, args.rate))


if __name__ == "__main__":
    main()
