"""The Zalo Bot Platform wire format, as the public docs and clients that measured the live API
describe it (see DOMAIN.md, Channels), read into frozen dataclasses.

An update is `{event_name, message}`; a webhook wraps it as `{ok: true, result: {...}}` (both are
accepted). Ids are strings, dates are milliseconds since the epoch. In a private chat
`chat.id == from.id`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TEXT = "message.text.received"
IMAGE = "message.image.received"
STICKER = "message.sticker.received"
VOICE = "message.voice.received"
UNSUPPORTED = "message.unsupported.received"
EVENTS = frozenset({TEXT, IMAGE, STICKER, VOICE, UNSUPPORTED})

PRIVATE, GROUP = "PRIVATE", "GROUP"


class MalformedUpdate(ValueError):
    """A body that is no update the bot can act on; the message says what is missing."""


@dataclass(frozen=True, slots=True)
class Sender:
    id: str
    display_name: str = ""
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class Message:
    message_id: str
    sender: Sender
    chat_id: str
    chat_type: str  # PRIVATE | GROUP
    date: dt.datetime | None
    text: str | None = None
    photo_url: str | None = None  # an image message: where Zalo serves the picture


@dataclass(frozen=True, slots=True)
class Update:
    event_name: str
    message: Message | None  # None for events the bot does not know (not read)

    @property
    def known(self) -> bool:
        return self.event_name in EVENTS


@dataclass(frozen=True, slots=True)
class BotInfo:
    id: str
    account_name: str
    account_type: str = ""
    can_join_groups: bool = False


@dataclass(frozen=True, slots=True)
class WebhookInfo:
    url: str
    updated_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SentMessage:
    message_id: str
    date: dt.datetime | None


def from_millis(value: Any) -> dt.datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return dt.datetime.fromtimestamp(float(value) / 1000, dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _id(value: Any) -> str | None:
    """An id as a string; numbers are accepted (some clients send them), empty values not."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text or None


def unwrap(body: Any) -> Any:
    """The update inside a webhook's `{ok: true, result: {...}}`, or the body as it is."""
    if isinstance(body, Mapping) and "event_name" not in body and "result" in body:
        if body.get("ok") is False:
            raise MalformedUpdate(f"an error envelope: {body.get('description')!r}")
        return body["result"]
    return body


def parse_update(body: Any) -> Update:
    """One update from a webhook body or a getUpdates result. Unknown events come back with
    `message=None`; a known event without sender, chat or message id is refused."""
    body = unwrap(body)
    if not isinstance(body, Mapping):
        raise MalformedUpdate("not a JSON object")
    event = body.get("event_name")
    if not isinstance(event, str) or not event:
        raise MalformedUpdate("no event_name")
    if event not in EVENTS:
        return Update(event, None)
    message = body.get("message")
    if not isinstance(message, Mapping):
        raise MalformedUpdate(f"{event} without a message")
    message_id = _id(message.get("message_id"))
    if message_id is None:
        raise MalformedUpdate(f"{event} without a message id")
    sender = message.get("from")
    sender_id = _id(sender.get("id")) if isinstance(sender, Mapping) else None
    if sender_id is None or not isinstance(sender, Mapping):
        raise MalformedUpdate(f"{event} {message_id} without a sender id")
    name = sender.get("display_name") or sender.get("first_name") or ""
    chat = message.get("chat")
    chat = chat if isinstance(chat, Mapping) else {}
    chat_type = str(chat.get("chat_type") or PRIVATE).upper()
    text = message.get("text")
    photo = message.get("photo_url") or message.get("photo")
    return Update(
        event,
        Message(
            message_id=message_id,
            sender=Sender(sender_id, str(name), sender.get("is_bot") is True),
            chat_id=_id(chat.get("id")) or sender_id,  # a private chat has the sender's id
            chat_type=GROUP if chat_type == GROUP else PRIVATE,
            date=from_millis(message.get("date")),
            text=text if isinstance(text, str) else None,
            photo_url=photo if isinstance(photo, str) and photo else None,
        ),
    )


def bot_info(result: Any) -> BotInfo:
    data = result if isinstance(result, Mapping) else {}
    return BotInfo(
        id=_id(data.get("id")) or "",
        account_name=str(data.get("account_name") or data.get("display_name") or ""),
        account_type=str(data.get("account_type") or ""),
        can_join_groups=data.get("can_join_groups") is True,
    )


def webhook_info(result: Any) -> WebhookInfo:
    data = result if isinstance(result, Mapping) else {}
    return WebhookInfo(str(data.get("url") or ""), from_millis(data.get("updated_at")))


def sent_message(result: Any) -> SentMessage:
    data = result if isinstance(result, Mapping) else {}
    return SentMessage(_id(data.get("message_id")) or "", from_millis(data.get("date")))
