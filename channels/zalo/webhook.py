"""The Zalo channel's HTTP server (tornado, as python-telegram-bot's webhook uses): the webhook
Zalo posts events to, and short-lived links to images that sendPhoto makes Zalo fetch.

The webhook answers 403 unless `X-Bot-Api-Secret-Token` matches (compared in constant time),
413 for a body over 1 MB (read and thrown away up to `READ_LIMIT`; beyond, the connection is
closed), 400 for a body that is not JSON, and 200 for everything else, events the bot ignores
included (Zalo would only send them again).
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Bot-Api-Secret-Token"
BODY_LIMIT = 1024 * 1024  # one event is a few hundred bytes
READ_LIMIT = 8 * BODY_LIMIT
MEDIA_SECONDS = 15 * 60  # Zalo fetches a photo at once; the link need not live long
MEDIA_ITEMS = 256


class MediaStore:
    """Images behind unguessable, expiring names: `put` gives the name, `get` the bytes."""

    def __init__(
        self,
        seconds: float = MEDIA_SECONDS,
        capacity: int = MEDIA_ITEMS,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.capacity = capacity
        self._now = now
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def put(self, content: bytes) -> str:
        self._expire()
        name = secrets.token_urlsafe(24)
        self._items[name] = (self._now() + self.seconds, content)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return name

    def get(self, name: str) -> bytes | None:
        self._expire()
        item = self._items.get(name)
        return item[1] if item is not None else None

    def _expire(self) -> None:
        now = self._now()
        while self._items:
            name, (until, _content) = next(iter(self._items.items()))
            if until > now:
                break
            del self._items[name]


@tornado.web.stream_request_body
class _Webhook(tornado.web.RequestHandler):
    def initialize(self, secret: str, accept: Callable[[Any], None]) -> None:
        self.secret = secret.encode()
        self.accept = accept
        self.chunks: list[bytes] = []
        self.size = 0

    def data_received(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size <= BODY_LIMIT:
            self.chunks.append(chunk)

    def _refuse(self, status: int, why: str) -> None:
        log.warning("zalo webhook: %s from %s: answered %s", why, self.request.remote_ip, status)
        self.set_status(status)
        self.finish({"ok": False, "description": why})

    def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            self._refuse(403, "no valid secret token")
            return
        if self.size > BODY_LIMIT:
            self._refuse(413, f"a body of {self.size} bytes")
            return
        try:
            body = json.loads(b"".join(self.chunks))
        except ValueError:
            self._refuse(400, "a body that is not JSON")
            return
        self.accept(body)
        self.finish({"ok": True})


class _Media(tornado.web.RequestHandler):
    def initialize(self, media: MediaStore) -> None:
        self.media = media

    def get(self, name: str) -> None:
        content = self.media.get(name)
        if content is None:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", "image/png")
        self.set_header("Cache-Control", "private, max-age=600")
        self.finish(content)


class ZaloServer:
    """Serves `path` (the webhook, when a secret is given) and `path/media/<name>.png`."""

    def __init__(
        self,
        *,
        listen: str,
        port: int,
        path: str,
        secret: str,
        accept: Callable[[Any], None],
        media: MediaStore,
    ) -> None:
        self.listen = listen
        self.port = port
        root = "/" + path.strip("/") if path.strip("/") else ""
        routes: list[Any] = [(rf"{root}/media/([A-Za-z0-9_-]+)\.png", _Media, {"media": media})]
        if secret:
            routes.append((root or "/", _Webhook, {"secret": secret, "accept": accept}))
        self._app = tornado.web.Application(routes)
        self._server: tornado.httpserver.HTTPServer | None = None

    async def start(self) -> None:
        server = tornado.httpserver.HTTPServer(self._app, max_body_size=READ_LIMIT)
        sockets = tornado.netutil.bind_sockets(self.port, address=self.listen)
        server.add_sockets(sockets)
        self.port = int(sockets[0].getsockname()[1])  # the real one when 0 was asked
        self._server = server

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
