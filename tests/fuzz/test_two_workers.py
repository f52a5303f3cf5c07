"""Two workers (`hienmau run` twice on one database) handle two messages at the same moment:
one person's double tap, or two people reaching for the same thing. The state machine of
`dialogue_machine` cannot do this (hypothesis replays need a deterministic machine), so the
races are played here, each a few times, with the same invariants: everyone gets an answer,
never the apology; one person per phone; no slot over its capacity.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import func, select

from db.engine import create_engine
from db.models import DriveSlot, Person, Pledge
from handlers.engine import Engine
from handlers.messages import Inbound, InboundKind, Reply
from services.clock import FixedClock
from services.rules import Rules
from services.work import Database
from tests.conftest import TEST_SECRET, ZONE
from tests.fuzz.dialogue_machine import PEOPLE, Someone, apologises, handle, message, seed

ROUNDS = 3
LAN, BINH, CUC = PEOPLE[0], PEOPLE[1], PEOPLE[2]


@pytest.fixture
async def workers(database_url: str, clock: FixedClock) -> AsyncIterator[tuple[Engine, Engine]]:
    databases = [
        Database(create_engine(database_url), clock, Rules(), ZONE, secret=TEST_SECRET)
        for _ in range(2)
    ]
    await seed(databases[0])
    yield Engine(databases[0]), Engine(databases[1])
    for database in databases:
        await database.dispose()


async def at_once(workers: tuple[Engine, Engine], *inbounds: Inbound) -> list[list[Reply]]:
    answers = await asyncio.gather(*(handle(w, m) for w, m in zip(workers, inbounds, strict=True)))
    for inbound, replies in zip(inbounds, answers, strict=True):
        assert replies, f"no answer to {inbound}"
        assert not any(apologises(r) for r in replies), (inbound, [r.text for r in replies])
    return answers


async def slot_with(engine: Engine, capacity: int) -> tuple[int, int]:
    """(drive id, slot id) of a slot of this capacity."""
    async with engine.database.work() as work:
        slot = await work.session.scalar(select(DriveSlot).where(DriveSlot.capacity == capacity))
        assert slot is not None
        return slot.drive_id, slot.id


async def register(engine: Engine, someone: Someone, phone: str, *, save: bool = True) -> None:
    """Through the wizard up to its summary (and the save, with `save`)."""
    answers = [
        (InboundKind.COMMAND, "/start"),
        (InboundKind.BUTTON, "consent:yes"),
        (InboundKind.BUTTON, "remind:yes"),
        (InboundKind.BUTTON, "club:no"),
        (InboundKind.TEXT, "Lê Văn Bình" if someone is BINH else "Phạm Thị Cúc"),
        (InboundKind.TEXT, phone),
        (InboundKind.TEXT, "1990"),
        (InboundKind.BUTTON, "sex:male"),
        (InboundKind.BUTTON, "blood:O+"),
        (InboundKind.BUTTON, "unit:skip"),
        (InboundKind.BUTTON, "weight:skip"),
    ] + ([(InboundKind.BUTTON, "review:save")] if save else [])
    for kind, payload in answers:  # (a Zalo choice reaches the engine as a button too)
        await handle(engine, message(someone, kind, payload))


async def live_people_by_phone(engine: Engine) -> dict[str, int]:
    async with engine.database.work() as work:
        rows = await work.session.execute(
            select(Person.phone, func.count(Person.id))
            .where(Person.status != "erased", Person.phone.is_not(None))
            .group_by(Person.phone)
        )
        return {phone: int(n) for phone, n in rows.all()}


async def slots_hold(engine: Engine) -> None:
    async with engine.database.work() as work:
        live = func.count(Pledge.id).filter(Pledge.status == "pledged")
        rows = await work.session.execute(
            select(DriveSlot.capacity, DriveSlot.taken, live)
            .outerjoin(Pledge, Pledge.slot_id == DriveSlot.id)
            .group_by(DriveSlot.id, DriveSlot.capacity, DriveSlot.taken)
        )
        for capacity, taken, pledged in rows.all():
            assert pledged == taken <= capacity


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.ERROR, "handlers")
    yield
    assert not caplog.records, caplog.text


async def test_a_double_tap_on_a_slot_pledges_once(workers: tuple[Engine, Engine]) -> None:
    first, _second = workers
    drive_id, slot_id = await slot_with(first, 2)
    tap = message(LAN, InboundKind.BUTTON, f"slot:{drive_id}:{slot_id}")
    for _ in range(ROUNDS):
        await at_once(workers, tap, tap)
        await slots_hold(first)
        async with first.database.work() as work:
            pledged = await work.session.scalar(
                select(func.count(Pledge.id)).where(Pledge.status == "pledged")
            )
        assert pledged == 1
        await handle(first, message(LAN, InboundKind.BUTTON, f"unpledge:{drive_id}"))


async def test_two_people_reaching_for_the_last_place_one_gets_it(
    workers: tuple[Engine, Engine],
) -> None:
    first, second = workers
    await register(second, BINH, "0912 000 003")
    drive_id, slot_id = await slot_with(first, 1)
    payload = f"slot:{drive_id}:{slot_id}"
    answers = await at_once(
        workers,
        message(LAN, InboundKind.BUTTON, payload),
        message(BINH, InboundKind.BUTTON, payload),
    )
    texts = ["\n".join(r.text for r in replies) for replies in answers]
    assert sum("Cảm ơn bạn! Mình đã ghi nhận" in t for t in texts) == 1, texts
    await slots_hold(first)


async def test_a_double_tap_on_erase_erases_once(workers: tuple[Engine, Engine]) -> None:
    first, _second = workers
    await handle(first, message(LAN, InboundKind.COMMAND, "/forget"))
    tap = message(LAN, InboundKind.BUTTON, "forget:yes")
    answers = await at_once(workers, tap, tap)
    assert sum("Đã xoá toàn bộ dữ liệu" in r[0].text for r in answers) == 1
    async with first.database.work() as work:
        erased = await work.session.scalar(
            select(func.count(Person.id)).where(Person.status == "erased")
        )
    assert erased == 1


async def test_a_new_persons_first_two_messages_at_once_are_both_answered(
    workers: tuple[Engine, Engine],
) -> None:
    for n in range(ROUNDS):
        someone = Someone(f"n{n}", "telegram", f"61{n:04d}", f"Người mới {n}")
        await at_once(
            workers,
            message(someone, InboundKind.COMMAND, "/start"),
            message(someone, InboundKind.COMMAND, "/help"),
        )


async def test_two_people_saving_the_same_phone_at_once_make_one_person(
    workers: tuple[Engine, Engine],
) -> None:
    first, second = workers
    await register(first, BINH, "0912 000 003", save=False)
    await register(second, CUC, "0912 000 003", save=False)
    answers = await at_once(
        workers,
        message(BINH, InboundKind.BUTTON, "review:save"),
        message(CUC, InboundKind.BUTTON, "review:save"),
    )
    texts = ["\n".join(r.text for r in replies) for replies in answers]
    assert sum("đăng ký thành công" in t for t in texts) == 1, texts
    assert sum("Số điện thoại này đã được đăng ký" in t for t in texts) == 1, texts
    assert (await live_people_by_phone(first))["+84912000003"] == 1
