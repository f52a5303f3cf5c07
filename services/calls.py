"""The call list: donors a volunteer should ring, because a message alone did not work.

Someone goes on the list when they missed a drive they pledged to (services.aftercare), or
ignored two appeals in a row: the last two appeals sent to them (`appeals.APPEAL_KEYS`) were
followed by no pledge, and the latest is at least `IGNORED_AFTER` old. A task belongs to the
donor's club when they share their details with it, else to their own unit; the volunteers of
that unit (and of every unit above it) see it in `/calls`, with name, phone, the last time the
bot or a volunteer reached them, and why. Each listing and each outcome is audited: phones
are personal data.

Outcomes: reached / do_not_contact close the task; no_answer / call_back keep it open for
another try. "Do not contact" sets `Person.do_not_contact_at`: from then on no notice is
queued or sent to them (services.appeals) until a volunteer undoes it. The donor can still
use the bot themselves.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from db.models import CallTask, ClubMember, Consent, Outbox, Person, Pledge
from locales import N_
from services import appeals, roles
from services.audit import Actor, record
from services.errors import InvalidInput, NotAllowed, NotFound
from services.roles import Role
from services.work import Work

IGNORED_AFTER = dt.timedelta(days=7)  # an appeal with no pledge this long after is ignored
LOOK_BACK = dt.timedelta(days=120)  # appeals older than this say nothing now
LISTED = 20  # tasks shown by /calls
NOTE_LIMIT = 300


class Reason(enum.StrEnum):
    IGNORED_TWO_APPEALS = "ignored_two_appeals"
    NO_SHOW = "no_show"


class Outcome(enum.StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    CALL_BACK = "call_back"
    DO_NOT_CONTACT = "do_not_contact"


STILL_OPEN = (Outcome.NO_ANSWER.value, Outcome.CALL_BACK.value)


def _open() -> ColumnElement[bool]:
    return or_(CallTask.outcome.is_(None), CallTask.outcome.in_(STILL_OPEN))


async def _unit_for(work: Work, person_id: int) -> int | None:
    """The donor's club when they agreed to share their details with it, else their unit."""
    shares = exists().where(
        Consent.person_id == person_id,
        Consent.purpose == "club_sharing",
        Consent.withdrawn_at.is_(None),
    )
    club = await work.session.scalar(
        select(ClubMember.club_id)
        .where(ClubMember.person_id == person_id, ClubMember.removed_at.is_(None), shares)
        .order_by(ClubMember.joined_at.desc())
        .limit(1)
    )
    if club is not None:
        return int(club)
    return await work.session.scalar(select(Person.unit_id).where(Person.id == person_id))


async def add(
    work: Work, person_id: int, reason: Reason, source: str, drive_id: int | None = None
) -> int:
    """Put a donor on the list (1), unless this `source` already did or a task for them is
    still open (0)."""
    already = await work.session.scalar(
        select(CallTask.id).where(
            or_(CallTask.source == source, (CallTask.person_id == person_id) & _open())
        )
    )
    if already is not None:
        return 0
    work.session.add(
        CallTask(
            person_id=person_id,
            unit_id=await _unit_for(work, person_id),
            reason=reason.value,
            drive_id=drive_id,
            source=source,
            created_at=work.now(),
        )
    )
    await work.session.flush()
    return 1


async def plan_ignored(work: Work) -> int:
    """Donors whose last two appeals went unanswered by a pledge: onto the list, in one query."""
    now = work.now()
    ranked = (
        select(
            Outbox.id,
            Outbox.person_id,
            Outbox.sent_at,
            func.row_number()
            .over(partition_by=Outbox.person_id, order_by=(Outbox.sent_at.desc(), Outbox.id.desc()))
            .label("n"),
        )
        .where(
            Outbox.key.in_(sorted(appeals.APPEAL_KEYS)),
            Outbox.status == "sent",
            Outbox.person_id.is_not(None),
            Outbox.sent_at >= now - LOOK_BACK,
            # Sent soon after being queued: lets the (key, created_at) index narrow the scan.
            Outbox.created_at >= now - LOOK_BACK - IGNORED_AFTER,
        )
        .subquery()
    )
    latest, earlier = aliased(ranked), aliased(ranked)
    pledged_since = exists().where(
        Pledge.person_id == latest.c.person_id, Pledge.updated_at >= earlier.c.sent_at
    )
    listed = exists().where(
        CallTask.person_id == latest.c.person_id,
        or_(
            _open(),
            (CallTask.reason == Reason.IGNORED_TWO_APPEALS.value)
            & (CallTask.created_at >= latest.c.sent_at),
        ),
    )
    rows = await work.session.execute(
        select(latest.c.person_id, latest.c.id)
        .join(earlier, (earlier.c.person_id == latest.c.person_id) & (earlier.c.n == 2))
        .join(Person, Person.id == latest.c.person_id)
        .where(
            latest.c.n == 1,
            latest.c.sent_at <= now - IGNORED_AFTER,
            Person.status == "active",
            Person.do_not_contact_at.is_(None),
            ~pledged_since,
            ~listed,
        )
    )
    added = 0
    for person_id, outbox_id in rows.all():
        added += await add(work, person_id, Reason.IGNORED_TWO_APPEALS, f"ignored:{outbox_id}")
    return added


# ---------------------------------------------------------------------------- for volunteers


