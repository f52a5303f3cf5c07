"""The check-in service checks role, scope, drive date and eligibility itself, whatever a chat
showed; it records verified donations, deferrals and walk-ins in one transaction each."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from db.models import Deferral, Donation, Drive, Person, Pledge
from services import checkin, donations, persons, units
from services.audit import Actor
from services.checkin import DeferralReason
from services.clock import FixedClock
from services.eligibility import DonationKind
from services.errors import Conflict, InvalidInput, NotAllowed
from services.persons import DonorDraft, Purpose
from services.rules import Rules
from services.units import UnitKind, UnitRow
from services.validation import Birth
from services.work import Database, Work
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive

TODAY = dt.date(2026, 11, 26)


async def _people(database: Database) -> tuple[int, int, int]:
    """(a volunteer of Tam Đường, Lan of Bình Lư, today's drive in Bình Lư)."""
    await load_units(database)
    volunteer = await add_person(
        database, "vol", "Trần Văn Hùng", "+84912000001", role="volunteer", unit="LCU-TD"
    )
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001", unit="LCU-X-BINHLU")
    drive = await add_drive(database, TODAY, "Nhà văn hoá xã Bình Lư", unit_code="LCU-X-BINHLU")
    return volunteer, lan, drive


async def _person(work: Work, person_id: int) -> Person:
    person = await persons.get(work, person_id)
    assert person is not None
    return person


def _actor(person_id: int) -> Actor:
    return Actor(f"console:{person_id}", person_id, "console")


def test_deferrals_end_after_the_usual_time_for_their_reason() -> None:
    rules = Rules()
    assert checkin.default_until(DeferralReason.FLU, TODAY, rules) == dt.date(2026, 12, 3)
    assert checkin.default_until(DeferralReason.TATTOO, TODAY, rules) == dt.date(2027, 5, 26)
    assert checkin.default_until(DeferralReason.SURGERY, TODAY, rules) == dt.date(2027, 11, 26)
    assert checkin.default_until(DeferralReason.BLOOD_PRESSURE, TODAY, rules) is None
    assert checkin.add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)
    assert checkin.add_months(dt.date(2027, 8, 31), 6) == dt.date(2028, 2, 29)


async def test_a_volunteer_works_at_todays_drives_and_recent_open_ones_in_their_scope(
    database: Database,
) -> None:
    volunteer, _lan, today = await _people(database)
    late = await add_drive(
        database, TODAY - dt.timedelta(days=2), "Đợt hôm kia", unit_code="LCU-TD"
    )
    planned = await add_drive(database, TODAY, "Đợt chưa mở", unit_code="LCU-TD", status="planned")
    await add_drive(
        database, TODAY - dt.timedelta(days=2), "Đã xong", unit_code="LCU-TD", status="done"
    )
    await add_drive(database, TODAY - dt.timedelta(days=5), "Quá lâu", unit_code="LCU-TD")
    await add_drive(database, TODAY + dt.timedelta(days=1), "Ngày mai", unit_code="LCU-TD")
    await add_drive(database, TODAY, "Đã huỷ", unit_code="LCU-TD", status="cancelled")
    await add_drive(database, TODAY, "Huyện khác", unit_code="LCU-TU")
    await add_drive(database, TODAY, "Không đơn vị")
    async with database.work() as work:
        found = await checkin.drives_for(work, volunteer)
        assert [d.id for d in found] == [today, planned, late]
        me = await _person(work, volunteer)
        for title, message in (("Ngày mai", "chưa diễn ra"), ("Quá lâu", "đã kết thúc")):
            drive = next(d for d in await _all_drives(work) if d.place == title)
            with pytest.raises(Conflict) as refused:
                await checkin.drive_for(work, me, drive.id, _actor(volunteer))
            assert message in refused.value.message
        other = next(d for d in await _all_drives(work) if d.place == "Huyện khác")
        with pytest.raises(NotAllowed):
            await checkin.drive_for(work, me, other.id, _actor(volunteer))


async def _all_drives(work: Work) -> list[Drive]:
    return list(await work.session.scalars(select(Drive)))


async def test_without_a_role_nothing_is_possible(database: Database) -> None:
    _volunteer, lan, drive = await _people(database)
    async with database.work() as work:
        with pytest.raises(NotAllowed):
            await checkin.drives_for(work, lan)
        with pytest.raises(NotAllowed):
            await checkin.check_in(work, await _person(work, lan), drive, lan, _actor(lan))


async def test_a_donation_for_a_donor_of_another_province_is_refused_and_nothing_changes(
    database: Database,
) -> None:
    _volunteer, lan, _drive = await _people(database)
    async with database.work() as work:
        await units.upsert(work, [UnitRow("TNG", "Tỉnh Thái Nguyên", UnitKind.PROVINCE, None)])
    other = await add_person(
        database, "tng", "Hà Văn Tú", "+84912000077", role="volunteer", unit="TNG"
    )
    tng_drive = await add_drive(database, TODAY, "Phúc Chu", unit_code="TNG")
    async with database.work() as work:
        me = await _person(work, other)
        with pytest.raises(NotAllowed) as refused:
            await checkin.record_donation(
                work, me, tng_drive, lan, DonationKind.WHOLE_BLOOD, 350, _actor(other)
            )
        assert "ngoài phạm vi" in refused.value.message
    async with database.work() as work:
        assert await work.session.scalar(select(func.count(Donation.id))) == 0
        assert await work.session.scalar(select(func.count(Pledge.id))) == 0
        assert (await _person(work, lan)).next_eligible_on is None


