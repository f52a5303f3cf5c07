"""A fake Zalo Bot Platform API server for end-to-end tests, on 127.0.0.1.

It speaks the wire format as the public docs and clients that measured the live API describe
it (DOMAIN.md, Channels):

* every method is a `POST` to `/bot<TOKEN>/<method>` with a JSON or form body; multipart bodies
  are not read (the parameters are then missing), so sendPhoto takes only a URL, which the fake
  fetches when it is on a loopback host (and never elsewhere);
* answers are `{ok, result, error_code, description}`; errors too come with HTTP 200 and
  `ok: false` (400 bad parameters, 401 bad token, 404 unknown method); successes carry
  `error_code: 0`;
* getUpdates hands out one update (an object, not a list) and forgets it; with none within
  `timeout` seconds it answers `{ok: false, error_code: 408, description: "Request timeout"}`
  with HTTP `idle_status` (200 or 408, both seen live); while a webhook is set it stays silent;
  two pollers take turns stealing each other's updates;
* a webhook gets one event per POST, wrapped as `{ok: true, result: {event_name, message}}`
  (`wrap_webhooks=False` sends it bare), with header `X-Bot-Api-Secret-Token`;
* texts and captions are 1 to 2,000 characters (counted in UTF-16 units, to be strict).

Assumptions where nothing is documented, kept in one place: writing to a chat that never wrote
to the bot answers 400 "Chat not found"; a blocked chat answers 403 (`block_user`).

User actions (`FakeZaloUser.send_text` ...) are synchronous and return the update; `inject`
queues any raw body (replays, unknown events, broken updates).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

__all__ = ["Call", "FakeZaloAPI", "FakeZaloUser", "SentMessage", "WebhookAttempt", "ZaloApiError"]

JSONDict = dict[str, Any]
T = TypeVar("T")

MAX_TEXT = 2000
MAX_POLL_TIMEOUT = 60.0
SECRET_HEADER = "X-Bot-Api-Secret-Token"
SENDING = frozenset({"sendMessage", "sendPhoto", "sendSticker", "sendChatAction"})
EVENTS = {
    "text": "message.text.received",
    "image": "message.image.received",
    "sticker": "message.sticker.received",
    "voice": "message.voice.received",
    "unsupported": "message.unsupported.received",
}


class ZaloApiError(Exception):
    """An error answer: `{ok: false, error_code, description}` with HTTP `http_status`."""

    def __init__(
        self,
        code: int,
        description: str,
        *,
        http_status: int = 200,
        retry_after: int | None = None,
        html: bool = False,
        disconnect: bool = False,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.http_status = http_status
        self.retry_after = retry_after
        self.html = html
        self.disconnect = disconnect

    def to_json(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad_request(description: str = "Bad Request") -> ZaloApiError:
    return ZaloApiError(400, description)


@dataclass
class Call:
    method: str
    params: JSONDict
    status: int = 0  # HTTP status; 0 while unanswered
    response: JSONDict | None = None  # None for HTML answers and dropped connections

    @property
    def ok(self) -> bool:
        return bool(self.response and self.response.get("ok") is True)

    @property
    def error_code(self) -> int | None:
        return None if self.response is None else self.response.get("error_code")


@dataclass
class SentMessage:
    method: str  # sendMessage | sendPhoto | sendSticker
    chat_id: str
    message_id: str
    date: int  # milliseconds
    text: str | None = None  # the text, or a photo's caption
    photo_url: str | None = None
    photo: bytes | None = None  # what the fake fetched from photo_url
    sticker: str | None = None


@dataclass
class WebhookAttempt:
    message_id: str | None
    url: str
    status: int | None
    error: str | None = None
    body: JSONDict = field(default_factory=dict)


class _Signal:
    """Wakes every waiter once per `fire`."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _now_ms() -> int:
    return int(time.time() * 1000)


