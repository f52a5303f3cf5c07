"""Quotas (chỉ tiêu): the cascade from a province to its units, imported as committees write it,
and the figures that set each unit's quota beside its drives and what it has collected.

Units are matched by `unit_names.canonical`, so a quota row and the drives its unit organises
meet; names that only look alike (Mỹ Hòa / Mỹ Hào) are listed and merged only when a person says
so (`merges`). Re-importing a file changes nothing; a changed figure updates its quota. Quotas
already stored that a file does not name are kept: a file may be a part of the table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from db.models import Donation, Drive, Quota, Unit
from locales import N_, _
from services import drives as drive_service
from services.audit import Actor, record
from services.drives import SlotSpec, Status
from services.errors import InvalidInput, NotFound
from services.plans import Change
from services.quota_file import QuotaFile, QuotaRow, format_units
from services.unit_names import canonical, is_near
from services.units import UnitKind, by_code
from services.validation import fold
from services.work import Work

CODE_MAX = 40


@dataclass(frozen=True, slots=True)
class Notice:
    """A warning for the person importing: a message id and its parameters."""

    message: str
    params: dict[str, Any]

    def text(self) -> str:
        return _(self.message).format(**self.params)


@dataclass(frozen=True, slots=True)
class QuotaOutcome:
    row: QuotaRow
    unit_code: str
    unit_name: str  # as stored (a matched unit keeps its own spelling)
    parent_name: str | None
    unit_created: bool
    change: Change
    old_units: int | None = None  # the figure before, when the change is UPDATED


@dataclass(frozen=True, slots=True)
class NearMatch:
    """A name of the file that no unit has, and the units it may be (never merged silently)."""

    line: int
    name: str
    candidates: tuple[tuple[str, str], ...]  # (code, name)


@dataclass(frozen=True, slots=True)
class SlotSummary:
    start: dt.time
    end: dt.time
    quotas: int
    units: int
    created: bool  # the drive had no such slot before


@dataclass(frozen=True, slots=True)
class QuotaImport:
    year: int
    drive_id: int | None
    outcomes: tuple[QuotaOutcome, ...]  # one per quota row, in file order
    created_units: tuple[tuple[str, str, str | None], ...]  # (code, name, parent name)
    near: tuple[NearMatch, ...]
    slots: tuple[SlotSummary, ...]
    warnings: tuple[Notice, ...]
    dry_run: bool

    @property
    def quotas(self) -> int:
        return len(self.outcomes)

    @property
    def total(self) -> int:
        return sum(o.row.target_units or 0 for o in self.outcomes)

    def count(self, change: Change) -> int:
        return sum(1 for o in self.outcomes if o.change is change)


# ---------------------------------------------------------------------------- drives


_DRIVE_REF = re.compile(r"#?(\d+)|(\d{4})\s*/\s*(\S+)")


async def resolve_drive(work: Work, ref: str | int) -> Drive:
    """A drive by its id ('12', as `drives list` shows it) or 'Y/N': plan year and Đợt number."""
    match = _DRIVE_REF.fullmatch(str(ref).strip())
    if match is None:
        raise InvalidInput(
            N_("Không hiểu đợt «{ref}». Ghi mã số của đợt (ví dụ 12) hoặc năm/đợt (ví dụ 2021/3)."),
            ref=str(ref),
        )
    if match.group(1):
        drive = await work.session.get(Drive, int(match.group(1)))
        if drive is None:
            raise NotFound(N_("Không tìm thấy đợt hiến máu có mã số {ref}."), ref=match.group(1))
        return drive
    year, number = int(match.group(2)), match.group(3).lstrip("0") or "0"
    found = [
        drive
        for drive in await work.session.scalars(
            select(Drive).where(Drive.plan_year == year).order_by(Drive.date, Drive.id)
        )
        if ((drive.plan_no or "").lstrip("0") or "0") == number
    ]
    if not found:
        raise NotFound(
            N_("Không tìm thấy đợt {number} trong kế hoạch năm {year}."), number=number, year=year
        )
    if len(found) > 1:
        raise InvalidInput(
            N_("Kế hoạch năm {year} có {n} đợt số {number}. Vui lòng ghi mã số của đợt: {ids}."),
            year=year,
            n=len(found),
            number=number,
            ids=", ".join(str(drive.id) for drive in found),
        )
    return found[0]


def _in_year(drive: Drive, year: int) -> bool:
    return drive.plan_year == year or (drive.plan_year is None and drive.date.year == year)


async def _drives_of_year(work: Work, year: int) -> list[Drive]:
    statement = select(Drive).where(
        Drive.status != Status.CANCELLED.value,
        (Drive.plan_year == year) | (Drive.plan_year.is_(None)),
    )
    return [
        d for d in await work.session.scalars(statement.order_by(Drive.id)) if _in_year(d, year)
    ]


# ---------------------------------------------------------------------------- the unit tree


@dataclass(slots=True)
class _Tree:
    """The units, by id and by canonical name, with the ones this import will create."""

    units: dict[int, Unit]
    by_key: dict[str, list[Unit]]
    codes: set[str]

    @classmethod
    async def load(cls, work: Work) -> _Tree:
        units = {u.id: u for u in await work.session.scalars(select(Unit).order_by(Unit.id))}
        by_key: dict[str, list[Unit]] = {}
        for unit in units.values():
            by_key.setdefault(canonical(unit.name), []).append(unit)
        return cls(units, by_key, {u.code for u in units.values()})

    def ancestors(self, unit: Unit) -> set[int]:
        seen: set[int] = set()
        current: Unit | None = unit
        while current is not None and current.id not in seen:
            seen.add(current.id)
            current = self.units.get(current.parent_id) if current.parent_id else None
        return seen

    def near(self, name: str) -> tuple[tuple[str, str], ...]:
        key = canonical(name)
        return tuple(
            (unit.code, unit.name)
            for other, units in self.by_key.items()
            if other != key and is_near(key, other)
            for unit in units
        )

    def new_code(self, name: str, parent_code: str | None) -> str:
        """'TNG-DHSP' for Đại học Sư phạm under TNG: the parent's code and the initials."""
        words = fold(canonical(name)).split()
        initials = "".join(w[0] if not w.isdigit() else w for w in words).upper()[:12] or "U"
        base = f"{parent_code}-{initials}" if parent_code else initials
        base = base[: CODE_MAX - 4]
        code, suffix = base, 2
        while code in self.codes:
            code, suffix = f"{base}-{suffix}", suffix + 1
        self.codes.add(code)
        return code


