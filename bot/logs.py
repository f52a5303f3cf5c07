"""Logging for every command: `[logging] format` (text or JSON lines) and `level`, on stderr,
with the configured secrets masked wherever they would appear.

The mask is a filter on the handler, so it sees every record that reaches the output, from
any library's logger: PTB logs the parameters of Bot API calls at DEBUG (`setWebhook` with its
`secret_token`), httpx the request URLs (the token is part of them).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable
from typing import Any, TextIO
from urllib.parse import quote

from sqlalchemy.engine import make_url

from bot.config import Config

MASK = "***"
MIN_SECRET_CHARS = 4  # shorter values would mask ordinary words; no real secret is that short
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers that say too much at INFO: alembic a line per migration step, httpx every request.
CHATTY = ("alembic", "httpx", "httpcore")

# Attributes every LogRecord has; the others came from `extra=` and are masked too.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def secrets_of(config: Config) -> list[str]:
    """The values that must never be logged: bot tokens (the part after the bot id, which
    stays readable), webhook secrets, the card secret, the database password."""
    found: list[str] = []
    for token in (config.telegram.token, config.zalo.token):
        found.append(token.partition(":")[2] or token)
    found += [config.telegram.webhook_secret, config.zalo.webhook_secret, config.security.secret]
    with contextlib.suppress(Exception):  # a bad URL: the config check names it
        found.append(make_url(config.database.url).password or "")
    return [str(value) for value in found]


class SecretMask(logging.Filter):
    """Replaces each secret (as written, and URL-encoded) with *** in a record's message,
    arguments, exception and stack text, and `extra` fields."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        forms = {form for value in secrets for form in (value, quote(value, safe=""))}
        # Longest first: a secret that holds a shorter one is masked whole.
        self.secrets = sorted(
            (form for form in forms if len(form) >= MIN_SECRET_CHARS), key=len, reverse=True
        )

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is to read
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.mask(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (ISO 8601, UTC), level, logger, message, and exception
    (the traceback text) or stack when the record has one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def handler_for(config: Config, stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    if config.logging.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(SecretMask(secrets_of(config)))
    return handler


_installed: list[logging.Handler] = []  # the handler `configure` put on the root logger


def configure(config: Config, stream: TextIO | None = None) -> None:
    """Send every logger's records to one handler on stderr (replacing the one a previous
    call installed; handlers others added, such as pytest's, stay)."""
    level = logging.getLevelName(config.logging.level.upper())
    root = logging.getLogger()
    while _installed:
        root.removeHandler(_installed.pop())
    handler = handler_for(config, stream)
    root.addHandler(handler)
    _installed.append(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings too come out as log lines (JSON ones in JSON mode)
    # At DEBUG everything goes out (masked); above that the chatty libraries only warn.
    chatty = logging.NOTSET if level <= logging.DEBUG else logging.WARNING
    for name in CHATTY:
        logging.getLogger(name).setLevel(chatty)
