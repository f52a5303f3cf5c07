"""The Telegram channel end to end: the real PTB Application against the fake Bot API server."""

from __future__ import annotations

import asyncio
import datetime as dt
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
from sqlalchemy import select, update
from telegram import Update

from bot.config import TelegramConfig
from channels.telegram.adapter import DOCUMENT_LIMIT, TelegramChannel, api_urls
from channels.telegram.render import html_chunks, to_inbound
from db.models import Identity, Person, Pledge, RoleGrant
from handlers import COMMANDS
from handlers.engine import Engine
from handlers.messages import Attachment, ChatType, Inbound, InboundKind, Reply
from scheduler.sender import Limits, Sender
from services import drives, identities, persons, quotas, roles, units
from services.audit import Actor
from services.clock import FixedClock
from services.drives import SlotSpec
from services.persons import DonorDraft, Purpose
from services.roles import Role
from services.validation import Birth
from services.work import Database
from tests.fakes.telegram_api import FakeTelegramAPI, FakeUser, SentMessage
from tests.sample import load_units
from tests.sample_drives import EXAMPLE_PLAN, add_drive

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
BOT = "hienmau_test_bot"
GROUP = -1001234567890

# PTB itself reads RetryAfter.retry_after while building the error message.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


class Harness:
    """Act as a Telegram user and wait until the bot has fully handled the update."""

    def __init__(
        self, api: FakeTelegramAPI, channel: TelegramChannel, inbounds: list[Inbound] | None = None
    ) -> None:
        self.api = api
        self.channel = channel
        self.inbounds = inbounds if inbounds is not None else []  # what the engine was given

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
    """The channel wired as `hienmau run` wires it, recording each Inbound on its way in."""
    inbounds: list[Inbound] = []

    async def dispatch(inbound: Inbound) -> list[Reply]:
        inbounds.append(inbound)
        return await engine.dispatch(inbound)

    channel = TelegramChannel(config(api), dispatch, hooks=engine)
    await channel.start()
    try:
        yield Harness(api, channel, inbounds)
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


# ------------------------------------------------------------------ documents and locations


async def test_a_document_is_downloaded_and_handed_to_the_engine(
    bot: Harness, api: FakeTelegramAPI
) -> None:
    user = api.user(1012, "Tuấn")
    content = "Đợt,Ngày,Địa điểm\n1,17/12/2026,Nhà văn hoá\n".encode()
    await bot.act(lambda: user.send_document("kế hoạch 2027.csv", content))
    document = bot.inbounds[-1]
    assert (document.kind, document.payload) == (InboundKind.DOCUMENT, "kế hoạch 2027.csv")
    assert document.attachment == Attachment("kế hoạch 2027.csv", content, "text/csv")
    assert document.deep_link == f"https://t.me/{BOT}?start="
    assert api.texts(user.id)  # the engine answered
    downloads = len(api.calls_to("getFile"))

    big = b"\0" * (DOCUMENT_LIMIT + 1)
    await bot.act(lambda: user.send_document("kế hoạch lớn.xlsx", big))
    too_big = bot.inbounds[-1]
    assert (too_big.kind, too_big.payload, too_big.attachment) == (
        InboundKind.DOCUMENT,
        "kế hoạch lớn.xlsx",
        None,
    )
    assert len(api.calls_to("getFile")) == downloads  # never fetched

    # A photo comes with its largest size downloaded (a donor's certificate, issue 11).
    await bot.act(lambda: user.send_photo())
    photo = bot.inbounds[-1]
    assert photo.kind is InboundKind.PHOTO and photo.attachment is not None
    assert photo.attachment.content == b"\xff\xd8\xff\xe0fake-jpeg"
    await bot.act(lambda: user.send_sticker())
    assert bot.inbounds[-1].kind is InboundKind.UNSUPPORTED


async def test_a_shared_location_reaches_the_engine_as_lat_lon(
    bot: Harness, api: FakeTelegramAPI
) -> None:
    user = api.user(1013, "Hoa")
    seen = len(api.sent(user.id))
    await bot.act(lambda: user.send_location(22.3964, 103.4582))
    location = bot.inbounds[-1]
    assert (location.kind, location.payload) == (InboundKind.LOCATION, "22.3964,103.4582")
    assert location.chat_type is ChatType.PRIVATE
    # The engine answers it (drives near that place), not as an unsupported message.
    answer = "\n".join(m.text or "" for m in api.sent(user.id)[seen:])
    assert answer and "chỉ đọc được" not in answer


