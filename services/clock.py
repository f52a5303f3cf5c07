"""Time comes from an injected clock, so tests and `jobs tick --now` control it."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock:
    """A clock that stands still until moved (tests, `hienmau jobs tick --now`)."""

    def __init__(self, instant: dt.datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._instant = instant.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self._instant

    def advance(self, delta: dt.timedelta) -> None:
        self._instant += delta

    def set(self, instant: dt.datetime) -> None:
        self._instant = instant.astimezone(dt.UTC)
