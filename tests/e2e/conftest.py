"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from channels.telegram.adapter import TelegramChannel
from handlers.engine import Engine
from tests.e2e.test_telegram import BOT, TOKEN, Harness, config
from tests.fakes.telegram_api import FakeTelegramAPI


@pytest.fixture
async def telegram(engine: Engine) -> AsyncIterator[Harness]:
    """The real python-telegram-bot Application around the engine, polling a fake Bot API."""
    async with FakeTelegramAPI(token=TOKEN, bot_username=BOT) as api:
        channel = TelegramChannel(config(api), engine.dispatch, hooks=engine)
        await channel.start()
        try:
            yield Harness(api, channel)
        finally:
            await channel.stop()
