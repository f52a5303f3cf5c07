"""Invitations behind deep links (`/start inv_<token>`): a role in a unit (one use) or
membership of a club (many uses). Tokens are random; only their SHA-256 is stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update

from db.models import ClubMember, Invite, Person, Unit
from locales import N_
from services import roles
from services.audit import Actor, record
from services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from services.roles import RANK, Role
from services.work import Work

PREFIX = "inv_"
ROLE_DAYS, CLUB_DAYS = 7, 30


@dataclass(frozen=True, slots=True)
class Created:
    invite: Invite
    token: str

    @property
    def payload(self) -> str:
        """The deep-link payload (`A-Za-z0-9_-`, under 64 characters)."""
        return PREFIX + self.token


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create(
    work: Work,
    kind: str,
    unit: Unit,
    actor: Actor,
    *,
    role: Role | None = None,
    days: int | None = None,
    max_uses: int | None = None,
) -> Created:
    """A new invitation. Who may invite to what is checked by the callers' services."""
    if kind not in {"role", "club"} or (kind == "role") != (role is not None):
        raise ValueError("a role invite names a role; a club invite does not")
    if kind == "role":
        max_uses = 1
    token = secrets.token_urlsafe(18)
    now = work.now()
    invite = Invite(
        token_hash=_hash(token),
        kind=kind,
        role=role.value if role else None,
        unit_id=unit.id,
        created_by_id=actor.person_id,
        created_at=now,
        expires_at=now + dt.timedelta(days=days or (ROLE_DAYS if kind == "role" else CLUB_DAYS)),
        max_uses=max_uses,
        uses=0,
    )
    work.session.add(invite)
    await work.session.flush()
    record(work, actor, f"invite.{kind}", None, unit=unit.code, role=invite.role)
    return Created(invite, token)


async def grant_invite(
    work: Work,
    inviter: Person | None,
    role: Role,
    unit: Unit,
    actor: Actor,
    days: int | None = None,
) -> Created:
    """A one-time link granting `role` in `unit`. By chat, only a higher role in scope may
    invite; `inviter` None is the operator's CLI."""
    if inviter is not None:
        await check_can_grant(work, inviter, role, unit)
    return await create(work, "role", unit, actor, role=role, days=days)


async def check_can_grant(work: Work, granter: Person, role: Role, unit: Unit) -> None:
    held = await roles.roles_of(work, granter.id)
    top = max((RANK[r] for r, _u in held), default=0)
    if top < RANK[Role.COMMITTEE] or RANK[role] >= top:
        raise NotAllowed(
            N_("Bạn chỉ trao được vai trò thấp hơn vai trò của mình, trong đơn vị mình phụ trách.")
        )
    await roles.check_scope(work, granter.id, Role.COMMITTEE, unit.id)


async def peek(work: Work, payload: str) -> Invite:
    """The invitation behind a payload, if it can still be used."""
    if not payload.startswith(PREFIX):
        raise NotFound(N_("Link mời không hợp lệ."))
    invite = await work.session.scalar(
        select(Invite).where(Invite.token_hash == _hash(payload[len(PREFIX) :]))
    )
    if invite is None:
        raise NotFound(N_("Link mời không hợp lệ. Bạn kiểm tra lại, hoặc xin link mới nhé."))
    if invite.revoked_at is not None or invite.expires_at <= work.now():
        raise Conflict(N_("Link mời này đã hết hạn. Bạn xin người mời gửi link mới nhé."))
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        raise Conflict(N_("Link mời này đã được dùng. Mỗi link trao vai trò chỉ dùng một lần."))
    return invite


async def redeem(work: Work, payload: str, person: Person, actor: Actor) -> tuple[Invite, Unit]:
    """Use an invitation: the role is granted, or the person joins the club."""
    invite = await peek(work, payload)
    unit = await work.session.get(Unit, invite.unit_id)
    if unit is None:
        raise NotFound(N_("Link mời không hợp lệ."))
    # One use at a time, even with two presses at once: the counter moves conditionally.
    result = await work.session.execute(
        update(Invite)
        .where(
            Invite.id == invite.id,
            (Invite.max_uses.is_(None)) | (Invite.uses < Invite.max_uses),
        )
        .values(uses=Invite.uses + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise Conflict(N_("Link mời này đã được dùng. Mỗi link trao vai trò chỉ dùng một lần."))
    if invite.kind == "role":
        assert invite.role is not None
        await roles.grant(work, person, Role(invite.role), unit.code, actor)
    else:
        await join_club(work, unit, person, actor)
    record(work, actor, "invite.redeem", person.id, kind=invite.kind, unit=unit.code)
    return invite, unit


async def join_club(work: Work, club: Unit, person: Person, actor: Actor) -> bool:
    if club.kind != "club":
        raise InvalidInput(N_("Đơn vị này không phải câu lạc bộ."))
    row = await work.session.scalar(
        select(ClubMember).where(ClubMember.club_id == club.id, ClubMember.person_id == person.id)
    )
    if row is not None and row.removed_at is None:
        return False
    if row is None:
        work.session.add(ClubMember(club_id=club.id, person_id=person.id, joined_at=work.now()))
    else:
        row.removed_at, row.removed_by_id, row.joined_at = None, None, work.now()
    await work.session.flush()
    record(work, actor, "club.join", person.id, club=club.code)
    return True
