"""A province's annual plan of blood drives, read from CSV or XLSX bytes (no database).

A fault in the whole file raises InvalidInput; a fault in a row becomes a RowProblem, so an
organiser sees every bad row at once and fixes the file in one go.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import islice
from pathlib import PureWindowsPath
from typing import TypeAlias, TypeVar

import openpyxl

from locales import N_, _
from services.errors import InvalidInput
from services.validation import fold

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000  # non-empty rows; a province plans a few dozen drives a year
MAX_UNZIPPED = 100 * 1024 * 1024  # an XLSX that unpacks to more than this is a zip bomb
MAX_TARGET = 100_000  # more units than this in one drive is a typo
MAX_PLACE = 300
HEADER_SEARCH_ROWS = 15

Cell: TypeAlias = str | int | float | dt.datetime | dt.date | dt.time | dt.timedelta | None
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PlanRow:
    line: int
    plan_no: str
    date: dt.date
    month_only: bool
    start_time: dt.time | None
    end_time: dt.time | None
    place: str
    organiser: str | None
    receiving_institution: str | None
    target_units: int
    campaign: str | None
    notes: str | None


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    column: str | None
    message: str
    params: dict[str, object]


@dataclass(frozen=True, slots=True)
class PlanFile:
    rows: tuple[PlanRow, ...]
    problems: tuple[RowProblem, ...]
    kind: str


def read_plan(content: bytes, filename: str, year: int, *, max_bytes: int = MAX_BYTES) -> PlanFile:
    """The drives of the plan for `year` (1/12 of year-1 to 31/12 of year) and its bad rows."""
    kind, lines = read_lines(content, filename, max_bytes=max_bytes)
    header_at = _find_header(lines)
    columns = columns_of(lines[header_at], _header_fields)
    data = [line for line in lines[header_at + 1 :] if not _is_total(line)]
    if not data:
        raise InvalidInput(N_("Tệp chỉ có dòng tiêu đề, chưa có đợt hiến máu nào."))
    rows, problems = _read_rows(data, columns, _Window.of(year))
    return PlanFile(rows=tuple(rows), problems=tuple(problems), kind=kind)


def read_lines(
    content: bytes,
    filename: str,
    *,
    max_bytes: int = MAX_BYTES,
    fields_of: Callable[[Sequence[Cell]], set[str]] | None = None,
) -> tuple[str, list[Line]]:
    """The kind ('csv' or 'xlsx') and the non-empty lines of a table (an XLSX's first sheet).

    `fields_of` names the known headers of a row; it picks a CSV's delimiter (plan headers
    by default). Other tables of the committees (quotas) read through here too."""
    if not content:
        raise InvalidInput(_EMPTY)
    if len(content) > max_bytes:
        raise InvalidInput(
            N_("Tệp quá lớn ({size} MB). Chỉ nhận tệp đến {limit} MB."),
            size=f"{len(content) / 2**20:.1f}",
            limit=_megabytes(max_bytes),
        )
    name = PureWindowsPath(filename).name  # either slash, whoever sent it
    kind = _kind(content, name)
    if kind == "xlsx":
        lines = _xlsx_lines(content, name)
    else:
        lines = _csv_lines(content, name, fields_of or _known_fields)
    if not lines:
        raise InvalidInput(_EMPTY)
    return kind, lines


def describe(problem: RowProblem) -> str:
    """'Dòng 7, cột «Ngày»: ...' in the language of the conversation."""
    message = _(problem.message).format(**problem.params)
    if problem.column is None:
        return _("Dòng {line}: {message}").format(line=problem.line, message=message)
    return _("Dòng {line}, cột «{column}»: {message}").format(
        line=problem.line, column=problem.column, message=message
    )


_EMPTY = N_(
    "Tệp không có dữ liệu. Nếu là tệp Excel, vui lòng để bảng kế hoạch ở trang tính "
    "(sheet) đầu tiên."
)
_NOT_A_TABLE = N_(
    "Tệp «{name}» không phải bảng tính CSV hoặc XLSX. Vui lòng lưu kế hoạch dạng .xlsx "
    "hoặc CSV (UTF-8) rồi gửi lại."
)


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f}".removesuffix(".0")


# --- Reading the file into numbered lines of cells ------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # as a spreadsheet shows it: 1-based, blank rows counted
    cells: tuple[Cell, ...]

    def cell(self, index: int) -> Cell:
        return self.cells[index] if index < len(self.cells) else None


def _kind(content: bytes, name: str) -> str:
    """'xlsx' or 'csv' by what the bytes are, whatever the file is called."""
    if content.startswith(b"PK\x03\x04"):
        return "xlsx"
    if content.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: Excel 97-2003, or an encrypted XLSX
        raise InvalidInput(
            N_(
                "Tệp «{name}» là Excel đời cũ (.xls) hoặc có đặt mật khẩu. Vui lòng mở bằng "
                "Excel, chọn Lưu thành (Save As) dạng .xlsx hoặc CSV UTF-8 rồi gửi lại."
            ),
            name=name,
        )
    return "csv"


def _xlsx_lines(content: bytes, name: str) -> list[Line]:
    _check_unzipped_size(content, name)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl fails in many ways on a zip that is not a workbook
        raise InvalidInput(_NOT_A_TABLE, name=name) from exc
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers store a wrong size; read what is there
        return _non_empty(enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1))
    except InvalidInput:
        raise
    except Exception as exc:
        raise InvalidInput(_NOT_A_TABLE, name=name) from exc
    finally:
        workbook.close()


def _check_unzipped_size(content: bytes, name: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InvalidInput(_NOT_A_TABLE, name=name) from exc
    if unzipped > MAX_UNZIPPED:
        raise InvalidInput(
            N_("Tệp «{name}» khi giải nén quá lớn ({size} MB, tối đa {limit} MB)."),
            name=name,
            size=f"{unzipped / 2**20:.1f}",
            limit=_megabytes(MAX_UNZIPPED),
        )


def _csv_lines(
    content: bytes, name: str, fields_of: Callable[[Sequence[Cell]], set[str]]
) -> list[Line]:
    text = _decode(content, name)
    delimiter = _sniff_delimiter(text, fields_of)
    try:
        records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        # a record, not a physical line: a quoted cell may hold line breaks
        return _non_empty((number, tuple(record)) for number, record in enumerate(records, 1))
    except csv.Error as exc:
        raise InvalidInput(_NOT_A_TABLE, name=name) from exc


def _decode(content: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel 'Unicode Text'), else Windows-1258."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = content.decode("utf-16", errors="replace")
    elif b"\x00" in content:
        raise InvalidInput(_NOT_A_TABLE, name=name)
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = content.decode("cp1258")
            except UnicodeDecodeError as exc:
                raise InvalidInput(_NOT_A_TABLE, name=name) from exc
    control = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\r\n")
    if "\x00" in text or control > len(text) // 20:
        raise InvalidInput(_NOT_A_TABLE, name=name)
    # cp1258 writes tone marks as combining characters; compose them like UTF-8 text
    return unicodedata.normalize("NFC", text)


def _sniff_delimiter(text: str, fields_of: Callable[[Sequence[Cell]], set[str]]) -> str:
    """The delimiter that makes the most known headers appear in the first rows."""

    def score(delimiter: str) -> int:
        records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            head = list(islice(records, HEADER_SEARCH_ROWS * 2))
        except csv.Error:
            return 0
        return max((len(fields_of(record)) for record in head), default=0)

    return max((",", ";", "\t"), key=score)  # max keeps the first of equal scores


def _non_empty(rows: Iterable[tuple[int, Sequence[Cell]]]) -> list[Line]:
    lines: list[Line] = []
    for number, cells in rows:
        if any(cell_text(cell) for cell in cells):
            if len(lines) == MAX_ROWS:
                raise InvalidInput(
                    N_(
                        "Tệp có hơn {max} dòng. Kế hoạch năm của một tỉnh thường chỉ vài trăm "
                        "dòng; vui lòng kiểm tra lại tệp."
                    ),
                    max=MAX_ROWS,
                )
            lines.append(Line(number, tuple(cells)))
    return lines


_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u00ad"))


def cell_text(cell: Cell) -> str:
    """A cell as clean text: NFC, single spaces; numbers and dates written the Vietnamese way."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        text = unicodedata.normalize("NFC", cell.translate(_INVISIBLE))
        text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
        return " ".join(text.split())
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, dt.datetime):
        return cell.strftime("%d/%m/%Y" if cell.time() == dt.time() else "%d/%m/%Y %H:%M")
    if isinstance(cell, dt.date):
        return cell.strftime("%d/%m/%Y")
    if isinstance(cell, dt.time):
        return cell.strftime("%H:%M")
    return str(cell)


