"""Importing an annual plan into the database: totals, idempotence, updates, dry runs."""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select

from db.models import Drive
from services import plan_file, plans
from services.audit import Actor
from services.work import Database
from tests.sample import load_units
from tests.sample_drives import EXAMPLE_PLAN, import_example_plan


async def _drive_count(database: Database) -> int:
    async with database.work() as work:
        return int(await work.session.scalar(select(func.count(Drive.id))) or 0)


async def test_example_plan_imports_19_drives_2300_units_once(database: Database) -> None:
    await load_units(database)
    first = await import_example_plan(database, unit_code="LCU")
    assert (first.drives, first.total_target) == (19, 2300)
    assert first.count(plans.Change.NEW) == 19
    again = await import_example_plan(database, unit_code="LCU")
    assert again.count(plans.Change.UNCHANGED) == 19 and again.total_target == 2300
    assert await _drive_count(database) == 19
    async with database.work() as work:
        targets = list(await work.session.scalars(select(Drive.target_units)))
        first_drive = await work.session.scalar(select(Drive).where(Drive.plan_no == "1"))
    assert sum(targets) == 2300 and min(targets) == 100 and max(targets) == 170
    assert first_drive is not None and first_drive.date.isoformat() == "2018-12-28"
    assert first_drive.receiving_institution == "Bệnh viện Đa khoa tỉnh Lai Châu"


async def test_changed_row_updates_its_drive_and_dry_run_stores_nothing(
    database: Database,
) -> None:
    parsed = plan_file.read_plan(EXAMPLE_PLAN.read_bytes(), EXAMPLE_PLAN.name, 2019)
    async with database.work() as work:
        preview = await plans.import_rows(work, parsed.rows, 2019, Actor("t"), dry_run=True)
    assert preview.count(plans.Change.NEW) == 19 and await _drive_count(database) == 0
    async with database.work() as work:
        await plans.import_rows(work, parsed.rows, 2019, Actor("t"))
    changed = [dataclasses.replace(parsed.rows[0], target_units=200), *parsed.rows[1:]]
    async with database.work() as work:
        result = await plans.import_rows(work, changed, 2019, Actor("t"))
    assert result.count(plans.Change.UPDATED) == 1 and result.total_target == 2340
    assert await _drive_count(database) == 19


def test_rows_survive_the_dialogue_state_as_json() -> None:
    parsed = plan_file.read_plan(EXAMPLE_PLAN.read_bytes(), EXAMPLE_PLAN.name, 2019)
    for row in parsed.rows:
        assert plans.row_from_json(plans.row_to_json(row)) == row
