"""A per-user limit on inbound messages: a token bucket for each (channel, user).

Each user may send `per_minute` messages a minute, in bursts of up to ten seconds' worth (20
at the default 120). The first message over the limit gets one answer ("you are writing too
fast"); the rest of the burst is ignored, before any database work, so one flooding chat
costs the others next to nothing. Messages the refill allows meanwhile are handled; the burst
ends (a new one is answered again) once the bucket is half full again. The buckets live in the
process: behind a load balancer with N workers a user may get up to N times the limit.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

BURST_SECONDS = 10.0  # a full bucket holds this many seconds' worth of messages
SWEEP_AT = 10_000  # buckets kept before full (idle) ones are forgotten


class Admission(enum.Enum):
    ADMIT = "admit"
    WARN = "warn"  # the first message over the limit: answer once
    DROP = "drop"  # the rest of the burst: no answer


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


class InboundLimiter:
    def __init__(self, per_minute: int, now: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive (no limiter at all: none)")
        self.rate = per_minute / 60.0  # tokens a second
        self.capacity = max(1.0, self.rate * BURST_SECONDS)
        self._now = now
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._sweep_at = SWEEP_AT

    def admit(self, channel: str, user_id: str) -> Admission:
        now = self._now()
        key = (channel, user_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._sweep_at:
                self._sweep(now)
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.warned and bucket.tokens >= self.capacity / 2:
            bucket.warned = False  # a pause of five seconds or so ends the burst
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Admission.ADMIT
        if bucket.warned:
            return Admission.DROP
        bucket.warned = True
        return Admission.WARN

    def would_admit(self, channel: str, user_id: str) -> bool:
        """Whether `admit` would let the next message through, without spending a token: a
        channel asks before costly work on a message (downloading a file it carries)."""
        bucket = self._buckets.get((channel, user_id))
        if bucket is None:
            return True
        refilled = bucket.tokens + (self._now() - bucket.at) * self.rate
        return min(self.capacity, refilled) >= 1.0

    def _sweep(self, now: float) -> None:
        """Forget buckets that have filled up again: they would start full anyway."""
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at) * self.rate < self.capacity
        }
        self._sweep_at = max(SWEEP_AT, 2 * len(self._buckets))
