"""Reading the audit trail: the latest entries, for admins only, optionally about one person
(what was done to their data, or what they did). Reading it is itself recorded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from db.models import Audit, Person
from locales import N_
from services import persons, roles
from services.audit import Actor, record
from services.errors import NotAllowed, NotFound
from services.roles import Role
from services.validation import parse_phone
from services.work import Work

LATEST = 20


@dataclass(frozen=True, slots=True)
class Someone:
    """A person named in an entry: `name` None when they were erased."""

    person_id: int
    name: str | None

    @property
    def erased(self) -> bool:
        return self.name is None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: dt.datetime
    actor_label: str  # "telegram:123", "cli", "system"
    actor: Someone | None  # the person behind the label, when there is one
    action: str
    subject: Someone | None  # whose data, when it is someone's
    details: dict[str, Any]


async def check_admin(work: Work, actor: Actor) -> None:
    if actor.person_id is None:
        return  # the CLI and the system
    if not await roles.has_role(work, actor.person_id, Role.ADMIN):
        raise NotAllowed(N_("Nhật ký truy cập chỉ dành cho quản trị viên."))


async def latest(
    work: Work, actor: Actor, phone: str | None = None, limit: int = LATEST
) -> list[AuditEntry]:
    """The latest `limit` entries, newest first; with `phone`, those about or by that person."""
    await check_admin(work, actor)
    who = None
    if phone is not None:
        who = await persons.find_by_phone(work, parse_phone(phone))
        if who is None:
            raise NotFound(N_("Không tìm thấy người nào có số điện thoại này."))
    doer, subject = aliased(Person), aliased(Person)
    statement = (
        select(Audit, doer, subject)
        .outerjoin(doer, doer.id == Audit.actor_person_id)
        .outerjoin(subject, subject.id == Audit.subject_person_id)
        .order_by(Audit.at.desc(), Audit.id.desc())
        .limit(limit)
    )
    if who is not None:
        statement = statement.where(
            or_(Audit.subject_person_id == who.id, Audit.actor_person_id == who.id)
        )
    rows = [(row, by, about) for row, by, about in await work.session.execute(statement)]
    # Recorded after the query, so the reading itself is the next entry, not one of these.
    record(work, actor, "audit.read", who.id if who else None, entries=len(rows))
    return [
        AuditEntry(
            at=row.at,
            actor_label=row.actor,
            actor=_someone(by),
            action=row.action,
            subject=_someone(about),
            details=dict(row.details or {}),
        )
        for row, by, about in rows
    ]


def _someone(person: Person | None) -> Someone | None:
    if person is None:
        return None
    name = None if person.status == "erased" else (person.full_name or "")
    return Someone(person.id, name)
