"""Donor clubs (câu lạc bộ hiến máu): created by a chair, joined by invitation, seen by the
chair as a roster. A member's details show only if they agreed to share them with the club."""

from __future__ import annotations

import datetime as dt
import enum
import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import func, select

from db.models import ClubChat, ClubMember, Consent, Donation, Drive, Identity, Person, Pledge, Unit
from locales import N_
from services import invites, roles
from services.audit import Actor, record
from services.errors import InvalidInput, NotAllowed, NotFound
from services.roles import Role
from services.units import UnitKind
from services.validation import fold
from services.work import Work


class ClubKind(enum.StrEnum):
    REGULAR = "regular"
    RESERVE = "reserve"  # dự bị: on call for emergencies
    RH_NEGATIVE = "rh_negative"
    PLATELET = "platelet"
    FAMILY = "family"


URGENT_KINDS = {ClubKind.RESERVE.value, ClubKind.RH_NEGATIVE.value}


@dataclass(frozen=True, slots=True)
class RosterRow:
    person_id: int
    name: str
    shares: bool  # agreed to share their profile and donations with the club
    blood_group: str | None
    last_donation: dt.date | None
    eligible_from: dt.date | None
    next_pledge: Drive | None


async def _managed(work: Work, person_id: int) -> set[int] | None:
    return await roles.scope_units(work, person_id, Role.CLUB_CHAIR)


async def my_clubs(work: Work, person_id: int) -> list[Unit]:
    """The clubs this person runs: those in the scope of their chair (or higher) roles."""
    scope = await _managed(work, person_id)
    statement = select(Unit).where(Unit.kind == UnitKind.CLUB.value).order_by(Unit.name)
    if scope is not None:
        if not scope:
            return []
        statement = statement.where(Unit.id.in_(sorted(scope)))
    return list(await work.session.scalars(statement))


async def get_managed(work: Work, person_id: int, club_id: int) -> Unit:
    club = await work.session.get(Unit, club_id)
    if club is None or club.kind != UnitKind.CLUB.value:
        raise NotFound(N_("Không tìm thấy câu lạc bộ này."))
    await roles.check_scope(work, person_id, Role.CLUB_CHAIR, club.id)
    return club


def _code(parent: Unit | None, name: str) -> str:
    initials = "".join(word[0] for word in fold(name).upper().split() if word[0].isalnum())[:8]
    return f"{parent.code if parent else 'CLB'}-CLB-{initials or 'X'}"


async def create(work: Work, chair: Person, name: str, kind: ClubKind, actor: Actor) -> Unit:
    """A club under the chair's own unit; the creator chairs it and is its first member."""
    name = " ".join(name.split())
    if not 3 <= len(name) <= 150:
        raise InvalidInput(N_("Tên câu lạc bộ từ 3 đến 150 ký tự."))
    held = await roles.roles_of(work, chair.id)
    bases = [unit for role, unit in held if roles.RANK[role] >= roles.RANK[Role.CLUB_CHAIR]]
    if not bases:
        raise NotAllowed(N_("Việc này dành cho chủ nhiệm CLB hoặc Ban chỉ đạo."))
    parent = bases[0]
    if parent.kind == UnitKind.CLUB.value and parent.parent_id is not None:
        parent = await work.session.get(Unit, parent.parent_id) or parent
    duplicate = await work.session.scalar(
        select(Unit).where(
            Unit.parent_id == parent.id, Unit.search_name == fold(name), Unit.kind == "club"
        )
    )
    if duplicate is not None:
        raise InvalidInput(N_("Đã có câu lạc bộ tên «{name}» trong đơn vị này."), name=name)
    code, n = _code(parent, name), 1
    while await work.session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        n += 1
        code = f"{_code(parent, name)}{n}"
    club = Unit(
        code=code,
        name=name,
        kind=UnitKind.CLUB.value,
        parent_id=parent.id,
        search_name=fold(name),
        club_kind=kind.value,
    )
    work.session.add(club)
    await work.session.flush()
    await roles.grant(work, chair, Role.CLUB_CHAIR, club.code, actor)
    await invites.join_club(work, club, chair, actor)
    record(work, actor, "club.create", chair.id, club=club.code, kind=kind.value)
    return club


async def member_invite(work: Work, chair: Person, club: Unit, actor: Actor) -> invites.Created:
    await roles.check_scope(work, chair.id, Role.CLUB_CHAIR, club.id)
    return await invites.create(work, "club", club, actor)


async def _members(work: Work, club_id: int) -> list[Person]:
    statement = (
        select(Person)
        .join(ClubMember, ClubMember.person_id == Person.id)
        .where(
            ClubMember.club_id == club_id,
            ClubMember.removed_at.is_(None),
            Person.status == "active",
        )
        .order_by(Person.full_name, Person.id)
    )
    return list(await work.session.scalars(statement))


