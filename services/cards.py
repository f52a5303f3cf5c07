"""Donor cards (`/card`): a short signed token that names a donor, for check-in at a drive.

The token is the person's id followed by a 64-bit HMAC-SHA256 tag over it, keyed with the
installation secret (`[security] secret`), written in Crockford's base32: URL-safe, short
(13-17 characters), typed without regard to case, and O/0, I/L/1 read alike. It holds neither
phone nor name, and without the secret nobody can make one or change a character of one.

Cards do not expire, by design: a donor keeps one for years, like the paper card it stands for.
Changing the secret invalidates every card at once (docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

PREFIX = "card_"  # the deep-link payload: /start card_<token>
TAG_BITS = 64
MAX_TOKEN_CHARS = 30
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUES = {char: value for value, char in enumerate(_ALPHABET)}
_LOOK_ALIKES = str.maketrans("OIL", "011")
_CONTEXT = b"hienmau-card-v1:"  # a key used for cards signs nothing else by accident
_IN_LINK = re.compile(r"card_([0-9A-Za-z-]+)")
_TYPED = re.compile(r"[0-9A-Za-z][0-9A-Za-z\s-]{7,40}")


@dataclass(frozen=True, slots=True)
class Card:
    token: str

    @property
    def payload(self) -> str:
        """The deep-link payload (`A-Za-z0-9_-`, far under Telegram's 64 characters)."""
        return PREFIX + self.token

    @property
    def display(self) -> str:
        """The token in groups of four, for reading and typing: `2K7Q-M3XA-9TBC-4`."""
        return "-".join(self.token[i : i + 4] for i in range(0, len(self.token), 4))


def _tag(secret: bytes, person_id: int) -> int:
    if not secret:
        raise RuntimeError("no installation secret to sign donor cards ([security] secret)")
    message = _CONTEXT + str(person_id).encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return int.from_bytes(digest[: TAG_BITS // 8], "big")


def _encode(value: int) -> str:
    chars = []
    while value:
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars)) or "0"


def card(secret: bytes, person_id: int) -> Card:
    if person_id <= 0:
        raise ValueError("a card names a stored person")
    return Card(_encode((person_id << TAG_BITS) | _tag(secret, person_id)))


def extract(text: str) -> str | None:
    """The token in what a volunteer typed or a QR scanner gave: the token itself (any case,
    dashes and spaces allowed), `card_<token>`, `/start card_<token>` or a deep-link URL."""
    found = _IN_LINK.search(text)
    if found:
        return found[1]
    stripped = text.strip()
    return stripped if _TYPED.fullmatch(stripped) else None


def holder(secret: bytes, token: str) -> int | None:
    """The person id a genuine token names; None for anything malformed, altered or forged."""
    canonical = re.sub(r"[\s-]", "", token).upper().translate(_LOOK_ALIKES)
    if not 1 <= len(canonical) <= MAX_TOKEN_CHARS:
        return None
    value = 0
    for char in canonical:
        digit = _VALUES.get(char)
        if digit is None:
            return None
        value = value * 32 + digit
    # One spelling per token: leading zeros would name the same value.
    if _encode(value) != canonical:
        return None
    person_id, tag = value >> TAG_BITS, value & ((1 << TAG_BITS) - 1)
    if person_id <= 0:
        return None
    expected = _tag(secret, person_id).to_bytes(TAG_BITS // 8, "big")
    if not hmac.compare_digest(tag.to_bytes(TAG_BITS // 8, "big"), expected):
        return None
    return person_id
