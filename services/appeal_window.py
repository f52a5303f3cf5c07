"""The evening window appeals go out in (`[schedule] appeal_window`, default 18:00-20:00), and
moving a row to the same local hours of a later day."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Window:
    """Local hours appeals go out in (`[schedule] appeal_window`, default 18:00-20:00)."""

    start: dt.time = dt.time(18, 0)
    end: dt.time = dt.time(20, 0)

    @classmethod
    def parse(cls, text: str) -> Window:
        first, second = text.split("-")
        start = dt.datetime.strptime(first.strip(), "%H:%M").time()
        end = dt.datetime.strptime(second.strip(), "%H:%M").time()
        if end <= start:
            raise ValueError(f"the window must end after it starts: {text!r}")
        return cls(start, end)

    def text(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def next_opening(
        self, moment: dt.datetime, zone: zoneinfo.ZoneInfo
    ) -> tuple[dt.datetime, dt.datetime]:
        """(due, not_after): `moment` itself when it falls inside a window, else the start of
        the next window; and the end of that window (a row not sent by then waits a day)."""
        local = moment.astimezone(zone)
        day = local.date()
        for _attempt in range(2):
            start = dt.datetime.combine(day, self.start, tzinfo=zone)
            end = dt.datetime.combine(day, self.end, tzinfo=zone)
            if local < end:
                return max(start, local).astimezone(dt.UTC), end.astimezone(dt.UTC)
            day += dt.timedelta(days=1)
        raise AssertionError("unreachable")  # pragma: no cover


def shift_days(moment: dt.datetime, days: int, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The same local time `days` later (a window keeps its local hours across days)."""
    local = moment.astimezone(zone)
    moved = dt.datetime.combine(local.date() + dt.timedelta(days=days), local.time(), tzinfo=zone)
    return moved.astimezone(dt.UTC)
