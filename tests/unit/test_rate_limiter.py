"""The sender's rate limiter on a simulated clock: the global pace, per-chat and per-group gaps,
and a 429 that holds back only its own chat."""

from __future__ import annotations

import asyncio
import itertools

from scheduler.sender import Limits, RateLimiter


class SimClock:
    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


async def _times(
    limiter: RateLimiter, clock: SimClock, chats: list[str]
) -> list[tuple[str, float]]:
    sent = []
    for chat in chats:
        await limiter.acquire(chat, group=chat.startswith("-"))
        sent.append((chat, clock.now))
    return sent


async def test_global_pace_and_per_chat_gaps() -> None:
    clock = SimClock()
    limiter = RateLimiter(Limits(per_second=30), now=clock.time, sleep=clock.sleep)
    sent = await _times(limiter, clock, [str(n) for n in range(60)])
    assert sent[-1][1] <= 2.0 + 1e-9  # 60 chats at 30/s
    assert all(b[1] - a[1] >= 1 / 30 - 1e-9 for a, b in itertools.pairwise(sent))
    clock = SimClock()
    limiter = RateLimiter(Limits(per_second=30), now=clock.time, sleep=clock.sleep)
    one_chat = await _times(limiter, clock, ["7"] * 3 + ["-100"] * 3)
    private = [t for chat, t in one_chat if chat == "7"]
    group = [t for chat, t in one_chat if chat == "-100"]
    assert private[1] - private[0] >= 1.0 and private[2] - private[1] >= 1.0
    assert group[1] - group[0] >= 3.0 and group[2] - group[1] >= 3.0  # 20 a minute


async def test_a_429_holds_back_only_that_chat() -> None:
    clock = SimClock()
    limiter = RateLimiter(Limits(per_second=30), now=clock.time, sleep=clock.sleep)
    await limiter.acquire("a")
    limiter.pause("a", 5.0)
    await limiter.acquire("b")
    assert clock.now < 0.1  # another chat goes on at once
    await limiter.acquire("a")
    assert clock.now >= 5.0
