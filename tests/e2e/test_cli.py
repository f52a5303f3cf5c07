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
    # An invitation: a one-time link and its QR code; a newcomer follows it and registers.
    invited = run(["grant", "club_chair", "--unit", "HN-BK", "--invite", "--days", "3"], tmp_path)
    assert invited.returncode == 0, invited.stderr
    link = next(line for line in invited.stdout.splitlines() if line.startswith("link: "))
    assert link.startswith("link: /start inv_")
    assert (tmp_path / "invite-club_chair-HN-BK.png").read_bytes().startswith(b"\x89PNG")
    script = f"{link[6:]}\n1\n1\n1\nLê Thị Hoa\n0912345671\n1992\nnữ\nO+\nbach khoa\n1\n1\n1\n"
    newcomer = run(["console", "--user", "hoa"], tmp_path, script)
    assert "vai trò chủ nhiệm CLB tại Phường Bách Khoa" in newcomer.stdout, newcomer.stdout[-1500:]
    again = run(["console", "--user", "x"], tmp_path, f"{link[6:]}\n")
    assert "đã được dùng" in again.stdout


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


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SAMPLE_UNITS = Path(__file__).resolve().parents[2] / "bot" / "sample" / "units-laichau.csv"


def add_thai_nguyen(tmp_path: Path) -> None:
    province = tmp_path / "tinh.csv"
    province.write_text("code,name,kind,parent_code\nTNG,Tỉnh Thái Nguyên,province,\n")
    assert run(["units", "import", str(province)], tmp_path).returncode == 0


