"""Reading a province's annual plan of blood drives from CSV or XLSX: rows, bad rows, bad files."""

from __future__ import annotations

import datetime as dt
import io
import time
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from locales import use_language
from services.errors import InvalidInput
from services.plan_file import (
    MAX_TARGET,
    PlanFile,
    PlanRow,
    RowProblem,
    describe,
    read_plan,
)

SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "sample" / "plan-laichau-2019.csv"
HEADER = "Đợt,Ngày,Giờ,Địa điểm,Đơn vị tổ chức,Cơ sở tiếp nhận,Chỉ tiêu,Chủ đề,Ghi chú"


def csv_plan(*lines: str, year: int = 2019) -> PlanFile:
    return read_plan("\n".join(lines).encode(), "plan.csv", year)


def one_row(cells: str, header: str = HEADER, year: int = 2019) -> PlanRow:
    plan = csv_plan(header, cells, year=year)
    assert plan.problems == ()
    (row,) = plan.rows
    return row


def problems_of(cells: str, header: str = HEADER) -> list[tuple[int, str | None, str]]:
    """(line, column, Vietnamese text) of each problem, for readable assertions."""
    plan = csv_plan(header, cells)
    assert plan.rows == ()
    return [(p.line, p.column, describe(p)) for p in plan.problems]


def refusal(content: bytes, filename: str = "plan.csv", **kwargs: int) -> str:
    with pytest.raises(InvalidInput) as caught:
        read_plan(content, filename, 2019, **kwargs)
    return caught.value.message.format(**caught.value.params)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def windows_1258(text: str) -> bytes:
    """What Excel's 'CSV' writes on Vietnamese Windows: letters such as ê, ơ, ư, đ precomposed
    where cp1258 has them, tone marks as separate combining characters, CRLF line ends."""
    out = bytearray()
    for ch in text.replace("\n", "\r\n"):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", ch)
            base = "".join(mark for mark in decomposed if mark not in TONE_MARKS)
            tones = "".join(mark for mark in decomposed if mark in TONE_MARKS)
            out += (unicodedata.normalize("NFC", base) + tones).encode("cp1258")
    return bytes(out)


# --- Whole plans ----------------------------------------------------------------------------


def test_lai_chau_sample_reads_19_drives_of_2300_units() -> None:
    plan = read_plan(SAMPLE.read_bytes(), SAMPLE.name, 2019)
    assert plan.kind == "csv"
    assert plan.problems == ()
    assert len(plan.rows) == 19
    assert sum(row.target_units for row in plan.rows) == 2300
    first, last = plan.rows[0], plan.rows[-1]
    assert first == PlanRow(
        line=2,
        plan_no="1",
        date=dt.date(2018, 12, 28),
        month_only=False,
        start_time=None,
        end_time=None,
        place="Bệnh viện Đa khoa tỉnh Lai Châu hoặc Công ty Điện lực tỉnh",
        organiser=(
            "Công ty Điện lực tỉnh, Đoàn khối các cơ quan tỉnh, Câu lạc bộ Hiến máu dự bị tỉnh, "
            'Câu lạc bộ Hội Lái xe "Vạn dặm bình an" tỉnh'
        ),
        receiving_institution="Bệnh viện Đa khoa tỉnh Lai Châu",
        target_units=160,
        campaign="Hiến máu tình nguyện trong dịp Tết và Lễ hội Xuân hồng năm 2019",
        notes=None,
    )
    assert (last.line, last.plan_no, last.date, last.campaign) == (
        20,
        "19",
        dt.date(2019, 11, 22),
        None,
    )


def test_windows_1258_csv_reads_like_utf8() -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    legacy = windows_1258(text)
    with pytest.raises(UnicodeDecodeError):
        legacy.decode("utf-8")
    assert "\u0323".encode("cp1258") in legacy  # 'ệ' in 'Điện' arrives as ê + combining dot
    from_legacy = read_plan(legacy, "plan.csv", 2019)
    assert from_legacy.problems == ()
    assert from_legacy.rows == read_plan(text.encode(), "plan.csv", 2019).rows
    assert from_legacy.rows[0].place == "Bệnh viện Đa khoa tỉnh Lai Châu hoặc Công ty Điện lực tỉnh"


