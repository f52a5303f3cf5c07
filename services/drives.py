"""Blood drives: lookup of upcoming drives (the drives issue adds import, slots and pledges)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from db.models import Drive
from services.work import Work


async def upcoming(work: Work, since: dt.date | None = None, limit: int = 5) -> list[Drive]:
    start = since or work.today()
    statement = (
        select(Drive)
        .where(Drive.date >= start, Drive.status.in_(("planned", "open")))
        .order_by(Drive.date, Drive.id)
        .limit(limit)
    )
    return list(await work.session.scalars(statement))


async def create(work: Work, **fields: Any) -> Drive:
    drive = Drive(**fields)
    work.session.add(drive)
    await work.session.flush()
    return drive
