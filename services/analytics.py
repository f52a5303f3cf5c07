"""Mobilisation analytics for committees and club chairs: do reminders work, who comes back,
who is lapsing, who is due an honour. Every figure is one SQL statement (GROUP BY, EXISTS; no
window functions, no Python loop over donors); a breakdown by unit or club is one more.

Whose figures (`Scope`): a committee member sees the people of their unit tree
(`Person.unit_id`), broken down by the units just below it; a club chair sees the active
members (`club_member.removed_at` NULL) of the clubs in their scope, broken down by club; the
CLI sees everyone (or a unit's tree with `--unit`), broken down by top unit. A person in two
clubs counts once in the total and once in each club.

Erased people (`person.status = 'erased'`) keep their unit, club rows and donations: they are
counted in every figure, and never listed by name (lapsed list, honours list). Erasure
deletes a person's messages with their chats, so the funnel no longer counts theirs.

Figures:
- **Return within 16 weeks** (`repeat`): each donation opens a window when the donor becomes
  eligible again, on e = its date + the interval of its kind (`[rules]`: 84 days after whole
  blood, 14 after platelets or plasma). The year's windows are those with e in the reporting
  year (1/12 of Y-1 to 30/11 of Y) that have closed by today (e + 112 days before today), so a
  rate never moves later. A window counts as *returned* when the same person has a later
  donation on or before e + 16 weeks (112 days). Rate = returned / windows (a donor with two
  windows in the year counts twice).
- **Repeat donors** (`repeat`): of the distinct people who gave blood in the reporting year
  (up to today), the share who had given before the year began.
- **Reminder funnel** (`funnel`): for each kind of message (`services.appeals.APPEAL_KEYS` and
  `drive_reminder`), the outbox rows to people created in each month of the reporting year
  (local time):
  *sent* = every such row (pending, sent, failed or dropped; not the appeals the 30-day cap
  left out, status `capped`, which were never meant to go); *delivered* = status `sent`;
  *pledged* = delivered, and the person holds a live pledge (not withdrawn, or checked in)
  made within 7 days of delivery (`sent_at`): for a message about a drive (its params name a
  `drive_id`: drive notices and reminders) a pledge to that drive made before then (a
  reminder's pledge came first: the stage reads "kept the pledge"), for any other (donate
  again, nudges, broadcasts) a pledge to any drive made in those 7 days; *donated* = pledged,
  and a donation recorded at that pledge's drive. A pledge counts at its first making.
- **Lapsed** (`lapsed`): active people whose `next_eligible_on` (after a donation or a
  deferral) is 182 days ago or more, with no live pledge (status `pledged`) to a drive of
  today or later that is not cancelled. People who never gave blood and were never deferred
  have no date and are not lapsed: they are never-donors, not lapsing donors. A chair's list
  names only members who agreed to share their details with the club (the others are counted).
- **Honours** (`honours`): a person reaches milestone N (5, 10, 15, 20, 30, 40, 50, 70, 100)
  in year Y when their count of donations up to 30/11/Y is at least N and their count up to
  30/11/(Y-1) is below N; the highest milestone reached is reported (one line per person).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Select,
    and_,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from db.models import ClubMember, Consent, Donation, Drive, Outbox, Person, Pledge, Unit
from locales import N_
from services import appeals
from services.appeal_cap import CAPPED
from services.audit import Actor, record
from services.campaigns import YEAR_MONTHS, month_bounds
from services.donations import MILESTONES
from services.errors import NotFound
from services.tallies import scope_of, year_bounds
from services.units import UnitKind, by_code, descendants, path
from services.work import Work

RETURN_WEEKS = 16
RETURN_DAYS = RETURN_WEEKS * 7
PLEDGE_DAYS = 7
LAPSED_DAYS = 182  # about 6 months
HONOUR_MILESTONES = tuple(m for m in MILESTONES if m >= 5)
FUNNEL_EXTRA_KEYS = frozenset({"drive_reminder"})
UNKNOWN_UNIT = 0  # the group of people with no unit (CLI, whole country)


def funnel_kinds() -> list[str]:
    """The kinds of message the funnel follows: every appeal, and reminders of a pledge."""
    return sorted(appeals.APPEAL_KEYS | FUNNEL_EXTRA_KEYS)


# ---------------------------------------------------------------------------- SQL helpers


class _DatePlusDays(FunctionElement[dt.date]):
    """date + n days (n: a constant `_int`), on SQLite (date(d, '+n days')) and PostgreSQL
    (d + n)."""

    type = Date()
    inherit_cache = True
    name = "date_plus_days"


@compiles(_DatePlusDays, "sqlite")
def _date_plus_sqlite(element: _DatePlusDays, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, '+{compiler.process(days, **kw)} days')"


@compiles(_DatePlusDays)
def _date_plus_default(element: _DatePlusDays, compiler: SQLCompiler, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"({compiler.process(day, **kw)} + ({compiler.process(days, **kw)}))"


class _DaysBetween(FunctionElement[float]):
    """Days (fractional) from timestamp a to timestamp b."""

    type = Float()
    inherit_cache = True
    name = "days_between"


@compiles(_DaysBetween, "sqlite")
def _days_sqlite(element: _DaysBetween, compiler: SQLCompiler, **kw: Any) -> str:
    a, b = list(element.clauses)
    return f"(julianday({compiler.process(b, **kw)}) - julianday({compiler.process(a, **kw)}))"


@compiles(_DaysBetween)
def _days_default(element: _DaysBetween, compiler: SQLCompiler, **kw: Any) -> str:
    a, b = list(element.clauses)
    return (
        f"(EXTRACT(EPOCH FROM ({compiler.process(b, **kw)} - {compiler.process(a, **kw)}))"
        " / 86400.0)"
    )


def _int(value: int) -> ColumnElement[int]:
    """An integer written into the statement (PostgreSQL cannot type `date + $1`)."""
    return literal_column(str(int(value)))


def _day(value: dt.date) -> ColumnElement[dt.date]:
    """A date written into the statement ('2025-11-30': text on SQLite, a date literal on
    PostgreSQL)."""
    return literal_column(f"'{value.isoformat()}'", Date())


async def no_jit(work: Work) -> None:
    """PostgreSQL compiles a statement it believes costly (JIT): the reports' correlated
    EXISTS look costly and run in a second, so compiling them took longer than running them
    (1.4 s of 2.0 s measured). Off for the rest of this transaction only."""
    if work.session.get_bind().dialect.name == "postgresql":
        await work.session.execute(text("SET LOCAL jit = off"))


# ---------------------------------------------------------------------------- scope


@dataclass(frozen=True, slots=True)
class Group:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose figures: a unit tree (committee, CLI) or the members of clubs (a chair)."""

    unit_id: int | None  # the root; None: everything
    name: str | None
    clubs: bool
    units: frozenset[int] | None  # the tree (None: everything)
    club_ids: tuple[int, ...] = ()
    groups: tuple[Group, ...] = ()
    # unit id -> the group (a unit just below the root) it falls in
    group_of: dict[int, int] = field(default_factory=dict)

    def members(self) -> Select[int]:
        return select(ClubMember.person_id).where(
            ClubMember.club_id.in_(self.club_ids), ClubMember.removed_at.is_(None)
        )

    def person_filter(self) -> ColumnElement[bool]:
        """A condition on `Person`: the person is in the scope."""
        if self.clubs:
            return Person.id.in_(self.members())
        if self.units is None:
            return literal_column("1") == literal_column("1")
        return Person.unit_id.in_(sorted(self.units))


