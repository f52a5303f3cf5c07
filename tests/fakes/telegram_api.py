"""A fake Telegram Bot API server for end-to-end tests.

It speaks the real wire format closely enough to drive python-telegram-bot's real ``Bot`` and
``Application``: requests arrive form-encoded, as multipart (files) or as JSON, with nested
objects (``reply_markup``, ``commands``, ``scope`` ...) JSON-encoded inside form fields; answers
are ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ..., "description": ...}``.

Usage::

    async with FakeTelegramAPI(token="123:ABC") as api:
        app = ApplicationBuilder().token("123:ABC").base_url(api.base_url).build()
        ...  # start polling
        api.send_text(42, "/start")
        [reply] = await api.wait_for_messages(42, 1)
        assert reply.text == "hi"

Behaviour worth knowing (it mirrors Telegram):

* ``parse_mode`` text is parsed like Telegram does: ``SentMessage.text`` is the plain text,
  ``SentMessage.raw_text`` what the bot sent, ``entities`` the parsed entities (UTF-16 offsets).
  Bad HTML/MarkdownV2 answers 400 "can't parse entities". ``strict_html=True`` (default) also
  rejects a bare ``&``, which real Telegram tolerates, because it is always an escaping bug.
* Only inline keyboards are echoed in Message objects; reply keyboards are visible through
  ``SentMessage.reply_markup`` / ``Call.params``. ``editMessageText`` without ``reply_markup``
  removes the inline keyboard; identical edits answer 400 "message is not modified".
* Injection helpers (``send_text``, ``press_button`` ...) are synchronous and return the update.
* Unconfirmed updates are redelivered by getUpdates until an ``offset`` confirms them; a newer
  getUpdates ends an older long poll with 409; getUpdates answers 409 while a webhook is set.
* python-telegram-bot strips "Bad Request: " and lower-cases the rest of error descriptions
  (``str.capitalize``); match case-insensitively or check ``Call.response["description"]``.

Only loopback traffic is ever produced: webhooks are delivered to loopback hosts only.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import json
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

__all__ = [
    "Call",
    "FakeTelegramAPI",
    "FakeUser",
    "SentMessage",
    "TelegramApiError",
    "UploadedFile",
    "WebhookAttempt",
    "parse_formatted_text",
]

JSONDict = dict[str, Any]
ChatKey = int | str
T = TypeVar("T")

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
MAX_POLL_TIMEOUT = 50.0
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses bigger files

# Form fields that are plain strings on the wire and must never be JSON-decoded
# ("123" stays "123" for callback_query_id, text, etc.).
_STRING_PARAMS = frozenset(
    {
        "action",
        "address",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "custom_title",
        "description",
        "document",
        "emoji",
        "explanation",
        "file_id",
        "first_name",
        "inline_message_id",
        "ip_address",
        "language_code",
        "last_name",
        "name",
        "parse_mode",
        "phone_number",
        "photo",
        "query",
        "question",
        "secret_token",
        "short_description",
        "sticker",
        "text",
        "title",
        "url",
        "username",
        "vcard",
    }
)
_ALL_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
# Telegram's default when allowed_updates was never set (or set to []).
_DEFAULT_UPDATE_TYPES = _ALL_UPDATE_TYPES - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
# Methods that fail with 403 when the target chat blocked / kicked the bot.
_BLOCKABLE_PREFIXES = ("send", "edit", "copy", "forward")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# tdlib's bot command regexp: (?<!\b|[\/<>])\/([a-zA-Z0-9_]{1,64})(?:@([a-zA-Z0-9_]{3,32}))?
_BOT_COMMAND_RE = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>@])")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


# --------------------------------------------------------------------------------------------
# Records


class TelegramApiError(Exception):
    """An error answer of the fake API; rendered as ``{"ok": false, ...}``."""

    def __init__(
        self,
        status: int,
        description: str,
        parameters: JSONDict | None = None,
        *,
        disconnect: bool = False,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters
        self.disconnect = disconnect

    def to_json(self) -> JSONDict:
        """The Bot API error body."""
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(message: str) -> TelegramApiError:
    return TelegramApiError(400, f"Bad Request: {message}")


@dataclass(frozen=True)
class UploadedFile:
    """A file uploaded by the bot (multipart part)."""

    field_name: str
    filename: str | None
    data: bytes
    content_type: str | None = None

    def __bytes__(self) -> bytes:
        return self.data

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {len(self.data)} bytes, {self.content_type!r})"


@dataclass
class Call:
    """One Bot API call made by the bot.

    ``params`` holds decoded values: numbers/booleans as Python values, nested objects
    (reply_markup, commands, scope, entities ...) as dicts/lists, files as :class:`UploadedFile`.
    ``status``/``response`` are filled in once the fake has answered (``status`` 0 until then).
    """

    method: str
    params: JSONDict
    status: int = 0
    response: JSONDict | None = None
    at: float = field(default_factory=time.monotonic, repr=False)
    via_webhook_reply: bool = False

    @property
    def ok(self) -> bool:
        """Whether the call was answered successfully."""
        return 200 <= self.status < 300

    @property
    def result(self) -> Any:
        """The ``result`` of a successful answer (``None`` otherwise)."""
        return (self.response or {}).get("result")


@dataclass
class SentMessage:
    """A message the bot sent (sendMessage/sendDocument/sendPhoto), tracking later edits.

    ``message`` is the latest wire version (after edits); ``history`` holds every version,
    the original first. ``params`` are the request parameters of the original send.
    """

    method: str
    chat_id: ChatKey
    message_id: int
    params: JSONDict
    message: JSONDict
    history: list[JSONDict] = field(default_factory=list)
    deleted: bool = False
    raw: JSONDict = field(default_factory=dict)

    @property
    def text(self) -> str | None:
        """Latest text (or caption for media), with formatting tags already parsed away."""
        text = self.message.get("text", self.message.get("caption"))
        return text if isinstance(text, str) else None

    @property
    def raw_text(self) -> str | None:
        """Latest text/caption exactly as the bot sent it (tags/markdown included)."""
        raw = self.raw.get("text", self.raw.get("caption"))
        return raw if isinstance(raw, str) else None

    @property
    def entities(self) -> list[JSONDict]:
        """Latest entities (of the text or the caption)."""
        ents = self.message.get("entities") or self.message.get("caption_entities") or []
        return list(ents)

    @property
    def parse_mode(self) -> str | None:
        """Parse mode used for the latest text/caption."""
        mode = self.raw.get("parse_mode")
        return mode if isinstance(mode, str) else None

    @property
    def edited(self) -> bool:
        """Whether the message was edited at least once."""
        return len(self.history) > 1

    @property
    def reply_markup(self) -> JSONDict | None:
        """Latest markup: the inline keyboard on the message, else the send-time markup.

        Telegram only echoes inline keyboards in Message objects; reply keyboards,
        ``remove_keyboard`` and ``force_reply`` are taken from the request.
        """
        markup = self.message.get("reply_markup")
        if markup is None:
            sent = self.params.get("reply_markup")
            if isinstance(sent, dict) and "inline_keyboard" not in sent:
                markup = sent
        return markup if isinstance(markup, dict) else None

    @property
    def buttons(self) -> list[JSONDict]:
        """All inline keyboard buttons, row by row."""
        markup = self.message.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]

    @property
    def button_texts(self) -> list[str]:
        """Texts of the inline buttons, or of the reply keyboard buttons if there is one."""
        if self.buttons:
            return [str(b.get("text")) for b in self.buttons]
        markup = self.reply_markup or {}
        return [
            str(b.get("text")) if isinstance(b, dict) else str(b)
            for row in markup.get("keyboard", [])
            for b in row
        ]

    @property
    def callback_data(self) -> list[str]:
        """``callback_data`` of every inline button that has one."""
        return [str(b["callback_data"]) for b in self.buttons if "callback_data" in b]


@dataclass(frozen=True)
class WebhookAttempt:
    """One attempt to POST an update to the webhook."""

    update_id: int
    url: str
    status: int | None
    error: str | None = None


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True)
class _Described:
    """A successful result that also carries Telegram's top-level ``description``."""

    result: Any
    description: str