def guess_kind(name: str) -> UnitKind:
    """The kind of a unit by the first words of its name; 'agency' when nothing tells."""
    key = canonical(name)
    prefixes: tuple[tuple[tuple[str, ...], UnitKind], ...] = (
        (("câu lạc bộ",), UnitKind.CLUB),
        (("bệnh viện", "trung tâm y tế", "trạm y tế"), UnitKind.HOSPITAL),
        (
            ("đại học", "cao đẳng", "trung cấp", "trung học", "học viện", "trường", "khoa "),
            UnitKind.SCHOOL,
        ),
        (("công ty", "tổng công ty", "tập đoàn", "doanh nghiệp", "nhà máy"), UnitKind.COMPANY),
        (
            ("công an", "bộ chỉ huy", "quân", "sư đoàn", "trung đoàn", "lữ đoàn", "biên phòng"),
            UnitKind.ARMED_FORCES,
        ),
        (("huyện", "thị xã", "thành phố", "quận"), UnitKind.DISTRICT),
        (("xã", "phường", "thị trấn"), UnitKind.COMMUNE),
        (("tỉnh",), UnitKind.PROVINCE),
    )
    for starts, kind in prefixes:
        if key.startswith(starts):
            return kind
    return UnitKind.AGENCY


# ---------------------------------------------------------------------------- import


@dataclass(slots=True)
class _Planned:
    """Where a row of the file goes: an existing unit, or one to create under `parent`."""

    row: QuotaRow
    unit: Unit | None  # set once a new unit is created
    name: str
    code: str
    parent: _Planned | Unit | None
    new: bool

    @property
    def parent_name(self) -> str | None:
        return self.parent.name if self.parent is not None else None


