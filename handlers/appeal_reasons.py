"""The line that ends every appeal (`services.appeals.APPEAL_KEYS`): why this donor got it, and
how to pause (/busy) or stop (/stop) such messages. One line, chosen by the notice's key."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from db.models import Broadcast, Person, Unit
from handlers.messages import Reply
from locales import _
from services.outbox import Job
from services.work import Work


async def _unit_name(work: Work, person_id: int) -> str | None:
    return await work.session.scalar(
        select(Unit.name).join(Person, Person.unit_id == Unit.id).where(Person.id == person_id)
    )


async def _broadcast_origin(work: Work, broadcast_id: int) -> tuple[str, bool] | None:
    """The club or unit a notice came from, and whether it is a club."""
    row = (
        await work.session.execute(
            select(Unit.name, Broadcast.audience)
            .join(Unit, Unit.id == Broadcast.unit_id)
            .where(Broadcast.id == broadcast_id)
        )
    ).first()
    if row is None:
        return None
    name, audience = row
    return name, bool((audience or {}).get("club_id"))


async def reason(work: Work, job: Job) -> str:
    """Why `job`'s person got this appeal, as the end of "Bạn nhận tin này vì …"."""
    assert job.person_id is not None
    if job.key == "drive_notice":
        unit = await _unit_name(work, job.person_id)
        if unit:
            return _("bạn ở {unit}, gần đợt hiến máu này, và đã đủ điều kiện hiến").format(
                unit=unit
            )
        return _("có đợt hiến máu gần bạn và bạn đã đủ điều kiện hiến")
    if job.key in {"eligible", "eligible_nudge"}:
        return _("bạn đã đủ thời gian để hiến máu lại")
    if job.key == "missed_you":
        return _("bạn đã đăng ký đợt hiến máu vừa qua nhưng chưa đến được")
    if job.key == "notice":
        origin = await _broadcast_origin(work, int(job.params.get("broadcast_id", 0)))
        if origin is not None and origin[1]:
            return _("bạn là thành viên {club}").format(club=origin[0])
        if origin is not None:
            return _("bạn đăng ký hiến máu ở {unit}").format(unit=origin[0])
    return _("bạn đã đăng ký nhận tin nhắc hiến máu")


async def with_reason(work: Work, job: Job, replies: list[Reply]) -> list[Reply]:
    """`replies` with the reason line appended to the last one that has text."""
    for index in range(len(replies) - 1, -1, -1):
        if replies[index].text:
            line = _("ℹ️ Bạn nhận tin này vì {reason}. Tạm dừng: /busy · Tắt nhắc: /stop").format(
                reason=await reason(work, job)
            )
            changed = dataclasses.replace(replies[index], text=f"{replies[index].text}\n\n{line}")
            return [*replies[:index], changed, *replies[index + 1 :]]
    return replies
