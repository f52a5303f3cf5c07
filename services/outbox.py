"""The outbox: messages to people other than the sender, written in the transaction that
caused them. The scheduler's sender delivers them; a dedup key makes a second write a no-op."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from db.models import Consent, Identity, Outbox, Person
from services import appeal_window, appeals, busy, do_not_contact
from services.work import Work


async def reachable_identity(work: Work, person_id: int) -> Identity | None:
    """The chat a person's messages go to, among those that can still be reached: on the
    channel they chose (`Person.preferred_channel`), else the one they were last seen in."""
    preferred = select(Person.preferred_channel).where(Person.id == person_id).scalar_subquery()
    statement = (
        select(Identity)
        .where(Identity.person_id == person_id, Identity.unreachable_at.is_(None))
        .order_by(
            case((Identity.channel == preferred, 0), else_=1),
            Identity.last_seen_at.desc(),
            Identity.id.desc(),
        )
        .limit(1)
    )
    return (await work.session.scalars(statement)).first()


async def enqueue(
    work: Work,
    person_id: int,
    key: str,
    params: dict[str, Any],
    dedup_key: str,
    *,
    due_at: dt.datetime | None = None,
    urgent: bool = False,
    not_after: dt.datetime | None = None,
) -> bool:
    """Queue notice `key` for a person. False when they have no reachable chat or the notice
    (by `dedup_key`) is already queued."""
    notice = Notice(
        person_id, key, params, dedup_key, due_at=due_at, urgent=urgent, not_after=not_after
    )
    if not await appeals.screen(work, [notice]):
        return False
    identity = await reachable_identity(work, person_id)
    if identity is None:
        return False
    values = row(notice, identity.id, work.now())
    insert = pg_insert if work.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Outbox).values(**values).on_conflict_do_nothing(index_elements=["dedup_key"])
    result = await work.session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True, slots=True)
class Notice:
    person_id: int
    key: str
    params: dict[str, Any]
    dedup_key: str
    due_at: dt.datetime | None = None
    urgent: bool = False
    body: str | None = None
    broadcast_id: int | None = None
    # Not sent at or after this moment: then it waits for the same hours the next day.
    not_after: dt.datetime | None = None


async def reachable_identities(work: Work, person_ids: list[int]) -> dict[int, int]:
    """person id -> the identity `reachable_identity` would choose, for many people at once."""
    found: dict[int, tuple[bool, dt.datetime, int]] = {}
    for start in range(0, len(person_ids), 5000):
        rows = await work.session.execute(
            select(
                Identity.person_id,
                Identity.id,
                Identity.last_seen_at,
                Identity.channel == func.coalesce(Person.preferred_channel, ""),
            )
            .join(Person, Person.id == Identity.person_id)
            .where(
                Identity.person_id.in_(person_ids[start : start + 5000]),
                Identity.unreachable_at.is_(None),
            )
        )
        for person_id, identity_id, seen, chosen in rows.all():
            assert person_id is not None
            key = (bool(chosen), seen, identity_id)
            if person_id not in found or key > found[person_id]:
                found[person_id] = key
    return {person_id: key[2] for person_id, key in found.items()}


async def enqueue_many(work: Work, notices: list[Notice]) -> int:
    """`enqueue` for many people at once: notices already queued (by dedup key) are left out
    first, then one lookup of the others' chats and a bulk insert. Returns the rows queued."""
    notices = await appeals.screen(work, await _not_queued(work, notices))
    if not notices:
        return 0
    chats = await reachable_identities(work, sorted({n.person_id for n in notices}))
    now = work.now()
    rows = [row(n, chats[n.person_id], now) for n in notices if n.person_id in chats]
    await insert_rows(work, rows)
    return len(rows)


