"""Tam Đường 2024 as recorded data (../shared/DOMAIN.md, seeds/tamduong-2024-report.txt):
2 drives, 1,044 people mobilised, 671 units against a target of 550 (122%);
drive 1: 532 people, 325/250 units; drive 2: 512 people, 346/300.

Rows go in with bulk inserts (a thousand people in a blink), shaped the way a real year is:
- drive 1: 325 donors (checked in, gave blood), 100 checked in and deferred, 107 pledged and
  never came, 20 who withdrew their pledge (not mobilised);
- drive 2: 150 donors back from drive 1, 196 new donors (one a walk-in with no pledge, one erased
  since: still counted, never named), 105 checked in and deferred, 61 no-shows;
- one donor of drive 1 had 4 donations before the year: drive 1 is their 5th;
- around them, what the report must leave out: a drive before the year, a cancelled drive, a
  drive of another district, and a donation told by a donor (at no drive).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert

from db.models import Donation, Drive, Person, Pledge, Quota
from services import units
from services.work import Database, Work
from tests.sample import load_units

DRIVE_1 = dt.date(2024, 7, 5)  # "Hành trình đỏ"
DRIVE_2 = dt.date(2024, 11, 22)  # for "Ngày Quốc tế tình nguyện 05/12"
FIRST_PHONE = 912_500_000


@dataclass(frozen=True, slots=True)
class TamDuong:
    drive_1: int
    drive_2: int
    fifth_donor: str  # the name of the donor whose 5th donation was at drive 1
    first_timers: int  # donors whose 1st donation fell in the year (named, in Tam Đường)
    other_district_donors: int  # Tam Đường's honours leave them out


async def _people(work: Work, count: int, unit_id: int, start: int, **extra: Any) -> list[int]:
    now = work.now()
    rows = [
        {
            "full_name": f"Người hiến {start + n:04d}",
            "phone": f"+84{FIRST_PHONE + start + n}",
            "birth_year": 1990 + (start + n) % 15,
            "sex": "male" if n % 2 else "female",
            "blood_group": "O+",
            "unit_id": unit_id,
            "language": "vi",
            "status": "active",
            "confirmed_at": now,
            "created_at": now,
            "updated_at": now,
            **extra,
        }
        for n in range(count)
    ]
    statement = insert(Person).returning(Person.id, sort_by_parameter_order=True)
    return list(await work.session.scalars(statement, rows))


def _drive(day: dt.date, target: int, unit_id: int, place: str, status: str = "done") -> Drive:
    return Drive(
        title=f"Ngày hội hiến máu {place}",
        date=day,
        place=place,
        target_units=target,
        status=status,
        unit_id=unit_id,
        source="test",
    )


class _Rows:
    def __init__(self, work: Work) -> None:
        self.work = work
        self.pledges: list[dict[str, Any]] = []
        self.donations: list[dict[str, Any]] = []

    def pledge(self, drive: Drive, people: list[int], came: bool, status: str = "attended") -> None:
        at = dt.datetime.combine(drive.date, dt.time(8), tzinfo=self.work.timezone)
        self.pledges += [
            {
                "person_id": person_id,
                "drive_id": drive.id,
                "status": status,
                "channel": "console",
                "created_at": at,
                "updated_at": at,
                "checked_in_at": at if came else None,
            }
            for person_id in people
        ]

    def donate(self, people: list[int], day: dt.date, drive: Drive | None) -> None:
        self.donations += [
            {
                "person_id": person_id,
                "donated_on": day,
                "drive_id": drive.id if drive is not None else None,
                "kind": "whole_blood",
                "volume_ml": 350,
                "verified": drive is not None,
                "created_at": self.work.now(),
            }
            for person_id in people
        ]

    async def store(self) -> None:
        await self.work.session.execute(insert(Pledge), self.pledges)
        await self.work.session.execute(insert(Donation), self.donations)


async def load_tamduong_2024(database: Database, quota: bool = True) -> TamDuong:
    await load_units(database)
    async with database.work() as work:
        district = await units.by_code(work, "LCU-TD")
        other = await units.by_code(work, "LCU-TU")
        assert district is not None and other is not None
        td = district.id
        one = _drive(DRIVE_1, 250, td, "Trung tâm Văn hoá huyện Tam Đường")
        two = _drive(DRIVE_2, 300, td, "Trường THPT Tam Đường")
        before = _drive(dt.date(2023, 11, 20), 100, td, "Xã Bình Lư")  # the year before
        cancelled = _drive(dt.date(2024, 9, 9), 200, td, "Xã Sơn Bình", status="cancelled")
        elsewhere = _drive(dt.date(2024, 8, 1), 100, other.id, "Huyện Than Uyên")
        work.session.add_all([one, two, before, cancelled, elsewhere])
        await work.session.flush()

        first = await _people(work, 532, td, 0)
        withdrew = await _people(work, 20, td, 600)
        second = await _people(work, 361, td, 700)
        erased = await _people(
            work, 1, td, 1100, full_name=None, phone=None, status="erased", erased_at=work.now()
        )
        distant = await _people(work, 10, other.id, 1200)
        second = second[:195] + erased + second[195:]  # one of drive 2's new donors, erased since

        rows = _Rows(work)
        donors_1, deferred_1, no_show_1 = first[:325], first[325:425], first[425:]
        rows.pledge(one, donors_1 + deferred_1, came=True)
        rows.pledge(one, no_show_1, came=False, status="no_show")
        rows.pledge(one, withdrew, came=False, status="cancelled")
        rows.donate(donors_1, DRIVE_1, one)
        for years_back in range(1, 5):  # the 5th donation at drive 1
            rows.donate(first[:1], dt.date(2023 - years_back, 6, 1), None)

        back = first[1:151]
        walk_in, new_donors = second[0], second[1:196]
        deferred_2, no_show_2 = second[196:301], second[301:]
        rows.pledge(two, back + new_donors + deferred_2, came=True)
        rows.pledge(two, no_show_2, came=False, status="no_show")
        rows.donate([*back, walk_in, *new_donors], DRIVE_2, two)

        rows.donate(deferred_1[:5], before.date, before)  # last year's: outside 2024
        rows.donate(distant, elsewhere.date, elsewhere)
        rows.pledge(elsewhere, distant, came=True)
        told = no_show_2[-1]
        rows.donate([told], dt.date(2024, 3, 1), None)  # a donor's own report, at no drive
        await rows.store()
        if quota:
            work.session.add(
                Quota(
                    unit_id=td,
                    year=2024,
                    target_units=550,
                    months=[7, 11],
                    source="test",
                    created_at=work.now(),
                    updated_at=work.now(),
                )
            )
        # First donations in the year, named: drive 1 (less the 5th-timer), drive 2's new
        # donors (less the erased one), and the donor who told of a donation.
        first_timers = (325 - 1) + (196 - 1) + 1
        return TamDuong(one.id, two.id, "Người hiến 0000", first_timers, len(distant))
