"""Fixtures of the reliability suite: a SQLite database of the test's own (the channels'
troubles do not depend on the database), the fake platforms, and the channels opened for
sending as `hienmau jobs tick` opens them."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from channels.telegram.adapter import TelegramChannel
from channels.zalo.adapter import ZaloChannel
from db.engine import create_engine
from services.clock import FixedClock
from services.rules import Rules
from services.work import Database
from tests.conftest import TEST_SECRET, ZONE
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI
from tests.reliability.platforms import (
    TELEGRAM_TOKEN,
    ZALO_TOKEN,
    telegram_channel,
    zalo_channel,
)


@pytest.fixture
async def lite_database(
    tmp_path: Path, sqlite_template: Path, clock: FixedClock
) -> AsyncIterator[Database]:
    target = tmp_path / "reliability.sqlite3"
    shutil.copy(sqlite_template, target)
    database = Database(
        create_engine(f"sqlite:///{target}"), clock, Rules(), ZONE, secret=TEST_SECRET
    )
    yield database
    await database.dispose()


@pytest.fixture
async def telegram_api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(token=TELEGRAM_TOKEN, bot_username="reliability_bot") as api:
        yield api


@pytest.fixture
async def telegram(telegram_api: FakeTelegramAPI) -> AsyncIterator[TelegramChannel]:
    channel = telegram_channel(telegram_api)
    await channel.open_for_sending()
    yield channel
    await channel.stop()


@pytest.fixture
async def zalo_api() -> AsyncIterator[FakeZaloAPI]:
    async with FakeZaloAPI(token=ZALO_TOKEN) as api:
        yield api


@pytest.fixture
async def zalo(zalo_api: FakeZaloAPI) -> AsyncIterator[ZaloChannel]:
    channel = zalo_channel(zalo_api)
    await channel.open_for_sending()
    yield channel
    await channel.stop()
