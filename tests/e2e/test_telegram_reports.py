"""Tallies, the year's report and the audit trail on Telegram: the real PTB Application against
the fake Bot API server."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from services.roles import Role
from services.work import Database
from tests.e2e.test_telegram import Harness, add_telegram_person
from tests.sample_tamduong import load_tamduong_2024

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def test_committee_gets_the_report_files_and_the_tally_and_admins_the_audit(
    telegram: Harness, database: Database
) -> None:
    await load_tamduong_2024(database)
    await add_telegram_person(database, 6001, "Nguyễn Minh Đức", "0912000601", Role.COMMITTEE)
    await add_telegram_person(database, 6002, "Quản Trị Viên", "0912000602", Role.ADMIN)
    member, admin = telegram.api.user(6001, "Đức"), telegram.api.user(6002, "Quản")
    api = telegram.api

    seen = len(api.sent(member.id))
    shown = await telegram.say(member, "/report 2024")
    assert "tiếp nhận 671/550 đơn vị máu (122%)" in shown
    documents = [m for m in api.sent(member.id)[seen:] if m.method == "sendDocument"]
    assert [d.message["document"]["file_name"] for d in documents] == [
        "bao-cao-hien-mau-2024.xlsx",
        "bieu-do-hien-mau-2024.png",
    ]
    book = load_workbook(io.BytesIO(bytes(documents[0].params["document"])))
    assert book["Tổng hợp"]["B7"].value == 1044  # people mobilised
    assert bytes(documents[1].params["document"]).startswith(b"\x89PNG")

    tally = await telegram.say(member, "/tally")
    assert "📊 Báo cáo ngày 26/11/2026 · Huyện Tam Đường" in tally
    assert "Hôm nay không có đợt hiến máu." in tally
    assert "lệnh này dành cho người có vai trò" in (await telegram.say(member, "/audit")).lower()

    trail = await telegram.say(admin, "/audit")
    assert "Nguyễn Minh Đức · report.year (year=2024, unit=LCU-TD, drives=2)" in trail
