"""Copies of the database (`hienmau db backup`, `hienmau db restore`).

SQLite goes through SQLite's online backup API: one step, so one read transaction, so one
consistent snapshot while the bot keeps writing (WAL lets the writer go on). A copy is written
under a temporary name and renamed when complete, so a half-written file never looks like a
backup. PostgreSQL is dumped with `pg_dump --format=custom`; restoring a dump is pg_restore's
job (`pg_restore_command` says how), since it replaces a database other processes may share.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shlex
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from db.engine import async_url
from db.migrate import MIGRATIONS

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_MS = 10_000  # how long a copy waits for a writer's lock


class BackupError(Exception):
    """One line saying what went wrong and, where there is one, what to do."""


@dataclass(frozen=True, slots=True)
class Copied:
    path: Path
    size: int
    revision: str | None  # the schema revision the copy holds (alembic), when known


@dataclass(frozen=True, slots=True)
class Restored:
    source: Path
    target: Path
    revision: str
    head: str  # this version's newest revision: when it differs, `db upgrade` is due
    kept: Path | None  # the database that was replaced, saved beside it


def is_sqlite(url: str) -> bool:
    return async_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path:
    database = async_url(url).database
    assert database  # async_url refuses a SQLite URL without a file
    return Path(database)


def stamp(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def backup(url: str, to: Path | None, now: dt.datetime) -> Copied:
    """Copy the database at `url`. `to` is a file, a directory (the default name goes
    inside), or None: beside the SQLite file, or in the current directory for PostgreSQL."""
    if is_sqlite(url):
        source = sqlite_path(url)
        name = f"{source.stem}-backup-{stamp(now)}.sqlite3"
        target = _target(to, source.parent, name)
        return _sqlite_backup(source, target)
    parsed = async_url(url)
    target = _target(to, Path.cwd(), f"{parsed.database or 'postgres'}-backup-{stamp(now)}.dump")
    return _pg_dump(parsed, target)


def _target(to: Path | None, directory: Path, name: str) -> Path:
    target = directory / name if to is None else (to / name if to.is_dir() else to)
    if target.exists():
        raise BackupError(f"{target} exists already: give another --to")
    if not target.parent.is_dir():
        raise BackupError(f"no directory {target.parent} for {target.name}")
    return target


@contextlib.contextmanager
def _connect(path: Path, mode: str) -> Iterator[sqlite3.Connection]:
    """A connection that never creates the file (mode 'ro' or 'rw'); closed on exit."""
    uri = f"{path.resolve().as_uri()}?mode={mode}"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=BUSY_MS / 1000)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {path}: {exc}") from None
    try:
        yield connection
    finally:
        connection.close()


@contextlib.contextmanager
def _partial(target: Path) -> Iterator[Path]:
    """A temporary name beside `target`, renamed to it when the block ends without error."""
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        yield partial
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _sqlite_copy(source: Path, target: Path) -> str | None:
    """One-step online backup of `source` into a new file `target`, in rollback-journal mode
    (one self-contained file), checked. Returns the copy's schema revision."""
    if not source.is_file():
        raise BackupError(f"no database file at {source}")
    with _connect(source, "rw") as src:
        copy = sqlite3.connect(target)
        try:
            src.backup(copy)  # pages=-1: every page in one step, one snapshot
            copy.execute("PRAGMA journal_mode=DELETE")
            problem = _damage(copy)
            if problem:
                raise BackupError(f"the copy of {source} fails its check: {problem}")
            return _revision(copy)
        except sqlite3.Error as exc:
            raise BackupError(f"backup of {source} failed: {exc}") from None
        finally:
            copy.close()


def _sqlite_backup(source: Path, target: Path) -> Copied:
    with _partial(target) as partial:
        revision = _sqlite_copy(source, partial)
    return Copied(target, target.stat().st_size, revision)


def _damage(connection: sqlite3.Connection) -> str:
    result = connection.execute("PRAGMA quick_check").fetchone()[0]
    return "" if result == "ok" else str(result)


def _revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table
        return None
    return str(row[0]) if row else None


def revisions() -> tuple[list[str], str]:
    """Every schema revision this version knows, and the newest (head)."""
    scripts = ScriptDirectory(str(MIGRATIONS))
    head = scripts.get_current_head()
    assert head is not None
    return [script.revision for script in scripts.walk_revisions()], head


