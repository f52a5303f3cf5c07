"""Zalo <-> transport-neutral messages, without I/O.

Zalo has text and photos only: no keyboards, no contact or location requests, no files. So
choices become a numbered menu ending in "Trả lời 1, 2 hoặc 3", answered by the number or by
the option's words; a contact or location button is dropped for a hint to type the answer;
texts are split under 2,000 characters on line breaks; a PNG goes as a photo (when the bot can
serve it at a public URL), a calendar file becomes a text block with date, time, place and map
link, and a text file (the data export) is sent as text. Call the renderers inside
`use_language` of the chat: the hints are translated.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import quote_plus

import icalendar

from channels.zalo import wire
from channels.zalo.wire import Update
from handlers import format as fmt
from handlers.messages import (
    Attachment,
    Button,
    ButtonKind,
    ChatType,
    Inbound,
    InboundKind,
    Reply,
)
from locales import _
from services.validation import fold

CHANNEL = "zalo"
TEXT_LIMIT = 2000  # sendMessage text and sendPhoto caption, in UTF-16 code units (to be safe)
LISTED_NUMBERS = 5  # up to this many choices the prompt names each number


def to_inbound(update: Update) -> Inbound | None:
    """One update -> one Inbound; None for what the bot ignores by design (unknown events,
    other bots, plain chatter in groups). A typed number is still TEXT here: the adapter
    knows the menu the chat was shown."""
    message = update.message
    if message is None or not update.known or message.sender.is_bot:
        return None
    group = message.chat_type == wire.GROUP
    text = message.text.strip() if message.text is not None else ""
    if update.event_name == wire.TEXT and text.startswith("/"):
        kind, payload = InboundKind.COMMAND, text
    elif group:
        return None  # the bot stays out of group chatter
    elif update.event_name == wire.TEXT and text:
        kind, payload = InboundKind.TEXT, message.text or ""
    elif update.event_name == wire.IMAGE and message.photo_url:
        kind, payload = InboundKind.PHOTO, text  # the adapter downloads the picture
    else:
        kind, payload = InboundKind.UNSUPPORTED, ""  # stickers, voice, empty texts
    return Inbound(
        channel=CHANNEL,
        user_id=message.sender.id,
        chat_id=message.chat_id,
        kind=kind,
        payload=payload,
        language=None,  # Zalo tells nothing of the user's language
        chat_type=ChatType.GROUP if group else ChatType.PRIVATE,
        display_name=message.sender.display_name,
        update_id=message.message_id,
    )


def _words(text: str) -> str:
    """What is compared when someone types an option: letters and digits, no accents."""
    return " ".join(re.sub(r"[^\w\s]", " ", fold(text)).split())


def chosen(text: str, menu: tuple[Button, ...]) -> Button | None:
    """The option a typed answer names: its number ("2", "2.") or its words ("nữ")."""
    if not menu:
        return None
    stripped = text.strip().rstrip(".)")
    if stripped.isdigit():
        number = int(stripped)
        return menu[number - 1] if 1 <= number <= len(menu) else None
    words = _words(text)
    if not words:
        return None
    return next((button for button in menu if _words(button.label) == words), None)


# Rendering ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Photo:
    image: bytes
    caption: str = ""


Outgoing = Text | Photo


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(line: str, limit: int) -> list[str]:
    """Hard-cut one over-long line into pieces of at most `limit` UTF-16 units."""
    pieces: list[str] = []
    current, size = "", 0
    for char in line:
        width = utf16_length(char)
        if size + width > limit:
            pieces.append(current)
            current, size = "", 0
        current += char
        size += width
    pieces.append(current)
    return pieces


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split on line breaks into chunks of at most `limit`; empty chunks are dropped."""
    chunks: list[str] = []
    current = ""
    for raw_line in text.split("\n"):
        for line in _cut(raw_line, limit):
            candidate = f"{current}\n{line}" if current else line
            if utf16_length(candidate) <= limit:
                current = candidate
                continue
            if current.strip():
                chunks.append(current)
            current = line
    if current.strip():
        chunks.append(current)
    return chunks


def menu_prompt(count: int) -> str:
    """'Trả lời 1, 2 hoặc 3.' for a menu of `count` choices."""
    if count == 1:
        return _("Trả lời {number} để chọn.").format(number=1)
    if count <= LISTED_NUMBERS:
        numbers = ", ".join(str(n) for n in range(1, count))
        return _("Trả lời {numbers} hoặc {last}.").format(numbers=numbers, last=count)
    return _("Trả lời một số từ 1 đến {last}.").format(last=count)


