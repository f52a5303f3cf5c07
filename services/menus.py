"""Numbered menus of chats without buttons (Zalo): what a typed number means in a chat.

A channel that draws choices as "1. ... 2. ..." remembers the last menu it showed a chat here,
and looks it up when the person answers. Only the newest menu counts: a reply without choices
clears it, so a number typed later is plain text again.
"""

from __future__ import annotations

from sqlalchemy import select

from db.models import ChatMenu, Identity
from locales import DEFAULT_LANGUAGE
from services.work import Work

Choice = tuple[str, str]  # (label, payload)


async def remember(work: Work, channel: str, chat_id: str, choices: list[Choice]) -> None:
    """The menu `chat_id` sees now (an empty list: none)."""
    row = await work.session.get(ChatMenu, (channel, chat_id))
    if not choices:
        if row is not None:
            await work.session.delete(row)
        return
    if row is None:
        row = ChatMenu(channel=channel, chat_id=chat_id)
        work.session.add(row)
    row.buttons = [[label, payload] for label, payload in choices]
    row.updated_at = work.now()


async def recall(work: Work, channel: str, chat_id: str) -> list[Choice]:
    row = await work.session.get(ChatMenu, (channel, chat_id))
    if row is None:
        return []
    return [(str(label), str(payload)) for label, payload in row.buttons]


async def chat_language(work: Work, channel: str, chat_id: str) -> str:
    """The language a chat is written to in (its identity's), the default if unknown."""
    language = await work.session.scalar(
        select(Identity.language)
        .where(Identity.channel == channel, Identity.chat_id == chat_id)
        .order_by(Identity.last_seen_at.desc())
        .limit(1)
    )
    return language or DEFAULT_LANGUAGE
