"""Companions: a donor pledged to a drive books places for people coming with them ("tôi và
2 người nữa"), in the donor's own slot.

Each companion becomes a person registered on the donor's behalf (marked, confirmed by the
companion on first chat, sent nothing before), with a pledge that names the donor who booked
it. All places of one booking are taken in one conditional UPDATE, and everything is written
under one savepoint: a refusal half-way leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from db.models import Drive, DriveSlot, Person, Pledge
from locales import N_
from services import drives, eligibility, persons, pledges
from services.audit import Actor, record
from services.errors import Conflict, InvalidInput, NotFound
from services.persons import DonorDraft, Purpose
from services.validation import Birth, parse_birth
from services.work import Work

MAX_COMPANIONS = 5  # a family or a room of friends; a larger group is a club block


@dataclass(frozen=True, slots=True)
class Companion:
    full_name: str
    phone: str  # E.164
    birth: Birth


@dataclass(frozen=True, slots=True)
class Booked:
    """One companion of a booking: `already` when they were pledged to the drive before."""

    name: str
    already: bool


@dataclass(frozen=True, slots=True)
class Place:
    """A live place a donor booked for someone else."""

    pledge_id: int
    name: str


async def _own_pledge(work: Work, donor: Person, drive_id: int) -> tuple[Drive, Pledge]:
    drive = await drives.get(work, drive_id)
    row = await pledges.current(work, donor.id, drive_id)
    if row is None or row.status != pledges.PLEDGED:
        raise NotFound(N_("Bạn cần đăng ký đợt này cho mình trước, rồi thêm người đi cùng."))
    if drive.status not in drives.LIVE or drive.date < work.today():
        raise Conflict(N_("Đợt hiến máu này không còn nhận đăng ký."))
    return drive, row


def _slot(drive: Drive, row: Pledge) -> DriveSlot | None:
    return next((s for s in drive.slots if s.id == row.slot_id), None)


async def room(work: Work, donor: Person, drive_id: int) -> int:
    """How many companions the donor may still add: the free places of their slot (no limit
    on a drive without slots), at most MAX_COMPANIONS."""
    drive, row = await _own_pledge(work, donor, drive_id)
    slot = _slot(drive, row)
    if slot is None:
        return MAX_COMPANIONS
    return max(0, min(MAX_COMPANIONS, slot.capacity - slot.taken))


def companion_birth(text: str, drive_date: dt.date, work: Work) -> Birth:
    """A companion's birth date or year, 18 to 60 on the drive's day (the age rules of
    registration, worded for someone else)."""
    lenient = dataclasses.replace(work.rules, min_age=0, max_age=200)
    birth = parse_birth(text, work.today(), lenient)
    _check_age(birth, drive_date, work)
    return birth


def _check_age(birth: Birth, drive_date: dt.date, work: Work) -> None:
    age = birth.age_on(drive_date)
    if not work.rules.min_age <= age <= work.rules.max_age:
        raise InvalidInput(
            N_(
                "Người hiến máu cần từ {min} đến {max} tuổi vào ngày hiến ({date}), nên "
                "mình chưa thể đăng ký cho người này. Nếu nhập nhầm, vui lòng nhập lại; hoặc "
                "gõ /cancel để dừng."
            ),
            min=work.rules.min_age,
            max=work.rules.max_age,
            date=drive_date.strftime("%d/%m/%Y"),
        )


def check_phone(donor: Person, phone: str, earlier: list[str]) -> None:
    """The donor's own phone, or one given for an earlier companion, is refused."""
    if phone == donor.phone:
        raise InvalidInput(
            N_(
                "Đây là số điện thoại của chính bạn. Vui lòng nhập số của người đi cùng "
                "(mỗi người một số)."
            )
        )
    if phone in earlier:
        raise InvalidInput(N_("Số này đã nhập cho người đi cùng trước. Mỗi người một số nhé."))