def menu_lines(choices: tuple[Button, ...]) -> list[str]:
    if not choices:
        return []
    lines = [f"{number}. {button.label}" for number, button in enumerate(choices, start=1)]
    return [*lines, menu_prompt(len(choices))]


def _dropped_button_hints(reply: Reply) -> list[str]:
    kinds = {button.kind for button in reply.buttons}
    hints = []
    if ButtonKind.CONTACT in kinds:
        hints.append(
            _("📱 Zalo không có nút chia sẻ số điện thoại: bạn gõ số nhé (ví dụ: 0912 345 678).")
        )
    if ButtonKind.LOCATION in kinds:
        hints.append(_("📍 Zalo không gửi được vị trí qua nút bấm: bạn gõ câu trả lời nhé."))
    return hints


def is_calendar(attachment: Attachment) -> bool:
    return attachment.mime_type == "text/calendar" or attachment.filename.endswith(".ics")


def is_image(attachment: Attachment) -> bool:
    return attachment.mime_type.startswith("image/")


def _is_text(attachment: Attachment) -> bool:
    return attachment.mime_type.startswith("text/") or attachment.mime_type == "application/json"


def _local(value: object) -> dt.datetime | None:
    return value if isinstance(value, dt.datetime) else None


def map_link(event: icalendar.cal.Component) -> str:
    """The event's own link, else one to its coordinates, else a map search for its place."""
    url = event.get("url")
    if url:
        return str(url)
    geo = event.get("geo")
    if geo is not None:
        return f"https://www.google.com/maps?q={geo.latitude},{geo.longitude}"
    location = str(event.get("location") or "")
    if location:
        return f"https://www.google.com/maps/search/?api=1&query={quote_plus(location)}"
    return ""


def calendar_block(content: bytes) -> str | None:
    """The first event of an .ics file as lines to copy into a calendar; None if unreadable."""
    try:
        events = icalendar.Calendar.from_ical(content).walk("VEVENT")
    except ValueError:
        return None
    if not events:
        return None
    event = events[0]
    start = _local(event.decoded("dtstart", None))
    end = _local(event.decoded("dtend", None))
    if start is None:
        return None
    lines = [_("📅 Ghi lịch hiến máu của bạn:")]
    if event.get("summary"):
        lines.append(f"🩸 {event.get('summary')}")
    lines.append(f"📅 {fmt.weekday_date(start.date())}")
    lines.append(f"🕒 {start:%H:%M}" + (f"–{end:%H:%M}" if end is not None else ""))
    if event.get("location"):
        lines.append(f"📍 {event.get('location')}")
    link = map_link(event)
    if link:
        lines.append(f"🗺 {link}")
    lines.append(_("Bạn lưu tin nhắn này hoặc ghi vào lịch điện thoại để khỏi quên nhé."))
    return "\n".join(lines)


def _attachment_text(attachment: Attachment) -> str:
    if _is_text(attachment):
        body = attachment.content.decode("utf-8", errors="replace")
        return f"📎 {attachment.filename}:\n{body}"
    return _("📎 Không gửi được tệp {name} qua Zalo.").format(name=attachment.filename)


def render(reply: Reply, *, photos: bool) -> list[Outgoing]:
    """One reply as Zalo messages, in order. `photos`: an image can be served at a public URL
    (otherwise only its text goes)."""
    body = reply.text
    photo: bytes | None = None
    attachment = reply.attachment
    if attachment is not None:
        if is_calendar(attachment):
            body = calendar_block(attachment.content) or body
        elif is_image(attachment):
            photo = attachment.content if photos else None
        else:
            body = "\n\n".join(part for part in (body, _attachment_text(attachment)) if part)
    extra = [*menu_lines(reply.choices), *_dropped_button_hints(reply)]
    text = "\n\n".join(part for part in (body.strip("\n"), "\n".join(extra)) if part.strip())
    chunks = split_text(text)
    if photo is None:
        return [Text(chunk) for chunk in chunks]
    if len(chunks) == 1:
        return [Photo(photo, chunks[0])]
    return [*(Text(chunk) for chunk in chunks), Photo(photo)]
