"""Tallies for committees and club chairs: today's drives and the open ones (pledged, checked in,
donated units vs target), the reporting year so far (1/12 to 30/11) beside each unit's quota, and
new registrations. The daily tally message and `/tally` show the same figures.

A committee member sees the drives and people of their unit tree. A club chair sees their clubs'
members: the drives members pledged to, what members gave, and who joined. Subscribers (both
kinds) get the daily message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, or_, select

from db.models import ClubMember, Consent, Donation, Drive, Person, Pledge, RoleGrant, Unit
from locales import N_
from services import aftercare, booking, campaigns, outbox, quotas
from services.aftercare import FeedbackFigure
from services.audit import Actor, record
from services.booking import Booking
from services.campaigns import Lag
from services.drives import LIVE, Status
from services.errors import NotAllowed
from services.outbox import Notice
from services.quotas import QuotaFigure
from services.roles import RANK, Role, roles_of
from services.units import UnitKind, descendants, display_name
from services.work import Work

SUBSCRIPTION = "daily_tally"  # a consent purpose: this person wants the daily tally
UPCOMING_DAYS = 7
# An open drive that was never closed stays on the tally this long after its date.
OPEN_GRACE_DAYS = 7


@dataclass(frozen=True, slots=True)
class DriveFigures:
    """One drive: pledges (not withdrawn), check-ins and donations recorded at it; for a club,
    only its members'. `target` is the whole drive's."""

    drive: Drive
    pledged: int
    checked_in: int
    donated: int


@dataclass(frozen=True, slots=True)
class Tally:
    day: dt.date
    unit_name: str | None
    clubs: bool  # the figures are a club's members' (a chair's tally)
    today: list[DriveFigures]
    upcoming: list[DriveFigures]  # open drives besides today's, and those of the next days
    year: int  # the reporting year: 1/12 of year - 1 to 30/11 of year
    year_start: dt.date
    year_donations: int
    year_target: int
    quotas: list[QuotaFigure]
    registrations_today: int
    registrations_year: int
    members: int | None = None  # a club's active members
    # Live drives 7 and 3 days ahead under their booking target (a committee's tally).
    under_booked: tuple[Booking, ...] = ()
    # Feedback on the drives of the last week (services.aftercare).
    feedback: tuple[FeedbackFigure, ...] = ()
    # The campaign in progress when it is behind its pro-rated share (services.campaigns).
    campaign: Lag | None = None

    @property
    def year_percent(self) -> int | None:
        if not self.year_target:
            return None
        return round(100 * self.year_donations / self.year_target)


def reporting_year(day: dt.date) -> tuple[dt.date, dt.date]:
    """1/12 of the year before to 30/11: the year `day` is reported in."""
    year = day.year + 1 if day.month == 12 else day.year
    return dt.date(year - 1, 12, 1), dt.date(year, 11, 30)


def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    """The reporting year `year`: 1/12 of year - 1 to 30/11 of year."""
    return dt.date(year - 1, 12, 1), dt.date(year, 11, 30)


# ---------------------------------------------------------------------------- whose tally


@dataclass(frozen=True, slots=True)
class TallyScope:
    unit_id: int
    clubs: bool


async def scope_of(work: Work, person_id: int) -> TallyScope:
    """A committee member (or admin): the widest unit they manage. A club chair: the clubs in
    the scope of their widest chair grant. Anyone else is refused."""
    held = await roles_of(work, person_id)
    for least, clubs in ((Role.COMMITTEE, False), (Role.CLUB_CHAIR, True)):
        units = [unit for role, unit in held if RANK[role] >= RANK[least]]
        if units:
            depth = {unit.id: await _depth(work, unit) for unit in units}
            return TallyScope(min(units, key=lambda unit: depth[unit.id]).id, clubs)
    raise NotAllowed(N_("Việc này dành cho chủ nhiệm CLB và Ban chỉ đạo."))


async def _depth(work: Work, unit: Unit) -> int:
    depth, seen = 0, {unit.id}
    parent_id = unit.parent_id
    while parent_id is not None and parent_id not in seen:
        seen.add(parent_id)
        depth += 1
        parent_id = await work.session.scalar(select(Unit.parent_id).where(Unit.id == parent_id))
    return depth


async def for_person(work: Work, person_id: int, day: dt.date | None = None) -> Tally:
    """The tally `/tally` shows this person (refused without a chair or committee role)."""
    scope = await scope_of(work, person_id)
    return await compute(work, scope.unit_id, day, clubs=scope.clubs)


# ---------------------------------------------------------------------------- figures


async def _club_ids(work: Work, scope: set[int] | None) -> list[int]:
    statement = select(Unit.id).where(Unit.kind == UnitKind.CLUB.value)
    ids = list(await work.session.scalars(statement))
    return [unit_id for unit_id in ids if scope is None or unit_id in scope]


def _members(club_ids: Sequence[int]) -> Select[int]:
    return select(ClubMember.person_id).where(
        ClubMember.club_id.in_(club_ids), ClubMember.removed_at.is_(None)
    )


def _live_pledge() -> ColumnElement[bool]:
    """A pledge that still counts: not withdrawn, or the donor came anyway."""
    return or_(Pledge.status != "cancelled", Pledge.checked_in_at.is_not(None))


async def _drive_figures(
    work: Work, found: Sequence[Drive], people: Select[int] | None = None
) -> list[DriveFigures]:
    """Figures of each drive, in the order given; `people` limits them to those persons."""
    ids = [drive.id for drive in found]
    if not ids:
        return []
    pledges = select(
        Pledge.drive_id, func.count(Pledge.id), func.count(Pledge.checked_in_at)
    ).where(Pledge.drive_id.in_(ids), _live_pledge())
    donations = select(Donation.drive_id, func.count(Donation.id)).where(Donation.drive_id.in_(ids))
    if people is not None:
        pledges = pledges.where(Pledge.person_id.in_(people))
        donations = donations.where(Donation.person_id.in_(people))
    pledged = {
        drive_id: (int(n), int(came))
        for drive_id, n, came in (await work.session.execute(pledges.group_by(Pledge.drive_id)))
    }
    donated = {
        drive_id: int(n)
        for drive_id, n in await work.session.execute(donations.group_by(Donation.drive_id))
    }
    return [
        DriveFigures(drive, *pledged.get(drive.id, (0, 0)), donated.get(drive.id, 0))
        for drive in found
    ]


def _on_tally(drive: Drive, day: dt.date) -> str | None:
    """'today', 'upcoming' or None: where a drive shows on the tally of `day`."""
    if drive.status == Status.CANCELLED.value:
        return None
    if drive.date == day and not drive.date_is_month_only:
        return "today"
    if drive.status == Status.OPEN.value and drive.date >= day - dt.timedelta(OPEN_GRACE_DAYS):
        return "upcoming"
    if drive.status in LIVE and day < drive.date <= day + dt.timedelta(days=UPCOMING_DAYS):
        return "upcoming"
    return None


async def _tally_drives(work: Work, day: dt.date) -> list[Drive]:
    statement = (
        select(Drive)
        .where(
            Drive.status != Status.CANCELLED.value,
            Drive.date >= day - dt.timedelta(days=OPEN_GRACE_DAYS),
            or_(
                Drive.status == Status.OPEN.value,
                Drive.date <= day + dt.timedelta(days=UPCOMING_DAYS),
            ),
        )
        .order_by(Drive.date, Drive.id)
    )
    return [d for d in await work.session.scalars(statement) if _on_tally(d, day) is not None]


def _in_scope(drive: Drive, scope: set[int] | None) -> bool:
    return scope is None or drive.unit_id is None or drive.unit_id in scope


async def compute(
    work: Work, unit_id: int | None, day: dt.date | None = None, *, clubs: bool = False
) -> Tally:
    """The tally of `unit_id`'s tree (everything when None) on `day` (today); with `clubs`,
    the figures of the members of the clubs in that tree."""
    day = day or work.today()
    scope = await descendants(work, unit_id) if unit_id is not None else None
    start, end = reporting_year(day)
    code = await work.session.scalar(select(Unit.code).where(Unit.id == unit_id))
    quota_list = await quotas.quota_figures(work, end.year, code)
    candidates = await _tally_drives(work, day)
    if clubs:
        club_ids = await _club_ids(work, scope)
        figures = [
            f
            for f in await _drive_figures(work, candidates, _members(club_ids))
            if f.pledged or f.checked_in or f.donated
        ]
        year_donations = await _count(
            work,
            select(func.count(Donation.id)).where(
                Donation.person_id.in_(_members(club_ids)),
                Donation.donated_on.between(start, min(day, end)),
            ),
        )
        year_target = sum(q.quota for q in quota_list if q.unit_id in club_ids)
        joined = select(func.count(ClubMember.id)).where(
            ClubMember.club_id.in_(club_ids), ClubMember.removed_at.is_(None)
        )
        members: int | None = await _count(work, joined)
        since = ClubMember.joined_at
    else:
        figures = await _drive_figures(work, [d for d in candidates if _in_scope(d, scope)])
        year_drives = [
            d
            for d in await work.session.scalars(
                select(Drive).where(
                    Drive.date.between(start, end), Drive.status != Status.CANCELLED.value
                )
            )
            if _in_scope(d, scope)
        ]
        year_donations = await _count_donations(work, [d.id for d in year_drives])
        year_target = sum(d.target_units for d in year_drives)
        joined = select(func.count(Person.id)).where(Person.status == "active")
        if scope is not None:
            joined = joined.where(Person.unit_id.in_(scope))
        members = None
        since = Person.created_at
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=work.timezone)
    first = dt.datetime.combine(start, dt.time(0), tzinfo=work.timezone)
    tomorrow = midnight + dt.timedelta(days=1)
    return Tally(
        day=day,
        unit_name=await display_name(work, unit_id) if unit_id is not None else None,
        clubs=clubs,
        today=[f for f in figures if _on_tally(f.drive, day) == "today"],
        upcoming=[f for f in figures if _on_tally(f.drive, day) == "upcoming"],
        year=end.year,
        year_start=start,
        year_donations=year_donations,
        year_target=year_target,
        quotas=quota_list,
        registrations_today=await _count(work, joined.where(since >= midnight, since < tomorrow)),
        registrations_year=await _count(work, joined.where(since >= first, since < tomorrow)),
        members=members,
        under_booked=() if clubs else tuple(await booking.under_target(work, day, scope)),
        campaign=None if clubs or unit_id is None else await campaigns.lag_of(work, unit_id, day),
        feedback=tuple(
            await aftercare.for_tally(work, day, scope, _members(club_ids) if clubs else None)
        ),
    )


async def _count(work: Work, statement: Select[int]) -> int:
    return int(await work.session.scalar(statement) or 0)


async def _count_donations(work: Work, drive_ids: Collection[int]) -> int:
    if not drive_ids:
        return 0
    return await _count(
        work, select(func.count(Donation.id)).where(Donation.drive_id.in_(list(drive_ids)))
    )


# ---------------------------------------------------------------------------- the daily message


async def subscribed(work: Work, person_id: int) -> bool:
    row = await work.session.scalar(
        select(Consent.id).where(
            Consent.person_id == person_id,
            Consent.purpose == SUBSCRIPTION,
            Consent.withdrawn_at.is_(None),
        )
    )
    return row is not None


async def set_subscription(work: Work, person_id: int, on: bool, actor: Actor) -> None:
    if on:
        await scope_of(work, person_id)  # only those who may see a tally subscribe
    if on == await subscribed(work, person_id):
        return
    now = work.now()
    if on:
        work.session.add(
            Consent(
                person_id=person_id,
                purpose=SUBSCRIPTION,
                version="1",
                granted_at=now,
                channel=actor.channel,
            )
        )
    else:
        rows = await work.session.scalars(
            select(Consent).where(
                Consent.person_id == person_id,
                Consent.purpose == SUBSCRIPTION,
                Consent.withdrawn_at.is_(None),
            )
        )
        for row in rows:
            row.withdrawn_at = now
    record(work, actor, "tally.subscribe" if on else "tally.unsubscribe", person_id)


async def plan_daily(work: Work, at: dt.time) -> int:
    """At `at` local time, one daily tally to each subscribed committee member or club chair
    (once a day). Params name the scope: `unit_id`, and `clubs` for a chair's tally."""
    now = work.now()
    local = now.astimezone(work.timezone)
    due = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if local < due:
        return 0
    allowed = [r.value for r, rank in RANK.items() if rank >= RANK[Role.CLUB_CHAIR]]
    rows = await work.session.execute(
        select(RoleGrant.person_id, RoleGrant.role, RoleGrant.unit_id)
        .join(Person, Person.id == RoleGrant.person_id)
        .join(Consent, Consent.person_id == RoleGrant.person_id)
        .where(
            RoleGrant.role.in_(allowed),
            RoleGrant.revoked_at.is_(None),
            Person.status == "active",
            Consent.purpose == SUBSCRIPTION,
            Consent.withdrawn_at.is_(None),
        )
        .order_by(RoleGrant.id)
    )
    scopes: dict[int, tuple[int, bool]] = {}
    for person_id, role, unit_id in rows.all():
        clubs = RANK[Role(role)] < RANK[Role.COMMITTEE]
        held = scopes.get(person_id)
        # The first committee grant names the scope; a chair's, only without one.
        if held is None or (held[1] and not clubs):
            scopes[person_id] = (unit_id, clubs)
    day = local.date().isoformat()
    return await outbox.enqueue_many(
        work,
        [
            Notice(
                person_id,
                "daily_tally",
                {"day": day, "unit_id": unit_id, **({"clubs": True} if clubs else {})},
                f"tally:{person_id}:{day}",
                due_at=due,
            )
            for person_id, (unit_id, clubs) in scopes.items()
        ],
    )
