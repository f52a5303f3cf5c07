"""The real Telegram and Zalo channels wired to the fake platforms, as `hienmau run` wires
them (with a Zalo client that waits 1 s for an answer, so a slow answer is quick to test)."""

from __future__ import annotations

import collections

from bot.config import TelegramConfig, ZaloConfig
from channels.telegram.adapter import EngineHooks, TelegramChannel
from channels.zalo.adapter import ZaloChannel, ZaloHooks
from channels.zalo.client import ZaloClient
from handlers.messages import Dispatch, Inbound, Reply
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI

TELEGRAM_TOKEN = "424242:RELIABILITYRELIABILITYRELIABILITY"
ZALO_TOKEN = "4242424242:reliability-zalo-token"
ZALO_TIMEOUT = 1.0  # seconds our Zalo client waits for an answer


async def no_dispatch(inbound: Inbound) -> list[Reply]:
    raise AssertionError("this channel only delivers")


def telegram_channel(
    api: FakeTelegramAPI, dispatch: Dispatch = no_dispatch, hooks: EngineHooks | None = None
) -> TelegramChannel:
    config = TelegramConfig(token=TELEGRAM_TOKEN, base_url=api.base_url)
    return TelegramChannel(config, dispatch, hooks=hooks)


def zalo_channel(
    api: FakeZaloAPI, dispatch: Dispatch = no_dispatch, hooks: ZaloHooks | None = None
) -> ZaloChannel:
    config = ZaloConfig(token=ZALO_TOKEN, base_url=api.base_url, poll_timeout=1)
    client = ZaloClient(ZALO_TOKEN, api.base_url, timeout=ZALO_TIMEOUT, poll_grace=1)
    return ZaloChannel(config, dispatch, hooks=hooks, client=client, backoff=0.1)


def telegram_received(api: FakeTelegramAPI) -> collections.Counter[str]:
    """chat id -> messages the fake Bot API took for it."""
    return collections.Counter(
        str(call.params.get("chat_id")) for call in api.calls_to("sendMessage") if call.ok
    )


def zalo_received(api: FakeZaloAPI) -> collections.Counter[str]:
    """chat id -> messages the fake Zalo API took for it."""
    return collections.Counter(m.chat_id for m in api.sent())
