"""Roles scoped to a unit: volunteer, club chair, committee, admin."""

from __future__ import annotations

import enum
import logging

from sqlalchemy import select

from db.models import Identity, Person, RoleGrant, Unit
from locales import N_
from services.audit import Actor, record
from services.errors import InvalidInput, NotAllowed, NotFound
from services.units import descendants
from services.work import Work

log = logging.getLogger(__name__)


class Role(enum.StrEnum):
    VOLUNTEER = "volunteer"
    CLUB_CHAIR = "club_chair"
    COMMITTEE = "committee"
    ADMIN = "admin"


# A higher role can do what the lower ones can.
RANK = {Role.VOLUNTEER: 1, Role.CLUB_CHAIR: 2, Role.COMMITTEE: 3, Role.ADMIN: 4}


def parse_role(text: str) -> Role:
    aliases = {"chair": Role.CLUB_CHAIR, "club-chair": Role.CLUB_CHAIR}
    key = text.strip().lower()
    try:
        return aliases.get(key) or Role(key)
    except ValueError:
        raise InvalidInput(
            N_("Vai trò không hợp lệ: {role}. Chọn một trong: {choices}."),
            role=text,
            choices=", ".join(r.value for r in Role),
        ) from None


async def roles_of(work: Work, person_id: int) -> list[tuple[Role, Unit]]:
    rows = await work.session.execute(
        select(RoleGrant.role, Unit)
        .join(Unit, Unit.id == RoleGrant.unit_id)
        .where(RoleGrant.person_id == person_id, RoleGrant.revoked_at.is_(None))
        .order_by(RoleGrant.id)
    )
    return [(Role(role), unit) for role, unit in rows.all()]


async def has_role(work: Work, person_id: int, role: Role) -> bool:
    """True when the person holds `role` or a higher one anywhere."""
    return any(RANK[held] >= RANK[role] for held, _unit in await roles_of(work, person_id))


async def grant(work: Work, person: Person, role: Role, unit_code: str, actor: Actor) -> RoleGrant:
    unit = await work.session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        raise NotFound(N_("Không tìm thấy đơn vị có mã {code}."), code=unit_code)
    existing = await work.session.scalar(
        select(RoleGrant).where(
            RoleGrant.person_id == person.id,
            RoleGrant.role == role.value,
            RoleGrant.unit_id == unit.id,
            RoleGrant.revoked_at.is_(None),
        )
    )
    if existing is not None:
        return existing
    row = RoleGrant(
        person_id=person.id,
        role=role.value,
        unit_id=unit.id,
        granted_by_id=actor.person_id,
        granted_at=work.now(),
    )
    work.session.add(row)
    record(work, actor, "role.grant", person.id, role=role.value, unit=unit.code)
    return row


async def role_chats(work: Work, channel: str) -> dict[str, set[Role]]:
    """Chat id -> the roles held by the person behind it, for every chat of `channel` whose
    person holds an active grant (the per-chat command menus are drawn from this)."""
    rows = await work.session.execute(
        select(Identity.chat_id, RoleGrant.role)
        .join(RoleGrant, RoleGrant.person_id == Identity.person_id)
        .where(Identity.channel == channel, RoleGrant.revoked_at.is_(None))
    )
    chats: dict[str, set[Role]] = {}
    for chat_id, role in rows.all():
        chats.setdefault(chat_id, set()).add(Role(role))
    return chats


# Scopes --------------------------------------------------------------------------------------


async def scope_units(work: Work, person_id: int, role: Role) -> set[int] | None:
    """The units where `person_id` acts with at least `role`: each granted unit and every unit
    below it. None means everywhere (an admin); an empty set means nowhere."""
    held = await roles_of(work, person_id)
    if any(r is Role.ADMIN for r, _unit in held):
        return None
    units: set[int] = set()
    for held_role, unit in held:
        if RANK[held_role] >= RANK[role]:
            units |= await descendants(work, unit.id)
    return units


async def check_scope(work: Work, person_id: int, role: Role, unit_id: int | None) -> None:
    """Refuse unless the person holds `role` (or higher) over `unit_id`."""
    scope = await scope_units(work, person_id, role)
    if scope is None:
        return
    if not scope or unit_id is None or unit_id not in scope:
        log.warning(
            "refused: person %s acting as %s outside their scope (unit %s)",
            person_id,
            role.value,
            unit_id,
        )
        raise NotAllowed(N_("Việc này nằm ngoài đơn vị bạn phụ trách."))


async def revoke(work: Work, person: Person, role: Role, unit_code: str, actor: Actor) -> int:
    rows = await work.session.scalars(
        select(RoleGrant)
        .join(Unit, Unit.id == RoleGrant.unit_id)
        .where(
            RoleGrant.person_id == person.id,
            RoleGrant.role == role.value,
            Unit.code == unit_code,
            RoleGrant.revoked_at.is_(None),
        )
    )
    changed = 0
    for row in rows:
        row.revoked_at = work.now()
        changed += 1
    if changed:
        record(work, actor, "role.revoke", person.id, role=role.value, unit=unit_code)
    return changed
