"""Planners: turn drives, pledges and donations into outbox rows, each under a stable dedup key.

Every planner is a function of the database and the clock: running it twice, or after a
restart, queues nothing new; a clock jump back queues nothing that is not due. Only people who
are active, consent to reminders and can be reached get anything (`outbox.enqueue` picks their
reachable chat; the sender checks again before sending).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Exists, and_, exists, select

from db.models import Consent, Drive, DriveSlot, Person, Pledge
from services import eligibility, outbox, tallies
from services.drives import LIVE
from services.outbox import Notice
from services.schedule import Offset, local_moment, parse_offset
from services.units import descendants
from services.work import Work


@dataclass(frozen=True, slots=True)
class PlanSettings:
    offsets: tuple[Offset, ...] = field(
        default_factory=lambda: tuple(parse_offset(o) for o in ("3d", "1d", "07:00"))
    )
    notice_lead_days: int = 7  # drive notices to donors who have not pledged
    nudge_after_days: int = 28  # a second "you can donate again" if still no pledge
    catch_up_days: int = 3  # after downtime, still send what fell due this recently
    tally_time: dt.time = dt.time(18, 0)  # the daily tally to subscribed committee members


@dataclass(slots=True)
class Planned:
    reminders: int = 0
    drive_notices: int = 0
    eligible: int = 0
    nudges: int = 0
    tallies: int = 0

    @property
    def total(self) -> int:
        return self.reminders + self.drive_notices + self.eligible + self.nudges + self.tallies


def _consenting() -> Exists:
    return exists().where(
        Consent.person_id == Person.id,
        Consent.purpose == "reminders",
        Consent.withdrawn_at.is_(None),
    )


async def plan_all(work: Work, settings: PlanSettings, *, daily: bool = True) -> Planned:
    """Reminders of pledges at every tick; the planners that depend only on the date
    (drive notices, donate again) when `daily` (the first tick of a day, then hourly)."""
    planned = Planned()
    planned.reminders = await drive_reminders(work, settings)
    planned.tallies = await tallies.plan_daily(work, settings.tally_time)
    if daily:
        planned.drive_notices = await drive_notices(work, settings)
        planned.eligible, planned.nudges = await donate_again(work, settings)
    return planned


async def drive_reminders(work: Work, settings: PlanSettings) -> int:
    """Reminders to pledged donors at each offset before their drive (or slot) starts."""
    now, today = work.now(), work.today()
    horizon = max((o.before for o in settings.offsets if o.before), default=dt.timedelta(0))
    statement = (
        select(Pledge, Drive, DriveSlot)
        .join(Drive, Drive.id == Pledge.drive_id)
        .join(Person, Person.id == Pledge.person_id)
        .outerjoin(DriveSlot, DriveSlot.id == Pledge.slot_id)
        .where(
            Pledge.status == "pledged",
            Drive.status.in_(LIVE),
            Drive.date_is_month_only.is_(False),
            Drive.date >= today,
            Drive.date <= today + dt.timedelta(days=horizon.days + 1),
            Person.status == "active",
            _consenting(),
        )
    )
    queued = 0
    for pledge, drive, slot in (await work.session.execute(statement)).all():
        start_time = slot.start_time if slot is not None else drive.start_time
        start = local_moment(drive.date, start_time, work.timezone)
        if start <= now:
            continue
        for offset in settings.offsets:
            due = offset.due(start)
            # Not yet due, or due before they pledged (a reminder then says nothing new).
            if due > now or due < pledge.updated_at or due >= start:
                continue
            queued += await outbox.enqueue(
                work,
                pledge.person_id,
                "drive_reminder",
                {
                    "drive_id": drive.id,
                    "slot": f"{slot.start_time:%H:%M}–{slot.end_time:%H:%M}" if slot else None,
                    "offset": offset.text,
                },
                f"reminder:{pledge.id}:{offset.text}:{drive.date.isoformat()}",
                due_at=due,
            )
    return queued


async def drive_notices(work: Work, settings: PlanSettings) -> int:
    """One notice per drive to eligible, consenting donors of its units who have not pledged."""
    today = work.today()
    drives = await work.session.scalars(
        select(Drive).where(
            Drive.status.in_(LIVE),
            Drive.date_is_month_only.is_(False),
            Drive.unit_id.is_not(None),
            Drive.date > today,
            Drive.date <= today + dt.timedelta(days=settings.notice_lead_days),
            Drive.date > today if settings.notice_lead_days else Drive.id.is_(None),
        )
    )
    queued = 0
    for drive in list(drives):
        assert drive.unit_id is not None
        units = await descendants(work, drive.unit_id)
        pledged = select(Pledge.person_id).where(Pledge.drive_id == drive.id)
        people = await work.session.scalars(
            select(Person).where(
                Person.status == "active",
                Person.unit_id.in_(units),
                Person.id.not_in(pledged),
                (Person.next_eligible_on.is_(None)) | (Person.next_eligible_on <= drive.date),
                _consenting(),
            )
        )
        for person in list(people):
            if not eligibility.on(person, drive.date, work.rules).eligible:
                continue
            queued += await outbox.enqueue(
                work,
                person.id,
                "drive_notice",
                {"drive_id": drive.id},
                f"drive_notice:{drive.id}:{person.id}",
            )
    return queued


async def _upcoming_drive_ids(work: Work, limit: int = 3) -> list[int]:
    today = work.today()
    rows = await work.session.scalars(
        select(Drive.id)
        .where(Drive.status.in_(LIVE), Drive.date >= today, Drive.date_is_month_only.is_(False))
        .order_by(Drive.date, Drive.id)
        .limit(limit)
    )
    return list(rows)


async def donate_again(work: Work, settings: PlanSettings) -> tuple[int, int]:
    """'You can donate again' on the day the interval ends, and one nudge some weeks later
    when no pledge followed. A range scan of the index on `next_eligible_on`."""
    today, now = work.today(), work.now()
    drives = await _upcoming_drive_ids(work)
    # A pledge for a drive on or after the day they became eligible: no nudge needed.
    pledged_since = exists().where(
        and_(
            Pledge.person_id == Person.id,
            Pledge.status.in_(("pledged", "attended")),
            Pledge.drive_id == Drive.id,
            Drive.date >= Person.next_eligible_on,
        )
    )
    counts = [0, 0]
    windows = (
        ("eligible", 0, counts, 0),
        ("eligible_nudge", settings.nudge_after_days, counts, 1),
    )
    for key, after, tally, index in windows:
        newest = today - dt.timedelta(days=after)
        oldest = newest - dt.timedelta(days=settings.catch_up_days)
        statement = select(Person.id, Person.next_eligible_on).where(
            Person.next_eligible_on.between(oldest, newest),
            Person.status == "active",
            _consenting(),
        )
        if key == "eligible_nudge":
            statement = statement.where(~pledged_since)
        notices: list[Notice] = []
        for person_id, eligible_on in (await work.session.execute(statement)).all():
            assert eligible_on is not None
            due = local_moment(eligible_on, dt.time(9, 0), work.timezone) + dt.timedelta(days=after)
            notices.append(
                Notice(
                    person_id,
                    key,
                    {"date": eligible_on.isoformat(), "drives": drives},
                    f"{key}:{person_id}:{eligible_on.isoformat()}",
                    due_at=max(due, now),
                )
            )
        tally[index] += await outbox.enqueue_many(work, notices)
    return counts[0], counts[1]


def settings_from(
    offsets: Sequence[str], tally_time: str = "18:00", notice_lead_days: int = 7
) -> PlanSettings:
    return PlanSettings(
        offsets=tuple(parse_offset(o) for o in offsets),
        notice_lead_days=notice_lead_days,
        tally_time=dt.time.fromisoformat(tally_time),
    )
