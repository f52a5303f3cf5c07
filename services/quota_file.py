"""The quota table (bảng phân bổ chỉ tiêu) a committee attaches to its plan, read from CSV or
XLSX bytes (no database).

Rows are units with their quota; group heading rows ("I  Đại học Thái Nguyên", "Mục II – Các Khu
công nghiệp tỉnh") are the parents of the rows below them, and a quota themselves when they carry
a figure; total rows ("TỔNG SỐ", "Cộng mục II") are checksums, not units. With `drive_mode` the
rows are one drive's quotas per organisation and `Giờ` is each one's arrival slot (a blank cell
takes the slot above, as a merged cell in the source does).

Like the plan: a fault in the whole file raises InvalidInput; a fault in a row is a RowProblem
naming the row and column; a total that disagrees is a warning naming both figures.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import openpyxl

from locales import N_
from services.errors import InvalidInput
from services.plan_file import (
    HEADER_SEARCH_ROWS,
    Cell,
    Column,
    Line,
    RowProblem,
    cell_text,
    columns_of,
    parse_target,
    parse_times,
    read_lines,
)
from services.unit_names import canonical
from services.validation import fold

MAX_BYTES = 2 * 1024 * 1024  # a province's table is a few dozen rows
MAX_NAME = 200  # as long as a unit's name may be
MAX_NOTES = 1000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class QuotaRow:
    line: int
    name: str  # the unit as written (a group heading without its numeral)
    target_units: int | None  # None: a group heading without a figure of its own
    months: tuple[int, ...]  # the months the unit is expected to collect in, 1-12
    slot_start: dt.time | None
    slot_end: dt.time | None
    notes: str | None
    group: str | None  # the heading this row sits under: its parent unit
    is_group: bool = False
    label: str | None = None  # the numeral of a group heading ("II")


@dataclass(frozen=True, slots=True)
class QuotaFile:
    rows: tuple[QuotaRow, ...]  # groups and units in file order, bad rows left out
    problems: tuple[RowProblem, ...]
    warnings: tuple[RowProblem, ...]  # totals that disagree, columns not used
    kind: str

    @property
    def quotas(self) -> tuple[QuotaRow, ...]:
        """The rows that carry a figure: units, and groups with a figure of their own."""
        return tuple(row for row in self.rows if row.target_units is not None)

    @property
    def total(self) -> int:
        return sum(row.target_units or 0 for row in self.rows)


def read_quotas(
    content: bytes, filename: str, *, drive_mode: bool = False, max_bytes: int = MAX_BYTES
) -> QuotaFile:
    """The quotas of a committee's table and its bad rows."""
    kind, lines = read_lines(content, filename, max_bytes=max_bytes, fields_of=_known_fields)
    header_at = _find_header(lines)
    columns = columns_of(
        lines[header_at], lambda texts: [_field_of(text, drive_mode) for text in texts]
    )
    merged_quotas: dict[int, int] = {}
    if kind == "xlsx":
        lines, merged_quotas = _unmerge(content, lines, columns)
    data = [line for line in lines[header_at + 1 :] if not _is_column_numbers(line, columns)]
    if not data:
        raise InvalidInput(N_("Tệp chỉ có dòng tiêu đề, chưa có đơn vị nào."))
    reader = _Reader(columns, drive_mode, merged_quotas)
    for line in data:
        reader.read(line)
    reader.check_totals()
    return QuotaFile(
        rows=tuple(reader.rows),
        problems=tuple(reader.problems),
        warnings=tuple(reader.warnings),
        kind=kind,
    )


def format_units(units: int) -> str:
    """24500 -> '24.500', the way Vietnamese tables write numbers."""
    return f"{units:,}".replace(",", ".")


# --- The header row -------------------------------------------------------------------------

_NUMBER, _UNIT, _TARGET, _MONTHS, _TIME, _NOTES = (
    "number",
    "unit",
    "target_units",
    "months",
    "time",
    "notes",
)
_REQUIRED = {_UNIT: "«Đơn vị»", _TARGET: "«Chỉ tiêu»"}
_ALIASES = {
    **dict.fromkeys(("tt", "stt", "so tt", "so thu tu", "no", "#"), _NUMBER),
    **dict.fromkeys(
        (
            "don vi",
            "ten don vi",
            "don vi duoc giao",
            "co quan don vi",
            "ten co quan don vi",
            "unit",
            "unit name",
            "organisation",
            "organization",
        ),
        _UNIT,
    ),
    **dict.fromkeys(("chi tieu", "quota", "target", "target units", "units"), _TARGET),
    **dict.fromkeys(
        ("thang", "thang du kien", "du kien thang", "months", "expected months"), _MONTHS
    ),
    **dict.fromkeys(("gio", "khung gio", "gio den", "time", "slot", "arrival"), _TIME),
    **dict.fromkeys(("ghi chu", "notes", "note"), _NOTES),
}


