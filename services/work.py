"""The unit of work: one database transaction, the clock and the rules, handed to every service."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import zoneinfo
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.engine import session_factory
from services.clock import Clock
from services.rules import Rules


@dataclass(frozen=True, slots=True)
class Work:
    session: AsyncSession
    clock: Clock
    rules: Rules
    timezone: zoneinfo.ZoneInfo
    # The installation secret that signs donor cards ([security] secret); empty: none given.
    secret: bytes = b""

    def now(self) -> dt.datetime:
        return self.clock.now()

    def today(self) -> dt.date:
        """Today in the configured zone (Asia/Ho_Chi_Minh by default)."""
        return self.clock.now().astimezone(self.timezone).date()


class Database:
    """Opens units of work: `async with database.work() as work:` commits on success."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        rules: Rules,
        timezone: zoneinfo.ZoneInfo,
        secret: bytes = b"",
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.rules = rules
        self.timezone = timezone
        self.secret = secret
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        # SQLite has one writer at a time. Queueing units of work here costs nothing, where
        # waiting on the file lock (busy_timeout) sleeps in steps of up to 100 ms.
        self._sqlite_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @contextlib.asynccontextmanager
    async def work(self) -> AsyncIterator[Work]:
        async with contextlib.AsyncExitStack() as stack:
            if self._sqlite_lock is not None:
                await stack.enter_async_context(self._sqlite_lock)
            session = await stack.enter_async_context(self._sessions())
            await stack.enter_async_context(session.begin())
            yield Work(session, self.clock, self.rules, self.timezone, self.secret)

    async def dispose(self) -> None:
        await self.engine.dispose()
