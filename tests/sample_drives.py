"""Sample drives for tests: the Lai Châu 2019 plan, and drives with slots made through services."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from services import drives, plan_file, plans, units
from services.audit import Actor
from services.drives import DriveDraft, SlotSpec
from services.work import Database

EXAMPLE_PLAN = Path(__file__).resolve().parent.parent / "examples" / "plan-laichau-2019.csv"


async def import_example_plan(
    database: Database, unit_code: str | None = None
) -> plans.ImportResult:
    parsed = plan_file.read_plan(EXAMPLE_PLAN.read_bytes(), EXAMPLE_PLAN.name, 2019)
    assert not parsed.problems
    async with database.work() as work:
        return await plans.import_rows(
            work, parsed.rows, 2019, Actor("test"), unit_code=unit_code, source="test"
        )


async def add_drive(
    database: Database,
    day: dt.date,
    place: str = "Nhà văn hoá xã Bình Lư",
    slots: tuple[SlotSpec, ...] = (),
    unit_code: str | None = None,
    coordinates: tuple[float, float] | None = None,
    status: str = "open",
) -> int:
    async with database.work() as work:
        unit_id = None
        if unit_code is not None:
            found = await units.by_code(work, unit_code)
            assert found is not None
            unit_id = found.id
        draft = DriveDraft(
            title=f"Ngày hội hiến máu {place}",
            date=max(day, work.today()),  # a past drive is made, then moved back
            place=place,
            slots=list(slots),
            latitude=coordinates[0] if coordinates else None,
            longitude=coordinates[1] if coordinates else None,
            receiving_institution="Bệnh viện Đa khoa tỉnh Lai Châu",
            target_units=250,
        )
        drive = await drives.create(work, draft, Actor("test"), unit_id=unit_id)
        drive.status, drive.date = status, day
        return drive.id