async def import_quotas(
    work: Work,
    parsed: QuotaFile,
    year: int,
    actor: Actor,
    *,
    parent_code: str | None = None,
    drive: str | int | None = None,
    merges: Mapping[str, str] | None = None,
    source: str = "quota",
    dry_run: bool = False,
) -> QuotaImport:
    """Store the quotas of a parsed file for `year` (or for one drive), in one transaction.

    `merges` maps a name of the file to an existing unit (its code or name): the answer to a
    near match. Bad rows of the file are not here: the caller refuses or skips them."""
    scope: Unit | None = None
    if parent_code is not None:
        scope = await by_code(work, parent_code)
        if scope is None:
            raise NotFound(N_("Không tìm thấy đơn vị có mã {code}."), code=parent_code)
    target_drive = await resolve_drive(work, drive) if drive is not None else None
    if target_drive is not None and target_drive.plan_year not in (None, year):
        raise InvalidInput(
            N_("Đợt {drive} thuộc kế hoạch năm {drive_year}, không phải năm {year}."),
            drive=target_drive.id,
            drive_year=target_drive.plan_year,
            year=year,
        )
    tree = await _Tree.load(work)
    merged = _resolve_merges(tree, merges or {})
    planned, near = _plan_units(tree, parsed, scope, merged)
    if not dry_run:
        await _create_units(work, planned)
    drive_id = target_drive.id if target_drive is not None else None
    outcomes = await _store_quotas(work, planned, year, drive_id, source, dry_run)
    slots: tuple[SlotSummary, ...] = ()
    if target_drive is not None:
        slots = await _fill_slots(work, target_drive, parsed, actor, dry_run)
    result = QuotaImport(
        year=year,
        drive_id=drive_id,
        outcomes=tuple(outcomes),
        created_units=tuple((p.code, p.name, p.parent_name) for p in planned.values() if p.new),
        near=tuple(near),
        slots=slots,
        warnings=(),
        dry_run=dry_run,
    )
    warnings = await _compare_totals(work, result, scope, target_drive)
    result = dataclasses.replace(result, warnings=tuple(warnings))
    if not dry_run:
        record(
            work,
            actor,
            "quota.import",
            None,
            year=year,
            drive=drive_id,
            source=source,
            new=result.count(Change.NEW),
            updated=result.count(Change.UPDATED),
            units_created=len(result.created_units),
        )
    return result


def _resolve_merges(tree: _Tree, merges: Mapping[str, str]) -> dict[str, Unit]:
    """canonical name of the file -> the unit a person said it is (by code or by name)."""
    resolved: dict[str, Unit] = {}
    by_code_ = {unit.code: unit for unit in tree.units.values()}
    for name, target in merges.items():
        unit = by_code_.get(target.strip())
        if unit is None:
            found = tree.by_key.get(canonical(target), [])
            unit = found[0] if len(found) == 1 else None
        if unit is None:
            raise NotFound(N_("Không tìm thấy đơn vị «{name}» để gộp vào."), name=target)
        resolved[canonical(name)] = unit
    return resolved


def _plan_units(
    tree: _Tree, parsed: QuotaFile, scope: Unit | None, merged: Mapping[str, Unit]
) -> tuple[dict[int, _Planned], list[NearMatch]]:
    """Each row of the file (by line) and the unit it is, found or to be created."""
    planned: dict[int, _Planned] = {}
    groups: dict[str, _Planned] = {}
    near: list[NearMatch] = []
    for row in parsed.rows:
        parent: _Planned | Unit | None = groups[row.group] if row.group else scope
        key = canonical(row.name)
        unit = merged.get(key) or _find(tree, row, key, scope)
        if unit is None:
            candidates = tree.near(row.name)
            if candidates:
                near.append(NearMatch(row.line, row.name, candidates))
            parent_code = parent.code if parent is not None else None
            code = tree.new_code(row.name, parent_code)
            plan = _Planned(row, None, row.name, code, parent, new=True)
        else:
            stored_parent = tree.units.get(unit.parent_id) if unit.parent_id else None
            plan = _Planned(row, unit, unit.name, unit.code, stored_parent, new=False)
        planned[row.line] = plan
        if row.is_group:
            groups[row.name] = plan
    return planned, near