async def _tree(work: Work) -> tuple[dict[int, int | None], dict[int, str]]:
    rows = (await work.session.execute(select(Unit.id, Unit.parent_id, Unit.name))).all()
    return {u: p for u, p, _n in rows}, {u: n for u, _p, n in rows}


async def unit_scope(work: Work, unit_code: str | None) -> Scope:
    """A unit's tree by people's units (the CLI); every unit when None."""
    parents, names = await _tree(work)
    root: Unit | None = None
    if unit_code is not None:
        root = await by_code(work, unit_code)
        if root is None:
            raise NotFound(N_("Không tìm thấy đơn vị có mã {code}."), code=unit_code)
    return await _unit_scope(work, root, parents, names)


async def _unit_scope(
    work: Work, root: Unit | None, parents: dict[int, int | None], names: dict[int, str]
) -> Scope:
    group_of: dict[int, int] = {}
    for unit_id in parents:
        chain, seen = [unit_id], {unit_id}
        while (parent := parents.get(chain[-1])) is not None and parent not in seen:
            chain.append(parent)
            seen.add(parent)
        if root is None:
            group_of[unit_id] = chain[-1]
        elif root.id in chain:
            index = chain.index(root.id)
            group_of[unit_id] = chain[index - 1] if index > 0 else root.id
    ids = sorted(set(group_of.values()), key=lambda g: (g != (root.id if root else -1), names[g]))
    groups = [Group(g, names[g]) for g in ids]
    if root is None:
        groups.append(Group(UNKNOWN_UNIT, ""))
    return Scope(
        unit_id=root.id if root else None,
        name=await path(work, root) if root else None,
        clubs=False,
        units=frozenset(group_of) if root is not None else None,
        groups=tuple(groups),
        group_of=group_of,
    )