@pytest.mark.slow
def test_quota_import_prints_each_quota_and_the_totals_and_is_idempotent(tmp_path: Path) -> None:
    add_thai_nguyen(tmp_path)
    table = EXAMPLES / "quotas-thainguyen-2021.csv"
    command = ["quota", "import", str(table), "--year", "2021", "--parent", "TNG"]
    dry = run([*command, "--dry-run"], tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip().splitlines()[-1] == (
        "would import 29 quotas, total 24500 units (29 new, 0 updated, 0 unchanged; 32 new units)"
    )
    first = run(command, tmp_path)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    assert len(lines) == 33  # three group headings, 29 quotas, the summary
    assert lines[-1].startswith("imported 29 quotas, total 24500 units (29 new")
    assert lines[0].split() == [
        "group", "Đại", "học", "Thái", "Nguyên", "[TNG-DHTN]", "in", "Tỉnh", "Thái", "Nguyên",
        "new", "unit",
    ]  # fmt: skip
    assert lines[1] == (
        "new          800 đv  Đại học Sư phạm [TNG-DHTN-DHSP] in Đại học Thái Nguyên"
        "  months 1,5,11  new unit"
    )
    group_iv = "Các sở, ban, ngành, cơ quan, đơn vị, doanh nghiệp khác trên địa bàn tỉnh"
    assert f"1600 đv  {group_iv} [TNG-CSBNCQDVDNKT] in Tỉnh Thái Nguyên  months 7,8" in lines[-2]
    assert first.stderr == ""  # the total row agrees: no warning

    again = run(command, tmp_path)
    assert "imported 29 quotas, total 24500 units (0 new, 0 updated, 29 unchanged)" in again.stdout
    assert "new unit" not in again.stdout

    changed = tmp_path / "chi-tieu-2021.csv"
    changed.write_text(
        table.read_text(encoding="utf-8").replace("1,Đại học Sư phạm,800", "1,Đại học Sư phạm,850"),
        encoding="utf-8",
    )
    updated = run(["quota", "import", str(changed), "--year", "2021", "--parent", "TNG"], tmp_path)
    assert updated.returncode == 0, updated.stderr
    assert "updated      850 đv  Đại học Sư phạm" in updated.stdout
    assert "months 1,5,11  800 -> 850" in updated.stdout
    assert "(0 new, 1 updated, 28 unchanged)" in updated.stdout
    assert "warning: Dòng 36" in updated.stderr and "24.500 nhưng cộng các dòng được 24.550" in (
        updated.stderr
    )

    listed = run(["quota", "list", "--year", "2021", "--unit", "TNG-DHTN"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.strip().splitlines()
    assert len(rows) == 11
    assert rows[0].split()[:12] == [
        "TNG-DHTN-DHSP", "quota", "850", "drives", "0", "target", "0", "collected", "0", "0%",
        "due", "850",
    ]  # fmt: skip
    assert rows[0].endswith("BEHIND  Đại học Sư phạm in Đại học Thái Nguyên")  # 2021 is over
    assert rows[-1] == ("10 quotas, total 6000 units, drive targets 0, collected 0 (0%), 10 behind")
    everything = run(["quota", "list", "--year", "2021"], tmp_path)
    assert everything.stdout.strip().splitlines()[-1].startswith("29 quotas, total 24550 units")
    none = run(["quota", "list", "--year", "2020"], tmp_path)
    assert none.stdout.strip() == (
        "0 quotas, total 0 units, drive targets 0, collected 0, 0 behind"
    )
    unknown = run(["quota", "list", "--year", "2021", "--unit", "NOPE"], tmp_path)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "hienmau: Không tìm thấy đơn vị có mã NOPE."


@pytest.mark.slow
def test_quota_import_refuses_bad_rows_and_unknown_units_or_drives(tmp_path: Path) -> None:
    bad = tmp_path / "chi-tieu.csv"
    bad.write_text(
        'TT,Đơn vị,Chỉ tiêu,Tháng\n1,Xã Bình Lư,100,"3, 9"\n2,Xã Than Uyên,"1,5",\n'
        "3,Xã Sìn Hồ,50,13\n",
        encoding="utf-8",
    )
    command = ["quota", "import", str(bad), "--year", "2026"]
    refused = run(command, tmp_path)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "Dòng 3, cột «Chỉ tiêu»" in refused.stderr and "Dòng 4, cột «Tháng»" in refused.stderr
    assert "nothing imported: 2 bad row(s)" in refused.stderr
    assert run(["quota", "list", "--year", "2026"], tmp_path).stdout.startswith("0 quotas")
    skipped = run([*command, "--skip-bad"], tmp_path)
    assert skipped.returncode == 0, skipped.stderr
    assert "skipped: Dòng 3, cột «Chỉ tiêu»" in skipped.stderr
    assert skipped.stdout.strip().splitlines()[-1] == (
        "imported 1 quotas, total 100 units (1 new, 0 updated, 0 unchanged; 1 new units, "
        "skipped 2 bad row(s))"
    )
    for option, message in (
        (["--parent", "NOPE"], "hienmau: Không tìm thấy đơn vị có mã NOPE."),
        (["--drive", "999"], "hienmau: Không tìm thấy đợt hiến máu có mã số 999."),
        (["--drive", "2026/4"], "hienmau: Không tìm thấy đợt 4 trong kế hoạch năm 2026."),
    ):
        result = run([*command, "--skip-bad", *option], tmp_path)
        assert result.returncode == 1 and result.stderr.strip().splitlines()[-1] == message
    merge = run([*command, "--merge", "Xã Bình Lư"], tmp_path)
    assert merge.returncode == 2 and "NAME=UNIT" in merge.stderr
    missing = run(["quota", "import", str(tmp_path / "none.csv"), "--year", "2026"], tmp_path)
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    no_table = tmp_path / "ghi-chu.csv"
    no_table.write_text("Họ tên,Ghi chú\nAn,x\n", encoding="utf-8")
    result = run(["quota", "import", str(no_table), "--year", "2026"], tmp_path)
    assert result.returncode == 1 and "«Đơn vị» và «Chỉ tiêu»" in result.stderr


@pytest.mark.slow
def test_drive_quotas_print_their_slots_and_near_names_are_merged_on_request(
    tmp_path: Path,
) -> None:
    assert run(["units", "import", str(SAMPLE_UNITS)], tmp_path).returncode == 0
    plan = EXAMPLES / "plan-laichau-2019.csv"
    assert run(["plan", "import", str(plan), "--year", "2019", "--unit", "LCU"], tmp_path).stdout
    drive = tmp_path / "dot-3.csv"
    drive.write_text(
        "TT,Đơn vị,Chỉ tiêu,Giờ\n1,CLB HMTN Công an tỉnh,60,7h30-8h30\n"
        "2,Công ty Điện lực Lai Châu,40,\n3,Trường CĐ Cộng đồng Lai Châu,80,8h30-9h30\n",
        encoding="utf-8",
    )
    command = ["quota", "import", str(drive), "--year", "2019", "--drive", "2019/3"]
    result = run(command, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout.strip().splitlines()
    assert out[-3:] == [
        "slot 07:30-08:30: 2 quotas, 100 units (new slot)",
        "slot 08:30-09:30: 1 quotas, 80 units (new slot)",
        "imported 3 quotas, total 180 units (3 new, 0 updated, 0 unchanged)",
    ]
    assert "CLB Hiến máu tình nguyện Công an tỉnh [LCU-CLB-CA] in Công an tỉnh Lai Châu" in out[0]
    assert "slot 07:30-08:30" in out[1] and "new unit" not in result.stdout
    assert "chỉ tiêu của đợt là 130 đơn vị (chênh +50)" in result.stderr
    again = run(command, tmp_path)
    assert "slot 07:30-08:30: 2 quotas, 100 units\n" in again.stdout

    near = tmp_path / "huyen.csv"
    near.write_text("TT,Đơn vị,Chỉ tiêu\n1,Huyện Sín Hồ,200\n", encoding="utf-8")
    command = ["quota", "import", str(near), "--year", "2019", "--parent", "LCU", "--dry-run"]
    dry = run(command, tmp_path)
    assert (
        'possible match: line 2 "Huyện Sín Hồ" may be Huyện Sìn Hồ [LCU-SH]; '
        'if so, add --merge "Huyện Sín Hồ=LCU-SH"'
    ) in dry.stdout
    assert "1 new units" in dry.stdout
    merged = run([*command, "--merge", "Huyện Sín Hồ=LCU-SH"], tmp_path)
    assert "possible match" not in merged.stdout and "new unit" not in merged.stdout
    assert "would import 1 quotas, total 200 units (1 new, 0 updated, 0 unchanged)" in (
        merged.stdout
    )
