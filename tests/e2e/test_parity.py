"""The same scripted conversation on the console, on Telegram (real python-telegram-bot against
the fake Bot API) and on Zalo (our client against the fake Zalo API) leaves the same records:
the person, their consents, their pledge and the audit trail, whatever the channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from channels.telegram.adapter import TelegramChannel
from channels.zalo.adapter import ZaloChannel
from channels.zalo.client import ZaloClient
from db.models import (
    Audit,
    Consent,
    DialogueState,
    Drive,
    DriveSlot,
    Identity,
    Person,
    Pledge,
    Unit,
)
from handlers.engine import Engine
from services.drives import SlotSpec
from services.work import Database
from tests.e2e import test_telegram as tg
from tests.e2e import test_zalo as zl
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI
from tests.sample import load_units
from tests.sample_drives import add_drive

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

# ("say", text) types a line; ("choose", label) picks the option with that label the way the
# channel offers it: a numbered menu on the console and Zalo, an inline button on Telegram.
SCRIPT: list[tuple[str, str]] = [
    ("say", "/start"),
    ("choose", "Tôi đồng ý"),
    ("choose", "Có, nhắc tôi"),
    ("choose", "Không"),  # not shared with the club
    ("say", "Nguyễn Thị Lan"),
    ("say", "{phone}"),
    ("say", "17/12/1995"),
    ("choose", "Nữ"),
    ("choose", "O Rh+"),
    ("say", "tam duong"),
    ("choose", "Huyện Tam Đường"),
    ("say", "52,5"),
    ("choose", "Lưu"),
    ("say", "/drives"),
    ("choose", "Bình Lư"),
    ("choose", "Đăng ký hiến máu"),
    ("choose", "08:30–10:00"),
    ("say", "/profile"),
    ("choose", "Bật/tắt chia sẻ CLB"),  # and then on after all
    ("say", "/mypledges"),
]

Say = Callable[[str], Awaitable[str]]


async def play(say: Say, choose: Say, phone: str) -> str:
    transcript = []
    for action, text in SCRIPT:
        line = text.format(phone=phone)
        transcript.append(await (say(line) if action == "say" else choose(line)))
    return "\n".join(transcript)


async def records(database: Database, channel: str) -> dict[str, Any]:
    """What a conversation left, without ids, phones, times or the channel's own names."""
    async with database.work() as work:
        identity = await work.session.scalar(select(Identity).where(Identity.channel == channel))
        assert identity is not None and identity.person_id is not None
        person = await work.session.get(Person, identity.person_id)
        assert person is not None
        unit = await work.session.get(Unit, person.unit_id) if person.unit_id else None
        consents = await work.session.execute(
            select(Consent.purpose, Consent.version, Consent.withdrawn_at.is_(None))
            .where(Consent.person_id == person.id)
            .order_by(Consent.id)
        )
        pledges = await work.session.execute(
            select(Drive.place, DriveSlot.start_time, Pledge.status)
            .join(Drive, Drive.id == Pledge.drive_id)
            .outerjoin(DriveSlot, DriveSlot.id == Pledge.slot_id)
            .where(Pledge.person_id == person.id)
        )
        audit = await work.session.scalars(
            select(Audit.action).where(Audit.subject_person_id == person.id).order_by(Audit.id)
        )
        open_dialogues = await work.session.scalars(
            select(DialogueState.flow).where(DialogueState.channel == channel)
        )
        return {
            "person": (
                person.full_name,
                person.birth_date,
                person.birth_year,
                person.sex,
                person.blood_group,
                person.weight_kg,
                person.language,
                person.status,
                person.confirmed_at is not None,
                unit.code if unit else None,
            ),
            "consents": [tuple(row) for row in consents.all()],
            "pledges": [tuple(row) for row in pledges.all()],
            "audit": list(audit),
            "open dialogues": list(open_dialogues),
        }


async def test_the_same_conversation_leaves_the_same_records_on_every_channel(
    database: Database, engine: Engine, chat_factory: Any
) -> None:
    await load_units(database)
    slots = (SlotSpec(dt.time(7, 30), dt.time(8, 30), 1), SlotSpec(dt.time(8, 30), dt.time(10), 40))
    await add_drive(database, dt.date(2026, 12, 12), "Nhà văn hoá xã Bình Lư", slots)
    transcripts: dict[str, str] = {}

    console = chat_factory("lan-console")
    transcripts["console"] = await play(console.say, console.choose, "0912 345 671")

    async with FakeTelegramAPI(token=tg.TOKEN, bot_username=tg.BOT) as telegram_api:
        channel = TelegramChannel(tg.config(telegram_api), engine.dispatch, hooks=engine)
        await channel.start()
        try:
            bot = tg.Harness(telegram_api, channel)
            user = telegram_api.user(9001, "Lan")

            async def press(label: str) -> str:
                return (await bot.press(user, label))[1]

            transcripts["telegram"] = await play(
                lambda text: bot.say(user, text), press, "0912 345 672"
            )
        finally:
            await channel.stop()

    async with FakeZaloAPI(zl.TOKEN) as zalo_api:
        client = ZaloClient(zl.TOKEN, zalo_api.base_url, timeout=2, poll_grace=1)
        zalo = ZaloChannel(zl.settings(zalo_api), engine.dispatch, hooks=engine, client=client)
        await zalo.start()
        try:
            harness = zl.Harness(zalo_api, zalo)
            lan = zalo_api.user("z-lan-9001", "Lan")
            transcripts["zalo"] = await play(
                lambda text: harness.say(lan, text),
                lambda label: harness.choose(lan, label),
                "0912 345 673",
            )
        finally:
            await zalo.stop()

    for name, transcript in transcripts.items():
        assert "đăng ký thành công" in transcript, name
        assert "Bạn đã đăng ký khung 08:30–10:00" in transcript, name
    console_records = await records(database, "console")
    assert console_records["person"][0] == "Nguyễn Thị Lan"
    assert console_records["pledges"] == [("Nhà văn hoá xã Bình Lư", dt.time(8, 30), "pledged")]
    assert console_records["open dialogues"] == []
    assert await records(database, "telegram") == console_records
    assert await records(database, "zalo") == console_records
