"""The router answers anything a chat can send, in private and in groups, and never crashes."""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers import COMMANDS
from handlers.engine import Engine
from handlers.messages import ChatType, Inbound, InboundKind
from services.work import Database
from tests.sample import load_units

CRASH = "trục trặc"

commands = st.sampled_from([f"/{name}" for name in COMMANDS] + ["/nope", "/start inv_x", "/"])
payloads = st.sampled_from(
    [
        "consent:yes",
        "remind:no",
        "club:yes",
        "sex:female",
        "blood:O+",
        "unit:skip",
        "weight:skip",
        "review:save",
        "review:redo",
        "cmd:help",
        "cmd:profile",
        "profile:name",
        "profile:reminders",
        "lang:en",
        "forget:yes",
        "bogus",
        "unit:999999",
        ":",
    ]
)
texts = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["1", "2", "0912345678", "1995", "nam", "O+", "tam duong", "55", "x" * 5000]),
)
events = st.lists(
    st.one_of(
        st.tuples(st.just(InboundKind.COMMAND), commands),
        st.tuples(st.just(InboundKind.BUTTON), payloads),
        st.tuples(st.just(InboundKind.TEXT), texts),
        st.tuples(st.just(InboundKind.CONTACT), st.sampled_from(["+84912345670", "garbage"])),
        st.tuples(st.just(InboundKind.UNSUPPORTED), st.just("")),
    ),
    min_size=1,
    max_size=25,
)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(events=events, user=st.integers(min_value=1, max_value=3))
async def test_random_conversations_always_get_an_answer(
    events: list[tuple[InboundKind, str]],
    user: int,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR)
    for kind, payload in events:
        replies = await engine.dispatch(Inbound("console", f"u{user}", f"u{user}", kind, payload))
        assert replies, (kind, payload)
        assert all(reply.text for reply in replies)
        assert not any(CRASH in reply.text for reply in replies), (kind, payload, caplog.text)


async def test_group_chats_never_ask_for_personal_data(database: Database, engine: Engine) -> None:
    await load_units(database)

    async def group(kind: InboundKind, payload: str) -> str:
        replies = await engine.dispatch(
            Inbound("telegram", "7", "-100", kind, payload, chat_type=ChatType.GROUP)
        )
        return "\n".join(r.text for r in replies)

    assert await group(InboundKind.TEXT, "chào cả nhà") == ""  # chatter is ignored
    start = await group(InboundKind.COMMAND, "/start@hienmau_bot")
    assert "nhắn riêng" in start and "đồng ý" not in start
    assert "nhắn riêng" in await group(InboundKind.COMMAND, "/profile")
    assert "nhắn riêng" in await group(InboundKind.COMMAND, "/adddonor")
    assert "đợt hiến máu" in (await group(InboundKind.COMMAND, "/drives")).lower()


async def test_old_buttons_are_recognised(engine: Engine) -> None:
    async def send(kind: InboundKind, payload: str) -> str:
        replies = await engine.dispatch(Inbound("console", "u", "u", kind, payload))
        return "\n".join(r.text for r in replies)

    assert "hết hạn" in await send(InboundKind.BUTTON, "sex:female")
    await send(InboundKind.COMMAND, "/start")
    reply = await send(InboundKind.BUTTON, "review:save")  # a keyboard of another step
    assert "câu hỏi trước" in reply and "đồng ý" in reply
    await send(InboundKind.BUTTON, "consent:yes")
    assert "câu hỏi trước" in await send(InboundKind.BUTTON, "consent:yes")  # pressed twice
