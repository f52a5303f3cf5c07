"""After the drive: a thank-you with the drive's total, a one-question feedback the next
morning, and a kind "we missed you" to a pledged donor who did not come.

When things are due (local time, Asia/Ho_Chi_Minh by default):
- the thank-you goes at 19:00 on the day a donation is recorded at a drive, or at 19:00 the
  next day when it was recorded after 19:00 (a late record): by then the drive's figures are
  in, and the evening is when people read messages at leisure;
- the feedback question goes at 10:00 the morning after the thank-you;
- "we missed you" goes at 09:00 the day after the drive, to pledges still open then (no
  check-in, no donation that day). The pledge becomes `no_show` and the donor goes on their
  club's call list (services.calls).
Each is queued once (dedup keys) and only within `CATCH_UP` of its time, so a bot that was
down for days does not thank people for last month's drive.
"""

from __future__ import annotations

import datetime as dt
import enum
import zoneinfo
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Exists, Select, exists, func, select

from db.models import Consent, Donation, Drive, Feedback, Person, Pledge
from locales import N_
from services import calls, outbox
from services.audit import Actor, record
from services.drives import LIVE, Status
from services.errors import InvalidInput, NotAllowed, NotFound
from services.outbox import Notice
from services.schedule import local_moment
from services.work import Work

THANKS_TIME = dt.time(19, 0)
FEEDBACK_TIME = dt.time(10, 0)
MISSED_TIME = dt.time(9, 0)
CALLS_HOUR = 8  # the call list takes those who ignored two appeals once a day, before 09:00
CATCH_UP = dt.timedelta(days=3)
NO_SHOW = "no_show"
SCORES = range(1, 6)
COMMENT_LIMIT = 500
COMMENTS_SHOWN = 5  # comments per drive on a tally
FEEDBACK_DAYS = 7  # drives of the last week show their feedback on the tally


class MissedReason(enum.StrEnum):
    """Why a pledged donor did not come: a reason code, never medical details."""

    FORGOT = "forgot"
    SICK = "sick"
    BUSY = "busy"
    DEFERRED = "deferred"  # came, and the doctor deferred them on site


@dataclass(slots=True)
class AftercarePlanned:
    thanks: int = 0
    feedback: int = 0
    missed: int = 0
    calls: int = 0

    @property
    def total(self) -> int:
        return self.thanks + self.feedback + self.missed + self.calls


