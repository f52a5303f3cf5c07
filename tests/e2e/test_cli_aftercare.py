"""After the drive through `hienmau jobs tick --now` and `hienmau console`, as an operator runs
them: the thank-you that evening, "we missed you" the next morning, then the call list."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from db.engine import create_engine
from services.clock import FixedClock
from services.rules import Rules
from services.work import Database
from tests.conftest import NOW, ZONE
from tests.e2e.test_cli import run
from tests.e2e.test_console_aftercare import INSTITUTION, record_donation, setup


async def populate(url: str) -> None:
    database = Database(create_engine(url), FixedClock(NOW), Rules(), ZONE)
    try:
        ids = await setup(database)
        await record_donation(database, ids, "lan")
    finally:
        await database.dispose()


@pytest.mark.slow
def test_jobs_tick_sends_the_thanks_then_the_follow_up_and_the_volunteer_calls(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bot.sqlite3"
    (tmp_path / "config.toml").write_text(f'[database]\nurl = "sqlite:///{db}"\n')
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    asyncio.run(populate(f"sqlite:///{db}"))

    evening = run(["jobs", "tick", "--now", "2026-11-26T19:00+07:00"], tmp_path)
    assert evening.returncode == 0, evening.stderr
    assert "[→ lan] ❤️ Cảm ơn bạn đã đến hiến máu tại Nhà văn hoá xã Bình Lư!" in evening.stdout
    assert f"Ngày hội hôm nay thu được 1 đơn vị máu, chuyển về {INSTITUTION}." in evening.stdout
    assert "[→ tu]" not in evening.stdout
    assert "after the drive 1," in evening.stdout  # the summary line counts it

    morning = run(["jobs", "tick", "--now", "2026-11-27T09:00+07:00"], tmp_path)
    assert morning.returncode == 0, morning.stderr
    assert "[→ tu] 💛 Ngày hội hiến máu hôm qua tại Nhà văn hoá xã Bình Lư" in morning.stdout
    assert "  4. 🩺 Bị hoãn hiến tại chỗ" in morning.stdout
    assert "after the drive 2," in morning.stdout  # the message and the call-list entry
    again = run(["jobs", "tick", "--now", "2026-11-27T09:05+07:00"], tmp_path)
    assert "[→ tu]" not in again.stdout  # once

    calls = run(["console", "--user", "vol"], tmp_path, "/calls\n1\n2\nGọi lại sau 18h\n")
    assert "1. Vũ Văn Tú · 0912 300 003" in calls.stdout, calls.stdout[-1500:]
    assert "Đã ghi: Vũ Văn Tú — không nghe máy." in calls.stdout
    assert "Đã lưu ghi chú" in calls.stdout
