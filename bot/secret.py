"""The installation secret that signs donor cards: `[security] secret` when set, else one
generated once and kept in `hienmau-secret.key` in the working directory (mode 0600)."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from bot.config import SECRET_MIN_CHARS, Config, ConfigError

SECRET_FILE = "hienmau-secret.key"

log = logging.getLogger(__name__)


def installation_secret(config: Config, directory: Path | None = None) -> bytes:
    if config.security.secret:
        return config.security.secret.encode()
    return _from_file((directory or Path.cwd()) / SECRET_FILE)


def _from_file(path: Path) -> bytes:
    try:
        # O_EXCL: of two processes starting at once, one writes and the other reads.
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    value = secrets.token_urlsafe(48)
    with os.fdopen(handle, "w", encoding="ascii") as file:
        file.write(value + "\n")
    log.warning(
        "generated a secret for donor cards in %s; in production set [security] secret "
        "(or HIENMAU_SECURITY_SECRET) and keep it: changing it invalidates every card",
        path.resolve(),
    )
    return value.encode()


def _read(path: Path) -> bytes:
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < SECRET_MIN_CHARS:
        raise ConfigError(
            f"config: [security] secret: {path} holds fewer than {SECRET_MIN_CHARS} "
            "characters; delete it to generate a new one, or set [security] secret"
        )
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s can be read by other users: chmod 600 it", path.resolve())
    return value.encode()