def _find(tree: _Tree, row: QuotaRow, key: str, scope: Unit | None) -> Unit | None:
    found = tree.by_key.get(key, [])
    if len(found) > 1 and scope is not None:
        found = [unit for unit in found if scope.id in tree.ancestors(unit)]
    if len(found) > 1:
        raise InvalidInput(
            N_(
                "Dòng {line}: có {n} đơn vị cùng tên «{name}» ({codes}). Vui lòng cho biết "
                "đơn vị cha, hoặc chọn đúng đơn vị theo mã."
            ),
            line=row.line,
            n=len(found),
            name=row.name,
            codes=", ".join(unit.code for unit in found),
        )
    return found[0] if found else None


async def _create_units(work: Work, planned: Mapping[int, _Planned]) -> None:
    """Create the new units, parents first (a group heading comes before its rows)."""
    for plan in planned.values():
        if not plan.new:
            continue
        parent = plan.parent.unit if isinstance(plan.parent, _Planned) else plan.parent
        unit = Unit(
            code=plan.code,
            name=plan.name,
            kind=guess_kind(plan.name).value,
            parent_id=parent.id if parent is not None else None,
            search_name=fold(plan.name),
        )
        work.session.add(unit)
        await work.session.flush()
        plan.unit = unit


async def _store_quotas(
    work: Work,
    planned: Mapping[int, _Planned],
    year: int,
    drive_id: int | None,
    source: str,
    dry_run: bool,
) -> list[QuotaOutcome]:
    statement = select(Quota).where(Quota.year == year)
    statement = statement.where(
        Quota.drive_id.is_(None) if drive_id is None else Quota.drive_id == drive_id
    )
    stored = {quota.unit_id: quota for quota in await work.session.scalars(statement)}
    now = work.now()
    outcomes: list[QuotaOutcome] = []
    for plan in planned.values():
        row = plan.row
        if row.target_units is None:
            continue
        fields: dict[str, Any] = {
            "target_units": row.target_units,
            "months": list(row.months),
            "slot_start": row.slot_start,
            "slot_end": row.slot_end,
            "notes": row.notes,
        }
        existing = stored.get(plan.unit.id) if plan.unit is not None else None
        outcome = QuotaOutcome(
            row=row,
            unit_code=plan.code,
            unit_name=plan.name,
            parent_name=plan.parent_name,
            unit_created=plan.new,
            change=Change.NEW,
        )
        if existing is None:
            if not dry_run and plan.unit is not None:
                quota = Quota(
                    unit_id=plan.unit.id,
                    year=year,
                    drive_id=drive_id,
                    source=f"{source}:{row.line}"[:300],
                    created_at=now,
                    updated_at=now,
                    **fields,
                )
                work.session.add(quota)
                stored[plan.unit.id] = quota
            outcomes.append(outcome)
            continue
        # The source names a file and row: the same figures from another file are no change.
        differs = {name: v for name, v in fields.items() if getattr(existing, name) != v}
        old = existing.target_units if "target_units" in differs else None
        if differs and not dry_run:
            for name, value in differs.items():
                setattr(existing, name, value)
            existing.source, existing.updated_at = f"{source}:{row.line}"[:300], now
        change = Change.UPDATED if differs else Change.UNCHANGED
        outcomes.append(dataclasses.replace(outcome, change=change, old_units=old))
    if not dry_run:
        await work.session.flush()
    return outcomes


async def _fill_slots(
    work: Work, drive: Drive, parsed: QuotaFile, actor: Actor, dry_run: bool
) -> tuple[SlotSummary, ...]:
    """The drive's slots with the quotas arriving in each; missing slots are created with
    room for the units expected in them, existing ones are kept as they are."""
    per_slot: dict[tuple[dt.time, dt.time], list[QuotaRow]] = {}
    for row in parsed.quotas:
        if row.slot_start is not None and row.slot_end is not None:
            per_slot.setdefault((row.slot_start, row.slot_end), []).append(row)
    if not per_slot:
        return ()
    existing = {(slot.start_time, slot.end_time): slot for slot in drive.slots}
    wanted = [SlotSpec(slot.start_time, slot.end_time, slot.capacity) for slot in drive.slots] + [
        SlotSpec(start, end, max(sum(r.target_units or 0 for r in rows), 1))
        for (start, end), rows in per_slot.items()
        if (start, end) not in existing
    ]
    wanted.sort(key=lambda spec: spec.start)
    for before, after in itertools.pairwise(wanted):
        if after.start < before.end:
            raise InvalidInput(
                N_("Các khung giờ {first} và {second} chồng lên nhau."),
                first=f"{before.start:%H:%M}-{before.end:%H:%M}",
                second=f"{after.start:%H:%M}-{after.end:%H:%M}",
            )
    if len(wanted) > drive_service.MAX_SLOTS:
        raise InvalidInput(N_("Tối đa {max} khung giờ cho một đợt."), max=drive_service.MAX_SLOTS)
    if len(wanted) > len(existing) and not dry_run:
        await drive_service.set_slots(work, drive, wanted, actor)
    return tuple(
        SlotSummary(
            start,
            end,
            quotas=len(rows),
            units=sum(r.target_units or 0 for r in rows),
            created=(start, end) not in existing,
        )
        for (start, end), rows in sorted(per_slot.items())
    )


async def _compare_totals(
    work: Work, result: QuotaImport, scope: Unit | None, drive: Drive | None
) -> list[Notice]:
    """Real plans disagree with their quota tables: say by how much, never refuse."""
    notices: list[Notice] = []
    total = result.total
    if drive is not None:
        if drive.target_units and drive.target_units != total:
            notices.append(
                Notice(
                    N_(
                        "Các chỉ tiêu trong tệp cộng lại {quotas} đơn vị, còn chỉ tiêu của đợt "
                        "là {drives} đơn vị (chênh {difference})."
                    ),
                    _difference(total, drive.target_units),
                )
            )
        return notices
    drives = await _drives_of_year(work, result.year)
    if scope is not None:
        tree = await _Tree.load(work)
        drives = [
            d
            for d in drives
            if d.unit_id is not None
            and d.unit_id in tree.units
            and scope.id in tree.ancestors(tree.units[d.unit_id])
        ]
        own = await work.session.scalar(
            select(Quota).where(
                Quota.unit_id == scope.id, Quota.year == result.year, Quota.drive_id.is_(None)
            )
        )
        if own is not None and own.target_units != total:
            notices.append(
                Notice(
                    N_(
                        "Chỉ tiêu của {unit} là {own} đơn vị, còn các chỉ tiêu trong tệp cộng "
                        "lại {quotas} đơn vị (chênh {difference})."
                    ),
                    {"unit": scope.name, **_difference(total, own.target_units, "own")},
                )
            )
    planned = sum(d.target_units for d in drives)
    if drives and planned != total:
        notices.append(
            Notice(
                N_(
                    "Các chỉ tiêu trong tệp cộng lại {quotas} đơn vị, còn các đợt hiến máu năm "
                    "{year} cộng lại {drives} đơn vị (chênh {difference})."
                ),
                {"year": result.year, **_difference(total, planned)},
            )
        )
    return notices


def _difference(quotas: int, other: int, name: str = "drives") -> dict[str, Any]:
    sign = "+" if quotas > other else "−"
    return {
        "quotas": format_units(quotas),
        name: format_units(other),
        "difference": f"{sign}{format_units(abs(quotas - other))}",
    }


# ---------------------------------------------------------------------------- figures


