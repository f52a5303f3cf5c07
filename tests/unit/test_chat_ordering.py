"""Telegram updates: different chats at the same time, one chat's in order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import Update

from channels.telegram.ordering import BacklogQueue, ChatOrderedProcessor

_ids = iter(range(1, 1_000_000))


def update(chat: int) -> Update:
    number = next(_ids)
    data: dict[str, Any] = {
        "update_id": number,
        "message": {
            "message_id": number,
            "date": 0,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "A"},
            "text": "hi",
        },
    }
    return Update.de_json(data, None)


async def test_a_chats_updates_run_in_order_and_never_overlap() -> None:
    processor = ChatOrderedProcessor(limit=8)
    log: list[tuple[int, int]] = []
    running: set[int] = set()

    async def handle(chat: int, n: int) -> None:
        assert chat not in running, "two updates of one chat at once"
        running.add(chat)
        log.append((chat, n))
        await asyncio.sleep(0.001 * (n % 3))
        running.discard(chat)

    jobs = [(chat, n) for n in range(30) for chat in (1, 2, 3)]
    await asyncio.gather(
        *(processor.process_update(update(chat), handle(chat, n)) for chat, n in jobs)
    )
    for chat in (1, 2, 3):
        assert [n for c, n in log if c == chat] == list(range(30))
    assert not processor._turns  # forgotten once done


async def test_a_flooding_chat_queues_only_behind_itself() -> None:
    processor = ChatOrderedProcessor(limit=4)
    release = asyncio.Event()
    done: list[int] = []

    async def slow() -> None:
        await release.wait()
        done.append(1)

    async def quick() -> None:
        done.append(2)

    flood = [asyncio.create_task(processor.process_update(update(1), slow())) for _ in range(200)]
    await asyncio.sleep(0)
    await asyncio.wait_for(processor.process_update(update(2), quick()), 1.0)
    assert done == [2]  # answered while all 200 of chat 1 still wait
    release.set()
    await asyncio.gather(*flood)
    assert done.count(1) == 200


async def test_at_most_limit_chats_at_once() -> None:
    processor = ChatOrderedProcessor(limit=3)
    now, most = 0, 0

    async def handle() -> None:
        nonlocal now, most
        now += 1
        most = max(most, now)
        await asyncio.sleep(0.01)
        now -= 1

    await asyncio.gather(*(processor.process_update(update(c), handle()) for c in range(10)))
    assert most == 3


async def test_the_backlog_queue_waits_while_its_limit_is_unfinished() -> None:
    queue = BacklogQueue(limit=2)
    await queue.put("a")
    await queue.put("b")
    third = asyncio.create_task(queue.put("c"))
    await asyncio.sleep(0.01)
    assert not third.done()  # two unfinished: the third waits
    assert queue.get_nowait() == "a"
    await asyncio.sleep(0.01)
    assert not third.done()  # taken off the queue is not finished
    queue.task_done()
    await asyncio.wait_for(third, 1)
    assert (queue.unfinished, queue.peak) == (2, 2)
    for _ in range(2):
        queue.get_nowait()
        queue.task_done()
    assert queue.unfinished == 0
    with pytest.raises(ValueError, match="task_done"):
        queue.task_done()  # more than were put: refused, and no room made
    assert queue.unfinished == 0