# --- The header row -------------------------------------------------------------------------

_PLAN_NO, _DATE, _TIME, _PLACE = "plan_no", "date", "time", "place"
_ORGANISER, _RECEIVING, _TARGET = "organiser", "receiving_institution", "target_units"
_CAMPAIGN, _NOTES = "campaign", "notes"
_REQUIRED = {_DATE: "«Ngày»", _PLACE: "«Địa điểm»", _TARGET: "«Chỉ tiêu»"}

_ALIASES = {
    **dict.fromkeys(("dot", "dot so", "stt", "so tt", "tt", "no", "round", "drive"), _PLAN_NO),
    **dict.fromkeys(("ngay", "ngay du kien", "ngay to chuc", "thoi gian", "date"), _DATE),
    **dict.fromkeys(("gio", "time", "hours"), _TIME),
    **dict.fromkeys(
        ("dia diem", "dia diem to chuc", "noi to chuc", "place", "location", "venue"), _PLACE
    ),
    **dict.fromkeys(
        (
            "don vi to chuc",
            "don vi thuc hien",
            "organiser",
            "organizer",
            "organising unit",
            "organizing unit",
        ),
        _ORGANISER,
    ),
    **dict.fromkeys(
        ("co so tiep nhan", "don vi tiep nhan", "receiving institution", "hospital"), _RECEIVING
    ),
    **dict.fromkeys(("chi tieu", "target", "target units"), _TARGET),
    **dict.fromkeys(("chu de", "campaign", "theme"), _CAMPAIGN),
    **dict.fromkeys(("ghi chu", "notes", "note"), _NOTES),
}


