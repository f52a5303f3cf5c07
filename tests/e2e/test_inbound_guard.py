"""Inbound guards through the real channels: an update delivered twice (a webhook retry, a load
balancer trying the other worker) is answered once, and a user flooding the bot gets one
"slow down" while another user is still answered at once."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.config import TelegramConfig, ZaloConfig
from channels.telegram.adapter import TelegramChannel
from channels.telegram.ordering import BacklogQueue
from channels.zalo.adapter import ZaloChannel
from channels.zalo.client import ZaloClient
from handlers.engine import Engine
from handlers.inbound_limit import InboundLimiter
from handlers.messages import Inbound, Reply
from services.work import Database
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
HOOK_SECRET = "guard-Webhook_secret-0123"
ZALO_TOKEN = "1234567890:fake-zalo-token-abc"
SLOW_DOWN = "Bạn nhắn nhanh quá, chờ chút nhé."

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def post(url: str, body: Any, header: str, secret: str) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers={header: secret}) as response,
    ):
        return response.status


@pytest.fixture
async def telegram_api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(token=TOKEN, bot_username="hienmau_test_bot") as fake:
        yield fake


async def test_a_telegram_update_posted_again_is_answered_once(
    telegram_api: FakeTelegramAPI, engine: Engine
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    config = TelegramConfig(
        token=TOKEN,
        base_url=telegram_api.base_url,
        mode="webhook",
        webhook_url=url,
        webhook_secret=HOOK_SECRET,
        port=port,
    )
    channel = TelegramChannel(config, engine.dispatch, hooks=engine)
    await channel.start()
    try:
        user = telegram_api.user(4242, "Lặp")
        update = user.send_text("/help")  # the fake delivers it to the webhook
        await telegram_api.wait_for(lambda: channel.updates_handled == 1)
        for _ in range(2):  # Telegram retrying after a time-out; a load balancer's retry
            assert await post(url, update, "X-Telegram-Bot-Api-Secret-Token", HOOK_SECRET) == 200
        await telegram_api.wait_for(lambda: channel.updates_handled == 3)
        await asyncio.sleep(0.1)
        assert len(telegram_api.sent(user.id)) == 1
        assert "/drives" in (telegram_api.sent(user.id)[0].text or "")
    finally:
        await channel.stop()


async def test_a_zalo_message_taken_by_two_workers_is_answered_once(engine: Engine) -> None:
    """Two channels on one database, as two processes behind a load balancer would be."""
    async with FakeZaloAPI(ZALO_TOKEN) as api:
        secret = "s3cret-zalo-token"
        workers: list[ZaloChannel] = []
        for _ in range(2):
            port = free_port()
            config = ZaloConfig(
                token=ZALO_TOKEN,
                base_url=api.base_url,
                mode="webhook",
                webhook_url=f"http://127.0.0.1:{port}/zalo",
                webhook_secret=secret,
                port=port,
            )
            client = ZaloClient(ZALO_TOKEN, api.base_url, timeout=2)
            worker = ZaloChannel(config, engine.dispatch, hooks=engine, client=client)
            await worker.start()
            workers.append(worker)
        try:
            user = api.user("u-twice", "Hai")
            user.send_text("/help")  # the fake delivers it to one worker: the chat is known
            await api.wait_for_messages(user.id, 1)
            updates = [user.message("text", text) for text in ("/help", "/drives", "/help")]
            for update in updates:
                await asyncio.gather(
                    *(
                        post(w.config.webhook_url, update, "X-Bot-Api-Secret-Token", secret)
                        for w in workers
                    )
                )
            await api.wait_for(lambda: sum(w.updates_handled for w in workers) == 7)
            await asyncio.sleep(0.1)
            texts = api.texts(user.id)
            assert len(texts) == 4, texts
            # Two workers may send their answers in either order; each answer comes once.
            assert sum("/drives –" in text for text in texts[1:]) == 2  # /help, twice
            assert sum("chưa có đợt hiến máu" in text for text in texts[1:]) == 1  # /drives
        finally:
            for worker in workers:
                await worker.stop()


async def test_a_flooding_user_is_told_once_and_another_is_answered_at_once(
    telegram_api: FakeTelegramAPI, database: Database
) -> None:
    engine = Engine(database, InboundLimiter(120))  # 20 in 10 s
    config = TelegramConfig(token=TOKEN, base_url=telegram_api.base_url)
    channel = TelegramChannel(config, engine.dispatch, hooks=engine)
    await channel.start()
    try:
        flooder, other = telegram_api.user(5001, "Spam"), telegram_api.user(5002, "Bình")
        flood = 400
        flooding = time.monotonic()
        for _ in range(flood):
            flooder.send_text("/help")
        started = time.monotonic()
        other.send_text("/help")
        [answer] = await telegram_api.wait_for_messages(other.id, 1, timeout=10)
        waited = time.monotonic() - started
        await telegram_api.wait_for(lambda: channel.updates_handled == flood + 1, timeout=10)
        refilled = 2 * (time.monotonic() - flooding)  # 2 a second come back meanwhile
        texts = telegram_api.texts(flooder.id)
        assert texts.count(SLOW_DOWN) == 1
        assert 20 <= len(texts) - 1 <= 21 + refilled  # the burst and what refilled, no more
        assert "/drives" in (answer.text or "")
        # 400 updates handled in full would take several seconds; dropped, they cost little.
        assert waited < 3.0, f"the other user waited {waited:.2f} s"
    finally:
        await channel.stop()


async def test_files_from_a_flooding_user_are_not_downloaded(
    telegram_api: FakeTelegramAPI, database: Database
) -> None:
    engine = Engine(database, InboundLimiter(60))  # 10 in 10 s
    config = TelegramConfig(token=TOKEN, base_url=telegram_api.base_url)
    channel = TelegramChannel(config, engine.dispatch, hooks=engine)
    await channel.start()
    try:
        flooder = telegram_api.user(5003, "Spam")
        sent = 60
        started = time.monotonic()
        for number in range(sent):
            telegram_api.send_document(flooder.id, f"ke-hoach-{number}.csv", b"a;b\n" * 1000)
        await telegram_api.wait_for(lambda: channel.updates_handled == sent, timeout=15)
        refilled = time.monotonic() - started  # one a second comes back meanwhile
        downloads = len(telegram_api.calls_to("getFile"))
        assert telegram_api.texts(flooder.id).count(SLOW_DOWN) == 1
        assert 10 <= downloads <= 11 + refilled  # the burst and what refilled, no more
    finally:
        await channel.stop()


async def test_a_backlog_over_its_limit_waits_in_telegram_and_is_answered_later(
    telegram_api: FakeTelegramAPI, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("channels.telegram.adapter.BACKLOG_LIMIT", 4)
    gate = asyncio.Event()

    async def slow(inbound: Inbound) -> list[Reply]:
        await gate.wait()  # a database that cannot keep up
        return await engine.dispatch(inbound)

    channel = TelegramChannel(TelegramConfig(token=TOKEN, base_url=telegram_api.base_url), slow)
    queue = channel.application.update_queue
    assert isinstance(queue, BacklogQueue)
    await channel.start()
    try:
        users = [telegram_api.user(6000 + n, f"Người {n}") for n in range(12)]
        for user in users:
            user.send_text("/help")
        await telegram_api.wait_for(lambda: queue.unfinished == 4)
        await asyncio.sleep(0.3)  # the other eight stay with Telegram
        assert queue.unfinished == 4 and queue.peak == 4
        gate.set()
        await telegram_api.wait_for(lambda: channel.updates_handled == 12, timeout=10)
        assert all(len(telegram_api.sent(user.id)) == 1 for user in users)
        assert queue.peak == 4
    finally:
        gate.set()
        await channel.stop()
