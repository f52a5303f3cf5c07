"""Tests of the fake Zalo Bot Platform API, driven by our own client and by raw HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import aiohttp
import httpx
import pytest
from aiohttp import web

from channels.zalo import wire
from channels.zalo.client import (
    BadRequest,
    Forbidden,
    NetworkError,
    NotFound,
    TimedOut,
    TooManyRequests,
    Unauthorized,
    ZaloClient,
    api_root,
)
from tests.fakes.zalo_api import FakeZaloAPI

TOKEN = "1234567890:fake-zalo-token-abc"


@pytest.fixture
async def api() -> AsyncIterator[FakeZaloAPI]:
    async with FakeZaloAPI(TOKEN) as fake:
        yield fake


@pytest.fixture
async def client(api: FakeZaloAPI) -> AsyncIterator[ZaloClient]:
    async with ZaloClient(TOKEN, api.base_url, timeout=3) as zalo:
        yield zalo


async def test_get_me_and_the_envelope(api: FakeZaloAPI, client: ZaloClient) -> None:
    me = await client.get_me()
    assert (me.id, me.account_name, me.can_join_groups) == ("1234567890", "bot.HienMau", False)
    async with httpx.AsyncClient() as http:
        raw = (await http.post(f"{api.base_url}/bot{TOKEN}/getMe", json={})).json()
    assert raw["ok"] is True and raw["error_code"] == 0 and raw["result"]["account_type"]
    assert api_root("https://h/") == api_root("https://h/bot") == "https://h/bot"


async def test_errors_come_with_http_200_and_ok_false(api: FakeZaloAPI) -> None:
    async with httpx.AsyncClient() as http:
        wrong = await http.post(f"{api.base_url}/bot1:wrong/getMe", json={})
        unknown = await http.post(f"{api.base_url}/bot{TOKEN}/sendVideo", json={})
        long_text = await http.post(
            f"{api.base_url}/bot{TOKEN}/sendMessage", json={"chat_id": "x", "text": "a"}
        )
    assert wrong.status_code == unknown.status_code == long_text.status_code == 200
    assert wrong.json()["error_code"] == 401 and unknown.json()["error_code"] == 404
    assert long_text.json() == {"ok": False, "error_code": 400, "description": "Chat not found"}
    async with ZaloClient("1:wrong-token", api.base_url) as wrong_client:
        with pytest.raises(Unauthorized):
            await wrong_client.get_me()


async def test_get_updates_gives_one_update_then_408_when_idle(
    api: FakeZaloAPI, client: ZaloClient
) -> None:
    user = api.user("u1", "Lan")
    user.send_text("xin chào")
    user.send_sticker()
    first = await client.get_updates(timeout=1)
    assert first is not None and first.event_name == wire.TEXT
    assert first.message is not None and first.message.text == "xin chào"
    assert first.message.chat_id == first.message.sender.id == "u1"
    assert first.message.date is not None and first.message.date.tzinfo is dt.UTC
    second = await client.get_updates(timeout=1)
    assert second is not None and second.event_name == wire.STICKER
    started = asyncio.get_running_loop().time()
    assert await client.get_updates(timeout=1) is None  # idle: 408
    assert asyncio.get_running_loop().time() - started >= 0.9
    assert api.calls_to("getUpdates")[-1].error_code == 408


async def test_an_idle_poll_may_answer_http_408_too() -> None:
    async with (
        FakeZaloAPI(TOKEN, idle_status=408) as api,
        ZaloClient(TOKEN, api.base_url) as client,
    ):
        assert await client.get_updates(timeout=0) is None
        assert api.calls_to("getUpdates")[-1].status == 408


async def test_two_pollers_steal_each_others_updates(api: FakeZaloAPI) -> None:
    async with (
        ZaloClient(TOKEN, api.base_url) as one,
        ZaloClient(TOKEN, api.base_url) as two,
    ):
        polls = [asyncio.create_task(c.get_updates(timeout=2)) for c in (one, two)]
        await api.wait_for(lambda: len(api.calls_to("getUpdates")) == 2)
        api.user("u1").send_text("một")
        api.user("u1").send_text("hai")
        got = await asyncio.gather(*polls)
    texts = sorted(u.message.text or "" for u in got if u is not None and u.message)
    assert texts == ["hai", "một"] and api.pending_updates == []


async def test_get_updates_is_silent_while_a_webhook_is_set(
    api: FakeZaloAPI, client: ZaloClient
) -> None:
    with pytest.raises(BadRequest, match="secret_token"):
        await client.set_webhook("https://bot.example.org/zalo", "short")
    info = await client.set_webhook("https://bot.example.org/zalo", "s3cret-token")
    assert info.url == "https://bot.example.org/zalo" and info.updated_at is not None
    assert (await client.get_webhook_info()).url == "https://bot.example.org/zalo"
    api.user("u1").send_text("xin chào")
    assert await client.get_updates(timeout=0) is None
    assert (await client.delete_webhook()).url == ""
    update = await client.get_updates(timeout=1)
    assert update is not None and update.message and update.message.text == "xin chào"


async def test_webhook_events_come_wrapped_with_the_secret_header(api: FakeZaloAPI) -> None:
    got: list[tuple[str | None, object]] = []

    async def receive(request: web.Request) -> web.Response:
        got.append((request.headers.get("X-Bot-Api-Secret-Token"), await request.json()))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with ZaloClient(TOKEN, api.base_url) as client:
            await client.set_webhook(f"http://127.0.0.1:{port}/hook", "s3cret-token")
        api.user("u1", "Lan").send_text("/start")
        await api.wait_for(lambda: got)
    finally:
        await runner.cleanup()
    secret, body = got[0]
    assert secret == "s3cret-token"
    assert isinstance(body, dict) and body["ok"] is True
    update = wire.parse_update(body)
    assert update.event_name == wire.TEXT and update.message and update.message.text == "/start"
    assert api.webhook_attempts[-1].status == 200


async def test_send_message_checks_the_text_and_the_chat(
    api: FakeZaloAPI, client: ZaloClient
) -> None:
    api.user("u1").send_text("hi")
    sent = await client.send_message("u1", "Chào bạn")
    assert sent.message_id and sent.date is not None
    assert api.texts("u1") == ["Chào bạn"]
    with pytest.raises(BadRequest, match="2000"):
        await client.send_message("u1", "🩸" * 1001)  # 2,002 UTF-16 units
    await client.send_message("u1", "🩸" * 1000)
    with pytest.raises(BadRequest, match="Chat not found"):
        await client.send_message("never-wrote", "hi")
    await client.send_chat_action("u1")
    api.block_user("u1")
    with pytest.raises(Forbidden):
        await client.send_message("u1", "hi")


async def test_send_photo_takes_a_url_and_fetches_it(api: FakeZaloAPI, client: ZaloClient) -> None:
    api.user("u1").send_text("hi")

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG fake", content_type="image/png")

    app = web.Application()
    app.router.add_get("/qr.png", image)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        await client.send_photo("u1", f"http://127.0.0.1:{port}/qr.png", "Mã QR")
        with pytest.raises(BadRequest, match="fetched"):
            await client.send_photo("u1", f"http://127.0.0.1:{port}/none.png")
    finally:
        await runner.cleanup()
    [photo] = [m for m in api.sent("u1") if m.method == "sendPhoto"]
    assert (photo.photo, photo.text) == (b"\x89PNG fake", "Mã QR")
    # A multipart upload is not read: the photo parameter is missing.
    async with aiohttp.ClientSession() as session:
        form = aiohttp.FormData()
        form.add_field("chat_id", "u1")
        form.add_field("photo", b"\x89PNG", filename="qr.png", content_type="image/png")
        async with session.post(f"{api.base_url}/bot{TOKEN}/sendPhoto", data=form) as r:
            assert (await r.json())["error_code"] == 400


async def test_form_bodies_are_read(api: FakeZaloAPI) -> None:
    api.user("u1").send_text("hi")
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{api.base_url}/bot{TOKEN}/sendMessage", data={"chat_id": "u1", "text": "form"}
        )
    assert answer.json()["ok"] is True and api.texts("u1") == ["form"]


async def test_injected_faults_become_typed_errors(api: FakeZaloAPI) -> None:
    api.user("u1").send_text("hi")
    async with ZaloClient(TOKEN, api.base_url, timeout=0.5) as client:
        api.fail_next("sendMessage", 429, "Too many requests", retry_after=3)
        with pytest.raises(TooManyRequests) as too_many:
            await client.send_message("u1", "x")
        assert too_many.value.retry_after == 3
        api.html_next("sendMessage", 502)
        with pytest.raises(NetworkError, match="text/html"):
            await client.send_message("u1", "x")
        api.drop_next("sendMessage")
        with pytest.raises(NetworkError):
            await client.send_message("u1", "x")
        api.delay("sendMessage", 2)
        with pytest.raises(TimedOut):
            await client.send_message("u1", "x")
        api.delay("sendMessage", 0)
        with pytest.raises(NotFound):
            await client.call("sendVideo", {"chat_id": "u1"})
        await client.send_message("u1", "ok")
    assert api.texts("u1")[-1] == "ok"


def test_updates_are_read_wrapped_or_bare_and_refused_without_a_sender() -> None:
    bare = {
        "event_name": "message.text.received",
        "message": {
            "message_id": "abc",
            "from": {"id": "u1", "display_name": "Lan", "is_bot": False},
            "chat": {"id": "u1", "chat_type": "PRIVATE"},
            "date": 1766619597466,
            "text": "hi",
        },
    }
    for body in (bare, {"ok": True, "result": bare}):
        update = wire.parse_update(body)
        assert update.message is not None and update.message.sender.display_name == "Lan"
        assert update.message.date == dt.datetime(2025, 12, 24, 23, 39, 57, 466000, dt.UTC)
    unknown = wire.parse_update({"event_name": "user.follow", "message": {}})
    assert not unknown.known and unknown.message is None
    no_sender = {**bare, "message": {**bare["message"], "from": {"display_name": "?"}}}
    with pytest.raises(wire.MalformedUpdate, match="sender"):
        wire.parse_update(no_sender)
    for broken in ([], {"ok": False, "result": None}, {"message": {}}, "text"):
        with pytest.raises(wire.MalformedUpdate):
            wire.parse_update(broken)