async def test_render_turns_locations_documents_and_gifs_into_inbounds(
    api: FakeTelegramAPI,
) -> None:
    user = api.user(1014, "Minh")
    location = to_inbound(Update.de_json(user.send_location(21.0285, 105.8542), None), BOT)
    assert location is not None
    assert (location.kind, location.payload) == (InboundKind.LOCATION, "21.0285,105.8542")
    assert location.deep_link == f"https://t.me/{BOT}?start="

    raw = user.send_document("ke-hoach.xlsx", b"PK\x03\x04")
    document = to_inbound(Update.de_json(raw, None), BOT)
    assert document is not None
    assert (document.kind, document.payload) == (InboundKind.DOCUMENT, "ke-hoach.xlsx")
    assert document.attachment is None  # downloading is the adapter's job

    # Telegram sends a GIF as an animation and, for old clients, as a document too.
    gif = json.loads(json.dumps(raw))
    gif["message"]["animation"] = {
        **gif["message"]["document"],
        "width": 320,
        "height": 240,
        "duration": 2,
    }
    animation = to_inbound(Update.de_json(gif, None), BOT)
    assert animation is not None and animation.kind is InboundKind.UNSUPPORTED


# ------------------------------------------------------------------ unreachable chats


async def test_a_blocked_user_is_marked_unreachable_until_they_write_again(
    bot: Harness, api: FakeTelegramAPI, database: Database, clock: FixedClock
) -> None:
    blocked = api.user(1015, "Blocked")
    async with database.work() as work:  # the same chat id on another channel stays as it is
        await identities.touch(work, "console", "1015", "1015")

    async def unreachable_at() -> dict[str, dt.datetime | None]:
        async with database.work() as work:
            rows = await work.session.execute(
                select(Identity.channel, Identity.unreachable_at).where(Identity.chat_id == "1015")
            )
            return {channel: at for channel, at in rows.all()}

    api.block_user(blocked.id)
    await bot.act(lambda: blocked.send_text("/start"))
    assert any(c.status == 403 for c in api.calls_to("sendMessage"))
    assert await unreachable_at() == {"telegram": clock.now(), "console": None}

    api.unblock_user(blocked.id)
    assert "/drives" in await bot.say(blocked, "/help")
    assert await unreachable_at() == {"telegram": None, "console": None}


async def test_a_group_that_removed_the_bot_marks_nobody_unreachable(
    bot: Harness, api: FakeTelegramAPI, database: Database
) -> None:
    user = api.user(1016, "Hà")
    api.register_chat(GROUP, "supergroup", title="CLB Hiến máu")
    api.block_user(GROUP)  # "bot was kicked from the supergroup chat"
    await bot.act(lambda: user.send_text(f"/help@{BOT}", chat_id=GROUP))
    assert any(c.status == 403 for c in api.calls_to("sendMessage"))
    async with database.work() as work:
        assert await work.session.scalar(select(Identity)) is not None
        marked = select(Identity).where(Identity.unreachable_at.is_not(None))
        assert await work.session.scalar(marked) is None


# ------------------------------------------------------------------ command menus per role


async def add_telegram_person(
    database: Database, user_id: int, name: str, phone: str, role: Role | None = None
) -> int:
    """A registered Telegram user (as if they had chatted), optionally granted `role`."""
    async with database.work() as work:
        identity = await identities.touch(work, "telegram", str(user_id), str(user_id), "vi", name)
        unit = await units.by_code(work, "LCU-TD")
        assert unit is not None
        draft = DonorDraft(
            name, phone, Birth(1990), "female", "A+", unit.id, None, frozenset(Purpose)
        )
        person = await persons.register_self(work, identity, draft, Actor(f"telegram:{user_id}"))
        if role is not None:
            await roles.grant(work, person, role, "LCU-TD", Actor("cli"))
        return person.id


def chat_menu(api: FakeTelegramAPI, chat_id: int, language: str = "") -> list[str]:
    return [c["command"] for c in api.commands({"type": "chat", "chat_id": chat_id}, language)]