@dataclass(frozen=True, slots=True)
class CallItem:
    task: CallTask
    name: str
    phone: str | None
    last_contact: dt.datetime | None  # the last message the bot sent them, or call made
    do_not_contact: bool


async def _scope(work: Work, volunteer_id: int) -> set[int] | None:
    scope = await roles.scope_units(work, volunteer_id, Role.VOLUNTEER)
    if scope is not None and not scope:
        raise NotAllowed(N_("Việc này dành cho tình nguyện viên."))
    return scope


async def _last_contacts(work: Work, person_ids: list[int]) -> dict[int, dt.datetime]:
    if not person_ids:
        return {}
    found: dict[int, dt.datetime] = {}
    sent = select(Outbox.person_id, func.max(Outbox.sent_at)).where(
        Outbox.person_id.in_(person_ids), Outbox.status == "sent"
    )
    called = select(CallTask.person_id, func.max(CallTask.called_at)).where(
        CallTask.person_id.in_(person_ids), CallTask.called_at.is_not(None)
    )
    for statement, column in ((sent, Outbox.person_id), (called, CallTask.person_id)):
        for person_id, moment in await work.session.execute(statement.group_by(column)):
            if person_id is not None and moment is not None:
                found[person_id] = max(found.get(person_id, moment), moment)
    return found


async def _items(work: Work, rows: list[tuple[CallTask, Person]]) -> list[CallItem]:
    contacts = await _last_contacts(work, [person.id for _task, person in rows])
    return [
        CallItem(
            task,
            person.full_name or "",
            person.phone,
            contacts.get(person.id),
            person.do_not_contact_at is not None,
        )
        for task, person in rows
    ]


async def listing(work: Work, volunteer: Person, actor: Actor) -> list[CallItem]:
    """Open tasks in the volunteer's units, oldest first, then those marked "do not contact"
    (so the mark can be undone). Each donor listed is audited."""
    scope = await _scope(work, volunteer.id)
    statement = (
        select(CallTask, Person)
        .join(Person, Person.id == CallTask.person_id)
        .where(
            Person.status == "active",
            or_(
                _open(),
                (CallTask.outcome == Outcome.DO_NOT_CONTACT.value)
                & Person.do_not_contact_at.is_not(None),
            ),
        )
        .order_by(
            case((CallTask.outcome == Outcome.DO_NOT_CONTACT.value, 1), else_=0),
            CallTask.created_at,
            CallTask.id,
        )
        .limit(LISTED)
    )
    if scope is not None:
        statement = statement.where(CallTask.unit_id.in_(sorted(scope)))
    rows = [(task, person) for task, person in (await work.session.execute(statement)).all()]
    for task, person in rows:
        record(work, actor, "call.list", person.id, task=task.id)
    return await _items(work, rows)


async def task(work: Work, volunteer: Person, task_id: int, actor: Actor) -> CallItem:
    scope = await _scope(work, volunteer.id)
    row = (
        await work.session.execute(
            select(CallTask, Person)
            .join(Person, Person.id == CallTask.person_id)
            .where(CallTask.id == task_id, Person.status == "active")
        )
    ).first()
    if row is None:
        raise NotFound(N_("Không tìm thấy người này trong danh sách gọi."))
    found, person = row
    if scope is not None and found.unit_id not in scope:
        record(work, actor, "call.refused", person.id, task=task_id)
        raise NotAllowed(N_("Việc này nằm ngoài đơn vị bạn phụ trách."))
    record(work, actor, "call.view", person.id, task=task_id)
    [item] = await _items(work, [(found, person)])
    return item


async def set_outcome(
    work: Work, volunteer: Person, task_id: int, outcome: Outcome, actor: Actor
) -> CallItem:
    item = await task(work, volunteer, task_id, actor)
    row, now = item.task, work.now()
    row.outcome, row.called_by_id, row.called_at = outcome.value, volunteer.id, now
    person = await work.session.get(Person, row.person_id)
    assert person is not None
    if outcome is Outcome.DO_NOT_CONTACT and person.do_not_contact_at is None:
        person.do_not_contact_at = now
        record(work, actor, "person.do_not_contact", person.id, task=task_id)
    record(work, actor, "call.outcome", person.id, task=task_id, outcome=outcome.value)
    return await task(work, volunteer, task_id, actor)


async def set_note(work: Work, volunteer: Person, task_id: int, note: str, actor: Actor) -> None:
    item = await task(work, volunteer, task_id, actor)
    note = " ".join(note.split())
    if not note:
        raise InvalidInput(N_("Ghi chú đang trống. Gõ vài chữ, hoặc bấm Bỏ qua."))
    if len(note) > NOTE_LIMIT:
        raise InvalidInput(N_("Ghi chú dài tối đa {n} ký tự."), n=NOTE_LIMIT)
    item.task.note = note
    record(work, actor, "call.note", item.task.person_id, task=task_id)


async def undo_do_not_contact(
    work: Work, volunteer: Person, task_id: int, actor: Actor
) -> CallItem:
    item = await task(work, volunteer, task_id, actor)
    person = await work.session.get(Person, item.task.person_id)
    assert person is not None
    if person.do_not_contact_at is not None:
        person.do_not_contact_at = None
        record(work, actor, "person.contact_again", person.id, task=task_id)
    return await task(work, volunteer, task_id, actor)
