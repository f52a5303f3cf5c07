"""The unit of work: one database transaction, the clock and the rules, handed to every service."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import zoneinfo
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.engine import session_factory
from services.clock import Clock
from services.rules import Rules

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Work:
    session: AsyncSession
    clock: Clock
    rules: Rules
    timezone: zoneinfo.ZoneInfo
    # The installation secret that signs donor cards ([security] secret); empty: none given.
    secret: bytes = b""
    # Where files people send are kept ([storage] data_dir); None: nowhere (nothing stored).
    data_dir: Path | None = None
    # Notices `appeals.screen` left out in this unit of work, by rule ("cap": the 30-day cap on
    # appeals): planners and broadcasts read how many they skipped here.
    skipped: Counter[str] = field(default_factory=Counter, kw_only=True)
    # What to do once this unit of work is committed, and only then (deleting a person's files
    # on erasure: a rollback must not leave a record pointing at files already gone).
    after_commit: list[Callable[[], None]] = field(default_factory=list, kw_only=True)

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
        data_dir: Path | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.rules = rules
        self.timezone = timezone
        self.secret = secret
        self.data_dir = data_dir
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
            work = Work(session, self.clock, self.rules, self.timezone, self.secret, self.data_dir)
            yield work
        for action in work.after_commit:  # committed: the block above ended without an error
            action()

    async def dispose(self) -> None:
        await self.engine.dispose()


# PostgreSQL error classes that pass: connection exception, transaction rollback (deadlock,
# serialization), insufficient resources, operator intervention (shutdown, starting up).
_PASSING_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57"})
# Object not in prerequisite state: "database is not currently accepting connections" and
# "lock not available".
_PASSING_SQLSTATES = frozenset({"55000", "55P03"})
_SQLITE_BUSY = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED: another writer holds the lock


def transient(error: BaseException) -> bool:
    """Whether a unit of work failed because the database was away for a moment (restarted,
    connection lost or refused, locked by another writer), so the same work may succeed when
    tried again. A bug or a broken constraint fails the same way every time: False."""
    if isinstance(error, OSError | PoolTimeout):  # refused or timed out before the driver spoke
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    sqlite_code = getattr(error.orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):  # "database is locked", and not "no such table"
        return sqlite_code & 0xFF in _SQLITE_BUSY
    if isinstance(error, OperationalError):
        return True
    sqlstate = str(getattr(error.orig, "sqlstate", None) or "")
    return sqlstate[:2] in _PASSING_SQLSTATE_CLASSES or sqlstate in _PASSING_SQLSTATES


OUTAGE_WAITS = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0)  # seconds: about half a minute in all


def waiting_out_outages(
    work: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Run a unit of work again when it failed because the database was away for a moment,
    after each of OUTAGE_WAITS: a message that arrives during a restart is handled late
    rather than lost. The work must be one transaction (rolled back when it failed). Other
    errors, and the last, propagate."""

    @functools.wraps(work)
    async def again(*args: P.args, **kwargs: P.kwargs) -> T:
        for wait in OUTAGE_WAITS:
            try:
                return await work(*args, **kwargs)
            except Exception as error:
                if not transient(error):
                    raise
                log.warning(
                    "database unavailable (%s: %s) in %s; again in %.1f s",
                    type(error).__name__,
                    str(error).split("\n")[0][:200],
                    work.__qualname__,
                    wait,
                )
                await asyncio.sleep(wait)
        return await work(*args, **kwargs)

    return again
