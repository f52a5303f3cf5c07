"""Updates of different chats at the same time, each chat's in order.

python-telegram-bot handles one update at a time by default: while one chat's answer waits on
the database or the Bot API, every other chat waits too. `ChatOrderedProcessor` lets up to
`limit` chats be handled at once; a chat's own updates queue behind each other in arrival
order, so its steps never overtake, and a chat that floods the bot queues only behind itself.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# PTB's own semaphore must never be what holds an update back: a flooding chat's queued
# updates would take its places and stall the other chats. Ours is taken inside a chat's turn.
_UNBOUNDED = 1_000_000


class _ChatTurn:
    __slots__ = ("lock", "queued")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()  # FIFO: waiters are woken in arrival order
        self.queued = 0


class ChatOrderedProcessor(BaseUpdateProcessor):
    def __init__(self, limit: int) -> None:
        super().__init__(max_concurrent_updates=_UNBOUNDED)
        self._slots = asyncio.Semaphore(limit)
        self._turns: dict[object, _ChatTurn] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key: object = None  # updates of no chat (none the bot asks for) share one turn
        if isinstance(update, Update) and update.effective_chat is not None:
            key = update.effective_chat.id
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = _ChatTurn()
        turn.queued += 1
        started = False
        try:
            async with turn.lock, self._slots:
                started = True
                await coroutine
        finally:
            turn.queued -= 1
            if not turn.queued:
                del self._turns[key]
            if not started and inspect.iscoroutine(coroutine):
                coroutine.close()  # cancelled while queued (shutdown): never run

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class BacklogQueue(asyncio.Queue[object]):
    """python-telegram-bot's update queue, with a bound on the backlog behind it.

    The application takes each update off the queue at once and handles it in a task of its
    own, so a plain queue never fills: past saturation the backlog of tasks grows without limit,
    and the process spends ever more of its time accepting updates it cannot answer. Here `put`
    waits while `limit` updates are unfinished (queued or being handled). The webhook's answer
    to Telegram then waits too, and Telegram, which keeps a few connections per bot open
    (`max_connections`), sends the next updates later; in polling mode the next getUpdates
    waits. Nothing is dropped: the backlog stays in Telegram, which holds updates for a day.
    """

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self._room = asyncio.Semaphore(limit)
        self.unfinished = 0
        self.peak = 0  # the most unfinished updates seen (for tests and benchmarks)

    async def put(self, item: object) -> None:
        await self._room.acquire()
        self.put_nowait(item)
        self.unfinished += 1
        self.peak = max(self.peak, self.unfinished)

    def task_done(self) -> None:
        super().task_done()  # raises (and releases nothing) when nothing is unfinished
        self.unfinished -= 1
        self._room.release()
