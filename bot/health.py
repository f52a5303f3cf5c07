"""`GET /healthz` for load balancers, container health checks and monitoring.

`hienmau run` starts one small tornado server on `[health] listen`/`port` (default
127.0.0.1:8445) when a channel is in webhook mode, or always with `[health] serve = "always"`.
It is a port of its own, apart from the webhooks', so the reverse proxy need not expose it.
Several workers on one host share it (SO_REUSEPORT): a probe is answered by one of them, and
each answers for the database and the outbox they all share.

The answer is JSON: `status` ("ok" or "unhealthy"), `database` ("ok" or "error"), `outbox`
(`pending`, `oldest_due_seconds`, `failed`; null when the database does not answer) and
`uptime_seconds`; 200 when the database answers within `TIMEOUT` and no due message has waited
more than `[health] max_outbox_lag_seconds`, 503 otherwise.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import time
from collections.abc import Collection
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from services.health import outbox_lag
from services.schedule import QuietHours
from services.work import Database

log = logging.getLogger(__name__)

TIMEOUT = 5.0  # seconds the database has to answer


class HealthServerError(Exception):
    """The server could not listen (one line, naming the address)."""


class HealthCheck:
    def __init__(
        self,
        database: Database,
        channels: Collection[str],
        *,
        max_lag_seconds: int,
        quiet: QuietHours | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self.database = database
        self.channels = frozenset(channels)
        self.max_lag_seconds = max_lag_seconds
        self.quiet = quiet
        self.timeout = timeout
        self.started = time.monotonic()
        self._database_ok = True  # logged when it changes, not at every probe

    async def check(self) -> tuple[int, dict[str, Any]]:
        """The HTTP status and the JSON body."""
        uptime = int(time.monotonic() - self.started)
        try:
            async with asyncio.timeout(self.timeout), self.database.work() as work:
                lag = await outbox_lag(work, self.channels, self.quiet)
        except Exception as exc:
            if self._database_ok:
                log.error("healthz: the database does not answer: %s", exc or type(exc).__name__)
            self._database_ok = False
            body = {"status": "unhealthy", "database": "error", "outbox": None}
            return 503, {**body, "uptime_seconds": uptime}
        if not self._database_ok:
            log.info("healthz: the database answers again")
        self._database_ok = True
        healthy = lag.oldest_due_seconds <= self.max_lag_seconds
        return (200 if healthy else 503), {
            "status": "ok" if healthy else "unhealthy",
            "database": "ok",
            "outbox": dataclasses.asdict(lag),
            "uptime_seconds": uptime,
        }


class _Healthz(tornado.web.RequestHandler):
    def initialize(self, health: HealthCheck) -> None:
        self.health = health

    async def get(self) -> None:
        status, body = await self.health.check()
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.finish(body)


def _quiet_log(handler: tornado.web.RequestHandler) -> None:
    """No access log: a probe every few seconds would bury everything else."""


class HealthServer:
    def __init__(self, health: HealthCheck, *, listen: str, port: int) -> None:
        self.listen = listen
        self.port = port
        self._app = tornado.web.Application(
            [("/healthz", _Healthz, {"health": health})], log_function=_quiet_log
        )
        self._server: tornado.httpserver.HTTPServer | None = None

    async def start(self) -> None:
        try:
            sockets = tornado.netutil.bind_sockets(
                self.port, address=self.listen, reuse_port=hasattr(socket, "SO_REUSEPORT")
            )
        except OSError as exc:
            raise HealthServerError(
                f"health: cannot listen on {self.listen}:{self.port} ([health] listen/port): "
                f"{exc.strerror or exc}"
            ) from None
        server = tornado.httpserver.HTTPServer(self._app)
        server.add_sockets(sockets)
        self.port = int(sockets[0].getsockname()[1])  # the real one when 0 was asked
        self._server = server
        log.info("healthz: answering on http://%s:%s/healthz", self.listen, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
