"""`hienmau db backup` and `db restore` as an operator runs them: real processes on real files,
with another process writing to the database all the while."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from db import backup
from db.backup import BackupError
from tests.conftest import TEST_DATABASE_URL, _pg_execute
from tests.e2e.test_cli import run

# Inserts units in pairs, one pair a transaction, as fast as SQLite lets it (WAL, like the bot):
# a consistent copy holds whole pairs only, numbered 0..n-1 without a gap.
WRITER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
n = 0
while True:
    db.execute("BEGIN IMMEDIATE")
    for half in "ab":
        db.execute(
            "INSERT INTO unit (code, name, kind, search_name) VALUES (?, ?, 'commune', ?)",
            (f"W{n:06d}{half}", f"Xã {n}", f"xa {n}"),
        )
    db.execute("COMMIT")
    n += 1
    time.sleep(0.001)
"""


def written(path: Path) -> list[str]:
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [code for (code,) in db.execute("SELECT code FROM unit ORDER BY code")]
    finally:
        db.close()


def assert_whole_pairs(codes: list[str]) -> int:
    """The number of pairs; fails unless they are 0..n-1, each with both halves."""
    pairs = len(codes) // 2
    assert codes == [f"W{n:06d}{half}" for n in range(pairs) for half in "ab"]
    return pairs


@pytest.fixture
def database(tmp_path: Path, sqlite_template: Path) -> Path:
    """A migrated SQLite database named in ./config.toml."""
    path = tmp_path / "bot.sqlite3"
    shutil.copy(sqlite_template, path)
    (tmp_path / "config.toml").write_text(f'[database]\nurl = "sqlite:///{path}"\n')
    return path


@pytest.fixture
def writer(database: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(database)])
    try:
        deadline = time.monotonic() + 20
        while len(written(database)) < 100:  # under way
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        yield process
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_a_backup_taken_while_the_bot_writes_is_consistent_and_restores(
    tmp_path: Path, database: Path, writer: subprocess.Popen[bytes]
) -> None:
    (tmp_path / "backups").mkdir()
    before = len(written(database)) // 2
    made = run(["db", "backup", "--to", "backups"], tmp_path)
    after = len(written(database)) // 2
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("backup: backups/bot-backup-") and "schema 0" in made.stdout
    [copy] = (tmp_path / "backups").iterdir()
    assert copy.suffix == ".sqlite3" and not copy.name.startswith(".")
    check = sqlite3.connect(copy)
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert check.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file
    check.close()
    pairs = assert_whole_pairs(written(copy))
    assert before <= pairs <= after and before < after  # taken while the writer wrote

    # The bot (here: the writer) has the database open: restoring under it is refused.
    refused = run(["db", "restore", str(copy)], tmp_path)
    assert refused.returncode == 1
    assert "in use" in refused.stderr and "--force" in refused.stderr
    writer.kill()
    writer.wait()
    final = assert_whole_pairs(written(database))
    assert final > pairs

    restored = run(["db", "restore", str(copy)], tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert assert_whole_pairs(written(database)) == pairs
    [kept] = tmp_path.glob("bot-before-restore-*.sqlite3")
    assert assert_whole_pairs(written(kept)) == final  # nothing is lost by a restore
    assert f"kept as {kept}" in restored.stdout


def test_a_default_backup_goes_beside_the_database_with_the_time_in_its_name(
    database: Path,
) -> None:
    url = f"sqlite:///{database}"
    now = dt.datetime(2026, 11, 26, 3, 4, 5, tzinfo=dt.UTC)
    copied = backup.backup(url, None, now)
    assert copied.path == database.parent / "bot-backup-20261126T030405Z.sqlite3"
    assert copied.revision == backup.revisions()[1] and copied.size > 0
    with pytest.raises(BackupError, match="exists already"):
        backup.backup(url, None, now)
    with pytest.raises(BackupError, match="no database file"):
        backup.backup(f"sqlite:///{database.parent / 'none.sqlite3'}", None, now)


def test_restore_refuses_what_is_not_a_backup_of_this_project(
    tmp_path: Path, database: Path
) -> None:
    url = f"sqlite:///{database}"
    now = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    text = tmp_path / "notes.sqlite3"
    text.write_text("not a database")
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    newer = tmp_path / "newer.sqlite3"
    shutil.copy(database, newer)
    db = sqlite3.connect(newer)
    with db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    db.close()
    for source, reason in (
        (tmp_path / "missing.sqlite3", "cannot read"),
        (text, "not a SQLite database"),
        (other, "not a hienmau-bot database"),
        (newer, "revision 9999, unknown"),
        (database, "is the database itself"),
    ):
        with pytest.raises(BackupError, match=reason):
            backup.restore_sqlite(url, source, now)
    assert not list(tmp_path.glob("*before-restore*"))  # refused before touching anything


def test_a_forced_restore_replaces_the_data_under_an_open_connection(
    tmp_path: Path, database: Path
) -> None:
    url = f"sqlite:///{database}"
    now = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    copy = backup.backup(url, tmp_path / "copy.sqlite3", now).path
    bot = sqlite3.connect(database, isolation_level=None)  # as the running bot holds it
    bot.execute("PRAGMA journal_mode=WAL")
    bot.execute("INSERT INTO unit (code, name, kind, search_name) VALUES ('X', 'X', 'club', 'x')")
    assert backup.in_use(database)
    with pytest.raises(BackupError, match="in use"):
        backup.restore_sqlite(url, copy, now)
    backup.restore_sqlite(url, copy, now, force=True)
    assert bot.execute("SELECT count(*) FROM unit").fetchone() == (0,)
    bot.close()
    assert not backup.in_use(database)


async def _execute(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_backup_is_a_pg_dump_that_the_documented_command_restores(
    tmp_path: Path, pg_template: str
) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("the PostgreSQL client tools are not installed")
    assert TEST_DATABASE_URL is not None
    name = f"hm_backup_{time.monotonic_ns()}"
    asyncio.run(
        _pg_execute(TEST_DATABASE_URL, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    )
    url = make_url(TEST_DATABASE_URL).set(database=name)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        made = run(
            ["db", "backup", "--to", "bot.dump"],
            tmp_path,
            env={"HIENMAU_DATABASE_URL": url.render_as_string(hide_password=False)},
        )
        assert made.returncode == 0, made.stderr
        assert (tmp_path / "bot.dump").read_bytes().startswith(b"PGDMP")  # custom format
        asyncio.run(
            _execute(
                dsn,
                "INSERT INTO unit (code, name, kind, search_name) VALUES ('X', 'X', 'club', 'x')",
            )
        )
        command = backup.pg_restore_command(
            url.render_as_string(hide_password=False), Path("bot.dump")
        )
        env = {**os.environ, "PGPASSWORD": url.password or ""}
        restored = subprocess.run(
            command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, check=False
        )
        assert restored.returncode == 0, restored.stderr

        async def units() -> int:
            connection = await asyncpg.connect(dsn)
            try:
                return int(await connection.fetchval("SELECT count(*) FROM unit"))
            finally:
                await connection.close()

        assert asyncio.run(units()) == 0
    finally:
        asyncio.run(
            _pg_execute(TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )
