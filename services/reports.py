"""The year's report (báo cáo tổng kết năm) of a committee: the drives of the reporting year
(1/12 of Y-1 to 30/11 of Y) with the people each mobilised and the units it collected, each
unit's quota beside what it collected, and the honours due by milestone.

Figures come from recorded data only, so a report can be rebuilt at any time:
- people mobilised at a drive: distinct people who pledged (and did not withdraw), checked in
  or gave blood there; the year's total adds the drives up ("lượt người", as reports count);
- units: donations recorded at the drive (one donation, one unit, whatever its volume);
- honours: each donor whose count of recorded donations passed a milestone during the year
  (erased people are counted in the figures but, having no name, listed for no honour).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select, union

from db.models import Donation, Drive, Person, Pledge, Unit
from locales import N_
from services import quotas
from services.audit import Actor, record
from services.donations import MILESTONES
from services.drives import Status
from services.errors import InvalidInput, NotAllowed, NotFound
from services.quotas import QuotaFigure
from services.roles import RANK, Role, roles_of
from services.tallies import year_bounds
from services.units import by_code, descendants, display_name
from services.work import Work

FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True, slots=True)
class DriveResult:
    drive_id: int
    date: dt.date
    date_is_month_only: bool
    title: str
    place: str
    target: int
    people: int  # mobilised: distinct people who pledged, checked in or donated there
    units: int  # donations recorded at the drive

    @property
    def percent(self) -> int | None:
        return round(100 * self.units / self.target) if self.target else None


@dataclass(frozen=True, slots=True)
class Honour:
    """A donor whose `milestone`-th donation fell in the year."""

    milestone: int
    person_id: int
    name: str
    unit_name: str | None
    reached_on: dt.date


@dataclass(frozen=True, slots=True)
class YearReport:
    year: int
    start: dt.date
    end: dt.date
    unit_code: str | None
    unit_name: str | None
    drives: tuple[DriveResult, ...]
    quotas: tuple[QuotaFigure, ...]
    honours: tuple[Honour, ...]

    @property
    def people(self) -> int:
        return sum(d.people for d in self.drives)

    @property
    def units(self) -> int:
        return sum(d.units for d in self.drives)

    @property
    def target(self) -> int:
        return sum(d.target for d in self.drives)

    @property
    def percent(self) -> int | None:
        return round(100 * self.units / self.target) if self.target else None

    def honours_by_milestone(self) -> list[tuple[int, int]]:
        """(milestone, people reaching it), every milestone reached, highest first."""
        counts: dict[int, int] = {}
        for honour in self.honours:
            counts[honour.milestone] = counts.get(honour.milestone, 0) + 1
        return sorted(counts.items(), reverse=True)


def default_year(day: dt.date) -> int:
    """The reporting year `day` falls in (December belongs to the next year)."""
    return day.year + 1 if day.month == 12 else day.year


async def check_may_report(work: Work, actor: Actor, unit: Unit | None) -> None:
    """The CLI and the system may report on anything; a person needs the committee role over
    the unit (an admin, anywhere; without a unit, only an admin)."""
    if actor.person_id is None:
        return
    held = await roles_of(work, actor.person_id)
    if any(role is Role.ADMIN for role, _unit in held):
        return
    managed = [u for role, u in held if RANK[role] >= RANK[Role.COMMITTEE]]
    if not managed:
        raise NotAllowed(N_("Việc này dành cho thành viên Ban chỉ đạo."))
    if unit is not None:
        for own in managed:
            if unit.id in await descendants(work, own.id):
                return
    raise NotAllowed(N_("Đơn vị này nằm ngoài phạm vi bạn phụ trách."))


async def year_report(
    work: Work, year: int, actor: Actor, unit_code: str | None = None
) -> YearReport:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(
            N_("Năm báo cáo phải từ {first} đến {last}."), first=FIRST_YEAR, last=LAST_YEAR
        )
    unit = None
    if unit_code is not None:
        unit = await by_code(work, unit_code)
        if unit is None:
            raise NotFound(N_("Không tìm thấy đơn vị có mã {code}."), code=unit_code)
    await check_may_report(work, actor, unit)
    scope = await descendants(work, unit.id) if unit is not None else None
    start, end = year_bounds(year)
    found = [
        drive
        for drive in await work.session.scalars(
            select(Drive)
            .where(Drive.date.between(start, end), Drive.status != Status.CANCELLED.value)
            .order_by(Drive.date, Drive.id)
        )
        if scope is None or drive.unit_id in scope
    ]
    results = await _drive_results(work, found)
    honours = await _honours(work, start, end, [d.id for d in found], scope)
    figures = await quotas.quota_figures(work, year, unit_code)
    record(
        work,
        actor,
        "report.year",
        None,
        year=year,
        unit=unit_code,
        drives=len(results),
        honours=len(honours),
    )
    return YearReport(
        year=year,
        start=start,
        end=end,
        unit_code=unit_code,
        unit_name=await display_name(work, unit.id) if unit is not None else None,
        drives=tuple(results),
        quotas=tuple(figures),
        honours=tuple(honours),
    )


async def _drive_results(work: Work, found: Sequence[Drive]) -> list[DriveResult]:
    ids = [drive.id for drive in found]
    if not ids:
        return []
    # UNION (not UNION ALL) keeps each (drive, person) once: a donor who pledged, checked in
    # and gave blood is one person mobilised.
    came = union(
        select(Pledge.drive_id, Pledge.person_id).where(
            Pledge.drive_id.in_(ids),
            or_(Pledge.status != "cancelled", Pledge.checked_in_at.is_not(None)),
        ),
        select(Donation.drive_id, Donation.person_id).where(Donation.drive_id.in_(ids)),
    ).subquery()
    people = {
        drive_id: int(n)
        for drive_id, n in await work.session.execute(
            select(came.c.drive_id, func.count()).group_by(came.c.drive_id)
        )
    }
    units = {
        drive_id: int(n)
        for drive_id, n in await work.session.execute(
            select(Donation.drive_id, func.count(Donation.id))
            .where(Donation.drive_id.in_(ids))
            .group_by(Donation.drive_id)
        )
    }
    return [
        DriveResult(
            drive_id=drive.id,
            date=drive.date,
            date_is_month_only=drive.date_is_month_only,
            title=drive.title,
            place=drive.place,
            target=drive.target_units,
            people=people.get(drive.id, 0),
            units=units.get(drive.id, 0),
        )
        for drive in found
    ]


async def _honours(
    work: Work, start: dt.date, end: dt.date, drive_ids: list[int], scope: set[int] | None
) -> list[Honour]:
    """Donors of the year in scope (at its drives, or living in its units) whose count of
    donations passed a milestone between `start` and `end`."""
    in_year = select(Donation.person_id).where(Donation.donated_on.between(start, end))
    if scope is not None:
        in_year = in_year.join(Person, Person.id == Donation.person_id).where(
            or_(Donation.drive_id.in_(drive_ids), Person.unit_id.in_(scope))
        )
    rows = await work.session.execute(
        select(Donation.person_id, Donation.donated_on)
        .where(Donation.person_id.in_(in_year.distinct()), Donation.donated_on <= end)
        .order_by(Donation.person_id, Donation.donated_on, Donation.id)
    )
    reached: list[tuple[int, int, dt.date]] = []  # (milestone, person id, date)
    count, person = 0, None
    for person_id, donated_on in rows.all():
        count = count + 1 if person_id == person else 1
        person = person_id
        if donated_on >= start and count in MILESTONES:
            reached.append((count, person_id, donated_on))
    if not reached:
        return []
    people = {
        person_id: (name, unit_id)
        for person_id, name, unit_id in await work.session.execute(
            select(Person.id, Person.full_name, Person.unit_id).where(
                Person.id.in_(in_year.distinct()), Person.status != "erased"
            )
        )
    }
    unit_names = {
        unit_id: name for unit_id, name in await work.session.execute(select(Unit.id, Unit.name))
    }
    honours = [
        Honour(
            milestone,
            person_id,
            people[person_id][0] or "",
            unit_names.get(people[person_id][1] or 0),
            day,
        )
        for milestone, person_id, day in reached
        if person_id in people
    ]
    honours.sort(key=lambda h: (-h.milestone, h.name, h.person_id))
    return honours