def test_utf8_with_bom_and_crlf() -> None:
    content = ("\ufeff" + HEADER + "\r\n1,15/03/2019,,Trạm Y tế xã,,,50,,\r\n").encode()
    row = read_plan(content, "plan.csv", 2019).rows[0]
    assert (row.plan_no, row.place, row.target_units) == ("1", "Trạm Y tế xã", 50)


def test_utf16_unicode_text_from_excel() -> None:
    content = "Ngày\tĐịa điểm\tChỉ tiêu\r\n15/03/2019\tTrạm Y tế xã\t50\r\n".encode("utf-16")
    row = read_plan(content, "plan.txt", 2019).rows[0]
    assert (row.date, row.place, row.target_units) == (dt.date(2019, 3, 15), "Trạm Y tế xã", 50)


def test_english_headers_in_another_order() -> None:
    plan = csv_plan(
        "Target units,Venue,Date,Hours,Hospital,Organizer,Theme,No,Notes",
        "120,Youth Union hall,2019-04-07,7:30-11:00,Provincial hospital,Youth Union,"
        "National day,2a,bring ID",
    )
    assert plan.rows == (
        PlanRow(
            line=2,
            plan_no="2a",
            date=dt.date(2019, 4, 7),
            month_only=False,
            start_time=dt.time(7, 30),
            end_time=dt.time(11, 0),
            place="Youth Union hall",
            organiser="Youth Union",
            receiving_institution="Provincial hospital",
            target_units=120,
            campaign="National day",
            notes="bring ID",
        ),
    )


def test_semicolon_csv_with_quotes_and_a_title_line() -> None:
    plan = csv_plan(
        "KẾ HOẠCH HIẾN MÁU TÌNH NGUYỆN NĂM 2019;;;",
        "",
        "STT;Ngày dự kiến;Nơi tổ chức;Chỉ tiêu (đơn vị máu);Đơn vị thực hiện",
        '1;07/04/2019;"Nhà văn hóa, phường Tân Phong";1.000;"CLB ""Giọt hồng"""',
    )
    (row,) = plan.rows
    assert row.line == 4
    assert row.place == "Nhà văn hóa, phường Tân Phong"
    assert row.target_units == 1000
    assert row.organiser == 'CLB "Giọt hồng"'


def test_tab_separated_csv() -> None:
    row = read_plan("Ngày\tĐịa điểm\tChỉ tiêu\n15/03/2019\tTrạm Y tế\t50\n".encode(), "p.csv", 2019)
    assert row.rows[0].target_units == 50


def test_headers_match_without_case_or_diacritics() -> None:
    row = one_row("3,15/03/2019,Tram y te,80", header="so tt,NGAY,DIA DIEM,Chi Tieu")
    assert (row.plan_no, row.place, row.target_units) == ("3", "Tram y te", 80)


def test_text_is_composed_and_whitespace_collapsed() -> None:
    decomposed = unicodedata.normalize("NFD", "Trung tâm Y tế huyện Tam Đường")
    row = one_row(f'1,15/03/2019,,"  {decomposed}\n  (tầng 2) ",,,50,,')
    assert row.place == "Trung tâm Y tế huyện Tam Đường (tầng 2)"
    assert unicodedata.is_normalized("NFC", row.place)


def test_without_a_drive_number_column_rows_are_numbered_in_order() -> None:
    plan = csv_plan(
        "Ngày,Địa điểm,Chỉ tiêu",
        "15/03/2019,Trạm Y tế A,50",
        "",
        "16/03/2019,Trạm Y tế B,60",
    )
    assert [(row.line, row.plan_no) for row in plan.rows] == [(2, "1"), (4, "2")]


def test_unknown_columns_go_into_the_notes() -> None:
    plan = csv_plan(
        "Ngày,Địa điểm,Chỉ tiêu,Ghi chú,Người liên hệ,Điện thoại",
        "15/03/2019,Trạm Y tế A,50,Mang CCCD,Chị Lan,0912 345 678",
        "16/03/2019,Trạm Y tế B,60,,,0987 654 321",
        "17/03/2019,Trạm Y tế C,70,,,",
    )
    assert [row.notes for row in plan.rows] == [
        "Mang CCCD\nNgười liên hệ: Chị Lan\nĐiện thoại: 0912 345 678",
        "Điện thoại: 0987 654 321",
        None,
    ]


