"""Transport-neutral messages: what a channel hands to the engine and what it gets back.

A channel turns each platform update into one `Inbound` and renders each `Reply` for its own
platform (inline keyboard on Telegram, numbered menu on Zalo and the console).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


class InboundKind(enum.StrEnum):
    COMMAND = "command"  # payload: "/name args"
    TEXT = "text"
    BUTTON = "button"  # payload: the Button.payload that was pressed
    CONTACT = "contact"  # payload: phone number shared by the platform
    LOCATION = "location"  # payload: "lat,lon"
    DOCUMENT = "document"  # attachment: the file sent (a committee's annual plan)
    PHOTO = "photo"  # attachment: the picture sent (a donor's certificate), when downloaded
    UNSUPPORTED = "unsupported"  # stickers, voice notes ...


class ChatType(enum.StrEnum):
    PRIVATE = "private"
    GROUP = "group"


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True, slots=True)
class Inbound:
    channel: str  # "telegram" | "zalo" | "console"
    user_id: str  # platform user id, as a string
    chat_id: str
    kind: InboundKind
    payload: str = ""
    language: str | None = None  # platform language hint ("vi", "en")
    chat_type: ChatType = ChatType.PRIVATE
    display_name: str = ""
    # Contacts: True when the platform says the shared contact is the sender's own.
    contact_is_own: bool = True
    attachment: Attachment | None = None  # DOCUMENT, PHOTO: the file, already downloaded
    # How a deep link to this bot starts, payload appended: "https://t.me/hienmau_bot?start=".
    # Empty where the platform has none: people then type "/start <payload>".
    deep_link: str = ""
    # The platform's id of this update (Telegram update_id, Zalo message_id): the engine
    # handles an update once, however often it is delivered. Empty where there is none.
    update_id: str = ""

    @property
    def command(self) -> str | None:
        """The command name without slash or bot suffix (`/start@hienmau_bot x` -> `start`)."""
        if self.kind is not InboundKind.COMMAND:
            return None
        head = self.payload.split(maxsplit=1)[0] if self.payload.strip() else "/"
        return head[1:].split("@", 1)[0].lower()

    @property
    def argument(self) -> str:
        """What follows the command (`/start inv_abc` -> `inv_abc`)."""
        parts = self.payload.split(maxsplit=1)
        return parts[1].strip() if len(parts) > 1 else ""


class ButtonKind(enum.StrEnum):
    CALLBACK = "callback"  # an ordinary choice; pressing it sends `payload` back
    CONTACT = "contact"  # ask the platform to share the user's phone (Telegram only)
    LOCATION = "location"  # ask the platform to share a location (Telegram only)


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    payload: str = ""  # at most 64 bytes (Telegram callback_data)
    kind: ButtonKind = ButtonKind.CALLBACK


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    columns: int = 1  # how many buttons per row where the platform draws keyboards
    attachment: Attachment | None = None

    @property
    def choices(self) -> tuple[Button, ...]:
        return tuple(b for b in self.buttons if b.kind is ButtonKind.CALLBACK)


Dispatch = Callable[[Inbound], Awaitable[list[Reply]]]


# Delivery of messages the bot starts itself (the outbox). A channel's `deliver` raises these;
# the scheduler's sender decides what to do next.


class DeliveryError(Exception):
    """Sending failed for a reason that may pass: retry later with backoff."""


class RetryAfter(DeliveryError):
    """The platform asked to wait (`retry_after` seconds) before sending again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class Unreachable(DeliveryError):
    """The person blocked the bot or left: never retry, mark the chat unreachable."""


Deliver = Callable[[str, list[Reply]], Awaitable[None]]
"""How a channel delivers replies to a chat id it has seen (raises DeliveryError)."""