def _field_of(header: str, drive_mode: bool = False) -> str | None:
    """'Chỉ tiêu vận động năm 2021 (đơn vị máu)': the quota; 'Thời gian (tháng)': the months."""
    folded = fold(header).strip(" .:*")
    for candidate in (folded, folded.split("(")[0].strip()):
        if found := _ALIASES.get(candidate):
            return found
    if folded.startswith("chi tieu"):
        return _TARGET
    if re.search(r"\bthang\b|\bmonths?\b", folded):
        return _MONTHS
    if "thoi gian" in folded:  # beside a drive, the time of day; beside a year, the months
        return _TIME if drive_mode else _MONTHS
    if folded.startswith(("ten don vi", "don vi", "ten co quan")):
        return _UNIT
    return None


def _known_fields(cells: Sequence[Cell]) -> set[str]:
    return {found for cell in cells if (found := _field_of(cell_text(cell)))}


def _find_header(lines: Sequence[Line]) -> int:
    """Index of the first line with a unit and a quota column; tables have titles above."""
    best, best_count = None, 1  # a title ("Chỉ tiêu vận động ...") is not a header
    for index, line in enumerate(lines[:HEADER_SEARCH_ROWS]):
        fields = _known_fields(line.cells)
        if fields >= _REQUIRED.keys():
            return index
        if len(fields) > best_count:
            best, best_count = index, len(fields)
    if best is None:
        raise InvalidInput(
            N_(
                "Không tìm thấy dòng tiêu đề của bảng chỉ tiêu. Bảng cần có các cột «Đơn vị» "
                "và «Chỉ tiêu» trong {rows} dòng đầu."
            ),
            rows=HEADER_SEARCH_ROWS,
        )
    found = _known_fields(lines[best].cells)
    raise InvalidInput(
        N_("Dòng tiêu đề (dòng {line}) thiếu cột {columns}."),
        line=lines[best].number,
        columns=", ".join(label for key, label in _REQUIRED.items() if key not in found),
    )


def _is_column_numbers(line: Line, columns: Sequence[Column]) -> bool:
    """The row of column numbers under a header: '(1) (2) (3)' or 'A B 1 2'."""
    unit = next(column for column in columns if column.field == _UNIT)
    return bool(re.fullmatch(r"\(?[A-Za-z0-9]{1,2}\)?", cell_text(line.cell(unit.index))))


# --- Merged cells of a workbook -------------------------------------------------------------


def _unmerge(
    content: bytes, lines: list[Line], columns: Sequence[Column]
) -> tuple[list[Line], dict[int, int]]:
    """Spread a cell merged down a column over its rows, for the months and the arrival slot.
    A quota merged over several rows cannot be split: its rows are returned (row -> first row)."""
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), data_only=True)
    except Exception:  # it read as a table already; without its merges the rows still read
        return lines, {}
    try:
        ranges = list(workbook.worksheets[0].merged_cells.ranges)
    finally:
        workbook.close()
    spread = {c.index for c in columns if c.field in (_MONTHS, _TIME)}
    target = next(c.index for c in columns if c.field == _TARGET)
    by_number = {line.number: line for line in lines}
    cells = {line.number: list(line.cells) for line in lines}
    merged_quotas: dict[int, int] = {}
    for merged in ranges:
        column = merged.min_col - 1
        if merged.min_col != merged.max_col or merged.min_row == merged.max_row:
            continue
        top = by_number.get(merged.min_row)
        value = top.cell(column) if top else None
        for number in range(merged.min_row + 1, merged.max_row + 1):
            row = cells.get(number)
            if row is None:
                continue
            row.extend([None] * (column + 1 - len(row)))
            if column in spread:
                row[column] = value
            elif column == target:
                merged_quotas[number] = merged.min_row
    return [Line(line.number, tuple(cells[line.number])) for line in lines], merged_quotas


# --- The rows -------------------------------------------------------------------------------

_ROMAN = r"(?:X{0,3}(?:IX|IV|V?I{0,3}))"
_GROUP_WORD = r"(?i:mục|phần|nhóm|muc|phan|nhom)"  # numerals stay upper-case: 'a', 'b' are items
_GROUP_NUMBER = re.compile(rf"(?:{_GROUP_WORD}\s+)?({_ROMAN}|[A-Z])\s*[.:)]?")
_GROUP_IN_NAME = re.compile(
    rf"(?:{_GROUP_WORD}\s+({_ROMAN}|[A-Z]|\d+)|({_ROMAN}))\s*[.:)\-–—]*\s+(\S.*)"
)
_TOTAL = re.compile(
    r"(tổng cộng|tổng số|tổng|cộng|grand total|sub-?total|total)"
    r"(?:\s*[:.]?\s*(?:(?:mục|phần|nhóm)\s+)?([IVX]+|[A-Z])?)?\s*[:.]?\s*(.*)",
    re.IGNORECASE,
)
_DASHES = str.maketrans(dict.fromkeys("–—−", "-"))


