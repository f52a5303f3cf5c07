"""Booking targets: the factor a unit's past drives teach, the drive card, the committee's
factor in /managedrives, and the tally flagging drives 7 and 3 days ahead that need more
pledges (in chat and through `hienmau jobs tick --now`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import create_engine
from db.models import Audit, Donation, Drive, Pledge
from services import booking, tallies, units
from services.audit import Actor
from services.booking import Source
from services.clock import FixedClock
from services.rules import Rules
from services.work import Database
from tests.conftest import NOW, ZONE
from tests.e2e.test_cli import run
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive

TODAY = NOW.date()  # 26/11/2026


def day(offset: int) -> dt.date:
    return TODAY + dt.timedelta(days=offset)


async def _set_drive(database: Database, drive_id: int, **values: object) -> None:
    async with database.work() as work:
        drive = await work.session.get(Drive, drive_id)
        assert drive is not None
        for name, value in values.items():
            setattr(drive, name, value)


async def _pledges(
    database: Database,
    drive_id: int,
    people: list[int],
    status: str = "pledged",
    channel: str = "console",
) -> None:
    async with database.work() as work:
        for person_id in people:
            work.session.add(
                Pledge(
                    person_id=person_id,
                    drive_id=drive_id,
                    status=status,
                    channel=channel,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )


async def _donations(database: Database, drive_id: int, people: list[int]) -> None:
    async with database.work() as work:
        drive = await work.session.get(Drive, drive_id)
        assert drive is not None
        for person_id in people:
            work.session.add(
                Donation(
                    person_id=person_id,
                    donated_on=drive.date,
                    drive_id=drive_id,
                    kind="whole_blood",
                    volume_ml=350,
                    verified=True,
                    created_at=NOW,
                )
            )


async def build_history(database: Database) -> dict[str, int]:
    """Tam Đường's past drives: 21 pledges for 12 donations in the last 12 months (1.75);
    its upcoming drives 7, 5 and 3 days ahead; a drive of Sìn Hồ, whose past teaches 6.0
    (clamped to 3.0)."""
    await load_units(database)
    ids: dict[str, int] = {}
    ids["bcd"] = await add_person(
        database, "bcd", "Nguyễn Minh Đức", "+84912000003", role="committee"
    )
    people = [
        await add_person(database, f"d{i}", f"Người Hiến {i}", f"+849123010{i:02d}")
        for i in range(14)
    ]
    # A (6/6/2026): 12 pledges (6 came and gave), one withdrawn, one walk-in who gave.
    ids["A"] = await add_drive(database, dt.date(2026, 6, 6), "Sân vận động huyện Tam Đường",
                               unit_code="LCU-TD", status="done")  # fmt: skip
    await _pledges(database, ids["A"], people[:6], "attended")
    await _pledges(database, ids["A"], people[6:12], "no_show")
    await _pledges(database, ids["A"], people[12:13], "cancelled")
    await _pledges(database, ids["A"], people[13:14], "attended", channel="walk_in")
    await _donations(database, ids["A"], [*people[:6], people[13]])
    # B (10/9/2026): 9 pledges, 5 donations.
    ids["B"] = await add_drive(database, dt.date(2026, 9, 10), "Trường THPT Tam Đường",
                               unit_code="LCU-TD", status="done")  # fmt: skip
    await _pledges(database, ids["B"], people[:9], "attended")
    await _donations(database, ids["B"], people[:5])
    # Older than 12 months, and another unit's: they teach Tam Đường nothing.
    ids["C"] = await add_drive(database, dt.date(2025, 10, 1), "Trạm Y tế xã Bình Lư cũ",
                               unit_code="LCU-TD", status="done")  # fmt: skip
    await _pledges(database, ids["C"], people[:12], "attended")
    await _donations(database, ids["C"], people[:1])
    ids["D"] = await add_drive(database, dt.date(2026, 8, 1), "Nhà văn hoá Sìn Hồ",
                               unit_code="LCU-SH", status="done")  # fmt: skip
    await _pledges(database, ids["D"], people[:12], "attended")
    await _donations(database, ids["D"], people[:2])
    # Upcoming drives.
    ids["E"] = await add_drive(database, day(7), "Nhà văn hoá xã Bình Lư", unit_code="LCU-TD")
    await _set_drive(database, ids["E"], target_units=20)
    await _pledges(database, ids["E"], people[:10])
    await _pledges(database, ids["E"], people[10:12], "cancelled")
    ids["F"] = await add_drive(database, day(3), "Trung tâm Y tế huyện Tam Đường",
                               unit_code="LCU-TD")  # fmt: skip
    await _set_drive(database, ids["F"], target_units=300, show_up_factor=1.3)
    await _pledges(database, ids["F"], people[:2])
    ids["G"] = await add_drive(database, day(5), "Trường Tiểu học Bản Bo", unit_code="LCU-TD")
    ids["H"] = await add_drive(database, day(7), "UBND xã Bình Lư", unit_code="LCU-X-BINHLU")
    ids["I"] = await add_drive(database, day(7), "Trường Mầm non Hồ Thầu", unit_code="LCU-TD")
    await _set_drive(database, ids["I"], target_units=4)
    await _pledges(database, ids["I"], people[:7])  # 7 of ceil(4 × 1.75) = 7: enough
    ids["K"] = await add_drive(database, day(6), "Nhà văn hoá bản Hon", unit_code="LCU-TD")
    ids["J"] = await add_drive(database, day(3), "Trung tâm Y tế Sìn Hồ", unit_code="LCU-SH")
    await _set_drive(database, ids["J"], target_units=10)
    return ids


FLAGS = [
    "Chưa đủ người đăng ký (mục tiêu đặt chỗ):",
    "⚠️ Trung tâm Y tế huyện Tam Đường (29/11): 2/390 chỗ, cần thêm 388 lượt đăng ký",
    "⚠️ Nhà văn hoá xã Bình Lư (03/12): 10/35 chỗ, cần thêm 25 lượt đăng ký",
    "⚠️ UBND xã Bình Lư (03/12): 0/375 chỗ, cần thêm 375 lượt đăng ký",
]


async def test_the_factor_is_the_drives_own_else_learned_from_the_unit_else_the_default(
    database: Database,
) -> None:
    ids = await build_history(database)
    async with database.work() as work:
        td = await units.by_code(work, "LCU-TD")
        sh = await units.by_code(work, "LCU-SH")
        assert td is not None and sh is not None
        # 21 pledges / 12 donations; Sìn Hồ 12 / 2 = 6, clamped to 3.
        assert await booking.learned_factors(work, [td.id, sh.id]) == {td.id: 1.75, sh.id: 3.0}
        found = [await work.session.get(Drive, ids[k]) for k in ("E", "F", "H", "I", "J")]
        figures = await booking.for_drives(work, [d for d in found if d is not None])
    got = [(b.pledged, b.factor, b.source, b.target, b.missing) for b in figures]
    assert got == [
        (10, 1.75, Source.LEARNED, 35, 25),  # 20 units × 1.75; withdrawn pledges do not count
        (2, 1.3, Source.DRIVE, 390, 388),  # 300 × 1.3 is 390, not 391
        (0, 1.5, Source.DEFAULT, 375, 375),  # Bình Lư has no past drives of its own
        (7, 1.75, Source.LEARNED, 7, 0),
        (0, 3.0, Source.LEARNED, 30, 30),
    ]


async def test_the_tally_flags_drives_7_and_3_days_ahead_under_their_booking_target(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await build_history(database)
    text = await chat_factory("bcd").say("/tally")
    lines = text.splitlines()
    start = lines.index(FLAGS[0])
    # Not the drive 5 days ahead, not the one with enough pledges, not Sìn Hồ's (elsewhere).
    assert lines[start : start + 4] == FLAGS
    assert lines[start + 4] == ""
    assert "Trường Tiểu học Bản Bo" not in "\n".join(lines[start:])
    # The day after, the same drives are 6 and 2 days ahead: no flag.
    async with database.work() as work:
        tally = await tallies.compute(work, None, TODAY + dt.timedelta(days=1))
    assert tally.under_booked == ()


async def test_the_card_shows_pledges_against_the_booking_target_and_the_committee_sets_a_factor(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    ids = await build_history(database)
    donor = chat_factory("d13")
    card = await donor.say(f"/start drive_{ids['E']}")
    assert "🎯 Chỉ tiêu: 20 đơn vị máu\n👥 Đã đăng ký: 10 / mục tiêu đặt chỗ 35" in card

    bcd = chat_factory("bcd")
    await bcd.say("/managedrives")
    admin = await bcd.choose("Nhà văn hoá xã Bình Lư")
    assert "📋 Mục tiêu đặt chỗ: 35 = 20 đơn vị × 1,75 (học từ các đợt trước của đơn vị)" in admin
    await bcd.choose("Sửa thông tin")
    assert "hệ số từ 1 đến 3" in await bcd.choose("Hệ số đặt chỗ")
    assert "Hệ số phải từ 1 đến 3" in await bcd.say("3,5")
    saved = await bcd.say("1,2")
    assert "📋 Mục tiêu đặt chỗ: 24 = 20 đơn vị × 1,2 (do Ban chỉ đạo đặt)" in saved
    assert "👥 Đã đăng ký: 10 / mục tiêu đặt chỗ 24" in await donor.say(f"/start drive_{ids['E']}")
    # Skipping gives the drive back its learned factor.
    await bcd.choose("Sửa thông tin")
    await bcd.choose("Hệ số đặt chỗ")
    assert "× 1,75 (học từ các đợt trước" in await bcd.choose("Bỏ qua")
    async with database.work() as work:
        changes = list(
            await work.session.scalars(
                select(Audit.details).where(Audit.action == "drive.show_up_factor")
            )
        )
    assert changes == [{"drive": ids["E"], "factor": 1.2}, {"drive": ids["E"], "factor": None}]


@pytest.mark.slow
async def test_jobs_tick_sends_the_daily_tally_with_the_drives_under_their_booking_target(
    tmp_path: Path,
) -> None:
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    database = Database(
        create_engine(f"sqlite:///{tmp_path / 'hienmau.sqlite3'}"), FixedClock(NOW), Rules(), ZONE
    )
    try:
        ids = await build_history(database)
        async with database.work() as work:
            await tallies.set_subscription(work, ids["bcd"], True, Actor("console:bcd", ids["bcd"]))
    finally:
        await database.dispose()
    ticked = run(["jobs", "tick", "--now", "2026-11-26T18:00+07:00"], tmp_path)
    assert ticked.returncode == 0, ticked.stderr
    out = ticked.stdout
    assert "[→ bcd] 📊 Báo cáo ngày 26/11/2026" in out
    for line in FLAGS:
        assert line in out
    # The same tick tells Tam Đường's donors of its five drives of the week: those not pledged
    # to any of them (the committee member, d12, d13) get four, the fifth is skipped.
    assert "tallies 1; capped 3)" in out, out[-300:]
