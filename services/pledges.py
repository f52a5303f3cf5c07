"""Pledges: a donor promises to come to a drive, in one slot. Capacity is never exceeded.

A slot's `taken` counter moves by one conditional UPDATE (`taken < capacity`), so two donors
pressing at the same moment cannot both get the last place: PostgreSQL locks the row, SQLite
writes one transaction at a time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update

from db.models import Drive, DriveSlot, Person, Pledge
from locales import N_
from services import block_places, drives, eligibility
from services.audit import Actor, record
from services.eligibility import Reason
from services.errors import Conflict, InvalidInput, NotFound
from services.work import Work

PLEDGED, CANCELLED = "pledged", "cancelled"


class NotEligible(InvalidInput):
    """The donor may not give blood on the drive's date; `from_date` says when they may."""

    def __init__(self, message: str, from_date: dt.date | None = None, **params: object) -> None:
        super().__init__(message, **params)
        self.from_date = from_date


@dataclass(frozen=True, slots=True)
class MyPledge:
    pledge: Pledge
    drive: Drive
    slot: DriveSlot | None


def check_eligible(work: Work, person: Person, drive: Drive) -> None:
    verdict = eligibility.on(person, drive.date, work.rules)
    if verdict.eligible:
        return
    if verdict.reason is Reason.TOO_OLD:
        raise NotEligible(
            N_(
                "Theo quy định, người hiến máu từ {min} đến {max} tuổi. Cảm ơn bạn đã luôn "
                "đồng hành — bạn vẫn có thể giúp bằng cách vận động người thân, bạn bè nhé!"
            ),
            min=work.rules.min_age,
            max=work.rules.max_age,
        )
    assert verdict.from_date is not None
    raise NotEligible(
        N_(
            "Ngày {drive_date} bạn chưa đủ điều kiện hiến máu. Bạn có thể hiến lại từ ngày "
            "{date}. Mình sẽ nhắc bạn khi đến ngày nhé!"
        ),
        from_date=verdict.from_date,
        drive_date=drive.date.strftime("%d/%m/%Y"),
        date=verdict.from_date.strftime("%d/%m/%Y"),
    )


def _check_open(work: Work, drive: Drive) -> None:
    if drive.status == drives.Status.CANCELLED:
        raise Conflict(N_("Đợt hiến máu này đã bị huỷ."))
    if drive.status == drives.Status.DONE or drive.date < work.today():
        raise Conflict(N_("Đợt hiến máu này đã diễn ra."))


async def _take(work: Work, drive: Drive, slot_id: int) -> DriveSlot:
    """Take one place in a slot, atomically; Conflict when it is full."""
    slot = next((s for s in drive.slots if s.id == slot_id), None)
    if slot is None:
        raise NotFound(N_("Khung giờ này không còn nữa. Mời bạn chọn lại."))
    result = await work.session.execute(
        update(DriveSlot)
        .where(DriveSlot.id == slot_id, DriveSlot.taken < DriveSlot.capacity)
        .values(taken=DriveSlot.taken + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise Conflict(
            N_("Khung {time} vừa hết chỗ. Mời bạn chọn khung giờ khác."),
            time=f"{slot.start_time:%H:%M}",
        )
    await work.session.refresh(slot)
    return slot


async def _release(work: Work, drive: Drive, slot_id: int | None) -> None:
    if slot_id is None:
        return
    await work.session.execute(
        update(DriveSlot)
        .where(DriveSlot.id == slot_id, DriveSlot.taken > 0)
        .values(taken=DriveSlot.taken - 1)
        .execution_options(synchronize_session=False)
    )
    for slot in drive.slots:
        if slot.id == slot_id:
            await work.session.refresh(slot)


async def free_place(work: Work, drive: Drive, row: Pledge) -> None:
    """The place a live pledge holds goes back: to its club's block while the block holds
    it (issue 13), else to the slot."""
    if not await block_places.give_back(work, row):
        await _release(work, drive, row.slot_id)


async def current(
    work: Work, person_id: int, drive_id: int, *, lock: bool = False
) -> Pledge | None:
    """The person's pledge row for a drive; `lock`: held until the transaction ends (on
    PostgreSQL), so two presses at once (a double tap on "change slot") run one after the
    other and a slot's `taken` moves once."""
    statement = select(Pledge).where(Pledge.person_id == person_id, Pledge.drive_id == drive_id)
    if lock and work.session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return await work.session.scalar(statement)


async def pledge(
    work: Work, person: Person, drive_id: int, slot_id: int | None, actor: Actor
) -> MyPledge:
    """Pledge `person` to a drive (and a slot, required when the drive has slots)."""
    drive = await drives.get(work, drive_id)
    _check_open(work, drive)
    check_eligible(work, person, drive)
    if drive.slots and slot_id is None:
        raise InvalidInput(N_("Mời bạn chọn một khung giờ."))
    if not drive.slots:
        slot_id = None
    row = await current(work, person.id, drive.id, lock=True)
    if row is not None and row.status == PLEDGED and row.slot_id == slot_id:
        return MyPledge(row, drive, next((s for s in drive.slots if s.id == slot_id), None))
    slot = await _take(work, drive, slot_id) if slot_id is not None else None
    now = work.now()
    if row is None:
        row = Pledge(
            person_id=person.id,
            drive_id=drive.id,
            slot_id=slot_id,
            status=PLEDGED,
            channel=actor.channel,
            created_at=now,
            updated_at=now,
        )
        work.session.add(row)
    else:
        if row.status == PLEDGED:
            await free_place(work, drive, row)  # moving to another slot
        row.slot_id, row.status, row.updated_at, row.channel = slot_id, PLEDGED, now, actor.channel
    await work.session.flush()
    record(work, actor, "pledge", person.id, drive=drive.id, slot=slot_id)
    return MyPledge(row, drive, slot)


async def cancel(work: Work, person: Person, drive_id: int, actor: Actor) -> Drive:
    row = await current(work, person.id, drive_id, lock=True)
    if row is None or row.status != PLEDGED:
        raise NotFound(N_("Bạn chưa đăng ký đợt hiến máu này."))
    drive = await drives.get(work, drive_id)
    await free_place(work, drive, row)
    row.status, row.updated_at = CANCELLED, work.now()
    record(work, actor, "pledge.cancel", person.id, drive=drive_id)
    return drive


async def mine(work: Work, person_id: int, since: dt.date) -> list[MyPledge]:
    """The person's live pledges for drives from `since` on, nearest first."""
    statement = (
        select(Pledge, Drive)
        .join(Drive, Drive.id == Pledge.drive_id)
        .where(
            Pledge.person_id == person_id,
            Pledge.status == PLEDGED,
            Drive.date >= since.replace(day=1),
        )
        .order_by(Drive.date, Drive.id)
    )
    result: list[MyPledge] = []
    for row, drive in (await work.session.execute(statement)).all():
        slot = next((s for s in drive.slots if s.id == row.slot_id), None)
        result.append(MyPledge(row, drive, slot))
    return result