class _Signal:
    """Wake-all notification without lost wake-ups (every fire() makes a fresh event)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float | None) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)


class FakeUser:
    """A Telegram user that can act on the fake server (returned by ``api.user()``)."""

    def __init__(
        self,
        api: FakeTelegramAPI,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
        is_bot: bool = False,
    ) -> None:
        self.api = api
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.is_bot = is_bot

    def to_dict(self) -> JSONDict:
        """The wire ``User`` object."""
        data: JSONDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def private_chat(self) -> JSONDict:
        """The wire ``Chat`` object of the private chat with the bot."""
        chat: JSONDict = {"id": self.id, "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        chat["type"] = "private"
        return chat

    def send_text(self, text: str, **kwargs: Any) -> JSONDict:
        """See :meth:`FakeTelegramAPI.send_text`."""
        return self.api.send_text(self.id, text, **kwargs)

    def press_button(self, message_id: int, callback_data: str, **kwargs: Any) -> JSONDict:
        """See :meth:`FakeTelegramAPI.press_button`."""
        return self.api.press_button(self.id, message_id, callback_data, **kwargs)

    def press_button_text(self, button_text: str, **kwargs: Any) -> JSONDict:
        """See :meth:`FakeTelegramAPI.press_button_text`."""
        return self.api.press_button_text(self.id, button_text, **kwargs)

    def send_contact(self, phone_number: str, **kwargs: Any) -> JSONDict:
        """See :meth:`FakeTelegramAPI.send_contact`."""
        return self.api.send_contact(self.id, phone_number, **kwargs)

    def send_location(self, latitude: float, longitude: float, **kwargs: Any) -> JSONDict:
        """See :meth:`FakeTelegramAPI.send_location`."""
        return self.api.send_location(self.id, latitude, longitude, **kwargs)

    def send_sticker(self, **kwargs: Any) -> JSONDict:
        """See :meth:`FakeTelegramAPI.send_sticker`."""
        return self.api.send_sticker(self.id, **kwargs)

    def send_photo(self, **kwargs: Any) -> JSONDict:
        """See :meth:`FakeTelegramAPI.send_photo_from_user`."""
        return self.api.send_photo_from_user(self.id, **kwargs)

    def send_document(
        self, filename: str, content: bytes, mime_type: str | None = None, **kwargs: Any
    ) -> JSONDict:
        """See :meth:`FakeTelegramAPI.send_document`."""
        return self.api.send_document(self.id, filename, content, mime_type, **kwargs)

    def edit_text(self, message_id: int, text: str, **kwargs: Any) -> JSONDict:
        """See :meth:`FakeTelegramAPI.send_edited_text`."""
        return self.api.send_edited_text(self.id, message_id, text, **kwargs)


# --------------------------------------------------------------------------------------------
# Formatted text (HTML / MarkdownV2 / Markdown), following tdlib's parsers and error messages.


class _EntityParseError(ValueError):
    pass


def _u16(text: str) -> int:
    """Length in UTF-16 code units (Telegram's unit for entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _checked_link(url: str) -> str:
    """Roughly tdlib's ``get_checked_link``: empty string if the link is unusable."""
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return ""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", url)
    if match:
        scheme = match.group(1).lower()
        return url if scheme in {"http", "https", "tg", "ton", "ftp"} else ""
    return f"http://{url}"


_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_HTML_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_HTML_ENTITY_RE = re.compile(r"&(#x[0-9A-Fa-f]*|#[0-9]*|[A-Za-z]*)(;?)")
_NAMED_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_html_entity(text: str, pos: int, *, strict: bool) -> tuple[str | None, int]:
    """Decode ``&...;`` at ``pos``; ``(None, pos)`` if it is not a supported entity."""
    match = _HTML_ENTITY_RE.match(text, pos)
    if match is None:
        return None, pos
    body, semicolon = match.group(1), match.group(2)
    if strict and not semicolon:
        return None, pos
    if body.startswith("#"):
        digits = body[2:] if body.startswith("#x") else body[1:]
        if not digits or len(body) + 1 >= 10:
            return None, pos
        code = int(digits, 16 if body.startswith("#x") else 10)
        if code == 0 or code >= 0x10FFFF:
            return None, pos
        if 0xD800 <= code <= 0xDFFF:
            raise _EntityParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        return chr(code), match.end()
    decoded = _NAMED_HTML_ENTITIES.get(body)
    if decoded is None:
        return None, pos
    return decoded, match.end()


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int
    out_index: int
    expandable: bool = False


def _parse_html(text: str, *, strict: bool) -> tuple[str, list[JSONDict]]:
    """Parse Telegram HTML into ``(plain_text, entities)``.

    ``strict`` additionally rejects a bare ``&`` that does not start ``&lt;``/``&gt;``/
    ``&amp;``/``&quot;``/``&#NN;`` (real Telegram keeps it as text; a bare ``&`` is nearly
    always an escaping bug in the bot, so tests should catch it).
    """
    out: list[str] = []
    entities: list[JSONDict] = []
    stack: list[_OpenTag] = []
    offset = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "&":
            decoded, end = _decode_html_entity(text, i, strict=strict)
            if decoded is not None:
                out.append(decoded)
                offset += _u16(decoded)
                i = end
                continue
            if strict:
                raise _EntityParseError(
                    f'Unescaped "&" at byte offset {_byte_offset(text, i)}: '
                    "use &amp; (the fake API is stricter than Telegram here)"
                )
        if ch != "<":
            out.append(ch)
            offset += _u16(ch)
            i += 1
            continue
        begin = i
        begin_bytes = _byte_offset(text, begin)
        i += 1
        if i < n and text[i] == "/":
            i = _close_html_tag(text, i, begin_bytes, stack, entities, out, offset)
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise _EntityParseError(f"Unclosed start tag at byte offset {begin_bytes}")
        tag = text[i:j].lower()
        if tag not in _HTML_TAGS:
            raise _EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin_bytes}')
        open_tag = _OpenTag(tag, "", offset, len(out))
        i = _parse_html_attributes(text, j, begin_bytes, open_tag)
        if tag == "span" and open_tag.argument != "spoiler":
            raise _EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {begin_bytes}'
            )
        stack.append(open_tag)
    if stack:
        raise _EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"'
        )
    for entity in entities:
        entity.pop("_language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _parse_html_attributes(text: str, i: int, begin_bytes: int, tag: _OpenTag) -> int:
    """Parse attributes from ``i`` up to ``>``; returns the index after ``>``."""
    n = len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise _EntityParseError(f"Unclosed start tag at byte offset {begin_bytes}")
        if text[i] == ">":
            return i + 1
        name_begin = i
        while i < n and not text[i].isspace() and text[i] not in "=>":
            i += 1
        name = text[name_begin:i].lower()
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != "=":
            if tag.name == "blockquote" and name == "expandable":
                tag.expandable = True
                continue
            raise _EntityParseError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag.name}" at byte offset {begin_bytes}'
            )
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise _EntityParseError(f'Unclosed start tag "{tag.name}" at byte offset {begin_bytes}')
        if text[i] in "'\"":
            quote = text[i]
            i += 1
            value_chars: list[str] = []
            while i < n and text[i] != quote:
                if text[i] == "&":
                    decoded, end = _decode_html_entity(text, i, strict=False)
                    if decoded is not None:
                        value_chars.append(decoded)
                        i = end
                        continue
                value_chars.append(text[i])
                i += 1
            if i >= n:
                raise _EntityParseError(f"Unclosed start tag at byte offset {begin_bytes}")
            i += 1
            value = "".join(value_chars)
        else:
            token_begin = i
            while i < n and (text[i].isalnum() or text[i] in ".-"):
                i += 1
            value = text[token_begin:i].lower()
            if i < n and not text[i].isspace() and text[i] != ">":
                raise _EntityParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, token_begin)}"
                )
        if tag.name == "a" and name == "href":
            tag.argument = value
        elif tag.name == "code" and name == "class" and value.startswith("language-"):
            tag.argument = value[len("language-") :]
        elif tag.name == "span" and name == "class" and value.startswith("tg-"):
            tag.argument = value[len("tg-") :]
        elif tag.name == "tg-emoji" and name == "emoji-id":
            tag.argument = value


def _close_html_tag(
    text: str,
    i: int,
    begin_bytes: int,
    stack: list[_OpenTag],
    entities: list[JSONDict],
    out: list[str],
    offset: int,
) -> int:
    """Handle ``</tag>`` whose ``/`` is at ``i``; returns the index after ``>``."""
    n = len(text)
    if not stack:
        raise _EntityParseError(f"Unexpected end tag at byte offset {begin_bytes}")
    j = i + 1
    while j < n and not text[j].isspace() and text[j] != ">":
        j += 1
    end_name = text[i + 1 : j].lower()
    while j < n and text[j].isspace():
        j += 1
    if j >= n or text[j] != ">":
        raise _EntityParseError(f"Unclosed end tag at byte offset {begin_bytes}")
    tag = stack.pop()
    if end_name and end_name != tag.name:
        raise _EntityParseError(
            f'Unmatched end tag at byte offset {begin_bytes}, expected "</{tag.name}>", '
            f'found "</{end_name}>"'
        )
    length = offset - tag.offset
    if length > 0:
        entity = _html_entity(tag, length, out, entities)
        if entity is not None:
            entities.append(entity)
    return j + 1


