"""Shared fixtures: a migrated database per test on SQLite (a real file) and, where
TEST_DATABASE_URL is set, on PostgreSQL (a fresh database cloned from a migrated template)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import shutil
import uuid
import zoneinfo
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.app import build_engine
from channels.console.console import ConsoleChat
from db.engine import create_engine
from db.migrate import upgrade
from handlers.engine import Engine
from handlers.messages import Reply
from services.clock import FixedClock
from services.rules import Rules
from services.work import Database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
ZONE = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
# "Today" in tests: 26/11/2026, 10:00 in Hà Nội.
NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=ZONE)
# The installation secret that signs donor cards in tests ([security] secret).
TEST_SECRET = b"test-secret-for-donor-cards-0123456789"


def _pg_admin_dsn(url: str) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


async def _pg_execute(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(_pg_admin_dsn(url))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    name = f"hm_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    asyncio.run(_pg_execute(TEST_DATABASE_URL, f'CREATE DATABASE "{name}"'))
    url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield name
    finally:
        asyncio.run(
            _pg_execute(TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A migrated, empty database of its own for each test."""
    if request.param == "sqlite":
        target = tmp_path / "test.sqlite3"
        shutil.copy(sqlite_template, target)
        yield f"sqlite:///{target}"
        return
    template = request.getfixturevalue("pg_template")
    assert TEST_DATABASE_URL is not None
    name = f"hm_{uuid.uuid4().hex[:16]}"
    asyncio.run(_pg_execute(TEST_DATABASE_URL, f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(
            _pg_execute(TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def database(database_url: str, clock: FixedClock, tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(
        create_engine(database_url),
        clock,
        Rules(),
        ZONE,
        secret=TEST_SECRET,
        data_dir=tmp_path / "data",
    )
    yield db
    await db.dispose()


@pytest.fixture
def engine(database: Database) -> Engine:
    return build_engine(database)


class Transcript:
    """A console chat driven by a test: say a line, read what the bot answered."""

    def __init__(self, engine: Engine, user: str, tmp_path: Path) -> None:
        self.out = io.StringIO()
        self.console = ConsoleChat(engine.dispatch, user, out=self.out, files_dir=tmp_path)
        self.replies: list[Reply] = []

    async def say(self, line: str) -> str:
        self.replies = await self.console.say(line)
        return "\n".join(r.text for r in self.replies)

    async def choose(self, label: str) -> str:
        """Type the number of the menu entry whose label contains `label`."""
        labels = [b.label for b in self.console.menu]
        for number, text in enumerate(labels, start=1):
            if label in text:
                return await self.say(str(number))
        raise AssertionError(f"no menu entry {label!r} in {labels}\n{self.transcript[-1500:]}")

    @property
    def menu(self) -> list[str]:
        return [b.label for b in self.console.menu]

    @property
    def transcript(self) -> str:
        return self.out.getvalue()


@pytest.fixture
def chat_factory(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(user: str = "user-1") -> Transcript:
        return Transcript(engine, user, tmp_path)

    return make