def _field_of(header: str) -> str | None:
    """The field a header names: 'Chỉ tiêu (đơn vị máu)' -> 'target_units'; None if unknown."""
    for candidate in (header, header.split("(")[0]):
        found = _ALIASES.get(fold(candidate).strip(" .:*"))
        if found:
            return found
    return None


def _known_fields(cells: Sequence[Cell]) -> set[str]:
    return {found for cell in cells if (found := _field_of(cell_text(cell)))}


def _find_header(lines: Sequence[Line]) -> int:
    """Index of the first line with every required header; plans often have a title above."""
    best, best_count = None, 1  # one known word in a title line is not a header
    for index, line in enumerate(lines[:HEADER_SEARCH_ROWS]):
        fields = _known_fields(line.cells)
        if fields >= _REQUIRED.keys():
            return index
        if len(fields) > best_count:
            best, best_count = index, len(fields)
    if best is None:
        raise InvalidInput(
            N_(
                "Không tìm thấy dòng tiêu đề của bảng. Bảng cần có các cột «Ngày», «Địa điểm» "
                "và «Chỉ tiêu» trong {rows} dòng đầu."
            ),
            rows=HEADER_SEARCH_ROWS,
        )
    missing = [
        label for key, label in _REQUIRED.items() if key not in _known_fields(lines[best].cells)
    ]
    raise InvalidInput(
        N_("Dòng tiêu đề (dòng {line}) thiếu cột {columns}."),
        line=lines[best].number,
        columns=", ".join(missing),
    )