async def person_scope(work: Work, person_id: int) -> Scope:
    """What `/analytics` and `/lapsed` show this person: a committee member their unit tree,
    a chair the members of their clubs (refused for anyone else)."""
    found = await scope_of(work, person_id)
    parents, names = await _tree(work)
    root = await work.session.get(Unit, found.unit_id)
    assert root is not None
    if not found.clubs:
        return await _unit_scope(work, root, parents, names)
    tree = await descendants(work, root.id)
    clubs = list(
        await work.session.scalars(
            select(Unit)
            .where(Unit.id.in_(sorted(tree)), Unit.kind == UnitKind.CLUB.value)
            .order_by(Unit.name)
        )
    )
    return Scope(
        unit_id=root.id,
        name=await path(work, root),
        clubs=True,
        units=frozenset(tree),
        club_ids=tuple(c.id for c in clubs),
        groups=tuple(Group(c.id, c.name) for c in clubs),
    )


def _grouped(scope: Scope, statement: Select[Any], person_id: Any) -> tuple[Select[Any], Any]:
    """`statement` joined to what a person's group is read from, and the group column."""
    if scope.clubs:
        joined = statement.join(
            ClubMember,
            and_(
                ClubMember.person_id == person_id,
                ClubMember.removed_at.is_(None),
                ClubMember.club_id.in_(scope.club_ids),
            ),
        )
        return joined, ClubMember.club_id
    joined = statement.join(Person, Person.id == person_id)
    if scope.units is not None:
        joined = joined.where(Person.unit_id.in_(sorted(scope.units)))
    return joined, Person.unit_id


def _scoped(scope: Scope, statement: Select[Any], person_id: Any) -> Select[Any]:
    """`statement` limited to the people of the scope (a join to `person` for a unit tree:
    cheaper than IN over a million ids)."""
    if scope.clubs:
        return statement.where(person_id.in_(scope.members()))
    if scope.units is None:
        return statement
    return statement.join(Person, Person.id == person_id).where(scope.person_filter())


def _fold(scope: Scope, rows: Sequence[Any]) -> dict[int, list[int]]:
    """Rows (group column, n1, n2 ...) summed into the scope's groups."""
    result: dict[int, list[int]] = {}
    for raw_group, *values in rows:
        if scope.clubs:
            group = int(raw_group)
        elif raw_group is None:
            group = UNKNOWN_UNIT
        else:
            group = scope.group_of.get(int(raw_group), UNKNOWN_UNIT)
        into = result.setdefault(group, [0] * len(values))
        for index, value in enumerate(values):
            into[index] += int(value or 0)
    return result


# ---------------------------------------------------------------------------- rates


@dataclass(frozen=True, slots=True)
class Rate:
    part: int
    whole: int

    @property
    def percent(self) -> float | None:
        """One decimal, half away from zero (the figure shown)."""
        if not self.whole:
            return None
        tenths = (self.part * 2000 + self.whole) // (2 * self.whole)
        return tenths / 10

    def text(self) -> str:
        percent = self.percent
        if percent is None:
            return "–"
        shown = f"{percent:.1f}".replace(".", ",")
        return f"{shown[:-2] if shown.endswith(',0') else shown}%"


