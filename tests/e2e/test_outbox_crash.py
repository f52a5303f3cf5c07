"""Crash safety of the sender: `hienmau run` killed (SIGKILL) in the middle of a broadcast of
5,000 messages, then started again, delivers every message; only the few in flight at the
kill may arrive twice."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, select

from db.migrate import upgrade_async
from db.models import Identity, Outbox
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "654321:KILLTESTKILLTESTKILLTESTKILLTEST"
MESSAGES = 5000
IN_FLIGHT = 16  # the sender's concurrency: the most that can be sent but not yet recorded


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(token=TOKEN, bot_username="kill_test_bot") as fake:
        yield fake


def _broadcast(url: str) -> None:
    """5,000 chats, each with one queued message (as a club broadcast would leave them)."""
    engine = create_engine(url)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(Identity),
            [
                {
                    "channel": "telegram",
                    "platform_user_id": str(100_000 + n),
                    "chat_id": str(100_000 + n),
                    "language": "vi",
                    "display_name": "",
                    "created_at": now,
                    "last_seen_at": now,
                }
                for n in range(MESSAGES)
            ],
        )
        ids = connection.execute(select(Identity.id).order_by(Identity.id)).scalars().all()
        connection.execute(
            insert(Outbox),
            [
                {
                    "identity_id": identity_id,
                    "key": "broadcast",
                    "params": {},
                    "body": f"Thông báo số {n}",
                    "urgent": False,
                    "due_at": now,
                    "dedup_key": f"broadcast:{n}",
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                }
                for n, identity_id in enumerate(ids)
            ],
        )
    engine.dispose()


def _statuses(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(Outbox.status, func.count()).group_by(Outbox.status))
        result = {status: int(n) for status, n in rows}
    engine.dispose()
    return result


async def _start(tmp_path: Path, api: FakeTelegramAPI, url: str) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIENMAU_")}
    env.update(
        HIENMAU_DATABASE_URL=url,
        HIENMAU_TELEGRAM_TOKEN=TOKEN,
        HIENMAU_TELEGRAM_BASE_URL=api.base_url,
        HIENMAU_TELEGRAM_MESSAGES_PER_SECOND="1000",  # the fake has no flood limit
        HIENMAU_SCHEDULE_QUIET_HOURS="00:00-00:00",  # never quiet: the test may run at night
        HIENMAU_SCHEDULE_TICK_SECONDS="1",
        HIENMAU_SCHEDULE_SEND_LEASE_SECONDS="3",
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


def _received(api: FakeTelegramAPI) -> collections.Counter[str]:
    return collections.Counter(
        str(call.params.get("chat_id")) for call in api.calls_to("sendMessage") if call.ok
    )


@pytest.mark.slow
async def test_a_killed_sender_delivers_everything_after_a_restart(
    api: FakeTelegramAPI, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'kill.sqlite3'}"
    await upgrade_async(url)
    _broadcast(url)
    first = await _start(tmp_path, api, url)
    try:
        await api.wait_for(lambda: len(api.calls_to("sendMessage")) >= MESSAGES // 3, 60)
        first.kill()  # SIGKILL: no clean-up of any kind
        await first.wait()
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    at_kill = _received(api)
    assert 0 < len(at_kill) < MESSAGES  # killed in the middle

    second = await _start(tmp_path, api, url)
    try:
        await api.wait_for(lambda: len(_received(api)) >= MESSAGES or None, 120)
        await api.wait_for(lambda: _statuses(url).get("sent") == MESSAGES or None, 30)
    finally:
        second.terminate()
        _out, err = await asyncio.wait_for(second.communicate(), 30)
    received = _received(api)
    assert len(received) == MESSAGES  # every chat got its message
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= IN_FLIGHT, (duplicates, err.decode()[-2000:])
    assert _statuses(url) == {"sent": MESSAGES}
