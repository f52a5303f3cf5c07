"""The Telegram channel: a python-telegram-bot `Application` around the engine's `Dispatch`.

Every message or button press becomes one `Inbound`; every `Reply` is sent as HTML (escaped),
with an inline keyboard for choices and a one-time reply keyboard for contact/location requests.
Up to `CONCURRENT_CHATS` chats are handled at once, each chat's updates one at a time and in
order (`ordering.ChatOrderedProcessor`): a chat's steps never overtake, and a chat waiting on the
database or the Bot API, or flooding the bot, holds up no other.
Documents up to `DOCUMENT_LIMIT` are downloaded before the engine sees them, unless the
sender is over the inbound limit (`EngineHooks.may_fetch`). With `hooks` (the
engine), a 403 marks the chat unreachable, and people holding a role get their own command menu,
refreshed by polling the database (roles are granted from the CLI, in another process).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import mimetypes
import warnings
from collections.abc import Awaitable, Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import replace
from functools import partial
from typing import Protocol, TypeVar

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    Document,
    InlineKeyboardMarkup,
    Message,
    PhotoSize,
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

from channels.telegram.ordering import BacklogQueue, ChatOrderedProcessor
from channels.telegram.render import (
    CAPTION_LIMIT,
    CHANNEL,
    html_chunks,
    inline_keyboard,
    request_keyboard,
    to_inbound,
)
from handlers import COMMANDS, messages
from handlers.messages import Attachment, Dispatch, Inbound, InboundKind, Reply
from locales import LANGUAGES, _, use_language
from services.roles import Role

log = logging.getLogger(__name__)

T = TypeVar("T")
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove

SEND_ATTEMPTS = 3  # the first try and two retries after RetryAfter
MAX_RETRY_WAIT = 60.0  # seconds; a longer flood wait gives up on the message
DOCUMENT_LIMIT = 10 * 1024 * 1024  # bytes; a bigger document reaches the engine without content
PHOTO_LIMIT = 5 * 1024 * 1024  # bytes; the largest size of a photo (Telegram's are ~0.3 MB)
CONCURRENT_CHATS = 8  # chats handled at the same time (PostgreSQL's pool has 5 + 10 connections)
BACKLOG_LIMIT = 256  # updates accepted but not yet answered; more wait in Telegram (BacklogQueue)


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


class EngineHooks(Protocol):
    """What the channel asks of the engine besides `dispatch` (handlers.engine.Engine fits)."""

    async def unreachable(self, channel: str, chat_id: str) -> None: ...
    def may_fetch(self, channel: str, user_id: str) -> bool: ...
    async def role_chats(self, channel: str) -> Mapping[str, frozenset[Role]]: ...


def api_urls(base_url: str) -> tuple[str, str]:
    """`base_url` and the matching `base_file_url` ('http://h:8081/bot' -> '.../file/bot')."""
    root = base_url.rstrip("/")
    if root.endswith("/bot"):
        root = root[: -len("/bot")]
    return f"{root}/bot", f"{root}/file/bot"


def bot_commands(language: str, roles: AbstractSet[Role] = frozenset()) -> list[BotCommand]:
    """The menu for everyone plus the commands of `roles`, translated into `language`."""
    with use_language(language):
        return [
            BotCommand(name.lower(), _(command.description))
            for name, command in COMMANDS.items()
            if command.role is None or command.role in roles
        ]


def _language_code(language: str) -> str | None:
    """The first language is the menu for everyone (no language_code), the others by code."""
    return None if language == LANGUAGES[0] else language


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


async def _once(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


class TelegramChannel:
    def __init__(
        self,
        config: TelegramSettings,
        dispatch: Dispatch,
        *,
        hooks: EngineHooks | None = None,
        menu_sync_seconds: float = 60.0,
    ) -> None:
        self.config = config
        self.dispatch = dispatch
        self.hooks = hooks
        self.menu_sync_seconds = menu_sync_seconds
        self.updates_handled = 0  # updates fully handled, replies sent (tests wait on it)
        self._keyboard_chats: set[int] = set()  # chats showing a reply keyboard of ours
        self._role_menus: dict[str, frozenset[Role]] = {}  # chat id -> roles its menu shows
        self._role_menus_lock = asyncio.Lock()  # one sync at a time, or a change is sent twice
        self._menu_sync: asyncio.Task[None] | None = None
        builder = (
            ApplicationBuilder()
            .token(config.token)
            .concurrent_updates(ChatOrderedProcessor(CONCURRENT_CHATS))
            .update_queue(BacklogQueue(BACKLOG_LIMIT))
        )
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
        if self.hooks is not None:
            await self._sync_role_menus_logged()
            self._menu_sync = asyncio.create_task(self._sync_role_menus_forever())
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

    async def open_for_sending(self) -> None:
        """Connect without taking updates (for `hienmau jobs tick`); `stop()` disconnects."""
        await self.application.initialize()

    async def deliver(self, chat_id: str, replies: list[Reply]) -> None:
        """Send a message the bot starts itself (an outbox row), errors mapped for the sender."""
        chat = int(chat_id)
        try:
            for reply in replies:
                await self._send_reply(chat, reply, inline_keyboard(reply), retry=False)
        except RetryAfter as error:
            raise messages.RetryAfter(_retry_seconds(error)) from error
        except Forbidden as error:
            raise messages.Unreachable(error.message) from error
        except BadRequest as error:
            if "chat not found" in error.message.lower():
                raise messages.Unreachable(error.message) from error
            raise messages.DeliveryError(error.message) from error
        except TelegramError as error:
            raise messages.DeliveryError(error.message) from error

    async def stop(self) -> None:
        if self._menu_sync is not None:
            self._menu_sync.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._menu_sync
            self._menu_sync = None
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def set_commands(self) -> None:
        """setMyCommands for the default language (vi, no language_code) and the others."""
        for language in LANGUAGES:
            code = _language_code(language)
            try:
                await call_with_retry(
                    partial(self.bot.set_my_commands, bot_commands(language), language_code=code)
                )
            except TelegramError:
                log.exception("telegram: setMyCommands failed for %s", language)

    async def sync_role_menus(self) -> None:
        """Give each private chat whose roles changed since the last sync its own menu; a chat
        left without a role gets the menu for everyone back (deleteMyCommands on its scope)."""
        assert self.hooks is not None
        async with self._role_menus_lock:
            current = {
                chat: roles
                for chat, roles in (await self.hooks.role_chats(CHANNEL)).items()
                if chat.isdigit()  # private chats only: a group must not show anyone's roles
            }
            for chat, roles in current.items():
                if self._role_menus.get(chat) != roles and await self._set_chat_menu(chat, roles):
                    self._role_menus[chat] = roles
            for chat in [c for c in self._role_menus if c not in current]:
                if await self._set_chat_menu(chat, frozenset()):
                    del self._role_menus[chat]

    async def _set_chat_menu(self, chat: str, roles: frozenset[Role]) -> bool:
        """Set (or with no roles, delete) one chat's menus; False when worth trying again."""
        scope = BotCommandScopeChat(int(chat))
        try:
            for language in LANGUAGES:
                code = _language_code(language)
                if roles:
                    commands = bot_commands(language, roles)
                    call = partial(
                        self.bot.set_my_commands, commands, scope=scope, language_code=code
                    )
                else:
                    call = partial(self.bot.delete_my_commands, scope=scope, language_code=code)
                await call_with_retry(call)
        except (BadRequest, Forbidden) as error:
            log.warning("telegram: no command menu for chat %s: %s", chat, error.message)
            return True  # it would fail the same way next time
        except TelegramError as error:
            log.warning("telegram: command menu for chat %s not set yet: %s", chat, error)
            return False
        return True

    async def _sync_role_menus_logged(self) -> None:
        try:
            await self.sync_role_menus()
        except Exception:
            log.exception("telegram: syncing the role menus failed")

    async def _sync_role_menus_forever(self) -> None:
        while True:
            await asyncio.sleep(self.menu_sync_seconds)
            await self._sync_role_menus_logged()

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
        message = update.message
        if (
            inbound.kind is InboundKind.DOCUMENT
            and message
            and message.document
            and self._fetches(inbound)
        ):
            inbound = await self._with_document(inbound, message.document)
        if (
            inbound.kind is InboundKind.PHOTO
            and message
            and message.photo
            and self._fetches(inbound)
        ):
            inbound = await self._with_photo(inbound, message.photo[-1])
        replies = await self.dispatch(inbound)
        chat = update.effective_chat
        assert chat is not None
        try:
            await self.send(chat.id, replies, inbound)
        except Forbidden as error:
            await self._unreachable(chat.id, error)

    def _fetches(self, inbound: Inbound) -> bool:
        """Download what this inbound carries? Not for a user over the inbound limit."""
        return self.hooks is None or self.hooks.may_fetch(inbound.channel, inbound.user_id)

    async def _with_document(self, inbound: Inbound, document: Document) -> Inbound:
        """The inbound with the file attached; a file over DOCUMENT_LIMIT stays unloaded."""
        if document.file_size is not None and document.file_size > DOCUMENT_LIMIT:
            return inbound
        try:
            file = await call_with_retry(partial(self.bot.get_file, document.file_id))
        except BadRequest as error:  # "file is too big" for the Bot API (over 20 MB)
            log.info("telegram: document %s not downloaded: %s", document.file_id, error)
            return inbound
        if file.file_size is not None and file.file_size > DOCUMENT_LIMIT:
            return inbound
        content = bytes(await file.download_as_bytearray())
        filename = document.file_name or "document"
        mime_type = (
            document.mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        )
        return replace(inbound, attachment=Attachment(filename, content, mime_type))

    async def _with_photo(self, inbound: Inbound, photo: PhotoSize) -> Inbound:
        """The inbound with the largest size of a photo attached (up to PHOTO_LIMIT)."""
        if photo.file_size is not None and photo.file_size > PHOTO_LIMIT:
            return inbound
        try:
            file = await call_with_retry(partial(self.bot.get_file, photo.file_id))
        except BadRequest as error:
            log.info("telegram: photo %s not downloaded: %s", photo.file_id, error)
            return inbound
        if file.file_size is not None and file.file_size > PHOTO_LIMIT:
            return inbound
        content = bytes(await file.download_as_bytearray())
        attachment = Attachment(f"photo-{photo.file_unique_id}.jpg", content, "image/jpeg")
        return replace(inbound, attachment=attachment)

    async def _unreachable(self, chat_id: int, error: Forbidden) -> None:
        """A private chat that refuses our messages (blocked bot, deleted account) is marked
        unreachable; the mark goes when the person writes again. A group that removed the bot
        says nothing about its members."""
        log.warning("telegram: chat %s cannot be reached: %s", chat_id, error.message)
        if self.hooks is not None and chat_id > 0:
            await self.hooks.unreachable(CHANNEL, str(chat_id))

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
            await self._unreachable(message.chat_id, error)

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

    async def _send_reply(
        self, chat_id: int, reply: Reply, markup: Markup | None, *, retry: bool = True
    ) -> None:
        """Send one reply; `retry` waits out a 429 here (answers in a chat), else it is raised
        (the outbox sender re-queues the message and keeps the chat's pace)."""
        call = call_with_retry if retry else _once
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
            await call(
                partial(
                    self.bot.send_message,
                    chat_id,
                    chunk,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup if last else None,
                )
            )
        if attachment is not None:
            await call(
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
