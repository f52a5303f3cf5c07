"""The Telegram channel end to end: the real PTB Application against the fake Bot API server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.config import TelegramConfig
from channels.telegram.adapter import TelegramChannel, api_urls
from channels.telegram.render import html_chunks
from db.models import Identity, Person
from handlers.engine import Engine
from services.work import Database
from tests.fakes.telegram_api import FakeTelegramAPI, FakeUser, SentMessage
from tests.sample import load_units

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
BOT = "hienmau_test_bot"
GROUP = -1001234567890

# PTB itself reads RetryAfter.retry_after while building the error message.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


class Harness:
    """Act as a Telegram user and wait until the bot has fully handled the update."""

    def __init__(self, api: FakeTelegramAPI, channel: TelegramChannel) -> None:
        self.api = api
        self.channel = channel

    async def act(self, action: Callable[[], object], within: float = 5.0) -> None:
        before = self.channel.updates_handled
        action()
        await self.api.wait_for(lambda: self.channel.updates_handled > before, within)

    async def say(self, user: FakeUser, text: str, chat_id: int | None = None) -> str:
        """Send a text; return the texts the bot answered with, joined."""
        key = chat_id if chat_id is not None else user.id
        seen = len(self.api.sent(key))
        await self.act(lambda: user.send_text(text, chat_id=chat_id))
        return "\n".join(m.text or "" for m in self.api.sent(key)[seen:])

    async def press(self, user: FakeUser, label: str) -> tuple[SentMessage, str]:
        """Press the newest inline button whose text contains `label`."""
        for sent in reversed(self.api.sent(user.id)):
            for button in sent.buttons:
                if label in str(button.get("text")):
                    seen = len(self.api.sent(user.id))
                    press = partial(
                        user.press_button, sent.message_id, str(button["callback_data"])
                    )
                    await self.act(press)
                    answer = "\n".join(m.text or "" for m in self.api.sent(user.id)[seen:])
                    return sent, answer
        raise AssertionError(f"no button {label!r}; last: {self.api.texts(user.id)[-1:]}")

    async def contact(self, user: FakeUser, phone: str, owner: int | None = None) -> str:
        seen = len(self.api.sent(user.id))
        await self.act(lambda: user.send_contact(phone, contact_user_id=owner))
        return "\n".join(m.text or "" for m in self.api.sent(user.id)[seen:])


def config(api: FakeTelegramAPI, **changes: Any) -> TelegramConfig:
    return replace(TelegramConfig(token=TOKEN, base_url=api.base_url), **changes)


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(token=TOKEN, bot_username=BOT) as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeTelegramAPI, engine: Engine) -> AsyncIterator[Harness]:
    channel = TelegramChannel(config(api), engine.dispatch)
    await channel.start()
    try:
        yield Harness(api, channel)
    finally:
        await channel.stop()


async def register_until_unit(bot: Harness, user: FakeUser) -> None:
    assert "trợ lý tự động" in await bot.say(user, "/start")
    await bot.press(user, "Tôi đồng ý")
    await bot.press(user, "Có, nhắc tôi")
    await bot.press(user, "Đồng ý")
    ask = await bot.say(user, "nguyễn thị lan")
    assert "Số điện thoại" in ask
    markup = bot.api.last_sent(user.id).reply_markup
    assert markup is not None and markup["one_time_keyboard"] is True
    assert markup["keyboard"][0][0]["request_contact"] is True
    refused = await bot.contact(user, "84987654321", owner=user.id + 1)  # someone else's
    assert "chính bạn" in refused and "Số điện thoại" in refused
    assert "Ngày sinh" in await bot.contact(user, "84912345678")  # own contact
    assert bot.api.last_sent(user.id).reply_markup == {"remove_keyboard": True}
    await bot.say(user, "17/12/1995")
    await bot.press(user, "Nữ")
    await bot.press(user, "O Rh+")


async def register(bot: Harness, user: FakeUser) -> None:
    await register_until_unit(bot, user)
    await bot.say(user, "tam duong")
    await bot.press(user, "Huyện Tam Đường")
    summary = await bot.say(user, "52")
    assert "Nguyễn Thị Lan" in summary and "0912 345 678" in summary
    _pressed, done = await bot.press(user, "Lưu")
    assert "đăng ký thành công" in done


async def test_registration_with_buttons_and_a_shared_contact(
    bot: Harness, api: FakeTelegramAPI, database: Database
) -> None:
    await load_units(database)
    lan = api.user(1001, "Lan", language_code="vi")
    await register(bot, lan)
    async with database.work() as work:
        person = await work.session.scalar(select(Person))
        assert person is not None
        assert (person.full_name, person.phone) == ("Nguyễn Thị Lan", "+84912345678")
        identity = await work.session.scalar(select(Identity))
        assert identity is not None and identity.person_id == person.id
        assert (identity.channel, identity.platform_user_id) == ("telegram", "1001")
    assert "Chào mừng Nguyễn Thị Lan quay lại" in await bot.say(lan, "/start")


async def test_a_pressed_keyboard_is_removed_and_the_query_answered(
    bot: Harness, api: FakeTelegramAPI
) -> None:
    user = api.user(1002, "Bình")
    await bot.say(user, "/start")
    since = len(api.calls)
    pressed, _answer = await bot.press(user, "Tôi đồng ý")
    after = api.sent(user.id)
    message = next(m for m in after if m.message_id == pressed.message_id)
    assert message.buttons == [] and message.edited
    methods = [c.method for c in api.calls[since:] if c.method != "getUpdates"]
    assert methods[:3] == ["answerCallbackQuery", "editMessageReplyMarkup", "sendMessage"]
    # A second press of the same (now stale) button is answered, not crashed on.
    seen = len(api.sent(user.id))
    await bot.act(
        lambda: user.press_button(pressed.message_id, "consent:yes", strict=False)  # forged
    )
    assert len(api.sent(user.id)) > seen


async def test_profile_and_forget(bot: Harness, api: FakeTelegramAPI, database: Database) -> None:
    await load_units(database)
    lan = api.user(1003, "Lan")
    await register(bot, lan)
    profile = await bot.say(lan, "/profile")
    assert "Nguyễn Thị Lan" in profile and "Nhắc lịch hiến máu: Bật" in profile
    assert api.last_sent(lan.id).buttons  # edit buttons as an inline keyboard
    await bot.say(lan, "/export")
    [document] = [m for m in api.sent(lan.id) if m.method == "sendDocument"]
    assert document.message["document"]["file_name"] == "hienmau-du-lieu-cua-toi.json"
    upload = document.params["document"]
    assert json.loads(bytes(upload))["profile"]["phone"] == "+84912345678"
    assert "xoá toàn bộ" in await bot.say(lan, "/forget")
    _pressed, done = await bot.press(lan, "Xoá vĩnh viễn")
    assert "Đã xoá" in done
    async with database.work() as work:
        person = await work.session.scalar(select(Person))
        assert person is not None and person.status == "erased"
    assert "chưa đăng ký" in await bot.say(lan, "/profile")


async def test_group_chat(bot: Harness, api: FakeTelegramAPI) -> None:
    user = api.user(1004, "Hà")
    api.register_chat(GROUP, "supergroup", title="CLB Hiến máu")
    answer = await bot.say(user, f"/start@{BOT}", chat_id=GROUP)
    assert "tin nhắn riêng" in answer
    assert api.last_sent(GROUP).reply_markup is None
    sent = len(api.sent(GROUP))
    assert await bot.say(user, "chào cả nhà, mai đi hiến máu nhé", chat_id=GROUP) == ""
    assert await bot.say(user, "/start@other_bot", chat_id=GROUP) == ""
    assert len(api.sent(GROUP)) == sent
    assert "tin nhắn riêng" in await bot.say(user, "/profile", chat_id=GROUP)
    assert "/drives" in await bot.say(user, "/help", chat_id=GROUP)


async def test_html_special_characters_survive(
    bot: Harness, api: FakeTelegramAPI, database: Database
) -> None:
    await load_units(database)
    user = api.user(1005, "<b>Lan&_*[", language_code="vi")  # strict HTML parsing in the fake
    await register_until_unit(bot, user)
    answer = await bot.say(user, "<b>&_*[ x")
    assert "Không tìm thấy đơn vị nào có '<b>&_*[ x'" in answer
    last = next(m for m in reversed(api.sent(user.id)) if "Không tìm thấy" in (m.text or ""))
    assert last.parse_mode == "HTML" and "&lt;b&gt;&amp;_*[" in (last.raw_text or "")
    assert last.entities == []


async def test_stickers_get_an_answer_and_edits_are_ignored(
    bot: Harness, api: FakeTelegramAPI
) -> None:
    user = api.user(1006, "An")
    await bot.act(lambda: user.send_sticker())
    assert "chữ" in api.texts(user.id)[-1]
    updates: list[dict[str, object]] = []
    await bot.act(lambda: updates.append(user.send_text("xin chào")))
    sent = len(api.sent(user.id))
    message = updates[0]["message"]
    assert isinstance(message, dict)
    user.edit_text(message["message_id"], "/forget")  # no handler: nothing happens
    assert "/drives" in await bot.say(user, "/help")
    assert len(api.sent(user.id)) == sent + 1


async def test_a_blocked_user_does_not_stop_the_bot(bot: Harness, api: FakeTelegramAPI) -> None:
    blocked = api.user(1007, "Blocked")
    other = api.user(1008, "Other")
    api.block_user(blocked.id)
    await bot.act(lambda: blocked.send_text("/start"))
    assert api.sent(blocked.id) == []
    assert any(c.status == 403 for c in api.calls_to("sendMessage"))
    assert "/drives" in await bot.say(other, "/help")
    api.unblock_user(blocked.id)
    assert "/drives" in await bot.say(blocked, "/help")


async def test_flood_control_is_waited_out(bot: Harness, api: FakeTelegramAPI) -> None:
    user = api.user(1009, "Chi")
    api.fail_next("sendMessage", status=429, retry_after=1)
    assert "/drives" in await bot.say(user, "/help")
    statuses = [c.status for c in api.calls_to("sendMessage")]
    assert statuses == [429, 200]


async def test_command_menus_for_vi_and_en(bot: Harness, api: FakeTelegramAPI) -> None:
    vi = {c["command"]: c["description"] for c in api.commands()}
    en = {c["command"]: c["description"] for c in api.commands(language_code="en")}
    assert vi["start"] == "Bắt đầu, đăng ký hiến máu"
    assert en["start"] == "Get started, sign up to donate"
    assert set(vi) == set(en)
    assert {"start", "help", "profile", "forget", "drives"} <= set(vi)
    assert "adddonor" not in vi  # role-bound commands stay out of the public menu
    assert all(name == name.lower() for name in vi)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_mode(api: FakeTelegramAPI, engine: Engine) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    settings = config(
        api, mode="webhook", webhook_url=url, webhook_secret="s3cret-Token_1", port=port
    )
    channel = TelegramChannel(settings, engine.dispatch)
    await channel.start()
    try:
        assert api.webhook is not None and api.webhook["secret_token"] == "s3cret-Token_1"
        user = api.user(1010, "Webhook")
        assert "/drives" in await Harness(api, channel).say(user, "/help")
        assert api.webhook_attempts and api.webhook_attempts[-1].status == 200
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json={"update_id": 1}) as response,  # forged: no secret
        ):
            assert response.status == 403
    finally:
        await channel.stop()


def test_api_urls_and_text_chunks() -> None:
    assert api_urls("http://127.0.0.1:8081/bot") == (
        "http://127.0.0.1:8081/bot",
        "http://127.0.0.1:8081/file/bot",
    )
    assert api_urls("http://h:1/") == ("http://h:1/bot", "http://h:1/file/bot")
    text = "\n".join(f"dòng {i} <&>" for i in range(1500))
    chunks = html_chunks(text)
    assert len(chunks) > 1 and all(len(c) <= 4096 for c in chunks)
    assert "\n".join(chunks) == text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    long_line = "&" * 5000
    assert all(len(c) <= 4096 and not c.endswith("&am") for c in html_chunks(long_line))
    assert "".join(html_chunks(long_line)) == "&amp;" * 5000


async def test_hienmau_run_polls_until_sigterm(api: FakeTelegramAPI, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIENMAU_")}
    env.update(
        HIENMAU_DATABASE_URL=f"sqlite:///{tmp_path / 'run.sqlite3'}",
        HIENMAU_TELEGRAM_TOKEN=TOKEN,
        HIENMAU_TELEGRAM_BASE_URL=api.base_url,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await api.wait_for_call("deleteWebhook", timeout=30)  # polling starts right after
        user = api.user(1011, "Process")
        user.send_text("/help")
        [reply] = await api.wait_for_messages(user.id, 1, timeout=10)
        assert "/drives" in (reply.text or "")
        assert api.commands(language_code="en")
        process.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0, err.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