async def test_an_admin_acts_everywhere(database: Database) -> None:
    _volunteer, lan, drive = await _people(database)
    admin = await add_person(
        database, "adm", "Quản Trị", "+84912000099", role="admin", unit="LCU-TU"
    )
    async with database.work() as work:
        me = await _person(work, admin)
        at = await checkin.check_in(work, me, drive, lan, _actor(admin))
        assert at.checked_in and at.walk_in


async def test_checking_in_twice_keeps_the_first_arrival(
    database: Database, clock: FixedClock
) -> None:
    volunteer, lan, drive = await _people(database)
    first = clock.now()
    async with database.work() as work:
        await checkin.check_in(work, await _person(work, volunteer), drive, lan, _actor(volunteer))
    clock.advance(dt.timedelta(minutes=30))
    async with database.work() as work:
        at = await checkin.check_in(
            work, await _person(work, volunteer), drive, lan, _actor(volunteer)
        )
        assert at.pledge is not None and at.pledge.checked_in_at == first
        assert await checkin.counts(work, drive) == (1, 0)


async def test_an_ineligible_donor_gets_a_deferral_but_no_donation(database: Database) -> None:
    volunteer, lan, drive = await _people(database)
    async with database.work() as work:
        person = await _person(work, lan)
        await donations.add(
            work, person, dt.date(2026, 10, 1), DonationKind.WHOLE_BLOOD, Actor("t"), volume_ml=350
        )
    async with database.work() as work:
        me = await _person(work, volunteer)
        with pytest.raises(InvalidInput) as refused:
            await checkin.record_donation(
                work, me, drive, lan, DonationKind.WHOLE_BLOOD, 350, _actor(volunteer)
            )
        assert "24/12/2026" in str(refused.value.params)
    async with database.work() as work:
        me = await _person(work, volunteer)
        with pytest.raises(InvalidInput):
            await checkin.defer(
                work, me, drive, lan, DeferralReason.OTHER, TODAY, _actor(volunteer)
            )
        at = await checkin.defer(
            work,
            me,
            drive,
            lan,
            DeferralReason.BLOOD_PRESSURE,
            dt.date(2027, 1, 10),
            _actor(volunteer),
        )
        assert at.deferred_until == dt.date(2027, 1, 10) and at.checked_in
        assert at.person.next_eligible_on == dt.date(2027, 1, 10)  # later than 24/12
        assert (await work.session.scalar(select(Deferral.reason))) == "blood_pressure"


async def test_a_volunteer_confirms_what_the_donor_reported_the_same_day(
    database: Database,
) -> None:
    volunteer, lan, drive = await _people(database)
    async with database.work() as work:
        person = await _person(work, lan)
        await donations.add(
            work, person, TODAY, DonationKind.WHOLE_BLOOD, Actor("self", lan), volume_ml=None
        )
    async with database.work() as work:
        me = await _person(work, volunteer)
        at = await checkin.at_drive(work, me, drive, lan, _actor(volunteer))
        assert at.may_donate and at.donation is not None and not at.donated
        recorded = await checkin.record_donation(
            work, me, drive, lan, DonationKind.WHOLE_BLOOD, 250, _actor(volunteer)
        )
        assert recorded.total == 1 and recorded.at.donated
        with pytest.raises(Conflict):
            await checkin.record_donation(
                work, me, drive, lan, DonationKind.WHOLE_BLOOD, 250, _actor(volunteer)
            )
    async with database.work() as work:
        [donation] = await donations.history(work, lan)
        assert (donation.volume_ml, donation.verified, donation.drive_id) == (250, True, drive)
        assert donation.recorded_by_id == volunteer


async def test_a_walk_in_is_registered_and_checked_in_in_one_go(database: Database) -> None:
    volunteer, _lan, drive = await _people(database)
    async with database.work() as work:
        unit = await units.by_code(work, "LCU-X-BINHLU")
        assert unit is not None
        draft = DonorDraft(
            "Lê Văn Nam", "+84987654321", Birth(1999), "male", "A+", unit.id, None,
            frozenset({Purpose.REGISTRATION}),
        )  # fmt: skip
        at = await checkin.register_walk_in(
            work, await _person(work, volunteer), drive, draft, _actor(volunteer)
        )
        assert at.walk_in and at.checked_in and at.person.registered_by_id == volunteer
        assert at.pledge is not None and at.pledge.status == "attended"
        with pytest.raises(Conflict):  # the same phone twice
            await checkin.register_walk_in(
                work, await _person(work, volunteer), drive, draft, _actor(volunteer)
            )
