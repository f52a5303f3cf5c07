"""Donor cards: a token names one person, survives the ways people type and scanners give it,
and nothing altered, re-spelled or signed with another secret is taken for it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.cards import PREFIX, card, extract, holder

SECRET = b"unit-test-secret-for-donor-cards-0123"
ids = st.integers(min_value=1, max_value=2**40)


@given(ids)
def test_a_token_names_its_person_and_fits_a_deep_link(person_id: int) -> None:
    issued = card(SECRET, person_id)
    assert holder(SECRET, issued.token) == person_id
    assert holder(SECRET, issued.display.lower()) == person_id  # as read out, any case
    assert len(issued.payload) <= 64 and issued.payload.startswith(PREFIX)
    assert all(c.isalnum() or c == "_" for c in issued.payload)
    assert holder(b"another-secret-of-the-same-length-012", issued.token) is None


@given(ids, st.data())
def test_any_changed_character_is_refused(person_id: int, data: st.DataObject) -> None:
    token = card(SECRET, person_id).token
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    replacement = data.draw(st.sampled_from("0123456789ABCDEFGHJKMNPQRSTVWXYZ"))
    altered = token[:position] + replacement + token[position + 1 :]
    assert holder(SECRET, altered) == (person_id if altered == token else None)


def test_short_and_readable() -> None:
    issued = card(SECRET, 1234)
    assert 13 <= len(issued.token) <= 17
    assert issued.display.replace("-", "") == issued.token
    assert all(len(group) <= 4 for group in issued.display.split("-"))
    spelled = issued.token.replace("0", "O").replace("1", "I")  # look-alikes read alike
    assert holder(SECRET, spelled) == 1234
    assert holder(SECRET, "0" + issued.token) is None  # one spelling per token
    assert holder(SECRET, issued.token + "0") is None
    assert holder(SECRET, "") is None and holder(SECRET, "U" * 14) is None
    assert holder(SECRET, "Z" * 40) is None


def test_what_a_scanner_or_a_person_gives_is_understood() -> None:
    token = card(SECRET, 77).token
    for text in (
        token,
        f"card_{token}",
        f"/start card_{token}",
        f"https://t.me/hienmau_bot?start=card_{token}",
        f"  {card(SECRET, 77).display}  ",
    ):
        found = extract(text)
        assert found is not None and holder(SECRET, found) == 77, text
    assert extract("hi") is None


def test_no_secret_no_card() -> None:
    with pytest.raises(RuntimeError):
        card(b"", 1)
    with pytest.raises(ValueError, match="stored person"):
        card(SECRET, 0)