# ---------------------------------------------------------------------------- repeat


@dataclass(frozen=True, slots=True)
class RepeatRow:
    group: Group | None  # None: the whole scope
    windows: int
    returned: int
    donors: int
    repeat_donors: int

    @property
    def returned_rate(self) -> Rate:
        return Rate(self.returned, self.windows)

    @property
    def repeat_rate(self) -> Rate:
        return Rate(self.repeat_donors, self.donors)


@dataclass(frozen=True, slots=True)
class RepeatReport:
    year: int
    start: dt.date
    end: dt.date
    scope_name: str | None
    clubs: bool
    windows_until: dt.date  # windows opening after this day are still open
    total: RepeatRow
    rows: tuple[RepeatRow, ...]


def _window_statement(work: Work, start: dt.date, last_open: dt.date) -> tuple[Select[Any], Any]:
    """The windows of the year and whether each was followed by a donation in time."""
    opened = aliased(Donation)
    later = aliased(Donation)
    whole, other = work.rules.whole_blood_interval_days, work.rules.apheresis_interval_days
    is_whole = opened.kind == "whole_blood"

    def opened_between(interval: int) -> ColumnElement[bool]:
        return opened.donated_on.between(
            start - dt.timedelta(days=interval), last_open - dt.timedelta(days=interval)
        )

    # One range scan of the (date, person, kind) index, then each kind's own range.
    in_year = and_(
        opened.donated_on.between(
            start - dt.timedelta(days=max(whole, other)),
            last_open - dt.timedelta(days=min(whole, other)),
        ),
        or_(and_(is_whole, opened_between(whole)), and_(~is_whole, opened_between(other))),
    )
    deadline = case(
        (is_whole, _DatePlusDays(opened.donated_on, _int(whole + RETURN_DAYS))),
        else_=_DatePlusDays(opened.donated_on, _int(other + RETURN_DAYS)),
    )
    returned = exists().where(
        later.person_id == opened.person_id,
        later.donated_on > opened.donated_on,
        later.donated_on <= deadline,
    )
    statement = select(
        func.count(opened.id), func.coalesce(func.sum(case((returned, 1), else_=0)), 0)
    ).where(in_year)
    return statement, opened.person_id


def _donor_statement(start: dt.date, until: dt.date) -> tuple[Select[Any], Any]:
    """The year's donors and those among them who gave before it: one streaming pass over the
    (person, date) index, each person's first and latest donation."""
    year_donors = (
        select(Donation.person_id, func.min(Donation.donated_on).label("first"))
        .where(Donation.donated_on <= until)
        .group_by(Donation.person_id)
        .having(func.max(Donation.donated_on) >= start)
        .subquery()
    )
    statement = select(
        func.count(year_donors.c.person_id),
        func.coalesce(func.sum(case((year_donors.c.first < start, 1), else_=0)), 0),
    ).select_from(year_donors)
    return statement, year_donors.c.person_id


async def repeat(work: Work, scope: Scope, year: int) -> RepeatReport:
    await no_jit(work)
    start, end = year_bounds(year)
    today = work.today()
    last_open = min(end, today - dt.timedelta(days=RETURN_DAYS + 1))
    until = min(end, today)
    windows, opened_by = _window_statement(work, start, last_open)
    donors, donor_col = _donor_statement(start, until)
    figures: dict[int | None, list[int]] = {}
    for statement, person_col, offset in ((windows, opened_by, 0), (donors, donor_col, 2)):
        joined, group_col = _grouped(scope, statement, person_col)
        rows = (await work.session.execute(joined.add_columns(group_col).group_by(group_col))).all()
        folded = _fold(scope, [(row[2], row[0], row[1]) for row in rows])
        for group, values in folded.items():
            figures.setdefault(group, [0, 0, 0, 0])[offset : offset + 2] = values
        if scope.clubs:  # a person in two clubs counts once in the total
            total = list((await work.session.execute(_scoped(scope, statement, person_col))).one())
        else:  # each person is in one unit: the total adds the units up
            total = [sum(values[i] for values in folded.values()) for i in (0, 1)]
        figures.setdefault(None, [0, 0, 0, 0])[offset : offset + 2] = [int(v) for v in total]
    total_row = RepeatRow(None, *figures[None])
    rows_out = [
        RepeatRow(group, *figures[group.id]) for group in scope.groups if group.id in figures
    ]
    return RepeatReport(
        year, start, end, scope.name, scope.clubs, last_open, total_row, tuple(rows_out)
    )


