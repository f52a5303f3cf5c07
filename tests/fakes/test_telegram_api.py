"""Tests of the fake Telegram Bot API, driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes
from telegram.helpers import escape_markdown

from tests.fakes.telegram_api import FakeTelegramAPI, UploadedFile, parse_formatted_text

pytestmark = pytest.mark.asyncio

TOKEN = "123:ABC"
USER = 42


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(token=TOKEN) as fake:
        yield fake


@pytest_asyncio.fixture
async def bot(api: FakeTelegramAPI) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as real_bot:
        yield real_bot


def _inline(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in pairs])


# ------------------------------------------------------------------------------ basics


async def test_get_me_and_base_urls(api: FakeTelegramAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123, True, "hienmau_test_bot")
    assert api.base_url == f"http://127.0.0.1:{api.port}/bot"
    assert api.calls[0].method == "getMe"


async def test_wrong_token_is_unauthorized(api: FakeTelegramAPI) -> None:
    wrong = Bot("123:WRONG", base_url=api.base_url)
    with pytest.raises(InvalidToken):
        await wrong.initialize()  # initialize() calls getMe
    await wrong.shutdown()
    assert api.calls == []  # wrong-token requests are rejected before being recorded


async def test_unknown_method_and_json_body(api: FakeTelegramAPI) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{api.base_url}{TOKEN}"
        async with session.post(f"{url}/sendMessage", json={"chat_id": 7, "text": "123"}) as r:
            body = await r.json()
        async with session.post(f"{url}/noSuchMethod") as r404:
            assert r404.status == 404
            assert (await r404.json())["ok"] is False
        async with session.get(f"{api.base_url}bad:token/getMe") as r401:
            assert r401.status == 401
            assert await r401.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
    assert body["ok"] is True
    assert body["result"]["text"] == "123"
    assert api.calls[0].params == {"chat_id": 7, "text": "123"}


# ------------------------------------------------------------------------------ sending


async def test_send_message_with_inline_and_reply_keyboards(api: FakeTelegramAPI, bot: Bot) -> None:
    msg = await bot.send_message(
        USER, "Chọn:", reply_markup=_inline(("Có", "yes"), ("Không", "no"))
    )
    assert msg.chat.id == USER
    assert msg.from_user is not None
    assert msg.from_user.is_bot
    assert msg.reply_markup is not None
    assert msg.reply_markup.inline_keyboard[0][0].callback_data == "yes"

    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton("Chia sẻ số điện thoại", request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    second = await bot.send_message(USER, "Số điện thoại?", reply_markup=keyboard)
    assert second.reply_markup is None  # Telegram only echoes inline keyboards

    call = api.calls_to("sendMessage")[-1]
    assert call.params["reply_markup"]["keyboard"][0][0] == {
        "text": "Chia sẻ số điện thoại",
        "request_contact": True,
    }
    first, last = api.sent(USER)
    assert first.callback_data == ["yes", "no"]
    assert first.button_texts == ["Có", "Không"]
    assert last.reply_markup is not None
    assert last.reply_markup["one_time_keyboard"] is True
    assert last.button_texts == ["Chia sẻ số điện thoại"]
    assert api.texts(USER) == ["Chọn:", "Số điện thoại?"]


async def test_edit_message_reply_markup_text_and_not_modified(
    api: FakeTelegramAPI, bot: Bot
) -> None:
    msg = await bot.send_message(USER, "Lịch hẹn", reply_markup=_inline(("Huỷ", "cancel")))
    edited = await bot.edit_message_reply_markup(
        USER, msg.message_id, reply_markup=_inline(("Xác nhận", "ok"))
    )
    assert isinstance(edited, type(msg))
    assert api.last_sent(USER).callback_data == ["ok"]

    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(
            USER, msg.message_id, reply_markup=_inline(("Xác nhận", "ok"))
        )

    await bot.edit_message_text("<b>Đã xác nhận</b>", USER, msg.message_id, parse_mode="HTML")
    record = api.last_sent(USER)
    assert record.text == "Đã xác nhận"
    assert record.raw_text == "<b>Đã xác nhận</b>"
    assert record.buttons == []  # editing text without reply_markup drops the keyboard
    assert [v.get("text") for v in record.history] == ["Lịch hẹn", "Lịch hẹn", "Đã xác nhận"]
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", USER, 999)


async def test_callback_press_and_answer(api: FakeTelegramAPI, bot: Bot) -> None:
    msg = await bot.send_message(USER, "Đăng ký?", reply_markup=_inline(("Có", "reg:yes")))
    update = api.press_button(USER, msg.message_id, "reg:yes")
    [received] = await bot.get_updates()
    query = received.callback_query
    assert query is not None
    assert query.data == "reg:yes"
    assert query.message is not None
    assert query.message.message_id == msg.message_id
    assert query.id == update["callback_query"]["id"]

    assert await bot.answer_callback_query(query.id, text="Đã ghi nhận", show_alert=True)
    assert api.callback_answers[query.id]["show_alert"] is True
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):  # PTB lower-cases the rest
        await bot.answer_callback_query("nonexistent")
    with pytest.raises(LookupError):
        api.press_button(USER, msg.message_id, "reg:forged")
    assert api.press_button_text(USER, "Có")["callback_query"]["data"] == "reg:yes"


async def test_set_my_commands_with_scope_and_language(api: FakeTelegramAPI, bot: Bot) -> None:
    scope = BotCommandScopeChat(USER)
    await bot.set_my_commands([BotCommand("start", "Bắt đầu")], scope=scope, language_code="vi")
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])

    call = api.calls_to("setMyCommands")[0]
    assert call.params["scope"] == {"type": "chat", "chat_id": USER}
    assert call.params["language_code"] == "vi"
    vi = await bot.get_my_commands(scope=scope, language_code="vi")
    assert [(c.command, c.description) for c in vi] == [("start", "Bắt đầu")]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert api.commands({"type": "chat", "chat_id": USER}, "vi")[0]["command"] == "start"

    await bot.delete_my_commands(scope=scope, language_code="vi")
    assert await bot.get_my_commands(scope=scope, language_code="vi") == ()
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start", "uppercase is invalid")])


async def test_send_document_bytes_and_download(api: FakeTelegramAPI, bot: Bot) -> None:
    content = "họ tên,nhóm máu\nAn,O+\n".encode()
    msg = await bot.send_document(USER, content, filename="danh_sách.csv", caption="Báo cáo")
    assert msg.document is not None
    assert msg.document.file_name == "danh_sách.csv"
    assert msg.document.file_size == len(content)
    assert msg.caption == "Báo cáo"

    uploaded = api.calls_to("sendDocument")[0].params["document"]
    assert isinstance(uploaded, UploadedFile)
    assert (uploaded.filename, uploaded.data) == ("danh_sách.csv", content)

    tg_file = await bot.get_file(msg.document.file_id)
    assert bytes(await tg_file.download_as_bytearray()) == content
    again = await bot.send_document(USER, msg.document.file_id)  # resend by file_id
    assert again.document is not None
    assert again.document.file_id == msg.document.file_id
    with pytest.raises(BadRequest, match="File must be non-empty"):
        await bot.send_document(USER, b"", filename="empty.txt")


async def test_send_photo_and_chat_action(api: FakeTelegramAPI, bot: Bot) -> None:
    assert await bot.send_chat_action(USER, "typing")
    msg = await bot.send_photo(USER, b"\x89PNG fake", caption="<i>Ảnh</i>", parse_mode="HTML")
    assert len(msg.photo) == 2
    assert msg.caption == "Ảnh"
    assert api.last_sent(USER).method == "sendPhoto"
    with pytest.raises(BadRequest, match="Wrong parameter action"):
        await bot.send_chat_action(USER, "dancing")


# ------------------------------------------------------------------------------ updates


async def test_get_updates_with_offset(api: FakeTelegramAPI, bot: Bot) -> None:
    menu = await bot.send_message(USER, "Menu", reply_markup=_inline(("Đăng ký", "register")))
    api.user(USER, "An", username="an_nguyen", language_code="vi")
    api.send_text(USER, "/start@hienmau_test_bot xin chào")
    api.press_button(USER, menu.message_id, "register")
    api.send_contact(USER, "84901234567")

    updates = await bot.get_updates(timeout=0)
    assert len(updates) == 3
    ids = [u.update_id for u in updates]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3

    text = updates[0].message
    assert text is not None
    assert text.text == "/start@hienmau_test_bot xin chào"
    assert text.from_user is not None
    assert text.from_user.language_code == "vi"
    assert text.parse_entities() == {text.entities[0]: "/start@hienmau_test_bot"}
    assert updates[1].callback_query is not None
    contact = updates[2].message
    assert contact is not None
    assert contact.contact is not None
    assert contact.contact.user_id == USER
    assert contact.contact.phone_number == "84901234567"

    # Unconfirmed updates are returned again; offset confirms them.
    assert len(await bot.get_updates(timeout=0)) == 3
    rest = await bot.get_updates(offset=ids[1] + 1, timeout=0)
    assert [u.update_id for u in rest] == [ids[2]]
    assert await bot.get_updates(offset=ids[2] + 1, timeout=0) == ()
    assert api.pending_updates == []


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    api: FakeTelegramAPI, bot: Bot
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await api.wait_for(lambda: api.calls_to("getUpdates"), timeout=1)
    await asyncio.sleep(0.1)
    api.send_text(USER, "hello")
    updates = await asyncio.wait_for(poll, 2)
    assert [u.message.text for u in updates if u.message] == ["hello"]
    assert time.monotonic() - started < 1.5


async def test_allowed_updates_and_limit(api: FakeTelegramAPI, bot: Bot) -> None:
    api.send_text(USER, "one")
    api.send_text(USER, "two")
    api.send_location(USER, 21.03, 105.85)
    first = await bot.get_updates(limit=1, timeout=0)
    assert len(first) == 1
    api.send_edited_text(USER, first[0].message.message_id, "one (sửa)")  # type: ignore[union-attr]
    only_edits = await bot.get_updates(timeout=0, allowed_updates=["edited_message"])
    assert [u.edited_message.text for u in only_edits] == ["one (sửa)"]  # type: ignore[union-attr]


async def test_group_channel_and_media_updates_parse_in_ptb(api: FakeTelegramAPI, bot: Bot) -> None:
    api.send_text(USER, "/dangky@hienmau_test_bot", chat_id=-1001234567890)
    api.send_text(USER, "hi group", chat_id=-4242, chat_type="group")
    api.send_channel_post(-1009999, "Thông báo", title="Hiến máu HN")
    api.send_sticker(USER)
    api.send_photo_from_user(USER, b"jpeg-bytes", caption="ảnh")
    raw = api.inject_update({"my_chat_member": _my_chat_member()})

    updates = await bot.get_updates(timeout=0)
    assert [u.effective_chat.type for u in updates if u.effective_chat] == [
        "supergroup",
        "group",
        "channel",
        "private",
        "private",
        "private",
    ]
    assert updates[2].channel_post is not None
    assert updates[3].message is not None
    assert updates[3].message.sticker is not None
    photo_msg = updates[4].message
    assert photo_msg is not None
    assert photo_msg.photo
    tg_file = await bot.get_file(photo_msg.photo[-1].file_id)
    assert bytes(await tg_file.download_as_bytearray()) == b"jpeg-bytes"
    assert updates[5].update_id == raw["update_id"]
    assert updates[5].my_chat_member is not None


def _my_chat_member() -> dict[str, Any]:
    user = {"id": USER, "is_bot": False, "first_name": "An"}
    bot_user = {"id": 123, "is_bot": True, "first_name": "Bot", "username": "hienmau_test_bot"}
    return {
        "chat": {"id": USER, "type": "private", "first_name": "An"},
        "from": user,
        "date": int(time.time()),
        "old_chat_member": {"status": "member", "user": bot_user},
        "new_chat_member": {"status": "kicked", "user": bot_user, "until_date": 0},
    }


# ------------------------------------------------------------------------------ faults


async def test_blocked_user_raises_forbidden(api: FakeTelegramAPI, bot: Bot) -> None:
    api.block_user(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "hello")
    assert api.calls[-1].status == 403
    api.unblock_user(USER)
    await bot.send_message(USER, "hello again")


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_fail_next_429_and_5xx(api: FakeTelegramAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", count=1, status=429, retry_after=3)
    with pytest.raises(RetryAfter) as excinfo:
        await bot.send_message(USER, "x")
    assert excinfo.value.retry_after in (3, dtm.timedelta(seconds=3))
    assert api.calls[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }

    api.fail_next("sendMessage", count=2, status=500)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(USER, "x")
    api.fail_next("sendMessage", status=0)  # dropped connection
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "x")
    assert (await bot.send_message(USER, "finally")).text == "finally"


async def test_delay_slows_a_method(api: FakeTelegramAPI, bot: Bot) -> None:
    api.delay("sendMessage", 0.5)
    started = time.monotonic()
    await bot.send_message(USER, "slow")
    assert time.monotonic() - started >= 0.5
    api.delay("sendMessage", 0)
    started = time.monotonic()
    await bot.send_message(USER, "fast")
    assert time.monotonic() - started < 0.45


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("Nhóm máu <O+>", 'Unsupported start tag "o+"'),
        ("1 < 2", 'Unsupported start tag ""'),
        ("Tom & Jerry", 'Unescaped "&"'),
        ("<b>đậm", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", "Unmatched end tag"),
        ("dòng 1<br>dòng 2", 'Unsupported start tag "br"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
    ],
)
async def test_html_parse_errors(api: FakeTelegramAPI, bot: Bot, text: str, error: str) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(USER, text, parse_mode=ParseMode.HTML)
    # PTB strips "Bad Request: " and lower-cases the rest; the wire text is exact:
    description = api.calls[-1].response["description"]  # type: ignore[index]
    assert description.startswith("Bad Request: can't parse entities: ")
    assert error in description
    assert api.sent() == []


async def test_valid_html_becomes_text_and_entities(api: FakeTelegramAPI, bot: Bot) -> None:
    msg = await bot.send_message(
        USER,
        '🩸 <b>Xin chào</b> &lt;An&gt; &amp; <a href="https://hienmau.vn/?a=1&amp;b=2">link</a>'
        '<tg-spoiler>bí mật</tg-spoiler> <pre><code class="language-python">x = 1</code></pre>',
        parse_mode=ParseMode.HTML,
    )
    assert msg.text == "🩸 Xin chào <An> & linkbí mật x = 1"
    parsed = msg.parse_entities()
    assert sorted(parsed.values()) == sorted(["Xin chào", "link", "bí mật", "x = 1"])
    bold = next(e for e in msg.entities if e.type == "bold")
    assert bold.offset == 3  # the emoji counts as two UTF-16 code units
    link = next(e for e in msg.entities if e.type == "text_link")
    assert link.url == "https://hienmau.vn/?a=1&b=2"
    pre = next(e for e in msg.entities if e.type == "pre")
    assert pre.language == "python"


async def test_markdown_v2_and_limits(api: FakeTelegramAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"character '\.' is reserved"):
        await bot.send_message(USER, "Cảm ơn bạn.", parse_mode=ParseMode.MARKDOWN_V2)
    ok = await bot.send_message(USER, "*Cảm ơn* bạn\\!", parse_mode=ParseMode.MARKDOWN_V2)
    assert ok.text == "Cảm ơn bạn!"
    assert ok.entities[0].type == "bold"

    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "x" * 4097)
    assert (await bot.send_message(USER, "x" * 4096)).text == "x" * 4096
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(USER, "x", reply_markup=_inline(("Nút", "d" * 65)))
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "<b></b>", parse_mode="HTML")


@settings(max_examples=200, deadline=None, database=None)
@given(st.text())
def _check_escaped_round_trip(text: str) -> None:
    assert parse_formatted_text(html.escape(text, quote=False), "HTML") == (text, [])
    assert parse_formatted_text(escape_markdown(text, version=2), "MarkdownV2") == (text, [])


async def test_escaped_text_round_trips() -> None:
    _check_escaped_round_trip()


async def test_parse_formatted_text_unit() -> None:
    assert parse_formatted_text("a &#128512; b", "HTML") == ("a 😀 b", [])
    text, entities = parse_formatted_text("_nghiêng_ __gạch__ ||ẩn||", "MarkdownV2")
    assert text == "nghiêng gạch ẩn"
    assert [e["type"] for e in entities] == ["italic", "underline", "spoiler"]
    assert parse_formatted_text("*đậm* `code`", "Markdown")[1][0]["type"] == "bold"


# ------------------------------------------------------------------------------ webhook


@dataclass
class _Receiver:
    url: str = ""
    received: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[_Receiver]:
    state = _Receiver()

    async def handle(request: web.Request) -> web.Response:
        state.received.append((dict(request.headers), await request.json()))
        status = state.statuses.pop(0) if state.statuses else 200
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/tg-hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}/tg-hook"
    try:
        yield state
    finally:
        await runner.cleanup()


async def test_webhook_delivery_with_secret(
    api: FakeTelegramAPI, bot: Bot, receiver: _Receiver
) -> None:
    assert await bot.set_webhook(receiver.url, secret_token="s3cr3t-Token_1")
    info = await bot.get_webhook_info()
    assert info.url == receiver.url

    update = api.send_text(USER, "/start")
    await api.wait_for(lambda: receiver.received)
    headers, body = receiver.received[0]
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cr3t-Token_1"
    assert body == json.loads(json.dumps(update))
    assert Update.de_json(body, bot).message.text == "/start"  # type: ignore[union-attr]

    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await api.wait_for(lambda: not api.pending_updates)

    assert await bot.delete_webhook()
    api.send_text(USER, "polling again")
    [polled] = await bot.get_updates(timeout=1)
    assert polled.message is not None
    assert polled.message.text == "polling again"
    assert len(receiver.received) == 1


async def test_webhook_retries_until_success(
    api: FakeTelegramAPI, bot: Bot, receiver: _Receiver
) -> None:
    receiver.statuses = [500, 502]
    await bot.set_webhook(receiver.url)
    api.send_text(USER, "retry me")
    await api.wait_for(lambda: len(receiver.received) == 3, timeout=3)
    assert [a.status for a in api.webhook_attempts] == [500, 502, 200]
    assert "X-Telegram-Bot-Api-Secret-Token" not in receiver.received[0][0]
    assert (
        await bot.get_webhook_info()
    ).last_error_message == "Wrong response from the webhook: 502"


async def test_webhook_unreachable_is_bounded(api: FakeTelegramAPI, bot: Bot) -> None:
    api.webhook_retries = 2
    await bot.set_webhook("http://127.0.0.1:9/unreachable")
    api.send_text(USER, "lost")
    await api.wait_for(lambda: len(api.webhook_attempts) == 3, timeout=3)
    await api.wait_for(lambda: not api.pending_updates, timeout=1)
    assert all(a.status is None and a.error for a in api.webhook_attempts)


# ------------------------------------------------------------------------------ Application


async def test_application_polling_replies_to_start(api: FakeTelegramAPI) -> None:
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("hi")

    app.add_handler(CommandHandler("start", start))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        api.user(USER, "An")
        api.send_text(USER, "/start")
        [reply] = await api.wait_for_messages(USER, 1, timeout=3)
        assert reply.text == "hi"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert api.pending_updates == []  # the final getUpdates confirmed the update


async def test_wait_for_times_out_with_context(api: FakeTelegramAPI) -> None:
    with pytest.raises(TimeoutError, match="condition not met"):
        await api.wait_for_messages(USER, 1, timeout=0.1)


# ------------------------------------------------------------------------------ user files


async def test_a_users_document_is_downloadable(api: FakeTelegramAPI, bot: Bot) -> None:
    content = "Đợt;Ngày\n1;17/12/2026\n".encode()
    raw = api.send_document(USER, "kế hoạch.csv", content, caption="Kế hoạch năm")
    big = api.send_document(USER, "lớn.xlsx", b"\0" * (20 * 1024 * 1024 + 1))
    first, second = await bot.get_updates(timeout=0)
    assert first.update_id == raw["update_id"] and second.update_id == big["update_id"]
    message = first.message
    assert message is not None and message.document is not None
    document = message.document
    assert (document.file_name, document.mime_type, document.file_size) == (
        "kế hoạch.csv",
        "text/csv",
        len(content),
    )
    assert message.caption == "Kế hoạch năm"
    assert message.effective_attachment == document
    tg_file = await bot.get_file(document.file_id)
    assert tg_file.file_path is not None and tg_file.file_path.endswith(".csv")
    assert bytes(await tg_file.download_as_bytearray()) == content

    assert second.message is not None and second.message.document is not None
    with pytest.raises(BadRequest, match="File is too big"):  # Bot API downloads stop at 20 MB
        await bot.get_file(second.message.document.file_id)


async def test_chat_scoped_menus_are_set_and_deleted_on_their_own(
    api: FakeTelegramAPI, bot: Bot
) -> None:
    everyone = [BotCommand("start", "Bắt đầu")]
    volunteer = [*everyone, BotCommand("adddonor", "Đăng ký giúp")]
    scope = BotCommandScopeChat(USER)
    await bot.set_my_commands(everyone)
    await bot.set_my_commands(volunteer, scope=scope)
    await bot.set_my_commands(volunteer, scope=scope, language_code="en")
    chat = {"type": "chat", "chat_id": USER}
    assert [c["command"] for c in api.commands(chat, "en")] == ["start", "adddonor"]

    assert await bot.delete_my_commands(scope=scope)
    assert await bot.delete_my_commands(scope=scope, language_code="en")
    assert [c.params.get("scope") for c in api.calls_to("deleteMyCommands")] == [chat, chat]
    assert api.commands(chat) == api.commands(chat, "en") == []
    assert [c["command"] for c in api.commands()] == ["start"]  # the default menu stays
