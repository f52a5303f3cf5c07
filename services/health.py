"""How far the outbox is behind, for `/healthz`.

A message is late when it is due and no sender has taken it: a claimed row is leased into the
future, a retry waits for its backoff, so neither counts. Quiet hours hold non-urgent messages
on purpose: while they last only urgent ones count, and afterwards a held message is late from
the end of the quiet hours, not from its due time (a 07:00 backlog is not a night of lag).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select

from db.models import Identity, Outbox
from services.schedule import QuietHours
from services.work import Work


@dataclass(frozen=True, slots=True)
class OutboxLag:
    pending: int  # due and waiting for a sender
    oldest_due_seconds: int  # how long the most overdue of them has waited (0: none)
    failed: int  # given up after every attempt (all time)


def quiet_since(quiet: QuietHours | None, now: dt.datetime, work: Work) -> dt.datetime | None:
    """When the quiet hours before `now` ended; None when there are none."""
    if quiet is None or quiet.start == quiet.end:
        return None
    local = now.astimezone(work.timezone)
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end > local:
        end -= dt.timedelta(days=1)
    return end.astimezone(dt.UTC)


async def outbox_lag(
    work: Work, channels: Collection[str], quiet: QuietHours | None = None
) -> OutboxLag:
    """The outbox's lag for the senders of `channels` (rows of other channels wait for a
    process that serves them)."""
    now = work.now()
    rows = await work.session.execute(
        select(Outbox.urgent, func.count(Outbox.id), func.min(Outbox.due_at))
        .join(Identity, Identity.id == Outbox.identity_id)
        .where(
            Outbox.status == "pending",
            Outbox.due_at <= now,
            Identity.channel.in_(sorted(channels)),
        )
        .group_by(Outbox.urgent)
    )
    quiet_now = quiet is not None and quiet.contains(now, work.timezone)
    since = quiet_since(quiet, now, work)
    pending, oldest = 0, 0.0
    for urgent, count, due in rows.all():
        pending += int(count)
        if due is None or (quiet_now and not urgent):
            continue
        if not urgent and since is not None:
            due = max(due, since)
        oldest = max(oldest, (now - due).total_seconds())
    failed = await work.session.scalar(
        select(func.count(Outbox.id)).where(Outbox.status == "failed")
    )
    return OutboxLag(pending, int(oldest), int(failed or 0))
