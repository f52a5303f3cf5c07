"""Mobilisation analytics through the console: `/lapsed` and its one-tap broadcast, `/analytics`
with the funnel, the campaign chart and the honours list; and `hienmau analytics`, `hienmau
honours`, `hienmau campaign` on the command line."""

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
from db.models import Broadcast, Donation, Outbox, Person
from services.clock import FixedClock
from services.rules import Rules
from services.work import Database
from tests.conftest import NOW, ZONE
from tests.sample import add_person, load_units

REFUSED = "dành cho người có vai trò"


async def _history(database: Database) -> dict[str, int]:
    """A committee member of Tam Đường, two lapsed donors, one recent donor, honours due."""
    await load_units(database)
    ids = {
        "bcd": await add_person(
            database, "bcd", "Nguyễn Minh Đức", "+84912000003", role="committee", unit="LCU-TD"
        ),
        "chair": await add_person(database, "chair", "Phạm Chủ", "+84912000005", role="club_chair"),
        "lan": await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001"),
        "binh": await add_person(database, "binh", "Lê Văn Bình", "+84912300002"),
        "hoa": await add_person(database, "hoa", "Trần Thị Hoa", "+84912300003"),
    }
    history = {
        "lan": ["2025-12-20"],  # eligible since 14/03/2026: lapsed
        "binh": ["2025-02-01", "2025-06-01", "2025-09-01", "2025-11-10", "2026-02-10"],
        "hoa": ["2026-09-20"],  # eligible again on 14/12/2026
    }
    async with database.work() as work:
        for user, days in history.items():
            person = await work.session.get(Person, ids[user])
            assert person is not None
            for day in days:
                work.session.add(
                    Donation(
                        person_id=person.id,
                        donated_on=dt.date.fromisoformat(day),
                        kind="whole_blood",
                        verified=True,
                        created_at=work.now(),
                    )
                )
            last = dt.date.fromisoformat(days[-1])
            person.next_eligible_on = last + dt.timedelta(days=84)
    return ids


