"""Annual plans: the drives of a plan file, stored once. Re-importing the same file changes
nothing (a drive is known by plan year + `Đợt` + date + place); a changed row updates its drive."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from db.models import Drive
from locales import N_
from services.audit import Actor, record
from services.errors import NotFound
from services.plan_file import PlanRow
from services.units import by_code
from services.work import Work


class Change(enum.StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Outcome:
    row: PlanRow
    change: Change
    drive_id: int | None  # None in a dry run of a new drive


@dataclass(frozen=True, slots=True)
class ImportResult:
    outcomes: tuple[Outcome, ...]
    dry_run: bool

    @property
    def drives(self) -> int:
        return len(self.outcomes)

    @property
    def total_target(self) -> int:
        return sum(o.row.target_units for o in self.outcomes)

    def count(self, change: Change) -> int:
        return sum(1 for o in self.outcomes if o.change is change)


def row_to_json(row: PlanRow) -> dict[str, Any]:
    """A plan row as JSON (kept in the dialogue state between preview and confirmation)."""
    data = dataclasses.asdict(row)
    for name in ("date", "start_time", "end_time"):
        value = data[name]
        data[name] = value.isoformat() if value is not None else None
    return data


def row_from_json(data: dict[str, Any]) -> PlanRow:
    values = dict(data)
    values["date"] = dt.date.fromisoformat(values["date"])
    for name in ("start_time", "end_time"):
        values[name] = dt.time.fromisoformat(values[name]) if values[name] else None
    return PlanRow(**values)


def title_of(row: PlanRow, year: int) -> str:
    title = f"Đợt {row.plan_no}/{year}"
    if row.campaign:
        title += f": {row.campaign}"
    return title[:300]


def _fields(row: PlanRow, year: int, unit_id: int | None, source: str) -> dict[str, Any]:
    fields: dict[str, Any] = {} if unit_id is None else {"unit_id": unit_id}
    return fields | {
        "title": title_of(row, year),
        "campaign": row.campaign,
        "date_is_month_only": row.month_only,
        "start_time": row.start_time,
        "end_time": row.end_time,
        "organiser": row.organiser,
        "receiving_institution": row.receiving_institution,
        "target_units": row.target_units,
        "notes": row.notes,
        "source": f"{source}:{row.line}"[:300],
    }


async def import_rows(
    work: Work,
    rows: tuple[PlanRow, ...] | list[PlanRow],
    year: int,
    actor: Actor,
    *,
    unit_code: str | None = None,
    source: str = "plan",
    dry_run: bool = False,
) -> ImportResult:
    """Store the plan's drives. All rows are stored or, on any error, none (one transaction)."""
    unit_id: int | None = None
    if unit_code is not None:
        unit = await by_code(work, unit_code)
        if unit is None:
            raise NotFound(N_("Không tìm thấy đơn vị có mã {code}."), code=unit_code)
        unit_id = unit.id
    outcomes: list[Outcome] = []
    now = work.now()
    stored = {
        (d.plan_no, d.date, d.place): d
        for d in await work.session.scalars(select(Drive).where(Drive.plan_year == year))
    }
    for row in rows:
        existing = stored.get((row.plan_no, row.date, row.place))
        fields = _fields(row, year, unit_id, source)
        if existing is None:
            drive_id = None
            if not dry_run:
                drive = Drive(
                    plan_year=year,
                    plan_no=row.plan_no,
                    date=row.date,
                    place=row.place,
                    status="planned",
                    created_by_id=actor.person_id,
                    created_at=now,
                    updated_at=now,
                    **fields,
                )
                work.session.add(drive)
                await work.session.flush()
                drive_id = drive.id
                stored[(row.plan_no, row.date, row.place)] = drive
            outcomes.append(Outcome(row, Change.NEW, drive_id))
            continue
        # The source names a file and row: a re-import from another file name is no change.
        differs = {
            name: value
            for name, value in fields.items()
            if name != "source" and getattr(existing, name) != value
        }
        if differs and not dry_run:
            for name, value in differs.items():
                setattr(existing, name, value)
            existing.updated_at = now
        outcomes.append(Outcome(row, Change.UPDATED if differs else Change.UNCHANGED, existing.id))
    result = ImportResult(tuple(outcomes), dry_run)
    if not dry_run:
        record(
            work,
            actor,
            "plan.import",
            None,
            year=year,
            source=source,
            new=result.count(Change.NEW),
            updated=result.count(Change.UPDATED),
        )
    return result
