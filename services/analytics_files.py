"""Analytics as files: the honours list for the 14/6 ceremonies (XLSX: a summary sheet, then
one sheet per unit) and the campaign progress chart (PNG: monthly bars, the cumulative line
against the cumulative target). Headings are in the reader's language."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from locales import _
from services.analytics import HonourRow, HonoursReport
from services.campaigns import Progress

MAX_WIDTH = 50
SHEET_TITLE_MAX = 31
_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def _sheet(
    book: Workbook,
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    heading: str | None = None,
) -> None:
    sheet = book.create_sheet(title)
    if heading:
        sheet.append([heading])
        sheet["A1"].font = Font(bold=True, size=12)
    sheet.append(list(header))
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    sheet.freeze_panes = f"A{header_row + 1}"
    for index, name in enumerate(header, start=1):
        cells = (row[index - 1] for row in rows if len(row) >= index)
        longest = max([len(str(name)), *(len(str(cell or "")) for cell in cells)])
        sheet.column_dimensions[get_column_letter(index)].width = min(longest + 2, MAX_WIDTH)


def _title(name: str, taken: set[str]) -> str:
    base = " ".join(name.translate(_FORBIDDEN).split())[:SHEET_TITLE_MAX] or "-"
    title, n = base, 2
    while title.lower() in taken:
        suffix = f" ({n})"
        title, n = base[: SHEET_TITLE_MAX - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def _sex(value: str | None) -> str:
    return {"male": _("Nam"), "female": _("Nữ")}.get(value or "", "")


def honours_workbook(report: HonoursReport) -> bytes:
    """Sheet 'Tổng hợp': people per milestone (erased donors counted) and per unit; then a
    sheet per unit listing its people, highest milestone first."""
    book = Workbook()
    assert book.active is not None
    book.remove(book.active)
    by_unit: dict[tuple[str, int], list[HonourRow]] = {}
    for row in report.people:
        by_unit.setdefault((row.unit_path, row.unit_id or 0), []).append(row)
    summary: list[list[Any]] = [
        [_("Năm báo cáo"), report.year],
        [_("Từ ngày"), report.start.strftime("%d/%m/%Y")],
        [_("Đến ngày"), report.end.strftime("%d/%m/%Y")],
        [_("Đơn vị"), report.scope_name or _("Tất cả")],
        [_("Số người đạt mốc"), report.counted],
        [_("Trong đó có tên trong danh sách"), len(report.people)],
        [],
        [_("Mốc (số lần hiến)"), _("Số người")],
        *([milestone, n] for milestone, n in report.counts),
        [],
        [_("Đơn vị"), _("Số người được tôn vinh")],
        *(
            [unit_path or _("Chưa rõ đơn vị"), len(rows)]
            for (unit_path, _id), rows in by_unit.items()
        ),
    ]
    _sheet(
        book,
        _("Tổng hợp"),
        [_("Mục"), _("Giá trị")],
        summary,
        heading=_("Tôn vinh người hiến máu tiêu biểu năm {year}").format(year=report.year),
    )
    header = [
        _("STT"),
        _("Họ và tên"),
        _("Năm sinh"),
        _("Giới tính"),
        _("Đơn vị"),
        _("Mốc tôn vinh"),
        _("Tổng số lần hiến"),
        _("Lần hiến gần nhất"),
        _("Điện thoại (cho ban tổ chức)"),
    ]
    taken = {_("Tổng hợp").lower()}
    for (unit_path, _id), rows in by_unit.items():
        name = rows[0].unit_name or _("Chưa rõ đơn vị")
        _sheet(
            book,
            _title(name, taken),
            header,
            [
                [
                    number,
                    row.name,
                    row.birth_year or "",
                    _sex(row.sex),
                    row.unit_name,
                    row.milestone,
                    row.total,
                    row.last_donation.strftime("%d/%m/%Y"),
                    row.phone or "",
                ]
                for number, row in enumerate(rows, start=1)
            ],
            heading=unit_path or name,
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def month_label(month: int, year: int) -> str:
    return f"{month:02d}/{year % 100:02d}"


def campaign_chart_png(progress: Progress) -> bytes:
    """Units collected each month (bars), cumulative (line) and the cumulative target (dashed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9.0, 4.8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(
        _("Tiến độ năm {year} · {unit} · kế hoạch {plan} đơn vị").format(
            year=progress.year, unit=progress.unit_name, plan=progress.plan
        )
    )
    positions = list(range(len(progress.months)))
    bars = axes.bar(
        positions,
        [m.collected for m in progress.months],
        color="#c62828",
        label=_("Đơn vị máu trong tháng"),
    )
    axes.bar_label(bars, padding=2, fontsize=8)
    axes.plot(
        positions,
        [m.cumulative for m in progress.months],
        color="#1565c0",
        marker="o",
        label=_("Luỹ kế"),
    )
    axes.plot(
        positions,
        [m.cumulative_target for m in progress.months],
        color="#616161",
        linestyle="--",
        label=_("Luỹ kế theo kế hoạch chiến dịch"),
    )
    axes.set_xticks(positions, [month_label(m.month, m.year) for m in progress.months])
    axes.set_ylabel(_("Đơn vị máu"))
    axes.margins(y=0.15)
    axes.legend(loc="upper left")
    if progress.shares:
        axes.set_xlabel(
            _("Chiến dịch: {shares}").format(
                shares=", ".join(
                    _("tháng {months}: {share}%").format(
                        months=s.label.replace("-", "–"), share=s.percent
                    )
                    for s in progress.shares
                )
            )
        )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
