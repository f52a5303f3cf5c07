"""A small typed async client of the Zalo Bot Platform API over httpx.

Every method is a `POST` of a JSON body to `<base_url>/bot<TOKEN>/<method>`. Answers are
`{ok, result, error_code, description}`, errors included (with HTTP 200 and `ok: false`); each
error code becomes a `ZaloError` subclass. A transport failure, a time-out or an answer that is
not that JSON (an HTML error page from a proxy) becomes a `NetworkError`.

getUpdates is unlike Telegram's: it hands out one update (not a list) and no offset, removing it
on the server; when idle it answers `error_code: 408` ("Request timeout") after `timeout`
seconds, with HTTP 200 or 408. `get_updates` returns None then.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from channels.zalo import wire
from channels.zalo.wire import BotInfo, SentMessage, Update, WebhookInfo

DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com"
TIMEOUT = 15.0  # seconds for an ordinary call
POLL_GRACE = 10.0  # seconds a getUpdates may take beyond its own `timeout`


class ZaloError(Exception):
    """The API refused a call (`code` is its error_code) or could not be reached (code 0 or
    the HTTP status)."""

    def __init__(self, description: str, code: int = 0, retry_after: float | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.code = code
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.description} ({self.code})" if self.code else self.description


class BadRequest(ZaloError):
    """400: bad parameters (text too long, unknown chat ...)."""


class Unauthorized(ZaloError):
    """401: the token is wrong or revoked."""


class Forbidden(ZaloError):
    """403: the bot may not write to this chat (blocked, left)."""


class NotFound(ZaloError):
    """404: no such method."""


class TooManyRequests(ZaloError):
    """429: slow down (`retry_after` seconds when the API says)."""


class ServerError(ZaloError):
    """5xx: the platform failed; try again later."""


class NetworkError(ZaloError):
    """No usable answer: connection failure, or an answer that is not the API's JSON."""


class TimedOut(NetworkError):
    """No answer in time. The call may still have taken effect."""


_ERRORS: dict[int, type[ZaloError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    408: TimedOut,
    429: TooManyRequests,
}


def error_for(code: int, description: str, retry_after: float | None = None) -> ZaloError:
    kind = _ERRORS.get(code) or (ServerError if code >= 500 else ZaloError)
    return kind(description, code, retry_after)


def api_root(base_url: str) -> str:
    """'https://h' or 'https://h/' or 'https://h/bot' -> 'https://h/bot' (the token follows)."""
    root = (base_url or DEFAULT_BASE_URL).rstrip("/")
    return root if root.endswith("/bot") else f"{root}/bot"


def _retry_after(envelope: dict[str, Any]) -> float | None:
    parameters = envelope.get("parameters")
    value = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


class ZaloClient:
    def __init__(
        self,
        token: str,
        base_url: str = "",
        *,
        timeout: float = TIMEOUT,
        poll_grace: float = POLL_GRACE,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = f"{api_root(base_url)}{token}/"
        self._timeout = timeout
        self._poll_grace = poll_grace
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout)

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ZaloClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, seconds: float | None = None
    ) -> Any:
        """POST one method and return its `result`; raise a ZaloError otherwise."""
        try:
            response = await self._http.post(
                self._url + method, json=params or {}, timeout=seconds or self._timeout
            )
        except httpx.TimeoutException as error:
            raise TimedOut(f"{method}: no answer in time ({type(error).__name__})") from None
        except httpx.HTTPError as error:
            raise NetworkError(f"{method}: {type(error).__name__}: {error}") from None
        try:
            envelope = json.loads(response.content)
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict) or "ok" not in envelope:
            if response.status_code == 408:
                raise TimedOut(f"{method}: Request timeout", 408)
            kind = response.headers.get("content-type", "?").split(";")[0]
            raise NetworkError(
                f"{method}: HTTP {response.status_code} answered {kind}, not the API's JSON",
                response.status_code,
            )
        if envelope.get("ok") is True:
            return envelope.get("result")
        code = envelope.get("error_code")
        if not isinstance(code, int) or isinstance(code, bool) or code == 0:
            code = response.status_code if response.status_code != 200 else 0
        description = str(envelope.get("description") or "error")
        raise error_for(code, f"{method}: {description}", _retry_after(envelope))

    # ------------------------------------------------------------------ methods

    async def get_me(self) -> BotInfo:
        return wire.bot_info(await self.call("getMe"))

    async def get_updates(self, timeout: int = 30) -> Update | None:  # noqa: ASYNC109
        """The next update, or None when none came within `timeout` seconds. Raises
        `wire.MalformedUpdate` for an update the bot cannot read (it is gone from Zalo)."""
        try:
            result = await self.call(
                "getUpdates", {"timeout": str(timeout)}, seconds=timeout + self._poll_grace
            )
        except TimedOut as error:
            if error.code == 408:  # idle: "Request timeout", as HTTP 200 or 408
                return None
            raise
        if result is None or result == {} or result == []:
            return None
        if isinstance(result, list):  # not seen on Zalo, but harmless to read
            if len(result) > 1:
                raise wire.MalformedUpdate(f"getUpdates gave {len(result)} updates, not one")
            result = result[0]
        return wire.parse_update(result)

    async def set_webhook(self, url: str, secret_token: str) -> WebhookInfo:
        return wire.webhook_info(
            await self.call("setWebhook", {"url": url, "secret_token": secret_token})
        )

    async def delete_webhook(self) -> WebhookInfo:
        return wire.webhook_info(await self.call("deleteWebhook"))

    async def get_webhook_info(self) -> WebhookInfo:
        return wire.webhook_info(await self.call("getWebhookInfo"))

    async def send_message(self, chat_id: str, text: str) -> SentMessage:
        return wire.sent_message(await self.call("sendMessage", {"chat_id": chat_id, "text": text}))

    async def fetch(self, url: str, limit: int) -> bytes | None:
        """The picture of an image message (GET `url`, http(s) only), or None when it cannot
        be had or is over `limit` bytes (read no further)."""
        if not url.startswith(("https://", "http://")):
            return None
        content = bytearray()
        try:
            async with self._http.stream("GET", url, timeout=self._timeout) as response:
                if response.status_code != 200:
                    return None
                async for chunk in response.aiter_bytes():
                    content += chunk
                    if len(content) > limit:
                        return None
        except httpx.HTTPError:
            return None
        return bytes(content)

    async def send_photo(self, chat_id: str, photo_url: str, caption: str = "") -> SentMessage:
        params = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            params["caption"] = caption
        return wire.sent_message(await self.call("sendPhoto", params))

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action})
