"""`hienmau run` in production shape: Telegram by webhook (against the fake Bot API), JSON logs
at DEBUG, /healthz on its own port. Every log line is JSON, and no token or secret is in any."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_telegram import free_port
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "424242:HEALTHTESTsecretPartOfTheToken_42"
HOOK_SECRET = "Webhook-Secret_for_the_health_test"
CARD_SECRET = "card-secret-for-the-health-test-0123456789"


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(token=TOKEN, bot_username="health_test_bot") as fake:
        yield fake


async def healthz(url: str, timeout: float) -> httpx.Response:  # noqa: ASYNC109
    """The first answer of /healthz once the server listens."""
    async with httpx.AsyncClient() as client:
        for _ in range(int(timeout / 0.1)):
            try:
                return await client.get(url)
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise AssertionError(f"nothing answers at {url}")


@pytest.mark.slow
async def test_run_in_webhook_mode_answers_healthz_and_logs_json_without_secrets(
    api: FakeTelegramAPI, tmp_path: Path, sqlite_template: Path
) -> None:
    shutil.copy(sqlite_template, tmp_path / "bot.sqlite3")
    hook_port, health_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIENMAU_")}
    env.update(
        HIENMAU_DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        HIENMAU_TELEGRAM_TOKEN=TOKEN,
        HIENMAU_TELEGRAM_BASE_URL=api.base_url,
        HIENMAU_TELEGRAM_MODE="webhook",
        HIENMAU_TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{hook_port}/telegram",
        HIENMAU_TELEGRAM_WEBHOOK_SECRET=HOOK_SECRET,
        HIENMAU_TELEGRAM_PORT=str(hook_port),
        HIENMAU_HEALTH_PORT=str(health_port),
        HIENMAU_SECURITY_SECRET=CARD_SECRET,
        HIENMAU_LOGGING_FORMAT="json",
        HIENMAU_LOGGING_LEVEL="DEBUG",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        response = await healthz(f"http://127.0.0.1:{health_port}/healthz", 30)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["status"], body["database"]) == ("ok", "ok")
        assert body["outbox"] == {"pending": 0, "oldest_due_seconds": 0, "failed": 0}
        await api.wait_for(lambda: api.webhook, 30)  # the webhook is set: updates come
        assert api.webhook is not None and api.webhook["secret_token"] == HOOK_SECRET
        api.send_text(5151, "/start")
        [*_, reply] = await api.wait_for_messages(5151, 1, timeout=30)
        assert reply.text
    finally:
        if process.returncode is None:
            process.terminate()
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()[-3000:]
    lines = err.decode().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    text = err.decode()
    for secret in ("HEALTHTESTsecretPartOfTheToken_42", HOOK_SECRET, CARD_SECRET):
        assert secret not in text
    messages = [record["message"] for record in records]
    assert any("424242:***" in message for message in messages)  # the token was masked
    assert any("healthz: answering on" in message for message in messages)