async def test_a_committee_member_finds_lapsed_donors_and_invites_them_back_in_one_tap(
    database: Database, chat_factory, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ids = await _history(database)
    chat = chat_factory("bcd")
    helped = await chat.say("/help")
    assert "/analytics" in helped and "/lapsed" in helped and "/honours" in helped
    shown = await chat.say("/lapsed")
    assert "😴 Lâu chưa quay lại hiến máu · Huyện Tam Đường, Tỉnh Lai Châu" in shown
    assert "2 người đã đủ điều kiện hiến lại hơn 6 tháng mà chưa đăng ký đợt nào" in shown
    assert "1. Nguyễn Thị Lan · hiến gần nhất 20/12/2025 · đủ điều kiện từ 14/03/2026" in shown
    assert "2. Lê Văn Bình · hiến gần nhất 10/02/2026 · đủ điều kiện từ 05/05/2026" in shown
    assert "Trần Thị Hoa" not in shown

    asked = await chat.choose("Nhắn mời họ quay lại")
    assert "Nội dung thông báo?" in asked
    preview = await chat.say("Lâu rồi chưa gặp bạn ở điểm hiến máu. Hẹn bạn đợt tới nhé!")
    assert "Sẽ gửi tới 2 người" in preview
    done = await chat.choose("Gửi")
    assert "Đã xếp lịch gửi tới 2 người" in done
    async with database.work() as work:
        [broadcast] = list(await work.session.scalars(select(Broadcast)))
        assert broadcast.audience["lapsed"] is True
        queued = set(
            await work.session.scalars(
                select(Outbox.person_id).where(Outbox.broadcast_id == broadcast.id)
            )
        )
    assert queued == {ids["lan"], ids["binh"]}

    overview = await chat.say("/analytics 2026")
    assert "🔁 Người hiến quay lại, năm 2026 (01/12/2025 – 30/11/2026)" in overview
    # Windows of the year closed by 05/08/2026: Lan's (14/03) and Bình's (02/02: back on 10/02;
    # 05/05: not back). Hoa's (14/12) is still open.
    assert "Quay lại trong 16 tuần sau khi đủ điều kiện: 1/3 lượt (33,3%)" in overview
    assert "Người hiến nhắc lại (đã hiến trước năm nay): 1/3 người (33,3%)." in overview
    funnel = await chat.choose("Hiệu quả tin nhắn")
    assert "📨 Hiệu quả tin nhắn năm 2026" in funnel
    assert (
        "Thông báo của CLB, Ban chỉ đạo: gửi 2 → nhận 0 (0%) → đăng ký 0 (–) → hiến 0 (–)" in funnel
    )
    assert "  tháng 11/2026: gửi 2 → nhận 0 (0%)" in funnel
    await chat.say("/analytics 2026")
    progress = await chat.choose("Tiến độ chiến dịch")
    assert "📈 Tiến độ năm 2026 · Huyện Tam Đường" in progress
    assert "Chưa đặt tỷ lệ chiến dịch cho năm này." in progress
    chart = chat.replies[-1].attachment
    assert chart is not None and chart.content.startswith(b"\x89PNG")
    await chat.say("/analytics 2026")
    honours = await chat.choose("Danh sách tôn vinh")
    assert "🏅 Tôn vinh năm 2026" in honours and "• 5 lần: 1 người" in honours
    book = chat.replies[-1].attachment
    assert book is not None and book.filename == "ton-vinh-2026.xlsx"
    sheet = load_workbook(io.BytesIO(book.content))["Huyện Tam Đường"]
    assert [c.value for c in sheet[3]][1:7] == ["Lê Văn Bình", 1990, "Nam", "Huyện Tam Đường", 5, 5]

    assert "chưa đúng" in await chat.say("/analytics hai")
    # A chair sees analytics of their clubs' members (none here) but not the honours list.
    chair = chat_factory("chair")
    assert "0 người đã đủ điều kiện" in await chair.say("/lapsed")
    assert REFUSED in await chair.say("/honours 2026")
    assert REFUSED in await chat_factory("lan").say("/lapsed")
    assert REFUSED in await chat_factory("lan").say("/analytics")


# ---------------------------------------------------------------------------- the CLI


def _run(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HIENMAU_")}
    environment["HIENMAU_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )


@pytest.mark.slow
def test_hienmau_honours_writes_the_ceremony_list_and_campaign_draws_its_chart(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    upgrade(url)

    async def fill() -> None:
        database = Database(create_engine(url), FixedClock(NOW), Rules(), ZONE)
        try:
            await _history(database)
        finally:
            await database.dispose()

    asyncio.run(fill())
    xlsx = tmp_path / "ton-vinh.xlsx"
    result = _run(tmp_path, url, "honours", "--year", "2026", "--unit", "LCU", "--xlsx", str(xlsx))
    assert result.returncode == 0, result.stderr
    assert "🏅 Tôn vinh năm 2026 (01/12/2025 – 30/11/2026) · Tỉnh Lai Châu" in result.stdout
    assert f"wrote {xlsx}" in result.stdout
    book = load_workbook(xlsx)
    assert book.sheetnames == ["Tổng hợp", "Huyện Tam Đường"]
    summary = [row for row in book["Tổng hợp"].iter_rows(values_only=True)]
    assert ("Số người đạt mốc", 1) in [row[:2] for row in summary]
    assert ("Mốc (số lần hiến)", "Số người") in [row[:2] for row in summary]
    rows = list(book["Huyện Tam Đường"].iter_rows(min_row=3, values_only=True))
    assert rows == [
        (1, "Lê Văn Bình", 1990, "Nam", "Huyện Tam Đường", 5, 5, "10/02/2026", "+84912300002")
    ]
    default = _run(tmp_path, url, "honours", "--year", "2026")
    assert default.returncode == 0 and (tmp_path / "ton-vinh-2026.xlsx").exists()

    bad = _run(
        tmp_path, url, "campaign", "set", "--year", "2026", "--unit", "LCU-TD", "1-3:60,3:50"
    )
    assert bad.returncode == 1
    assert bad.stderr.strip() == "hienmau: Tháng 3 nằm trong cả «1-3:60» và «3:50»."
    good = _run(
        tmp_path, url, "campaign", "set", "--year", "2026", "--unit", "LCU-TD", "1-3:20,4:10,5-9:35"
    )
    assert good.returncode == 0, good.stderr
    assert "1-3:20,4:10,5-9:35 (total 65%)" in good.stdout
    shown = _run(tmp_path, url, "campaign", "show", "--year", "2026")
    assert "[LCU-TD] 📈 Tiến độ năm 2026 · Huyện Tam Đường" in shown.stdout
    assert "Chiến dịch: tháng 1–3: 20%, tháng 4: 10%, tháng 5–9: 35%" in shown.stdout
    png = tmp_path / "tien-do.png"
    chart = _run(
        tmp_path,
        url,
        "analytics",
        "campaign",
        "--year",
        "2026",
        "--unit",
        "LCU-TD",
        "--chart",
        str(png),
    )
    assert chart.returncode == 0, chart.stderr
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5_000
    repeat = _run(tmp_path, url, "analytics", "repeat", "--year", "2026")
    assert "Người hiến nhắc lại (đã hiến trước năm nay): 1/3 người (33,3%)." in repeat.stdout
    lapsed = _run(tmp_path, url, "analytics", "lapsed", "--unit", "LCU-TD")
    assert lapsed.returncode == 0, lapsed.stderr
    assert "Nguyễn Thị Lan" in lapsed.stdout
    funnel = _run(tmp_path, url, "analytics", "funnel", "--year", "2026", "--unit", "LCU-TD")
    assert funnel.returncode == 0 and "Báo đợt hiến máu mới: gửi 0" in funnel.stdout
    unknown = _run(tmp_path, url, "analytics", "repeat", "--unit", "NOWHERE")
    assert unknown.returncode == 1 and "NOWHERE" in unknown.stderr
