"""The Zalo channel: Zalo Bot Platform updates in, the engine's replies out as numbered menus.

Updates come by polling (getUpdates gives one update at a time, and a 408 when idle) or by the
webhook; either way they queue and are handled one at a time, in order, so a chat's steps
never overtake. A message id already taken is skipped (webhooks may be delivered twice). The
menu a chat was shown is kept by the engine (`hooks`), so "2" keeps its meaning across a
restart and for messages `jobs tick` sent. Images go as photos only when this process serves
them at a public URL (`media_url`, or `webhook_url` + "/media" in webhook mode). A picture a
user sends (a certificate) is fetched from the URL Zalo gives, up to `PHOTO_LIMIT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from channels.zalo import wire
from channels.zalo.client import (
    BadRequest,
    Forbidden,
    TooManyRequests,
    Unauthorized,
    ZaloClient,
    ZaloError,
)
from channels.zalo.render import CHANNEL, Outgoing, Photo, Text, chosen, render, to_inbound
from channels.zalo.webhook import MediaStore, ZaloServer
from handlers import messages
from handlers.messages import Attachment, Button, ChatType, Dispatch, InboundKind, Reply
from locales import DEFAULT_LANGUAGE, use_language

log = logging.getLogger(__name__)

T = TypeVar("T")

SEND_ATTEMPTS = 3  # the first try and two more after a 429
MAX_RETRY_WAIT = 60.0  # seconds; a longer wait gives up on the message
DEFAULT_RETRY_AFTER = 5.0  # seconds, when a 429 does not say
SEEN_MESSAGES = 10_000  # message ids remembered against replays
MAX_BACKOFF = 30.0  # seconds between failed polls, at most
PHOTO_LIMIT = 5 * 1024 * 1024  # bytes of an image message fetched, at most (a certificate)


class ZaloSettings(Protocol):
    """What the channel needs from `[zalo]` (bot.config.ZaloConfig fits)."""

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
    @property
    def media_url(self) -> str: ...
    @property
    def poll_timeout(self) -> int: ...


class ZaloHooks(Protocol):
    """What the channel asks of the engine besides `dispatch` (handlers.engine.Engine fits)."""

    async def unreachable(self, channel: str, chat_id: str) -> None: ...
    async def menu(self, channel: str, chat_id: str) -> tuple[Button, ...]: ...
    async def show_menu(self, channel: str, chat_id: str, choices: tuple[Button, ...]) -> str: ...


class _MemoryHooks:
    """Menus in memory, for a channel run without the engine (tests, tools)."""

    def __init__(self) -> None:
        self.menus: dict[str, tuple[Button, ...]] = {}

    async def unreachable(self, channel: str, chat_id: str) -> None:
        log.info("zalo: chat %s is unreachable", chat_id)

    async def menu(self, channel: str, chat_id: str) -> tuple[Button, ...]:
        return self.menus.get(chat_id, ())

    async def show_menu(self, channel: str, chat_id: str, choices: tuple[Button, ...]) -> str:
        self.menus[chat_id] = choices
        return DEFAULT_LANGUAGE


def media_base(config: ZaloSettings) -> str:
    """The public URL of `<path>/media` on our server, '' when there is none."""
    if config.media_url:
        return config.media_url.rstrip("/")
    if config.mode == "webhook" and config.webhook_url:
        return config.webhook_url.rstrip("/") + "/media"
    return ""


def last_menu(replies: list[Reply]) -> tuple[Button, ...]:
    """The choices a chat sees last after these replies (none if the last batch has none)."""
    menus = [reply.choices for reply in replies if reply.choices]
    return menus[-1] if menus else ()


class ZaloChannel:
    def __init__(
        self,
        config: ZaloSettings,
        dispatch: Dispatch,
        *,
        hooks: ZaloHooks | None = None,
        client: ZaloClient | None = None,
        backoff: float = 1.0,
    ) -> None:
        self.config = config
        self.dispatch = dispatch
        self.hooks: ZaloHooks = hooks or _MemoryHooks()
        self.client = client or ZaloClient(config.token, config.base_url)
        self.media = MediaStore()
        self.updates_handled = 0  # updates taken from the queue and fully handled
        self.updates_ignored = 0  # unknown events, malformed bodies, replays
        self.bot_name = ""
        self.backoff = backoff  # seconds after a failed poll, doubling up to MAX_BACKOFF
        self._queue: asyncio.Queue[wire.Update] = asyncio.Queue()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._server: ZaloServer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._photos = False  # set when this process serves images at `media_base`

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Check the token (getMe), then listen for the webhook or start polling."""
        config = self.config
        me = await self.client.get_me()
        self.bot_name = me.account_name
        webhook = config.mode == "webhook"
        if webhook or config.media_url:
            self._server = ZaloServer(
                listen=config.listen,
                port=config.port,
                path=config.path,
                secret=config.webhook_secret if webhook else "",
                accept=self.accept,
                media=self.media,
            )
            await self._server.start()
            self._photos = bool(media_base(config))
        self._tasks.append(asyncio.create_task(self._work(), name="zalo-updates"))
        if webhook:
            await self.client.set_webhook(config.webhook_url, config.webhook_secret)
        else:
            await self.client.delete_webhook()  # getUpdates stays silent while one is set
            self._tasks.append(asyncio.create_task(self._poll(), name="zalo-polling"))
        log.info("zalo: %s is running (%s)", self.bot_name or "the bot", config.mode)

    @property
    def server_port(self) -> int | None:
        return self._server.port if self._server is not None else None

    async def open_for_sending(self) -> None:
        """Ready to `deliver` without taking updates (`hienmau jobs tick`): images go as
        text, since no server of ours answers at the media URL."""

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._server is not None:
            await self._server.stop()
            self._server = None
        await self.client.close()

    # ------------------------------------------------------------------ updates in

    def accept(self, body: Any) -> None:
        """Take one update (a webhook body or a getUpdates result): queue it, or log why not."""
        try:
            update = body if isinstance(body, wire.Update) else wire.parse_update(body)
        except wire.MalformedUpdate as error:
            self.updates_ignored += 1
            log.warning("zalo: ignored an update: %s", error)
            return
        if not update.known or update.message is None:
            self.updates_ignored += 1
            log.info("zalo: ignored an event the bot does not know: %r", update.event_name)
            return
        message_id = update.message.message_id
        if message_id in self._seen:
            self.updates_ignored += 1
            log.info("zalo: message %s came again: handled once", message_id)
            return
        self._seen[message_id] = None
        while len(self._seen) > SEEN_MESSAGES:
            self._seen.popitem(last=False)
        self._queue.put_nowait(update)

    async def _poll(self) -> None:
        backoff = self.backoff
        while True:
            try:
                update = await self.client.get_updates(self.config.poll_timeout)
            except wire.MalformedUpdate as error:
                self.updates_ignored += 1
                log.warning("zalo: ignored an update: %s", error)
                continue
            except ZaloError as error:
                level = logging.ERROR if isinstance(error, Unauthorized) else logging.WARNING
                log.log(level, "zalo: getUpdates failed: %s; again in %.0f s", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = self.backoff
            if update is not None:
                self.accept(update)

    async def _work(self) -> None:
        while True:
            update = await self._queue.get()
            try:
                await self._handle(update)
            except Exception:
                message = update.message
                log.exception(
                    "zalo: error while handling %s %s (chat %s, user %s)",
                    update.event_name,
                    message.message_id if message else "-",
                    message.chat_id if message else "-",
                    message.sender.id if message else "-",
                )
            finally:
                self.updates_handled += 1

    async def _handle(self, update: wire.Update) -> None:
        inbound = to_inbound(update)
        if inbound is None:
            return
        if inbound.kind is InboundKind.TEXT:
            option = chosen(inbound.payload, await self.hooks.menu(CHANNEL, inbound.chat_id))
            if option is not None:
                inbound = replace(inbound, kind=InboundKind.BUTTON, payload=option.payload)
        if inbound.kind is InboundKind.PHOTO and update.message and update.message.photo_url:
            content = await self.client.fetch(update.message.photo_url, PHOTO_LIMIT)
            if content is not None:
                attachment = Attachment("photo.jpg", content, "image/jpeg")
                inbound = replace(inbound, attachment=attachment)
        replies = await self.dispatch(inbound)
        try:
            await self.send(inbound.chat_id, replies)
        except Forbidden as error:
            log.warning("zalo: chat %s cannot be reached: %s", inbound.chat_id, error)
            if inbound.chat_type is ChatType.PRIVATE:
                await self.hooks.unreachable(CHANNEL, inbound.chat_id)
        except ZaloError as error:
            log.warning("zalo: could not answer chat %s: %s", inbound.chat_id, error)

    # ------------------------------------------------------------------ replies out

    async def send(self, chat_id: str, replies: list[Reply]) -> None:
        """Render and send replies in order, remembering the menu they end with."""
        if not replies:
            return  # nothing new shown: the last menu keeps its meaning
        language = await self.hooks.show_menu(CHANNEL, chat_id, last_menu(replies))
        with use_language(language):
            outgoing = [item for reply in replies for item in render(reply, photos=self._photos)]
        for item in outgoing:
            await self._send_one(chat_id, item)

    async def deliver(self, chat_id: str, replies: list[Reply]) -> None:
        """Send a message the bot starts itself (an outbox row), errors mapped for the sender."""
        try:
            await self.send(chat_id, replies)
        except TooManyRequests as error:
            raise messages.RetryAfter(error.retry_after or DEFAULT_RETRY_AFTER) from error
        except Forbidden as error:
            raise messages.Unreachable(str(error)) from error
        except BadRequest as error:
            if "not found" in error.description.lower():  # "chat not found", "user not found"
                raise messages.Unreachable(str(error)) from error
            raise messages.DeliveryError(str(error)) from error
        except ZaloError as error:
            raise messages.DeliveryError(str(error)) from error

    async def _send_one(self, chat_id: str, item: Outgoing) -> None:
        if isinstance(item, Text):
            await self._retrying(lambda: self.client.send_message(chat_id, item.text))
            return
        assert isinstance(item, Photo)
        url = f"{media_base(self.config)}/{self.media.put(item.image)}.png"
        try:
            await self._retrying(lambda: self.client.send_photo(chat_id, url, item.caption))
        except BadRequest as error:  # Zalo could not fetch or read it: the text still goes
            log.warning("zalo: a photo to chat %s was refused: %s", chat_id, error)
            if item.caption:
                await self._retrying(lambda: self.client.send_message(chat_id, item.caption))

    async def _retrying(self, make: Callable[[], Awaitable[T]]) -> T:
        """One call; on 429 wait as told and try again (twice at most)."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return await make()
            except TooManyRequests as error:
                wait = error.retry_after if error.retry_after is not None else 1.0
                if attempt == SEND_ATTEMPTS or wait > MAX_RETRY_WAIT:
                    raise
                log.warning("zalo: too many requests: retrying in %.1fs", wait)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")
