"""The Telegram channel: a python-telegram-bot `Application` around the engine's `Dispatch`.

Every message or button press becomes one `Inbound`; every `Reply` is sent as HTML (escaped),
with an inline keyboard for choices and a one-time reply keyboard for contact/location requests.
Updates are handled one at a time, in order (PTB's default), so a chat's steps never overtake.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Protocol, TypeVar

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from channels.telegram.render import (
    CAPTION_LIMIT,
    html_chunks,
    inline_keyboard,
    request_keyboard,
    to_inbound,
)
from handlers import COMMANDS
from handlers.messages import Dispatch, Inbound, InboundKind, Reply
from locales import LANGUAGES, _, use_language

log = logging.getLogger(__name__)

T = TypeVar("T")
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove

SEND_ATTEMPTS = 3  # the first try and two retries after RetryAfter
MAX_RETRY_WAIT = 60.0  # seconds; a longer flood wait gives up on the message


class TelegramSettings(Protocol):
    """What the channel needs from `[telegram]` (bot.config.TelegramConfig fits)."""

    @property
    def token(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def webhook_url(self) -> str: ...
    @property
    def webhook_secret(self) -> str: ...
    @property
    def listen(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def path(self) -> str: ...


def api_urls(base_url: str) -> tuple[str, str]:
    """`base_url` and the matching `base_file_url` ('http://h:8081/bot' -> '.../file/bot')."""
    root = base_url.rstrip("/")
    if root.endswith("/bot"):
        root = root[: -len("/bot")]
    return f"{root}/bot", f"{root}/file/bot"


def bot_commands(language: str) -> list[BotCommand]:
    """The menu for everyone (commands without a role), translated into `language`."""
    with use_language(language):
        return [
            BotCommand(name.lower(), _(command.description))
            for name, command in COMMANDS.items()
            if command.role is None
        ]


def _retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


async def call_with_retry(make: Callable[[], Awaitable[T]]) -> T:
    """Run one Bot API call; on RetryAfter wait as told and try again (twice at most)."""
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await make()
        except RetryAfter as error:
            wait = _retry_seconds(error)
            if attempt == SEND_ATTEMPTS or wait > MAX_RETRY_WAIT:
                raise
            log.warning("telegram flood control: retrying in %.1fs", wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


class TelegramChannel:
    def __init__(self, config: TelegramSettings, dispatch: Dispatch) -> None:
        self.config = config
        self.dispatch = dispatch
        self.updates_handled = 0  # updates fully handled, replies sent (tests wait on it)
        self._keyboard_chats: set[int] = set()  # chats showing a reply keyboard of ours
        builder = ApplicationBuilder().token(config.token)
        if config.base_url:
            base_url, base_file_url = api_urls(config.base_url)
            builder = builder.base_url(base_url).base_file_url(base_file_url)
        self.application = builder.build()
        self.application.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & ~filters.ChatType.CHANNEL, self._on_update)
        )
        self.application.add_handler(CallbackQueryHandler(self._on_update))
        self.application.add_error_handler(self._on_error)

    @property
    def bot(self) -> Bot:
        return self.application.bot

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect (getMe), publish the command menus, then poll or listen for the webhook."""
        app = self.application
        await app.initialize()
        await self.set_commands()
        await app.start()
        updater = app.updater
        assert updater is not None
        if self.config.mode == "webhook":
            await updater.start_webhook(
                listen=self.config.listen,
                port=self.config.port,
                url_path=self.config.path,
                webhook_url=self.config.webhook_url,
                secret_token=self.config.webhook_secret or None,
            )
        else:
            await updater.start_polling(drop_pending_updates=False)
        log.info("telegram: @%s is running (%s)", self.bot.username, self.config.mode)

    async def stop(self) -> None:
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def set_commands(self) -> None:
        """setMyCommands for the default language (vi, no language_code) and the others."""
        for language in LANGUAGES:
            code = None if language == LANGUAGES[0] else language
            try:
                await call_with_retry(
                    partial(self.bot.set_my_commands, bot_commands(language), language_code=code)
                )
            except TelegramError:
                log.exception("telegram: setMyCommands failed for %s", language)

    # ------------------------------------------------------------------ updates

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await self._handle(update)
        finally:
            self.updates_handled += 1

    async def _handle(self, update: Update) -> None:
        inbound = to_inbound(update, self.bot.username)
        query = update.callback_query
        if query is not None:
            await self._settle_press(query.id, query.message)
        if inbound is None:
            return
        replies = await self.dispatch(inbound)
        chat = update.effective_chat
        assert chat is not None
        try:
            await self.send(chat.id, replies, inbound)
        except Forbidden as error:
            log.warning("telegram: chat %s cannot be reached: %s", chat.id, error.message)

    async def _settle_press(self, query_id: str, message: object) -> None:
        """Answer the callback (stops the spinner), then take the keyboard off the message."""
        try:
            await call_with_retry(partial(self.bot.answer_callback_query, query_id))
        except TelegramError as error:
            log.warning("telegram: answerCallbackQuery failed: %s", error)
        if not isinstance(message, Message) or message.reply_markup is None:
            return
        try:
            await call_with_retry(partial(message.edit_reply_markup, reply_markup=None))
        except BadRequest as error:
            if "not modified" not in error.message.lower():
                log.warning("telegram: could not remove a pressed keyboard: %s", error)
        except Forbidden as error:
            log.warning("telegram: chat %s cannot be reached: %s", message.chat_id, error)

    async def send(self, chat_id: int, replies: list[Reply], inbound: Inbound) -> None:
        """Render and send the replies in order; Forbidden propagates to the caller."""
        private = chat_id > 0
        shows_keyboard = private and any(request_keyboard(r) for r in replies)
        remove = not shows_keyboard and (
            chat_id in self._keyboard_chats or inbound.kind is InboundKind.CONTACT
        )
        for reply in replies:
            markup: Markup | None = inline_keyboard(reply)
            if markup is None and private:
                markup = request_keyboard(reply)
            if isinstance(markup, ReplyKeyboardMarkup):
                self._keyboard_chats.add(chat_id)
            elif markup is None and remove:
                markup = ReplyKeyboardRemove()
                remove = False
                self._keyboard_chats.discard(chat_id)
            await self._send_reply(chat_id, reply, markup)

    async def _send_reply(self, chat_id: int, reply: Reply, markup: Markup | None) -> None:
        chunks = html_chunks(reply.text) if reply.text.strip() else []
        attachment = reply.attachment
        caption: str | None = None
        if (
            attachment is not None
            and markup is None
            and len(chunks) == 1
            and len(chunks[0]) <= CAPTION_LIMIT
        ):
            caption = chunks.pop()
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            await call_with_retry(
                partial(
                    self.bot.send_message,
                    chat_id,
                    chunk,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup if last else None,
                )
            )
        if attachment is not None:
            await call_with_retry(
                partial(
                    self.bot.send_document,
                    chat_id,
                    attachment.content,
                    filename=attachment.filename,
                    caption=caption,
                    parse_mode=ParseMode.HTML if caption else None,
                )
            )

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update):
            chat = update.effective_chat
            user = update.effective_user
            where = (
                f"update {update.update_id} "
                f"(chat {chat.id if chat else '-'}, user {user.id if user else '-'})"
            )
        else:
            where = repr(update)
        log.error("telegram: error while handling %s", where, exc_info=context.error)
