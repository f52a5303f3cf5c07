"""The year's report and the tallies, rebuilt from recorded pledges, check-ins and donations."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select

from db.models import Audit, ClubMember, Donation, Pledge, Quota, Unit
from handlers.reports import report_text
from handlers.tallies import tally_text
from services import persons, report_files, reports, roles, tallies, units
from services.audit import Actor
from services.errors import InvalidInput, NotAllowed, NotFound
from services.roles import Role
from services.work import Database
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive
from tests.sample_tamduong import load_tamduong_2024

TODAY = dt.date(2026, 11, 26)  # the tests' clock


async def test_the_tam_duong_2024_report_is_rebuilt_from_recorded_data(
    database: Database,
) -> None:
    sample = await load_tamduong_2024(database)
    async with database.work() as work:
        report = await reports.year_report(work, 2024, Actor("cli"), "LCU-TD")
    assert (report.start, report.end) == (dt.date(2023, 12, 1), dt.date(2024, 11, 30))
    assert [(d.drive_id, d.target, d.people, d.units, d.percent) for d in report.drives] == [
        (sample.drive_1, 250, 532, 325, 130),
        (sample.drive_2, 300, 512, 346, 115),
    ]
    assert (report.people, report.units, report.target, report.percent) == (1044, 671, 550, 122)
    [quota] = report.quotas
    assert (quota.code, quota.quota, quota.collected, quota.percent) == ("LCU-TD", 550, 671, 122)
    assert report.honours_by_milestone() == [(5, 1), (1, sample.first_timers)]
    fifth = report.honours[0]
    assert (fifth.milestone, fifth.name, fifth.reached_on) == (
        5,
        sample.fifth_donor,
        dt.date(2024, 7, 5),
    )
    assert all(h.name for h in report.honours)  # the erased donor is counted, never named

    text = report_text(report)
    assert "📈 Báo cáo năm 2024 (01/12/2023 – 30/11/2024) · Huyện Tam Đường" in text
    assert "2 đợt hiến máu, vận động 1.044 lượt người, tiếp nhận 671/550 đơn vị máu (122%)." in text
    assert (
        "1. 05/07/2024 · Trung tâm Văn hoá huyện Tam Đường: 532 người, 325/250 đơn vị (130%)"
        in (text)
    )
    assert "2. 22/11/2024 · Trường THPT Tam Đường: 512 người, 346/300 đơn vị (115%)" in text
    assert "• Huyện Tam Đường: 671/550 đơn vị (122%)" in text
    assert "• 5 lần: 1 người" in text and "• lần đầu: 520 người" in text

    book = load_workbook(io.BytesIO(report_files.workbook(report)))
    assert book.sheetnames == [
        "Tổng hợp",
        "Các đợt",
        "Chỉ tiêu đơn vị",
        "Tôn vinh theo mốc",
        "Danh sách tôn vinh",
    ]
    summary = {row[0]: row[1] for row in book["Tổng hợp"].iter_rows(min_row=2, values_only=True)}
    assert summary["Số đợt hiến máu"] == 2 and summary["Lượt người được vận động"] == 1044
    assert summary["Đơn vị máu tiếp nhận"] == 671 and summary["Chỉ tiêu (đơn vị máu)"] == 550
    assert summary["Tỷ lệ đạt chỉ tiêu (%)"] == 122
    sheet = book["Các đợt"]
    assert [c.value for c in sheet[1]][4:] == [
        "Chỉ tiêu",
        "Người vận động",
        "Đơn vị máu",
        "% chỉ tiêu",
    ]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.column_dimensions["D"].width > 20  # the places fit
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [row[1] for row in rows[:2]] == ["05/07/2024", "22/11/2024"]
    assert [row[4:] for row in rows] == [
        (250, 532, 325, 130),
        (300, 512, 346, 115),
        (550, 1044, 671, 122),
    ]
    assert rows[-1][2] == "Tổng cộng"
    quota_row = next(book["Chỉ tiêu đơn vị"].iter_rows(min_row=2, values_only=True))
    assert quota_row[0] == "LCU-TD" and quota_row[3:] == (550, 2, 550, 671, 122)
    milestones = list(book["Tôn vinh theo mốc"].iter_rows(min_row=2, values_only=True))
    assert milestones == [(5, 1), (1, 520)]
    names = list(book["Danh sách tôn vinh"].iter_rows(min_row=2, values_only=True))
    assert len(names) == 521 and names[0] == (5, "Người hiến 0000", "Huyện Tam Đường", "05/07/2024")

    chart = report_files.chart_png(report)
    assert chart.startswith(b"\x89PNG\r\n\x1a\n") and len(chart) > 5_000

    async with database.work() as work:
        audit = await work.session.scalar(select(Audit).where(Audit.action == "report.year"))
    assert audit is not None and audit.actor == "cli"
    assert audit.details == {"year": 2024, "unit": "LCU-TD", "drives": 2, "honours": 521}


async def test_without_a_unit_the_report_covers_every_district(database: Database) -> None:
    sample = await load_tamduong_2024(database, quota=False)
    async with database.work() as work:
        report = await reports.year_report(work, 2024, Actor("cli"))
    assert [d.date for d in report.drives] == [
        dt.date(2024, 7, 5),
        dt.date(2024, 8, 1),
        dt.date(2024, 11, 22),
    ]
    assert (report.people, report.units, report.target) == (1054, 681, 650)
    assert report.quotas == ()
    assert (
        dict(report.honours_by_milestone())[1] == sample.first_timers + sample.other_district_donors
    )
    text = report_text(report)
    assert "Chỉ tiêu theo đơn vị" not in text
    assert "3 đợt hiến máu, vận động 1.054 lượt người, tiếp nhận 681/650 đơn vị máu (105%)." in text


async def test_a_year_without_drives_still_makes_a_workbook_and_a_chart(database: Database) -> None:
    await load_units(database)
    async with database.work() as work:
        report = await reports.year_report(work, 2030, Actor("cli"), "LCU")
    assert report.drives == () and report.percent is None
    assert "0 đợt hiến máu, vận động 0 lượt người, tiếp nhận 0 đơn vị máu." in report_text(report)
    assert "Chưa có ai đạt mốc tôn vinh." in report_text(report)
    book = load_workbook(io.BytesIO(report_files.workbook(report)))
    assert "Chỉ tiêu đơn vị" not in book.sheetnames
    assert report_files.chart_png(report).startswith(b"\x89PNG")


async def test_only_committee_members_of_the_unit_and_admins_may_report(
    database: Database,
) -> None:
    await load_units(database)
    outsider = await add_person(
        database, "bcd-tu", "Lò Văn Tú", "+84912000101", role="committee", unit="LCU-TU"
    )
    province = await add_person(
        database, "bcd", "Nguyễn Minh Đức", "+84912000102", role="committee", unit="LCU"
    )
    chair = await add_person(database, "chair", "Phạm Chủ", "+84912000103", role="club_chair")
    admin = await add_person(database, "admin", "Quản Trị", "+84912000104", role="admin")
    async with database.work() as work:
        for person_id in (outsider, chair):
            with pytest.raises(NotAllowed):
                await reports.year_report(work, 2024, Actor("t", person_id), "LCU-TD")
        with pytest.raises(NotAllowed):  # the whole country: admins only
            await reports.year_report(work, 2024, Actor("t", province))
        await reports.year_report(work, 2024, Actor("t", province), "LCU-TD")
        await reports.year_report(work, 2024, Actor("t", admin))
        with pytest.raises(NotFound):
            await reports.year_report(work, 2024, Actor("cli"), "NOWHERE")
        with pytest.raises(InvalidInput):
            await reports.year_report(work, 1999, Actor("cli"))


# Tallies ---------------------------------------------------------------------------------------


async def _pledges(database: Database, drive_id: int, people: list[int], **values: object) -> None:
    async with database.work() as work:
        now = work.now()
        await work.session.execute(
            insert(Pledge),
            [
                {
                    "person_id": person_id,
                    "drive_id": drive_id,
                    "status": "pledged",
                    "channel": "console",
                    "created_at": now,
                    "updated_at": now,
                    **values,
                }
                for person_id in people
            ],
        )


async def _donations(database: Database, drive_id: int | None, people: list[int]) -> None:
    async with database.work() as work:
        await work.session.execute(
            insert(Donation),
            [
                {
                    "person_id": person_id,
                    "donated_on": TODAY,
                    "drive_id": drive_id,
                    "kind": "whole_blood",
                    "verified": True,
                    "created_at": work.now(),
                }
                for person_id in people
            ],
        )


async def _tally_sample(database: Database) -> tuple[int, int, list[int]]:
    """Today's drive in Tam Đường: 6 pledged (one withdrew), 4 checked in, 3 gave blood; an open
    drive next month; one in another district."""
    await load_units(database)
    today = await add_drive(database, TODAY, unit_code="LCU-TD")
    later = await add_drive(
        database, dt.date(2026, 12, 20), "Trường THPT Tam Đường", unit_code="LCU-TD"
    )
    await add_drive(database, TODAY, "Huyện Than Uyên", unit_code="LCU-TU")
    donors = [
        await add_person(database, f"d{n}", "Người Hiến", f"+8491240000{n}") for n in range(7)
    ]
    came = dt.datetime(2026, 11, 26, 8, tzinfo=dt.UTC)
    await _pledges(database, today, donors[:4], status="attended", checked_in_at=came)
    await _pledges(database, today, donors[4:6])
    await _pledges(database, today, donors[6:], status="cancelled")
    await _pledges(database, later, donors[:2])
    await _donations(database, today, donors[:3])
    async with database.work() as work:
        unit = await units.by_code(work, "LCU-TD")
        assert unit is not None
        work.session.add(
            Quota(
                unit_id=unit.id,
                year=2026,
                target_units=500,
                months=[],
                source="t",
                created_at=work.now(),
                updated_at=work.now(),
            )
        )
    return today, later, donors


async def test_the_tally_counts_pledges_check_ins_and_donations_against_targets(
    database: Database,
) -> None:
    today, later, _donors = await _tally_sample(database)
    committee = await add_person(
        database, "bcd", "Nguyễn Minh Đức", "+84912000003", role="committee", unit="LCU-TD"
    )
    async with database.work() as work:
        tally = await tallies.for_person(work, committee)
    assert not tally.clubs and tally.unit_name == "Huyện Tam Đường, Tỉnh Lai Châu"
    assert [(f.drive.id, f.pledged, f.checked_in, f.donated) for f in tally.today] == [
        (today, 6, 4, 3)
    ]
    assert [(f.drive.id, f.pledged, f.checked_in, f.donated) for f in tally.upcoming] == [
        (later, 2, 0, 0)
    ]
    assert (tally.year, tally.year_donations, tally.year_target) == (2026, 3, 250)
    [quota] = tally.quotas
    assert (quota.code, quota.quota, quota.collected) == ("LCU-TD", 500, 3)
    assert (tally.registrations_today, tally.registrations_year) == (8, 8)
    text = tally_text(tally)
    assert "• 26/11 · Nhà văn hoá xã Bình Lư: 6 đăng ký · 4 đã đến · đã hiến 3/250 đơn vị" in text
    assert "Các đợt đang mở và trong 7 ngày tới:" in text
    assert "• 20/12 · Trường THPT Tam Đường: 2 đăng ký · 0 đã đến · đã hiến 0/250 đơn vị" in text
    assert "Từ 01/12/2025 đến nay: 3/250 đơn vị máu (1%)" in text
    assert "Chỉ tiêu năm 2026 theo đơn vị:\n• Huyện Tam Đường: 3/500 đơn vị (1%)" in text
    assert "Người đăng ký mới: hôm nay 8, từ 01/12/2025: 8" in text
    assert "Than Uyên" not in text


async def test_a_chair_sees_the_figures_of_their_club_members(database: Database) -> None:
    today, _later, donors = await _tally_sample(database)
    chair = await add_person(database, "chair", "Phạm Chủ", "+84912000005")
    async with database.work() as work:
        parent = await units.by_code(work, "LCU-TD")
        assert parent is not None
        club = Unit(
            code="LCU-TD-CLB",
            name="CLB Hiến máu Tam Đường",
            kind="club",
            parent_id=parent.id,
            search_name="clb hien mau tam duong",
            club_kind="regular",
        )
        work.session.add(club)
        await work.session.flush()
        joined = work.now() - dt.timedelta(days=30)
        for person_id, at in ((donors[0], joined), (donors[4], joined), (chair, work.now())):
            work.session.add(ClubMember(club_id=club.id, person_id=person_id, joined_at=at))
        person = await persons.get(work, chair)
        assert person is not None
        await roles.grant(work, person, Role.CLUB_CHAIR, "LCU-TD-CLB", Actor("t"))
    async with database.work() as work:
        tally = await tallies.for_person(work, chair)
    assert tally.clubs and tally.members == 3
    # donors[0] pledged, came and gave; donors[4] pledged only; the drive's target stays.
    assert [(f.drive.id, f.pledged, f.checked_in, f.donated) for f in tally.today] == [
        (today, 2, 1, 1)
    ]
    assert [(f.pledged, f.checked_in, f.donated) for f in tally.upcoming] == [(1, 0, 0)]
    assert (tally.year_donations, tally.year_target) == (1, 0)
    assert (tally.registrations_today, tally.registrations_year) == (1, 3)
    text = tally_text(tally)
    assert "Số liệu của 3 thành viên câu lạc bộ." in text
    assert "2 đăng ký · 1 đã đến · đã hiến 1/250 đơn vị" in text
    assert "Từ 01/12/2025 đến nay: 1 đơn vị máu" in text
    assert "Thành viên mới: hôm nay 1, từ 01/12/2025: 3" in text


async def test_donors_and_volunteers_have_no_tally(database: Database) -> None:
    await load_units(database)
    donor = await add_person(database, "d", "Người Hiến", "+84912000006")
    volunteer = await add_person(database, "v", "Tình Nguyện", "+84912000007", role="volunteer")
    async with database.work() as work:
        for person_id in (donor, volunteer):
            with pytest.raises(NotAllowed):
                await tallies.for_person(work, person_id)
            with pytest.raises(NotAllowed):
                await tallies.set_subscription(work, person_id, True, Actor("t", person_id))
