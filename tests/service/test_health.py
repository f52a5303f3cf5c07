"""`GET /healthz` over real HTTP on loopback: healthy, outbox lagging (quiet hours allowed for),
and the database gone."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.health import HealthCheck, HealthServer
from db.engine import create_engine
from db.models import Identity, Outbox
from services.clock import FixedClock
from services.rules import Rules
from services.schedule import QuietHours
from services.work import Database
from tests.conftest import NOW, ZONE

MINUTE = dt.timedelta(minutes=1)
QUIET = QuietHours.parse("21:00-07:00")
_keys = itertools.count()


async def serve(database: Database, **options: Any) -> HealthServer:
    check = HealthCheck(
        database, {"telegram", "console"}, max_lag_seconds=900, quiet=QUIET, **options
    )
    server = HealthServer(check, listen="127.0.0.1", port=0)
    await server.start()
    return server


@pytest.fixture
async def healthz(database: Database) -> AsyncIterator[str]:
    server = await serve(database)
    yield f"http://127.0.0.1:{server.port}/healthz"
    await server.stop()


async def get(url: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    return response.status_code, response.json()


async def queue(
    database: Database,
    due: dt.datetime,
    *,
    status: str = "pending",
    urgent: bool = False,
    channel: str = "telegram",
) -> None:
    n = next(_keys)
    async with database.work() as work:
        identity = Identity(
            channel=channel,
            platform_user_id=f"u{n}",
            chat_id=f"{1000 + n}",
            created_at=NOW,
            last_seen_at=NOW,
        )
        work.session.add(identity)
        await work.session.flush()
        work.session.add(
            Outbox(
                identity_id=identity.id,
                key="broadcast",
                params={},
                body="Thông báo",
                urgent=urgent,
                due_at=due,
                dedup_key=f"health:{n}",
                status=status,
                attempts=0,
                created_at=NOW,
            )
        )


async def test_healthy_when_the_database_answers_and_nothing_due_waits_long(
    database: Database, healthz: str
) -> None:
    status, body = await get(healthz)
    assert status == 200
    assert body == {
        "status": "ok",
        "database": "ok",
        "outbox": {"pending": 0, "oldest_due_seconds": 0, "failed": 0},
        "uptime_seconds": body["uptime_seconds"],
    }
    assert isinstance(body["uptime_seconds"], int) and body["uptime_seconds"] >= 0
    await queue(database, NOW - 5 * MINUTE)  # due, not yet taken: a little late
    await queue(database, NOW + 10 * MINUTE)  # a reminder for later, or a claimed (leased) row
    await queue(database, NOW - 60 * MINUTE, status="failed")
    await queue(database, NOW - 90 * MINUTE, status="sent")
    await queue(database, NOW - 90 * MINUTE, channel="zalo")  # no sender here serves Zalo
    status, body = await get(healthz)
    assert status == 200
    assert body["outbox"] == {"pending": 1, "oldest_due_seconds": 300, "failed": 1}


async def test_unhealthy_when_a_due_message_waits_longer_than_the_limit(
    database: Database, healthz: str
) -> None:
    await queue(database, NOW - 16 * MINUTE)
    status, body = await get(healthz)
    assert status == 503
    assert body["status"] == "unhealthy" and body["database"] == "ok"
    assert body["outbox"] == {"pending": 1, "oldest_due_seconds": 960, "failed": 0}


async def test_quiet_hours_hold_messages_without_counting_as_lag(
    database: Database, clock: FixedClock, healthz: str
) -> None:
    clock.set(dt.datetime(2026, 11, 26, 23, 0, tzinfo=ZONE))
    await queue(database, clock.now() - 90 * MINUTE)  # held since 21:30 on purpose
    status, body = await get(healthz)
    assert (status, body["outbox"]["pending"], body["outbox"]["oldest_due_seconds"]) == (200, 1, 0)
    await queue(database, clock.now() - 20 * MINUTE, urgent=True)  # urgent ones go at night
    status, body = await get(healthz)
    assert (status, body["outbox"]["oldest_due_seconds"]) == (503, 1200)

    clock.set(dt.datetime(2026, 11, 27, 7, 5, tzinfo=ZONE))
    async with database.work() as work:  # the urgent one went out
        await work.session.execute(
            Outbox.__table__.update().where(Outbox.urgent.is_(True)).values(status="sent")
        )
    status, body = await get(healthz)
    # The night's message is late from 07:00, when quiet hours ended: 5 minutes.
    assert (status, body["outbox"]["oldest_due_seconds"]) == (200, 300)


async def test_unhealthy_when_the_database_does_not_answer(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    if database_url.startswith("sqlite"):
        gone = f"sqlite:///{tmp_path / 'no-such-directory' / 'bot.sqlite3'}"
    else:
        gone = make_url(database_url).set(database="hm_no_such_database").render_as_string(False)
    database = Database(create_engine(gone), clock, Rules(), ZONE)
    server = await serve(database)
    try:
        status, body = await get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        await server.stop()
        await database.dispose()
    assert status == 503
    assert body["status"] == "unhealthy" and body["database"] == "error"
    assert body["outbox"] is None


async def test_a_database_that_does_not_answer_in_time_is_an_error(database: Database) -> None:
    if database.engine.dialect.name != "sqlite":
        pytest.skip("SQLite queues units of work in the process: a held one makes the check wait")
    server = await serve(database, timeout=0.2)
    try:
        async with database.work():  # a long unit of work holds the database
            status, body = await get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        await server.stop()
    assert (status, body["database"]) == (503, "error")


async def test_workers_on_one_host_share_the_health_port(database: Database) -> None:
    first = await serve(database)
    second = HealthServer(
        HealthCheck(database, {"telegram"}, max_lag_seconds=900),
        listen="127.0.0.1",
        port=first.port,
    )
    try:
        await second.start()
        status, _body = await get(f"http://127.0.0.1:{first.port}/healthz")
        assert status == 200
    finally:
        await second.stop()
        await first.stop()