async def roster(work: Work, chair: Person, club: Unit, actor: Actor) -> list[RosterRow]:
    """The members; details only for those who agreed to share them. The read is audited."""
    await roles.check_scope(work, chair.id, Role.CLUB_CHAIR, club.id)
    members = await _members(work, club.id)
    ids = [m.id for m in members]
    sharing = set(
        await work.session.scalars(
            select(Consent.person_id).where(
                Consent.person_id.in_(ids),
                Consent.purpose == "club_sharing",
                Consent.withdrawn_at.is_(None),
            )
        )
    )
    last = dict(
        (
            await work.session.execute(
                select(Donation.person_id, func.max(Donation.donated_on))
                .where(Donation.person_id.in_(ids))
                .group_by(Donation.person_id)
            )
        ).all()
    )
    today = work.today()
    pledged: dict[int, Drive] = {}
    rows = await work.session.execute(
        select(Pledge.person_id, Drive)
        .join(Drive, Drive.id == Pledge.drive_id)
        .where(Pledge.person_id.in_(ids), Pledge.status == "pledged", Drive.date >= today)
        .order_by(Drive.date)
    )
    for person_id, drive in rows.all():
        pledged.setdefault(person_id, drive)
    record(work, actor, "club.roster", None, club=club.code, members=len(members))
    return [
        RosterRow(
            m.id,
            m.full_name or "",
            m.id in sharing,
            m.blood_group if m.id in sharing else None,
            last.get(m.id) if m.id in sharing else None,
            m.next_eligible_on if m.id in sharing else None,
            pledged.get(m.id) if m.id in sharing else None,
        )
        for m in members
    ]


def roster_xlsx(club: Unit, rows: list[RosterRow], headers: tuple[str, ...]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Thanh vien"
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(
            [
                row.name,
                row.blood_group or "",
                row.last_donation.strftime("%d/%m/%Y") if row.last_donation else "",
                row.eligible_from.strftime("%d/%m/%Y") if row.eligible_from else "",
                row.next_pledge.date.strftime("%d/%m/%Y") if row.next_pledge else "",
            ]
        )
    for column, width in zip("ABCDE", (30, 10, 16, 16, 18), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def remove_member(
    work: Work, chair: Person, club: Unit, person_id: int, actor: Actor
) -> Person:
    await roles.check_scope(work, chair.id, Role.CLUB_CHAIR, club.id)
    row = await work.session.scalar(
        select(ClubMember).where(
            ClubMember.club_id == club.id,
            ClubMember.person_id == person_id,
            ClubMember.removed_at.is_(None),
        )
    )
    person = await work.session.get(Person, person_id)
    if row is None or person is None:
        raise NotFound(N_("Người này không còn trong câu lạc bộ."))
    row.removed_at, row.removed_by_id = work.now(), chair.id
    record(work, actor, "club.remove", person_id, club=club.code)
    return person


async def link_chat(
    work: Work, chair: Person, club: Unit, channel: str, chat_id: str, title: str, actor: Actor
) -> None:
    """A club's group chat: notices to the club also post there (as one message)."""
    await roles.check_scope(work, chair.id, Role.CLUB_CHAIR, club.id)
    row = await work.session.scalar(
        select(ClubChat).where(ClubChat.channel == channel, ClubChat.chat_id == chat_id)
    )
    if row is None:
        row = ClubChat(channel=channel, chat_id=chat_id, club_id=club.id, linked_at=work.now())
        work.session.add(row)
    row.club_id, row.title, row.linked_by_id = club.id, title[:200], chair.id
    # The group gets an identity of its own so the outbox can write to it.
    group_user = f"group:{chat_id}"
    identity = await work.session.scalar(
        select(Identity).where(Identity.channel == channel, Identity.platform_user_id == group_user)
    )
    if identity is None:
        now = work.now()
        work.session.add(
            Identity(
                channel=channel,
                platform_user_id=group_user,
                chat_id=chat_id,
                language="vi",
                display_name=title[:200],
                created_at=now,
                last_seen_at=now,
            )
        )
    await work.session.flush()
    record(work, actor, "club.link_chat", None, club=club.code, channel=channel)


async def group_identities(work: Work, club_id: int) -> list[int]:
    rows = await work.session.scalars(
        select(Identity.id)
        .join(
            ClubChat,
            (ClubChat.channel == Identity.channel) & (ClubChat.chat_id == Identity.chat_id),
        )
        .where(
            ClubChat.club_id == club_id,
            Identity.platform_user_id.like("group:%"),
            Identity.unreachable_at.is_(None),
        )
    )
    return list(rows)


async def member_ids(work: Work, club_id: int) -> list[int]:
    return [m.id for m in await _members(work, club_id)]