@dataclass(frozen=True, slots=True)
class Column:
    index: int
    header: str  # as written in the file
    field: str | None  # None: a column we do not know


def columns_of(
    header: Line, fields_of: Callable[[list[str]], Sequence[str | None]]
) -> list[Column]:
    """The header's columns, each with the field `fields_of` names for it; two columns of
    one field stop the import, naming both (shared by plan and quota tables)."""
    named = [(index, text) for index, cell in enumerate(header.cells) if (text := cell_text(cell))]
    fields = fields_of([text for _index, text in named])
    columns: list[Column] = []
    by_field: dict[str, Column] = {}
    for (index, text), found in zip(named, fields, strict=True):
        column = Column(index, text, found)
        if column.field in by_field:
            raise InvalidInput(
                N_(
                    "Hai cột «{first}» và «{second}» trùng nhau (cùng một loại thông tin). "
                    "Vui lòng chỉ giữ một cột."
                ),
                first=by_field[column.field].header,
                second=text,
            )
        if column.field:
            by_field[column.field] = column
        columns.append(column)
    return columns


def _header_fields(headers: Sequence[str]) -> list[str | None]:
    fields = [_field_of(header) for header in headers]
    if fields.count(_DATE) > 1 and _TIME not in fields:
        # 'Thời gian' beside 'Ngày' is the time of day, not a second date
        return [
            _TIME if found == _DATE and fold(header) == "thoi gian" else found
            for header, found in zip(headers, fields, strict=True)
        ]
    return fields


_TOTAL_WORDS = {"tong", "tong cong", "total", "cong", "tong so", "grand total"}


def _is_total(line: Line) -> bool:
    first = next((text for cell in line.cells if (text := cell_text(cell))), "")
    folded = fold(first).strip(" .:")
    return folded in _TOTAL_WORDS or folded.startswith(("tong cong ", "total "))


# --- The rows -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Window:
    """The dates a plan for a year may hold: reporting runs 1/12 to 30/11."""

    year: int
    start: dt.date
    end: dt.date

    @classmethod
    def of(cls, year: int) -> _Window:
        return cls(year, dt.date(year - 1, 12, 1), dt.date(year, 12, 31))

    def text(self) -> str:
        return f"{self.start:%d/%m/%Y}–{self.end:%d/%m/%Y}"


def _read_rows(
    lines: Sequence[Line], columns: Sequence[Column], window: _Window
) -> tuple[list[PlanRow], list[RowProblem]]:
    fields = {column.field: column for column in columns if column.field}
    unknown = [column for column in columns if column.field is None]
    rows: list[PlanRow] = []
    problems: list[RowProblem] = []
    seen: dict[tuple[str | None, dt.date, str], int] = {}
    for sequence, line in enumerate(lines, start=1):
        reader = _RowReader(line, fields, unknown, window)
        row = reader.read(sequence)
        if isinstance(row, list):
            problems.extend(row)
            continue
        # without a written Đợt, two drives on one day at one place are the same drive
        key = (reader.text(_PLAN_NO) or None, row.date, fold(row.place))
        if key in seen:
            problems.append(
                RowProblem(line.number, None, N_("Trùng với dòng {other}."), {"other": seen[key]})
            )
            continue
        seen[key] = line.number
        rows.append(row)
    return rows, problems


