"""Random conversations with the engine (see `dialogue_machine`), on SQLite and PostgreSQL:
each example starts from a fresh copy of one seeded database."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from sqlalchemy.engine import make_url

from db.engine import create_engine
from services.clock import FixedClock
from services.rules import Rules
from services.work import Database
from tests.conftest import NOW, TEST_DATABASE_URL, TEST_SECRET, ZONE, _pg_execute
from tests.fuzz.dialogue_machine import DialogueMachine, seed


def fuzz_settings(examples: int, steps: int) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,  # nothing written into the working tree
        print_blob=True,  # a failure prints how to replay it (@reproduce_failure)
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


async def _seed(url: str) -> None:
    database = Database(create_engine(url), FixedClock(NOW), Rules(), ZONE, secret=TEST_SECRET)
    try:
        await seed(database)
    finally:
        await database.dispose()


def _machine(open_database: object) -> type[DialogueMachine]:
    return type("Machine", (DialogueMachine,), {"open_database": staticmethod(open_database)})


@pytest.mark.slow
def test_random_conversations_keep_the_invariants_on_sqlite(
    sqlite_template: Path, tmp_path: Path
) -> None:
    seeded = tmp_path / "seeded.sqlite3"
    shutil.copy(sqlite_template, seeded)
    asyncio.run(_seed(f"sqlite:///{seeded}"))
    numbers = itertools.count()

    def fresh() -> str:
        target = tmp_path / f"example-{next(numbers)}.sqlite3"
        shutil.copy(seeded, target)
        return f"sqlite:///{target}"

    run_state_machine_as_test(_machine(fresh), settings=fuzz_settings(examples=18, steps=40))


@pytest.fixture
def pg_seeded(pg_template: str) -> Iterator[tuple[str, list[str]]]:
    """A seeded database to clone, and the names of the clones (all dropped at the end)."""
    assert TEST_DATABASE_URL is not None
    name = f"hm_fuzz_{uuid.uuid4().hex[:10]}"
    asyncio.run(
        _pg_execute(TEST_DATABASE_URL, f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    )
    clones: list[str] = []
    try:
        url = make_url(TEST_DATABASE_URL).set(database=name)
        asyncio.run(_seed(url.render_as_string(hide_password=False)))
        yield name, clones
    finally:
        drops = [f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in [*clones, name]]
        asyncio.run(_pg_execute(TEST_DATABASE_URL, *drops))


@pytest.mark.slow
@pytest.mark.postgres
def test_random_conversations_keep_the_invariants_on_postgresql(
    pg_seeded: tuple[str, list[str]],
) -> None:
    assert TEST_DATABASE_URL is not None
    template, clones = pg_seeded

    def fresh() -> str:
        name = f"{template}_{len(clones)}"
        clones.append(name)
        asyncio.run(
            _pg_execute(TEST_DATABASE_URL, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        )
        url = make_url(TEST_DATABASE_URL).set(database=name)
        return url.render_as_string(hide_password=False)

    run_state_machine_as_test(_machine(fresh), settings=fuzz_settings(examples=5, steps=30))
