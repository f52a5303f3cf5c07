"""Donor records: registration (self or on behalf), profile, consent, export and erasure."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from db.models import (
    Audit,
    CallTask,
    ChatMenu,
    Consent,
    Deferral,
    DialogueState,
    Donation,
    Drive,
    DriveSlot,
    Feedback,
    Identity,
    Outbox,
    Person,
    Pledge,
    RoleGrant,
    Unit,
    Waitlist,
)
from locales import N_
from services import block_places, certificates, roles
from services.audit import Actor, record
from services.errors import Conflict, InvalidInput, NotAllowed
from services.validation import Birth
from services.work import Work


class Purpose(enum.StrEnum):
    REGISTRATION = "registration"  # keep my profile to organise donations (needed to register)
    REMINDERS = "reminders"  # remind me of drives and when I may donate again
    CLUB_SHARING = "club_sharing"  # let my club's chair see my profile and donations


@dataclass(frozen=True, slots=True)
class DonorDraft:
    full_name: str
    phone: str
    birth: Birth
    sex: str
    blood_group: str
    unit_id: int | None
    weight_kg: float | None
    consents: frozenset[Purpose] = field(default_factory=frozenset)
    language: str = "vi"


async def get(work: Work, person_id: int) -> Person | None:
    """A person who has not been erased."""
    person = await work.session.get(Person, person_id)
    return None if person is None or person.status == "erased" else person


async def find_by_phone(work: Work, phone: str) -> Person | None:
    return await work.session.scalar(
        select(Person).where(Person.phone == phone, Person.status != "erased")
    )


async def _check_phone_free(work: Work, phone: str) -> None:
    if await find_by_phone(work, phone) is not None:
        raise Conflict(N_("Số điện thoại này đã được đăng ký."))


async def _write_phone(work: Work, person: Person) -> None:
    """Write a new or changed phone now. Two people saving one phone at the same moment both
    pass `_check_phone_free`; the unique index lets one in, the other gets the same Conflict
    (and its transaction goes on, back at the savepoint)."""
    try:
        async with work.session.begin_nested():
            work.session.add(person)
            await work.session.flush()
    except IntegrityError as error:
        raise Conflict(N_("Số điện thoại này đã được đăng ký.")) from error


def _new_person(work: Work, draft: DonorDraft) -> Person:
    now = work.now()
    return Person(
        full_name=draft.full_name,
        phone=draft.phone,
        birth_year=draft.birth.year,
        birth_date=draft.birth.date,
        sex=draft.sex,
        blood_group=draft.blood_group,
        unit_id=draft.unit_id,
        weight_kg=draft.weight_kg,
        language=draft.language,
        status="active",
        created_at=now,
        updated_at=now,
    )


def _grant_consents(
    work: Work, person: Person, purposes: frozenset[Purpose], channel: str, by: int | None
) -> None:
    for purpose in sorted(purposes):
        work.session.add(
            Consent(
                person_id=person.id,
                purpose=purpose.value,
                version=work.rules.consent_version,
                granted_at=work.now(),
                recorded_by_id=by,
                channel=channel,
            )
        )


async def register_self(work: Work, identity: Identity, draft: DonorDraft, actor: Actor) -> Person:
    """A donor registers themself from a chat: one transaction, consent first."""
    if Purpose.REGISTRATION not in draft.consents:
        raise NotAllowed(N_("Cần bạn đồng ý cho lưu thông tin trước khi đăng ký."))
    await _check_phone_free(work, draft.phone)
    person = _new_person(work, draft)
    person.confirmed_at = work.now()
    await _write_phone(work, person)
    _grant_consents(work, person, draft.consents, identity.channel, by=None)
    identity.person_id = person.id
    record(work, actor, "person.register", person.id, channel=identity.channel)
    return person


async def register_on_behalf(
    work: Work, volunteer: Person, draft: DonorDraft, actor: Actor
) -> Person:
    """A volunteer types in a donor who agreed in person; the donor confirms on first chat."""
    if not await roles.has_role(work, volunteer.id, roles.Role.VOLUNTEER):
        raise NotAllowed(N_("Chức năng này dành cho tình nguyện viên."))
    if Purpose.REGISTRATION not in draft.consents:
        raise NotAllowed(N_("Cần xác nhận người hiến đã đồng ý cho lưu thông tin."))
    await _check_phone_free(work, draft.phone)
    person = _new_person(work, draft)
    person.registered_by_id = volunteer.id
    await _write_phone(work, person)
    _grant_consents(work, person, draft.consents, actor.channel, by=volunteer.id)
    record(work, actor, "person.register_on_behalf", person.id)
    return person


async def register_companion(work: Work, donor: Person, draft: DonorDraft, actor: Actor) -> Person:
    """A donor books a place for someone coming with them (issue 13): the companion is
    registered on the donor's behalf, like a volunteer's registration, and confirms on first
    chat; until then nothing is sent to them. The caller has checked the phone is free."""
    if Purpose.REGISTRATION not in draft.consents:
        raise NotAllowed(N_("Cần xác nhận người đi cùng đã đồng ý cho lưu thông tin."))
    person = _new_person(work, draft)
    person.sex = draft.sex or None  # the donor is not asked it: the companion says it later
    person.registered_by_id = donor.id
    await _write_phone(work, person)
    _grant_consents(work, person, draft.consents, actor.channel, by=donor.id)
    record(work, actor, "person.register_on_behalf", person.id, by="companion")
    return person


def awaits_confirmation(person: Person) -> bool:
    """Registered by a volunteer and not yet confirmed by the donor: send them nothing."""
    return person.confirmed_at is None


async def confirm_on_behalf(
    work: Work, identity: Identity, person: Person, purposes: frozenset[Purpose], actor: Actor
) -> None:
    """The donor confirms a record a volunteer made, and gives their own consent."""
    if Purpose.REGISTRATION not in purposes:
        raise NotAllowed(N_("Cần bạn đồng ý cho lưu thông tin trước khi đăng ký."))
    await _withdraw(work, person, set(Purpose))
    _grant_consents(work, person, purposes, identity.channel, by=None)
    person.confirmed_at = work.now()
    person.updated_at = work.now()
    identity.person_id = person.id
    person.language = identity.language
    record(work, actor, "person.confirm", person.id, channel=identity.channel)


async def link_identity(
    work: Work, identity: Identity, person: Person, birth_answer: Birth, actor: Actor
) -> None:
    """Link one more chat account to a registered donor, who proves it with the birth year."""
    if birth_answer.year != person.birth_year or (
        birth_answer.date is not None
        and person.birth_date is not None
        and birth_answer.date != person.birth_date
    ):
        record(work, actor, "person.link_refused", person.id, channel=identity.channel)
        raise NotAllowed(
            N_(
                "Thông tin không khớp với hồ sơ đã đăng ký, nên mình chưa thể liên kết. "
                "Nếu đây đúng là số của bạn, vui lòng liên hệ tình nguyện viên "
                "hoặc Hội Chữ thập đỏ."
            )
        )
    identity.person_id = person.id
    record(work, actor, "person.link", person.id, channel=identity.channel)


async def active_consents(work: Work, person_id: int) -> set[Purpose]:
    rows = await work.session.scalars(
        select(Consent.purpose).where(
            Consent.person_id == person_id, Consent.withdrawn_at.is_(None)
        )
    )
    return {Purpose(p) for p in rows}


async def _withdraw(work: Work, person: Person, purposes: set[Purpose]) -> None:
    await work.session.execute(
        update(Consent)
        .where(
            Consent.person_id == person.id,
            Consent.purpose.in_([p.value for p in purposes]),
            Consent.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=work.now())
    )


async def set_consent(
    work: Work, person: Person, purpose: Purpose, granted: bool, actor: Actor
) -> bool:
    """Grant or withdraw one purpose. Returns False when nothing changed."""
    held = purpose in await active_consents(work, person.id)
    if held == granted:
        return False
    if granted:
        _grant_consents(work, person, frozenset({purpose}), actor.channel, by=None)
    else:
        await _withdraw(work, person, {purpose})
    action = "consent.grant" if granted else "consent.withdraw"
    record(work, actor, action, person.id, purpose=purpose.value)
    return True


EDITABLE = ("full_name", "phone", "birth", "sex", "blood_group", "unit_id", "weight_kg")


async def update_field(work: Work, person: Person, name: str, value: Any, actor: Actor) -> None:
    if name not in EDITABLE:
        raise InvalidInput(N_("Không thể sửa mục này."))
    if name == "phone" and value != person.phone:
        await _check_phone_free(work, value)
    if name == "birth":
        assert isinstance(value, Birth)
        person.birth_year, person.birth_date = value.year, value.date
    else:
        setattr(person, name, value)
    person.updated_at = work.now()
    if name == "phone":
        await _write_phone(work, person)
    record(work, actor, "person.update", person.id, field=name)


async def erase(work: Work, person: Person, actor: Actor) -> None:
    """Erase a person: no personal data stays, only an anonymous row that keeps counts right."""
    session = work.session
    chats = (
        await session.execute(
            select(Identity.channel, Identity.chat_id).where(Identity.person_id == person.id)
        )
    ).all()
    for channel, chat_id in chats:
        await session.execute(
            delete(DialogueState).where(
                DialogueState.channel == channel, DialogueState.chat_id == chat_id
            )
        )
        await session.execute(
            delete(ChatMenu).where(ChatMenu.channel == channel, ChatMenu.chat_id == chat_id)
        )
    await session.execute(delete(Identity).where(Identity.person_id == person.id))
    await session.execute(delete(Consent).where(Consent.person_id == person.id))
    await session.execute(delete(RoleGrant).where(RoleGrant.person_id == person.id))
    await session.execute(delete(Deferral).where(Deferral.person_id == person.id))
    await session.execute(delete(Outbox).where(Outbox.person_id == person.id))
    await session.execute(delete(Waitlist).where(Waitlist.person_id == person.id))
    person.busy_until = None
    # After the drive (issue 11): certificate photos, call-list entries and notes go; a
    # feedback score stays for the tally, without the person or their comment.
    await certificates.erase(work, person.id)
    await session.execute(delete(CallTask).where(CallTask.person_id == person.id))
    await session.execute(
        update(Feedback).where(Feedback.person_id == person.id).values(person_id=None, comment=None)
    )
    person.do_not_contact_at = None
    # Promised places go back to the drives; past donations stay, anonymous, for the tallies.
    live = await session.scalars(
        select(Pledge).where(Pledge.person_id == person.id, Pledge.status == "pledged")
    )
    for pledge in live:
        if await block_places.give_back(work, pledge):
            pass  # a place claimed from a club block goes back to the club
        elif pledge.slot_id is not None:
            await session.execute(
                update(DriveSlot)
                .where(DriveSlot.id == pledge.slot_id, DriveSlot.taken > 0)
                .values(taken=DriveSlot.taken - 1)
            )
        pledge.status = "cancelled"
    # Who came with whom (companions booked by a donor) is theirs too.
    await session.execute(
        update(Pledge)
        .where((Pledge.person_id == person.id) | (Pledge.booked_by_id == person.id))
        .values(booked_by_id=None, booked_name=None)
    )
    person.next_eligible_on = None
    for column in ("full_name", "phone", "birth_date", "birth_year", "sex", "weight_kg"):
        setattr(person, column, None)
    person.blood_group = "unknown"
    person.status = "erased"
    # The audit trail keeps what was done, not who they were on a chat platform.
    await session.execute(
        update(Audit).where(Audit.actor_person_id == person.id).values(actor="erased")
    )
    person.erased_at = person.updated_at = work.now()
    own = actor.person_id == person.id
    record(
        work, Actor("erased", person.id, actor.channel) if own else actor, "person.erase", person.id
    )


async def export(work: Work, person: Person, actor: Actor) -> dict[str, Any]:
    """Everything stored about a person, as plain JSON-ready data."""
    unit = await work.session.get(Unit, person.unit_id) if person.unit_id else None
    consents = await work.session.scalars(
        select(Consent).where(Consent.person_id == person.id).order_by(Consent.id)
    )
    identities = await work.session.scalars(
        select(Identity).where(Identity.person_id == person.id).order_by(Identity.id)
    )
    grants = await roles.roles_of(work, person.id)
    pledges = (
        await work.session.execute(
            select(Pledge, Drive, DriveSlot)
            .join(Drive, Drive.id == Pledge.drive_id)
            .outerjoin(DriveSlot, DriveSlot.id == Pledge.slot_id)
            .where(Pledge.person_id == person.id)
            .order_by(Drive.date, Pledge.id)
        )
    ).all()
    donations = await work.session.scalars(
        select(Donation).where(Donation.person_id == person.id).order_by(Donation.donated_on)
    )
    deferrals = await work.session.scalars(
        select(Deferral).where(Deferral.person_id == person.id).order_by(Deferral.until)
    )
    waiting = (
        await work.session.execute(
            select(Waitlist, Drive, DriveSlot)
            .join(Drive, Drive.id == Waitlist.drive_id)
            .outerjoin(DriveSlot, DriveSlot.id == Waitlist.slot_id)
            .where(Waitlist.person_id == person.id)
            .order_by(Waitlist.id)
        )
    ).all()
    companions = (
        await work.session.execute(
            select(Pledge.booked_name, Drive.date, Pledge.status)
            .join(Drive, Drive.id == Pledge.drive_id)
            .where(Pledge.booked_by_id == person.id)
            .order_by(Drive.date, Pledge.id)
        )
    ).all()
    feedback = (
        await work.session.execute(
            select(Feedback, Drive)
            .join(Drive, Drive.id == Feedback.drive_id)
            .where(Feedback.person_id == person.id)
            .order_by(Feedback.id)
        )
    ).all()
    record(work, actor, "person.export", person.id)
    return {
        "profile": {
            "full_name": person.full_name,
            "phone": person.phone,
            "birth_date": _iso(person.birth_date),
            "birth_year": person.birth_year,
            "sex": person.sex,
            "blood_group": person.blood_group,
            "weight_kg": person.weight_kg,
            "unit": {"code": unit.code, "name": unit.name} if unit else None,
            "language": person.language,
            "preferred_channel": person.preferred_channel,
            "status": person.status,
            "registered_by_volunteer": person.registered_by_id is not None,
            "confirmed_at": _iso(person.confirmed_at),
            "created_at": _iso(person.created_at),
            "updated_at": _iso(person.updated_at),
        },
        "consents": [
            {
                "purpose": c.purpose,
                "version": c.version,
                "granted_at": _iso(c.granted_at),
                "withdrawn_at": _iso(c.withdrawn_at),
                "channel": c.channel,
            }
            for c in consents
        ],
        "chat_accounts": [
            {"channel": i.channel, "user_id": i.platform_user_id, "language": i.language}
            for i in identities
        ],
        "roles": [{"role": r.value, "unit": u.code} for r, u in grants],
        "pledges": [
            {
                "drive": drive.title,
                "date": _iso(drive.date),
                "place": drive.place,
                "slot": f"{slot.start_time:%H:%M}-{slot.end_time:%H:%M}" if slot else None,
                "status": pledge.status,
                "created_at": _iso(pledge.created_at),
            }
            for pledge, drive, slot in pledges
        ],
        "donations": [
            {
                "date": _iso(d.donated_on),
                "kind": d.kind,
                "volume_ml": d.volume_ml,
                "verified": d.verified,
                "certificate_photo": d.certificate_path,
            }
            for d in donations
        ],
        "feedback": [
            {"drive": drive.title, "date": _iso(drive.date), "score": f.score, "comment": f.comment}
            for f, drive in feedback
        ],
        "deferrals": [{"until": _iso(d.until), "reason": d.reason} for d in deferrals],
        "busy_until": _iso(person.busy_until),
        "waiting_lists": [
            {
                "drive": drive.title,
                "date": _iso(drive.date),
                "place": drive.place,
                "slot": f"{slot.start_time:%H:%M}-{slot.end_time:%H:%M}" if slot else None,
                "status": row.status,
                "joined_at": _iso(row.created_at),
                "offered_at": _iso(row.offered_at),
            }
            for row, drive, slot in waiting
        ],
        # People this donor booked places for (names only: their data is their own).
        "companions_booked": [
            {"name": name, "drive_date": _iso(date), "status": status}
            for name, date, status in companions
        ],
        "next_eligible_on": _iso(person.next_eligible_on),
        "exported_at": _iso(work.now()),
    }


async def linked_channels(work: Work, person_id: int) -> list[str]:
    """The channels a person has a chat account on, sorted ("telegram", "zalo" ...)."""
    rows = await work.session.scalars(
        select(Identity.channel).where(Identity.person_id == person_id).distinct()
    )
    return sorted(rows)


async def set_preferred_channel(
    work: Work, person: Person, channel: str | None, actor: Actor
) -> None:
    """Where reminders go: `channel`, or with None the channel the person used last."""
    if channel is not None and channel not in await linked_channels(work, person.id):
        raise InvalidInput(N_("Bạn chưa liên kết tài khoản trên kênh này."))
    if person.preferred_channel == channel:
        return
    person.preferred_channel = channel
    person.updated_at = work.now()
    record(work, actor, "person.update", person.id, field="preferred_channel")


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
