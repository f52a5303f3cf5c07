"""The database away for a while, as a client sees it.

PostgreSQL restarted: every connection to the test database is cut (pg_terminate_backend) and
no new one is taken until it is "back" (ALLOW_CONNECTIONS false, then true). SQLite locked:
another process holds the write lock (BEGIN IMMEDIATE); our connections wait for it only
100 ms instead of the 10 s of production, so the lock is a "database is locked" error rather
than a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url

from services.work import Database

BUSY_TIMEOUT_MS = 100


class Outage:
    def __init__(self, database: Database, url: str) -> None:
        self.url = url
        self.kind = database.engine.dialect.name
        self.cut = 0  # PostgreSQL connections cut, over all outages
        if self.kind == "sqlite":
            event.listen(database.engine.sync_engine, "connect", _impatient)

    @contextlib.asynccontextmanager
    async def down(self, seconds: float) -> AsyncIterator[None]:
        """The database is away from entering the block; back `seconds` later (and the
        block's end waits for that)."""
        if self.kind == "sqlite":
            taken, release = threading.Event(), threading.Event()
            holder = asyncio.create_task(
                asyncio.to_thread(_hold_write_lock, self.path, taken, release)
            )
            await asyncio.to_thread(taken.wait)
            try:
                yield
                await asyncio.sleep(seconds)
            finally:
                release.set()
                await holder
            return
        admin = await asyncpg.connect(self._admin_dsn())
        name = make_url(self.url).database
        try:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            cut = await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
            self.cut += len(cut)
            try:
                yield
                await asyncio.sleep(seconds)
            finally:
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        finally:
            await admin.close()

    @property
    def path(self) -> str:
        path = make_url(self.url).database
        assert path is not None
        return path

    def _admin_dsn(self) -> str:
        admin = make_url(self.url).set(drivername="postgresql", database="postgres")
        return admin.render_as_string(hide_password=False)


def _impatient(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _hold_write_lock(path: str, taken: threading.Event, release: threading.Event) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        taken.set()
        release.wait(60)
        connection.execute("COMMIT")
    finally:
        connection.close()
