"""Reading a committee's quota table (bảng phân bổ chỉ tiêu): units, groups, totals, slots, bad
rows and bad files."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from services.errors import InvalidInput
from services.plan_file import describe
from services.quota_file import QuotaFile, read_quotas
from tests.unit.test_plan_file import windows_1258

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quotas-thainguyen-2021.csv"
HEADER = "TT,Đơn vị,Chỉ tiêu,Tháng,Ghi chú"


def csv_quotas(*lines: str, drive_mode: bool = False) -> QuotaFile:
    return read_quotas("\n".join(lines).encode(), "quotas.csv", drive_mode=drive_mode)


def problems(*lines: str, drive_mode: bool = False) -> list[tuple[int, str | None, str]]:
    parsed = csv_quotas(*lines, drive_mode=drive_mode)
    return [(p.line, p.column, describe(p)) for p in parsed.problems]


def refusal(content: bytes, filename: str = "quotas.csv") -> str:
    with pytest.raises(InvalidInput) as caught:
        read_quotas(content, filename)
    return caught.value.message.format(**caught.value.params)


def xlsx_bytes(rows: list[list[object]], merges: tuple[str, ...] = ()) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- The Thái Nguyên appendix ---------------------------------------------------------------


def test_thai_nguyen_appendix_reads_four_groups_28_units_and_24500_units() -> None:
    parsed = read_quotas(EXAMPLE.read_bytes(), EXAMPLE.name)
    assert (parsed.problems, parsed.warnings, parsed.kind) == ((), (), "csv")
    groups = [row for row in parsed.rows if row.is_group]
    assert [(g.label, g.target_units) for g in groups] == [
        ("I", None),
        ("II", None),
        ("III", None),
        ("IV", 1600),
    ]
    units = [row for row in parsed.rows if not row.is_group]
    assert len(units) == 28 and len(parsed.quotas) == 29 and parsed.total == 24_500
    by_name = {row.name: row for row in parsed.rows}
    assert by_name["Đại học Y Dược"].target_units == 1150
    assert by_name["Đại học Y Dược"].group == "Đại học Thái Nguyên"
    assert by_name["Thành phố Thái Nguyên"].months == (1, 5, 8, 11)
    assert by_name["Công ty Sam sung Thái Nguyên"].target_units == 4500
    assert by_name["CLB TNTN Chữ thập đỏ tỉnh"].group == "Các huyện, thành phố, thị xã"
    assert groups[3].months == (7, 8) and groups[3].group is None
    sums = {g.name: sum(r.target_units or 0 for r in units if r.group == g.name) for g in groups}
    assert list(sums.values()) == [5950, 6800, 10150, 0]


def test_windows_1258_table_reads_like_utf8() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    legacy = read_quotas(windows_1258(text), "chi-tieu.csv")
    assert legacy.rows == read_quotas(text.encode(), "chi-tieu.csv").rows
    assert legacy.rows[1].name == "Đại học Sư phạm"


def test_english_headers_in_another_order_and_semicolons() -> None:
    parsed = csv_quotas("Quota;Unit;No;Months;Notes", "1.350;Huyện Đại Từ;1;1,5,11;đợt lớn")
    (row,) = parsed.rows
    assert (row.name, row.target_units, row.months, row.notes) == (
        "Huyện Đại Từ",
        1350,
        (1, 5, 11),
        "đợt lớn",
    )


# --- Groups and totals ----------------------------------------------------------------------


def test_group_headings_in_any_wording_are_parents() -> None:
    parsed = csv_quotas(
        "STT,Tên đơn vị,Chỉ tiêu",
        "1,Sở Y tế,100",
        ",Mục II – Các Khu công nghiệp tỉnh,",
        "2,Công ty A,200",
        "III. Các huyện,,",
        "3,Huyện B,300",
        "B,Các trường,",
        "4,Trường C,50",
    )
    assert parsed.problems == ()
    assert [(r.name, r.group, r.label) for r in parsed.rows] == [
        ("Sở Y tế", None, None),
        ("Các Khu công nghiệp tỉnh", None, "II"),
        ("Công ty A", "Các Khu công nghiệp tỉnh", None),
        ("Các huyện", None, "III"),
        ("Huyện B", "Các huyện", None),
        ("Các trường", None, "B"),
        ("Trường C", "Các trường", None),
    ]


def test_a_total_that_disagrees_is_a_warning_naming_both_figures() -> None:
    parsed = csv_quotas(HEADER, "1,Huyện A,1.000,,", "2,Huyện B,500,,", ",Tổng cộng,1.600,,")
    assert parsed.problems == () and parsed.total == 1500
    (warning,) = parsed.warnings
    assert (warning.line, warning.column) == (4, "Chỉ tiêu")
    assert describe(warning) == (
        "Dòng 4, cột «Chỉ tiêu»: Dòng tổng ghi 1.600 nhưng cộng các dòng được 1.500."
    )


def test_group_subtotals_check_their_group_and_a_corporation_is_a_unit() -> None:
    parsed = csv_quotas(
        HEADER,
        "I,Doanh nghiệp,100,,",
        "1,Tổng công ty Điện lực,200,,",
        ",Cộng mục I,300,,",
        "II,Các huyện,,,",
        "2,Huyện A,400,,",
        ",Cộng,450,,",
        ",TỔNG SỐ,700 đơn vị máu,,",
    )
    assert [r.name for r in parsed.rows] == [
        "Doanh nghiệp",
        "Tổng công ty Điện lực",
        "Các huyện",
        "Huyện A",
    ]
    assert [describe(w) for w in parsed.warnings] == [
        "Dòng 7, cột «Chỉ tiêu»: Dòng tổng ghi 450 nhưng cộng các dòng được 400."
    ]


def test_the_row_of_column_numbers_under_the_header_is_skipped() -> None:
    parsed = csv_quotas(HEADER, "(1),(2),(3),(4),(5)", "1,Huyện A,100,,")
    assert [r.name for r in parsed.rows] == ["Huyện A"] and parsed.problems == ()


# --- Drive quotas and slots -----------------------------------------------------------------


def test_a_blank_slot_takes_the_slot_of_the_row_above() -> None:
    parsed = csv_quotas(
        "TT,Đơn vị,Chỉ tiêu,Giờ",
        "1,Công an tỉnh,60,7h30-8h30",
        "2,Đoàn khối các cơ quan tỉnh,40,",
        "3,CLB Hiến máu dự bị,50,08:30–09:30",
        drive_mode=True,
    )
    assert [(r.slot_start, r.slot_end) for r in parsed.rows] == [
        (dt.time(7, 30), dt.time(8, 30)),
        (dt.time(7, 30), dt.time(8, 30)),
        (dt.time(8, 30), dt.time(9, 30)),
    ]


def test_slots_outside_a_drive_are_ignored_with_one_warning() -> None:
    parsed = csv_quotas("TT,Đơn vị,Chỉ tiêu,Giờ", "1,A xã,60,7h30-8h30", "2,B xã,40,8h30-9h")
    assert all(r.slot_start is None for r in parsed.rows)
    assert len(parsed.warnings) == 1 and "một đợt hiến máu" in describe(parsed.warnings[0])


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("8h-7h", "Giờ kết thúc phải sau giờ bắt đầu («8h-7h»)."),
        ("7h30", "cần cả giờ đến và giờ kết thúc"),
        ("sáng", "Không hiểu giờ «sáng»"),
    ],
)
def test_bad_slots_name_the_row_and_column(written: str, says: str) -> None:
    ((line, column, text),) = problems(
        "TT,Đơn vị,Chỉ tiêu,Giờ", f"1,Công an tỉnh,60,{written}", drive_mode=True
    )
    assert (line, column) == (2, "Giờ") and says in text


# --- Bad rows -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("", "Chưa ghi chỉ tiêu."),
        ("-50", "Chỉ tiêu không được là số âm (-50)."),
        ("nhiều", "Chỉ tiêu «nhiều» chưa phải là số đơn vị máu."),
        ('"1,5"', "Chỉ tiêu «1,5» chưa phải là số đơn vị máu."),
    ],
)
def test_bad_quotas_name_the_row_and_column(written: str, says: str) -> None:
    ((line, column, text),) = problems(HEADER, "1,Huyện A,100,,", f"2,Huyện B,{written},,")
    assert (line, column) == (3, "Chỉ tiêu") and text.startswith(f"Dòng 3, cột «Chỉ tiêu»: {says}")


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ('"1, 13"', "Tháng 13 không có: tháng chỉ từ 1 đến 12."),
        ("0", "Tháng 0 không có"),
        ("mùa hè", "Không hiểu tháng «mùa hè»"),
    ],
)
def test_bad_months_name_the_row_and_column(written: str, says: str) -> None:
    ((line, column, text),) = problems(HEADER, f"1,Huyện A,100,{written},")
    assert (line, column) == (2, "Tháng") and says in text


@pytest.mark.parametrize(
    ("written", "months"),
    [("1, 5, 11", (1, 5, 11)), ("Tháng 3 và 9", (3, 9)), ("T5; T12", (5, 12)), ("5-7", (5, 6, 7))],
)
def test_month_formats(written: str, months: tuple[int, ...]) -> None:
    (row,) = csv_quotas(HEADER, f'1,Huyện A,100,"{written}",').rows
    assert row.months == months


def test_a_unit_twice_is_reported_on_the_later_row_even_when_abbreviated() -> None:
    found = problems(HEADER, "1,Đại học Sư phạm,800,,", "2,Huyện A,100,,", "3,ĐH Sư Phạm,50,,")
    assert found == [(4, "Đơn vị", "Dòng 4, cột «Đơn vị»: Đơn vị «ĐH Sư Phạm» đã có ở dòng 2.")]


def test_a_row_without_a_unit_name_is_a_problem() -> None:
    assert problems(HEADER, "1,,100,,") == [
        (2, "Đơn vị", "Dòng 2, cột «Đơn vị»: Chưa ghi tên đơn vị.")
    ]


def test_bad_rows_leave_no_checksum_warning() -> None:
    parsed = csv_quotas(HEADER, "1,Huyện A,abc,,", "2,Huyện B,100,,", ",Tổng số,300,,")
    assert len(parsed.problems) == 1 and parsed.warnings == ()


# --- Bad files ------------------------------------------------------------------------------


def test_a_table_without_a_unit_column_is_refused() -> None:
    message = refusal("TT,Tên cơ sở,Chỉ tiêu,Tháng\n1,A,100,1\n".encode())
    assert message == "Dòng tiêu đề (dòng 1) thiếu cột «Đơn vị»."


def test_a_file_without_a_header_is_refused() -> None:
    assert refusal("xin chào\nhẹn gặp lại\n".encode()).startswith(
        "Không tìm thấy dòng tiêu đề của bảng chỉ tiêu."
    )


def test_a_header_alone_is_refused() -> None:
    assert refusal(f"{HEADER}\n".encode()) == "Tệp chỉ có dòng tiêu đề, chưa có đơn vị nào."


def test_an_empty_or_huge_file_is_refused() -> None:
    assert "không có dữ liệu" in refusal(b"")
    with pytest.raises(InvalidInput):
        read_quotas(b"a" * 3_000_000, "quotas.csv")


# --- Workbooks ------------------------------------------------------------------------------


def test_xlsx_with_merged_cells_spreads_months_and_slots_and_headings() -> None:
    content = xlsx_bytes(
        [
            ["BẢNG PHÂN BỔ CHỈ TIÊU", None, None, None, None],
            ["TT", "Tên đơn vị", "Chỉ tiêu", "Tháng", "Giờ"],
            ["I. Đại học Thái Nguyên", None, None, None, None],
            [1, "Đại học Sư phạm", 800, "1, 5", "7h30-8h30"],
            [2, "Đại học Nông Lâm", 800.0, None, None],
            [None, "TỔNG SỐ", 1600, None, None],
        ],
        merges=("A3:E3", "D4:D5", "E4:E5"),
    )
    parsed = read_quotas(content, "chi-tieu.xlsx", drive_mode=True)
    assert (parsed.kind, parsed.problems, parsed.warnings) == ("xlsx", (), ())
    heading, first, second = parsed.rows
    assert heading.is_group and heading.name == "Đại học Thái Nguyên"
    assert second.group == "Đại học Thái Nguyên" and second.target_units == 800
    assert first.months == second.months == (1, 5)
    assert second.slot_start == dt.time(7, 30)


def test_xlsx_with_one_quota_merged_over_several_units_names_the_rows() -> None:
    content = xlsx_bytes(
        [["TT", "Đơn vị", "Chỉ tiêu"], [1, "Xã A", 300], [2, "Xã B", None], [3, "Xã C", 100]],
        merges=("C2:C3",),
    )
    parsed = read_quotas(content, "chi-tieu.xlsx")
    assert [(p.line, p.column) for p in parsed.problems] == [(3, "Chỉ tiêu")]
    assert "gộp (merge) với dòng 2" in describe(parsed.problems[0])
    assert [r.name for r in parsed.rows] == ["Xã A", "Xã C"]