def test_empty_rows_and_the_total_row_are_skipped() -> None:
    plan = csv_plan(
        HEADER,
        "1,15/03/2019,,Trạm Y tế A,,,50,,",
        ",,,,,,,,",
        "2,16/03/2019,,Trạm Y tế B,,,60,,",
        "Tổng cộng,,,,,,110,,",
        "",
    )
    assert plan.problems == ()
    assert [row.line for row in plan.rows] == [2, 4]


@pytest.mark.parametrize("label", ["Tổng", "TỔNG CỘNG:", "Total", "Cộng"])
def test_total_rows_in_any_wording_are_skipped(label: str) -> None:
    plan = csv_plan("Ngày,Địa điểm,Chỉ tiêu", "15/03/2019,Trạm Y tế A,50", f"{label},,50")
    assert (len(plan.rows), plan.problems) == (1, ())


# --- XLSX -----------------------------------------------------------------------------------


def test_xlsx_with_title_rows_and_typed_cells() -> None:
    content = xlsx_bytes(
        [
            ["HỘI CHỮ THẬP ĐỎ TỈNH LAI CHÂU"],
            ["KẾ HOẠCH VẬN ĐỘNG HIẾN MÁU TÌNH NGUYỆN NĂM 2019"],
            [],
            ["Đợt", "Ngày", "Giờ", "Địa điểm", "Chỉ tiêu\n(đơn vị)", "Ghi chú"],
            [1, dt.datetime(2018, 12, 28), dt.time(7, 30), "BVĐK tỉnh", 160.0, None],
            [2, dt.date(2019, 1, 11), "7h30-11h00", "Trường CĐ Cộng đồng", 150, "Tết"],
            [3, "Tháng 3/2019", None, "TTYT Tam Đường", "1.000", None],
            [None, None, None, None, None, None],
            [4, dt.datetime(2019, 2, 1), None, "TTYT Sìn Hồ", 150.5, None],
            ["Tổng cộng", None, None, None, 1460.5, None],
        ]
    )
    plan = read_plan(content, "ke-hoach-2019.xlsx", 2019)
    assert plan.kind == "xlsx"
    assert [
        (row.line, row.plan_no, row.date, row.month_only, row.start_time, row.end_time)
        for row in plan.rows
    ] == [
        (5, "1", dt.date(2018, 12, 28), False, dt.time(7, 30), None),
        (6, "2", dt.date(2019, 1, 11), False, dt.time(7, 30), dt.time(11, 0)),
        (7, "3", dt.date(2019, 3, 1), True, None, None),
    ]
    assert [row.target_units for row in plan.rows] == [160, 150, 1000]
    assert plan.rows[1].notes == "Tết"
    assert [(p.line, p.column, p.params) for p in plan.problems] == [
        (9, "Chỉ tiêu (đơn vị)", {"value": "150.5"})
    ]


def test_xlsx_named_csv_is_read_as_xlsx() -> None:
    content = xlsx_bytes([["Ngày", "Địa điểm", "Chỉ tiêu"], [dt.date(2019, 5, 10), "TTYT", 100]])
    plan = read_plan(content, "plan.csv", 2019)
    assert plan.kind == "xlsx"
    assert plan.rows[0].target_units == 100


def test_xlsx_with_an_empty_first_sheet_is_refused() -> None:
    assert "trang tính (sheet) đầu tiên" in refusal(xlsx_bytes([]), "plan.xlsx")


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert refusal(buffer.getvalue(), "plan.xlsx").startswith(
        "Tệp «plan.xlsx» không phải bảng tính CSV hoặc XLSX"
    )


