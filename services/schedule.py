"""Time rules of the scheduler: quiet hours and reminder offsets, in the configured zone."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

DAY_START = dt.time(7, 0)  # a drive with no time in its plan is taken to start at 07:00


@dataclass(frozen=True, slots=True)
class Offset:
    """'3d' and '2h' count back from a drive's start; '07:00' is that time on the drive's day."""

    before: dt.timedelta | None = None
    at: dt.time | None = None
    text: str = ""

    def due(self, start: dt.datetime) -> dt.datetime:
        if self.at is not None:
            return start.replace(hour=self.at.hour, minute=self.at.minute, second=0)
        assert self.before is not None
        return start - self.before


def parse_offset(text: str) -> Offset:
    text = text.strip()
    match = re.fullmatch(r"(\d{1,3})([dh])", text)
    if match:
        amount = int(match[1])
        delta = dt.timedelta(days=amount) if match[2] == "d" else dt.timedelta(hours=amount)
        return Offset(before=delta, text=text)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if match and int(match[1]) < 24 and int(match[2]) < 60:
        return Offset(at=dt.time(int(match[1]), int(match[2])), text=text)
    raise ValueError(f"not a reminder offset: {text!r} (use 3d, 2h or 07:00)")


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        first, second = text.split("-")
        return cls(dt.time.fromisoformat(first.strip()), dt.time.fromisoformat(second.strip()))

    def contains(self, moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> bool:
        local = moment.astimezone(zone).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # over midnight: 21:00-07:00

    def next_end(self, moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
        """When quiet hours that hold at `moment` end."""
        local = moment.astimezone(zone)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += dt.timedelta(days=1)
        return end.astimezone(dt.UTC)


def local_moment(day: dt.date, time: dt.time | None, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, time or DAY_START, tzinfo=zone)
