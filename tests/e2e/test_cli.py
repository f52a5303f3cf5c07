"""The `hienmau` command as a user runs it: real processes, piped input, real database files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HIENMAU = [sys.executable, "-m", "bot"]


def run(
    args: list[str],
    cwd: Path,
    stdin: str = "",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HIENMAU_")}
    environment.update(env or {})
    return subprocess.run(
        [*HIENMAU, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )


@pytest.mark.slow
def test_demo_registers_a_donor_from_a_piped_script(tmp_path: Path) -> None:
    script = (
        "\n".join(
            [
                "1",
                "1",
                "1",
                "Nguyễn Văn An",
                "0912 345 678",
                "15/03/1995",
                "1",
                "3",
                "tam duong",
                "1",
                "58",
                "1",
                "/drives",
                "1",  # the first drive's card
                "1",  # pledge
                "2",  # the 09:00-10:30 slot
                "/quit",
            ]
        )
        + "\n"
    )
    result = run(["demo"], tmp_path, script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "trợ lý tự động" in out
    assert "Cảm ơn Nguyễn Văn An! Bạn đã đăng ký thành công" in out
    assert "Các đợt hiến máu sắp tới" in out and "Chỉ tiêu: 160 đơn vị máu" in out
    assert "Bạn đã đăng ký khung 09:00–10:30" in out
    assert (tmp_path / "demo.sqlite3").exists()
    # A second run keeps the data: the donor is welcomed back.
    again = run(["demo"], tmp_path, "/quit\n")
    assert "Chào mừng Nguyễn Văn An quay lại" in again.stdout
    volunteer = run(["demo", "--as", "volunteer"], tmp_path, "/help\n")
    assert "Chào mừng Trần Văn Hùng quay lại" in volunteer.stdout
    assert "/adddonor" in volunteer.stdout


@pytest.mark.slow
def test_console_against_a_configured_database(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    (tmp_path / "config.toml").write_text(f'[database]\nurl = "sqlite:///{db}"\n')
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    units = tmp_path / "units.csv"
    units.write_text(
        "code,name,kind,parent_code\nHN,Thành phố Hà Nội,province,\n"
        "HN-BK,Phường Bách Khoa,commune,HN\n"
    )
    imported = run(["units", "import", str(units)], tmp_path)
    assert "2 created" in imported.stdout, imported.stderr
    script = "/start\n1\n1\n1\nĐỗ Văn Nam\n0912345670\n1990\nnam\nA+\nbach khoa\n1\n1\n1\n"
    chat = run(["console", "--user", "nam"], tmp_path, script)
    assert "đăng ký thành công" in chat.stdout, chat.stdout[-2000:]
    granted = run(["grant", "volunteer", "--unit", "HN-BK", "--phone", "0912 345 670"], tmp_path)
    assert "granted volunteer" in granted.stdout, granted.stderr
    help_text = run(["console", "--user", "nam"], tmp_path, "/help\n")
    assert "/adddonor" in help_text.stdout
    unknown = run(["grant", "volunteer", "--unit", "HN-BK", "--phone", "0912 999 999"], tmp_path)
    assert unknown.returncode == 1


@pytest.mark.slow
def test_a_bad_config_stops_with_one_line_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[schedule]\ntimezone = "Mars/Olympus"\n')
    result = run(["db", "upgrade"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "config: [schedule] timezone: unknown time zone 'Mars/Olympus'"
    result = run(["run"], tmp_path, env={"HIENMAU_DATABASE_URL": "oracle://x"})
    assert result.returncode == 2 and "[database] url" in result.stderr


@pytest.mark.slow
def test_plan_import_prints_each_drive_and_the_totals_and_is_idempotent(tmp_path: Path) -> None:
    plan = Path(__file__).resolve().parents[2] / "examples" / "plan-laichau-2019.csv"
    dry = run(["plan", "import", str(plan), "--year", "2019", "--dry-run"], tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "would import 19 drives, total target 2300 units" in dry.stdout
    first = run(["plan", "import", str(plan), "--year", "2019"], tmp_path)
    lines = first.stdout.strip().splitlines()
    assert len(lines) == 20 and lines[-1].startswith("imported 19 drives, total target 2300 units")
    assert "Đợt 1" in lines[0] and "28/12/2018" in lines[0] and "160" in lines[0]
    again = run(["plan", "import", str(plan), "--year", "2019"], tmp_path)
    assert "(0 new, 0 updated, 19 unchanged)" in again.stdout
    listed = run(["drives", "list", "--from", "01/01/2019"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip().splitlines()[-1] == "18 drives, total target 2140 units"


@pytest.mark.slow
def test_plan_import_refuses_a_bad_file_and_imports_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "plan.csv"
    bad.write_text(
        "Đợt,Ngày,Địa điểm,Chỉ tiêu\n1,12/01/2019,Trạm Y tế xã,100\n2,31/02/2019,Trường THPT,-5\n",
        encoding="utf-8",
    )
    refused = run(["plan", "import", str(bad), "--year", "2019"], tmp_path)
    assert refused.returncode == 1
    assert "Dòng 3, cột «Ngày»" in refused.stderr and "Dòng 3, cột «Chỉ tiêu»" in refused.stderr
    assert "nothing imported" in refused.stderr
    skipped = run(["plan", "import", str(bad), "--year", "2019", "--skip-bad"], tmp_path)
    assert skipped.returncode == 0, skipped.stderr
    assert "imported 1 drives, total target 100 units" in skipped.stdout
    missing = run(["plan", "import", str(tmp_path / "none.csv"), "--year", "2019"], tmp_path)
    assert missing.returncode == 1 and "cannot read" in missing.stderr