class FakeZaloUser:
    """Acts as one Zalo user writing to the bot (in private, or in a group)."""

    def __init__(self, api: FakeZaloAPI, user_id: str, display_name: str) -> None:
        self.api = api
        self.id = user_id
        self.display_name = display_name

    def message(
        self, kind: str = "text", text: str | None = None, group_id: str | None = None
    ) -> JSONDict:
        """The update of a new message from this user (not queued)."""
        message: JSONDict = {
            "message_id": self.api.new_message_id(),
            "from": {"id": self.id, "display_name": self.display_name, "is_bot": False},
            "chat": {"id": group_id or self.id, "chat_type": "GROUP" if group_id else "PRIVATE"},
            "date": _now_ms(),
        }
        if text is not None:
            message["text"] = text
        if kind == "image":
            message["photo_url"] = "https://example.invalid/photo.jpg"
        if kind == "sticker":
            message["sticker"] = "0e078a2fb66a5f34067b"
        return {"event_name": EVENTS[kind], "message": message}

    def send_text(self, text: str, *, group_id: str | None = None) -> JSONDict:
        return self.api.inject(self.message("text", text, group_id))

    def send_image(self, data: bytes | None = None) -> JSONDict:
        """An image message; with `data`, its URL serves those bytes (else it leads nowhere)."""
        update = self.message("image")
        if data is not None:
            name = f"{update['message']['message_id']}.jpg"
            self.api.images[name] = data
            update["message"]["photo_url"] = f"{self.api.base_url}/images/{name}"
        return self.api.inject(update)

    def send_sticker(self) -> JSONDict:
        return self.api.inject(self.message("sticker"))

    def send_voice(self) -> JSONDict:
        return self.api.inject(self.message("voice"))


