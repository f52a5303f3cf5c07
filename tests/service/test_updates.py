"""Updates are handled once by (channel, update id), on SQLite and PostgreSQL: a redelivered
update gets no second answer, two workers racing for one update handle it once, an update
whose handling failed is handled when it comes again, and old ids are pruned by the tick."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from db.engine import create_engine
from db.models import DialogueState, HandledUpdate
from handlers import engine as engine_module
from handlers.engine import Engine
from handlers.messages import Inbound, InboundKind
from scheduler.sender import Sender
from scheduler.ticker import Ticker
from services import updates
from services.clock import FixedClock
from services.planners import PlanSettings
from services.rules import Rules
from services.work import Database
from tests.conftest import TEST_SECRET, ZONE


def start(user: str, update_id: str) -> Inbound:
    return Inbound("telegram", user, user, InboundKind.COMMAND, "/start", update_id=update_id)


async def handled(database: Database) -> int:
    async with database.work() as work:
        return int(await work.session.scalar(select(func.count()).select_from(HandledUpdate)) or 0)


async def test_a_redelivered_update_gets_no_second_answer(
    engine: Engine, database: Database
) -> None:
    first = await engine.dispatch(start("7", "100000001"))
    assert first and "trợ lý tự động" in first[0].text
    assert await engine.dispatch(start("7", "100000001")) == []
    # The same id on another channel, and a new id, are other updates.
    zalo = Inbound("zalo", "7", "7", InboundKind.TEXT, "xin chào", update_id="100000001")
    assert await engine.dispatch(zalo)
    assert await engine.dispatch(start("7", "100000002"))
    # Updates without an id (the console) are never taken for one another.
    console = Inbound("console", "c", "c", InboundKind.COMMAND, "/help")
    assert await engine.dispatch(console) and await engine.dispatch(console)
    assert await handled(database) == 3


async def test_an_update_whose_handling_failed_is_handled_when_it_comes_again(
    engine: Engine, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_route = engine_module.route

    async def broken(ctx: object) -> list[object]:
        raise RuntimeError("database went away")

    monkeypatch.setattr(engine_module, "route", broken)
    [apology] = await engine.dispatch(start("8", "200"))
    assert "trục trặc" in apology.text
    assert await handled(database) == 0  # rolled back with the rest
    monkeypatch.setattr(engine_module, "route", real_route)
    assert "trợ lý tự động" in (await engine.dispatch(start("8", "200")))[0].text
    assert await handled(database) == 1


async def test_two_workers_racing_for_one_update_handle_it_once(
    database_url: str, clock: FixedClock
) -> None:
    """Two processes' databases (engines of their own): the second insert waits for the
    first transaction and then finds the row, or takes its place after a rollback."""
    workers = [
        Database(create_engine(database_url), clock, Rules(), ZONE, secret=TEST_SECRET)
        for _ in range(2)
    ]
    try:
        inside = asyncio.Event()

        async def holder(outcome: str) -> bool:
            async with workers[0].work() as work:
                first = await updates.first_time(work, "telegram", "42")
                inside.set()
                await asyncio.sleep(0.3)  # the other worker arrives meanwhile
                if outcome == "fail":
                    raise RuntimeError("handling failed")
                return first

        async def racer() -> bool:
            await inside.wait()
            async with workers[1].work() as work:
                return await updates.first_time(work, "telegram", "42")

        assert await asyncio.gather(holder("commit"), racer()) == [True, False]
        inside.clear()
        async with workers[0].work() as work:
            await work.session.execute(HandledUpdate.__table__.delete())
        failed, second = await asyncio.gather(holder("fail"), racer(), return_exceptions=True)
        assert isinstance(failed, RuntimeError) and second is True
    finally:
        for worker in workers:
            await worker.dispose()


async def test_many_deliveries_of_the_same_updates_at_once_are_answered_once(
    engine: Engine, database: Database
) -> None:
    inbounds = [start(f"u{n}", f"9{n:04d}") for n in range(20)]
    answers = await asyncio.gather(*(engine.dispatch(i) for i in inbounds * 3))
    answered = [i.update_id for i, a in zip(inbounds * 3, answers, strict=True) if a]
    assert sorted(answered) == sorted(i.update_id for i in inbounds)
    async with database.work() as work:
        chats = await work.session.scalar(select(func.count()).select_from(DialogueState))
    assert chats == 20


async def test_the_tick_forgets_update_ids_older_than_two_days(
    engine: Engine, database: Database, clock: FixedClock
) -> None:
    await engine.dispatch(start("9", "300"))
    clock.advance(dt.timedelta(days=1))
    await engine.dispatch(start("9", "301"))
    ticker = Ticker(database, PlanSettings(), Sender(database, {}))
    clock.advance(dt.timedelta(days=1, hours=1))
    await ticker.tick()
    async with database.work() as work:
        left = list(await work.session.scalars(select(HandledUpdate.update_id)))
    assert left == ["301"]
    assert await engine.dispatch(start("9", "300"))  # forgotten: taken as a new update
    clock.advance(dt.timedelta(seconds=1))
    async with database.work() as work:
        assert await updates.prune(work, dt.timedelta(0)) == 2