async def test_people_with_a_role_get_their_commands_in_their_chat(
    api: FakeTelegramAPI, engine: Engine, database: Database
) -> None:
    await load_units(database)
    volunteer = await add_telegram_person(
        database, 1017, "Trần Văn Tình", "0912000017", Role.VOLUNTEER
    )
    await add_telegram_person(database, 1018, "Lê Thị Dung", "0912000018")  # a donor only
    channel = TelegramChannel(config(api), engine.dispatch, hooks=engine, menu_sync_seconds=0.1)
    await channel.start()
    try:
        # Granted before the start: the menu is set while starting.
        assert "adddonor" in chat_menu(api, 1017)
        assert "adddonor" in chat_menu(api, 1017, "en")
        assert {"start", "help", "profile"} <= set(chat_menu(api, 1017))
        english = {
            c["command"]: c["description"]
            for c in api.commands({"type": "chat", "chat_id": 1017}, "en")
        }
        assert english["start"] == "Get started, sign up to donate"
        assert english["adddonor"] != "Đăng ký giúp người hiến máu"  # translated
        assert "adddonor" not in [c["command"] for c in api.commands()]
        assert "adddonor" not in [c["command"] for c in api.commands(language_code="en")]
        assert chat_menu(api, 1018) == []  # donors keep the menu for everyone

        # Granted from the CLI while the bot runs: the next sync shows it (a chair's menu
        # includes the volunteer's commands).
        chair = await add_telegram_person(database, 1019, "Phạm Minh Chủ", "0912000019")
        async with database.work() as work:
            person = await persons.get(work, chair)
            assert person is not None
            await roles.grant(work, person, Role.CLUB_CHAIR, "LCU-TD", Actor("cli"))
        await api.wait_for(lambda: "adddonor" in chat_menu(api, 1019, "en"), timeout=3)

        # Nothing changed: a sync sends nothing.
        menus_set = len(api.calls_to("setMyCommands"))
        await channel.sync_role_menus()
        assert len(api.calls_to("setMyCommands")) == menus_set

        # Revoked: the chat-scoped menus are deleted, the menu for everyone shows again.
        async with database.work() as work:
            await work.session.execute(
                update(RoleGrant)
                .where(RoleGrant.person_id == volunteer)
                .values(revoked_at=work.now())
            )
        await channel.sync_role_menus()
        deleted = [c.params["scope"] for c in api.calls_to("deleteMyCommands")]
        assert deleted == [{"type": "chat", "chat_id": 1017}] * 2  # vi and en
        assert chat_menu(api, 1017) == chat_menu(api, 1017, "en") == []
        assert "adddonor" in chat_menu(api, 1019)
    finally:
        await channel.stop()


# Drives on Telegram --------------------------------------------------------------------------


async def test_donor_finds_a_drive_pledges_a_slot_and_gets_calendar_and_qr(
    bot: Harness, database: Database
) -> None:
    await load_units(database)
    drive_id = await add_drive(
        database,
        dt.date(2026, 12, 12),
        "Nhà văn hoá <xã> Bình Lư & Co",  # HTML-sensitive characters survive
        (SlotSpec(dt.time(7, 30), dt.time(8, 30), 1), SlotSpec(dt.time(8, 30), dt.time(10), 40)),
        coordinates=(22.3501, 103.6012),
    )
    lan = bot.api.user(5101, "Lan")
    await register(bot, lan)
    listing = await bot.say(lan, "/drives")
    assert "Nhà văn hoá <xã> Bình Lư & Co" in listing and "còn 41 chỗ" in listing
    assert bot.api.last_sent(lan.id).reply_markup is not None  # the location request keyboard
    _pressed, card = await bot.press(lan, "12/12")
    assert "07:30–08:30: còn 1/1 chỗ" in card
    _pressed, ask = await bot.press(lan, "Đăng ký hiến máu")
    assert "khung giờ nào" in ask
    pressed, done = await bot.press(lan, "07:30–08:30")
    assert "Bạn đã đăng ký khung 07:30–08:30" in done
    assert "reply_markup" not in (bot.api.message(lan.id, pressed.message_id) or {})  # used up
    await bot.press(lan, "Thêm vào lịch")
    ics = bot.api.last_sent(lan.id)
    assert ics.method == "sendDocument"
    assert ics.message["document"]["file_name"] == "hien-mau-2026-12-12.ics"
    assert b"DTSTART;TZID=Asia/Ho_Chi_Minh:20261212T073000" in bytes(ics.params["document"])
    await bot.press(lan, "Chia sẻ")
    qr = bot.api.last_sent(lan.id)
    assert qr.method == "sendDocument" and bytes(qr.params["document"]).startswith(b"\x89PNG")
    assert f"https://t.me/{BOT}?start=drive_{drive_id}" in (qr.text or "")

    # A friend opens the shared link; near a location, the drive shows its distance.
    friend = bot.api.user(5102, "Bạn")
    assert "Bình Lư" in await bot.say(friend, f"/start drive_{drive_id}")
    seen = len(bot.api.sent(friend.id))
    await bot.act(lambda: friend.send_location(22.3964, 103.4582))
    near = "\n".join(m.text or "" for m in bot.api.sent(friend.id)[seen:])
    assert "gần bạn" in near and "km" in near


