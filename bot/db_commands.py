"""`hienmau db backup` and `hienmau db restore`: what they print and their exit codes.

Neither upgrades the schema first (every other command does): a backup taken before an upgrade
must hold the old schema, and a restore must not touch the database before it is replaced.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from bot.config import Config
from db import backup
from db.backup import BackupError


def db_backup(config: Config, to: str | None) -> int:
    url = config.database.url
    try:
        copied = backup.backup(url, Path(to) if to else None, dt.datetime.now(dt.UTC))
    except BackupError as exc:
        print(f"hienmau: backup: {exc}", file=sys.stderr)
        return 1
    schema = f", schema {copied.revision}" if copied.revision else ""
    print(f"backup: {copied.path} ({copied.size} bytes{schema})")
    return 0


def db_restore(config: Config, source: str, force: bool) -> int:
    url = config.database.url
    if not backup.is_sqlite(url):
        print(
            "hienmau: restore: hienmau restores SQLite only. For PostgreSQL stop every "
            "hienmau process, then run (the password from PGPASSWORD or ~/.pgpass):\n  "
            + backup.pg_restore_command(url, Path(source)),
            file=sys.stderr,
        )
        return 2
    try:
        restored = backup.restore_sqlite(url, Path(source), dt.datetime.now(dt.UTC), force=force)
    except BackupError as exc:
        print(f"hienmau: restore: {exc}", file=sys.stderr)
        return 1
    print(f"restored {restored.source} (schema {restored.revision}) into {restored.target}")
    if restored.kept is not None:
        print(f"the database it replaced is kept as {restored.kept}")
    if restored.revision != restored.head:
        print(f"run `hienmau db upgrade` to bring it to schema {restored.head}")
    return 0
