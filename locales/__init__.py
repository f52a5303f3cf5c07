"""Translations. Source strings are Vietnamese (the default language); catalogs translate them.

`_()` translates into the language of the current conversation, set with `use_language()` by the
router for each inbound message (a context variable, so concurrent chats never mix languages).
`N_()` only marks a string for extraction; translate it later with `_()`.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import io
from collections.abc import Iterator
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DEFAULT_LANGUAGE = "vi"
LANGUAGES = ("vi", "en")
DOMAIN = "hienmau"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=DEFAULT_LANGUAGE)


def normalise_language(code: str | None) -> str:
    """Map a platform language hint ('en-US', 'vi') to a supported language."""
    base = (code or "").split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


@functools.cache
def translations(language: str) -> NullTranslations:
    """The catalog of a language, compiled in memory from its .po file (no build step)."""
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    po = resources.files(__name__) / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def current_language() -> str:
    return _current.get()


@contextlib.contextmanager
def use_language(language: str | None) -> Iterator[str]:
    chosen = normalise_language(language)
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def _(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    return message
