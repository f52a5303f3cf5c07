"""The Zalo channel end to end: our client and adapter against the fake Zalo Bot Platform API,
by polling and by webhook; rendering for a platform of text and photos only."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import re
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import icalendar
import pytest
from sqlalchemy import select

from bot.config import ConfigError, ZaloConfig, build
from channels.zalo.adapter import ZaloChannel
from channels.zalo.client import ZaloClient
from channels.zalo.render import Photo, Text, calendar_block, chosen, render, split_text
from db.engine import create_engine
from db.models import ChatMenu, Identity, Outbox, Person, Pledge
from handlers.engine import Engine
from handlers.messages import (
    Attachment,
    Button,
    ButtonKind,
    DeliveryError,
    Inbound,
    Reply,
    RetryAfter,
    Unreachable,
)
from locales import use_language
from scheduler.sender import Limits, Sender
from scheduler.ticker import Ticker
from services import identities, outbox, persons, pledges, units
from services.audit import Actor
from services.clock import FixedClock
from services.drives import SlotSpec
from services.persons import DonorDraft, Purpose
from services.planners import PlanSettings
from services.rules import Rules
from services.sharing import qr_png
from services.validation import Birth
from services.work import Database
from tests.conftest import ZONE
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloAPI, FakeZaloUser
from tests.sample import load_units
from tests.sample_drives import add_drive

TOKEN = "1234567890:fake-zalo-token-abc"
SECRET = "s3cret-zalo-token"
DRIVE_DAY = dt.date(2026, 12, 12)
MENU_LINE = re.compile(r"^(\d+)\. (.+)$")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings(api: FakeZaloAPI, mode: str = "polling", **changes: Any) -> ZaloConfig:
    config = ZaloConfig(token=TOKEN, base_url=api.base_url, poll_timeout=1)
    if mode == "webhook":
        port = free_port()
        config = replace(
            config,
            mode="webhook",
            port=port,
            webhook_url=f"http://127.0.0.1:{port}/zalo",
            webhook_secret=SECRET,
        )
    return replace(config, **changes)


def menu(text: str) -> list[str]:
    """The labels of the numbered menu that ends a message (before 'Trả lời ...')."""
    lines = text.split("\n")
    hints = [i for i, line in enumerate(lines) if line.startswith(("Trả lời", "Reply"))]
    if not hints:
        return []
    labels: list[str] = []
    for line in reversed(lines[: hints[-1]]):
        found = MENU_LINE.match(line)
        if found is None:
            break
        labels.insert(0, found.group(2))
    return labels


class Harness:
    """Act as Zalo users and wait until the channel has taken each update."""

    def __init__(self, api: FakeZaloAPI, channel: ZaloChannel) -> None:
        self.api = api
        self.channel = channel

    async def act(self, action: Callable[[], object], within: float = 5.0) -> None:
        handled, ignored = self.channel.updates_handled, self.channel.updates_ignored
        action()
        await self.api.wait_for(
            lambda: (
                self.channel.updates_handled > handled or self.channel.updates_ignored > ignored
            ),
            within,
        )

    async def say(self, user: FakeZaloUser, text: str) -> str:
        seen = len(self.api.sent(user.id))
        await self.act(lambda: user.send_text(text))
        return "\n".join(m.text or "" for m in self.api.sent(user.id)[seen:])

    async def choose(self, user: FakeZaloUser, label: str) -> str:
        """Type the number of the newest menu entry that contains `label`."""
        for text in reversed(self.api.texts(user.id)):
            labels = menu(text)
            for number, option in enumerate(labels, start=1):
                if label in option:
                    return await self.say(user, str(number))
            if labels:
                raise AssertionError(f"no option {label!r} in {labels}")
        raise AssertionError(f"no menu sent to {user.id}")


@pytest.fixture
async def api() -> AsyncIterator[FakeZaloAPI]:
    async with FakeZaloAPI(TOKEN) as fake:
        yield fake


@pytest.fixture
async def lite_database(
    tmp_path: Path, sqlite_template: Path, clock: FixedClock
) -> AsyncIterator[Database]:
    """SQLite only, for what does not depend on the database (the channel's own troubles)."""
    target = tmp_path / "lite.sqlite3"
    shutil.copy(sqlite_template, target)
    db = Database(create_engine(f"sqlite:///{target}"), clock, Rules(), ZONE)
    yield db
    await db.dispose()


@pytest.fixture
def lite_engine(lite_database: Database) -> Engine:
    return Engine(lite_database)


async def started(
    api: FakeZaloAPI, engine: Engine, mode: str = "polling", **changes: Any
) -> ZaloChannel:
    config = settings(api, mode, **changes)
    client = ZaloClient(TOKEN, api.base_url, timeout=2, poll_grace=1)
    channel = ZaloChannel(config, engine.dispatch, hooks=engine, client=client, backoff=0.1)
    await channel.start()
    return channel


@pytest.fixture(params=["polling", "webhook"])
async def bot(
    request: pytest.FixtureRequest, api: FakeZaloAPI, engine: Engine
) -> AsyncIterator[Harness]:
    channel = await started(api, engine, request.param)
    try:
        yield Harness(api, channel)
    finally:
        await channel.stop()


@pytest.fixture
async def polling(api: FakeZaloAPI, lite_engine: Engine) -> AsyncIterator[Harness]:
    channel = await started(api, lite_engine)
    try:
        yield Harness(api, channel)
    finally:
        await channel.stop()


async def register(bot: Harness, user: FakeZaloUser, phone: str = "0912 345 678") -> None:
    """Self-registration by typed numbers and words, as a Zalo user would."""
    greeting = await bot.say(user, "xin chào")  # no /start on Zalo: first words greet
    assert "trợ lý tự động" in greeting and "1. ✅ Tôi đồng ý" in greeting
    assert "Trả lời 1 hoặc 2." in greeting
    await bot.say(user, "1")
    await bot.say(user, "có, nhắc tôi")  # an option's words
    await bot.choose(user, "Đồng ý")
    ask_phone = await bot.say(user, "Nguyễn Thị Lan")
    assert "Zalo không có nút chia sẻ số điện thoại" in ask_phone
    assert "Ngày sinh" in await bot.say(user, phone)
    blood = await bot.say(user, "17/12/1995")
    assert "1. Nam" in blood
    blood = await bot.say(user, "nữ")
    assert "Trả lời một số từ 1 đến 9." in blood
    await bot.choose(user, "O Rh+")
    assert "Huyện Tam Đường" in await bot.say(user, "tam duong")
    await bot.choose(user, "Huyện Tam Đường")
    summary = await bot.say(user, "52")
    assert "Nguyễn Thị Lan" in summary and "1. 💾 Lưu" in summary
    assert "đăng ký thành công" in await bot.choose(user, "Lưu")


def ticker(database: Database, deliverers: dict[str, Any]) -> Ticker:
    fast = Limits(per_second=1000, per_chat_seconds=0)
    sender = Sender(database, deliverers, {name: fast for name in deliverers})
    return Ticker(database, PlanSettings(), sender)


# ------------------------------------------------------------------ the main journey


async def test_registration_drive_lookup_pledge_and_a_reminder(
    bot: Harness, api: FakeZaloAPI, database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    slots = (SlotSpec(dt.time(7, 30), dt.time(8, 30), 1), SlotSpec(dt.time(8, 30), dt.time(10), 40))
    drive_id = await add_drive(database, DRIVE_DAY, "Nhà văn hoá xã Bình Lư", slots)
    lan = api.user("8a1f0c2d9e", "Lan Nguyễn")
    await register(bot, lan)
    async with database.work() as work:
        person = await work.session.scalar(select(Person))
        identity = await work.session.scalar(select(Identity))
    assert person is not None and identity is not None
    assert (person.full_name, person.phone, person.sex) == (
        "Nguyễn Thị Lan",
        "+84912345678",
        "female",
    )
    assert (identity.channel, identity.platform_user_id, identity.person_id) == (
        "zalo",
        "8a1f0c2d9e",
        person.id,
    )

    listing = await bot.say(lan, "/drives")
    assert "Nhà văn hoá xã Bình Lư" in listing and "còn 41 chỗ" in listing
    assert "Gửi vị trí" not in listing  # no location button on Zalo
    card = await bot.choose(lan, "Bình Lư")
    assert "07:30–08:30: còn 1/1 chỗ" in card
    assert "khung giờ nào" in await bot.choose(lan, "Đăng ký hiến máu")
    assert "Bạn đã đăng ký khung 07:30–08:30" in await bot.choose(lan, "07:30–08:30")
    async with database.work() as work:
        pledge = await work.session.scalar(select(Pledge))
        assert pledge is not None and (pledge.drive_id, pledge.status) == (drive_id, "pledged")
        assert pledge.channel == "zalo"

    calendar = await bot.choose(lan, "Thêm vào lịch")
    assert "📅 Thứ Bảy, 12/12/2026" in calendar and "🕒 07:30–08:30" in calendar
    assert "📍 Nhà văn hoá xã Bình Lư" in calendar and "🗺 https://www.google.com/maps" in calendar
    assert all(len(m.text or "") <= 2000 for m in api.sent(lan.id))

    # Three days before, at 07:30: the reminder reaches Zalo through the outbox.
    clock.set(dt.datetime(2026, 12, 9, 7, 30, tzinfo=ZONE))
    result = await ticker(database, {"zalo": bot.channel.deliver}).tick()
    assert result.sent.sent == 1
    reminder = api.texts(lan.id)[-1]
    assert "Còn 3 ngày nữa" in reminder and "Khung giờ của bạn: 07:30–08:30" in reminder
    assert menu(reminder) == ["Xem chi tiết", "❌ Huỷ đăng ký", "🔁 Đổi khung giờ"]
    assert "07:30–08:30" in await bot.say(lan, "1")  # its menu answers by number
    async with database.work() as work:
        row = await work.session.scalar(select(Outbox))
        assert row is not None and row.status == "sent"


async def test_a_qr_code_goes_as_a_photo_served_by_the_webhook_server(
    api: FakeZaloAPI, lite_engine: Engine, lite_database: Database
) -> None:
    drive_id = await add_drive(lite_database, DRIVE_DAY)
    channel = await started(api, lite_engine, "webhook")
    try:
        bot = Harness(api, channel)
        user = api.user("u-qr", "Hà")
        await bot.say(user, f"/start drive_{drive_id}")
        await bot.choose(user, "Chia sẻ")
        photo = api.sent(user.id)[-1]
        assert photo.method == "sendPhoto" and photo.photo is not None
        assert photo.photo.startswith(b"\x89PNG")  # fetched from our server by the fake
        assert photo.photo_url and photo.photo_url.startswith(
            channel.config.webhook_url + "/media/"
        )
        assert f"/start drive_{drive_id}" in (photo.text or "")
        async with aiohttp.ClientSession() as session:
            base = channel.config.webhook_url
            async with session.get(f"{base}/media/not-a-real-one.png") as missing:
                assert missing.status == 404
    finally:
        await channel.stop()


async def test_without_a_public_media_url_a_qr_code_falls_back_to_text(
    polling: Harness, api: FakeZaloAPI, lite_database: Database
) -> None:
    drive_id = await add_drive(lite_database, DRIVE_DAY)
    user = api.user("u-text", "Hà")
    await polling.say(user, f"/start drive_{drive_id}")
    shared = await polling.choose(user, "Chia sẻ")
    assert f"/start drive_{drive_id}" in shared
    assert api.calls_to("sendPhoto") == []


# ------------------------------------------------------------------ the webhook's door


async def test_the_webhook_refuses_bad_secrets_and_bad_bodies_and_never_crashes(
    api: FakeZaloAPI, lite_engine: Engine, lite_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    channel = await started(api, lite_engine, "webhook")
    url = channel.config.webhook_url
    user = api.user("u-hook", "Bình")
    good = {"X-Bot-Api-Secret-Token": SECRET}

    async def post(body: bytes, headers: dict[str, str]) -> int:
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=headers) as response,
        ):
            return response.status

    def update(text: str, **message: Any) -> dict[str, Any]:
        base = user.message("text", text)
        base["message"].update(message)
        return base

    caplog.set_level(logging.INFO, logger="channels.zalo")
    try:
        bot = Harness(api, channel)
        assert "/drives" in await bot.say(user, "/help")  # delivered by the fake, wrapped
        assert api.webhook is not None and api.webhook["secret_token"] == SECRET
        body = json.dumps(update("/help")).encode()
        assert await post(body, {}) == 403
        assert await post(body, {"X-Bot-Api-Secret-Token": SECRET + "x"}) == 403
        assert await post(body, {"X-Bot-Api-Secret-Token": ""}) == 403
        assert await post(b"<html>not json</html>", good) == 400
        assert await post(b"{" + b" " * (1024 * 1024 + 10) + b"}", good) == 413
        unknown = {"event_name": "user.follow", "message": {"from": {"id": "u-hook"}}}
        assert await post(json.dumps(unknown).encode(), good) == 200
        no_sender = update("/help")
        del no_sender["message"]["from"]
        assert await post(json.dumps(no_sender).encode(), good) == 200
        assert "ignored an event the bot does not know: 'user.follow'" in caplog.text
        assert "without a sender id" in caplog.text

        sent = len(api.sent(user.id))
        replayed = json.dumps(update("/help")).encode()  # bare, not wrapped: accepted too
        handled = channel.updates_handled
        assert await post(replayed, good) == 200
        assert await post(replayed, good) == 200  # the same message id again
        await api.wait_for(lambda: channel.updates_handled > handled)
        await asyncio.sleep(0.2)
        assert len(api.sent(user.id)) == sent + 1  # answered once
        assert "came again: handled once" in caplog.text
        async with lite_database.work() as work:
            assert len((await work.session.scalars(select(Identity))).all()) == 1
    finally:
        await channel.stop()


# ------------------------------------------------------------------ polling's troubles


async def test_polling_survives_html_time_outs_and_broken_updates(
    polling: Harness, api: FakeZaloAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="channels.zalo")
    user = api.user("u-poll", "An")
    channel = polling.channel
    api.inject({"event_name": "oa.follow", "message": {}})
    api.inject({"ok": True, "result": {"event_name": "message.text.received", "message": {}}})
    await api.wait_for(lambda: channel.updates_ignored >= 2)
    assert "ignored an event the bot does not know: 'oa.follow'" in caplog.text
    assert "without a message id" in caplog.text

    same = user.message("text", "/help")
    await polling.act(lambda: api.inject(same))
    await polling.act(lambda: api.inject(same))  # a replay: taken once
    assert len(api.sent(user.id)) == 1

    api.html_next("getUpdates", 502)
    await api.wait_for(lambda: "text/html" in caplog.text)
    api.delay_next("getUpdates", 3)  # longer than the client waits (1 + 1 s): a time-out
    await api.wait_for(lambda: "no answer in time" in caplog.text, timeout=8)
    assert "/drives" in await polling.say(user, "/help")  # polling goes on

    api.html_next("sendMessage", 502)  # the answer is lost, the bot is not
    await polling.act(lambda: user.send_text("/help"))
    assert "could not answer chat u-poll" in caplog.text
    assert "/drives" in await polling.say(user, "/help")
    api.block_user(user.id)
    await polling.act(lambda: user.send_text("/help"))
    assert "cannot be reached" in caplog.text


async def test_stickers_images_and_group_chatter(polling: Harness, api: FakeZaloAPI) -> None:
    user = api.user("u-misc", "Minh")
    await polling.act(user.send_sticker)
    await polling.act(user.send_image)
    assert all("chỉ đọc được" in text for text in api.texts(user.id))
    group = "g-clb-1"
    await polling.act(lambda: user.send_text("mai đi hiến máu nhé", group_id=group))
    assert api.sent(group) == []  # the bot stays out of group chatter
    await polling.act(lambda: user.send_text("/help", group_id=group))
    assert "/drives" in api.texts(group)[-1]


async def test_a_typed_number_keeps_its_meaning_after_a_restart(
    api: FakeZaloAPI, lite_engine: Engine, lite_database: Database
) -> None:
    drive_id = await add_drive(lite_database, DRIVE_DAY, "Trạm Y tế xã Bình Lư")
    first = await started(api, lite_engine)
    user = api.user("u-restart", "Lan")
    try:
        await Harness(api, first).say(user, "/drives")
    finally:
        await first.stop()
    async with lite_database.work() as work:
        stored = await work.session.get(ChatMenu, ("zalo", "u-restart"))
        assert stored is not None and stored.buttons[0][1] == f"drive:{drive_id}"
    second = await started(api, lite_engine)
    try:
        assert "Trạm Y tế xã Bình Lư" in await Harness(api, second).say(user, "1")
        # No such option: plain text, which greets someone not yet registered.
        assert "trợ lý tự động" in await Harness(api, second).say(user, "7")
    finally:
        await second.stop()


# ------------------------------------------------------------------ the outbox's errors


async def no_dispatch(inbound: Inbound) -> list[Reply]:
    raise AssertionError("delivering only")


async def test_deliver_maps_zalo_errors_for_the_sender(api: FakeZaloAPI) -> None:
    user = api.user("u-deliver")
    user.send_text("hi")  # the bot may write to chats that wrote to it
    client = ZaloClient(TOKEN, api.base_url, timeout=1)
    channel = ZaloChannel(settings(api), no_dispatch, client=client)
    await channel.open_for_sending()
    reply = [Reply("⏰ Ngày mai bạn đi hiến máu nhé!")]
    try:
        await channel.deliver(user.id, reply)
        assert api.texts(user.id) == ["⏰ Ngày mai bạn đi hiến máu nhé!"]
        api.fail_next("sendMessage", 429, "Too many requests", retry_after=90)
        with pytest.raises(RetryAfter) as wait:
            await channel.deliver(user.id, reply)
        assert wait.value.seconds == 90
        api.fail_next("sendMessage", 403, "User has blocked the bot")
        with pytest.raises(Unreachable):
            await channel.deliver(user.id, reply)
        with pytest.raises(Unreachable):
            await channel.deliver("never-wrote", reply)  # 400 "Chat not found"
        api.fail_next("sendMessage", 400, "text is invalid")
        with pytest.raises(DeliveryError) as bad:
            await channel.deliver(user.id, reply)
        assert type(bad.value) is DeliveryError
        api.html_next("sendMessage", 502)
        with pytest.raises(DeliveryError, match="text/html"):
            await channel.deliver(user.id, reply)
        api.delay("sendMessage", 3)
        with pytest.raises(DeliveryError, match="no answer in time"):
            await channel.deliver(user.id, reply)
        api.delay("sendMessage", 0)
        api.fail_next("sendMessage", 500, "Internal error")
        with pytest.raises(DeliveryError):
            await channel.deliver(user.id, reply)
    finally:
        await channel.stop()


# ------------------------------------------------------------------ one person, two channels


@pytest.fixture
async def on_both_databases(api: FakeZaloAPI, engine: Engine) -> AsyncIterator[Harness]:
    channel = await started(api, engine)
    try:
        yield Harness(api, channel)
    finally:
        await channel.stop()


async def test_one_person_on_telegram_and_zalo_gets_reminders_where_they_choose(
    on_both_databases: Harness, api: FakeZaloAPI, database: Database, clock: FixedClock
) -> None:
    polling = on_both_databases
    await load_units(database)
    async with database.work() as work:
        telegram = await identities.touch(work, "telegram", "4242", "4242", "vi", "Lan")
        unit = await units.by_code(work, "LCU-TD")
        draft = DonorDraft(
            "Nguyễn Thị Lan",
            "+84912345678",
            Birth(1995, dt.date(1995, 12, 17)),
            "female",
            "O+",
            unit.id if unit else None,
            None,
            frozenset(Purpose),
        )
        person = await persons.register_self(work, telegram, draft, Actor("telegram:4242"))
        person_id = person.id
    clock.set(clock.now() + dt.timedelta(minutes=5))
    lan = api.user("z-lan", "Lan")
    await polling.say(lan, "/start")
    await polling.say(lan, "1")
    await polling.say(lan, "1")
    await polling.say(lan, "1")
    await polling.say(lan, "Nguyễn Thị Lan")
    verify = await polling.say(lan, "0912 345 678")  # the same phone: prove it is you
    assert "đã có hồ sơ" in verify
    assert "không khớp" in await polling.say(lan, "1990")
    linked = await polling.say(lan, "17/12/1995")
    assert "Đã liên kết tài khoản này" in linked
    async with database.work() as work:
        rows = (await work.session.scalars(select(Identity).order_by(Identity.channel))).all()
        assert [(i.channel, i.person_id) for i in rows] == [
            ("telegram", person_id),
            ("zalo", person_id),
        ]
        assert len((await work.session.scalars(select(Person))).all()) == 1  # never twice
        # By default the channel used last (Zalo) gets the reminders.
        chosen_identity = await outbox.reachable_identity(work, person_id)
        assert chosen_identity is not None and chosen_identity.channel == "zalo"

    profile = await polling.say(lan, "/profile")
    assert "Nhận tin nhắc qua: kênh bạn dùng gần nhất" in profile
    await polling.choose(lan, "Kênh nhận tin nhắc")
    updated = await polling.choose(lan, "Telegram")
    assert "Nhận tin nhắc qua: Telegram" in updated
    async with database.work() as work:
        person = await persons.get(work, person_id)
        assert person is not None and person.preferred_channel == "telegram"
        via = await outbox.reachable_identities(work, [person_id])
        assert via == {person_id: rows[0].id}

    drive_id = await add_drive(database, DRIVE_DAY, "Nhà văn hoá xã Bình Lư")
    async with database.work() as work:
        person = await persons.get(work, person_id)
        assert person is not None
        await pledges.pledge(work, person, drive_id, None, Actor("t"))
    got: list[tuple[str, str]] = []

    async def telegram_inbox(chat_id: str, replies: list[Reply]) -> None:
        got.extend((chat_id, r.text) for r in replies)

    clock.set(dt.datetime(2026, 12, 11, 7, 0, tzinfo=ZONE))
    deliverers = {"zalo": polling.channel.deliver, "telegram": telegram_inbox}
    await ticker(database, deliverers).tick()
    assert got and {chat for chat, _text in got} == {"4242"} and "Ngày mai" in got[-1][1]
    sent_on_zalo = api.texts(lan.id)[-1]
    assert "Ngày mai" not in sent_on_zalo


# ------------------------------------------------------------------ configuration


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"token": "not-a-token"}, "[zalo] token"),
        ({"token": TOKEN, "mode": "webhook", "webhook_url": "https://b.example/zalo"}, "secret"),
        ({"messages_per_second": 0}, "[zalo] messages_per_second"),
        ({"poll_timeout": 0}, "[zalo] poll_timeout"),
        ({"media_url": "ftp://files"}, "[zalo] media_url"),
        ({"path": "zalo"}, "[zalo] path"),
        ({"mode": "push"}, "[zalo] mode"),
    ],
)
def test_a_wrong_zalo_setting_stops_start_up_naming_the_key(
    values: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(key)):
        build({"zalo": values}, env={})


