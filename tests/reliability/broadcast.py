"""A broadcast of a few hundred outbox rows, and a sender run until every row has settled.

Time in the outbox (due times, backoff, leases) comes from the injected clock, so `settle`
moves it on to the next due row between drains: a run that needs eight hours of backoff on a
real clock takes a few seconds here. The rate limiter keeps real time (a 429 pauses its chat
for `retry_after` real seconds), which is why the faults below use short waits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select

from db.models import Identity, Outbox
from scheduler.sender import Limits, Sender, SendStats
from services.clock import FixedClock
from services.work import Database

# No pacing beyond what the faults impose: the fakes have no flood limit of their own.
FAST = Limits(per_second=10_000, per_chat_seconds=0, per_group_seconds=0)
SETTLED = frozenset({"sent", "failed", "dropped"})


async def queue_broadcast(database: Database, channel: str, chats: list[str]) -> None:
    """One pending message (a pre-rendered body, as /broadcast leaves them) to each chat."""
    async with database.work() as work:
        now = work.now()
        await work.session.execute(
            insert(Identity),
            [
                {
                    "channel": channel,
                    "platform_user_id": chat,
                    "chat_id": chat,
                    "language": "vi",
                    "display_name": "",
                    "created_at": now,
                    "last_seen_at": now,
                }
                for chat in chats
            ],
        )
        ids = (
            await work.session.execute(
                select(Identity.chat_id, Identity.id).where(Identity.channel == channel)
            )
        ).all()
        by_chat = dict(ids)
        await work.session.execute(
            insert(Outbox),
            [
                {
                    "identity_id": by_chat[chat],
                    "key": "broadcast",
                    "params": {},
                    "body": f"Thông báo hiến máu số {n}",
                    "urgent": True,
                    "due_at": now,
                    "dedup_key": f"reliability:{channel}:{n}",
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                }
                for n, chat in enumerate(chats)
            ],
        )


async def statuses(database: Database) -> dict[str, int]:
    async with database.work() as work:
        rows = await work.session.execute(
            select(Outbox.status, func.count(Outbox.id)).group_by(Outbox.status)
        )
        return {status: int(n) for status, n in rows.all()}


@dataclass
class Run:
    """What `settle` saw: the sender's stats of each drain, and the drains that failed."""

    drains: list[SendStats] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # drains that raised

    @property
    def sent(self) -> int:
        return sum(s.sent for s in self.drains)

    @property
    def errors(self) -> list[str]:
        """The errors of the attempts that will be retried, in order."""
        return [error for stats in self.drains for error in stats.errors]

    def count(self, words: str) -> int:
        """How many retried attempts failed with an error containing `words`."""
        return sum(words in error for error in self.errors)


async def _next_due(database: Database) -> dt.datetime | None:
    async with database.work() as work:
        due: dt.datetime | None = await work.session.scalar(
            select(func.min(Outbox.due_at)).where(Outbox.status == "pending")
        )
        return due


async def settle(
    sender: Sender, database: Database, clock: FixedClock, max_drains: int = 60
) -> Run:
    """Drain, move the clock to the next due row, drain again ... until no row is pending.

    A drain that fails (the database went away) is tried again shortly, as the ticker of
    `hienmau run` does at its next tick. A row still pending after `max_drains` is stuck:
    the caller's assertions name it.
    """
    run = Run()
    for _ in range(max_drains):
        try:
            run.drains.append(await sender.drain())
            due = await _next_due(database)
        except Exception as error:
            run.failures.append(f"{type(error).__name__}: {error}")
            await asyncio.sleep(0.2)
            continue
        if due is None:
            break
        if due > clock.now():
            clock.set(due)
    return run