async def test_committee_imports_a_plan_sent_as_a_file(bot: Harness, database: Database) -> None:
    await load_units(database)
    member = bot.api.user(5201, "Đức")
    await register(bot, member)
    async with database.work() as work:
        person = await work.session.scalar(select(Person))
        assert person is not None
        await roles.grant(work, person, Role.COMMITTEE, "LCU", Actor("test"))
    plan = EXAMPLE_PLAN.read_bytes()
    seen = len(bot.api.sent(member.id))
    await bot.act(lambda: member.send_document("ke-hoach-2019.csv", plan, "text/csv"))
    preview = "\n".join(m.text or "" for m in bot.api.sent(member.id)[seen:])
    assert "Kế hoạch năm 2019: 19 đợt, tổng chỉ tiêu 2300 đơn vị máu" in preview
    _pressed, done = await bot.press(member, "Nhập")
    assert "Đã nhập 19 đợt, tổng chỉ tiêu 2300 đơn vị máu" in done
    async with database.work() as work:
        assert len(await drives.between(work, unit_code="LCU")) == 19
    # The same file again: nothing changes. A bad file is refused with its row and column.
    await bot.act(lambda: member.send_document("ke-hoach-2019.csv", plan, "text/csv"))
    _pressed, again = await bot.press(member, "Nhập")
    assert "không đổi: 19" in again
    bad = "Đợt,Ngày,Địa điểm,Chỉ tiêu\n1,31/02/2027,Trạm Y tế,nhiều\n".encode()
    seen = len(bot.api.sent(member.id))
    await bot.act(lambda: member.send_document("sai.csv", bad, "text/csv"))
    refusal = "\n".join(m.text or "" for m in bot.api.sent(member.id)[seen:])
    assert "chưa nhập gì" in refusal and "Dòng 2, cột «Ngày»" in refusal
    # A donor without the role who sends a file is told files are not read.
    donor = bot.api.user(5202, "Lan")
    seen = len(bot.api.sent(donor.id))
    await bot.act(lambda: donor.send_document("anh.csv", plan, "text/csv"))
    assert "chỉ đọc được tin nhắn chữ" in bot.api.sent(donor.id)[seen].text


EXAMPLE_QUOTAS = Path(__file__).resolve().parents[2] / "examples" / "quotas-thainguyen-2021.csv"