def check_backup(path: Path) -> str:
    """The schema revision of a SQLite backup of this project; BackupError if it is not one."""
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    if header != SQLITE_HEADER:
        raise BackupError(f"{path} is not a SQLite database")
    with _connect(path, "ro") as connection:
        try:
            problem = _damage(connection)
            revision = _revision(connection)
        except sqlite3.Error as exc:
            raise BackupError(f"{path} cannot be read as a SQLite database: {exc}") from None
    if problem:
        raise BackupError(f"{path} is damaged: {problem}")
    known, _head = revisions()
    if revision is None:
        raise BackupError(f"{path} is not a hienmau-bot database (no alembic_version table)")
    if revision not in known:
        raise BackupError(
            f"{path} has schema revision {revision}, unknown to this version of hienmau-bot "
            "(made by a newer one?)"
        )
    return revision


def in_use(path: Path) -> bool:
    """Whether another connection has the SQLite database open. The bot runs it in WAL mode,
    and leaving WAL mode needs the only connection: refused at once while anyone else has
    one open (the running bot keeps its connections). A file that is not in WAL mode has no
    bot on it; an exclusive lock then tells whether some other program reads it."""
    with _connect(path, "rw") as connection:
        connection.execute("PRAGMA busy_timeout=0")
        try:
            mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
            if mode == "wal":
                connection.execute("PRAGMA journal_mode=DELETE")
            connection.execute("BEGIN EXCLUSIVE")
            connection.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return True
            raise BackupError(f"cannot check {path}: {exc}") from None
    return False


def restore_sqlite(url: str, source: Path, now: dt.datetime, *, force: bool = False) -> Restored:
    """Put the backup `source` in place of the SQLite database at `url`. The database it
    replaces is first copied beside it (`<name>-before-restore-<time>.sqlite3`). Refused
    while the database is in use, unless `force`: then the running bot sees the restored
    data at its next transaction (the copy goes through SQLite, page by page, under its lock)."""
    revision = check_backup(source)
    target = sqlite_path(url)
    if source.resolve() == target.resolve():
        raise BackupError(f"{source} is the database itself")
    kept = None
    if target.exists():
        if not force and in_use(target):
            raise BackupError(
                f"{target} is in use (is `hienmau run` running?): stop the bot first, "
                "or add --force to restore under it"
            )
        kept = target.with_name(f"{target.stem}-before-restore-{stamp(now)}.sqlite3")
        _sqlite_backup(target, kept)
    with _connect(source, "ro") as src:
        destination = sqlite3.connect(target, timeout=BUSY_MS / 1000)
        try:
            src.backup(destination)
        except sqlite3.Error as exc:
            raise BackupError(f"restore into {target} failed: {exc}") from None
        finally:
            destination.close()
    _known, head = revisions()
    return Restored(source, target, revision, head, kept)


# PostgreSQL ---------------------------------------------------------------------------------

PG_CLIENT_HINT = (
    "install the PostgreSQL client tools of the server's major version or newer "
    "(Debian/Ubuntu: apt install postgresql-client)"
)


def libpq_url(parsed: URL) -> str:
    """The URL as libpq's tools take it: no driver name, no password (give that in
    PGPASSWORD or ~/.pgpass), asyncpg's `ssl` query option spelled `sslmode`."""
    query = {("sslmode" if key == "ssl" else key): value for key, value in parsed.query.items()}
    plain = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=query,
    )
    return plain.render_as_string(hide_password=False)


def _pg_environment(parsed: URL) -> dict[str, str]:
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)  # not on the command line, where ps shows it
    return env


def _pg_dump(parsed: URL, target: Path) -> Copied:
    program = shutil.which("pg_dump")
    if program is None:
        raise BackupError(f"pg_dump is not on PATH: {PG_CLIENT_HINT}")
    with _partial(target) as partial:
        done = subprocess.run(
            [program, "--format=custom", f"--file={partial}", f"--dbname={libpq_url(parsed)}"],
            env=_pg_environment(parsed),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            raise BackupError(f"pg_dump failed: {lines[-1] if lines else done.returncode}")
    return Copied(target, target.stat().st_size, None)


def pg_restore_command(url: str, source: Path) -> str:
    """The command that restores a `backup` dump into the configured PostgreSQL database:
    objects in the dump are dropped and re-created, all in one transaction."""
    return shlex.join(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={libpq_url(async_url(url))}",
            str(source),
        ]
    )