async def _take(work: Work, slot: DriveSlot, count: int) -> None:
    """Take `count` places of a slot at once, or none (Conflict)."""
    result = await work.session.execute(
        update(DriveSlot)
        .where(DriveSlot.id == slot.id, DriveSlot.taken + count <= DriveSlot.capacity)
        .values(taken=DriveSlot.taken + count)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        await work.session.refresh(slot)
        raise Conflict(
            N_(
                "Khung {time} chỉ còn {left} chỗ, không đủ cho {count} người đi cùng. Bạn bớt "
                "số người, hoặc chọn khung giờ khác."
            ),
            time=f"{slot.start_time:%H:%M}",
            left=max(slot.capacity - slot.taken, 0),
            count=count,
        )
    await work.session.refresh(slot)


async def book(
    work: Work, donor: Person, drive_id: int, companions: list[Companion], actor: Actor
) -> list[Booked]:
    """Book a place for each companion in the donor's slot: all of them, or none."""
    if not 1 <= len(companions) <= MAX_COMPANIONS:
        raise InvalidInput(N_("Mỗi lần thêm từ 1 đến {max} người đi cùng."), max=MAX_COMPANIONS)
    earlier: list[str] = []
    for companion in companions:
        check_phone(donor, companion.phone, earlier)
        earlier.append(companion.phone)
    drive, own = await _own_pledge(work, donor, drive_id)
    for companion in companions:
        _check_age(companion.birth, drive.date, work)
    slot = _slot(drive, own)
    try:
        return await _book(work, donor, drive, own, slot, companions, actor)
    except IntegrityError as error:  # a second press of "save" while the first was saving
        raise Conflict(
            N_("Danh sách này vừa được lưu rồi. Bạn xem lại trong /mypledges nhé.")
        ) from error


async def _book(
    work: Work,
    donor: Person,
    drive: Drive,
    own: Pledge,
    slot: DriveSlot | None,
    companions: list[Companion],
    actor: Actor,
) -> list[Booked]:
    booked: list[Booked] = []
    async with work.session.begin_nested():
        people: list[tuple[Companion, Person, Pledge | None]] = []
        for companion in companions:
            person = await persons.find_by_phone(work, companion.phone)
            if person is None:
                people.append((companion, await _register(work, donor, companion, actor), None))
                continue
            # Someone already on file: their record is used as it is and shown to nobody.
            row = await pledges.current(work, person.id, drive.id)
            if row is not None and row.status == pledges.PLEDGED:
                booked.append(Booked(companion.full_name, already=True))
                continue
            if not eligibility.on(person, drive.date, work.rules).eligible:
                raise InvalidInput(
                    N_(
                        "Chưa đăng ký được cho {name} ở đợt này. Người ấy có thể nhắn tin "
                        "cho mình để tự đăng ký."
                    ),
                    name=companion.full_name,
                )
            people.append((companion, person, row))
        if slot is not None and people:
            await _take(work, slot, len(people))
        now = work.now()
        for companion, person, row in people:
            if row is None:
                row = Pledge(person_id=person.id, drive_id=drive.id, created_at=now)
                work.session.add(row)
            row.slot_id, row.status, row.channel = own.slot_id, pledges.PLEDGED, actor.channel
            row.booked_by_id, row.booked_name = donor.id, companion.full_name
            row.block_id, row.updated_at = None, now
            record(work, actor, "pledge.companion", person.id, drive=drive.id, by=donor.id)
            booked.append(Booked(companion.full_name, already=False))
        await work.session.flush()
    return booked


async def _register(work: Work, donor: Person, companion: Companion, actor: Actor) -> Person:
    draft = DonorDraft(
        full_name=companion.full_name,
        phone=companion.phone,
        birth=companion.birth,
        sex="",
        blood_group="unknown",
        unit_id=donor.unit_id,
        weight_kg=None,
        consents=frozenset({Purpose.REGISTRATION}),
        language=donor.language,
    )
    return await persons.register_companion(work, donor, draft, actor)


async def booked_by(work: Work, donor_id: int, drive_ids: list[int]) -> dict[int, list[Place]]:
    """Drive id -> the live places the donor booked for others there."""
    if not drive_ids:
        return {}
    rows = await work.session.execute(
        select(Pledge.drive_id, Pledge.id, Pledge.booked_name)
        .join(Person, Person.id == Pledge.person_id)
        .where(
            Pledge.booked_by_id == donor_id,
            Pledge.drive_id.in_(drive_ids),
            Pledge.status == pledges.PLEDGED,
            Person.status != "erased",
        )
        .order_by(Pledge.id)
    )
    found: dict[int, list[Place]] = {}
    for drive_id, pledge_id, name in rows.all():
        found.setdefault(drive_id, []).append(Place(pledge_id, name or ""))
    return found


async def cancel(work: Work, donor: Person, pledge_id: int, actor: Actor) -> tuple[str, Drive]:
    """Cancel one place the donor booked for a companion: the place is free again."""
    row = await work.session.get(Pledge, pledge_id)
    if row is None or row.booked_by_id != donor.id or row.status != pledges.PLEDGED:
        raise NotFound(N_("Chỗ này đã được huỷ hoặc không còn nữa."))
    person = await work.session.get(Person, row.person_id)
    assert person is not None
    name = row.booked_name or ""
    drive = await pledges.cancel(work, person, row.drive_id, actor)
    return name, drive
