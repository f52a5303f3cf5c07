"""The outbox: messages to people other than the sender, written in the transaction that
caused them. The scheduler's sender delivers them; a dedup key makes a second write a no-op."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from db.models import Identity, Outbox
from services.work import Work


async def reachable_identity(work: Work, person_id: int) -> Identity | None:
    """The chat a person was last seen in, among those that can still be reached."""
    statement = (
        select(Identity)
        .where(Identity.person_id == person_id, Identity.unreachable_at.is_(None))
        .order_by(Identity.last_seen_at.desc(), Identity.id.desc())
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
) -> bool:
    """Queue notice `key` for a person. False when they have no reachable chat or the notice
    (by `dedup_key`) is already queued."""
    identity = await reachable_identity(work, person_id)
    if identity is None:
        return False
    now = work.now()
    values = {
        "identity_id": identity.id,
        "person_id": person_id,
        "key": key,
        "params": params,
        "urgent": urgent,
        "due_at": due_at or now,
        "dedup_key": dedup_key,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
    }
    insert = pg_insert if work.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Outbox).values(**values).on_conflict_do_nothing(index_elements=["dedup_key"])
    result = await work.session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def pending_for(work: Work, person_id: int) -> list[Outbox]:
    statement = (
        select(Outbox)
        .where(Outbox.person_id == person_id, Outbox.status == "pending")
        .order_by(Outbox.due_at, Outbox.id)
    )
    return list(await work.session.scalars(statement))
