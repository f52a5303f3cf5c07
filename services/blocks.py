"""Club blocks: a club chair (or a committee) holds K places of a slot for the club's members
("CLB Ngân hàng máu sống: 20 chỗ, 7:30-8:30"); members claim them one tap each; the places
nobody claimed go back to everyone `[rules] block_release_days` before the drive, and the
one who reserved them is told how many.

Places are counted in the slot's `taken` from the reservation on, so the public never sees
them free and a block can never overbook its slot. A claim turns one of them into a pledge
(`claimed` + 1, `taken` unchanged); the release gives `places - claimed` back to the slot.
Every count moves by one conditional UPDATE, so two members reaching for the last place at
the same instant cannot both get it (PostgreSQL locks the row; SQLite writes one at a time).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from db.models import ClubBlock, ClubMember, Drive, DriveSlot, Person, Pledge, Unit
from locales import N_
from services import clubs, drives, outbox, pledges
from services.audit import Actor, record
from services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from services.work import Work


@dataclass(frozen=True, slots=True)
class Held:
    """A block as members see it."""

    block: ClubBlock
    club: Unit
    slot: DriveSlot

    @property
    def left(self) -> int:
        return max(self.block.places - self.block.claimed, 0)


def release_day(work: Work, drive: Drive) -> dt.date:
    """The day unclaimed places go back to everyone."""
    return drive.date - dt.timedelta(days=work.rules.block_release_days)


def still_open(work: Work, drive: Drive) -> bool:
    """A drive a block may still be reserved for: live, with slots, before the release day."""
    return (
        drive.status in drives.LIVE
        and bool(drive.slots)
        and not drive.date_is_month_only
        and work.today() < release_day(work, drive)
    )


async def reservable(work: Work, limit: int = 8) -> list[Drive]:
    """Upcoming drives a block may be reserved for, nearest first."""
    statement = (
        select(Drive)
        .where(Drive.date > work.today(), Drive.status.in_(drives.LIVE))
        .order_by(Drive.date, Drive.id)
    )
    found: list[Drive] = []
    for drive in await work.session.scalars(statement):
        if still_open(work, drive) and any(s.capacity > s.taken for s in drive.slots):
            found.append(drive)
            if len(found) >= limit:
                break
    return found


async def reserve(
    work: Work,
    chair: Person,
    club_id: int,
    drive_id: int,
    slot_id: int,
    places: int,
    actor: Actor,
) -> ClubBlock:
    """Hold `places` places of a slot for a club (more places, when the club holds some of
    this slot already), in one step, or nothing."""
    club = await clubs.get_managed(work, chair.id, club_id)
    drive = await drives.get(work, drive_id)
    if not still_open(work, drive):
        raise Conflict(
            N_(
                "Đợt này không còn giữ chỗ cho CLB được nữa (chỗ CLB giữ được trả lại cho mọi "
                "người {days} ngày trước đợt)."
            ),
            days=work.rules.block_release_days,
        )
    slot = next((s for s in drive.slots if s.id == slot_id), None)
    if slot is None:
        raise NotFound(N_("Khung giờ này không còn nữa. Mời bạn chọn lại."))
    if places < 1:
        raise InvalidInput(N_("Số chỗ cần giữ phải từ 1 trở lên."))
    if places > slot.capacity:
        raise InvalidInput(
            N_("Khung {time} chỉ có {capacity} chỗ tất cả, không giữ được {places} chỗ."),
            time=f"{slot.start_time:%H:%M}",
            capacity=slot.capacity,
            places=places,
        )
    try:
        async with work.session.begin_nested():  # the slot and the block move together
            await _take_places(work, slot, places)
            block = await _add_places(work, chair, club, slot, places)
    except IntegrityError as error:  # the same block reserved from elsewhere just now
        raise Conflict(
            N_("Chỗ cho {club} vừa được giữ từ nơi khác. Bạn xem lại bằng /block nhé."),
            club=club.name,
        ) from error
    record(work, actor, "block.reserve", None, club=club.code, drive=drive.id, places=places)
    return block


async def _take_places(work: Work, slot: DriveSlot, places: int) -> None:
    result = await work.session.execute(
        update(DriveSlot)
        .where(DriveSlot.id == slot.id, DriveSlot.taken + places <= DriveSlot.capacity)
        .values(taken=DriveSlot.taken + places)
        .execution_options(synchronize_session=False)
    )
    await work.session.refresh(slot)
    if getattr(result, "rowcount", 0) != 1:
        raise Conflict(
            N_("Khung {time} chỉ còn {left} chỗ trống, không giữ được {places} chỗ."),
            time=f"{slot.start_time:%H:%M}",
            left=max(slot.capacity - slot.taken, 0),
            places=places,
        )


async def _add_places(
    work: Work, chair: Person, club: Unit, slot: DriveSlot, places: int
) -> ClubBlock:
    """A new block, or more places in the club's block of this slot."""
    block = await work.session.scalar(
        select(ClubBlock).where(ClubBlock.slot_id == slot.id, ClubBlock.club_id == club.id)
    )
    if block is None:
        block = ClubBlock(
            drive_id=slot.drive_id,
            slot_id=slot.id,
            club_id=club.id,
            places=places,
            claimed=0,
            created_by_id=chair.id,
            created_at=work.now(),
        )
        work.session.add(block)
        await work.session.flush()
        return block
    result = await work.session.execute(
        update(ClubBlock)
        .where(ClubBlock.id == block.id, ClubBlock.released_at.is_(None))
        .values(places=ClubBlock.places + places)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise Conflict(
            N_("Các chỗ {club} giữ ở khung này đã trả lại cho mọi người."), club=club.name
        )
    await work.session.refresh(block)
    return block


async def _member_clubs(work: Work, person_id: int) -> list[int]:
    rows = await work.session.scalars(
        select(ClubMember.club_id).where(
            ClubMember.person_id == person_id, ClubMember.removed_at.is_(None)
        )
    )
    return list(rows)


async def visible(work: Work, person_id: int, drive_ids: list[int]) -> list[Held]:
    """The blocks still held at these drives by clubs the person belongs to."""
    clubs_of = await _member_clubs(work, person_id)
    if not clubs_of or not drive_ids:
        return []
    rows = await work.session.execute(
        select(ClubBlock, Unit, DriveSlot)
        .join(Unit, Unit.id == ClubBlock.club_id)
        .join(DriveSlot, DriveSlot.id == ClubBlock.slot_id)
        .where(
            ClubBlock.drive_id.in_(drive_ids),
            ClubBlock.club_id.in_(clubs_of),
            ClubBlock.released_at.is_(None),
        )
        .order_by(ClubBlock.drive_id, DriveSlot.start_time, Unit.name)
    )
    return [Held(block, club, slot) for block, club, slot in rows.all()]


async def claim(work: Work, person: Person, block_id: int, actor: Actor) -> Held:
    """A member takes one place of their club's block (moving from any place they held at
    the drive). Refused to non-members, after the release, and when the block is all taken."""
    block = await work.session.get(ClubBlock, block_id)
    if block is None:
        raise NotFound(N_("Không tìm thấy chỗ CLB giữ này."))
    club = await work.session.get(Unit, block.club_id)
    slot = await work.session.get(DriveSlot, block.slot_id)
    assert club is not None and slot is not None
    if block.club_id not in await _member_clubs(work, person.id):
        raise NotAllowed(
            N_(
                "Các chỗ này {club} giữ riêng cho thành viên. Bạn chưa là thành viên CLB "
                "nên chưa nhận được; mời bạn đăng ký một khung giờ còn trống: /drives"
            ),
            club=club.name,
        )
    drive = await drives.get(work, block.drive_id)
    if drive.status not in drives.LIVE or drive.date < work.today():
        raise Conflict(N_("Đợt hiến máu này không còn nhận đăng ký."))
    if block.released_at is not None:
        raise Conflict(
            N_(
                "Các chỗ {club} giữ đã trả lại cho mọi người. Bạn đăng ký khung giờ còn "
                "trống như bình thường nhé: /drives"
            ),
            club=club.name,
        )
    pledges.check_eligible(work, person, drive)
    # Locked (PostgreSQL): a double tap runs one press after the other, and the second
    # finds the place claimed.
    row = await pledges.current(work, person.id, drive.id, lock=True)
    if row is not None and row.status == pledges.PLEDGED and row.block_id == block.id:
        return Held(block, club, slot)  # a second tap: nothing changes
    try:
        async with work.session.begin_nested():
            await _take_block_place(work, block, club)
            now = work.now()
            if row is None:
                row = Pledge(person_id=person.id, drive_id=drive.id, created_at=now)
                work.session.add(row)
            elif row.status == pledges.PLEDGED:
                await pledges.free_place(work, drive, row)  # the place they held before
            row.slot_id, row.block_id, row.status = slot.id, block.id, pledges.PLEDGED
            row.channel, row.updated_at = actor.channel, now
            await work.session.flush()
    except IntegrityError:
        # A first-time double tap: the other press wrote the pledge; this one took nothing.
        await work.session.refresh(block)
        return Held(block, club, slot)
    await work.session.refresh(block)
    record(work, actor, "block.claim", person.id, club=club.code, drive=drive.id)
    return Held(block, club, slot)


async def _take_block_place(work: Work, block: ClubBlock, club: Unit) -> None:
    """One place of the block, by a conditional UPDATE: of two claims for the last place
    at the same instant exactly one passes."""
    result = await work.session.execute(
        update(ClubBlock)
        .where(
            ClubBlock.id == block.id,
            ClubBlock.released_at.is_(None),
            ClubBlock.claimed < ClubBlock.places,
        )
        .values(claimed=ClubBlock.claimed + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        await work.session.refresh(block)
        raise Conflict(
            N_(
                "Các chỗ {club} giữ vừa có người nhận hết. Bạn đăng ký khung giờ còn "
                "trống nhé: /drives"
            ),
            club=club.name,
        )


async def release_due(work: Work) -> int:
    """Give the unclaimed places of every block whose release day has come back to its slot,
    and tell the one who reserved it. Returns the blocks released. Idempotent: a block is
    released once (conditional UPDATE), its notice queued under a dedup key."""
    today = work.today()
    due = await work.session.execute(
        select(ClubBlock.id, Drive.date)
        .join(Drive, Drive.id == ClubBlock.drive_id)
        .where(
            ClubBlock.released_at.is_(None),
            Drive.status.in_(drives.LIVE),
            Drive.date <= today + dt.timedelta(days=work.rules.block_release_days),
        )
        .order_by(ClubBlock.id)
    )
    released = 0
    for block_id, _date in due.all():
        returned = await work.session.scalar(
            update(ClubBlock)
            .where(ClubBlock.id == block_id, ClubBlock.released_at.is_(None))
            .values(released_at=work.now(), released_places=ClubBlock.places - ClubBlock.claimed)
            .returning(ClubBlock.released_places)
            .execution_options(synchronize_session=False)
        )
        if returned is None:
            continue  # released by someone else just now
        block = await work.session.get(ClubBlock, block_id)
        assert block is not None
        await work.session.refresh(block)
        if returned > 0:
            await work.session.execute(
                update(DriveSlot)
                .where(DriveSlot.id == block.slot_id)
                .values(taken=DriveSlot.taken - returned)
                .execution_options(synchronize_session=False)
            )
            slot = await work.session.get(DriveSlot, block.slot_id)
            if slot is not None:
                await work.session.refresh(slot)
        if block.created_by_id is not None:
            await outbox.enqueue(
                work,
                block.created_by_id,
                "block_released",
                {"block_id": block.id},
                f"block_released:{block.id}",
            )
        record(work, Actor("system"), "block.release", None, block=block.id, places=returned)
        released += 1
    return released


@dataclass(frozen=True, slots=True)
class Released:
    club: str
    drive: Drive
    slot: DriveSlot
    places: int
    returned: int


async def released(work: Work, block_id: int) -> Released | None:
    """What a release notice says; None when the block or its drive is gone."""
    block = await work.session.get(ClubBlock, block_id)
    if block is None or block.released_at is None:
        return None
    club = await work.session.get(Unit, block.club_id)
    drive = await work.session.get(Drive, block.drive_id)
    slot = await work.session.get(DriveSlot, block.slot_id)
    if club is None or drive is None or slot is None or drive.status not in drives.LIVE:
        return None
    return Released(club.name, drive, slot, block.places, block.released_places or 0)
