"""Booking targets: how many pledges a drive needs to collect its target in units.

Not everyone who pledges comes, and not everyone who comes may donate, so a drive aiming at
T units wants more pledges than T: its booking target is ceil(T × factor). The factor is
- the drive's own (`drive.show_up_factor`, set by the committee in /managedrives), else
- learned from the drive's unit: over the unit's drives of the last 12 months (before today,
  not cancelled) that have recorded donations, pledged places / donations, clamped to
  1.0-3.0 (one such drive is enough), else
- `[rules] show_up_factor` (1.5).

Pledged places are pledges not withdrawn (walk-ins registered at the drive are no pledges;
companions have pledges of their own) and the places club blocks still hold for members.
The daily tally flags live drives exactly 7 and 3 days ahead that are under their booking
target, with how many more pledges they need. Every figure is an aggregated query for all
the drives at once.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from db.models import ClubBlock, Donation, Drive, Pledge
from locales import N_
from services.audit import Actor, record
from services.drives import LIVE, Status
from services.errors import InvalidInput
from services.work import Work

FACTOR_MIN, FACTOR_MAX = 1.0, 3.0
LEARN_DAYS = 365  # past drives of the unit within this many days teach its factor
FLAG_DAYS = (7, 3)  # the tally flags drives this many days ahead under their booking target
WALK_IN = "walk_in"  # services.checkin: a pledge row made at the drive for a walk-in


class Source(enum.StrEnum):
    DRIVE = "drive"  # set by the committee for this drive
    LEARNED = "learned"  # from the unit's past drives
    DEFAULT = "default"  # [rules] show_up_factor


@dataclass(frozen=True, slots=True)
class Booking:
    drive: Drive
    pledged: int  # places pledged, not withdrawn
    factor: float
    source: Source

    @property
    def target(self) -> int:
        """Pledges wanted: ceil(target units × factor), 0 for a drive without a target."""
        return math.ceil(round(self.drive.target_units * self.factor, 6))

    @property
    def missing(self) -> int:
        return max(self.target - self.pledged, 0)


def clamp(factor: float) -> float:
    return min(max(factor, FACTOR_MIN), FACTOR_MAX)


def parse_factor(text: str) -> float:
    """'1,3' or '1.3', from 1.0 to 3.0."""
    cleaned = text.strip().replace(",", ".")
    if not re.fullmatch(r"\d(\.\d{1,2})?", cleaned):
        raise InvalidInput(
            N_("Nhập hệ số là một số từ 1 đến 3, ví dụ 1,5 (1,5 người đăng ký cho 1 đơn vị máu).")
        )
    factor = float(cleaned)
    if not FACTOR_MIN <= factor <= FACTOR_MAX:
        raise InvalidInput(N_("Hệ số phải từ 1 đến 3, ví dụ 1,5."))
    return factor


async def set_factor(work: Work, drive: Drive, factor: float | None, actor: Actor) -> None:
    """The drive's own factor; None: learned from its unit again (or the default)."""
    if factor is not None and not FACTOR_MIN <= factor <= FACTOR_MAX:
        raise InvalidInput(N_("Hệ số phải từ 1 đến 3, ví dụ 1,5."))
    drive.show_up_factor = factor
    drive.updated_at = work.now()
    record(work, actor, "drive.show_up_factor", None, drive=drive.id, factor=factor)


async def places_pledged(work: Work, drive_ids: Collection[int]) -> dict[int, int]:
    """drive id -> places pledged and not withdrawn (walk-ins excluded; companions have
    pledges of their own), plus the places club blocks still hold for their members."""
    if not drive_ids:
        return {}
    ids = sorted(drive_ids)
    pledged = await work.session.execute(
        select(Pledge.drive_id, func.count(Pledge.id))
        .where(Pledge.drive_id.in_(ids), Pledge.status != "cancelled", Pledge.channel != WALK_IN)
        .group_by(Pledge.drive_id)
    )
    places = {drive_id: int(n) for drive_id, n in pledged.all()}
    held = await work.session.execute(
        select(ClubBlock.drive_id, func.sum(ClubBlock.places - ClubBlock.claimed))
        .where(ClubBlock.drive_id.in_(ids), ClubBlock.released_at.is_(None))
        .group_by(ClubBlock.drive_id)
    )
    for drive_id, n in held.all():
        places[drive_id] = places.get(drive_id, 0) + max(int(n or 0), 0)
    return places


async def learned_factors(work: Work, unit_ids: Collection[int]) -> dict[int, float]:
    """unit id -> pledged places / donations over its drives of the last LEARN_DAYS that have
    recorded donations, clamped to FACTOR_MIN-FACTOR_MAX; units without such drives are left
    out. One query for every unit."""
    if not unit_ids:
        return {}
    today = work.today()
    past = select(Drive.id).where(
        Drive.unit_id.in_(sorted(unit_ids)),
        Drive.date >= today - dt.timedelta(days=LEARN_DAYS),
        Drive.date < today,
        Drive.status != Status.CANCELLED.value,
    )
    pledged = (
        select(Pledge.drive_id, func.count(Pledge.id).label("n"))
        .where(
            Pledge.drive_id.in_(past),
            Pledge.status != "cancelled",
            Pledge.channel != WALK_IN,
        )
        .group_by(Pledge.drive_id)
        .subquery()
    )
    donated = (
        select(Donation.drive_id, func.count(Donation.id).label("n"))
        .where(Donation.drive_id.in_(past))
        .group_by(Donation.drive_id)
        .subquery()
    )
    rows = await work.session.execute(
        select(Drive.unit_id, func.sum(func.coalesce(pledged.c.n, 0)), func.sum(donated.c.n))
        .join(donated, donated.c.drive_id == Drive.id)  # only drives with donations
        .outerjoin(pledged, pledged.c.drive_id == Drive.id)
        .group_by(Drive.unit_id)
    )
    return {
        unit_id: clamp(int(places) / int(gave))
        for unit_id, places, gave in rows.all()
        if unit_id is not None and gave
    }


async def for_drives(work: Work, found: Sequence[Drive]) -> list[Booking]:
    """The booking figures of each drive, in the order given."""
    places = await places_pledged(work, [d.id for d in found])
    learning = {d.unit_id for d in found if d.show_up_factor is None and d.unit_id is not None}
    learned = await learned_factors(work, learning)
    result = []
    for drive in found:
        if drive.show_up_factor is not None:
            factor, source = drive.show_up_factor, Source.DRIVE
        elif drive.unit_id in learned:
            factor, source = learned[drive.unit_id], Source.LEARNED
        else:
            factor, source = work.rules.show_up_factor, Source.DEFAULT
        result.append(Booking(drive, places.get(drive.id, 0), factor, source))
    return result


async def of_drive(work: Work, drive: Drive) -> Booking:
    return (await for_drives(work, [drive]))[0]


async def under_target(work: Work, day: dt.date, scope: set[int] | None) -> list[Booking]:
    """Live drives of `scope` (None: all) exactly FLAG_DAYS days after `day` with fewer
    pledges than their booking target, nearest first."""
    statement = (
        select(Drive)
        .where(
            Drive.status.in_(LIVE),
            Drive.date_is_month_only.is_(False),
            Drive.date.in_([day + dt.timedelta(days=n) for n in FLAG_DAYS]),
            Drive.target_units > 0,
        )
        .order_by(Drive.date, Drive.id)
    )
    found = [
        d
        for d in await work.session.scalars(statement)
        if scope is None or d.unit_id is None or d.unit_id in scope
    ]
    return [b for b in await for_drives(work, found) if b.pledged < b.target]