async def test_committee_imports_a_quota_table_sent_as_a_file(
    bot: Harness, database: Database
) -> None:
    await load_units(database)
    async with database.work() as work:
        await units.upsert(
            work, [units.UnitRow("TNG", "Tỉnh Thái Nguyên", units.UnitKind.PROVINCE, None)]
        )
    member = bot.api.user(5301, "Hà")
    await register(bot, member)
    async with database.work() as work:
        person = await work.session.scalar(select(Person))
        assert person is not None
        await roles.grant(work, person, Role.COMMITTEE, "TNG", Actor("test"))
    table = EXAMPLE_QUOTAS.read_bytes()
    seen = len(bot.api.sent(member.id))
    await bot.act(lambda: member.send_document("chi-tieu-2021.csv", table, "text/csv"))
    preview = "\n".join(m.text or "" for m in bot.api.sent(member.id)[seen:])
    assert "Bảng chỉ tiêu năm 2021 (theo tên tệp): 29 chỉ tiêu, tổng 24.500 đơn vị máu." in preview
    assert "Mới: 29 · cập nhật: 0 · không đổi: 0" in preview
    assert "🆕 32 đơn vị mới: Đại học Thái Nguyên, Đại học Sư phạm" in preview
    assert [b["text"] for b in bot.api.last_sent(member.id).buttons] == ["✅ Nhập", "❌ Huỷ"]
    _pressed, done = await bot.press(member, "Nhập")
    assert "Đã nhập 29 chỉ tiêu năm 2021, tổng 24.500 đơn vị máu (mới: 29" in done
    assert "32 đơn vị mới" in done
    async with database.work() as work:
        figures = await quotas.quota_figures(work, 2021, unit_code="TNG")
    assert (len(figures), sum(f.quota for f in figures)) == (29, 24_500)
    parents = {f.name: f.parent_name for f in figures}
    assert parents["Đại học Y Dược"] == "Đại học Thái Nguyên"
    assert parents["Công ty Sam sung Thái Nguyên"] == (
        "Các cơ quan, đơn vị, trường cao đẳng, trên địa bàn tỉnh"
    )
    shown = await bot.say(member, "/quota 2021")
    assert "Chỉ tiêu năm 2021: 29 đơn vị, tổng 24.500 đơn vị máu." in shown
    assert "📂 Đại học Thái Nguyên" in shown
    assert "• Đại học Y Dược: chỉ tiêu 1.150 · đã thu 0 (0%) · ⚠️ chậm (đến nay cần 1.150)" in (
        shown
    )
    assert "• Công ty Sam sung Thái Nguyên: chỉ tiêu 4.500" in shown
    # The same file again: nothing changes.
    await bot.act(lambda: member.send_document("chi-tieu-2021.csv", table, "text/csv"))
    _pressed, again = await bot.press(member, "Nhập")
    assert "(mới: 0, cập nhật: 0, không đổi: 29; 0 đơn vị mới)" in again


# Check-in at a drive ---------------------------------------------------------------------------


async def test_a_volunteer_checks_in_a_donor_by_the_token_of_their_card(
    bot: Harness, database: Database
) -> None:
    from services import sharing  # appended by the check-in work: kept local to this test

    await load_units(database)
    drive_id = await add_drive(
        database, dt.date(2026, 11, 26), "Nhà văn hoá xã Bình Lư", unit_code="LCU-TD"
    )
    donor_id = await add_telegram_person(database, 6101, "Lê Thị Dung", "0912000061")
    await add_telegram_person(database, 6102, "Trần Văn Tình", "0912000062", Role.VOLUNTEER)
    donor, volunteer = bot.api.user(6101, "Dung"), bot.api.user(6102, "Tình")

    await bot.say(donor, "/card")
    document = bot.api.last_sent(donor.id)
    assert document.method == "sendDocument"
    assert document.message["document"]["file_name"] == "the-hien-mau.png"
    caption = document.text or ""
    assert "🪪 Thẻ hiến máu của Lê Thị Dung" in caption and "0912000061" not in caption
    code = caption.split("Mã thẻ: ")[1].split()[0]
    token = code.replace("-", "")
    # The QR opens the bot at the check-in of this donor: a t.me deep link.
    link = f"https://t.me/{BOT}?start=card_{token}"
    assert bytes(document.params["document"]) == sharing.qr_png(link)

    assert "số điện thoại hoặc mã thẻ" in await bot.say(volunteer, "/checkin")
    card = await bot.say(volunteer, code)  # the token typed as the card shows it
    assert "👤 Lê Thị Dung" in card and "Năm sinh: 1990 · Nhóm máu: A Rh+" in card
    assert "📍 Chưa check-in." in card
    _pressed, done = await bot.press(volunteer, "Đã đến")
    assert "✅ Đã check-in: Lê Thị Dung." in done
    # Scanning the QR later sends /start card_<token>: the donor's card, checked in.
    card = await bot.say(volunteer, f"/start card_{token}")
    assert "👤 Lê Thị Dung" in card and "📍 Đã check-in lúc 10:00." in card
    async with database.work() as work:
        pledge = await work.session.scalar(
            select(Pledge).where(Pledge.person_id == donor_id, Pledge.drive_id == drive_id)
        )
        assert pledge is not None and pledge.checked_in_at is not None
        assert pledge.status == "attended" and pledge.channel == "walk_in"


