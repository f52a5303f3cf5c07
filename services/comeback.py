"""Bringing donors back with a concrete plan: the drive a "you can donate again" appeal names,
and the evening window such appeals go out in.

Which drive: the nearest upcoming live drive (a known date, on or after the day the donor may
give again, with a free place) of one of the donor's clubs (`ClubMember`) or of the donor's
unit *or a unit above it*. A drive belongs to the unit that organises it (`Drive.unit_id`); a
commune's drive is for everyone in the commune (its schools, companies, clubs ...), a province's
for the whole province, so a donor of a school in commune X is asked to the drives of the
school, of X, of X's district and of the province, never to a neighbouring commune's or to
another school's. This is the mirror of `planners.drive_notices`, which tells a drive's own unit
and every unit below it. Chosen in a few queries per batch (drives, unit tree, club members),
never one query per person.

With no such drive, the appeal still goes and says so (it is not held until one is planned):
the donor may give again at a hospital meanwhile, and the drive notices
(`planners.drive_notices`) tell them when a drive of their unit comes. At sending time the
chosen drive is checked again: cancelled, full or past, the next one is named instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select

from db.models import ClubMember, Drive, DriveSlot, Person, Unit
from services.appeal_window import Window, shift_days
from services.drives import LIVE
from services.work import Work

__all__ = ["Window", "has_place", "nearest_drives", "shift_days"]


async def _candidate_drives(
    work: Work, since: dt.date
) -> list[tuple[int, dt.date, dt.time | None, int]]:
    """(drive id, date, start, unit id) of live drives from `since`, with a free place."""
    has_slots = select(DriveSlot.id).where(DriveSlot.drive_id == Drive.id).exists()
    free = (
        select(DriveSlot.id)
        .where(DriveSlot.drive_id == Drive.id, DriveSlot.taken < DriveSlot.capacity)
        .exists()
    )
    rows = await work.session.execute(
        select(Drive.id, Drive.date, Drive.start_time, Drive.unit_id)
        .where(
            Drive.status.in_(LIVE),
            Drive.date_is_month_only.is_(False),
            Drive.unit_id.is_not(None),
            Drive.date >= max(since, work.today()),
            ~has_slots | free,
        )
        .order_by(Drive.date, Drive.start_time, Drive.id)
    )
    return [(i, d, t, u) for i, d, t, u in rows.all() if u is not None]


async def nearest_drives(
    work: Work, wanted: dict[int, dt.date], exclude: Iterable[int] = ()
) -> dict[int, int]:
    """person id -> the drive to name in their appeal, for people who may give from the
    given date. People with no such drive are left out."""
    if not wanted:
        return {}
    drives = [d for d in await _candidate_drives(work, min(wanted.values())) if d[0] not in exclude]
    if not drives:
        return {}
    parents = dict((await work.session.execute(select(Unit.id, Unit.parent_id))).all())
    people: dict[int, int | None] = {}
    clubs: dict[int, set[int]] = {}
    ids = sorted(wanted)
    for start in range(0, len(ids), 5000):
        part = ids[start : start + 5000]
        found = await work.session.execute(
            select(Person.id, Person.unit_id).where(Person.id.in_(part))
        )
        people.update({person_id: unit_id for person_id, unit_id in found.all()})
        members = await work.session.execute(
            select(ClubMember.person_id, ClubMember.club_id).where(
                ClubMember.person_id.in_(part), ClubMember.removed_at.is_(None)
            )
        )
        for person_id, club_id in members.all():
            clubs.setdefault(person_id, set()).add(club_id)
    upward: dict[int, frozenset[int]] = {}

    def above(unit_id: int) -> frozenset[int]:
        if unit_id not in upward:
            found: list[int] = []
            current: int | None = unit_id
            while current is not None and current not in found:
                found.append(current)
                current = parents.get(current)
            upward[unit_id] = frozenset(found)
        return upward[unit_id]

    chosen: dict[int, int] = {}
    for person_id, since in wanted.items():
        units: set[int] = set(clubs.get(person_id, ()))
        unit_id = people.get(person_id)
        if unit_id is not None:
            units |= above(unit_id)
        if not units:
            continue
        for drive_id, day, _start, drive_unit in drives:
            if day >= since and drive_unit in units:
                chosen[person_id] = drive_id
                break
    return chosen


def has_place(drive: Drive) -> bool:
    return not drive.slots or any(s.taken < s.capacity for s in drive.slots)