def row(notice: Notice, identity_id: int, now: dt.datetime, **changes: Any) -> dict[str, Any]:
    """The outbox row of a notice to one chat, queued now (`changes`: another status ...)."""
    return {
        "identity_id": identity_id,
        "person_id": notice.person_id,
        "key": notice.key,
        "params": notice.params,
        "body": notice.body,
        "broadcast_id": notice.broadcast_id,
        "urgent": notice.urgent,
        "due_at": notice.due_at or now,
        "not_after": notice.not_after,
        "dedup_key": notice.dedup_key,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        **changes,
    }


async def insert_rows(work: Work, rows: list[dict[str, Any]]) -> None:
    """Bulk insert; a row whose dedup key is taken is left out (ON CONFLICT DO NOTHING still
    guards against a planner running at the same moment elsewhere)."""
    insert = pg_insert if work.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for start in range(0, len(rows), 2000):
        statement = insert(Outbox).on_conflict_do_nothing(index_elements=["dedup_key"])
        await work.session.execute(statement, rows[start : start + 2000])


async def not_queued(work: Work, notices: list[Notice]) -> list[Notice]:
    """The notices not queued yet (by dedup key): a planner leaves out the others before
    doing more work for them."""
    return await _not_queued(work, notices)


async def _not_queued(work: Work, notices: list[Notice]) -> list[Notice]:
    keys = [n.dedup_key for n in notices]
    queued: set[str] = set()
    for start in range(0, len(keys), 5000):
        found = await work.session.scalars(
            select(Outbox.dedup_key).where(Outbox.dedup_key.in_(keys[start : start + 5000]))
        )
        queued.update(found)
    return [n for n in notices if n.dedup_key not in queued]


async def pending_for(work: Work, person_id: int) -> list[Outbox]:
    statement = (
        select(Outbox)
        .where(Outbox.person_id == person_id, Outbox.status == "pending")
        .order_by(Outbox.due_at, Outbox.id)
    )
    return list(await work.session.scalars(statement))


# Sending ------------------------------------------------------------------------------------

LEASE = dt.timedelta(minutes=2)  # a claimed row comes back after this if its sender died
MAX_ATTEMPTS = 8
# Notices sent only while the person consents to reminders; the others answer their own pledge.
NEEDS_CONSENT = frozenset(
    {"drive_reminder", "drive_notice", "eligible", "eligible_nudge", "milestone", "notice"}
    | {"thanks", "feedback", "missed_you"}  # after the drive (services.aftercare)
)


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    channel: str
    chat_id: str
    language: str
    person_id: int | None
    key: str
    params: dict[str, Any]
    body: str | None
    attempts: int


async def claim(
    work: Work,
    channels: set[str],
    *,
    limit: int = 200,
    quiet: bool = False,
    lease: dt.timedelta = LEASE,
) -> list[Job]:
    """Take up to `limit` due rows for sending. A claimed row is leased (its due time moves
    on by LEASE), so a sender that dies mid-batch loses nothing: the row is due again later.
    On PostgreSQL, concurrent senders skip each other's rows (FOR UPDATE SKIP LOCKED)."""
    now = work.now()
    statement = (
        select(Outbox, Identity, Person)
        .join(Identity, Identity.id == Outbox.identity_id)
        .outerjoin(Person, Person.id == Outbox.person_id)
        .where(
            Outbox.status == "pending",
            Outbox.due_at <= now,
            Identity.channel.in_(sorted(channels)),
        )
        .order_by(Outbox.due_at, Outbox.id)
        .limit(limit)
    )
    if quiet:
        statement = statement.where(Outbox.urgent.is_(True))
    if work.session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True, of=Outbox)
    jobs: list[Job] = []
    rows = (await work.session.execute(statement)).all()
    agreed = await consenting({p.id for _r, _i, p in rows if p is not None}, work)
    for row, identity, person in rows:
        reason = _unsendable(row, identity, person, agreed)
        if reason is not None:
            row.status, row.last_error = "dropped", reason
            continue
        if _held(work, row, person):
            continue
        row.due_at = now + lease
        row.attempts += 1
        jobs.append(
            Job(
                row.id,
                identity.channel,
                identity.chat_id,
                identity.language,
                row.person_id,
                row.key,
                dict(row.params),
                row.body,
                row.attempts,
            )
        )
    return jobs