# ---------------------------------------------------------------------------- funnel


@dataclass(frozen=True, slots=True)
class FunnelRow:
    key: str
    month: int | None  # None: the whole year
    group: Group | None  # None: the whole scope
    sent: int
    delivered: int
    pledged: int
    donated: int

    @property
    def delivered_rate(self) -> Rate:
        return Rate(self.delivered, self.sent)

    @property
    def pledged_rate(self) -> Rate:
        return Rate(self.pledged, self.delivered)

    @property
    def donated_rate(self) -> Rate:
        return Rate(self.donated, self.pledged)

    @property
    def overall_rate(self) -> Rate:
        return Rate(self.donated, self.sent)


@dataclass(frozen=True, slots=True)
class FunnelReport:
    year: int
    start: dt.date
    end: dt.date
    scope_name: str | None
    clubs: bool
    kinds: tuple[str, ...]
    months: tuple[FunnelRow, ...]  # per kind and month (months with messages)
    totals: tuple[FunnelRow, ...]  # per kind, the year
    groups: tuple[FunnelRow, ...]  # per kind and group, the year


def _local_midnight(work: Work, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=work.timezone)


def _month_case(work: Work, column: Any, year: int) -> ColumnElement[int]:
    return case(
        *(
            (
                column < _local_midnight(work, month_bounds(year, m)[1] + dt.timedelta(days=1)),
                m,
            )
            for m in YEAR_MONTHS
        ),
        else_=0,
    )


def _funnel_columns() -> tuple[list[Any], Any]:
    pledge = aliased(Pledge)
    gift = aliased(Donation)
    drive_param = Outbox.params["drive_id"].as_integer()
    gap = _DaysBetween(Outbox.sent_at, pledge.created_at)
    in_time = or_(
        and_(drive_param.is_not(None), pledge.drive_id == drive_param, gap <= PLEDGE_DAYS),
        and_(drive_param.is_(None), gap >= 0, gap <= PLEDGE_DAYS),
    )
    live = or_(pledge.status != "cancelled", pledge.checked_in_at.is_not(None))
    pledged = and_(
        Outbox.status == "sent",
        exists().where(pledge.person_id == Outbox.person_id, live, in_time),
    )
    donated = and_(
        Outbox.status == "sent",
        exists().where(
            pledge.person_id == Outbox.person_id,
            live,
            in_time,
            exists().where(gift.person_id == pledge.person_id, gift.drive_id == pledge.drive_id),
        ),
    )
    columns = [
        func.count(Outbox.id),
        func.coalesce(func.sum(case((Outbox.status == "sent", 1), else_=0)), 0),
        func.coalesce(func.sum(case((pledged, 1), else_=0)), 0),
        func.coalesce(func.sum(case((donated, 1), else_=0)), 0),
    ]
    return columns, Outbox.person_id