class FakeZaloAPI:
    """In-process fake of the Zalo Bot Platform API (see the module docstring)."""

    def __init__(
        self,
        token: str = "1234567890:fake-zalo-token-abc",
        *,
        account_name: str = "bot.HienMau",
        idle_status: int = 200,
        wrap_webhooks: bool = True,
        webhook_retries: int = 2,
        webhook_retry_delay: float = 0.05,
        webhook_timeout: float = 5.0,
    ) -> None:
        bot_id, sep, secret = token.partition(":")
        if not (sep and bot_id.isdigit() and secret):
            raise ValueError("token must look like '<digits>:<secret>'")
        self.token = token
        self.bot_id = bot_id
        self.account_name = account_name
        self.idle_status = idle_status
        self.wrap_webhooks = wrap_webhooks
        self.webhook_retries = webhook_retries
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout

        self.calls: list[Call] = []
        # Pictures users send, served at /images/<name> as Zalo's CDN serves them.
        self.images: dict[str, bytes] = {}
        self.webhook_attempts: list[WebhookAttempt] = []
        self._updates: list[JSONDict] = []
        self._sent: list[SentMessage] = []
        self._seen_chats: set[str] = set()
        self._blocked: dict[str, str] = {}
        self._failures: dict[str, list[ZaloApiError]] = {}
        self._delays: dict[str, float] = {}
        self._once_delays: dict[str, list[float]] = {}
        self._webhook: JSONDict | None = None
        self._webhook_updated = _now_ms()
        self._ids = itertools.count(1)
        self._changed = _Signal()
        self._updates_signal = _Signal()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._port: int | None = None
        self._handlers: dict[str, Callable[[JSONDict, web.Request], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendSticker": self._send_sticker,
            "sendChatAction": self._send_chat_action,
        }

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeZaloAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle_http)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._session = aiohttp.ClientSession()
        self._webhook_task = asyncio.create_task(self._webhook_loop(), name="fake-zalo-webhook")

    async def stop(self) -> None:
        self._closing.set()
        self._updates_signal.fire()
        self._changed.fire()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = self._session = self._webhook_task = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeZaloAPI is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """The value for `[zalo] base_url`."""
        return f"http://127.0.0.1:{self.port}"

    # ---------------------------------------------------------------- HTTP layer

    async def _handle_http(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["tail"]
        if path.startswith("images/"):
            image = self.images.get(path.removeprefix("images/"))
            if image is None:
                return web.Response(status=404)
            return web.Response(body=image, content_type="image/jpeg")
        token, slash, method = path.removeprefix("bot").partition("/")
        if not path.startswith("bot") or not slash or not method:
            return _json(ZaloApiError(404, "Not Found").to_json())
        if token != self.token:
            return _json(ZaloApiError(401, "Unauthorized").to_json())
        params = await self._read_params(request)
        call = Call(method, params)
        self.calls.append(call)
        self._changed.fire()
        handler = self._handlers.get(method)
        try:
            if handler is None:
                raise ZaloApiError(404, "Not Found")
            await self._apply_delay(method)
            self._raise_injected(method)
            self._raise_if_blocked(method, params)
            result = await handler(params, request)
            body: JSONDict = {"ok": True, "result": result, "error_code": 0}
            call.status, call.response = 200, body
            response: web.StreamResponse = _json(body)
        except ZaloApiError as error:
            call.status = error.http_status
            if error.disconnect and request.transport is not None:
                request.transport.abort()
                response = web.Response(status=error.http_status)
            elif error.html:
                response = web.Response(
                    text=f"<html><body><h1>{error.http_status} {error.description}</h1></body>"
                    "</html>",
                    status=error.http_status,
                    content_type="text/html",
                )
            else:
                call.response = error.to_json()
                response = _json(call.response, error.http_status)
        self._changed.fire()
        return response

    async def _read_params(self, request: web.Request) -> JSONDict:
        if not request.body_exists:
            return {}
        if request.content_type == "application/json":
            try:
                body = json.loads(await request.read())
            except ValueError:
                return {}
            return body if isinstance(body, dict) else {}
        if request.content_type == "application/x-www-form-urlencoded":
            return {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        await request.read()  # multipart and anything else: not read, as on Zalo
        return {}

    async def _apply_delay(self, method: str) -> None:
        once = self._once_delays.get(method)
        seconds = once.pop(0) if once else self._delays.get(method, 0.0)
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    def _raise_injected(self, method: str) -> None:
        queue = self._failures.get(method)
        if queue:
            raise queue.pop(0)

    def _raise_if_blocked(self, method: str, params: JSONDict) -> None:
        chat = str(params.get("chat_id", ""))
        if method in SENDING and chat in self._blocked:
            raise ZaloApiError(403, self._blocked[chat])

    # ---------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        code: int = 400,
        description: str = "Bad Request",
        *,
        count: int = 1,
        http_status: int = 200,
        retry_after: int | None = None,
    ) -> None:
        """The next `count` calls of `method` answer `{ok: false, error_code: code}`."""
        for _ in range(count):
            self._failures.setdefault(method, []).append(
                ZaloApiError(code, description, http_status=http_status, retry_after=retry_after)
            )

    def html_next(self, method: str, status: int = 502, count: int = 1) -> None:
        """The next `count` calls of `method` get an HTML error page (a proxy in the way)."""
        for _ in range(count):
            self._failures.setdefault(method, []).append(
                ZaloApiError(status, "Bad Gateway", http_status=status, html=True)
            )

    def drop_next(self, method: str, count: int = 1) -> None:
        """The next `count` calls of `method` lose their connection without an answer."""
        for _ in range(count):
            self._failures.setdefault(method, []).append(
                ZaloApiError(0, "dropped", http_status=502, disconnect=True)
            )

    def delay(self, method: str, seconds: float) -> None:
        """Answer later calls of `method` after `seconds` (0 removes the delay)."""
        if seconds > 0:
            self._delays[method] = seconds
        else:
            self._delays.pop(method, None)

    def delay_next(self, method: str, seconds: float) -> None:
        """Answer the next call of `method` only after `seconds` (a time-out, once)."""
        self._once_delays.setdefault(method, []).append(seconds)

    def block_user(self, chat_id: str, description: str = "User has blocked the bot") -> None:
        self._blocked[str(chat_id)] = description

    def unblock_user(self, chat_id: str) -> None:
        self._blocked.pop(str(chat_id), None)

    # ---------------------------------------------------------------- inspection

    def sent(self, chat_id: str | None = None) -> list[SentMessage]:
        return [m for m in self._sent if chat_id is None or m.chat_id == str(chat_id)]

    def texts(self, chat_id: str | None = None) -> list[str]:
        return [m.text for m in self.sent(chat_id) if m.text is not None]

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    @property
    def webhook(self) -> JSONDict | None:
        return dict(self._webhook) if self._webhook else None

    @property
    def pending_updates(self) -> list[JSONDict]:
        return list(self._updates)

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Wait until `predicate()` is truthy (checked on every call and every 50 ms)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = ", ".join(f"{c.method}->{c.status}" for c in self.calls[-8:])
                raise TimeoutError(f"condition not met within {timeout}s; last calls: {recent}")
            await self._changed.wait(min(remaining, 0.05))

    async def wait_for_messages(
        self,
        chat_id: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """Wait until the bot has sent at least `count` messages in all to `chat_id`."""

        def enough() -> list[SentMessage] | None:
            sent = self.sent(chat_id)
            return sent if len(sent) >= count else None

        return await self.wait_for(enough, timeout)

    # ---------------------------------------------------------------- users and updates

    def user(self, user_id: str, display_name: str = "Người dùng Zalo") -> FakeZaloUser:
        return FakeZaloUser(self, str(user_id), display_name)

    def new_message_id(self) -> str:
        return f"{next(self._ids):08x}{int(time.time() * 1000) % 10**12:012x}"

    def inject(self, update: Any) -> Any:
        """Queue any body for getUpdates or the webhook; the chat of a message is 'seen'."""
        message = update.get("message") if isinstance(update, dict) else None
        chat = message.get("chat") if isinstance(message, dict) else None
        if isinstance(chat, dict) and chat.get("id"):
            self._seen_chats.add(str(chat["id"]))
        self._updates.append(update)
        self._updates_signal.fire()
        self._changed.fire()
        return update

    # ---------------------------------------------------------------- methods

    async def _get_me(self, params: JSONDict, request: web.Request) -> Any:
        return {
            "id": self.bot_id,
            "account_name": self.account_name,
            "account_type": "BASIC",
            "can_join_groups": False,
        }

    async def _get_updates(self, params: JSONDict, request: web.Request) -> Any:
        try:
            timeout = min(max(float(params.get("timeout", 30)), 0.0), MAX_POLL_TIMEOUT)
        except (TypeError, ValueError):
            raise _bad_request("timeout must be a number of seconds") from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            gone = request.transport is None or request.transport.is_closing()
            if self._updates and self._webhook is None and not gone:
                return self._updates.pop(0)  # handed out, so forgotten
            remaining = deadline - loop.time()
            if remaining <= 0 or gone or self._closing.is_set():
                raise ZaloApiError(408, "Request timeout", http_status=self.idle_status)
            await self._updates_signal.wait(min(remaining, 0.5))

    async def _set_webhook(self, params: JSONDict, request: web.Request) -> Any:
        url = str(params.get("url") or "")
        secret = str(params.get("secret_token") or "")
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise _bad_request("url is invalid")
        if not 8 <= len(secret) <= 256:
            raise _bad_request("secret_token must have 8 to 256 characters")
        self._webhook = {"url": url, "secret_token": secret}
        self._webhook_updated = _now_ms()
        self._updates_signal.fire()
        return {"url": url, "updated_at": self._webhook_updated}

    async def _delete_webhook(self, params: JSONDict, request: web.Request) -> Any:
        self._webhook = None
        self._webhook_updated = _now_ms()
        self._updates_signal.fire()
        return {"url": "", "updated_at": self._webhook_updated}

    async def _get_webhook_info(self, params: JSONDict, request: web.Request) -> Any:
        url = self._webhook["url"] if self._webhook else ""
        return {"url": url, "updated_at": self._webhook_updated}

    def _chat(self, params: JSONDict) -> str:
        chat = params.get("chat_id")
        if not isinstance(chat, str | int) or not str(chat):
            raise _bad_request("chat_id is required")
        if str(chat) not in self._seen_chats:
            raise _bad_request("Chat not found")
        return str(chat)

    def _text(self, params: JSONDict, name: str, required: bool) -> str | None:
        value = params.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not 1 <= _utf16(value) <= MAX_TEXT:
            raise _bad_request(f"{name} must have 1 to {MAX_TEXT} characters")
        return value

    def _record(self, method: str, chat: str, **content: Any) -> JSONDict:
        message = SentMessage(method, chat, self.new_message_id(), _now_ms(), **content)
        self._sent.append(message)
        return {"message_id": message.message_id, "date": message.date}

    async def _send_message(self, params: JSONDict, request: web.Request) -> Any:
        chat = self._chat(params)
        return self._record("sendMessage", chat, text=self._text(params, "text", True))

    async def _send_photo(self, params: JSONDict, request: web.Request) -> Any:
        chat = self._chat(params)
        url = params.get("photo")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise _bad_request("photo must be an http(s) URL")
        caption = self._text(params, "caption", False)
        content = await self._fetch(url) if _is_loopback(url) else None
        return self._record("sendPhoto", chat, text=caption, photo_url=url, photo=content)

    async def _fetch(self, url: str) -> bytes:
        assert self._session is not None
        try:
            async with self._session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
                if r.status != 200:
                    raise _bad_request(f"photo could not be fetched (HTTP {r.status})")
                return await r.read()
        except aiohttp.ClientError as error:
            raise _bad_request(f"photo could not be fetched ({error})") from None

    async def _send_sticker(self, params: JSONDict, request: web.Request) -> Any:
        chat = self._chat(params)
        sticker = params.get("sticker")
        if not isinstance(sticker, str) or not sticker:
            raise _bad_request("sticker is required")
        return self._record("sendSticker", chat, sticker=sticker)

    async def _send_chat_action(self, params: JSONDict, request: web.Request) -> Any:
        self._chat(params)
        if params.get("action") not in ("typing", "upload_photo"):
            raise _bad_request("action must be typing or upload_photo")
        return None

    # ---------------------------------------------------------------- webhook delivery

    async def _webhook_loop(self) -> None:
        """Deliver queued updates to the webhook one at a time, in order."""
        while not self._closing.is_set():
            hook = self._webhook
            if hook is None or not self._updates or not _is_loopback(hook["url"]):
                await self._updates_signal.wait(0.5)
                continue
            update = self._updates.pop(0)
            await self._deliver(hook, update)
            self._changed.fire()

    async def _deliver(self, hook: JSONDict, update: Any) -> None:
        assert self._session is not None
        body = {"ok": True, "result": update} if self.wrap_webhooks else update
        message = update.get("message") if isinstance(update, dict) else None
        message_id = message.get("message_id") if isinstance(message, dict) else None
        headers = {SECRET_HEADER: hook["secret_token"]}
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        for attempt in range(self.webhook_retries + 1):
            status: int | None = None
            error: str | None = None
            try:
                async with self._session.post(
                    hook["url"], json=body, headers=headers, timeout=timeout
                ) as response:
                    status = response.status
                    await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            self.webhook_attempts.append(
                WebhookAttempt(message_id, hook["url"], status, error, body)
            )
            self._changed.fire()
            if status is not None and 200 <= status < 300:
                return
            if attempt < self.webhook_retries:
                await asyncio.sleep(self.webhook_retry_delay * 2**attempt)


def _json(body: JSONDict, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False), status=status, content_type="application/json"
    )