@dataclass(frozen=True, slots=True)
class _Total:
    line: int
    column: str
    written: int
    group: str | None  # None: the whole table; else the name of the group it sums


@dataclass(slots=True)
class _Reader:
    columns: Sequence[Column]
    drive_mode: bool
    merged_quotas: dict[int, int]  # row -> first row of a quota cell merged over both
    rows: list[QuotaRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    totals: list[_Total] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)  # canonical name -> line
    group: QuotaRow | None = None
    slot: tuple[dt.time, dt.time] | None = None
    failed: bool = False  # a bad row makes the sums unreliable: no checksum warnings then

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.field == name), None)

    def text(self, line: Line, name: str) -> str:
        column = self.column(name)
        return cell_text(line.cell(column.index)) if column else ""

    def problem(self, line: Line, name: str | None, error: InvalidInput) -> None:
        column = self.column(name) if name else None
        header = column.header if column else None
        self.problems.append(RowProblem(line.number, header, error.message, dict(error.params)))
        self.failed = True

    def read(self, line: Line) -> None:
        number, name = self.text(line, _NUMBER), self.text(line, _UNIT)
        first = number or name or next((t for c in line.cells if (t := cell_text(c))), "")
        if (total := _TOTAL.fullmatch(first)) and _is_total(total):
            self.read_total(line, total)
            return
        heading = self.heading(number, name)
        if heading is not None:
            self.read_unit(line, heading[1], label=heading[0])
            return
        if not name:
            self.problem(line, _UNIT, InvalidInput(N_("Chưa ghi tên đơn vị.")))
            return
        self.read_unit(line, name, label=None)

    def heading(self, number: str, name: str) -> tuple[str, str] | None:
        """(numeral, name) of a group heading row, else None."""
        match = _GROUP_NUMBER.fullmatch(number) if number and name else None
        if match and match.group(1):
            return match.group(1).upper(), name
        written = name if not number else (number if not name else "")
        if match := _GROUP_IN_NAME.fullmatch(written.translate(_DASHES)):
            label = match.group(1) or match.group(2)
            if label:  # an empty numeral matches the pattern; it is no heading
                return label.upper(), match.group(3).strip(" -")
        return None

    def read_unit(self, line: Line, name: str, *, label: str | None) -> None:
        errors_before = len(self.problems)
        is_group = label is not None
        if len(name) > MAX_NAME:
            self.problem(
                line,
                _UNIT,
                InvalidInput(
                    N_("Tên đơn vị dài quá ({length} ký tự, tối đa {max})."),
                    length=len(name),
                    max=MAX_NAME,
                ),
            )
        target = self.target(line, required=not is_group)
        months = self.take(line, _MONTHS, _parse_months) or ()
        slot = self.read_slot(line)
        key = canonical(name)
        if key in self.seen:
            self.problem(
                line,
                _UNIT,
                InvalidInput(
                    N_("Đơn vị «{name}» đã có ở dòng {other}."), name=name, other=self.seen[key]
                ),
            )
        if len(self.problems) > errors_before:
            if is_group:  # rows below a bad heading still need a parent
                self.group = None
            return
        self.seen[key] = line.number
        row = QuotaRow(
            line=line.number,
            name=name,
            target_units=target,
            months=months,
            slot_start=slot[0] if slot else None,
            slot_end=slot[1] if slot else None,
            notes=self.notes(line),
            group=None if is_group or self.group is None else self.group.name,
            is_group=is_group,
            label=label,
        )
        self.rows.append(row)
        if is_group:
            self.group = row

    def target(self, line: Line, *, required: bool) -> int | None:
        column = self.column(_TARGET)
        assert column is not None
        cell = line.cell(column.index)
        if line.number in self.merged_quotas:
            self.problem(
                line,
                _TARGET,
                InvalidInput(
                    N_(
                        "Ô chỉ tiêu được gộp (merge) với dòng {first}. Vui lòng ghi chỉ tiêu "
                        "riêng cho từng đơn vị."
                    ),
                    first=self.merged_quotas[line.number],
                ),
            )
            return None
        if not required and not cell_text(cell):
            return None
        return self.take(line, _TARGET, parse_target)

    def take(self, line: Line, name: str, parse: Callable[[Cell], T]) -> T | None:
        column = self.column(name)
        if column is None:
            return None
        try:
            return parse(line.cell(column.index))
        except InvalidInput as error:
            self.problem(line, name, error)
            return None

    def read_slot(self, line: Line) -> tuple[dt.time, dt.time] | None:
        column = self.column(_TIME)
        if column is None:
            return None
        written = cell_text(line.cell(column.index))
        if not self.drive_mode:
            if written and not self.warnings_about(column.header):
                self.warnings.append(
                    RowProblem(
                        line.number,
                        column.header,
                        N_(
                            "Cột giờ chỉ dùng khi nhập chỉ tiêu cho một đợt hiến máu; "
                            "lần này bỏ qua cột này."
                        ),
                        {},
                    )
                )
            return None
        if not written:
            return self.slot  # a blank cell, or a merged one: the slot of the row above
        try:
            start, end = parse_times(line.cell(column.index))
        except InvalidInput as error:
            self.problem(line, _TIME, error)
            return None
        if start is None or end is None:
            self.problem(
                line,
                _TIME,
                InvalidInput(
                    N_("Khung giờ «{value}» cần cả giờ đến và giờ kết thúc, ví dụ 7h30-8h30."),
                    value=written,
                ),
            )
            return None
        self.slot = (start, end)
        return self.slot

    def warnings_about(self, header: str) -> bool:
        return any(warning.column == header for warning in self.warnings)

    def notes(self, line: Line) -> str | None:
        parts = [self.text(line, _NOTES)]
        for column in self.columns:
            if column.field is None and (value := cell_text(line.cell(column.index))):
                parts.append(f"{column.header}: {value}")
        return "\n".join(part for part in parts if part)[:MAX_NOTES] or None

    def read_total(self, line: Line, total: re.Match[str]) -> None:
        column = self.column(_TARGET)
        assert column is not None
        written = cell_text(line.cell(column.index))
        if not written:
            return
        try:
            figure = parse_target(written)
        except InvalidInput as error:
            self.problem(line, _TARGET, error)
            return
        word = total.group(1).lower()
        group: str | None = None
        if word.startswith(("cộng", "sub")):
            label = (total.group(2) or "").upper()
            named = [row for row in self.rows if row.is_group and row.label == label]
            if named:
                group = named[-1].name
            elif self.group is not None:
                group = self.group.name
        self.totals.append(_Total(line.number, column.header, figure, group))

    def check_totals(self) -> None:
        if self.failed:
            return
        for total in self.totals:
            counted = sum(
                row.target_units or 0
                for row in self.rows
                if total.group is None or total.group in (row.name, row.group)
            )
            if counted != total.written:
                self.warnings.append(
                    RowProblem(
                        total.line,
                        total.column,
                        N_("Dòng tổng ghi {written} nhưng cộng các dòng được {counted}."),
                        {"written": format_units(total.written), "counted": format_units(counted)},
                    )
                )


