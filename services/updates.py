"""Updates already handled, by (channel, update id): each platform update is handled once.

A webhook update may arrive twice (the platform retries after a time-out, a load balancer tries
another worker), and two workers may take the same update. The row is inserted in the
transaction that handles the update: a second insert waits for the first transaction (on
PostgreSQL, on the unique key) and finds the row once it commits, or takes its place if it
rolled back, so an update is handled once and never lost.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from db.models import HandledUpdate
from services.work import Work

# Platforms redeliver within minutes (Telegram keeps an update for 24 hours at most).
KEEP = dt.timedelta(days=2)


async def first_time(work: Work, channel: str, update_id: str) -> bool:
    """Record the update as handled in this unit of work; False when it already was."""
    insert = pg_insert if work.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(HandledUpdate)
        .values(channel=channel, update_id=update_id[:64], handled_at=work.now())
        .on_conflict_do_nothing(index_elements=["channel", "update_id"])
    )
    result = await work.session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def prune(work: Work, keep: dt.timedelta = KEEP) -> int:
    """Forget updates handled more than `keep` ago (a range of the index on handled_at)."""
    result = await work.session.execute(
        delete(HandledUpdate)
        .where(HandledUpdate.handled_at < work.now() - keep)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
