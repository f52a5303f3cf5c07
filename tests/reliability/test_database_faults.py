"""The database goes away for a moment: PostgreSQL restarted, or SQLite locked by another
process for longer than we wait for it ("database is locked").

In the middle of a broadcast, the sender recovers by itself and every message ends sent,
none twice: a message delivered while its row cannot be written waits, holding its sending
slot, until the row can be written, so nothing more goes out meanwhile.

Updates that arrive meanwhile (people writing to the bot on Telegram and Zalo) are all handled
once the database is back: each gets the answer it would have got, not an apology.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from channels.telegram.adapter import TelegramChannel
from db.models import DialogueState
from handlers.engine import Engine
from scheduler.sender import Sender
from services.clock import FixedClock
from services.work import Database, transient
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI
from tests.reliability.broadcast import FAST, queue_broadcast, settle, statuses
from tests.reliability.outage import Outage
from tests.reliability.platforms import telegram_channel, telegram_received, zalo_channel

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

MESSAGES = 300
DOWN = 1.5  # seconds the database is away
APOLOGY = "trục trặc"  # the engine's answer when it could not handle a message


@pytest.fixture
def outage(database: Database, database_url: str) -> Outage:
    return Outage(database, database_url)


async def test_database_away_mid_broadcast_every_message_is_sent_once(
    telegram_api: FakeTelegramAPI,
    telegram: TelegramChannel,
    database: Database,
    outage: Outage,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    chats = [str(800_000 + n) for n in range(MESSAGES)]
    await queue_broadcast(database, "telegram", chats)
    sender = Sender(database, {"telegram": telegram.deliver}, {"telegram": FAST})

    async def away_midway() -> None:
        await telegram_api.wait_for(
            lambda: len(telegram_api.calls_to("sendMessage")) >= MESSAGES // 3 or None, 20
        )
        async with outage.down(DOWN):
            pass

    caplog.set_level(logging.WARNING, "scheduler.sender")
    away = asyncio.create_task(away_midway())
    run = await settle(sender, database, clock)
    await away
    assert "sent but not recorded" in caplog.text  # the sender did meet the outage
    assert outage.kind == "sqlite" or outage.cut > 0
    received = telegram_received(telegram_api)
    assert await statuses(database) == {"sent": MESSAGES}, run.failures
    assert set(received) == set(chats)
    assert sum(n - 1 for n in received.values()) == 0  # no duplicates


# ------------------------------------------------------------------ updates meanwhile


async def test_updates_received_while_the_database_is_away_are_all_answered_afterwards(
    telegram_api: FakeTelegramAPI,
    zalo_api: FakeZaloAPI,
    database: Database,
    outage: Outage,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = Engine(database)
    telegram = telegram_channel(telegram_api, engine.dispatch, hooks=engine)
    zalo = zalo_channel(zalo_api, engine.dispatch, hooks=engine)
    await telegram.start()
    await zalo.start()
    telegram_users = [telegram_api.user(900_000 + n, f"Người {n}") for n in range(8)]
    zalo_users = [zalo_api.user(f"zu{n:04d}", f"Người Zalo {n}") for n in range(4)]
    caplog.set_level(logging.WARNING)
    try:
        async with outage.down(DOWN):
            for user in telegram_users:
                user.send_text("/start")
            for zalo_user in zalo_users:
                zalo_user.send_text("xin chào")  # first words on Zalo greet, as /start
        await telegram_api.wait_for(
            lambda: telegram.updates_handled >= len(telegram_users) or None, 60
        )
        await zalo_api.wait_for(lambda: zalo.updates_handled >= len(zalo_users) or None, 60)
    finally:
        await zalo.stop()
        await telegram.stop()

    answers = {str(u.id): "\n".join(telegram_api.texts(u.id)) for u in telegram_users}
    answers |= {u.id: "\n".join(zalo_api.texts(u.id)) for u in zalo_users}
    for chat, answer in answers.items():
        assert "trợ lý tự động" in answer and APOLOGY not in answer, (chat, answer)
    async with database.work() as work:  # and what they did was done: registration began
        started = set(await work.session.scalars(select(DialogueState.chat_id)))
    assert started == set(answers)
    assert "database unavailable" in caplog.text  # the engine did meet the outage


async def test_only_a_database_away_is_waited_out(lite_database: Database) -> None:
    """A lock held by another writer passes; a missing table or a broken constraint fails
    the same way every time, so it is not waited out (the engine apologises at once)."""
    outage = Outage(lite_database, lite_database.engine.url.render_as_string())
    async with outage.down(0):
        with pytest.raises(OperationalError) as locked:
            async with lite_database.work() as work:
                await work.session.execute(text("SELECT 1"))
    with pytest.raises(OperationalError) as missing:
        async with lite_database.work() as work:
            await work.session.execute(text("SELECT * FROM no_such_table"))
    with pytest.raises(IntegrityError) as duplicate:
        async with lite_database.work() as work:
            await work.session.execute(
                text(
                    "INSERT INTO identity (channel, platform_user_id, chat_id, language, "
                    "display_name, created_at, last_seen_at) VALUES "
                    "('telegram', '42', '42', 'vi', '', '2026-01-01', '2026-01-01'),"
                    "('telegram', '42', '42', 'vi', '', '2026-01-01', '2026-01-01')"
                )
            )
    assert transient(locked.value) and transient(ConnectionRefusedError(111, "refused"))
    assert not transient(missing.value)
    assert not transient(duplicate.value)
    assert not transient(ValueError("a bug"))
