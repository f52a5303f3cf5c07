"""Workers started at the same moment each migrate at start: they take turns, none fails."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from db.migrate import alembic_config
from tests.conftest import TEST_DATABASE_URL, _pg_execute

WORKERS = 3


def _head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(
        alembic_config("sqlite:///unused.sqlite3")
    ).get_current_head()
    assert head is not None
    return head


def _upgrade_together(url: str, cwd: Path) -> list[subprocess.CompletedProcess[str]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HIENMAU_")}
    environment["HIENMAU_DATABASE_URL"] = url
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "db", "upgrade"],
            cwd=cwd,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def _version(sync_url: str) -> list[str]:
    engine = create_engine(sync_url)
    try:
        with engine.connect() as connection:
            return [
                row[0]
                for row in connection.execute(text("SELECT version_num FROM alembic_version"))
            ]
    finally:
        engine.dispose()


@pytest.mark.slow
def test_three_workers_migrating_a_new_sqlite_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite3"
    results = _upgrade_together(f"sqlite:///{path}", tmp_path)
    assert [r.returncode for r in results] == [0] * WORKERS, [r.stderr[-800:] for r in results]
    assert _version(f"sqlite:///{path}") == [_head()]


@pytest.mark.slow
@pytest.mark.postgres
def test_three_workers_migrating_a_new_postgres_database_at_once(tmp_path: Path) -> None:
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    name = f"hm_mig_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_execute(TEST_DATABASE_URL, f'CREATE DATABASE "{name}"'))
    url = make_url(TEST_DATABASE_URL).set(database=name)
    try:
        results = _upgrade_together(url.render_as_string(hide_password=False), tmp_path)
        assert [r.returncode for r in results] == [0] * WORKERS, [r.stderr[-800:] for r in results]
        assert asyncio.run(_pg_versions(url.render_as_string(hide_password=False))) == [_head()]
    finally:
        asyncio.run(
            _pg_execute(TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )


async def _pg_versions(url: str) -> list[str]:
    import asyncpg

    from tests.conftest import _pg_admin_dsn

    connection = await asyncpg.connect(_pg_admin_dsn(url))
    try:
        return [row[0] for row in await connection.fetch("SELECT version_num FROM alembic_version")]
    finally:
        await connection.close()