# --- Dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "date", "month_only"),
    [
        ("17/12/2018", dt.date(2018, 12, 17), False),
        ("17-12-2018", dt.date(2018, 12, 17), False),
        ("17.12.2018", dt.date(2018, 12, 17), False),
        ("2019-04-07", dt.date(2019, 4, 7), False),
        ("7/4/19", dt.date(2019, 4, 7), False),
        ("Thứ Sáu, 28/12/2018", dt.date(2018, 12, 28), False),
        ("ngày 07/04/2019", dt.date(2019, 4, 7), False),
        ("Tháng 3/2019", dt.date(2019, 3, 1), True),
        ("tháng 03/2019", dt.date(2019, 3, 1), True),
        ("T3/2019", dt.date(2019, 3, 1), True),
        ("3/2019", dt.date(2019, 3, 1), True),
        ("03-2019", dt.date(2019, 3, 1), True),
        ("Tháng 3 năm 2019", dt.date(2019, 3, 1), True),
        ("Tháng 12/2018", dt.date(2018, 12, 1), True),
        ("Tháng 12/2019", dt.date(2019, 12, 1), True),
    ],
)
def test_date_formats(written: str, date: dt.date, month_only: bool) -> None:
    row = one_row(f'1,"{written}",,Trạm Y tế,,,50,,')
    assert (row.date, row.month_only) == (date, month_only)


def test_a_date_not_on_the_calendar_is_a_problem() -> None:
    assert problems_of("1,31/02/2019,,Trạm Y tế,,,50,,") == [
        (2, "Ngày", "Dòng 2, cột «Ngày»: Ngày «31/02/2019» không có trên lịch.")
    ]


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("30/11/2018", "Ngày 30/11/2018"),
        ("01/01/2020", "Ngày 01/01/2020"),
        ("Tháng 11/2018", "Tháng 11/2018"),
        ("Tháng 1/2020", "Tháng 01/2020"),
    ],
)
def test_dates_outside_the_plan_year_are_problems(written: str, shown: str) -> None:
    assert problems_of(f"1,{written},,Trạm Y tế,,,50,,") == [
        (
            2,
            "Ngày",
            f"Dòng 2, cột «Ngày»: {shown} nằm ngoài kế hoạch năm 2019: "
            "chỉ nhận ngày trong khoảng 01/12/2018–31/12/2019.",
        )
    ]


@pytest.mark.parametrize("written", ["", "sắp tới", "17/12", "2019"])
def test_missing_or_unreadable_dates_are_problems(written: str) -> None:
    ((line, column, _text),) = problems_of(f"1,{written},,Trạm Y tế,,,50,,")
    assert (line, column) == (2, "Ngày")


@given(st.dates(dt.date(2018, 12, 1), dt.date(2019, 12, 31)))
def test_any_day_of_the_plan_year_reads_back(day: dt.date) -> None:
    assert one_row(f"1,{day:%d/%m/%Y},,Trạm Y tế,,,50,,").date == day


# --- Times ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "start", "end"),
    [
        ("7h30-11h00", dt.time(7, 30), dt.time(11, 0)),
        ("7h30 - 11h", dt.time(7, 30), dt.time(11, 0)),
        ("7h-11h30", dt.time(7, 0), dt.time(11, 30)),
        ("07:30-11:00", dt.time(7, 30), dt.time(11, 0)),
        ("7:30–11:00", dt.time(7, 30), dt.time(11, 0)),
        ("từ 7h30 đến 11h00", dt.time(7, 30), dt.time(11, 0)),
        ("Từ 13 giờ 30 đến 17 giờ", dt.time(13, 30), dt.time(17, 0)),
        ("7h30", dt.time(7, 30), None),
        ("", None, None),
    ],
)
def test_time_formats(written: str, start: dt.time | None, end: dt.time | None) -> None:
    row = one_row(f"1,15/03/2019,{written},Trạm Y tế,,,50,,")
    assert (row.start_time, row.end_time) == (start, end)


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("11h-7h30", "Giờ kết thúc phải sau giờ bắt đầu («11h-7h30»)."),
        ("7h30-7h30", "Giờ kết thúc phải sau giờ bắt đầu («7h30-7h30»)."),
        ("24h-25h", "Giờ «24h-25h» không đúng: giờ từ 0 đến 23, phút từ 0 đến 59."),
        ("7h60", "Giờ «7h60» không đúng: giờ từ 0 đến 23, phút từ 0 đến 59."),
        ("buổi sáng", "Không hiểu giờ «buổi sáng». Vui lòng ghi dạng 7h30-11h00."),
    ],
)
def test_bad_times_are_problems(written: str, says: str) -> None:
    assert problems_of(f"1,15/03/2019,{written},Trạm Y tế,,,50,,") == [
        (2, "Giờ", f"Dòng 2, cột «Giờ»: {says}")
    ]