@dataclass(frozen=True, slots=True)
class QuotaFigure:
    """A unit's quota for a year beside its drives and what they have collected.

    `collected` counts the donations recorded at the drives the unit organises in the year
    (one donation, one unit of blood, whatever its volume). A drive organised by several units
    counts for each of them. `expected_by_now` is the share of the quota due by the end of the
    last month that has passed, spread evenly over the unit's expected months; a unit without
    expected months is never behind."""

    unit_id: int
    code: str
    name: str
    parent_name: str | None
    quota: int
    months: tuple[int, ...]
    drives: int
    drive_targets: int
    collected: int
    percent: int | None  # collected / quota, None for a quota of 0
    expected_by_now: int | None
    behind: bool


async def quota_figures(work: Work, year: int, unit_code: str | None = None) -> list[QuotaFigure]:
    """Per unit with a quota for `year` (within `unit_code`'s subtree when given), file order."""
    tree = await _Tree.load(work)
    quotas = list(
        await work.session.scalars(
            select(Quota).where(Quota.year == year, Quota.drive_id.is_(None)).order_by(Quota.id)
        )
    )
    if unit_code is not None:
        scope = await by_code(work, unit_code)
        if scope is None:
            raise NotFound(N_("Không tìm thấy đơn vị có mã {code}."), code=unit_code)
        quotas = [
            q
            for q in quotas
            if q.unit_id in tree.units and scope.id in tree.ancestors(tree.units[q.unit_id])
        ]
    drives = await _drives_of_year(work, year)
    organised = _organisers(drives, {q.unit_id: tree.units[q.unit_id] for q in quotas})
    collected = await _collected(work, [d.id for d in drives])
    today = work.today()
    figures: list[QuotaFigure] = []
    for quota in quotas:
        unit = tree.units[quota.unit_id]
        parent = tree.units.get(unit.parent_id) if unit.parent_id else None
        own = organised.get(unit.id, [])
        got = sum(collected.get(d.id, 0) for d in own)
        months = tuple(quota.months or ())
        expected = _expected_by_now(quota.target_units, months, year, today)
        figures.append(
            QuotaFigure(
                unit_id=unit.id,
                code=unit.code,
                name=unit.name,
                parent_name=parent.name if parent else None,
                quota=quota.target_units,
                months=months,
                drives=len(own),
                drive_targets=sum(d.target_units for d in own),
                collected=got,
                percent=round(got * 100 / quota.target_units) if quota.target_units else None,
                expected_by_now=expected,
                behind=expected is not None and got < expected,
            )
        )
    return figures


def _organisers(drives: Iterable[Drive], units: Mapping[int, Unit]) -> dict[int, list[Drive]]:
    """unit id -> the drives it organises: its own (`unit_id`) or naming it as an organiser."""
    by_key: dict[str, list[int]] = {}
    for unit in units.values():
        by_key.setdefault(canonical(unit.name), []).append(unit.id)
    result: dict[int, list[Drive]] = {}
    for drive in drives:
        ids = {drive.unit_id} if drive.unit_id in units else set()
        for name in organiser_names(drive.organiser or ""):
            ids.update(by_key.get(canonical(name), []))
        for unit_id in ids:
            if unit_id is not None:
                result.setdefault(unit_id, []).append(drive)
    return result


def organiser_names(text: str) -> list[str]:
    """The organisers a plan's cell names: 'Công ty Điện lực tỉnh, Đoàn khối các cơ quan tỉnh'."""
    parts = [part.strip() for part in re.split(r"[,;\n]+", text) if part.strip()]
    return [text.strip(), *parts] if len(parts) > 1 else parts


async def _collected(work: Work, drive_ids: list[int]) -> dict[int, int]:
    if not drive_ids:
        return {}
    rows = await work.session.execute(
        select(Donation.drive_id, func.count(Donation.id))
        .where(Donation.drive_id.in_(drive_ids))
        .group_by(Donation.drive_id)
    )
    return {drive_id: int(count) for drive_id, count in rows.all() if drive_id is not None}


def _expected_by_now(quota: int, months: tuple[int, ...], year: int, today: dt.date) -> int | None:
    if not months:
        return None
    passed = sum(1 for month in months if (year, month) < (today.year, today.month))
    return math.ceil(quota * passed / len(months))
