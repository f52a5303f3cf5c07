"""Planners: turn drives, pledges and donations into outbox rows, each under a stable dedup key.

Every planner is a function of the database and the clock: running it twice, or after a
restart, queues nothing new; a clock jump back queues nothing that is not due. Only people who
are active, consent to reminders and can be reached get anything (`outbox.enqueue` picks their
reachable chat; the sender checks again before sending).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import Exists, and_, exists, select

from db.models import Consent, Drive, DriveSlot, Person, Pledge
from services import aftercare, blocks, busy, eligibility, outbox, tallies, waitlist
from services.comeback import Window, nearest_drives
from services.drives import LIVE
from services.outbox import Notice
from services.schedule import Offset, QuietHours, local_moment, parse_offset
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
    # "You can donate again" and its nudge go out in these local hours ([schedule] appeal_window).
    appeal_window: Window = field(default_factory=Window)
    waitlist_offer_hours: int = 2  # a place offered to the waiting list is held this long
    quiet_hours: QuietHours | None = None  # no waiting-list offers then (they would expire)


@dataclass(slots=True)
class Planned:
    reminders: int = 0
    drive_notices: int = 0
    eligible: int = 0
    nudges: int = 0
    tallies: int = 0
    # Appeals left out by the 30-day cap (services.appeal_cap): not queued, not in `total`;
    # each is counted once, by the run that first skipped it.
    capped: int = 0
    offers: int = 0  # free places offered to waiting lists (services.waitlist)
    aftercare: int = 0  # thank-yous, feedback questions, "we missed you", calls (aftercare)

    @property
    def total(self) -> int:
        return (
            self.reminders
            + self.drive_notices
            + self.eligible
            + self.nudges
            + self.tallies
            + self.offers
            + self.aftercare
        )


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
    capped_before = work.skipped["cap"]
    planned.reminders = await drive_reminders(work, settings)
    planned.tallies = await tallies.plan_daily(work, settings.tally_time)
    if daily:
        planned.drive_notices = await drive_notices(work, settings)
        planned.eligible, planned.nudges = await donate_again(work, settings)
        await blocks.release_due(work)  # club places nobody claimed go back to everyone
        # Due at whole hours (19:00, 10:00, 09:00): the first tick of an hour finds them.
        planned.aftercare = (await aftercare.plan(work)).total
    # Last: places freed above go to waiting lists, and the slots it locks (PostgreSQL) are
    # held only until this transaction commits.
    quiet = settings.quiet_hours
    planned.offers = await waitlist.plan(
        work,
        settings.waitlist_offer_hours,
        offers=quiet is None or not quiet.contains(work.now(), work.timezone),
    )
    planned.capped = work.skipped["cap"] - capped_before
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
    # One batch for all the drives: one lookup of what is queued, of chats and of the appeal
    # rules (the 30-day cap reads the outbox: written to between batches, it would be read
    # again and again as it grows, at national scale minutes in a tick on PostgreSQL).
    notices: list[Notice] = []
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
        notices += [
            Notice(
                person.id,
                "drive_notice",
                {"drive_id": drive.id},
                f"drive_notice:{drive.id}:{person.id}",
            )
            for person in list(people)
            if eligibility.on(person, drive.date, work.rules).eligible
        ]
    return await outbox.enqueue_many(work, notices)


async def donate_again(work: Work, settings: PlanSettings) -> tuple[int, int]:
    """'You can donate again' on the day the interval ends, and one nudge some weeks later
    when no pledge followed, each naming the nearest drive the donor can pledge to
    (`comeback.nearest_drives`) and due in the evening window (`appeal_window`), never
    outside it. A range scan of the index on `next_eligible_on`, plus the few people whose
    /busy pause ended in the catch-up days and who became eligible during it."""
    today, now = work.today(), work.now()
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
    windows = (("eligible", 0), ("eligible_nudge", settings.nudge_after_days))
    for index, (key, after) in enumerate(windows):
        newest = today - dt.timedelta(days=after)
        oldest = newest - dt.timedelta(days=settings.catch_up_days)
        statement = select(Person.id, Person.next_eligible_on, Person.busy_until).where(
            Person.next_eligible_on.between(oldest, newest),
            Person.status == "active",
            _consenting(),
        )
        if key == "eligible_nudge":
            statement = statement.where(~pledged_since)
        found = [(p, e, b) for p, e, b in (await work.session.execute(statement)).all()]
        if key == "eligible":
            found += await _pause_ended(work, settings, newest)
        starts: dict[int, tuple[dt.date, dt.datetime]] = {}
        for person_id, eligible_on, busy_until in found:
            assert eligible_on is not None
            start = local_moment(eligible_on + dt.timedelta(days=after), dt.time(0), work.timezone)
            if busy_until is not None and busy_until >= eligible_on:  # asked again after it
                start = max(start, local_moment(busy_until, dt.time(0), work.timezone))
                start += dt.timedelta(days=1)
            starts[person_id] = (eligible_on, start)
        notices = await outbox.not_queued(
            work,
            [
                Notice(person_id, key, {"date": day.isoformat()}, f"{key}:{person_id}:{day}")
                for person_id, (day, _start) in starts.items()
            ],
        )
        chosen = await nearest_drives(
            work, {n.person_id: max(starts[n.person_id][0], today) for n in notices}
        )
        queued: list[Notice] = []
        for notice in notices:
            due, not_after = settings.appeal_window.next_opening(
                max(starts[notice.person_id][1], now), work.timezone
            )
            params = {**notice.params, "drive_id": chosen.get(notice.person_id)}
            queued.append(replace(notice, params=params, due_at=due, not_after=not_after))
        counts[index] += await outbox.enqueue_many(work, queued)
    return counts[0], counts[1]


async def _pause_ended(
    work: Work, settings: PlanSettings, newest: dt.date
) -> list[tuple[int, dt.date | None, dt.date | None]]:
    """People whose /busy pause ended in the catch-up days and who became eligible during
    it (their "you can donate again" was held back): asked once, now. An index range scan of
    `busy_until`; those asked before the pause are left out by the dedup key."""
    today = work.today()
    rows = await work.session.execute(
        select(Person.id, Person.next_eligible_on, Person.busy_until).where(
            Person.busy_until.between(
                today - dt.timedelta(days=settings.catch_up_days + 1), today - dt.timedelta(days=1)
            ),
            Person.next_eligible_on <= newest,
            Person.status == "active",
            _consenting(),
        )
    )
    return [
        (person_id, eligible_on, until)
        for person_id, eligible_on, until in rows.all()
        if eligible_on is not None
        and until is not None
        and until - dt.timedelta(days=busy.MAX_AHEAD_DAYS) <= eligible_on <= until
    ]


def settings_from(
    offsets: Sequence[str],
    tally_time: str = "18:00",
    notice_lead_days: int = 7,
    appeal_window: str = "18:00-20:00",
    quiet_hours: str | None = None,
) -> PlanSettings:
    return PlanSettings(
        offsets=tuple(parse_offset(o) for o in offsets),
        notice_lead_days=notice_lead_days,
        tally_time=dt.time.fromisoformat(tally_time),
        appeal_window=Window.parse(appeal_window),
        quiet_hours=QuietHours.parse(quiet_hours) if quiet_hours else None,
    )