def thanks_due(recorded_at: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """19:00 on the day a donation was recorded, or the next day's when recorded later."""
    local = recorded_at.astimezone(zone)
    evening = local_moment(local.date(), THANKS_TIME, zone)
    if local < evening:
        return evening
    return local_moment(local.date() + dt.timedelta(days=1), THANKS_TIME, zone)


def feedback_due(recorded_at: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """10:00 the morning after the thank-you."""
    thanked = thanks_due(recorded_at, zone).astimezone(zone).date()
    return local_moment(thanked + dt.timedelta(days=1), FEEDBACK_TIME, zone)


def missed_due(drive_day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    return local_moment(drive_day + dt.timedelta(days=1), MISSED_TIME, zone)


def _consenting() -> Exists:
    return exists().where(
        Consent.person_id == Person.id,
        Consent.purpose == "reminders",
        Consent.withdrawn_at.is_(None),
    )


def _in_window(due: dt.datetime, now: dt.datetime) -> bool:
    return due <= now and now - due <= CATCH_UP


async def plan(work: Work) -> AftercarePlanned:
    planned = AftercarePlanned()
    planned.thanks, planned.feedback = await plan_thanks(work)
    planned.missed, planned.calls = await plan_missed(work)
    if work.now().astimezone(work.timezone).hour == CALLS_HOUR:  # a scan of the outbox: daily
        planned.calls += await calls.plan_ignored(work)
    return planned


async def plan_thanks(work: Work) -> tuple[int, int]:
    """Thank-yous and feedback questions for donations recorded at drives, when due."""
    now = work.now()
    since = now - CATCH_UP - dt.timedelta(days=2)
    rows = await work.session.execute(
        select(Donation.id, Donation.person_id, Donation.drive_id, Donation.created_at)
        .join(Person, Person.id == Donation.person_id)
        .where(
            Donation.drive_id.is_not(None),
            Donation.verified.is_(True),
            Donation.created_at >= since,
            Donation.created_at <= now,
            Person.status == "active",
            _consenting(),
        )
        .order_by(Donation.id)
    )
    thanks: list[Notice] = []
    asks: list[Notice] = []
    for donation_id, person_id, drive_id, created in rows.all():
        params = {"donation_id": donation_id, "drive_id": drive_id}
        due = thanks_due(created, work.timezone)
        if _in_window(due, now):
            thanks.append(Notice(person_id, "thanks", params, f"thanks:{donation_id}", due_at=due))
        due = feedback_due(created, work.timezone)
        if _in_window(due, now):
            asks.append(
                Notice(person_id, "feedback", params, f"feedback:{donation_id}", due_at=due)
            )
    return await outbox.enqueue_many(work, thanks), await outbox.enqueue_many(work, asks)


async def next_drives(work: Work, limit: int = 3) -> list[Drive]:
    """The next live drives with a known date, soonest first (another chance, one tap away)."""
    rows = await work.session.scalars(
        select(Drive)
        .where(
            Drive.status.in_(LIVE),
            Drive.date > work.today(),
            Drive.date_is_month_only.is_(False),
        )
        .order_by(Drive.date, Drive.id)
        .limit(limit)
    )
    return list(rows)


async def plan_missed(work: Work) -> tuple[int, int]:
    """Pledges still open the morning after their drive: marked `no_show`; the donor gets
    "we missed you" and goes on the call list (active donors who consent to reminders)."""
    now, today = work.now(), work.today()
    gave_that_day = exists().where(
        Donation.person_id == Pledge.person_id, Donation.donated_on == Drive.date
    )
    rows = await work.session.execute(
        select(Pledge, Drive.date, Person.status, Person.do_not_contact_at)
        .join(Drive, Drive.id == Pledge.drive_id)
        .join(Person, Person.id == Pledge.person_id)
        .where(
            Pledge.status == "pledged",
            Pledge.checked_in_at.is_(None),
            Drive.status.in_((*LIVE, Status.DONE.value)),
            Drive.date_is_month_only.is_(False),
            Drive.date < today,
            Drive.date >= today - CATCH_UP - dt.timedelta(days=1),
            ~gave_that_day,
        )
        .order_by(Pledge.id)
    )
    found = [
        (pledge, day, status, blocked)
        for pledge, day, status, blocked in rows.all()
        if missed_due(day, work.timezone) <= now
    ]
    if not found:
        return 0, 0
    consenting = await outbox.consenting({p.person_id for p, *_rest in found}, work)
    notices: list[Notice] = []
    added = 0
    for pledge, day, status, blocked in found:
        # The pledge's `updated_at` stays: it says when they pledged (see calls.plan_ignored).
        pledge.status = NO_SHOW
        due = missed_due(day, work.timezone)
        if status != "active" or pledge.person_id not in consenting or blocked is not None:
            continue
        if not _in_window(due, now):
            continue
        notices.append(
            Notice(
                pledge.person_id,
                "missed_you",
                # Not `drive_id`: the funnel (services.analytics) then counts a pledge to any
                # drive in the week after as this appeal's, not the missed pledge itself.
                {"pledge_id": pledge.id, "missed_drive_id": pledge.drive_id},
                f"missed:{pledge.id}",
                due_at=due,
            )
        )
        added += await calls.add(
            work, pledge.person_id, calls.Reason.NO_SHOW, f"no_show:{pledge.id}", pledge.drive_id
        )
    await work.session.flush()
    return await outbox.enqueue_many(work, notices), added


# ---------------------------------------------------------------------------- the donor's answers


async def missed_reason(
    work: Work, person: Person, pledge_id: int, reason: MissedReason, actor: Actor
) -> Pledge:
    """The reason a donor gives for missing their drive, kept on the pledge as a code."""
    pledge = await work.session.get(Pledge, pledge_id)
    if pledge is None or pledge.person_id != person.id:
        raise NotFound(N_("Không tìm thấy lượt đăng ký này."))
    if pledge.status not in (NO_SHOW, "pledged"):
        raise InvalidInput(N_("Lượt đăng ký này đã được ghi nhận rồi, cảm ơn bạn."))
    pledge.status, pledge.missed_reason = NO_SHOW, reason.value
    record(
        work, actor, "pledge.missed_reason", person.id, drive=pledge.drive_id, reason=reason.value
    )
    return pledge


async def _took_part(work: Work, person_id: int, drive_id: int) -> bool:
    found = await work.session.scalar(
        select(Donation.id).where(Donation.person_id == person_id, Donation.drive_id == drive_id)
    )
    if found is not None:
        return True
    came = await work.session.scalar(
        select(Pledge.id).where(
            Pledge.person_id == person_id,
            Pledge.drive_id == drive_id,
            Pledge.checked_in_at.is_not(None),
        )
    )
    return came is not None


async def give_feedback(
    work: Work, person: Person, drive_id: int, score: int, actor: Actor
) -> Feedback:
    """A donor's score (1-5) for a drive they came to; a second press changes it."""
    if score not in SCORES:
        raise InvalidInput(N_("Vui lòng chọn từ 1 đến 5."))
    if not await _took_part(work, person.id, drive_id):
        raise NotAllowed(N_("Bạn chỉ góp ý được cho đợt hiến máu mình đã tham gia."))
    row = await given(work, person.id, drive_id)
    if row is None:
        row = Feedback(person_id=person.id, drive_id=drive_id, score=score, created_at=work.now())
        work.session.add(row)
    else:
        row.score = score
    await work.session.flush()
    record(work, actor, "feedback.give", person.id, drive=drive_id)
    return row


async def given(work: Work, person_id: int, drive_id: int) -> Feedback | None:
    return await work.session.scalar(
        select(Feedback).where(Feedback.person_id == person_id, Feedback.drive_id == drive_id)
    )


async def comment(work: Work, person: Person, drive_id: int, text: str, actor: Actor) -> None:
    row = await given(work, person.id, drive_id)
    if row is None:
        raise NotFound(N_("Mời bạn chấm điểm trước nhé."))
    text = " ".join(text.split())
    if not text:
        raise InvalidInput(N_("Góp ý đang trống. Gõ vài dòng, hoặc bấm Bỏ qua."))
    if len(text) > COMMENT_LIMIT:
        raise InvalidInput(N_("Góp ý dài tối đa {n} ký tự."), n=COMMENT_LIMIT)
    row.comment = text
    record(work, actor, "feedback.comment", person.id, drive=drive_id)


# ---------------------------------------------------------------------------- on the tally


@dataclass(frozen=True, slots=True)
class FeedbackFigure:
    """One recent drive's feedback: how many answered, the average score, and the comments
    received since the day before the tally (newest first)."""

    drive: Drive
    count: int
    average: float
    comments: tuple[str, ...]


async def for_tally(
    work: Work,
    day: dt.date,
    scope: set[int] | None,
    people: Select[Any] | None = None,
) -> list[FeedbackFigure]:
    """Feedback on the drives of the `FEEDBACK_DAYS` before `day` in `scope` (None: all);
    `people` limits it to those persons (a club's members)."""
    first = day - dt.timedelta(days=FEEDBACK_DAYS)
    statement = (
        select(Drive, func.count(Feedback.id), func.avg(Feedback.score))
        .join(Feedback, Feedback.drive_id == Drive.id)
        .where(Drive.date >= first, Drive.date < day)
        .group_by(Drive.id)
        .order_by(Drive.date, Drive.id)
    )
    if people is not None:
        statement = statement.where(Feedback.person_id.in_(people))
    figures = [
        (drive, int(n), float(avg or 0))
        for drive, n, avg in (await work.session.execute(statement)).all()
        if scope is None or drive.unit_id is None or drive.unit_id in scope
    ]
    if not figures:
        return []
    since = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(0), tzinfo=work.timezone)
    notes = select(Feedback.drive_id, Feedback.comment).where(
        Feedback.drive_id.in_([drive.id for drive, _n, _a in figures]),
        Feedback.comment.is_not(None),
        Feedback.created_at >= since,
    )
    if people is not None:
        notes = notes.where(Feedback.person_id.in_(people))
    comments: dict[int, list[str]] = {}
    for drive_id, text in await work.session.execute(notes.order_by(Feedback.created_at.desc())):
        comments.setdefault(drive_id, []).append(text or "")
    return [
        FeedbackFigure(drive, n, avg, tuple(comments.get(drive.id, [])[:COMMENTS_SHOWN]))
        for drive, n, avg in figures
    ]


async def drive_total(work: Work, drive_id: int) -> int:
    """Units collected at a drive: the donations recorded for it (one unit each)."""
    total = await work.session.scalar(
        select(func.count(Donation.id)).where(Donation.drive_id == drive_id)
    )
    return int(total or 0)
