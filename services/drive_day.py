"""Drive-day notices: a volunteer or committee member at today's drive tells everyone pledged
to it and not yet checked in "it is quiet, come now", "it is busy, come after 9:30" or "bring
your ID card" (`/drivenotice`), through the outbox.

At most one notice per drive every 30 minutes, whoever sends it: `drive.day_notice_at` moves
by one conditional UPDATE (only when the last notice is 30 minutes old), so two volunteers
pressing "send" at the same instant cannot both send (PostgreSQL re-checks the condition on
the locked row; SQLite writes one at a time). These notices answer the donor's own pledge:
they are no appeals, go out at once (urgent, also in quiet hours) and are never capped.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import or_, select, update

from db.models import Drive, Person, Pledge
from locales import N_
from services import outbox, roles
from services.audit import Actor, record
from services.drives import LIVE
from services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from services.outbox import Notice
from services.roles import Role
from services.work import Work

KEY = "drive_day"  # the outbox key, rendered by handlers.drive_day
EVERY = dt.timedelta(minutes=30)


class Preset(enum.StrEnum):
    QUIET = "quiet"  # đang vắng, mời đến ngay
    BUSY = "busy"  # đang đông, đến sau HH:MM
    ID_CARD = "id_card"  # mang theo CCCD


@dataclass(frozen=True, slots=True)
class Sent:
    drive: Drive
    recipients: int
    at: dt.datetime


async def _scope(work: Work, person_id: int) -> set[int] | None:
    scope = await roles.scope_units(work, person_id, Role.VOLUNTEER)
    if scope is not None and not scope:
        raise NotAllowed(N_("Chức năng này dành cho tình nguyện viên và Ban chỉ đạo."))
    return scope


async def drives_today(work: Work, person_id: int) -> list[Drive]:
    """Today's live drives of the units this volunteer (or committee member) serves."""
    scope = await _scope(work, person_id)
    found = await work.session.scalars(
        select(Drive)
        .where(
            Drive.date == work.today(),
            Drive.date_is_month_only.is_(False),
            Drive.status.in_(LIVE),
        )
        .order_by(Drive.start_time, Drive.id)
    )
    return [d for d in found if scope is None or d.unit_id in scope]


async def drive_for(work: Work, person_id: int, drive_id: int) -> Drive:
    for drive in await drives_today(work, person_id):
        if drive.id == drive_id:
            return drive
    raise NotFound(N_("Đợt này không diễn ra hôm nay ở đơn vị bạn phụ trách."))


async def waiting(work: Work, drive_id: int) -> list[int]:
    """People pledged to the drive, not yet checked in."""
    rows = await work.session.scalars(
        select(Pledge.person_id)
        .join(Person, Person.id == Pledge.person_id)
        .where(
            Pledge.drive_id == drive_id,
            Pledge.status == "pledged",
            Pledge.checked_in_at.is_(None),
            Person.status == "active",
        )
        .order_by(Pledge.person_id)
    )
    return list(rows)


def parse_after(text: str) -> str:
    """'9:30', '09h30', '10h' -> '09:30'; a time from 06:00 to 20:00."""
    cleaned = text.strip().lower().replace("h", ":").replace(".", ":").rstrip(":")
    hour, _sep, minute = cleaned.partition(":")
    try:
        moment = dt.time(int(hour), int(minute or 0))
    except ValueError:
        raise InvalidInput(N_("Nhập giờ theo dạng HH:MM, ví dụ 9:30.")) from None
    if not dt.time(6) <= moment <= dt.time(20):
        raise InvalidInput(N_("Nhập giờ theo dạng HH:MM, ví dụ 9:30."))
    return f"{moment:%H:%M}"


async def last_sent(work: Work, drive_id: int) -> dt.datetime | None:
    return await work.session.scalar(select(Drive.day_notice_at).where(Drive.id == drive_id))


async def send(
    work: Work,
    sender: Person,
    drive_id: int,
    preset: Preset,
    actor: Actor,
    after: str | None = None,
) -> Sent:
    """Queue the notice for everyone waiting for this drive; refused within 30 minutes of the
    drive's last one (Conflict naming when it was sent and when the next may go)."""
    drive = await drive_for(work, sender.id, drive_id)
    if preset is Preset.BUSY:
        after = parse_after(after or "")
    else:
        after = None
    people = await waiting(work, drive.id)
    if not people:
        raise Conflict(N_("Không còn ai đã đăng ký mà chưa đến đợt này: không cần gửi."))
    now = work.now()
    claimed = await work.session.execute(
        update(Drive)
        .where(
            Drive.id == drive.id,
            or_(Drive.day_notice_at.is_(None), Drive.day_notice_at <= now - EVERY),
        )
        .values(day_notice_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        last = await last_sent(work, drive.id)
        assert last is not None
        local = last.astimezone(work.timezone)
        raise Conflict(
            N_("Đợt này vừa có thông báo lúc {sent}, có thể gửi lại sau {next}."),
            sent=f"{local:%H:%M}",
            next=f"{local + EVERY:%H:%M}",
        )
    stamp = int(now.timestamp())
    params: dict[str, object] = {"drive_id": drive.id, "preset": preset.value}
    if after is not None:
        params["after"] = after
    queued = await outbox.enqueue_many(
        work,
        [
            Notice(
                person_id, KEY, dict(params), f"{KEY}:{drive.id}:{stamp}:{person_id}", urgent=True
            )
            for person_id in people
        ],
    )
    record(
        work,
        actor,
        "drive.day_notice",
        None,
        drive=drive.id,
        preset=preset.value,
        after=after,
        recipients=queued,
    )
    return Sent(drive, queued, now)