def _html_entity(
    tag: _OpenTag, length: int, out: list[str], entities: list[JSONDict]
) -> JSONDict | None:
    base: JSONDict = {"offset": tag.offset, "length": length}
    if tag.name in _HTML_SIMPLE_TAGS:
        return {"type": _HTML_SIMPLE_TAGS[tag.name], **base}
    if tag.name == "blockquote":
        return {"type": "expandable_blockquote" if tag.expandable else "blockquote", **base}
    if tag.name == "tg-emoji":
        if not tag.argument.isdigit() or int(tag.argument) == 0:
            raise _EntityParseError("Invalid custom emoji identifier specified")
        return {"type": "custom_emoji", **base, "custom_emoji_id": tag.argument}
    if tag.name == "a":
        url = _checked_link(tag.argument or "".join(out[tag.out_index :]))
        return {"type": "text_link", **base, "url": url} if url else None
    last = entities[-1] if entities else None
    same_span = last is not None and (last["offset"], last["length"]) == (tag.offset, length)
    if tag.name == "pre":
        if last is not None and same_span and last["type"] == "code" and last.get("_language"):
            entities.pop()
            return {"type": "pre", **base, "language": last["_language"]}
        return {"type": "pre", **base}
    # code
    if last is not None and same_span and last["type"] == "pre" and tag.argument:
        last["language"] = tag.argument
        return None
    entity = {"type": "code", **base}
    if tag.argument:
        entity["_language"] = tag.argument
    return entity


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!\n"
_MDV2_TYPE_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
    "blockquote": "BlockQuote",
}


@dataclass
class _MdEntity:
    type: str
    argument: str
    offset: int
    byte_offset: int
    out_index: int


def _reserved_error(ch: str) -> _EntityParseError:
    return _EntityParseError(
        f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
    )


def _read_md_url(text: str, i: int) -> tuple[str, int]:
    """Read a ``(url)`` whose ``(`` is at ``i``; returns ``(url, index of ")")``."""
    n = len(text)
    i += 1
    begin = i
    chars: list[str] = []
    while i < n and text[i] != ")":
        if text[i] == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            chars.append(text[i + 1])
            i += 2
            continue
        chars.append(text[i])
        i += 1
    if i >= n:
        raise _EntityParseError(
            f"Can't find end of a URL at byte offset {_byte_offset(text, begin)}"
        )
    return "".join(chars), i


def _parse_markdown_v2(text: str) -> tuple[str, list[JSONDict]]:
    """Parse MarkdownV2 into ``(plain_text, entities)`` (tdlib semantics and messages)."""
    out: list[str] = []
    entities: list[JSONDict] = []
    stack: list[_MdEntity] = []
    offset = 0
    have_blockquote = False
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else ""

    i = 0
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.append(text[i + 1])
            offset += 1
            i += 2
            continue
        reserved = "`" if stack and stack[-1].type in {"code", "pre"} else _MDV2_RESERVED
        if ch not in reserved:
            out.append(ch)
            offset += _u16(ch)
            i += 1
            continue
        top = stack[-1].type if stack else None
        if top is None:
            is_end = False
        elif have_blockquote and ch == "\n" and at(i + 1) != ">":
            is_end = True
        else:
            is_end = {
                "bold": ch == "*",
                "italic": ch == "_" and at(i + 1) != "_",
                "code": ch == "`",
                "pre": ch == "`" and at(i + 1) == "`" and at(i + 2) == "`",
                "text_link": ch == "]",
                "underline": ch == "_" and at(i + 1) == "_",
                "strikethrough": ch == "~",
                "spoiler": ch == "|" and at(i + 1) == "|",
                "custom_emoji": ch == "]",
            }.get(top, False)
        if not is_end:
            start = i
            kind, argument = "", ""
            if ch == "_":
                kind = "underline" if at(i + 1) == "_" else "italic"
                i += 1 if kind == "underline" else 0
            elif ch == "*":
                kind = "bold"
            elif ch == "~":
                kind = "strikethrough"
            elif ch == "|":
                if at(i + 1) != "|":
                    raise _reserved_error(ch)
                kind = "spoiler"
                i += 1
            elif ch == "[":
                kind = "text_link"
            elif ch == "`":
                if at(i + 1) == "`" and at(i + 2) == "`":
                    kind = "pre"
                    i += 3
                    lang_end = i
                    while lang_end < n and not text[lang_end].isspace() and text[lang_end] != "`":
                        lang_end += 1
                    if i != lang_end and lang_end < n and text[lang_end] != "`":
                        argument = text[i:lang_end]
                        i = lang_end
                    if at(i) in ("\n", "\r"):
                        i += 2 if at(i + 1) in ("\n", "\r") and at(i) != at(i + 1) else 1
                    i -= 1
                else:
                    kind = "code"
            elif ch == "!":
                if at(i + 1) != "[":
                    raise _reserved_error(ch)
                kind = "custom_emoji"
                i += 1
            elif ch == "\n":
                out.append("\n")
                offset += 1
                if at(i + 1) == ">":
                    i += 1
                    if not have_blockquote:
                        kind = "blockquote"
                        have_blockquote = True
            elif ch == ">" and i == 0:
                kind = "blockquote"
                have_blockquote = True
            else:
                raise _reserved_error(ch)
            if kind:
                stack.append(_MdEntity(kind, argument, offset, _byte_offset(text, start), len(out)))
            i += 1
            continue

        entity = stack[-1]
        if ch == "\n" and entity.type != "blockquote":
            raise _EntityParseError(
                f"Can't find end of {_MDV2_TYPE_NAMES[entity.type]} entity at byte offset "
                f"{entity.byte_offset}"
            )
        argument = entity.argument
        skip = offset == entity.offset
        if entity.type in {"underline", "spoiler"}:
            i += 1
        elif entity.type == "pre":
            i += 2
        elif entity.type == "text_link":
            if at(i + 1) != "(":
                url = "".join(out[entity.out_index :])
            else:
                url, i = _read_md_url(text, i + 1)
            argument = _checked_link(url)
            skip = skip or not argument
        elif entity.type == "custom_emoji":
            if at(i + 1) != "(":
                raise _EntityParseError("Custom emoji entity must contain a tg://emoji URL")
            url, i = _read_md_url(text, i + 1)
            match = re.fullmatch(r"tg://emoji\?id=([0-9]+)", url)
            if match is None:
                raise _EntityParseError("Invalid custom emoji identifier specified")
            argument = match.group(1)
        elif entity.type == "blockquote":
            have_blockquote = False
            out.append(ch)
            offset += 1
        if not skip:
            entities.append(_md_entity_json(entity.type, entity.offset, offset, argument))
        stack.pop()
        i += 1

    if have_blockquote and stack and stack[-1].type == "blockquote":
        entity = stack.pop()
        if offset != entity.offset:
            entities.append(_md_entity_json("blockquote", entity.offset, offset, ""))
    if stack:
        raise _EntityParseError(
            f"Can't find end of {_MDV2_TYPE_NAMES[stack[-1].type]} entity at byte offset "
            f"{stack[-1].byte_offset}"
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _md_entity_json(kind: str, start: int, end: int, argument: str) -> JSONDict:
    entity: JSONDict = {"type": kind, "offset": start, "length": end - start}
    if kind == "text_link":
        entity["url"] = argument
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = argument
    elif kind == "pre" and argument:
        entity["language"] = argument
    return entity


def _parse_markdown_legacy(text: str) -> tuple[str, list[JSONDict]]:
    """Parse legacy Markdown (``parse_mode="Markdown"``) like tdlib does."""
    out: list[str] = []
    entities: list[JSONDict] = []
    offset = 0
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else ""

    i = 0
    while i < n:
        ch = text[i]
        if ch == "\\" and at(i + 1) in ("_", "*", "`", "["):
            out.append(text[i + 1])
            offset += 1
            i += 2
            continue
        if ch not in "_*`[":
            out.append(ch)
            offset += _u16(ch)
            i += 1
            continue
        begin = i
        end_char = "]" if ch == "[" else ch
        is_pre = False
        language = ""
        i += 1
        if ch == "`" and at(i) == "`" and at(i + 1) == "`":
            i += 2
            is_pre = True
            lang_end = i
            while lang_end < n and not text[lang_end].isspace() and text[lang_end] != "`":
                lang_end += 1
            if i != lang_end and lang_end < n and text[lang_end] != "`":
                language = text[i:lang_end]
                i = lang_end
            if at(i) in ("\n", "\r"):
                i += 2 if at(i + 1) in ("\n", "\r") and at(i) != at(i + 1) else 1
        start_offset = offset
        while i < n and (
            text[i] != end_char or (is_pre and not (at(i + 1) == "`" and at(i + 2) == "`"))
        ):
            out.append(text[i])
            offset += _u16(text[i])
            i += 1
        if i >= n:
            raise _EntityParseError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )
        if offset != start_offset:
            base: JSONDict = {"offset": start_offset, "length": offset - start_offset}
            if ch == "_":
                entities.append({"type": "italic", **base})
            elif ch == "*":
                entities.append({"type": "bold", **base})
            elif ch == "[":
                if at(i + 1) != "(":
                    url = text[begin + 1 : i]
                else:
                    i += 2
                    url_begin = i
                    while i < n and text[i] != ")":
                        i += 1
                    url = text[url_begin:i]
                url = _checked_link(url)
                if url:
                    entities.append({"type": "text_link", **base, "url": url})
            elif is_pre:
                entities.append(
                    {"type": "pre", **base, **({"language": language} if language else {})}
                )
            else:
                entities.append({"type": "code", **base})
        if is_pre:
            i += 2
        i += 1
    return "".join(out), entities


