"""Tallies for committees: today's and the coming week's drives (pledged, donated vs target),
the reporting year so far (1/12 to 30/11), and new registrations. The daily tally message and
`/tally` show the same figures. Committee members subscribe to the daily message."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from db.models import Consent, Donation, Drive, Person, RoleGrant
from services import drives, outbox
from services.audit import Actor, record
from services.drives import LIVE
from services.outbox import Notice
from services.roles import RANK, Role
from services.units import descendants, display_name
from services.work import Work

SUBSCRIPTION = "daily_tally"  # a consent purpose: this person wants the daily tally
UPCOMING_DAYS = 7


@dataclass(frozen=True, slots=True)
class DriveFigures:
    drive: Drive
    pledged: int
    donated: int


@dataclass(frozen=True, slots=True)
class Tally:
    day: dt.date
    unit_name: str | None
    today: list[DriveFigures]
    upcoming: list[DriveFigures]
    year_start: dt.date
    year_donations: int
    year_target: int
    registrations_today: int

    @property
    def year_percent(self) -> int | None:
        if not self.year_target:
            return None
        return round(100 * self.year_donations / self.year_target)


def reporting_year(day: dt.date) -> tuple[dt.date, dt.date]:
    """1/12 of the year before to 30/11: the year `day` is reported in."""
    year = day.year + 1 if day.month == 12 else day.year
    return dt.date(year - 1, 12, 1), dt.date(year, 11, 30)


async def _in_scope(work: Work, unit_id: int | None) -> set[int] | None:
    if unit_id is None:
        return None
    return await descendants(work, unit_id)


async def _figures(work: Work, found: list[Drive]) -> list[DriveFigures]:
    result = []
    for drive in found:
        donated = await work.session.scalar(
            select(func.count(Donation.id)).where(Donation.drive_id == drive.id)
        )
        result.append(DriveFigures(drive, await drives.pledged_count(work, drive.id), donated or 0))
    return result


async def compute(work: Work, unit_id: int | None, day: dt.date | None = None) -> Tally:
    day = day or work.today()
    scope = await _in_scope(work, unit_id)
    start, end = reporting_year(day)
    statement = select(Drive).where(Drive.date.between(start, end)).order_by(Drive.date, Drive.id)
    year_drives = [
        d
        for d in await work.session.scalars(statement)
        if scope is None or d.unit_id is None or d.unit_id in scope
    ]
    live = [d for d in year_drives if d.status in LIVE or d.status == "done"]
    today = [d for d in live if d.date == day and not d.date_is_month_only]
    soon = [
        d
        for d in live
        if day < d.date <= day + dt.timedelta(days=UPCOMING_DAYS) and d.status in LIVE
    ]
    ids = [d.id for d in year_drives]
    year_donations = 0
    if ids:
        year_donations = int(
            await work.session.scalar(
                select(func.count(Donation.id)).where(Donation.drive_id.in_(ids))
            )
            or 0
        )
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=work.timezone)
    people = select(func.count(Person.id)).where(
        Person.created_at >= midnight,
        Person.created_at < midnight + dt.timedelta(days=1),
        Person.status == "active",
    )
    if scope is not None:
        people = people.where(Person.unit_id.in_(scope))
    unit_name = None
    if unit_id is not None:
        unit_name = await display_name(work, unit_id)
    return Tally(
        day,
        unit_name,
        await _figures(work, today),
        await _figures(work, soon),
        start,
        year_donations,
        sum(d.target_units for d in live),
        int(await work.session.scalar(people) or 0),
    )


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
    """At `at` local time, one daily tally to each subscribed committee member (once a day)."""
    now = work.now()
    local = now.astimezone(work.timezone)
    due = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if local < due:
        return 0
    committee = [r.value for r, rank in RANK.items() if rank >= RANK[Role.COMMITTEE]]
    rows = await work.session.execute(
        select(RoleGrant.person_id, RoleGrant.unit_id)
        .join(Person, Person.id == RoleGrant.person_id)
        .join(Consent, Consent.person_id == RoleGrant.person_id)
        .where(
            RoleGrant.role.in_(committee),
            RoleGrant.revoked_at.is_(None),
            Person.status == "active",
            Consent.purpose == SUBSCRIPTION,
            Consent.withdrawn_at.is_(None),
        )
        .order_by(RoleGrant.id)
    )
    units: dict[int, int] = {}
    for person_id, unit_id in rows.all():
        units.setdefault(person_id, unit_id)  # their first grant names the scope
    day = local.date().isoformat()
    return await outbox.enqueue_many(
        work,
        [
            Notice(
                person_id,
                "daily_tally",
                {"day": day, "unit_id": unit_id},
                f"tally:{person_id}:{day}",
                due_at=due,
            )
            for person_id, unit_id in units.items()
        ],
    )