async def funnel(work: Work, scope: Scope, year: int) -> FunnelReport:
    await no_jit(work)
    start, end = year_bounds(year)
    kinds = funnel_kinds()
    columns, person_col = _funnel_columns()
    month = _month_case(work, Outbox.created_at, year)
    base = select(Outbox.key, *columns).where(
        Outbox.key.in_(kinds),
        Outbox.person_id.is_not(None),
        Outbox.status != CAPPED,
        Outbox.created_at >= _local_midnight(work, start),
        Outbox.created_at < _local_midnight(work, end + dt.timedelta(days=1)),
    )
    joined, group_col = _grouped(scope, base, person_col)
    by_group = (
        await work.session.execute(
            joined.add_columns(month, group_col).group_by(Outbox.key, month, group_col)
        )
    ).all()  # key, sent, delivered, pledged, donated, month, group
    if scope.clubs:  # a person in two clubs counts once in the totals
        by_month = (
            await work.session.execute(
                _scoped(scope, base, person_col).add_columns(month).group_by(Outbox.key, month)
            )
        ).all()
    else:
        by_month = by_group
    monthly: dict[tuple[str, int], list[int]] = {}
    for key, *values, m in (row[:6] for row in by_month):
        into = monthly.setdefault((key, int(m)), [0, 0, 0, 0])
        for index, value in enumerate(values):
            into[index] += int(value)
    month_rows = [FunnelRow(key, m, None, *values) for (key, m), values in monthly.items()]
    totals: dict[str, list[int]] = {}
    for row in month_rows:
        into = totals.setdefault(row.key, [0, 0, 0, 0])
        for index, value in enumerate((row.sent, row.delivered, row.pledged, row.donated)):
            into[index] += value
    groups: list[FunnelRow] = []
    names = {g.id: g for g in scope.groups}
    for key in kinds:
        folded = _fold(scope, [(row[6], *row[1:5]) for row in by_group if row[0] == key])
        for group in scope.groups:
            if group.id in folded:
                groups.append(FunnelRow(key, None, names[group.id], *folded[group.id]))
    order = {m: i for i, m in enumerate(YEAR_MONTHS)}
    month_rows.sort(key=lambda r: (kinds.index(r.key), order.get(r.month or 0, 99)))
    return FunnelReport(
        year,
        start,
        end,
        scope.name,
        scope.clubs,
        tuple(kinds),
        tuple(month_rows),
        tuple(FunnelRow(k, None, None, *totals.get(k, [0, 0, 0, 0])) for k in kinds),
        tuple(groups),
    )


# ---------------------------------------------------------------------------- lapsed


def lapsed_condition(today: dt.date) -> ColumnElement[bool]:
    """A condition on `Person`: lapsed on `today` (see the module's definition). The
    broadcast audience "lapsed" uses it at sending time."""
    pledge = aliased(Pledge)
    drive = aliased(Drive)
    upcoming = exists().where(
        pledge.person_id == Person.id,
        pledge.status == "pledged",
        drive.id == pledge.drive_id,
        drive.date >= today,
        drive.status != "cancelled",
    )
    return and_(
        Person.status == "active",
        Person.next_eligible_on <= today - dt.timedelta(days=LAPSED_DAYS),
        ~upcoming,
    )


@dataclass(frozen=True, slots=True)
class LapsedPerson:
    person_id: int
    name: str
    last_donation: dt.date | None
    eligible_since: dt.date


@dataclass(frozen=True, slots=True)
class LapsedReport:
    day: dt.date
    scope_name: str | None
    clubs: bool
    count: int  # everyone lapsed in scope
    hidden: int  # club members counted but not named (they did not agree to share)
    people: tuple[LapsedPerson, ...]  # the first `limit`, longest lapsed first


def _sharing() -> ColumnElement[bool]:
    return exists().where(
        Consent.person_id == Person.id,
        Consent.purpose == "club_sharing",
        Consent.withdrawn_at.is_(None),
    )


async def lapsed(work: Work, scope: Scope, actor: Actor, limit: int | None = 50) -> LapsedReport:
    await no_jit(work)
    today = work.today()
    condition = and_(lapsed_condition(today), scope.person_filter())
    count, hidden = (
        await work.session.execute(
            select(
                func.count(Person.id),
                func.coalesce(func.sum(case((_sharing(), 0), else_=1)), 0)
                if scope.clubs
                else literal_column("0"),
            ).where(condition)
        )
    ).one()
    last = (
        select(func.max(Donation.donated_on))
        .where(Donation.person_id == Person.id)
        .correlate(Person)
        .scalar_subquery()
    )
    listing = (
        select(Person.id, Person.full_name, last, Person.next_eligible_on)
        .where(condition)
        .order_by(Person.next_eligible_on, Person.full_name, Person.id)
    )
    if scope.clubs:
        listing = listing.where(_sharing())
    if limit is not None:
        listing = listing.limit(limit)
    people = tuple(
        LapsedPerson(person_id, name or "", last_day, since or today)
        for person_id, name, last_day, since in (await work.session.execute(listing)).all()
    )
    record(work, actor, "analytics.lapsed", None, count=int(count), listed=len(people))
    return LapsedReport(today, scope.name, scope.clubs, int(count), int(hidden), people)


