"""Scale out on PostgreSQL with real processes: two `hienmau run` workers in Telegram webhook
mode share one database. Every update is posted to both (as a load balancer retrying on the
other worker would) and answered once; the outbox is drained by both workers' senders and
every message is sent once. No token or webhook secret reaches either worker's log."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, insert, select

from db.models import HandledUpdate, Identity, Outbox
from services.work import Database
from tests.e2e.test_telegram import free_port
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "515151:SCALEOUTsecretPartOfTheToken_51"
HOOK_SECRET = "Scale-out_webhook-Secret-0123"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
USERS = [600_000 + n for n in range(30)]  # each sends SCRIPT
SCRIPT = ["/help", "/drives", "/start"]
OUTBOX_CHATS = [800_000 + n for n in range(600)]  # one queued message each

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.timeout(90),
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


async def queue_outbox(database: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    async with database.work() as work:
        await work.session.execute(
            insert(Identity),
            [
                {
                    "channel": "telegram",
                    "platform_user_id": str(chat),
                    "chat_id": str(chat),
                    "language": "vi",
                    "display_name": "",
                    "created_at": now,
                    "last_seen_at": now,
                }
                for chat in OUTBOX_CHATS
            ],
        )
        ids = await work.session.execute(select(Identity.platform_user_id, Identity.id))
        identity_of = {chat: identity for chat, identity in ids.all()}
        await work.session.execute(
            insert(Outbox),
            [
                {
                    "identity_id": identity_of[str(chat)],
                    "key": "broadcast",
                    "params": {},
                    "body": f"Tin nhắn số {chat}",
                    "urgent": True,  # whatever the hour of the run: no quiet hours
                    "due_at": now - dt.timedelta(minutes=1),
                    "dedup_key": f"scale-out:{chat}",
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                }
                for chat in OUTBOX_CHATS
            ],
        )


def update(update_id: int, user: int, text: str) -> dict[str, Any]:
    person = {"id": user, "is_bot": False, "first_name": f"Người {user}", "language_code": "vi"}
    chat = {"id": user, "first_name": f"Người {user}", "type": "private"}
    message = {"message_id": update_id, "from": person, "chat": chat, "date": int(time.time())}
    return {"update_id": update_id, "message": {**message, "text": text}}


async def start_worker(
    api: FakeTelegramAPI, database_url: str, port: int, log: Path
) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIENMAU_")}
    env.update(
        HIENMAU_DATABASE_URL=database_url,
        HIENMAU_TELEGRAM_TOKEN=TOKEN,
        HIENMAU_TELEGRAM_BASE_URL=api.base_url,
        HIENMAU_TELEGRAM_MODE="webhook",
        HIENMAU_TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
        HIENMAU_TELEGRAM_WEBHOOK_SECRET=HOOK_SECRET,
        HIENMAU_TELEGRAM_PORT=str(port),
        HIENMAU_TELEGRAM_MESSAGES_PER_SECOND="100",
        HIENMAU_SCHEDULE_TICK_SECONDS="1",
        HIENMAU_SECURITY_SECRET="scale-out-card-secret-0123456789abcdef",
        HIENMAU_HEALTH_SERVE="never",
        HIENMAU_LOGGING_LEVEL="DEBUG",
    )
    with log.open("wb") as output:  # a file, not a pipe: nothing blocks on a full buffer
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=log.parent, env=env, stderr=output
        )


async def wait_listening(port: int, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"no worker listens on port {port}")


async def test_two_workers_answer_each_update_once_and_send_each_message_once(
    tmp_path: Path, database: Database, database_url: str
) -> None:
    await queue_outbox(database)
    ports = [free_port(), free_port()]
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    async with FakeTelegramAPI(token=TOKEN, bot_username="scale_out_bot") as api:
        workers = [
            await start_worker(api, database_url, port, log)
            for port, log in zip(ports, logs, strict=True)
        ]
        try:
            await asyncio.gather(*(wait_listening(port) for port in ports))
            urls = [f"http://127.0.0.1:{port}/telegram" for port in ports]
            updates = [
                update(1_000 + step * len(USERS) + n, user, text)
                for step, text in enumerate(SCRIPT)
                for n, user in enumerate(USERS)
            ]
            async with aiohttp.ClientSession() as session:

                async def post(url: str, body: dict[str, Any]) -> int:
                    headers = {SECRET_HEADER: HOOK_SECRET}
                    async with session.post(url, json=body, headers=headers) as response:
                        return response.status

                for body in updates:  # each update to both workers at once
                    assert await asyncio.gather(*(post(url, body) for url in urls)) == [200, 200]

            def answered() -> bool:
                return all(len(api.sent(user)) >= 4 for user in USERS)

            await api.wait_for(answered, timeout=30)

            def drained() -> bool:
                return all(api.sent(chat) for chat in OUTBOX_CHATS)

            await api.wait_for(drained, timeout=30)
            await asyncio.sleep(1.0)  # time for a second answer or message, if there were one
        finally:
            for worker in workers:
                if worker.returncode is None:
                    worker.send_signal(signal.SIGTERM)
            codes = [await asyncio.wait_for(worker.wait(), 20) for worker in workers]
        assert codes == [0, 0], [log.read_text()[-3000:] for log in logs]

        for user in USERS:  # /help, /drives (none planned), /start (greeting and consent)
            texts = api.texts(user)
            assert len(texts) == 4, texts
            assert sum("/drives –" in text for text in texts) == 1
            assert sum("chưa có đợt hiến máu" in text for text in texts) == 1
            assert sum("trợ lý tự động" in text for text in texts) == 1
        sent = collections.Counter(
            int(call.params["chat_id"]) for call in api.calls_to("sendMessage") if call.ok
        )
        assert all(sent[chat] == 1 for chat in OUTBOX_CHATS), [
            chat for chat in OUTBOX_CHATS if sent[chat] != 1
        ]

    async with database.work() as work:
        statuses = await work.session.execute(
            select(Outbox.status, func.count()).group_by(Outbox.status)
        )
        assert dict(statuses.all()) == {"sent": len(OUTBOX_CHATS)}
        recorded = await work.session.scalar(select(func.count()).select_from(HandledUpdate))
        assert recorded == len(updates)

    texts = [log.read_text(errors="replace") for log in logs]
    again = [len(re.findall(r"telegram update \d+ came again", text)) for text in texts]
    assert sum(again) == len(updates)  # each update was the second one's to skip, once
    by_sender = [sum(int(n) for n in re.findall(r"tick: .*?; sent (\d+)", text)) for text in texts]
    assert sum(by_sender) == len(OUTBOX_CHATS) and min(by_sender) > 0, by_sender
    for text in texts:
        assert TOKEN.partition(":")[2] not in text
        assert HOOK_SECRET not in text