def _is_total(match: re.Match[str]) -> bool:
    """'Tổng số', 'Tổng cộng toàn tỉnh', 'Cộng mục II' are totals; 'Tổng công ty ...' and
    'Cộng đồng ...' are units."""
    word, rest = match.group(1).lower(), match.group(3)
    if word in {"tổng", "cộng"}:
        return not rest  # only a numeral may follow: 'Cộng II'
    return True


_MONTH_WORDS = re.compile(r"\b(?:thang|t)\s*(?=\d)")


def _parse_months(cell: Cell) -> tuple[int, ...]:
    """'1, 5, 11', 'Tháng 1 và 5', 'T3; T9', '5-7' (May to July) or one number."""
    whole = isinstance(cell, float) and cell.is_integer()
    if isinstance(cell, bool | dt.date | dt.time | dt.timedelta | float) and not whole:
        raise InvalidInput(
            N_("Không hiểu tháng «{value}». Vui lòng ghi dạng 1, 5, 11."),
            value=cell_text(cell),
        )
    text = cell_text(cell)
    if not text:
        return ()
    folded = _MONTH_WORDS.sub("", fold(text.translate(_DASHES)))
    months: set[int] = set()
    for token in re.split(r"\s*(?:[,;/+&]|\bva\b)\s*|\s+(?=\d)", folded):
        if not token:
            continue
        match = re.fullmatch(r"(\d{1,2})(?:\s*-\s*(\d{1,2}))?", token)
        if match is None:
            raise InvalidInput(
                N_("Không hiểu tháng «{value}». Vui lòng ghi dạng 1, 5, 11."), value=text
            )
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        for month in (first, last):
            if not 1 <= month <= 12:
                raise InvalidInput(
                    N_("Tháng {month} không có: tháng chỉ từ 1 đến 12."), month=month
                )
        if last < first:
            raise InvalidInput(
                N_("Không hiểu tháng «{value}». Vui lòng ghi dạng 1, 5, 11."), value=text
            )
        months.update(range(first, last + 1))
    return tuple(sorted(months))