# ---------------------------------------------------------------------------- honours


@dataclass(frozen=True, slots=True)
class HonourRow:
    milestone: int
    person_id: int
    name: str
    birth_year: int | None
    sex: str | None
    phone: str | None
    unit_id: int | None
    unit_name: str
    unit_path: str
    total: int
    last_donation: dt.date


@dataclass(frozen=True, slots=True)
class HonoursReport:
    year: int
    start: dt.date
    end: dt.date
    scope_name: str | None
    counts: tuple[tuple[int, int], ...]  # (milestone, people), highest first; erased included
    people: tuple[HonourRow, ...]  # named people, by unit then milestone (highest) and name

    @property
    def counted(self) -> int:
        return sum(n for _m, n in self.counts)


def _honour_statement(year: int) -> tuple[Any, Any]:
    """Per person crossing a milestone in the year: counts up to the year's end and before it
    (one streaming pass over the (person, date) index; no list of the year's donors)."""
    start, end = year_bounds(year)
    previous_end = start - dt.timedelta(days=1)
    total = func.count()
    # Constants written into the statement: the HAVING repeats `before`, and SQLite computes
    # an aggregate once only when its repetitions are identical (bound parameters never are).
    before = func.coalesce(
        func.sum(case((Donation.donated_on <= _day(previous_end), _int(1)), else_=_int(0))),
        _int(0),
    )
    counts = (
        select(
            Donation.person_id.label("person_id"),
            total.label("total"),
            before.label("before"),
            func.max(Donation.donated_on).label("last"),
        )
        .where(Donation.donated_on <= end)
        .group_by(Donation.person_id)
        .having(or_(*(and_(total >= _int(m), before < _int(m)) for m in HONOUR_MILESTONES)))
        .subquery()
    )
    milestone = case(
        *(
            (and_(counts.c.total >= _int(m), counts.c.before < _int(m)), _int(m))
            for m in sorted(HONOUR_MILESTONES, reverse=True)
        ),
        else_=None,
    )
    return counts, milestone


async def honours(work: Work, scope: Scope, year: int, actor: Actor) -> HonoursReport:
    await no_jit(work)
    start, end = year_bounds(year)
    counts, milestone = _honour_statement(year)
    by_milestone = (
        await work.session.execute(
            _scoped(
                scope,
                select(milestone, func.count()).select_from(counts),
                counts.c.person_id,
            )
            .where(milestone.is_not(None))
            .group_by(milestone)
        )
    ).all()
    listed = (
        await work.session.execute(
            select(
                milestone,
                Person.id,
                Person.full_name,
                Person.birth_year,
                Person.birth_date,
                Person.sex,
                Person.phone,
                Person.unit_id,
                counts.c.total,
                counts.c.last,
            )
            .join(Person, Person.id == counts.c.person_id)
            .where(milestone.is_not(None), scope.person_filter(), Person.status != "erased")
        )
    ).all()
    unit_ids = {row[7] for row in listed if row[7] is not None}
    units = {
        unit.id: unit
        for unit in await work.session.scalars(select(Unit).where(Unit.id.in_(sorted(unit_ids))))
    }
    paths = {unit_id: await path(work, unit) for unit_id, unit in units.items()}
    people = [
        HonourRow(
            int(m),
            person_id,
            name or "",
            birth_year or (birth_date.year if birth_date else None),
            sex,
            phone,
            unit_id,
            units[unit_id].name if unit_id in units else "",
            paths.get(unit_id, "") if unit_id is not None else "",
            int(total),
            last,
        )
        for m, person_id, name, birth_year, birth_date, sex, phone, unit_id, total, last in listed
    ]
    people.sort(key=lambda h: (h.unit_path, h.unit_id or 0, -h.milestone, h.name, h.person_id))
    record(work, actor, "analytics.honours", None, year=year, listed=len(people))
    return HonoursReport(
        year,
        start,
        end,
        scope.name,
        tuple(sorted(((int(m), int(n)) for m, n in by_milestone), reverse=True)),
        tuple(people),
    )
