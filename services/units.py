"""The unit tree: province, legacy district, commune, organisation, club."""

from __future__ import annotations

import csv
import enum
import io
from dataclasses import dataclass

from sqlalchemy import func, select

from db.models import Unit
from locales import N_
from services.errors import InvalidInput
from services.validation import fold
from services.work import Work


class UnitKind(enum.StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"  # legacy layer: plans before 1/7/2025 name districts
    COMMUNE = "commune"
    SCHOOL = "school"
    COMPANY = "company"
    HOSPITAL = "hospital"
    ARMED_FORCES = "armed_forces"
    AGENCY = "agency"
    CLUB = "club"


@dataclass(frozen=True, slots=True)
class UnitRow:
    code: str
    name: str
    kind: UnitKind
    parent_code: str | None


async def by_code(work: Work, code: str) -> Unit | None:
    return await work.session.scalar(select(Unit).where(Unit.code == code))


async def search(work: Work, folded_query: str, limit: int = 8) -> list[Unit]:
    """Units whose name contains every typed word, without regard to diacritics."""
    statement = select(Unit)
    for word in folded_query.split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Unit.search_name.like(f"%{escaped}%", escape="\\"))
    statement = statement.order_by(func.length(Unit.name), Unit.name).limit(limit)
    return list(await work.session.scalars(statement))


def read_unit_csv(text: str) -> list[UnitRow]:
    """Rows of `code,name,kind,parent_code` (header required; comma or semicolon)."""
    sample = text[:2048]
    dialect = csv.Sniffer().sniff(sample, delimiters=",;") if sample.strip() else csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    rows: list[UnitRow] = []
    for number, raw in enumerate(reader, start=2):
        code = (raw.get("code") or "").strip()
        name = " ".join((raw.get("name") or "").split())
        kind_text = (raw.get("kind") or "").strip().lower()
        if not code or not name:
            raise InvalidInput(N_("Dòng {row}: thiếu mã hoặc tên đơn vị."), row=number)
        try:
            kind = UnitKind(kind_text)
        except ValueError:
            raise InvalidInput(
                N_("Dòng {row}: loại đơn vị '{kind}' không hợp lệ."), row=number, kind=kind_text
            ) from None
        rows.append(UnitRow(code, name, kind, (raw.get("parent_code") or "").strip() or None))
    return rows


async def upsert(work: Work, rows: list[UnitRow]) -> tuple[int, int]:
    """Create or update units; parents may come before or after children in the file.
    Returns (created, updated)."""
    known = {u.code: u for u in await work.session.scalars(select(Unit))}
    created = updated = 0
    for row in rows:
        unit = known.get(row.code)
        if unit is None:
            unit = Unit(
                code=row.code, name=row.name, kind=row.kind.value, search_name=fold(row.name)
            )
            work.session.add(unit)
            known[row.code] = unit
            created += 1
        elif (unit.name, unit.kind) != (row.name, row.kind.value):
            unit.name, unit.kind, unit.search_name = row.name, row.kind.value, fold(row.name)
            updated += 1
    await work.session.flush()
    for row in rows:
        if row.parent_code is None:
            continue
        parent = known.get(row.parent_code)
        if parent is None:
            raise InvalidInput(
                N_("Đơn vị {code}: không tìm thấy đơn vị cha {parent}."),
                code=row.code,
                parent=row.parent_code,
            )
        known[row.code].parent_id = parent.id
    return created, updated


async def path(work: Work, unit: Unit) -> str:
    """'CLB Hiến máu dự bị tỉnh, Tỉnh Lai Châu': the unit and its top ancestor."""
    top = unit
    seen = {unit.id}
    while top.parent_id is not None and top.parent_id not in seen:
        parent = await work.session.get(Unit, top.parent_id)
        if parent is None:
            break
        seen.add(parent.id)
        top = parent
    return unit.name if top is unit else f"{unit.name}, {top.name}"


async def display_name(work: Work, unit_id: int) -> str | None:
    unit = await work.session.get(Unit, unit_id)
    return await path(work, unit) if unit is not None else None


async def descendants(work: Work, unit_id: int) -> set[int]:
    """The unit and every unit below it."""
    rows = (await work.session.execute(select(Unit.id, Unit.parent_id))).all()
    children: dict[int, list[int]] = {}
    for child, parent in rows:
        if parent is not None:
            children.setdefault(parent, []).append(child)
    found, stack = {unit_id}, [unit_id]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found