def parse_formatted_text(
    text: str, parse_mode: str | None, *, strict_html: bool = True
) -> tuple[str, list[JSONDict]]:
    """Turn ``text`` + ``parse_mode`` into Telegram's ``(text, entities)``.

    Raises :class:`TelegramApiError` (400 "can't parse entities: ...") like Telegram.
    """
    mode = (parse_mode or "").lower()
    try:
        if mode == "":
            return text, []
        if mode == "html":
            return _parse_html(text, strict=strict_html)
        if mode == "markdownv2":
            return _parse_markdown_v2(text)
        if mode == "markdown":
            return _parse_markdown_legacy(text)
    except _EntityParseError as exc:
        raise _bad_request(f"can't parse entities: {exc}") from None
    raise _bad_request("unsupported parse_mode")


# --------------------------------------------------------------------------------------------
# Request decoding


def _decode_form_value(name: str, value: str) -> Any:
    """Decode one form field the way Telegram does: JSON for non-string parameters."""
    if name in _STRING_PARAMS:
        return value
    if value in ("true", "false", "null") or value[:1] in ("{", "[", "-", *"0123456789"):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _resolve_attachments(value: Any, files: dict[str, UploadedFile], used: set[str]) -> Any:
    """Replace ``attach://name`` strings (possibly nested) by the uploaded file."""
    if isinstance(value, str) and value.startswith("attach://"):
        name = value[len("attach://") :]
        if name in files:
            used.add(name)
            return files[name]
        raise _bad_request(f"file attach://{name} not found")
    if isinstance(value, list):
        return [_resolve_attachments(v, files, used) for v in value]
    if isinstance(value, dict):
        return {k: _resolve_attachments(v, files, used) for k, v in value.items()}
    return value


def _is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _chat_key(value: Any) -> ChatKey:
    if isinstance(value, bool):
        raise _bad_request("chat not found")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value)
    if isinstance(value, str) and value.startswith("@"):
        return value
    raise _bad_request("chat not found")


def _update_type(update: Mapping[str, Any]) -> str | None:
    return next((key for key in update if key != "update_id"), None)


# --------------------------------------------------------------------------------------------
# The server

_Handler = Callable[[JSONDict], Awaitable[Any]]


