"""When a donor may give blood (Circular 26/2013/TT-BYT): age, the interval after the latest
donation, and temporary deferrals. The bot only advises; the receiving institution screens."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from db.models import Person
from services.rules import Rules
from services.validation import Birth


class DonationKind(enum.StrEnum):
    WHOLE_BLOOD = "whole_blood"
    PLATELETS = "platelets"
    PLASMA = "plasma"


class Reason(enum.StrEnum):
    TOO_YOUNG = "too_young"
    TOO_OLD = "too_old"
    INTERVAL = "interval"  # the interval after the latest donation, or a deferral


@dataclass(frozen=True, slots=True)
class Verdict:
    eligible: bool
    reason: Reason | None = None
    from_date: dt.date | None = None  # the first day they may donate, when there is one


def interval_days(kind: str, rules: Rules) -> int:
    """Days before the next donation; the type of the latest donation sets it."""
    if kind == DonationKind.WHOLE_BLOOD:
        return rules.whole_blood_interval_days
    return rules.apheresis_interval_days


def next_after(kind: str, donated_on: dt.date, rules: Rules) -> dt.date:
    return donated_on + dt.timedelta(days=interval_days(kind, rules))


def birth_of(person: Person) -> Birth | None:
    if person.birth_date is not None:
        return Birth(person.birth_date.year, person.birth_date)
    if person.birth_year is not None:
        return Birth(person.birth_year)
    return None


def _turns(birth: Birth, age: int) -> dt.date:
    """The first day of being `age` full years old (1/1 when only the year is known)."""
    if birth.date is None:
        return dt.date(birth.year + age, 1, 1)
    try:
        return birth.date.replace(year=birth.date.year + age)
    except ValueError:  # born on 29/02
        return dt.date(birth.date.year + age, 3, 1)


def on(person: Person, day: dt.date, rules: Rules) -> Verdict:
    """May `person` donate on `day`? An unknown birth date is not held against them."""
    birth = birth_of(person)
    if birth is not None:
        age = birth.age_on(day)
        if age < rules.min_age:
            return Verdict(False, Reason.TOO_YOUNG, _turns(birth, rules.min_age))
        if age > rules.max_age:
            return Verdict(False, Reason.TOO_OLD)
    if person.next_eligible_on is not None and day < person.next_eligible_on:
        return Verdict(False, Reason.INTERVAL, person.next_eligible_on)
    return Verdict(True)
