"""Mobilisation analytics on Telegram: the real PTB Application against the fake Bot API
server. `/honours` sends the ceremony list as a document; `/lapsed` offers the one-tap
broadcast as an inline button."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from db.models import Donation, Person
from services.roles import Role
from services.work import Database
from tests.e2e.test_telegram import Harness, add_telegram_person
from tests.sample import load_units

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def test_a_committee_member_gets_the_honours_workbook_and_the_lapsed_list(
    telegram: Harness, database: Database
) -> None:
    await load_units(database)
    await add_telegram_person(database, 7001, "Nguyễn Minh Đức", "0912000701", Role.COMMITTEE)
    donor = await add_telegram_person(database, 7002, "Lò Thị Mai", "0912000702")
    async with database.work() as work:
        for day in ("2025-01-10", "2025-04-10", "2025-07-10", "2025-10-10", "2026-01-10"):
            work.session.add(
                Donation(
                    person_id=donor,
                    donated_on=dt.date.fromisoformat(day),
                    kind="whole_blood",
                    verified=True,
                    created_at=work.now(),
                )
            )
        person = await work.session.get(Person, donor)
        assert person is not None
        person.next_eligible_on = dt.date(2026, 4, 4)
    member = telegram.api.user(7001, "Đức")
    api = telegram.api

    seen = len(api.sent(member.id))
    shown = await telegram.say(member, "/honours 2026")
    assert "🏅 Tôn vinh năm 2026 (01/12/2025 – 30/11/2026)" in shown
    assert "• 5 lần: 1 người" in shown
    [document] = [m for m in api.sent(member.id)[seen:] if m.method == "sendDocument"]
    assert document.message["document"]["file_name"] == "ton-vinh-2026.xlsx"
    book = load_workbook(io.BytesIO(bytes(document.params["document"])))
    assert book.sheetnames == ["Tổng hợp", "Huyện Tam Đường"]
    assert book["Huyện Tam Đường"]["B3"].value == "Lò Thị Mai"

    lapsed = await telegram.say(member, "/lapsed")
    assert "1. Lò Thị Mai · hiến gần nhất 10/01/2026 · đủ điều kiện từ 04/04/2026" in lapsed
    _sent, asked = await telegram.press(member, "Nhắn mời họ quay lại")
    assert "Nội dung thông báo?" in asked