async def consenting(person_ids: set[int], work: Work) -> set[int]:
    if not person_ids:
        return set()
    rows = await work.session.scalars(
        select(Consent.person_id).where(
            Consent.person_id.in_(sorted(person_ids)),
            Consent.purpose == "reminders",
            Consent.withdrawn_at.is_(None),
        )
    )
    return set(rows)


def _held(work: Work, row: Outbox, person: Person | None) -> bool:
    """Rows that must not go now: past their window (`not_after`: they wait for the same
    hours the next day), or appeals to someone who paused them (/busy: a donate-again waits
    for the first day after the pause, other appeals are dropped as stale by then)."""
    now, zone = work.now(), work.timezone
    days = 0
    if row.not_after is not None and now >= row.not_after:
        days = (now - row.not_after).days + 1
    if (
        person is not None
        and row.key in appeals.APPEAL_KEYS
        and busy.is_busy(person, work.today())
        and person.busy_until is not None
    ):
        if row.key not in busy.HELD_KEYS:
            row.status, row.last_error = "dropped", "busy"
            return True
        days = max(days, (person.busy_until - row.due_at.astimezone(zone).date()).days + 1)
    if days <= 0:
        return False
    row.due_at = appeal_window.shift_days(row.due_at, days, zone)
    if row.not_after is not None:
        row.not_after = appeal_window.shift_days(row.not_after, days, zone)
    return True


def _unsendable(
    row: Outbox, identity: Identity, person: Person | None, consenting: set[int]
) -> str | None:
    if identity.unreachable_at is not None:
        return "unreachable"
    if row.person_id is not None and (person is None or person.status != "active"):
        return "person not active"
    if row.key in NEEDS_CONSENT and row.person_id is not None and row.person_id not in consenting:
        return "no consent to reminders"
    if do_not_contact.blocks(row.key, person):
        return "do not contact"
    return None


async def mark_sent(work: Work, job_ids: list[int]) -> None:
    if job_ids:
        await work.session.execute(
            update(Outbox)
            .where(Outbox.id.in_(job_ids), Outbox.status == "pending")
            .values(status="sent", sent_at=work.now())
        )


async def release(work: Work, job_ids: list[int]) -> None:
    """Give claimed rows back untried: due now, the claim not counted as an attempt."""
    if job_ids:
        await work.session.execute(
            update(Outbox)
            .where(Outbox.id.in_(job_ids), Outbox.status == "pending")
            .values(due_at=work.now(), attempts=Outbox.attempts - 1)
        )


async def mark_dropped(work: Work, job_id: int, reason: str) -> None:
    await work.session.execute(
        update(Outbox).where(Outbox.id == job_id).values(status="dropped", last_error=reason[:500])
    )


async def retry_later(work: Work, job: Job, error: str, wait: dt.timedelta | None = None) -> None:
    """Try again later: after `wait` (429) or with exponential backoff, then give up."""
    if wait is None and job.attempts >= MAX_ATTEMPTS:
        await work.session.execute(
            update(Outbox)
            .where(Outbox.id == job.id)
            .values(status="failed", last_error=error[:500])
        )
        return
    delay = wait or min(dt.timedelta(seconds=10 * 2 ** (job.attempts - 1)), dt.timedelta(hours=1))
    values: dict[str, Any] = {"due_at": work.now() + delay, "last_error": error[:500]}
    if wait is not None:
        values["attempts"] = max(job.attempts - 1, 0)  # waiting on a rate limit is no failure
    await work.session.execute(update(Outbox).where(Outbox.id == job.id).values(**values))


async def counts(work: Work) -> dict[str, int]:
    rows = await work.session.execute(
        select(Outbox.status, func.count(Outbox.id)).group_by(Outbox.status)
    )
    return {status: int(n) for status, n in rows.all()}
