"""The sender: drains due outbox rows through a rate limiter and the channels' `deliver`.

Telegram allows about 30 messages/s in all, 1/s per chat and 20/min per group. A 429 pauses
everything for `retry_after`; 5xx and time-outs retry with backoff; a blocked chat is marked
unreachable and never retried. Rows are leased when claimed, so a crash loses nothing: at most
the few messages in flight at the kill are sent twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from handlers import notices
from handlers.messages import Deliver, DeliveryError, Reply, RetryAfter, Unreachable
from services import identities, outbox
from services.outbox import Job
from services.schedule import QuietHours
from services.work import Database, transient

log = logging.getLogger(__name__)

RECORD_WAIT = 0.1  # seconds before recording a sent message is tried again, doubling ...
MAX_RECORD_WAIT = 5.0  # ... up to this


@dataclass(frozen=True, slots=True)
class Limits:
    per_second: float = 30.0
    per_chat_seconds: float = 1.1  # a margin over 1/s: arrival times jitter
    per_group_seconds: float = 3.1  # 20 a minute, with a margin


class RateLimiter:
    """Spaces sends: globally `per_second`, and per chat. Reservations are made under a lock,
    so concurrent senders never exceed either limit."""

    def __init__(
        self,
        limits: Limits,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self._now = now
        self._sleep = sleep
        self._next = 0.0
        self._chats: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def acquire(self, chat: str, group: bool = False) -> None:
        """Wait for this chat's turn, then for a global slot. A chat that must wait keeps
        no global slot meanwhile, so one busy chat never slows the others."""
        while True:
            async with self._lock:
                now = self._now()
                ready = self._chats.get(chat, 0.0)
                if ready <= now:
                    slot = max(now, self._next)
                    self._next = slot + 1.0 / self.limits.per_second
                    gap = self.limits.per_group_seconds if group else self.limits.per_chat_seconds
                    self._chats[chat] = slot + gap
                    if len(self._chats) > 50_000:  # forget chats whose turn has long passed
                        self._chats = {k: v for k, v in self._chats.items() if v > now}
                    break
            await self._sleep(ready - now)
        if slot > now:
            await self._sleep(slot - now)

    def pause(self, chat: str, seconds: float) -> None:
        """A 429 for one chat: nothing more to it before `seconds` from now. (The global pace
        already stays under the platform's limit, so other chats go on.)"""
        self._chats[chat] = max(self._chats.get(chat, 0.0), self._now() + seconds)


@dataclass(slots=True)
class SendStats:
    sent: int = 0
    retried: int = 0
    dropped: int = 0
    failed: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Outcome:
    job: Job
    error: str | None = None
    wait: float | None = None
    unreachable: bool = False
    drop: bool = False  # rendered to nothing: its drive or pledge is gone
    release: bool = False  # not tried: the lease ran short, another sender may take it


class Sender:
    def __init__(
        self,
        database: Database,
        deliverers: dict[str, Deliver],
        limits: dict[str, Limits] | None = None,
        quiet: QuietHours | None = None,
        concurrency: int = 16,
        batch: int = 200,
        lease: dt.timedelta = outbox.LEASE,
    ) -> None:
        self.database = database
        self.deliverers = deliverers
        self.limiters = {
            name: RateLimiter((limits or {}).get(name, Limits())) for name in deliverers
        }
        self.quiet = quiet
        self.concurrency = concurrency
        self.batch = batch
        self.lease = lease

    async def drain(self, max_batches: int | None = None) -> SendStats:
        """Send every due row (batch after batch) and return what happened."""
        stats = SendStats()
        while max_batches is None or stats.batches < max_batches:
            jobs = await self._claim()
            if not jobs:
                break
            stats.batches += 1
            await self._send_batch(jobs, stats)
        return stats

    async def _claim(self) -> list[tuple[Job, list[Reply] | None]]:
        async with self.database.work() as work:
            quiet = self.quiet is not None and self.quiet.contains(work.now(), work.timezone)
            jobs = await outbox.claim(
                work, set(self.deliverers), limit=self.batch, quiet=quiet, lease=self.lease
            )
            rendered = [(job, await notices.render(work, job)) for job in jobs]
        return rendered

    async def _record_sent(self, job: Job) -> None:
        """Mark a delivered row sent, waiting out a database that went away (a restart, a
        lock): the slot stays taken meanwhile, so no more is sent that could not be recorded
        either. Past the lease, another sender may send the row again anyway: give up."""
        wait, give_up = RECORD_WAIT, time.monotonic() + self.lease.total_seconds()
        while True:
            try:
                async with self.database.work() as work:
                    await outbox.mark_sent(work, [job.id])
                return
            except Exception as error:
                if not transient(error) or time.monotonic() + wait > give_up:
                    raise
                log.warning(
                    "sender: outbox row %s was sent but not recorded (%s); again in %.1f s",
                    job.id,
                    type(error).__name__,
                    wait,
                )
                await asyncio.sleep(wait)
                wait = min(wait * 2, MAX_RECORD_WAIT)

    async def _send_batch(
        self, jobs: list[tuple[Job, list[Reply] | None]], stats: SendStats
    ) -> None:
        semaphore = asyncio.Semaphore(self.concurrency)
        # Past half the lease, the rest of the batch goes back unsent: a row is never sent by
        # us after another sender may have claimed it again.
        deadline = time.monotonic() + self.lease.total_seconds() / 2

        async def one(job: Job, replies: list[Reply] | None) -> _Outcome:
            if replies is None:
                return _Outcome(job, error="no longer relevant", drop=True)
            async with semaphore:
                limiter = self.limiters[job.channel]
                chat = f"{job.channel}:{job.chat_id}"
                await limiter.acquire(chat, job.chat_id.startswith("-"))
                if time.monotonic() > deadline:
                    return _Outcome(job, release=True)
                try:
                    await self.deliverers[job.channel](job.chat_id, replies)
                except RetryAfter as error:
                    limiter.pause(chat, error.seconds)
                    return _Outcome(job, error=str(error), wait=error.seconds)
                except Unreachable as error:
                    return _Outcome(job, error=str(error) or "blocked", unreachable=True)
                except DeliveryError as error:
                    return _Outcome(job, error=str(error) or type(error).__name__)
                except Exception as error:  # a bug must not stop the other messages
                    log.exception("sender: delivering outbox row %s failed", job.id)
                    return _Outcome(job, error=f"{type(error).__name__}: {error}")
                # Recorded before the slot is freed: at a crash, at most `concurrency`
                # messages are sent but not yet recorded (and so sent again).
                await self._record_sent(job)
            return _Outcome(job)

        outcomes = await asyncio.gather(*(one(job, replies) for job, replies in jobs))
        async with self.database.work() as work:
            await outbox.release(work, [o.job.id for o in outcomes if o.release])
            for o in outcomes:
                if o.release:
                    continue
                if o.error is None:
                    stats.sent += 1
                elif o.drop:
                    await outbox.mark_dropped(work, o.job.id, o.error)
                    stats.dropped += 1
                elif o.unreachable:
                    await outbox.mark_dropped(work, o.job.id, o.error)
                    await identities.mark_unreachable(work, o.job.channel, o.job.chat_id)
                    stats.dropped += 1
                else:
                    wait = dt.timedelta(seconds=o.wait) if o.wait is not None else None
                    await outbox.retry_later(work, o.job, o.error, wait)
                    stats.retried += 1
                    stats.errors.append(o.error)
