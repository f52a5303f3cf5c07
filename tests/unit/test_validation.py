"""Rules for what donors type: phones, birth dates and ages, names, blood groups, weights."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.errors import InvalidInput
from services.rules import Rules
from services.validation import (
    Birth,
    display_phone,
    fold,
    parse_birth,
    parse_blood_group,
    parse_name,
    parse_phone,
    parse_sex,
    parse_weight,
)

TODAY = dt.date(2026, 11, 26)


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("0912 345 678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("0912.345.678", "+84912345678"),
        ("(024) 3825 3536", "+842438253536"),
        ("0987-654-321", "+84987654321"),
    ],
)
def test_vietnamese_phones_normalise_to_e164(typed: str, e164: str) -> None:
    assert parse_phone(typed) == e164


@pytest.mark.parametrize(
    "typed", ["", "abc", "0123", "091234", "+1 555 0100", "0912345678901234", "SELECT 1", "😀"]
)
def test_bad_phones_are_refused(typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_phone(typed)


def test_phone_display_is_national_for_vietnam() -> None:
    assert display_phone("+84912345678") == "0912 345 678"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("17/12/1995", Birth(1995, dt.date(1995, 12, 17))),
        ("17-12-1995", Birth(1995, dt.date(1995, 12, 17))),
        ("1995-12-17", Birth(1995, dt.date(1995, 12, 17))),
        ("1995", Birth(1995)),
    ],
)
def test_birth_formats(typed: str, expected: Birth) -> None:
    assert parse_birth(typed, TODAY, Rules()) == expected


@pytest.mark.parametrize(
    ("typed", "ok"),
    [
        ("26/11/2008", True),
        ("27/11/2008", False),
        ("26/11/1966", True),
        ("25/11/1965", False),
        ("1966", True),
        ("1965", False),
        ("2008", True),
        ("2009", False),
    ],
)
def test_age_limits_18_to_60(typed: str, ok: bool) -> None:
    if ok:
        parse_birth(typed, TODAY, Rules())
    else:
        with pytest.raises(InvalidInput):
            parse_birth(typed, TODAY, Rules())


def test_age_limits_follow_the_rules() -> None:
    parse_birth("1960", TODAY, Rules(max_age=70))
    with pytest.raises(InvalidInput):
        parse_birth("2006", TODAY, Rules(min_age=21))


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("nguyễn thị lan", "Nguyễn Thị Lan"),
        ("  LÒ   VĂN  PÁO ", "Lò Văn Páo"),
        ("Nguyễn Đức Anh", "Nguyễn Đức Anh"),
    ],
)
def test_names_are_tidied(typed: str, name: str) -> None:
    assert parse_name(typed) == name


@pytest.mark.parametrize("typed", ["", "a", "😀😀", "<b>x</b>", "x" * 81, "Lan123", "a'; --"])
def test_bad_names_are_refused(typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_name(typed)


@pytest.mark.parametrize(
    ("typed", "group"),
    [
        ("O+", "O+"),
        ("o rh+", "O+"),
        ("AB Rh-", "AB-"),
        ("b âm", "B-"),
        ("A dương", "A+"),
        ("0", "O+"),
        ("chưa biết", "unknown"),
    ],
)
def test_blood_groups(typed: str, group: str) -> None:
    assert parse_blood_group(typed) == group


def test_sex_and_weight() -> None:
    assert parse_sex("Nữ") == "female" and parse_sex("nam") == "male"
    assert parse_weight("55,5 kg") == 55.5
    with pytest.raises(InvalidInput):
        parse_weight("5")


def test_fold_removes_diacritics() -> None:
    assert fold("Huyện Tam Đường") == "huyen tam duong"


@given(st.text(max_size=300))
def test_parsers_only_raise_invalid_input(text: str) -> None:
    for parse in (
        parse_name,
        parse_phone,
        parse_sex,
        parse_blood_group,
        parse_weight,
        lambda t: parse_birth(t, TODAY, Rules()),
    ):
        try:
            parse(text)
        except InvalidInput as error:
            assert error.message
