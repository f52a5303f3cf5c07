"""One tick: plan what is due (planners -> outbox), then send it. `hienmau run` ticks every
minute with APScheduler; `hienmau jobs tick --now ISO` runs one tick at a given instant."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.sender import Sender, SendStats
from services import planners, updates
from services.planners import Planned, PlanSettings
from services.work import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TickResult:
    planned: Planned
    sent: SendStats

    def summary(self) -> str:
        p, s = self.planned, self.sent
        return (
            f"planned {p.total} (reminders {p.reminders}, drive notices {p.drive_notices}, "
            f"eligible {p.eligible}, nudges {p.nudges}, waiting-list offers {p.offers}, "
            f"after the drive {p.aftercare}, tallies {p.tallies}; "
            f"capped {p.capped}); "
            f"sent {s.sent}, retried {s.retried}, dropped {s.dropped}"
        )


class Ticker:
    def __init__(self, database: Database, settings: PlanSettings, sender: Sender) -> None:
        self.database = database
        self.settings = settings
        self.sender = sender
        self._running = asyncio.Lock()  # one tick at a time in a process
        # The date-bound planners run at the first tick of each hour (eligibility is a date:
        # the other ticks of an hour would find nothing new).
        self._last_daily: tuple[dt.date, int] | None = None

    async def tick(self) -> TickResult:
        async with self._running:
            return await self._tick()

    async def _tick(self) -> TickResult:
        async with self.database.work() as work:
            local = work.now().astimezone(work.timezone)
            hour = (local.date(), local.hour)
            daily = self._last_daily is None or hour > self._last_daily
            planned = await planners.plan_all(work, self.settings, daily=daily)
            if daily:  # the ids of updates handled days ago guard against nothing now
                await updates.prune(work)
        if daily:
            self._last_daily = hour
        sent = await self.sender.drain()
        if planned.total or planned.capped or sent.sent or sent.retried or sent.dropped:
            log.info("tick: %s", TickResult(planned, sent).summary())
        return TickResult(planned, sent)

    async def _safe_tick(self) -> None:
        try:
            await self.tick()
        except Exception:  # the next tick tries again; nothing is lost in the outbox
            log.exception("tick failed")

    def schedule(self, seconds: int = 60) -> AsyncIOScheduler:
        """An AsyncIOScheduler ticking every `seconds`; call `.start()` inside the event loop."""
        scheduler = AsyncIOScheduler()
        scheduler.add_job(
            self._safe_tick,
            "interval",
            seconds=seconds,
            id="tick",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=seconds,
        )
        return scheduler
