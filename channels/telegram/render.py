"""Telegram <-> transport-neutral messages, without I/O.

`to_inbound` turns one update into one `Inbound` (or None for what the bot ignores by design);
`html_chunks` and `markup` prepare a `Reply` for sendMessage with parse_mode HTML.
"""

from __future__ import annotations

import html

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType as TgChatType
from telegram.constants import MessageLimit

from handlers.messages import Button, ButtonKind, ChatType, Inbound, InboundKind, Reply

CHANNEL = "telegram"
TEXT_LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096
CAPTION_LIMIT = int(MessageLimit.CAPTION_LENGTH)  # 1024
GROUP_TYPES = frozenset({TgChatType.GROUP, TgChatType.SUPERGROUP})


def to_inbound(update: Update, bot_username: str) -> Inbound | None:
    """One update -> one Inbound; None for updates the bot ignores.

    Ignored: edited messages and channel posts (by design), other bots' commands and plain
    chatter in groups, service messages without content. A document or photo arrives without
    its content: the adapter downloads it.
    """
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type == TgChatType.CHANNEL:
        return None
    group = chat.type in GROUP_TYPES
    contact_is_own = True
    query = update.callback_query
    if query is not None:
        kind, payload = InboundKind.BUTTON, query.data or ""
    else:
        message = update.message  # None for edited messages and channel posts
        if message is None:
            return None
        if message.text is not None:
            text = message.text.strip()
            if text.startswith("/"):
                head = text.split(maxsplit=1)[0]
                _name, at, target = head.partition("@")
                if at and target.lower() != bot_username.lower():
                    return None  # another bot's command
                kind, payload = InboundKind.COMMAND, text
            elif group:
                return None  # the bot stays out of group chatter
            else:
                kind, payload = InboundKind.TEXT, message.text
        elif group:
            return None
        elif message.contact is not None:
            contact = message.contact
            phone = contact.phone_number.strip()
            if phone and not phone.startswith(("+", "0")):
                phone = "+" + phone  # Telegram sends international digits without "+"
            kind, payload = InboundKind.CONTACT, phone
            contact_is_own = contact.user_id is not None and contact.user_id == user.id
        elif message.location is not None:
            location = message.location
            kind, payload = InboundKind.LOCATION, f"{location.latitude},{location.longitude}"
        elif message.photo:  # sizes of one picture; the adapter downloads the largest
            kind, payload = InboundKind.PHOTO, message.caption or ""
        elif message.document is not None and message.animation is None:  # GIFs carry both
            kind, payload = InboundKind.DOCUMENT, message.document.file_name or ""
        elif message.effective_attachment is not None:
            kind, payload = InboundKind.UNSUPPORTED, ""
        else:
            return None  # service messages (pins, joins ...)
    return Inbound(
        channel=CHANNEL,
        user_id=str(user.id),
        chat_id=str(chat.id),
        kind=kind,
        payload=payload,
        language=user.language_code,
        chat_type=ChatType.GROUP if group else ChatType.PRIVATE,
        display_name=user.full_name,
        contact_is_own=contact_is_own,
        deep_link=f"https://t.me/{bot_username}?start=",
        update_id=str(update.update_id),
    )


def _cut(line: str, limit: int) -> list[str]:
    """Hard-cut one over-long escaped line without splitting an HTML entity."""
    pieces: list[str] = []
    while len(line) > limit:
        cut = limit
        amp = line.rfind("&", cut - 10, cut)
        if amp != -1 and ";" not in line[amp:cut]:
            cut = amp
        pieces.append(line[:cut])
        line = line[cut:]
    pieces.append(line)
    return pieces


def html_chunks(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Escape plain text for parse_mode HTML and split it on line breaks under `limit`."""
    chunks: list[str] = []
    current = ""
    for raw_line in html.escape(text, quote=False).split("\n"):
        for line in _cut(raw_line, limit):
            candidate = f"{current}\n{line}" if current else line
            if len(candidate) <= limit:
                current = candidate
                continue
            if current.strip():
                chunks.append(current)
            current = line
    if current.strip() or not chunks:
        chunks.append(current)
    return chunks


def inline_keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    choices = reply.choices
    if not choices:
        return None
    columns = max(1, reply.columns)
    rows = [
        [InlineKeyboardButton(b.label, callback_data=b.payload) for b in choices[i : i + columns]]
        for i in range(0, len(choices), columns)
    ]
    return InlineKeyboardMarkup(rows)


def _keyboard_button(button: Button) -> KeyboardButton:
    if button.kind is ButtonKind.CONTACT:
        return KeyboardButton(button.label, request_contact=True)
    return KeyboardButton(button.label, request_location=True)


def request_keyboard(reply: Reply) -> ReplyKeyboardMarkup | None:
    """A one-time keyboard for contact/location buttons (private chats only)."""
    special = [b for b in reply.buttons if b.kind is not ButtonKind.CALLBACK]
    if not special:
        return None
    columns = max(1, reply.columns)
    rows = [
        [_keyboard_button(b) for b in special[i : i + columns]]
        for i in range(0, len(special), columns)
    ]
    return ReplyKeyboardMarkup(rows, one_time_keyboard=True, resize_keyboard=True)