# Clubs on Telegram -----------------------------------------------------------------------------


async def test_a_chair_links_the_club_group_and_a_broadcast_reaches_members_and_group(
    bot: Harness, database: Database
) -> None:
    await load_units(database)
    chair = bot.api.user(5301, "Mai")
    await register(bot, chair)
    async with database.work() as work:
        person = await work.session.scalar(select(Person))
        assert person is not None
        await roles.grant(work, person, Role.CLUB_CHAIR, "LCU-TD", Actor("test"))
    await bot.say(chair, "/newclub")
    await bot.say(chair, "CLB Hiến máu Tam Đường")
    _pressed, created = await bot.press(chair, "CLB hiến máu")
    link = next(line for line in created.splitlines() if line.startswith("https://t.me/"))
    assert link.startswith(f"https://t.me/{BOT}?start=inv_")
    payload = link.split("start=")[1]
    member = bot.api.user(5302, "Lan")
    async with database.work() as work:
        identity = await identities.touch(work, "telegram", "5302", "5302", "vi", "Lan")
        draft = DonorDraft(
            "Nguyễn Thị Lan",
            "+84912300077",
            Birth(1995),
            "female",
            "O+",
            None,
            None,
            frozenset(Purpose),
        )
        await persons.register_self(work, identity, draft, Actor("telegram:5302"))
    assert "Chào mừng bạn gia nhập CLB Hiến máu Tam Đường" in await bot.say(
        member, f"/start {payload}"
    )
    # In the club's group: only commands addressed to the bot, and the chair links it.
    linked = await bot.say(chair, "/linkclub", chat_id=GROUP)
    assert "đã gắn với CLB Hiến máu Tam Đường" in linked
    await bot.say(chair, "/broadcast")
    await bot.press(chair, "CLB Hiến máu Tam Đường")
    await bot.press(chair, "Tất cả")
    preview = await bot.say(chair, "Chủ nhật này hiến máu tại Trung tâm Y tế huyện <8h>!")
    assert "Sẽ gửi tới 2 người" in preview
    await bot.press(chair, "Gửi")
    sender = Sender(
        database,
        {"telegram": bot.channel.deliver},
        {"telegram": Limits(per_second=1000, per_chat_seconds=0, per_group_seconds=0)},
    )
    stats = await sender.drain()
    assert stats.sent == 3  # two members and the group
    for chat in (chair.id, member.id, GROUP):
        text = bot.api.texts(chat)[-1]
        assert "Thông báo từ CLB Hiến máu Tam Đường" in text and "<8h>" in text
    assert "đã gửi 3" in await bot.say(chair, "/broadcasts")


ROLE_COMMANDS = (
    "adddonor",
    "checkin",
    "members",
    "broadcast",
    "newdrive",
    "tally",
    "grant",
    "audit",
)
RANK_OF = {"volunteer": 1, "club_chair": 2, "committee": 3, "admin": 4}


async def test_the_role_matrix_on_telegram(bot: Harness, database: Database) -> None:
    """Each role-bound command, sent as a stranger and as each role, over the real channel."""
    await load_units(database)
    people: dict[str | None, FakeUser] = {None: bot.api.user(5400, "Khách")}
    for number, role in enumerate(RANK_OF, start=1):
        user = bot.api.user(5400 + number, role)
        async with database.work() as work:
            identity = await identities.touch(work, "telegram", str(user.id), str(user.id), "vi")
            draft = DonorDraft(
                "Người Thử",
                f"+8491260000{number}",
                Birth(1990),
                "male",
                "O+",
                None,
                None,
                frozenset(Purpose),
            )
            person = await persons.register_self(work, identity, draft, Actor("t"))
            await roles.grant(work, person, Role(role), "LCU", Actor("t"))
        people[role] = user

    for name in ROLE_COMMANDS:
        command = COMMANDS[name]
        assert command.role is not None
        for role, user in people.items():
            answer = await bot.say(user, f"/{name}")
            await bot.say(user, "/cancel")
            rank = RANK_OF.get(role or "", 0)
            refused = "dành cho người có vai trò" in answer
            assert refused == (rank < RANK_OF[command.role.value]), (name, role, answer[:100])
            assert "trục trặc" not in answer