# --- Targets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "units"),
    [
        ("150", 150),
        ("1.000", 1000),
        ('"1,000"', 1000),
        ("1 000", 1000),
        ("150 đơn vị", 150),
        ("150 ĐV", 150),
        ("0", 0),
        ("100.000", MAX_TARGET),
    ],
)
def test_target_formats(written: str, units: int) -> None:
    assert one_row(f"1,15/03/2019,,Trạm Y tế,,,{written},,").target_units == units


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("-50", "Chỉ tiêu không được là số âm (-50)."),
        ("nhiều", "Chỉ tiêu «nhiều» chưa phải là số đơn vị máu. Vui lòng ghi số, ví dụ 150."),
        ("1.5", "Chỉ tiêu «1.5» chưa phải là số đơn vị máu. Vui lòng ghi số, ví dụ 150."),
        ("", "Chưa ghi chỉ tiêu."),
        (
            "150000",
            "Chỉ tiêu 150000 có vẻ quá lớn (tối đa 100000 đơn vị). Vui lòng kiểm tra lại.",
        ),
    ],
)
def test_bad_targets_are_problems(written: str, says: str) -> None:
    assert problems_of(f"1,15/03/2019,,Trạm Y tế,,,{written},,") == [
        (2, "Chỉ tiêu", f"Dòng 2, cột «Chỉ tiêu»: {says}")
    ]


@given(st.integers(0, MAX_TARGET), st.sampled_from([".", ",", " ", "\u00a0", ""]))
def test_any_target_with_thousands_separators_reads_back(units: int, separator: str) -> None:
    written = f"{units:,}".replace(",", separator)
    assert one_row(f'1,15/03/2019,,Trạm Y tế,,,"{written}",,').target_units == units


# --- Places, duplicates, every problem at once ----------------------------------------------


def test_place_is_required_and_not_too_long() -> None:
    plan = csv_plan(HEADER, "1,15/03/2019,,,,,50,,", f"2,16/03/2019,,{'x' * 301},,,50,,")
    assert [describe(p) for p in plan.problems] == [
        "Dòng 2, cột «Địa điểm»: Chưa ghi địa điểm.",
        "Dòng 3, cột «Địa điểm»: Địa điểm dài quá (301 ký tự, tối đa 300).",
    ]


def test_optional_columns_are_none_when_empty() -> None:
    row = one_row("1,15/03/2019,,Trạm Y tế,,,50,,")
    assert (row.organiser, row.receiving_institution, row.campaign, row.notes) == (None,) * 4


def test_a_repeated_drive_is_reported_on_the_later_row() -> None:
    plan = csv_plan(
        HEADER,
        "1,15/03/2019,,Trạm Y tế Xã A,,,50,,",
        "2,15/03/2019,,Trạm Y tế Xã A,,,50,,",
        "1,15/03/2019,,TRAM Y TE XA A,,,60,,",
    )
    assert [row.line for row in plan.rows] == [2, 3]
    assert plan.problems == (RowProblem(4, None, "Trùng với dòng {other}.", {"other": 2}),)
    assert describe(plan.problems[0]) == "Dòng 4: Trùng với dòng 2."


def test_without_drive_numbers_the_same_day_and_place_is_a_repeat() -> None:
    plan = csv_plan("Ngày,Địa điểm,Chỉ tiêu", "15/03/2019,Trạm Y tế,50", "15/03/2019,Trạm Y tế,50")
    assert [describe(p) for p in plan.problems] == ["Dòng 3: Trùng với dòng 2."]


def test_every_bad_row_is_reported_in_file_order_with_its_column_as_written() -> None:
    plan = csv_plan(
        "Đợt;NGÀY TỔ CHỨC;Địa điểm;Chỉ tiêu (đơn vị máu)",
        "1;31/02/2019;;nhiều",
        "2;15/03/2019;Trạm Y tế;50",
        "3;15/03/2030;Trạm Y tế;-1",
    )
    assert [row.line for row in plan.rows] == [3]
    assert [(p.line, p.column) for p in plan.problems] == [
        (2, "NGÀY TỔ CHỨC"),
        (2, "Địa điểm"),
        (2, "Chỉ tiêu (đơn vị máu)"),
        (4, "NGÀY TỔ CHỨC"),
        (4, "Chỉ tiêu (đơn vị máu)"),
    ]