def test_zalo_settings_have_defaults_and_come_from_the_environment() -> None:
    config = build({}, env={"HIENMAU_ZALO_TOKEN": TOKEN, "HIENMAU_ZALO_MESSAGES_PER_SECOND": "5"})
    assert (config.zalo.token, config.zalo.messages_per_second) == (TOKEN, 5.0)
    assert (config.zalo.mode, config.zalo.port, config.zalo.path) == ("polling", 8444, "/zalo")
    both = {
        "telegram": {"token": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ", "mode": "webhook",
                     "webhook_url": "https://b.example/tg", "port": 8444},
        "zalo": {"token": TOKEN, "mode": "webhook", "webhook_url": "https://b.example/zalo",
                 "webhook_secret": SECRET},
    }  # fmt: skip
    with pytest.raises(ConfigError, match=r"\[zalo\] port: 8444 is \[telegram\] port too"):
        build(both, env={})


# ------------------------------------------------------------------ rendering


def test_menus_are_numbered_with_a_prompt_and_answered_by_number_or_words() -> None:
    buttons = (Button("✅ Tôi đồng ý", "consent:yes"), Button("Không, cảm ơn", "consent:no"))
    [message] = render(Reply("Bạn có đồng ý?", buttons=buttons), photos=False)
    assert message == Text(
        "Bạn có đồng ý?\n\n1. ✅ Tôi đồng ý\n2. Không, cảm ơn\nTrả lời 1 hoặc 2."
    )
    three = (*buttons, Button("Để sau", "consent:later"))
    assert render(Reply("?", buttons=three), photos=False)[0].text.endswith("Trả lời 1, 2 hoặc 3.")
    with use_language("en"):
        [english] = render(Reply("?", buttons=three), photos=False)
    assert isinstance(english, Text) and english.text.endswith("Reply 1, 2 or 3.")
    assert chosen("2", buttons) == buttons[1] and chosen(" 1. ", buttons) == buttons[0]
    assert chosen("tôi đồng ý", buttons) == buttons[0]  # words, without the emoji or accents
    assert chosen("khong cam on", buttons) == buttons[1]
    assert chosen("3", buttons) is None and chosen("đồng ý", buttons) is None
    assert chosen("1", ()) is None


