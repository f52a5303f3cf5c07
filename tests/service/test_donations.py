"""Donations: honour milestones, dates a donor may report, one donation a day per person (a
volunteer's record confirms the donor's own), history and count."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.models import Person
from services import donations, persons
from services.audit import Actor
from services.donations import MILESTONES, check_reported_date, next_milestone, reached_milestone
from services.eligibility import DonationKind
from services.errors import Conflict, InvalidInput
from services.work import Database
from tests.sample import add_person, load_units

TODAY = dt.date(2026, 11, 26)


def test_milestones_are_the_honours_of_the_steering_committee() -> None:
    assert MILESTONES == (1, 5, 10, 15, 20, 30, 40, 50, 70, 100)
    assert [n for n in range(0, 120) if reached_milestone(n)] == list(MILESTONES)
    assert next_milestone(0) == 1
    assert next_milestone(1) == 5
    assert next_milestone(3) == 5
    assert next_milestone(5) == 10
    assert next_milestone(50) == 70
    assert next_milestone(99) == 100
    assert next_milestone(100) is None
    assert next_milestone(250) is None


@given(st.integers(min_value=0, max_value=99))
def test_the_next_milestone_is_the_nearest_one_ahead(count: int) -> None:
    upcoming = next_milestone(count)
    assert upcoming is not None and upcoming > count
    assert not any(count < m < upcoming for m in MILESTONES)


async def _person(database: Database, year: int = 1990) -> int:
    await load_units(database)
    return await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001", year=year)


async def _add(
    database: Database, person_id: int, day: dt.date, *, verified: bool, kind: DonationKind
) -> None:
    async with database.work() as work:
        person = await persons.get(work, person_id)
        assert person is not None
        await donations.add(
            work, person, day, kind, Actor("t", person_id), volume_ml=None, verified=verified
        )


async def test_reported_dates_must_be_possible(database: Database) -> None:
    person_id = await _person(database, year=2008)
    async with database.work() as work:
        person = await persons.get(work, person_id)
        assert isinstance(person, Person)
        check_reported_date(work, person, TODAY)
        check_reported_date(work, person, dt.date(2026, 1, 1))  # 18 in 2026 (year only)
        with pytest.raises(InvalidInput, match="tương lai"):
            check_reported_date(work, person, TODAY + dt.timedelta(days=1))
        with pytest.raises(InvalidInput, match="chưa đủ"):
            check_reported_date(work, person, dt.date(2025, 12, 31))
        person.birth_year = 1960
        check_reported_date(work, person, dt.date(2016, 11, 26))  # ten years back: still told
        with pytest.raises(InvalidInput, match="năm gần đây"):
            check_reported_date(work, person, dt.date(2016, 11, 25))


async def test_one_donation_a_day_and_a_volunteer_confirms_the_donors_report(
    database: Database,
) -> None:
    person_id = await _person(database)
    day = dt.date(2026, 11, 20)
    await _add(database, person_id, day, verified=False, kind=DonationKind.PLATELETS)
    with pytest.raises(Conflict, match="đã được ghi nhận"):
        await _add(database, person_id, day, verified=False, kind=DonationKind.PLATELETS)
    await _add(database, person_id, day, verified=True, kind=DonationKind.WHOLE_BLOOD)
    with pytest.raises(Conflict):
        await _add(database, person_id, day, verified=True, kind=DonationKind.WHOLE_BLOOD)
    async with database.work() as work:
        [kept] = await donations.history(work, person_id)
        assert kept.verified and kept.kind == "whole_blood"
        assert await donations.count(work, person_id) == 1
        person = await persons.get(work, person_id)
        assert person is not None
        assert person.next_eligible_on == day + dt.timedelta(weeks=12)  # the volunteer's kind


async def test_history_is_latest_first_and_counts_only_the_persons_own(
    database: Database,
) -> None:
    person_id = await _person(database)
    other = await add_person(database, "minh", "Lò Văn Minh", "+84912300002")
    days = [dt.date(2025, 5, 1), dt.date(2026, 10, 1), dt.date(2026, 2, 1)]
    for day in days:
        await _add(database, person_id, day, verified=True, kind=DonationKind.WHOLE_BLOOD)
    await _add(database, other, dt.date(2026, 10, 1), verified=True, kind=DonationKind.PLASMA)
    async with database.work() as work:
        found = await donations.history(work, person_id)
        assert [d.donated_on for d in found] == sorted(days, reverse=True)
        assert await donations.count(work, person_id) == 3
        assert await donations.count(work, other) == 1
        assert await donations.history(work, 999_999) == []
        assert await donations.count(work, 999_999) == 0
