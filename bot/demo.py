"""Sample data for `hienmau demo`: the Lai Châu units, its 2019 plan moved to upcoming dates,
and a few people: a volunteer, a club chair, a committee member, donors (all fictional)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from importlib import resources

from services import (
    blocks,
    donations,
    drives,
    identities,
    invites,
    persons,
    plan_file,
    plans,
    roles,
    units,
)
from services.audit import Actor
from services.eligibility import DonationKind
from services.persons import DonorDraft, Purpose
from services.validation import Birth
from services.work import Work

SAMPLE = resources.files("bot") / "sample"

# (console user, name, phone, birth year, sex, blood group, unit code, role)
PEOPLE = (
    ("demo-volunteer", "Trần Văn Hùng", "+84912000001", 1990, "male", "O+", "LCU-TD", "volunteer"),
    (
        "demo-chair",
        "Lò Thị Mai",
        "+84912000002",
        1988,
        "female",
        "B+",
        "LCU-CLB-DUBI",
        "club_chair",
    ),
    ("demo-committee", "Nguyễn Minh Đức", "+84912000003", 1979, "male", "A+", "LCU", "committee"),
    ("demo-donor-1", "Vàng A Sử", "+84912000004", 1996, "male", "B+", "LCU-X-BINHLU", None),
    ("demo-donor-2", "Tòng Thị Lả", "+84912000005", 2001, "female", "O-", "LCU-CDCD", None),
)
# Registered by the volunteer, awaiting the donor's own confirmation: chat as a new donor and
# give this phone (0987 654 321) and birth year 1998 to see the confirmation flow.
PENDING = ("Lê Thị Hoa", "+84987654321", 1998, "female", "unknown", "LCU-P-TANPHONG")


# Slots and coordinates for the first drives, so the demo shows slot choice and distances.
DEMO_SLOTS = (
    drives.SlotSpec(dt.time(7, 30), dt.time(9, 0), 60),
    drives.SlotSpec(dt.time(9, 0), dt.time(10, 30), 60),
    drives.SlotSpec(dt.time(10, 30), dt.time(11, 30), 3),
)
PROVINCIAL_HOSPITAL = (22.3964, 103.4582)  # Bệnh viện Đa khoa tỉnh Lai Châu (approximate)


async def _load_plan(work: Work, actor: Actor) -> None:
    """The 2019 plan, moved forward by whole weeks so that its first drive is next week."""
    content = (SAMPLE / "plan-laichau-2019.csv").read_bytes()
    parsed = plan_file.read_plan(content, "plan-laichau-2019.csv", 2019)
    first = min(row.date for row in parsed.rows)
    weeks = math.ceil(((work.today() + dt.timedelta(days=7)) - first).days / 7)
    shift = dt.timedelta(weeks=weeks)
    moved = [dataclasses.replace(row, date=row.date + shift) for row in parsed.rows]
    year = max(row.date for row in moved).year
    result = await plans.import_rows(work, moved, year, actor, unit_code="LCU", source="demo")
    for outcome in result.outcomes[:3]:
        assert outcome.drive_id is not None
        drive = await drives.get(work, outcome.drive_id)
        await drives.set_slots(work, drive, list(DEMO_SLOTS), actor)
        await drives.open_(work, drive, actor)
        drive.latitude, drive.longitude = PROVINCIAL_HOSPITAL


async def _club_block(work: Work, club_id: int) -> None:
    """The reserve club holds 10 places of the first drive's first slot: its members see them
    in /drives and claim one with a tap (`--as chair` reserves more with /block)."""
    chair = await persons.find_by_phone(work, "+84912000002")
    found = await blocks.reservable(work, limit=1)
    if chair is None or not found:
        return
    first, slot = found[0], found[0].slots[0]
    await blocks.reserve(work, chair, club_id, first.id, slot.id, 10, Actor("console:demo-chair"))


async def load(work: Work) -> None:
    unit_rows = units.read_unit_csv((SAMPLE / "units-laichau.csv").read_text(encoding="utf-8"))
    await units.upsert(work, unit_rows)
    actor = Actor("demo")
    await _load_plan(work, actor)
    everyone = frozenset(Purpose)
    volunteer = None
    for user, name, phone, year, sex, group, unit_code, role in PEOPLE:
        unit = await units.by_code(work, unit_code)
        identity = await identities.touch(work, "console", user, user, "vi", name)
        draft = DonorDraft(
            name, phone, Birth(year), sex, group, unit.id if unit else None, None, everyone
        )
        person = await persons.register_self(work, identity, draft, Actor(f"console:{user}"))
        if role is not None:
            await roles.grant(work, person, roles.Role(role), unit_code, actor)
        if role == "volunteer":
            volunteer = person
        if user == "demo-donor-2":  # gave blood a month ago: not yet eligible for next week
            await donations.add(
                work,
                person,
                work.today() - dt.timedelta(days=30),
                DonationKind.WHOLE_BLOOD,
                actor,
                volume_ml=350,
                verified=True,
            )
    assert volunteer is not None
    await work.session.flush()
    # The reserve club's members: its chair and the two donors.
    club = await units.by_code(work, "LCU-CLB-DUBI")
    if club is not None:
        for user in ("demo-chair", "demo-donor-1", "demo-donor-2"):
            identity = await identities.touch(work, "console", user, user)
            member = await identities.person_of(work, identity)
            if member is not None:
                await invites.join_club(work, club, member, actor)
        await _club_block(work, club.id)
    name, phone, year, sex, group, unit_code = PENDING
    unit = await units.by_code(work, unit_code)
    await persons.register_on_behalf(
        work,
        volunteer,
        DonorDraft(
            name,
            phone,
            Birth(year),
            sex,
            group,
            unit.id if unit else None,
            None,
            frozenset({Purpose.REGISTRATION, Purpose.REMINDERS}),
        ),
        Actor("console:demo-volunteer", volunteer.id, "console"),
    )
