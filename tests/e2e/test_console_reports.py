"""Reports, tallies and the audit trail through the console and the `hienmau` command:
`/report` and `hienmau report` for the Tam Đường 2024 figures, `/tally` and the daily message
for a club chair, `/audit` for admins only."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from db.engine import create_engine
from db.migrate import upgrade
from db.models import Audit, ClubMember, Outbox, Unit
from services import audit_log, persons, pledges, reports, roles
from services.audit import Actor
from services.clock import FixedClock
from services.errors import NotAllowed
from services.persons import DonorDraft, Purpose
from services.roles import Role
from services.rules import Rules
from services.validation import Birth
from services.work import Database
from tests.conftest import NOW, ZONE
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive
from tests.sample_tamduong import load_tamduong_2024
from tests.service.test_scheduler import Inbox, at, ticker

REFUSED = "dành cho người có vai trò phù hợp"


# /report -------------------------------------------------------------------------------------


async def test_a_committee_member_gets_the_year_report_with_its_workbook_and_chart(
    database: Database, chat_factory, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    await load_tamduong_2024(database)
    await add_person(
        database, "bcd", "Nguyễn Minh Đức", "+84912000003", role="committee", unit="LCU-TD"
    )
    chat = chat_factory("bcd")
    shown = await chat.say("/report 2024")
    assert "📈 Báo cáo năm 2024 (01/12/2023 – 30/11/2024) · Huyện Tam Đường" in shown
    assert "2 đợt hiến máu, vận động 1.044 lượt người, tiếp nhận 671/550 đơn vị máu (122%)." in (
        shown
    )
    assert "346/300 đơn vị (115%)" in shown and "• 5 lần: 1 người" in shown
    _text, workbook, chart = chat.replies
    assert workbook.attachment is not None and chart.attachment is not None
    assert workbook.attachment.filename == "bao-cao-hien-mau-2024.xlsx"
    book = load_workbook(io.BytesIO(workbook.attachment.content))
    drives = list(book["Các đợt"].iter_rows(min_row=2, values_only=True))
    assert [row[4:] for row in drives][-1] == (550, 1044, 671, 122)
    assert chart.attachment.content.startswith(b"\x89PNG")
    assert (tmp_path / "bieu-do-hien-mau-2024.png").stat().st_size > 5_000  # saved by the console
    assert "chưa đúng" in await chat.say("/report hai nghìn")
    # This year's (reporting year 2026): nothing recorded yet, still an answer and files.
    assert "0 đợt hiến máu" in await chat.say("/report")
    # A chair and a donor are refused by the router; the service refuses them too.
    chair = await add_person(database, "chair", "Phạm Chủ", "+84912000005", role="club_chair")
    assert REFUSED in await chat_factory("chair").say("/report 2024")
    assert REFUSED in await chat_factory("stranger").say("/report 2024")
    async with database.work() as work:
        reads = list(await work.session.scalars(select(Audit).where(Audit.action == "report.year")))
        assert len(reads) == 2 and all(r.actor == "console:bcd" for r in reads)
        with pytest.raises(NotAllowed):
            await reports.year_report(work, 2024, Actor("console:chair", chair), "LCU-TD")


@pytest.mark.slow
def test_hienmau_report_prints_the_summary_and_writes_the_files(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    url = f"sqlite:///{db}"
    upgrade(url)

    async def fill() -> None:
        database = Database(create_engine(url), FixedClock(NOW), Rules(), ZONE)
        try:
            await load_tamduong_2024(database)
        finally:
            await database.dispose()

    asyncio.run(fill())
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HIENMAU_")}
    environment["HIENMAU_DATABASE_URL"] = url
    xlsx, png = tmp_path / "bao-cao.xlsx", tmp_path / "bieu-do.png"
    command = [sys.executable, "-m", "bot", "report", "--year", "2024", "--unit", "LCU-TD"]
    result = subprocess.run(
        [*command, "--xlsx", str(xlsx), "--chart", str(png)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "2 đợt hiến máu, vận động 1.044 lượt người, tiếp nhận 671/550 đơn vị máu (122%)." in out
    assert (
        "1. 05/07/2024 · Trung tâm Văn hoá huyện Tam Đường: 532 người, 325/250 đơn vị (130%)"
        in (out)
    )
    assert f"wrote {xlsx}" in out and f"wrote {png}" in out
    summary = load_workbook(xlsx)["Tổng hợp"]
    assert {row[0]: row[1] for row in summary.iter_rows(values_only=True)}[
        "Lượt người được vận động"
    ] == 1044
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5_000
    unknown = subprocess.run(
        [*command[:-1], "NOWHERE"], cwd=tmp_path, capture_output=True, text=True, env=environment
    )
    assert unknown.returncode == 1 and "NOWHERE" in unknown.stderr


# /tally for a chair, and their daily message ---------------------------------------------------


async def test_a_chair_tallies_their_club_and_gets_the_daily_message(
    database: Database, clock: FixedClock, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    drive_id = await add_drive(database, dt.date(2026, 11, 26), unit_code="LCU-TD", status="open")
    chair = await add_person(database, "chair", "Phạm Chủ", "+84912000005")
    member = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    await add_person(database, "other", "Người Khác", "+84912300002")
    async with database.work() as work:
        parent = await work.session.scalar(select(Unit).where(Unit.code == "LCU-TD"))
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
        for person_id in (chair, member):
            work.session.add(ClubMember(club_id=club.id, person_id=person_id, joined_at=work.now()))
        person = await persons.get(work, chair)
        assert person is not None
        await roles.grant(work, person, Role.CLUB_CHAIR, club.code, Actor("t"))
    for person_id in (member, chair):
        async with database.work() as work:
            person = await persons.get(work, person_id)
            assert person is not None
            await pledges.pledge(work, person, drive_id, None, Actor("t"))
    chat = chat_factory("chair")
    assert "/tally" in await chat.say("/help")
    shown = await chat.say("/tally")
    assert "Số liệu của 2 thành viên câu lạc bộ." in shown
    assert "2 đăng ký · 0 đã đến · đã hiến 0/250 đơn vị" in shown
    assert "Thành viên mới: hôm nay 2" in shown
    await chat.choose("Nhận báo cáo")
    inbox = Inbox()
    clock.set(at(26, 18, 0, month=11))
    await ticker(database, inbox).tick()
    [daily] = inbox.to("chair")
    assert "Báo cáo ngày 26/11/2026" in daily and "Số liệu của 2 thành viên" in daily
    async with database.work() as work:
        row = await work.session.scalar(select(Outbox).where(Outbox.key == "daily_tally"))
        assert row is not None and row.params["clubs"] is True
    assert REFUSED in await chat_factory("lan").say("/tally")


# /audit ----------------------------------------------------------------------------------------


async def test_admins_read_the_audit_trail_and_committee_members_may_not(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    await add_person(database, "admin", "Quản Trị Viên", "+84912000009", role="admin", unit="LCU")
    committee = await add_person(
        database, "bcd", "Nguyễn Minh Đức", "+84912000003", role="committee", unit="LCU"
    )
    volunteer = await add_person(database, "tnv", "Trần Văn Hùng", "+84912000004", role="volunteer")
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    gone = await add_person(database, "gone", "Người Sẽ Xoá", "+84912300002")
    async with database.work() as work:
        helper = await persons.get(work, volunteer)
        assert helper is not None
        await persons.register_on_behalf(
            work,
            helper,
            DonorDraft(
                "Lê Văn Bình",
                "+84912300003",
                Birth(1995),
                "male",
                "B+",
                None,
                None,
                frozenset({Purpose.REGISTRATION}),
            ),
            Actor("console:tnv", volunteer, "console"),
        )
    await chat_factory("lan").say("/export")
    async with database.work() as work:
        person = await persons.get(work, gone)
        assert person is not None
        await persons.erase(work, person, Actor("console:gone", gone, "console"))

    admin = chat_factory("admin")
    shown = await admin.say("/audit")
    lines = shown.splitlines()
    assert lines[0].startswith("🗂 ") and len([x for x in lines if x.startswith("• ")]) <= 20
    assert "· người đã xoá · person.erase · dữ liệu của: người đã xoá" in shown
    assert "· Nguyễn Thị Lan · person.export · dữ liệu của: Nguyễn Thị Lan" in shown
    assert "· Trần Văn Hùng · person.register_on_behalf · dữ liệu của: Lê Văn Bình" in shown
    assert "· test · role.grant (role=admin, unit=LCU) · dữ liệu của: Quản Trị Viên" in shown

    about_lan = await admin.say("/audit 0912 300 001")
    assert "về số 0912 300 001" in about_lan
    entries = [x for x in about_lan.splitlines() if x.startswith("• ")]
    assert entries and all("Nguyễn Thị Lan" in x for x in entries)
    assert "Lê Văn Bình" not in about_lan
    assert "Không tìm thấy" in await admin.say("/audit 0912999999")
    assert "Số điện thoại chưa đúng" in await admin.say("/audit abc")

    assert REFUSED in await chat_factory("bcd").say("/audit")
    async with database.work() as work:
        with pytest.raises(NotAllowed):
            await audit_log.latest(work, Actor("console:bcd", committee, "console"))
        reads = list(await work.session.scalars(select(Audit).where(Audit.action == "audit.read")))
    assert [r.subject_person_id for r in reads] == [None, lan]  # refusals read nothing
    assert "/audit" in await admin.say("/help")
    assert "/audit" not in await chat_factory("bcd").say("/help")