def test_contact_buttons_become_a_hint_to_type_the_answer() -> None:
    reply = Reply("Số điện thoại của bạn?", buttons=(Button("📱", kind=ButtonKind.CONTACT),))
    [message] = render(reply, photos=False)
    assert isinstance(message, Text)
    assert "bạn gõ số nhé" in message.text and "Trả lời" not in message.text


def test_long_texts_are_split_under_2000_characters_on_line_breaks() -> None:
    text = "\n".join(f"{i}. Nhà văn hoá xã Bình Lư 🩸" for i in range(300))
    chunks = split_text(text)
    assert len(chunks) > 1 and all(len(c.encode("utf-16-le")) // 2 <= 2000 for c in chunks)
    assert "\n".join(chunks) == text
    assert all(not c.startswith("\n") and c.split("\n")[0][0].isdigit() for c in chunks)
    long_line = "🩸" * 2500
    assert "".join(split_text(long_line)) == long_line
    replies = render(Reply(text, buttons=(Button("OK", "x:y"),)), photos=False)
    assert replies[-1].text.endswith("1. OK\nTrả lời 1 để chọn.")


def test_attachments_become_photos_calendar_text_or_text() -> None:
    qr = Attachment("drive-1-qr.png", qr_png("/start drive_1"), "image/png")
    assert render(Reply("Quét mã", attachment=qr), photos=True) == [Photo(qr.content, "Quét mã")]
    assert render(Reply("Quét mã", attachment=qr), photos=False) == [Text("Quét mã")]

    calendar = icalendar.Calendar()
    event = icalendar.Event()
    event.add("summary", "Ngày hội hiến máu")
    event.add("dtstart", dt.datetime(2026, 12, 12, 7, 30, tzinfo=ZONE))
    event.add("dtend", dt.datetime(2026, 12, 12, 8, 30, tzinfo=ZONE))
    event.add("location", "Nhà văn hoá xã Bình Lư")
    event.add("geo", (22.3501, 103.6012))
    calendar.add_component(event)
    ics = Attachment("hien-mau.ics", calendar.to_ical(), "text/calendar")
    [block] = render(Reply("Mở tệp này", attachment=ics), photos=True)
    assert isinstance(block, Text) and "Mở tệp này" not in block.text
    assert "📅 Thứ Bảy, 12/12/2026\n🕒 07:30–08:30\n📍 Nhà văn hoá xã Bình Lư" in block.text
    assert "🗺 https://www.google.com/maps?q=22.3501,103.6012" in block.text
    assert calendar_block(b"not a calendar") is None

    export = Attachment(
        "data.json", json.dumps({"phone": "+84912345678"}).encode(), "application/json"
    )
    [data] = render(Reply("Dữ liệu của bạn", attachment=export), photos=True)
    assert isinstance(data, Text) and "+84912345678" in data.text
    binary = Attachment("plan.xlsx", b"PK\x03\x04", "application/vnd.ms-excel")
    [note] = render(Reply("", attachment=binary), photos=True)
    assert isinstance(note, Text) and "Không gửi được tệp plan.xlsx" in note.text


# ------------------------------------------------------------------ the process


def hienmau_env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIENMAU_")}
    env.update(HIENMAU_DATABASE_URL=f"sqlite:///{tmp_path / 'run.sqlite3'}", **values)
    return env


async def stop_process(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    _out, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, err.decode()


@pytest.mark.slow
async def test_hienmau_run_serves_zalo_alone_and_jobs_tick_delivers_to_it(
    api: FakeZaloAPI, tmp_path: Path
) -> None:
    env = hienmau_env(
        tmp_path,
        HIENMAU_ZALO_TOKEN=TOKEN,
        HIENMAU_ZALO_BASE_URL=api.base_url,
        HIENMAU_ZALO_POLL_TIMEOUT="1",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    user = api.user("z-proc", "Process")
    try:
        await api.wait_for(lambda: api.calls_to("getUpdates"), timeout=30)
        user.send_text("/help")
        [reply] = await api.wait_for_messages(user.id, 1, timeout=10)
        assert "/drives" in (reply.text or "")
        await stop_process(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    # The donor registers (here through the services) and pledges; `jobs tick` reminds them.
    database = Database(
        create_engine(env["HIENMAU_DATABASE_URL"]),
        FixedClock(dt.datetime.now(dt.UTC)),
        Rules(),
        ZONE,
    )
    try:
        day = dt.datetime.now(ZONE).date() + dt.timedelta(days=2)
        drive_id = await add_drive(database, day, "Nhà văn hoá xã Bình Lư")
        async with database.work() as work:
            identity = await identities.touch(work, "zalo", "z-proc", "z-proc")
            draft = DonorDraft(
                "Lê Văn Proc", "+84912000777", Birth(1990), "male", "A+", None, None,
                frozenset(Purpose),
            )  # fmt: skip
            person = await persons.register_self(work, identity, draft, Actor("t"))
            await pledges.pledge(work, person, drive_id, None, Actor("t"))
    finally:
        await database.dispose()
    now = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(8, 0), ZONE)
    tick = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "jobs", "tick", "--now", now.isoformat(), cwd=tmp_path,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(tick.communicate(), 60)
    assert tick.returncode == 0, err.decode()
    assert "sent 1" in out.decode()
    reminder = api.texts(user.id)[-1]
    assert "Ngày mai bạn đi hiến máu" in reminder and "1. Xem chi tiết" in reminder


@pytest.mark.slow
async def test_hienmau_run_serves_telegram_and_zalo_in_one_process(
    api: FakeZaloAPI, tmp_path: Path
) -> None:
    telegram_token = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    async with FakeTelegramAPI(token=telegram_token, bot_username="hienmau_test_bot") as tg:
        port = free_port()
        env = hienmau_env(
            tmp_path,
            HIENMAU_TELEGRAM_TOKEN=telegram_token,
            HIENMAU_TELEGRAM_BASE_URL=tg.base_url,
            HIENMAU_ZALO_TOKEN=TOKEN,
            HIENMAU_ZALO_BASE_URL=api.base_url,
            HIENMAU_ZALO_MODE="webhook",
            HIENMAU_ZALO_WEBHOOK_URL=f"http://127.0.0.1:{port}/zalo",
            HIENMAU_ZALO_WEBHOOK_SECRET=SECRET,
            HIENMAU_ZALO_PORT=str(port),
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await api.wait_for(lambda: api.webhook, timeout=30)
            await tg.wait_for_call("deleteWebhook", timeout=30)
            zalo_user = api.user("z-both", "Zalo")
            zalo_user.send_text("/help")
            telegram_user = tg.user(7001, "Telegram")
            telegram_user.send_text("/help")
            [on_zalo] = await api.wait_for_messages(zalo_user.id, 1, timeout=10)
            [on_telegram] = await tg.wait_for_messages(telegram_user.id, 1, timeout=10)
            assert "/drives" in (on_zalo.text or "") and "/drives" in (on_telegram.text or "")
            await stop_process(process)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