@dataclass(slots=True)
class _RowReader:
    line: Line
    fields: Mapping[str, Column]
    unknown: Sequence[Column]  # columns we do not know; their values go into the notes
    window: _Window
    problems: list[tuple[int, RowProblem]] = dataclasses.field(default_factory=list)

    def read(self, sequence: int) -> PlanRow | list[RowProblem]:
        day = self.take(_DATE, partial(_parse_date, window=self.window))
        start, end = self.take(_TIME, parse_times) or (None, None)
        place = self.take(_PLACE, _parse_place)
        target = self.take(_TARGET, parse_target)
        if self.problems or day is None or place is None or target is None:
            return [problem for _index, problem in sorted(self.problems, key=lambda p: p[0])]
        return PlanRow(
            line=self.line.number,
            plan_no=self.text(_PLAN_NO) or str(sequence),
            date=day[0],
            month_only=day[1],
            start_time=start,
            end_time=end,
            place=place,
            organiser=self.text(_ORGANISER) or None,
            receiving_institution=self.text(_RECEIVING) or None,
            target_units=target,
            campaign=self.text(_CAMPAIGN) or None,
            notes=self.notes(),
        )

    def take(self, name: str, parse: Callable[[Cell], T]) -> T | None:
        """The parsed cell of a field; None, with a problem noted, when the cell is wrong."""
        column = self.fields.get(name)
        if column is None:
            return None
        try:
            return parse(self.line.cell(column.index))
        except InvalidInput as exc:
            problem = RowProblem(self.line.number, column.header, exc.message, dict(exc.params))
            self.problems.append((column.index, problem))
            return None

    def text(self, name: str) -> str:
        column = self.fields.get(name)
        return cell_text(self.line.cell(column.index)) if column else ""

    def notes(self) -> str | None:
        parts = [self.text(_NOTES)]
        for column in self.unknown:
            if value := cell_text(self.line.cell(column.index)):
                parts.append(f"{column.header}: {value}")
        return "\n".join(part for part in parts if part) or None


# --- Cells ----------------------------------------------------------------------------------

_DATE_PREFIX = re.compile(r"(?:(?:thu\s*\w+|chu nhat|cn)\s*[,-]?\s*)?(?:ngay\s*)?")
_ISO_DATE = re.compile(r"(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})")
_DAY_FIRST = re.compile(r"(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4}|\d{2})")
_MONTH_ONLY = re.compile(r"(?:thang|t)?\s*(\d{1,2})\s*(?:[/.-]|nam)\s*(\d{4})")


def _parse_date(cell: Cell, window: _Window) -> tuple[dt.date, bool]:
    """A date and whether only its month is known (stored as the 1st of that month)."""
    if isinstance(cell, dt.datetime):
        day, month_only = cell.date(), False
    elif isinstance(cell, dt.date):
        day, month_only = cell, False
    else:
        day, month_only = _date_from_text(cell_text(cell))
    if not window.start <= day <= window.end:
        raise InvalidInput(
            N_("Tháng {date} nằm ngoài kế hoạch năm {year}: chỉ nhận ngày trong khoảng {window}.")
            if month_only
            else N_(
                "Ngày {date} nằm ngoài kế hoạch năm {year}: chỉ nhận ngày trong khoảng {window}."
            ),
            date=f"{day:%m/%Y}" if month_only else f"{day:%d/%m/%Y}",
            year=window.year,
            window=window.text(),
        )
    return day, month_only


def _date_from_text(text: str) -> tuple[dt.date, bool]:
    if not text:
        raise InvalidInput(N_("Chưa ghi ngày."))
    folded = fold(text)
    prefix = _DATE_PREFIX.match(folded)
    folded = folded[prefix.end() if prefix else 0 :].strip(" .")
    month_only = False
    if match := _ISO_DATE.fullmatch(folded):
        year, month, day = map(int, match.groups())
    elif match := _DAY_FIRST.fullmatch(folded):
        day, month, year = map(int, match.groups())
        year += 2000 if year < 100 else 0  # 17/12/22
    elif match := _MONTH_ONLY.fullmatch(folded):
        month, year = map(int, match.groups())
        day, month_only = 1, True
    else:
        raise InvalidInput(
            N_("Không hiểu ngày «{value}». Vui lòng ghi dạng 17/12/2019 hoặc Tháng 12/2019."),
            value=text,
        )
    try:
        return dt.date(year, month, day), month_only
    except ValueError:
        raise InvalidInput(N_("Ngày «{value}» không có trên lịch."), value=text) from None