class FakeTelegramAPI:
    """In-process fake of the Telegram Bot API on ``127.0.0.1`` (see module docstring)."""

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        bot_username: str = "hienmau_test_bot",
        bot_first_name: str = "Hiến Máu Bot",
        strict_html: bool = True,
        webhook_retries: int = 4,
        webhook_retry_delay: float = 0.05,
        webhook_timeout: float = 5.0,
    ) -> None:
        bot_id, sep, secret = token.partition(":")
        if not (sep and bot_id.isdigit() and secret):
            raise ValueError("token must look like '<digits>:<secret>'")
        self.token = token
        self.bot_id = int(bot_id)
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.strict_html = strict_html
        self.webhook_retries = webhook_retries
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout

        self.calls: list[Call] = []
        self.callback_answers: dict[str, JSONDict] = {}
        self.webhook_attempts: list[WebhookAttempt] = []

        self._updates: list[JSONDict] = []
        self._last_update_id = 100_000_000
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._users: dict[int, FakeUser] = {}
        self._chats: dict[ChatKey, JSONDict] = {}
        self._messages: dict[tuple[ChatKey, int], JSONDict] = {}
        self._last_message_id: dict[ChatKey, int] = {}
        self._sent: list[SentMessage] = []
        self._sent_index: dict[tuple[ChatKey, int], SentMessage] = {}
        self._callback_queries: dict[str, JSONDict] = {}
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._blocked: dict[ChatKey, str] = {}
        self._failures: dict[str, list[TelegramApiError]] = {}
        self._delays: dict[str, float] = {}
        self._webhook: JSONDict | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._ids = itertools.count(1)

        self._changed = _Signal()
        self._updates_signal = _Signal()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._port: int | None = None

        handlers: dict[str, _Handler] = {
            "getMe": self._get_me,
            "logOut": self._return_true,
            "close": self._return_true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "setMyDescription": self._return_true,
            "setMyShortDescription": self._return_true,
            "setMyName": self._return_true,
            "setChatMenuButton": self._return_true,
        }
        self._handlers = {name.lower(): (name, fn) for name, fn in handlers.items()}

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeTelegramAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the HTTP server on a free loopback port."""
        if self._runner is not None:
            raise RuntimeError("FakeTelegramAPI already started")
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle_http)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._session = aiohttp.ClientSession()
        self._webhook_task = asyncio.create_task(self._webhook_loop(), name="fake-tg-webhook")

    async def stop(self) -> None:
        """Wake long polls, stop webhook delivery and shut the server down."""
        self._closing.set()
        self._updates_signal.fire()
        self._changed.fire()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._port is None:
            raise RuntimeError("FakeTelegramAPI is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """Value for ``Bot(base_url=...)`` / ``ApplicationBuilder().base_url(...)``."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``Bot(base_file_url=...)`` / ``ApplicationBuilder().base_file_url(...)``."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def bot_user(self) -> JSONDict:
        """The bot's wire ``User`` object (``from`` of its messages)."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ---------------------------------------------------------------- HTTP layer

    async def _handle_http(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["tail"]
        if path.startswith("file/bot"):
            return self._serve_file(path[len("file/bot") :])
        token, slash, method = path.removeprefix("bot").partition("/")
        if not path.startswith("bot") or not slash or not method:
            return _json_response(TelegramApiError(404, "Not Found").to_json(), 404)
        if token != self.token:
            return _json_response(TelegramApiError(401, "Unauthorized").to_json(), 401)
        try:
            params = await self._read_params(request)
        except TelegramApiError as err:
            return _json_response(err.to_json(), err.status)
        status, body, disconnect = await self._dispatch(method, params)
        if disconnect and request.transport is not None:
            request.transport.abort()
        return _json_response(body, status)

    async def _read_params(self, request: web.Request) -> JSONDict:
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        typed = False
        if request.body_exists:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _bad_request("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise _bad_request("JSON object expected")
                raw.update(body)
                typed = True
            elif request.content_type in (
                "multipart/form-data",
                "application/x-www-form-urlencoded",
            ):
                form = await request.post()
                for name, value in form.items():
                    if isinstance(value, web.FileField):
                        files[name] = UploadedFile(
                            field_name=name,
                            filename=value.filename,
                            data=value.file.read(),
                            content_type=value.content_type,
                        )
                    else:
                        raw[name] = value
        params: JSONDict = {}
        for name, value in raw.items():
            if isinstance(value, str) and (
                not typed or (value[:1] in ("{", "[") and name not in _STRING_PARAMS)
            ):
                params[name] = _decode_form_value(name, value)
            else:
                params[name] = value
        used: set[str] = set()
        params = {k: _resolve_attachments(v, files, used) for k, v in params.items()}
        for name, uploaded in files.items():
            if name not in used:
                params[name] = uploaded
        return params

    async def _dispatch(
        self, method: str, params: JSONDict, *, via_webhook_reply: bool = False
    ) -> tuple[int, JSONDict, bool]:
        """Record and execute one call; returns ``(status, body, disconnect)``."""
        entry = self._handlers.get(method.lower())
        call = Call(entry[0] if entry else method, params, via_webhook_reply=via_webhook_reply)
        self.calls.append(call)
        self._changed.fire()
        disconnect = False
        try:
            if entry is None:
                raise TelegramApiError(404, "Not Found")
            name, handler = entry
            await self._apply_delay(name)
            self._raise_injected_failure(name)
            self._raise_if_blocked(name, params)
            result = await handler(params)
            body: JSONDict = {"ok": True, "result": result}
            if isinstance(result, _Described):
                body = {"ok": True, "result": result.result, "description": result.description}
            status = 200
        except TelegramApiError as err:
            status, body, disconnect = err.status, err.to_json(), err.disconnect
        call.status, call.response = status, body
        self._changed.fire()
        return status, body, disconnect

    def _serve_file(self, rest: str) -> web.StreamResponse:
        token, _, file_path = rest.partition("/")
        if token != self.token:
            return _json_response(TelegramApiError(401, "Unauthorized").to_json(), 401)
        stored = self._files_by_path.get(file_path)
        if stored is None:
            return _json_response(TelegramApiError(404, "Not Found").to_json(), 404)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _apply_delay(self, method: str) -> None:
        seconds = self._delays.get(method.lower(), 0.0)
        if seconds > 0:
            await self._sleep(seconds)

    def _raise_injected_failure(self, method: str) -> None:
        queue = self._failures.get(method.lower())
        if queue:
            raise queue.pop(0)

    def _raise_if_blocked(self, method: str, params: JSONDict) -> None:
        if not method.startswith(_BLOCKABLE_PREFIXES) or "chat_id" not in params:
            return
        try:
            key = _chat_key(params["chat_id"])
        except TelegramApiError:
            return  # the handler reports the bad chat_id
        if key in self._blocked:
            raise TelegramApiError(403, self._blocked[key])

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but return early when the server shuts down."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    # ---------------------------------------------------------------- fault injection

    def block_user(self, chat_id: ChatKey, description: str | None = None) -> None:
        """Make send*/edit* calls to ``chat_id`` fail with 403 like a blocked/kicked bot."""
        key = _chat_key(chat_id)
        if description is None:
            chat_type = self._chat_for(key).get("type") if isinstance(key, int) else "channel"
            description = {
                "private": "Forbidden: bot was blocked by the user",
                "group": "Forbidden: bot was kicked from the group chat",
                "supergroup": "Forbidden: bot was kicked from the supergroup chat",
            }.get(str(chat_type), "Forbidden: bot is not a member of the channel chat")
        self._blocked[key] = description

    def unblock_user(self, chat_id: ChatKey) -> None:
        """Undo :meth:`block_user`."""
        self._blocked.pop(_chat_key(chat_id), None)

    def fail_next(
        self,
        method: str,
        count: int = 1,
        status: int = 429,
        retry_after: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail.

        429 carries ``parameters.retry_after``; 400/403/409 get Telegram's description prefix;
        other codes (5xx) use ``description`` or the HTTP phrase. ``status=0`` drops the
        connection without an answer (the client sees a network error).
        """
        if status == 429:
            err = TelegramApiError(
                429,
                description or f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        elif status == 0:
            err = TelegramApiError(502, "connection dropped", disconnect=True)
        else:
            prefix = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 409: "Conflict"}
            if status in prefix:
                text = description or "fake failure"
                if not text.startswith(prefix[status]):
                    text = f"{prefix[status]}: {text}"
            else:
                try:
                    text = description or HTTPStatus(status).phrase
                except ValueError:
                    text = description or "Error"
            err = TelegramApiError(status, text)
        self._failures.setdefault(method.lower(), []).extend(err for _ in range(count))

    def delay(self, method: str, seconds: float) -> None:
        """Answer every later call of ``method`` after ``seconds`` (0 removes the delay)."""
        if seconds > 0:
            self._delays[method.lower()] = seconds
        else:
            self._delays.pop(method.lower(), None)

    def clear_faults(self) -> None:
        """Remove all blocks, pending failures and delays."""
        self._blocked.clear()
        self._failures.clear()
        self._delays.clear()

    # ---------------------------------------------------------------- inspection

    def sent(self, chat_id: ChatKey | None = None) -> list[SentMessage]:
        """Messages the bot sent (optionally to one chat), in send order, latest versions."""
        if chat_id is None:
            return list(self._sent)
        key = _chat_key(chat_id)
        return [m for m in self._sent if m.chat_id == key]

    def last_sent(self, chat_id: ChatKey | None = None) -> SentMessage:
        """The most recent message the bot sent (to ``chat_id``); LookupError if none."""
        sent = self.sent(chat_id)
        if not sent:
            raise LookupError(f"the bot sent nothing to {chat_id!r}")
        return sent[-1]

    def texts(self, chat_id: ChatKey | None = None) -> list[str]:
        """Latest text/caption of each message the bot sent (messages without one skipped)."""
        return [m.text for m in self.sent(chat_id) if m.text is not None]

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of one method (case-insensitive)."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def message(self, chat_id: ChatKey, message_id: int) -> JSONDict | None:
        """Latest wire version of any known message (user's or bot's)."""
        return self._messages.get((_chat_key(chat_id), message_id))

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """Commands set via setMyCommands for exactly this scope and language."""
        return list(self._commands.get((_scope_key(scope), language_code), []))

    @property
    def webhook(self) -> JSONDict | None:
        """Current webhook settings (``url``, ``secret_token`` ...) or None in polling mode."""
        return dict(self._webhook) if self._webhook else None

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed (getUpdates) or delivered (webhook)."""
        return list(self._updates)

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Wait until ``predicate()`` returns something truthy and return it.

        Re-evaluated on every API call/answer and at least every 50 ms, so predicates on
        external state (e.g. the bot's database) work too. Raises TimeoutError.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"condition not met within {timeout}s; last calls: {self._recent_calls()}"
                )
            await self._changed.wait(min(remaining, 0.05))

    async def wait_for_messages(
        self,
        chat_id: ChatKey,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """Wait until the bot has sent at least ``count`` messages (in total) to ``chat_id``."""
        if count <= 0:
            return self.sent(chat_id)

        def enough() -> list[SentMessage] | None:
            sent = self.sent(chat_id)
            return sent if len(sent) >= count else None

        return await self.wait_for(enough, timeout)

    async def wait_for_call(
        self,
        method: str,
        where: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        since: int = 0,
    ) -> Call:
        """Wait for an answered call of ``method`` (matching ``where``) at index >= ``since``."""

        def find() -> Call | None:
            for call in self.calls[since:]:
                matches = call.method.lower() == method.lower() and call.status
                if matches and (where is None or where(call)):
                    return call
            return None

        return await self.wait_for(find, timeout)

    def _recent_calls(self) -> str:
        recent = [f"{c.method}->{c.status}" for c in self.calls[-8:]]
        return ", ".join(recent) or "none"

    # ---------------------------------------------------------------- users, chats, injection

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = "vi",
        username: str | None = None,
    ) -> FakeUser:
        """Register (or update) a user profile and return a helper acting as that user.

        ``api.user(42)`` alone returns the already registered profile unchanged.
        """
        existing = self._users.get(user_id)
        only_id = first_name is None and last_name is None and username is None
        if existing is not None and only_id and language_code == "vi":
            return existing
        user = FakeUser(
            self,
            user_id,
            first_name or f"User{user_id}",
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self._users[user_id] = user
        return user

    def register_chat(
        self,
        chat_id: int,
        chat_type: str = "supergroup",
        *,
        title: str | None = None,
        username: str | None = None,
    ) -> JSONDict:
        """Register a group/supergroup/channel (negative ``chat_id``) and return its Chat."""
        if chat_type not in {"group", "supergroup", "channel"}:
            raise ValueError("chat_type must be group, supergroup or channel")
        if chat_id >= 0:
            raise ValueError("group and channel chat ids are negative")
        chat: JSONDict = {"id": chat_id, "title": title or f"Test {chat_type} {chat_id}"}
        if username:
            chat["username"] = username
        chat["type"] = chat_type
        self._chats[chat_id] = chat
        return chat

    def inject_update(self, update: JSONDict) -> JSONDict:
        """Queue a raw update (``update_id`` assigned if missing) and return it."""
        update = dict(update)
        if "update_id" in update:
            self._last_update_id = max(self._last_update_id, int(update["update_id"]))
        else:
            self._last_update_id += 1
            update = {"update_id": self._last_update_id, **update}
        self._updates.append(update)
        self._updates_signal.fire()
        self._changed.fire()
        return update

    def send_text(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        chat_type: str | None = None,
        *,
        reply_to_message_id: int | None = None,
        entities: list[JSONDict] | None = None,
    ) -> JSONDict:
        """Inject a text message from a user; ``/commands`` get ``bot_command`` entities."""
        content: JSONDict = {"text": text}
        found = entities if entities is not None else _bot_command_entities(text)
        if found:
            content["entities"] = found
        msg = self._user_message(user_id, chat_id, chat_type, content, reply_to_message_id)
        return self.inject_update({"message": msg})

    def press_button(
        self,
        user_id: int,
        message_id: int,
        callback_data: str,
        chat_id: int | None = None,
        *,
        strict: bool = True,
    ) -> JSONDict:
        """Inject a callback_query for an inline button of a bot message.

        With ``strict`` the message must exist and carry a button with that callback_data;
        pass ``strict=False`` to simulate stale/forged buttons.
        """
        chat_key: ChatKey = chat_id if chat_id is not None else user_id
        message = self._messages.get((chat_key, message_id))
        if strict:
            if message is None:
                raise LookupError(f"no message {message_id} in chat {chat_key}")
            available = [
                b.get("callback_data")
                for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
                for b in row
            ]
            if callback_data not in available:
                raise LookupError(
                    f"message {message_id} has no button with callback_data {callback_data!r}; "
                    f"available: {available}"
                )
        if message is None:
            message = {"chat": self._chat_for(chat_key), "message_id": message_id, "date": 0}
        query_id = str(6_000_000_000_000_000_000 + next(self._ids))
        query: JSONDict = {
            "id": query_id,
            "from": self._user_obj(user_id).to_dict(),
            "message": message,
            "chat_instance": str(abs(hash((self.bot_id, chat_key))) % 10**19),
            "data": callback_data,
        }
        self._callback_queries[query_id] = query
        return self.inject_update({"callback_query": query})

    def press_button_text(
        self,
        user_id: int,
        button_text: str,
        chat_id: int | None = None,
        *,
        message_id: int | None = None,
    ) -> JSONDict:
        """Press the inline button labelled ``button_text`` on the newest bot message having it."""
        chat_key: ChatKey = chat_id if chat_id is not None else user_id
        for sent in reversed(self.sent(chat_key)):
            if sent.deleted or (message_id is not None and sent.message_id != message_id):
                continue
            for button in sent.buttons:
                if button.get("text") == button_text and "callback_data" in button:
                    return self.press_button(
                        user_id, sent.message_id, str(button["callback_data"]), chat_id
                    )
        raise LookupError(f"no inline button {button_text!r} in chat {chat_key}")

    def send_contact(
        self,
        user_id: int,
        phone_number: str,
        contact_user_id: int | None = None,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        include_user_id: bool = True,
        chat_id: int | None = None,
    ) -> JSONDict:
        """Inject a shared contact (by default the user's own, as request_contact sends it)."""
        user = self._user_obj(user_id)
        contact: JSONDict = {
            "phone_number": phone_number,
            "first_name": first_name or user.first_name,
        }
        if last_name or (first_name is None and user.last_name):
            contact["last_name"] = last_name or user.last_name
        if include_user_id:
            contact["user_id"] = contact_user_id if contact_user_id is not None else user_id
        msg = self._user_message(user_id, chat_id, None, {"contact": contact})
        return self.inject_update({"message": msg})

    def send_location(
        self, user_id: int, latitude: float, longitude: float, *, chat_id: int | None = None
    ) -> JSONDict:
        """Inject a location message."""
        location = {"latitude": latitude, "longitude": longitude}
        msg = self._user_message(user_id, chat_id, None, {"location": location})
        return self.inject_update({"message": msg})

    def send_sticker(
        self, user_id: int, *, emoji: str = "👍", chat_id: int | None = None
    ) -> JSONDict:
        """Inject a sticker message."""
        n = next(self._ids)
        sticker = {
            "file_id": f"CAACAgIAAxkBAAE{n:010d}",
            "file_unique_id": f"AgADst{n:06d}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": 12345,
        }
        msg = self._user_message(user_id, chat_id, None, {"sticker": sticker})
        return self.inject_update({"message": msg})

    def send_photo_from_user(
        self,
        user_id: int,
        data: bytes = b"\xff\xd8\xff\xe0fake-jpeg",
        *,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> JSONDict:
        """Inject a photo message; the bytes are downloadable through getFile."""
        content: JSONDict = {"photo": self._photo_sizes(data)}
        if caption is not None:
            content["caption"] = caption
        msg = self._user_message(user_id, chat_id, None, content)
        return self.inject_update({"message": msg})

    def send_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        mime_type: str | None = None,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> JSONDict:
        """Inject a document (a file sent as a file); the bytes are downloadable through getFile.

        ``mime_type`` defaults to the guess from ``filename``, as Telegram clients do.
        """
        mime = mime_type or mimetypes.guess_type(filename)[0]
        stored = self._store_file(content, "documents", filename, mime)
        document: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
        }
        if mime:
            document["mime_type"] = mime
        document["file_size"] = len(content)
        message: JSONDict = {"document": document}
        if caption is not None:
            message["caption"] = caption
        msg = self._user_message(user_id, chat_id, None, message)
        return self.inject_update({"message": msg})

    def send_edited_text(
        self, user_id: int, message_id: int, text: str, chat_id: int | None = None
    ) -> JSONDict:
        """Inject an ``edited_message`` for a message the user sent earlier."""
        chat_key: ChatKey = chat_id if chat_id is not None else user_id
        old = self._messages.get((chat_key, message_id))
        if old is None:
            old = self._user_message(user_id, chat_id, None, {"text": text}, None, message_id)
        edited = {k: v for k, v in old.items() if k not in {"text", "entities"}}
        edited["text"] = text
        found = _bot_command_entities(text)
        if found:
            edited["entities"] = found
        edited["edit_date"] = int(time.time())
        self._messages[(chat_key, message_id)] = edited
        return self.inject_update({"edited_message": edited})

    def send_channel_post(
        self, chat_id: int, text: str, *, title: str | None = None, username: str | None = None
    ) -> JSONDict:
        """Inject a ``channel_post`` into a channel (registered on first use)."""
        chat = self._chats.get(chat_id)
        if chat is None or chat.get("type") != "channel":
            chat = self.register_chat(chat_id, "channel", title=title, username=username)
        msg: JSONDict = {
            "message_id": self._next_message_id(chat_id),
            "sender_chat": chat,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        self._messages[(chat_id, msg["message_id"])] = msg
        return self.inject_update({"channel_post": msg})

    def _user_obj(self, user_id: int) -> FakeUser:
        return self._users.get(user_id) or self.user(user_id)

    def _user_message(
        self,
        user_id: int,
        chat_id: int | None,
        chat_type: str | None,
        content: JSONDict,
        reply_to_message_id: int | None = None,
        message_id: int | None = None,
    ) -> JSONDict:
        user = self._user_obj(user_id)
        chat = self._chat_for_injection(user, chat_id, chat_type)
        key = chat["id"]
        msg: JSONDict = {
            "message_id": message_id or self._next_message_id(key),
            "from": user.to_dict(),
            "chat": chat,
            "date": int(time.time()),
        }
        if reply_to_message_id is not None:
            replied = self._messages.get((key, reply_to_message_id))
            if replied is not None:
                msg["reply_to_message"] = _without_reply(replied)
        msg.update(content)
        self._messages[(key, msg["message_id"])] = msg
        return msg

    def _chat_for_injection(
        self, user: FakeUser, chat_id: int | None, chat_type: str | None
    ) -> JSONDict:
        if chat_id is None or chat_id == user.id:
            if chat_type not in (None, "private"):
                raise ValueError(f"a {chat_type} chat needs a negative chat_id")
            return user.private_chat()
        if chat_id > 0:
            raise ValueError("private chat ids equal the user id; groups use negative ids")
        chat = self._chats.get(chat_id)
        if chat is None or (chat_type is not None and chat.get("type") != chat_type):
            inferred = "supergroup" if str(chat_id).startswith("-100") else "group"
            chat = self.register_chat(chat_id, chat_type or inferred)
        return chat

    def _chat_for(self, key: ChatKey) -> JSONDict:
        """The Chat object for a chat the bot addresses."""
        if isinstance(key, str):
            for chat in self._chats.values():
                if chat.get("username") and f"@{chat['username']}".lower() == key.lower():
                    return chat
            raise _bad_request("chat not found")
        if key in self._chats:
            return self._chats[key]
        if key > 0:
            return self._user_obj(key).private_chat()
        inferred = "supergroup" if str(key).startswith("-100") else "group"
        return {"id": key, "title": f"Test {inferred} {key}", "type": inferred}

    def _next_message_id(self, key: ChatKey) -> int:
        self._last_message_id[key] = self._last_message_id.get(key, 0) + 1
        return self._last_message_id[key]

    # ---------------------------------------------------------------- files

    def _store_file(
        self, data: bytes, kind: str, file_name: str | None, mime_type: str | None
    ) -> _StoredFile:
        n = next(self._ids)
        prefix = {"documents": "BQACAgIAAxkBAAI", "photos": "AgACAgIAAxkBAAI"}.get(kind, "AAA")
        ext = mimetypes.guess_extension(mime_type or "") or ""
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1]
        stored = _StoredFile(
            file_id=f"{prefix}{n:012d}",
            file_unique_id=f"AgAD{n:08d}",
            data=data,
            file_path=f"{kind}/file_{n}{ext}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _photo_sizes(self, data: bytes) -> list[JSONDict]:
        small = self._store_file(data, "photos", None, "image/jpeg")
        big = self._store_file(data, "photos", None, "image/jpeg")
        return [
            {
                "file_id": small.file_id,
                "file_unique_id": small.file_unique_id,
                "file_size": len(data),
                "width": 90,
                "height": 90,
            },
            {
                "file_id": big.file_id,
                "file_unique_id": big.file_unique_id,
                "file_size": len(data),
                "width": 800,
                "height": 800,
            },
        ]

    def _input_file(self, value: Any, kind: str) -> _StoredFile:
        """Resolve a document/photo parameter (upload, file_id or URL) to a stored file."""
        if isinstance(value, UploadedFile):
            if not value.data:
                raise _bad_request("file must be non-empty")
            mime = value.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(value.filename or "")[0] or mime
            return self._store_file(value.data, kind, value.filename, mime)
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            name = urlsplit(value).path.rsplit("/", 1)[-1] or None
            return self._store_file(b"", kind, name, mimetypes.guess_type(name or "")[0])
        if value is None:
            raise _bad_request(f"there is no {kind.rstrip('s')} in the request")
        raise _bad_request("wrong file identifier/HTTP URL specified")

    # ---------------------------------------------------------------- formatting helpers

    def _format(
        self, text: str, parse_mode: Any, explicit_entities: Any
    ) -> tuple[str, list[JSONDict]]:
        if isinstance(explicit_entities, list) and explicit_entities:
            return text, [dict(e) for e in explicit_entities]
        return parse_formatted_text(
            text, parse_mode if isinstance(parse_mode, str) else None, strict_html=self.strict_html
        )

    def _check_markup(self, markup: Any) -> JSONDict | None:
        """Validate reply_markup like Telegram; returns it (dict) or None."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad_request(
                    'field "inline_keyboard" of the InlineKeyboardMarkup '
                    "should be an Array of Arrays"
                )
            if sum(len(r) for r in rows) > MAX_INLINE_BUTTONS:
                raise _bad_request("reply markup is too long")
            for button in (b for row in rows for b in row):
                _check_inline_button(button)
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad_request(
                    'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
                )
        elif not ({"remove_keyboard", "force_reply"} & markup.keys()):
            raise _bad_request('can\'t find field "inline_keyboard"')
        return markup

    # ---------------------------------------------------------------- bot messages

    def _resolve_chat(self, params: JSONDict) -> JSONDict:
        if params.get("chat_id") in (None, ""):
            raise _bad_request("chat_id is empty")
        return self._chat_for(_chat_key(params["chat_id"]))

    def _new_bot_message(
        self, method: str, chat: JSONDict, params: JSONDict, content: JSONDict, raw: JSONDict
    ) -> JSONDict:
        key: ChatKey = chat["id"]
        markup = self._check_markup(params.get("reply_markup"))
        reply_to = _reply_to_id(params)
        replied = self._messages.get((key, reply_to)) if reply_to is not None else None
        if reply_to is not None and replied is None and not _allow_without_reply(params):
            raise _bad_request("message to be replied not found")
        msg: JSONDict = {"message_id": self._next_message_id(key)}
        if chat.get("type") == "channel":
            msg["sender_chat"] = chat
        else:
            msg["from"] = self.bot_user
        msg["chat"] = chat
        msg["date"] = int(time.time())
        if replied is not None:
            msg["reply_to_message"] = _without_reply(replied)
        msg.update(content)
        if markup is not None and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        self._messages[(key, msg["message_id"])] = msg
        record = SentMessage(
            method=method,
            chat_id=key,
            message_id=msg["message_id"],
            params=params,
            message=msg,
            history=[msg],
            raw=raw,
        )
        self._sent.append(record)
        self._sent_index[(key, msg["message_id"])] = record
        return msg

    def _text_content(self, params: JSONDict) -> tuple[JSONDict, JSONDict]:
        """``(message fields, raw request text)`` for text + parse_mode + entities."""
        raw = params.get("text")
        if raw is None or str(raw) == "":
            raise _bad_request("message text is empty")
        text, entities = self._format(str(raw), params.get("parse_mode"), params.get("entities"))
        if not text.strip():
            raise _bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        content: JSONDict = {"text": text}
        if entities:
            content["entities"] = entities
        if isinstance(params.get("link_preview_options"), dict):
            content["link_preview_options"] = params["link_preview_options"]
        return content, {"text": str(raw), "parse_mode": params.get("parse_mode")}

    def _caption_content(self, params: JSONDict) -> tuple[JSONDict, JSONDict]:
        """``(message fields, raw request caption)`` for caption + parse_mode + entities."""
        raw = params.get("caption")
        if raw is None or str(raw) == "":
            return {}, {"caption": None}
        caption, entities = self._format(
            str(raw), params.get("parse_mode"), params.get("caption_entities")
        )
        if len(caption) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        content: JSONDict = {"caption": caption}
        if entities:
            content["caption_entities"] = entities
        return content, {"caption": str(raw), "parse_mode": params.get("parse_mode")}

    def _edit_target(self, params: JSONDict) -> tuple[ChatKey, int, JSONDict] | None:
        """The message an edit* call targets; None for inline messages."""
        if params.get("inline_message_id"):
            return None
        if params.get("chat_id") in (None, ""):
            raise _bad_request("chat_id is empty")
        key = _chat_key(params["chat_id"])
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad_request("message identifier is not specified")
        message = self._messages.get((key, message_id))
        if message is None:
            raise _bad_request("message to edit not found")
        if (key, message_id) not in self._sent_index:
            raise _bad_request("message can't be edited")
        return key, message_id, message

    def _apply_edit(
        self, key: ChatKey, message_id: int, new: JSONDict, raw: JSONDict | None = None
    ) -> JSONDict:
        new["edit_date"] = int(time.time())
        self._messages[(key, message_id)] = new
        record = self._sent_index[(key, message_id)]
        record.message = new
        record.history.append(new)
        if raw is not None:
            record.raw = raw
        return new

    # ---------------------------------------------------------------- method handlers

    async def _return_true(self, params: JSONDict) -> Any:
        return True

    async def _get_me(self, params: JSONDict) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_chat(self, params: JSONDict) -> Any:
        chat = self._resolve_chat(params)
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11}

    async def _send_message(self, params: JSONDict) -> Any:
        chat = self._resolve_chat(params)
        content, raw = self._text_content(params)
        return self._new_bot_message("sendMessage", chat, params, content, raw)

    async def _send_document(self, params: JSONDict) -> Any:
        chat = self._resolve_chat(params)
        caption, raw = self._caption_content(params)
        stored = self._input_file(params.get("document"), "documents")
        document: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        document["file_size"] = len(stored.data)
        return self._new_bot_message(
            "sendDocument", chat, params, {"document": document, **caption}, raw
        )

    async def _send_photo(self, params: JSONDict) -> Any:
        chat = self._resolve_chat(params)
        caption, raw = self._caption_content(params)
        photo = params.get("photo")
        if isinstance(photo, UploadedFile) or photo not in self._files:
            stored = self._input_file(photo, "photos")
            sizes = self._photo_sizes(stored.data)
        else:
            stored = self._files[photo]
            sizes = [
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(stored.data),
                    "width": 800,
                    "height": 800,
                }
            ]
        return self._new_bot_message("sendPhoto", chat, params, {"photo": sizes, **caption}, raw)

    async def _send_chat_action(self, params: JSONDict) -> Any:
        self._resolve_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    async def _edit_message_text(self, params: JSONDict) -> Any:
        markup = self._check_markup(params.get("reply_markup"))
        content, raw = self._text_content(params)
        target = self._edit_target(params)
        if target is None:
            return True
        key, message_id, old = target
        if "text" not in old:
            raise _bad_request("there is no text in the message to edit")
        new = {k: v for k, v in old.items() if k not in {"text", "entities", "reply_markup"}}
        new.update(content)
        if markup is not None and "inline_keyboard" in markup:
            new["reply_markup"] = markup
        if _same_content(old, new, ("text", "entities", "reply_markup")):
            raise _bad_request(_NOT_MODIFIED)
        return self._apply_edit(key, message_id, new, raw)

    async def _edit_message_caption(self, params: JSONDict) -> Any:
        markup = self._check_markup(params.get("reply_markup"))
        content, raw = self._caption_content(params)
        target = self._edit_target(params)
        if target is None:
            return True
        key, message_id, old = target
        if "text" in old:
            raise _bad_request("there is no caption in the message to edit")
        new = {
            k: v for k, v in old.items() if k not in {"caption", "caption_entities", "reply_markup"}
        }
        new.update(content)
        if markup is not None and "inline_keyboard" in markup:
            new["reply_markup"] = markup
        if _same_content(old, new, ("caption", "caption_entities", "reply_markup")):
            raise _bad_request(_NOT_MODIFIED)
        return self._apply_edit(key, message_id, new, raw)

    async def _edit_message_reply_markup(self, params: JSONDict) -> Any:
        markup = self._check_markup(params.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad_request("inline keyboard expected")
        target = self._edit_target(params)
        if target is None:
            return True
        key, message_id, old = target
        new = {k: v for k, v in old.items() if k != "reply_markup"}
        if markup is not None and markup.get("inline_keyboard"):
            new["reply_markup"] = markup
        if _same_content(old, new, ("reply_markup",)):
            raise _bad_request(_NOT_MODIFIED)
        return self._apply_edit(key, message_id, new)

    async def _delete_message(self, params: JSONDict) -> Any:
        if params.get("chat_id") in (None, ""):
            raise _bad_request("chat_id is empty")
        key = _chat_key(params["chat_id"])
        message_id = params.get("message_id")
        if not isinstance(message_id, int) or (key, message_id) not in self._messages:
            raise _bad_request("message to delete not found")
        del self._messages[(key, message_id)]
        record = self._sent_index.get((key, message_id))
        if record is not None:
            record.deleted = True
        return True

    async def _answer_callback_query(self, params: JSONDict) -> Any:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._callback_queries:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = dict(params)
        return True

    async def _set_my_commands(self, params: JSONDict) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.match(
                str(command.get("command", ""))
            ):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: JSONDict) -> Any:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return list(self._commands.get(key, []))

    async def _delete_my_commands(self, params: JSONDict) -> Any:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands.pop(key, None)
        return True

    async def _get_file(self, params: JSONDict) -> Any:
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise _bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise _bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    # ---------------------------------------------------------------- updates / webhook

    def _allowed(self, update: Mapping[str, Any]) -> bool:
        allowed = set(self._allowed_updates or ()) or _DEFAULT_UPDATE_TYPES
        return _update_type(update) in allowed

    def _take_allowed(self, limit: int) -> list[JSONDict]:
        """Drop disallowed updates (Telegram never produces them) and return up to ``limit``."""
        self._updates = [u for u in self._updates if self._allowed(u)]
        return self._updates[:limit]

    async def _get_updates(self, params: JSONDict) -> Any:
        if self._webhook is not None:
            raise TelegramApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0.0), MAX_POLL_TIMEOUT)
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = [str(t) for t in params["allowed_updates"]]
        if isinstance(offset, int) and offset < 0:
            self._updates = self._updates[offset:]
        elif isinstance(offset, int) and offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_signal.fire()  # terminate an older long poll, as Telegram does
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise TelegramApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                )
            batch = self._take_allowed(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing.is_set() or self._webhook is not None:
                return batch
            await self._updates_signal.wait(remaining)

    async def _set_webhook(self, params: JSONDict) -> Any:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params)
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.match(str(secret)):
            raise _bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = [str(t) for t in params["allowed_updates"]]
        self._webhook = {
            "url": url,
            "secret_token": str(secret) if secret is not None else None,
            "max_connections": int(params.get("max_connections") or 40),
            "ip_address": params.get("ip_address"),
            "has_custom_certificate": isinstance(params.get("certificate"), UploadedFile),
        }
        self._webhook_error = None
        self._updates_signal.fire()
        return _Described(True, "Webhook was set")

    async def _delete_webhook(self, params: JSONDict) -> Any:
        was_set = self._webhook is not None
        self._webhook = None
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        self._updates_signal.fire()
        return _Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    async def _get_webhook_info(self, params: JSONDict) -> Any:
        hook = self._webhook
        info: JSONDict = {
            "url": hook["url"] if hook else "",
            "has_custom_certificate": bool(hook and hook["has_custom_certificate"]),
            "pending_update_count": len(self._updates),
        }
        if hook:
            info["max_connections"] = hook["max_connections"]
            if hook["ip_address"]:
                info["ip_address"] = hook["ip_address"]
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
        if self._webhook_error:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _webhook_loop(self) -> None:
        """Deliver queued updates to the webhook one at a time, in order."""
        while not self._closing.is_set():
            hook = self._webhook
            update = None
            if hook is not None and _is_loopback_url(hook["url"]):
                batch = self._take_allowed(1)
                update = batch[0] if batch else None
            elif hook is not None:
                self._webhook_error = (
                    int(time.time()),
                    "the fake API only delivers webhooks to loopback hosts",
                )
            if update is None or hook is None:
                await self._updates_signal.wait(1.0)
                continue
            outcome, reply = await self._deliver(hook, update)
            if outcome != "aborted" and update in self._updates:
                self._updates.remove(update)
                self._changed.fire()
            if isinstance(reply, dict) and isinstance(reply.get("method"), str):
                # Telegram executes a Bot API call given in the webhook's JSON answer.
                params = {k: v for k, v in reply.items() if k != "method"}
                await self._dispatch(reply["method"], params, via_webhook_reply=True)

    async def _deliver(self, hook: JSONDict, update: JSONDict) -> tuple[str, Any]:
        """POST one update with bounded retries.

        Returns ``(outcome, json_reply)``; outcome is 'delivered', 'dropped' (retries exhausted)
        or 'aborted' (webhook changed or server closing: the update stays queued).
        """
        assert self._session is not None
        headers = {}
        if hook["secret_token"]:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        for attempt in range(self.webhook_retries + 1):
            if self._webhook is not hook or self._closing.is_set():
                return "aborted", None
            status: int | None = None
            error: str | None = None
            reply: Any = None
            try:
                async with self._session.post(
                    hook["url"], json=update, headers=headers, timeout=timeout
                ) as resp:
                    status = resp.status
                    body = await resp.read()
                    if resp.content_type == "application/json" and body:
                        with contextlib.suppress(ValueError):
                            reply = json.loads(body)
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            self.webhook_attempts.append(
                WebhookAttempt(update["update_id"], hook["url"], status, error)
            )
            self._changed.fire()
            if status is not None and 200 <= status < 300:
                return "delivered", reply
            self._webhook_error = (
                int(time.time()),
                error or f"Wrong response from the webhook: {status}",
            )
            if attempt < self.webhook_retries:
                await self._sleep(min(self.webhook_retry_delay * 2**attempt, 1.0))
        return "dropped", None


# --------------------------------------------------------------------------------------------
# Small helpers


def _json_response(body: JSONDict, status: int) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False), status=status, content_type="application/json"
    )


def _without_reply(message: JSONDict) -> JSONDict:
    return {k: v for k, v in message.items() if k != "reply_to_message"}


def _same_content(old: JSONDict, new: JSONDict, keys: Iterable[str]) -> bool:
    return all(old.get(k) == new.get(k) for k in keys)


def _scope_key(scope: Any) -> str:
    if not scope:
        scope = {"type": "default"}
    if isinstance(scope, dict) and "chat_id" in scope:
        with contextlib.suppress(TelegramApiError):
            scope = {**scope, "chat_id": _chat_key(scope["chat_id"])}
    return json.dumps(scope, sort_keys=True)


def _reply_to_id(params: JSONDict) -> int | None:
    reply = params.get("reply_parameters")
    if isinstance(reply, dict) and isinstance(reply.get("message_id"), int):
        return int(reply["message_id"])
    value = params.get("reply_to_message_id")
    return value if isinstance(value, int) else None


def _allow_without_reply(params: JSONDict) -> bool:
    reply = params.get("reply_parameters")
    if isinstance(reply, dict) and reply.get("allow_sending_without_reply") is True:
        return True
    return params.get("allow_sending_without_reply") is True


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not str(button.get("text", "")):
        raise _bad_request("can't parse inline keyboard button: Text must be non-empty")
    actions = [a for a in _INLINE_BUTTON_ACTIONS if a in button]
    if not actions:
        raise _bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise _bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not _checked_link(str(button["url"])):
        raise _bad_request("BUTTON_URL_INVALID")


def _bot_command_entities(text: str) -> list[JSONDict]:
    """``bot_command`` entities the way Telegram marks commands in incoming text."""
    return [
        {"type": "bot_command", "offset": _u16(text[: m.start()]), "length": _u16(m.group())}
        for m in _BOT_COMMAND_RE.finditer(text)
    ]
