"""Blood drives: lookup, creation and changes by a committee, and the notices changes cause.

Rescheduling or cancelling a drive writes one notice per pledged donor to the outbox in the same
transaction, so nobody who promised to come is left uninformed.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import math
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from db.models import Drive, DriveSlot, Pledge, Unit
from locales import N_
from services import outbox
from services.audit import Actor, record
from services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from services.roles import RANK, Role, roles_of
from services.work import Work

TITLE_MAX, PLACE_MAX, TEXT_MAX = 300, 300, 1000
MAX_SLOTS = 24
MAX_CAPACITY = 10_000
MAX_TARGET = 100_000


class Status(enum.StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


LIVE = (Status.PLANNED.value, Status.OPEN.value)


@dataclass(frozen=True, slots=True)
class SlotSpec:
    start: dt.time
    end: dt.time
    capacity: int


@dataclass(frozen=True, slots=True)
class Listed:
    drive: Drive
    distance_km: float | None = None


@dataclass(slots=True)
class DriveDraft:
    title: str
    date: dt.date
    place: str
    campaign: str | None = None
    slots: list[SlotSpec] = field(default_factory=list)
    map_url: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    organiser: str | None = None
    receiving_institution: str | None = None
    target_units: int = 0


# ---------------------------------------------------------------------------- parsing


_SLOT = re.compile(
    r"(\d{1,2})\s*[h:.]\s*(\d{2})?\s*[-–—]\s*(\d{1,2})\s*[h:.]?\s*(\d{2})?"
    r"(?:\s*[:(,]?\s*(\d[\d.,\s]*)\s*(?:người|nguoi|người\)|people|ppl|chỗ|cho)?\)?)?",
    re.IGNORECASE,
)


def _time(hour: str, minute: str | None) -> dt.time:
    h, m = int(hour), int(minute or 0)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise InvalidInput(N_("Giờ {time} không hợp lệ."), time=f"{h}:{m:02d}")
    return dt.time(h, m)


def parse_slots(text: str) -> list[SlotSpec]:
    """'07:30-08:30 120; 08:30-09:30 120' or one slot per line; capacity after each time range."""
    parts = [p.strip() for p in re.split(r"[;\n]+", text) if p.strip()]
    if not parts:
        raise InvalidInput(N_("Bạn chưa nhập khung giờ nào."))
    slots: list[SlotSpec] = []
    for part in parts:
        match = _SLOT.fullmatch(part.rstrip("."))
        if match is None or not match.group(5):
            raise InvalidInput(
                N_(
                    "Chưa hiểu khung giờ «{text}». Nhập giờ bắt đầu–kết thúc và số người, "
                    "ví dụ: 07:30-08:30 120"
                ),
                text=part[:40],
            )
        start, end = _time(match[1], match[2]), _time(match[3], match[4])
        if end <= start:
            raise InvalidInput(
                N_("Khung giờ «{text}»: giờ kết thúc phải sau giờ bắt đầu."), text=part[:40]
            )
        capacity = int(re.sub(r"\D", "", match[5]))
        if not 1 <= capacity <= MAX_CAPACITY:
            raise InvalidInput(
                N_("Số người của một khung giờ phải từ 1 đến {max}."), max=MAX_CAPACITY
            )
        slots.append(SlotSpec(start, end, capacity))
    slots.sort(key=lambda s: s.start)
    for before, after in itertools.pairwise(slots):
        if after.start < before.end:
            raise InvalidInput(
                N_("Các khung giờ {first} và {second} chồng lên nhau."),
                first=f"{before.start:%H:%M}-{before.end:%H:%M}",
                second=f"{after.start:%H:%M}-{after.end:%H:%M}",
            )
    if len(slots) > MAX_SLOTS:
        raise InvalidInput(N_("Tối đa {max} khung giờ cho một đợt."), max=MAX_SLOTS)
    return slots


def parse_target(text: str) -> int:
    digits = re.sub(r"[.,\s]", "", text.strip())
    digits = re.sub(r"(đơnvị|donvi|đv|dv|units?)$", "", digits, flags=re.IGNORECASE)
    if not digits.isdigit() or int(digits) > MAX_TARGET:
        raise InvalidInput(
            N_("Chỉ tiêu là một số đơn vị máu từ 0 đến {max}, ví dụ 250."), max=MAX_TARGET
        )
    return int(digits)


def parse_map_url(text: str) -> str:
    url = text.strip()
    if not re.fullmatch(r"https?://\S{3,490}", url):
        raise InvalidInput(
            N_("Đường dẫn bản đồ phải bắt đầu bằng http:// hoặc https://, ví dụ link Google Maps.")
        )
    return url


def parse_location(payload: str) -> tuple[float, float]:
    try:
        lat_text, lon_text = payload.split(",", 1)
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        raise InvalidInput(N_("Vị trí chưa đúng.")) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput(N_("Vị trí chưa đúng."))
    return lat, lon


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine) in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


# ---------------------------------------------------------------------------- lookup


async def get(work: Work, drive_id: int) -> Drive:
    drive = await work.session.get(Drive, drive_id)
    if drive is None:
        raise NotFound(N_("Không tìm thấy đợt hiến máu này. Có thể đợt đã bị xoá."))
    return drive


def seats_left(drive: Drive) -> int | None:
    """Places left over all slots; None when the drive has no slots (no limit)."""
    if not drive.slots:
        return None
    return sum(max(slot.capacity - slot.taken, 0) for slot in drive.slots)


async def _parents(work: Work) -> dict[int, int | None]:
    rows = await work.session.execute(select(Unit.id, Unit.parent_id))
    return {unit_id: parent_id for unit_id, parent_id in rows.all()}


def _chain(parents: dict[int, int | None], unit_id: int | None) -> list[int]:
    """The unit and its ancestors, root last."""
    chain: list[int] = []
    while unit_id is not None and unit_id not in chain:
        chain.append(unit_id)
        unit_id = parents.get(unit_id)
    return chain


def _closeness(donor: list[int], drive: list[int]) -> int:
    """How many levels of the tree the two units share, from the root down."""
    shared = 0
    for a, b in zip(reversed(donor), reversed(drive), strict=False):
        if a != b:
            break
        shared += 1
    return shared


async def upcoming(
    work: Work,
    since: dt.date | None = None,
    limit: int = 5,
    *,
    unit_id: int | None = None,
    near: tuple[float, float] | None = None,
    horizon_days: int = 120,
) -> list[Listed]:
    """Drives from `since` (today) on: by distance when a location is given, else the donor's
    own area first (the units they share most of the tree with), each group by date."""
    start = since or work.today()
    statement = (
        select(Drive)
        .where(
            Drive.date >= start.replace(day=1),
            Drive.date <= start + dt.timedelta(days=horizon_days),
            Drive.status.in_(LIVE),
        )
        .order_by(Drive.date, Drive.id)
    )
    found = [
        d for d in await work.session.scalars(statement) if d.date >= start or d.date_is_month_only
    ]
    if near is not None:
        listed = [
            Listed(
                d,
                distance_km(near, (d.latitude, d.longitude))
                if d.latitude is not None and d.longitude is not None
                else None,
            )
            for d in found
        ]
        # Known distances first, in bands of 10 km, then by date.
        listed.sort(
            key=lambda x: (
                x.distance_km is None,
                round((x.distance_km or 0) / 10),
                x.drive.date,
                x.drive.id,
            )
        )
        return listed[:limit]
    if unit_id is not None and found:
        parents = await _parents(work)
        donor = _chain(parents, unit_id)
        found.sort(key=lambda d: (-_closeness(donor, _chain(parents, d.unit_id)), d.date, d.id))
    return [Listed(d) for d in found[:limit]]


async def between(
    work: Work, since: dt.date | None = None, unit_code: str | None = None
) -> list[Drive]:
    """Every drive from `since` on (all statuses), for operators: optionally within a unit."""
    statement = select(Drive).order_by(Drive.date, Drive.id)
    if since is not None:
        statement = statement.where(Drive.date >= since)
    drives = list(await work.session.scalars(statement))
    if unit_code is None:
        return drives
    unit = await work.session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        raise NotFound(N_("Không tìm thấy đơn vị có mã {code}."), code=unit_code)
    parents = await _parents(work)
    return [d for d in drives if unit.id in _chain(parents, d.unit_id)]


async def pledged_count(work: Work, drive_id: int) -> int:
    rows = await work.session.scalars(
        select(Pledge.id).where(Pledge.drive_id == drive_id, Pledge.status == "pledged")
    )
    return len(list(rows))


# ---------------------------------------------------------------------------- management


async def managing_unit(work: Work, person_id: int) -> Unit:
    """The unit whose drives this committee member manages (the widest they hold)."""
    held = [(role, unit) for role, unit in await roles_of(work, person_id)]
    eligible = [(role, unit) for role, unit in held if RANK[role] >= RANK[Role.COMMITTEE]]
    if not eligible:
        raise NotAllowed(N_("Việc này dành cho thành viên Ban chỉ đạo."))
    parents = await _parents(work)
    return min(eligible, key=lambda pair: len(_chain(parents, pair[1].id)))[1]


async def check_manage(work: Work, person_id: int, drive: Drive) -> None:
    held = await roles_of(work, person_id)
    if any(role is Role.ADMIN for role, _unit in held):
        return
    units = {unit.id for role, unit in held if RANK[role] >= RANK[Role.COMMITTEE]}
    if not units:
        raise NotAllowed(N_("Việc này dành cho thành viên Ban chỉ đạo."))
    if drive.unit_id is None:
        return
    parents = await _parents(work)
    if not units & set(_chain(parents, drive.unit_id)):
        raise NotAllowed(N_("Đợt hiến máu này thuộc đơn vị khác, bạn không quản lý được."))


async def manageable(work: Work, person_id: int, since: dt.date, limit: int = 10) -> list[Drive]:
    """Live drives from `since` that this person may manage, nearest date first."""
    statement = (
        select(Drive)
        .where(Drive.date >= since.replace(day=1), Drive.status.in_(LIVE))
        .order_by(Drive.date, Drive.id)
    )
    result: list[Drive] = []
    for drive in await work.session.scalars(statement):
        try:
            await check_manage(work, person_id, drive)
        except NotAllowed:
            continue
        result.append(drive)
        if len(result) >= limit:
            break
    return result


async def create(work: Work, draft: DriveDraft, actor: Actor, unit_id: int | None = None) -> Drive:
    if draft.date < work.today():
        raise InvalidInput(N_("Ngày của đợt hiến máu đã qua. Vui lòng chọn một ngày sắp tới."))
    now = work.now()
    drive = Drive(
        title=draft.title,
        campaign=draft.campaign,
        date=draft.date,
        date_is_month_only=False,
        start_time=draft.slots[0].start if draft.slots else None,
        end_time=max(s.end for s in draft.slots) if draft.slots else None,
        place=draft.place,
        map_url=draft.map_url,
        latitude=draft.latitude,
        longitude=draft.longitude,
        organiser=draft.organiser,
        receiving_institution=draft.receiving_institution,
        target_units=draft.target_units,
        status=Status.PLANNED.value,
        unit_id=unit_id,
        source="chat",
        created_by_id=actor.person_id,
        created_at=now,
        updated_at=now,
        slots=[
            DriveSlot(start_time=s.start, end_time=s.end, capacity=s.capacity, taken=0)
            for s in draft.slots
        ],
    )
    work.session.add(drive)
    await work.session.flush()
    record(work, actor, "drive.create", None, drive=drive.id)
    return drive


EDITABLE = (
    "title",
    "campaign",
    "place",
    "map_url",
    "organiser",
    "receiving_institution",
    "target_units",
)


async def edit(work: Work, drive: Drive, name: str, value: Any, actor: Actor) -> None:
    """Change one descriptive field (date and times change through `reschedule`)."""
    if name == "location":
        drive.latitude, drive.longitude = value
    elif name in EDITABLE:
        setattr(drive, name, value)
    else:
        raise ValueError(f"not an editable drive field: {name}")
    drive.updated_at = work.now()
    record(work, actor, "drive.edit", None, drive=drive.id, field=name)


async def set_slots(work: Work, drive: Drive, slots: list[SlotSpec], actor: Actor) -> None:
    """Replace the slots. A slot holding pledges keeps its start; its capacity may not drop
    below the places already taken."""
    by_start = {slot.start_time: slot for slot in drive.slots}
    wanted = {spec.start: spec for spec in slots}
    for start, slot in by_start.items():
        if slot.taken and start not in wanted:
            raise Conflict(
                N_("Khung {time} đã có {n} người đăng ký, không bỏ được."),
                time=f"{slot.start_time:%H:%M}",
                n=slot.taken,
            )
    for spec in slots:
        old = by_start.get(spec.start)
        if old is not None:
            if spec.capacity < old.taken:
                raise Conflict(
                    N_("Khung {time} đã có {n} người đăng ký, sức chứa không thể ít hơn."),
                    time=f"{spec.start:%H:%M}",
                    n=old.taken,
                )
            old.end_time, old.capacity = spec.end, spec.capacity
        else:
            drive.slots.append(
                DriveSlot(start_time=spec.start, end_time=spec.end, capacity=spec.capacity, taken=0)
            )
    for start, slot in by_start.items():
        if start not in wanted:
            drive.slots.remove(slot)
    if slots:
        drive.start_time = slots[0].start
        drive.end_time = max(s.end for s in slots)
    drive.updated_at = work.now()
    record(work, actor, "drive.slots", None, drive=drive.id, slots=len(slots))


async def open_(work: Work, drive: Drive, actor: Actor) -> None:
    if drive.status == Status.CANCELLED:
        raise Conflict(N_("Đợt hiến máu này đã bị huỷ."))
    drive.status = Status.OPEN.value
    drive.updated_at = work.now()
    record(work, actor, "drive.open", None, drive=drive.id)


async def _pledgers(work: Work, drive_id: int) -> list[Pledge]:
    statement = select(Pledge).where(Pledge.drive_id == drive_id, Pledge.status == "pledged")
    return list(await work.session.scalars(statement))


def notice_params(drive: Drive) -> dict[str, Any]:
    return {
        "drive_id": drive.id,
        "title": drive.title,
        "place": drive.place,
        "date": drive.date.isoformat(),
        "start": f"{drive.start_time:%H:%M}" if drive.start_time else None,
        "end": f"{drive.end_time:%H:%M}" if drive.end_time else None,
    }


async def reschedule(
    work: Work,
    drive: Drive,
    new_date: dt.date,
    actor: Actor,
    start: dt.time | None = None,
    end: dt.time | None = None,
) -> int:
    """Move a drive; each pledged donor gets one notice. Returns the notices queued."""
    if drive.status == Status.CANCELLED:
        raise Conflict(N_("Đợt hiến máu này đã bị huỷ."))
    if new_date < work.today():
        raise InvalidInput(N_("Ngày của đợt hiến máu đã qua. Vui lòng chọn một ngày sắp tới."))
    old = notice_params(drive)
    drive.date, drive.date_is_month_only = new_date, False
    if start is not None:
        drive.start_time, drive.end_time = start, end
    drive.updated_at = work.now()
    params = {**notice_params(drive), "old_date": old["date"], "old_start": old["start"]}
    when = f"{drive.date.isoformat()}T{drive.start_time or ''}"
    queued = 0
    for pledge in await _pledgers(work, drive.id):
        queued += await outbox.enqueue(
            work,
            pledge.person_id,
            "drive_rescheduled",
            params,
            f"drive_rescheduled:{drive.id}:{pledge.person_id}:{when}",
            urgent=True,
        )
    record(work, actor, "drive.reschedule", None, drive=drive.id, date=new_date.isoformat())
    return queued


async def cancel(work: Work, drive: Drive, actor: Actor) -> int:
    """Cancel a drive: pledges are released and each pledged donor gets one notice."""
    if drive.status == Status.CANCELLED:
        raise Conflict(N_("Đợt hiến máu này đã bị huỷ."))
    drive.status = Status.CANCELLED.value
    now = drive.updated_at = work.now()
    params = notice_params(drive)
    queued = 0
    for pledge in await _pledgers(work, drive.id):
        pledge.status, pledge.updated_at = "cancelled", now
        queued += await outbox.enqueue(
            work,
            pledge.person_id,
            "drive_cancelled",
            params,
            f"drive_cancelled:{drive.id}:{pledge.person_id}",
            urgent=True,
        )
    for slot in drive.slots:
        slot.taken = 0
    record(work, actor, "drive.cancel", None, drive=drive.id)
    return queued