_TIME_TEXT = r"(\d{1,2})\s*(?:h|:|gio|g)\s*(?:(\d{1,2})\s*(?:p|phut)?)?"
_TIME_RANGE = re.compile(rf"(?:tu\s*)?{_TIME_TEXT}(?:\s*(?:-|den)\s*{_TIME_TEXT})?")
_DASHES = str.maketrans(dict.fromkeys("–—−", "-"))


def parse_times(cell: Cell) -> tuple[dt.time | None, dt.time | None]:
    """'7h30-11h00', 'từ 7h30 đến 11h', '07:30–11:00' or a time cell (a start only)."""
    if isinstance(cell, dt.datetime):
        return cell.time(), None
    if isinstance(cell, dt.time):
        return cell, None
    text = cell_text(cell)
    if not text:
        return None, None
    match = _TIME_RANGE.fullmatch(fold(text.translate(_DASHES)))
    if not match:
        raise InvalidInput(
            N_("Không hiểu giờ «{value}». Vui lòng ghi dạng 7h30-11h00."), value=text
        )
    start = _time_of(match.group(1), match.group(2), text)
    end = _time_of(match.group(3), match.group(4), text) if match.group(3) else None
    if end is not None and end <= start:
        raise InvalidInput(N_("Giờ kết thúc phải sau giờ bắt đầu («{value}»)."), value=text)
    return start, end


def _time_of(hour: str, minute: str | None, text: str) -> dt.time:
    try:
        return dt.time(int(hour), int(minute or 0))
    except ValueError:
        raise InvalidInput(
            N_("Giờ «{value}» không đúng: giờ từ 0 đến 23, phút từ 0 đến 59."), value=text
        ) from None


def _parse_place(cell: Cell) -> str:
    place = cell_text(cell)
    if not place:
        raise InvalidInput(N_("Chưa ghi địa điểm."))
    if len(place) > MAX_PLACE:
        raise InvalidInput(
            N_("Địa điểm dài quá ({length} ký tự, tối đa {max})."),
            length=len(place),
            max=MAX_PLACE,
        )
    return place


_TARGET_TEXT = re.compile(r"(\d{1,3}(?:[., ]\d{3})+|\d+)\s*(?:don vi(?: mau)?|dv|units?)?\.?")


def parse_target(cell: Cell) -> int:
    """Units of blood: 150, '1.000' (one thousand), '150 đơn vị', an XLSX number."""
    text = cell_text(cell)
    if isinstance(cell, bool | dt.date | dt.time | dt.timedelta):
        target = None
    elif isinstance(cell, int | float):
        target = int(cell) if float(cell).is_integer() else None
    else:
        target = _target_from_text(text)
    if target is None:
        raise InvalidInput(
            N_("Chỉ tiêu «{value}» chưa phải là số đơn vị máu. Vui lòng ghi số, ví dụ 150."),
            value=text,
        )
    if target < 0:
        raise InvalidInput(N_("Chỉ tiêu không được là số âm ({value})."), value=text)
    if target > MAX_TARGET:
        raise InvalidInput(
            N_("Chỉ tiêu {value} có vẻ quá lớn (tối đa {max} đơn vị). Vui lòng kiểm tra lại."),
            value=text,
            max=MAX_TARGET,
        )
    return target


def _target_from_text(text: str) -> int | None:
    if not text:
        raise InvalidInput(N_("Chưa ghi chỉ tiêu."))
    folded = fold(text.translate(_DASHES))
    sign = -1 if folded.startswith("-") else 1
    match = _TARGET_TEXT.fullmatch(folded.lstrip("- "))
    if not match:
        return None
    return sign * int(re.sub(r"\D", "", match.group(1)))
