"""A broadcast of 300 messages drained by the real sender through the real Telegram and Zalo
channels while the platform misbehaves: 429 storms, 5xx bursts, dropped connections, answers
slower than the client waits. Every row ends `sent`, or `dropped` for the chats that blocked
the bot; none is lost or left pending.

Duplicates: a 429, a 5xx or a dropped connection is answered before the platform takes the
message, so none arrives twice. An answer that comes after the client gave up is the one case
where the platform did take the message and the sender could not know: each such time-out
costs at most one duplicate, and at most `concurrency` calls are in flight when the platform
slows down, so duplicates equal the time-outs and stay under the sender's concurrency.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from channels.telegram.adapter import TelegramChannel
from channels.zalo.adapter import ZaloChannel
from db.models import Identity
from scheduler.sender import Sender
from services.clock import FixedClock
from services.outbox import MAX_ATTEMPTS
from services.work import Database
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI
from tests.reliability.broadcast import FAST, Run, queue_broadcast, settle, statuses
from tests.reliability.platforms import telegram_received, zalo_received

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

MESSAGES = 300
BLOCKED = 3  # the last chats blocked the bot: their rows end dropped, never retried
CONCURRENCY = 16  # the sender's default


async def unreachable_chats(database: Database) -> set[str]:
    async with database.work() as work:
        rows = await work.session.scalars(
            select(Identity.chat_id).where(Identity.unreachable_at.is_not(None))
        )
        return set(rows)


async def assert_settled(
    database: Database, run: Run, received: collections.Counter[str], chats: list[str]
) -> int:
    """Every row sent or (blocked) dropped, every reachable chat served; returns duplicates."""
    assert await statuses(database) == {"sent": MESSAGES - BLOCKED, "dropped": BLOCKED}, run
    assert set(received) == set(chats[:-BLOCKED])
    assert await unreachable_chats(database) == set(chats[-BLOCKED:])
    return sum(n - 1 for n in received.values())


# ------------------------------------------------------------------ Telegram


@dataclass(frozen=True)
class Fault:
    inject: Callable[[Any], object]
    calls: int  # failed calls it causes
    statuses: frozenset[int] = frozenset()  # the HTTP statuses they get (Telegram)


TELEGRAM_FAULTS = {
    "429 storm": Fault(
        lambda api: api.fail_next("sendMessage", 150, status=429), 150, frozenset({429})
    ),
    "5xx burst": Fault(
        lambda api: (
            api.fail_next("sendMessage", 60, status=500),
            api.fail_next("sendMessage", 60, status=502),
        ),
        120,
        frozenset({500, 502}),
    ),
    # The fake cuts the connection without an answer (and records the call as a 502).
    "connection resets": Fault(
        lambda api: api.fail_next("sendMessage", 80, status=0), 80, frozenset({502})
    ),
}


@pytest.mark.parametrize("fault", list(TELEGRAM_FAULTS))
async def test_telegram_broadcast_through_a_fault_reaches_every_chat_once(
    fault: str,
    telegram_api: FakeTelegramAPI,
    telegram: TelegramChannel,
    lite_database: Database,
    clock: FixedClock,
) -> None:
    chats = [str(700_000 + n) for n in range(MESSAGES)]
    for chat in chats[-BLOCKED:]:
        telegram_api.block_user(int(chat))
    await queue_broadcast(lite_database, "telegram", chats)
    TELEGRAM_FAULTS[fault].inject(telegram_api)
    sender = Sender(lite_database, {"telegram": telegram.deliver}, {"telegram": FAST})
    run = await settle(sender, lite_database, clock)

    failed = [c for c in telegram_api.calls_to("sendMessage") if not c.ok and c.status != 403]
    assert len(failed) == TELEGRAM_FAULTS[fault].calls  # the fault happened, all of it
    assert {c.status for c in failed} == TELEGRAM_FAULTS[fault].statuses
    assert run.sent == MESSAGES - BLOCKED
    assert await assert_settled(lite_database, run, telegram_received(telegram_api), chats) == 0


@pytest.mark.slow
async def test_telegram_answers_slower_than_the_time_out_cost_one_duplicate_each_at_most(
    telegram_api: FakeTelegramAPI,
    telegram: TelegramChannel,
    lite_database: Database,
    clock: FixedClock,
) -> None:
    chats = [str(710_000 + n) for n in range(MESSAGES)]
    for chat in chats[-BLOCKED:]:
        telegram_api.block_user(int(chat))
    await queue_broadcast(lite_database, "telegram", chats)
    telegram_api.delay("sendMessage", 6.0)  # python-telegram-bot waits 5 s for an answer

    async def recover() -> None:  # the platform is slow for the first wave of calls only
        await telegram_api.wait_for(
            lambda: len(telegram_api.calls_to("sendMessage")) >= CONCURRENCY or None, 10
        )
        telegram_api.delay("sendMessage", 0)

    recovering = asyncio.create_task(recover())
    sender = Sender(lite_database, {"telegram": telegram.deliver}, {"telegram": FAST})
    run = await settle(sender, lite_database, clock)
    await recovering
    # The slow calls the client gave up on still finish on the platform's side.
    await telegram_api.wait_for(
        lambda: all(c.status for c in telegram_api.calls_to("sendMessage")) or None, 10
    )
    timeouts = run.count("Timed out")
    assert 0 < timeouts <= CONCURRENCY, collections.Counter(run.errors)
    duplicates = await assert_settled(lite_database, run, telegram_received(telegram_api), chats)
    assert duplicates == timeouts


# ------------------------------------------------------------------ Zalo

ZALO_FAULTS = {
    # A 429 is first waited out inside the channel (twice), then handed to the sender.
    "429 storm": Fault(
        lambda api: api.fail_next("sendMessage", 429, "Too many requests", count=60, retry_after=1),
        60,
    ),
    "5xx burst": Fault(
        lambda api: (
            api.html_next("sendMessage", 502, count=40),  # a proxy's error page
            api.fail_next("sendMessage", 500, "Internal error", count=40, http_status=500),
        ),
        80,
    ),
    "connection resets": Fault(lambda api: api.drop_next("sendMessage", count=80), 80),
}


async def zalo_chats(api: FakeZaloAPI, first: int) -> list[str]:
    """Chats that wrote to the bot once (Zalo answers 'Chat not found' to the others)."""
    chats = [f"z{first + n:08x}" for n in range(MESSAGES)]
    for chat in chats:
        api.user(chat).send_text("xin chào")
    for chat in chats[-BLOCKED:]:
        api.block_user(chat)
    return chats


@pytest.mark.parametrize("fault", list(ZALO_FAULTS))
async def test_zalo_broadcast_through_a_fault_reaches_every_chat_once(
    fault: str,
    zalo_api: FakeZaloAPI,
    zalo: ZaloChannel,
    lite_database: Database,
    clock: FixedClock,
) -> None:
    chats = await zalo_chats(zalo_api, 0x1000)
    await queue_broadcast(lite_database, "zalo", chats)
    ZALO_FAULTS[fault].inject(zalo_api)
    sender = Sender(lite_database, {"zalo": zalo.deliver}, {"zalo": FAST})
    run = await settle(sender, lite_database, clock)

    failed = [c for c in zalo_api.calls_to("sendMessage") if not c.ok and c.error_code != 403]
    assert len(failed) == ZALO_FAULTS[fault].calls
    assert run.sent == MESSAGES - BLOCKED
    assert await assert_settled(lite_database, run, zalo_received(zalo_api), chats) == 0


@pytest.mark.slow
async def test_zalo_answers_slower_than_the_time_out_cost_one_duplicate_each_at_most(
    zalo_api: FakeZaloAPI, zalo: ZaloChannel, lite_database: Database, clock: FixedClock
) -> None:
    chats = await zalo_chats(zalo_api, 0x2000)
    await queue_broadcast(lite_database, "zalo", chats)
    for _ in range(CONCURRENCY):  # the first wave answers after our client gave up (1 s)
        zalo_api.delay_next("sendMessage", 1.5)
    sender = Sender(lite_database, {"zalo": zalo.deliver}, {"zalo": FAST})
    run = await settle(sender, lite_database, clock)
    await zalo_api.wait_for(
        lambda: all(c.status for c in zalo_api.calls_to("sendMessage")) or None, 10
    )
    timeouts = run.count("no answer in time")
    assert 0 < timeouts <= CONCURRENCY, collections.Counter(run.errors)
    duplicates = await assert_settled(lite_database, run, zalo_received(zalo_api), chats)
    assert duplicates == timeouts


async def test_a_platform_that_never_recovers_fails_each_row_after_its_attempts(
    telegram_api: FakeTelegramAPI,
    telegram: TelegramChannel,
    lite_database: Database,
    clock: FixedClock,
) -> None:
    """5xx without end: every row is tried MAX_ATTEMPTS times with backoff, then `failed`."""
    chats = [str(720_000 + n) for n in range(20)]
    await queue_broadcast(lite_database, "telegram", chats)
    telegram_api.fail_next("sendMessage", 20 * MAX_ATTEMPTS + 50, status=500)
    sender = Sender(lite_database, {"telegram": telegram.deliver}, {"telegram": FAST})
    run = await settle(sender, lite_database, clock)
    assert await statuses(lite_database) == {"failed": 20}, run
    calls = telegram_api.calls_to("sendMessage")
    assert len(calls) == 20 * MAX_ATTEMPTS and not any(c.ok for c in calls)