def test_problems_are_described_in_the_conversation_language() -> None:
    (problem,) = csv_plan(HEADER, "1,31/02/2019,,Trạm Y tế,,,50,,").problems
    with use_language("en"):
        assert describe(problem) == "Row 2, column «Ngày»: The date «31/02/2019» does not exist."


# --- Files refused as a whole ---------------------------------------------------------------


def test_an_empty_file_is_refused() -> None:
    assert refusal(b"").startswith("Tệp không có dữ liệu.")
    assert refusal(b"\r\n , ,\n").startswith("Tệp không có dữ liệu.")


def test_a_huge_file_is_refused_by_its_size_at_once() -> None:
    content = b"a" * (50 * 1024 * 1024)
    started = time.perf_counter()
    message = refusal(content)
    assert time.perf_counter() - started < 0.5
    assert message == "Tệp quá lớn (50.0 MB). Chỉ nhận tệp đến 5 MB."


def test_the_size_limit_can_be_lowered() -> None:
    content = HEADER.encode() + b"\n" * (3 * 512 * 1024)
    assert refusal(content, max_bytes=2**20) == "Tệp quá lớn (1.5 MB). Chỉ nhận tệp đến 1 MB."


def test_a_picture_named_csv_is_refused() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256))
    assert refusal(png, "plan.csv") == (
        "Tệp «plan.csv» không phải bảng tính CSV hoặc XLSX. "
        "Vui lòng lưu kế hoạch dạng .xlsx hoặc CSV (UTF-8) rồi gửi lại."
    )


def test_control_characters_are_not_a_csv() -> None:
    assert "không phải bảng tính" in refusal(bytes(range(1, 32)) * 10)


def test_old_excel_is_asked_to_be_saved_again() -> None:
    xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    assert refusal(xls, "/tmp/ke hoach.xls").startswith("Tệp «ke hoach.xls» là Excel đời cũ (.xls)")


def test_no_header_row_is_refused() -> None:
    assert refusal("Kế hoạch hiến máu\nnăm 2019\n1,2,3\n".encode()).startswith(
        "Không tìm thấy dòng tiêu đề của bảng."
    )


def test_missing_columns_are_all_named() -> None:
    assert refusal("Tiêu đề\nĐợt,Ngày,Giờ\n1,15/03/2019,7h\n".encode()) == (
        "Dòng tiêu đề (dòng 2) thiếu cột «Địa điểm», «Chỉ tiêu»."
    )


def test_two_columns_for_one_field_are_refused() -> None:
    assert refusal("Ngày,Địa điểm,Chỉ tiêu,Nơi tổ chức\n".encode()) == (
        "Hai cột «Địa điểm» và «Nơi tổ chức» trùng nhau (cùng một loại thông tin). "
        "Vui lòng chỉ giữ một cột."
    )


def test_thoi_gian_beside_ngay_is_the_time_of_day() -> None:
    row = one_row("15/03/2019,7h30-11h,Trạm Y tế,50", header="Ngày,Thời gian,Địa điểm,Chỉ tiêu")
    assert (row.date, row.start_time, row.end_time) == (
        dt.date(2019, 3, 15),
        dt.time(7, 30),
        dt.time(11, 0),
    )


def test_thoi_gian_alone_is_the_date() -> None:
    row = one_row("15/03/2019,Trạm Y tế,50", header="Thời gian,Địa điểm,Chỉ tiêu")
    assert row.date == dt.date(2019, 3, 15)


def test_a_header_without_drives_is_refused() -> None:
    message = "Tệp chỉ có dòng tiêu đề, chưa có đợt hiến máu nào."
    assert refusal(f"{HEADER}\n,,,,,,,,\n".encode()) == message
    assert refusal(f"{HEADER}\nTổng cộng,,,,,,0,,\n".encode()) == message
