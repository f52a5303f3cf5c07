"""Every user-facing string has an English translation with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from locales import _, translations, use_language

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "channels", "services", "scheduler", "db")


def source_messages() -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package,
            keywords={"_": None, "N_": None},
            comment_tags=(),
        ):
            if isinstance(message, str):
                found.add(message)
    return found


def test_every_message_is_translated_to_english() -> None:
    english = translations("en")
    missing = []
    for message in sorted(source_messages()):
        translated = english.gettext(message)
        if translated == message:
            missing.append(message)
            continue
        fields = set(re.findall(r"{(\w+)}", message))
        assert fields == set(re.findall(r"{(\w+)}", translated)), message
    assert not missing, f"{len(missing)} untranslated: {missing[:5]}"


def test_vietnamese_is_the_default() -> None:
    assert _("Nam") == "Nam"
    with use_language("en-US"):
        assert _("Nam") == "Male"
    with use_language("fr"):
        assert _("Nam") == "Nam"
