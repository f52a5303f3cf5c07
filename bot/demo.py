"""Sample data for `hienmau demo`: the Lai Châu units, its 2019 plan moved to upcoming dates,
and a few people: a volunteer, a club chair, a committee member, donors (all fictional)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from importlib import resources

from services import drives, identities, persons, roles, units
from services.audit import Actor
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


def _time_range(text: str) -> tuple[dt.time | None, dt.time | None]:
    match = re.fullmatch(r"\s*(\d{1,2})h(\d{2})?\s*-\s*(\d{1,2})h(\d{2})?\s*", text or "")
    if not match:
        return None, None
    h1, m1, h2, m2 = match.groups()
    return dt.time(int(h1), int(m1 or 0)), dt.time(int(h2), int(m2 or 0))


def plan_rows() -> list[dict[str, str]]:
    text = (SAMPLE / "plan-laichau-2019.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


async def load(work: Work) -> None:
    unit_rows = units.read_unit_csv((SAMPLE / "units-laichau.csv").read_text(encoding="utf-8"))
    await units.upsert(work, unit_rows)
    actor = Actor("demo")
    province = await units.by_code(work, "LCU")
    # Move the 2019 plan forward by whole weeks so its first drive is next week.
    rows = plan_rows()
    dates = [dt.datetime.strptime(r["Ngày"], "%d/%m/%Y").date() for r in rows]
    weeks = math.ceil(((work.today() + dt.timedelta(days=7)) - min(dates)).days / 7)
    shift = dt.timedelta(weeks=weeks)
    for row, day in zip(rows, dates, strict=True):
        start, end = _time_range(row.get("Giờ", ""))
        moved = day + shift
        await drives.create(
            work,
            plan_year=moved.year,
            plan_no=row["Đợt"],
            title=f"Đợt {row['Đợt']}",
            campaign=row["Chủ đề"] or None,
            date=moved,
            start_time=start,
            end_time=end,
            place=row["Địa điểm"],
            organiser=row["Đơn vị tổ chức"],
            receiving_institution=row["Cơ sở tiếp nhận"],
            target_units=int(row["Chỉ tiêu"]),
            status="planned",
            unit_id=province.id if province else None,
        )
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
    assert volunteer is not None
    await work.session.flush()
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
