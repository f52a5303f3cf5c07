"""The waiting list of a full drive: first come, first served.

A donor who finds a drive (or one slot) full may join its waiting list. When a place frees (a
pledge cancelled, or moved to another slot), the planner (`plan`, at every tick) offers it to
the first person waiting, one offer per free place: an outbox notice "waitlist_offer" with a
one-tap pledge. The offer is good for `hours` (and never past the drive's start); then it
expires and the place goes to the next person. Taking it is a plain pledge (`pledges.pledge`),
so capacity stays guarded there: the place is not locked for the person offered, and if
someone else takes it first, the tap says the slot is full (and offers the list again).
Offers are not made during quiet hours, so an offer is not spent while its person sleeps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from db.models import Drive, DriveSlot, Person, Pledge, Waitlist
from locales import N_
from services import drives, outbox, pledges
from services.audit import Actor, record
from services.errors import Conflict, NotFound
from services.schedule import local_moment
from services.work import Work

WAITING, OFFERED, PLEDGED, EXPIRED, LEFT, CLOSED = (
    "waiting",
    "offered",
    "pledged",
    "expired",
    "left",
    "closed",
)
OPEN = (WAITING, OFFERED)


@dataclass(frozen=True, slots=True)
class Joined:
    row: Waitlist
    drive: Drive
    position: int  # 1: next to be offered a place


async def _row(work: Work, person_id: int, drive_id: int) -> Waitlist | None:
    return await work.session.scalar(
        select(Waitlist).where(Waitlist.person_id == person_id, Waitlist.drive_id == drive_id)
    )


async def position(work: Work, row: Waitlist) -> int:
    ahead = await work.session.scalars(
        select(Waitlist.id).where(
            Waitlist.drive_id == row.drive_id,
            Waitlist.status == WAITING,
            (Waitlist.created_at < row.created_at)
            | ((Waitlist.created_at == row.created_at) & (Waitlist.id < row.id)),
        )
    )
    return len(list(ahead)) + 1


async def join(
    work: Work, person: Person, drive_id: int, slot_id: int | None, actor: Actor
) -> Joined:
    """Put `person` on the drive's waiting list (for one slot, or any with `slot_id` None)."""
    drive = await drives.get(work, drive_id)
    if drive.status not in drives.LIVE or drive.date < work.today():
        raise Conflict(N_("Đợt hiến máu này không còn nhận đăng ký."))
    pledges.check_eligible(work, person, drive)
    mine = await pledges.current(work, person.id, drive.id)
    if mine is not None and mine.status == pledges.PLEDGED:
        raise Conflict(N_("Bạn đã có tên trong danh sách đợt này rồi."))
    if slot_id is not None and not any(s.id == slot_id for s in drive.slots):
        raise NotFound(N_("Khung giờ này không còn nữa. Mời bạn chọn lại."))
    row = await _row(work, person.id, drive.id)
    now = work.now()
    if row is None:
        row = Waitlist(person_id=person.id, drive_id=drive.id, slot_id=slot_id, status=WAITING)
        row.created_at = now
        work.session.add(row)
    elif row.status not in OPEN:  # back of the queue again
        row.slot_id, row.status, row.created_at, row.offered_at = slot_id, WAITING, now, None
    elif row.status == WAITING:
        row.slot_id = slot_id
    await work.session.flush()
    record(work, actor, "waitlist.join", person.id, drive=drive.id, slot=slot_id)
    return Joined(row, drive, await position(work, row) if row.status == WAITING else 1)


async def leave(work: Work, person: Person, drive_id: int, actor: Actor) -> bool:
    row = await _row(work, person.id, drive_id)
    if row is None or row.status not in OPEN:
        return False
    row.status = LEFT
    record(work, actor, "waitlist.leave", person.id, drive=drive_id)
    return True


async def settle(work: Work, person_id: int, drive_id: int) -> None:
    """The person pledged to the drive: they wait no more."""
    row = await _row(work, person_id, drive_id)
    if row is not None and row.status in OPEN:
        row.status = PLEDGED


async def offer_of(work: Work, waitlist_id: int) -> tuple[Waitlist, Drive] | None:
    """A live offer (for the renderer): its row and drive, or None when it is over."""
    row = await work.session.get(Waitlist, waitlist_id)
    if row is None or row.status != OFFERED:
        return None
    drive = await work.session.get(Drive, row.drive_id)
    if drive is None or drive.status not in drives.LIVE:
        return None
    return row, drive


def expires_at(work: Work, row: Waitlist, drive: Drive, hours: int) -> dt.datetime:
    assert row.offered_at is not None
    slot = next((s for s in drive.slots if s.id == row.slot_id), None)
    start = local_moment(
        drive.date, slot.start_time if slot else drive.start_time, work.timezone
    ).astimezone(dt.UTC)
    return min(row.offered_at + dt.timedelta(hours=hours), start)


async def plan(work: Work, hours: int, *, offers: bool = True) -> int:
    """Close what is over, expire old offers, offer free places. Returns offers queued."""
    rows = list(
        await work.session.scalars(
            select(Waitlist)
            .where(Waitlist.status.in_(OPEN))
            .order_by(Waitlist.created_at, Waitlist.id)
        )
    )
    if not rows:
        return 0
    today, now = work.today(), work.now()
    by_drive: dict[int, list[Waitlist]] = {}
    for row in rows:
        by_drive.setdefault(row.drive_id, []).append(row)
    found = await work.session.execute(
        select(Pledge.person_id, Pledge.drive_id).where(
            Pledge.drive_id.in_(sorted(by_drive)), Pledge.status == pledges.PLEDGED
        )
    )
    pledged = {(person_id, drive_id) for person_id, drive_id in found.all()}
    queued = 0
    for drive_id, waiting in by_drive.items():
        drive = await work.session.get(Drive, drive_id)
        if drive is None or drive.status not in drives.LIVE or drive.date < today:
            for row in waiting:
                row.status = CLOSED
            continue
        for row in waiting:
            if (row.person_id, drive_id) in pledged:
                row.status = PLEDGED
            elif row.status == OFFERED and expires_at(work, row, drive, hours) <= now:
                row.status = EXPIRED
        if offers:
            queued += await _offer(work, drive, [r for r in waiting if r.status in OPEN], hours)
    return queued


async def _offer(work: Work, drive: Drive, waiting: list[Waitlist], hours: int) -> int:
    if not any(r.status == WAITING for r in waiting) or not drive.slots:
        return 0
    # One planner at a time per drive: the slots' rows are locked while places are counted.
    lock = select(DriveSlot.id).where(DriveSlot.drive_id == drive.id)
    if work.session.get_bind().dialect.name == "postgresql":
        lock = lock.with_for_update()
    await work.session.execute(lock)
    for slot in drive.slots:
        await work.session.refresh(slot)
    free = {s.id: s.capacity - s.taken for s in drive.slots}
    for row in waiting:
        if row.status == OFFERED and row.slot_id in free:
            free[row.slot_id] -= 1
    queued = 0
    for row in waiting:
        if row.status != WAITING:
            continue
        wanted = [row.slot_id] if row.slot_id is not None else [s.id for s in drive.slots]
        slot_id = next((s for s in wanted if free.get(s, 0) > 0), None)
        if slot_id is None:
            continue
        free[slot_id] -= 1
        row.status, row.slot_id, row.offered_at = OFFERED, slot_id, work.now()
        queued += await outbox.enqueue(
            work,
            row.person_id,
            "waitlist_offer",
            {
                "drive_id": drive.id,
                "slot_id": slot_id,
                "waitlist_id": row.id,
                "until": expires_at(work, row, drive, hours).isoformat(),
            },
            f"waitlist_offer:{row.id}:{row.offered_at.isoformat()}",
        )
    return queued


async def mine(work: Work, person_id: int) -> list[Waitlist]:
    return list(
        await work.session.scalars(
            select(Waitlist).where(Waitlist.person_id == person_id).order_by(Waitlist.id)
        )
    )
