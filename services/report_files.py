"""The year's report as files: an XLSX workbook (a sheet per table) and a bar chart PNG of
units collected against each drive's target. Headings are in the reader's language."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from locales import _
from services.reports import YearReport

MAX_WIDTH = 60
CHART_MAX_DRIVES = 80  # beyond this the bars are too thin to read: the chart says so


def _date(day: dt.date, month_only: bool = False) -> str:
    return day.strftime("%m/%Y" if month_only else "%d/%m/%Y")


def _sheet(
    book: Workbook, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    sheet = book.create_sheet(title[:31])
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    sheet.freeze_panes = "A2"
    for index, name in enumerate(header, start=1):
        longest = max([len(str(name)), *(len(str(row[index - 1] or "")) for row in rows)])
        sheet.column_dimensions[get_column_letter(index)].width = min(longest + 2, MAX_WIDTH)


def workbook(report: YearReport) -> bytes:
    """Sheets: the summary, the drives (with a total row), the quotas (when there are any),
    the honours by milestone and the honours' names."""
    book = Workbook()
    assert book.active is not None
    book.remove(book.active)
    percent = report.percent
    _sheet(
        book,
        _("Tổng hợp"),
        [_("Mục"), _("Giá trị")],
        [
            [_("Năm báo cáo"), report.year],
            [_("Từ ngày"), _date(report.start)],
            [_("Đến ngày"), _date(report.end)],
            [_("Đơn vị"), report.unit_name or _("Tất cả")],
            [_("Số đợt hiến máu"), len(report.drives)],
            [_("Lượt người được vận động"), report.people],
            [_("Đơn vị máu tiếp nhận"), report.units],
            [_("Chỉ tiêu (đơn vị máu)"), report.target],
            [_("Tỷ lệ đạt chỉ tiêu (%)"), percent if percent is not None else ""],
        ],
    )
    _sheet(
        book,
        _("Các đợt"),
        [
            _("STT"),
            _("Ngày"),
            _("Tên đợt"),
            _("Địa điểm"),
            _("Chỉ tiêu"),
            _("Người vận động"),
            _("Đơn vị máu"),
            _("% chỉ tiêu"),
        ],
        [
            [
                number,
                _date(d.date, d.date_is_month_only),
                d.title,
                d.place,
                d.target,
                d.people,
                d.units,
                d.percent if d.percent is not None else "",
            ]
            for number, d in enumerate(report.drives, start=1)
        ]
        + [
            [
                "",
                "",
                _("Tổng cộng"),
                "",
                report.target,
                report.people,
                report.units,
                percent if percent is not None else "",
            ]
        ],
    )
    if report.quotas:
        _sheet(
            book,
            _("Chỉ tiêu đơn vị"),
            [
                _("Mã"),
                _("Đơn vị"),
                _("Thuộc"),
                _("Chỉ tiêu"),
                _("Số đợt"),
                _("Chỉ tiêu các đợt"),
                _("Đã thu"),
                _("% chỉ tiêu"),
            ],
            [
                [
                    q.code,
                    q.name,
                    q.parent_name or "",
                    q.quota,
                    q.drives,
                    q.drive_targets,
                    q.collected,
                    q.percent if q.percent is not None else "",
                ]
                for q in report.quotas
            ],
        )
    _sheet(
        book,
        _("Tôn vinh theo mốc"),
        [_("Số lần hiến"), _("Số người")],
        [[milestone, n] for milestone, n in report.honours_by_milestone()],
    )
    _sheet(
        book,
        _("Danh sách tôn vinh"),
        [_("Số lần hiến"), _("Họ và tên"), _("Đơn vị"), _("Ngày đạt mốc")],
        [[h.milestone, h.name, h.unit_name or "", _date(h.reached_on)] for h in report.honours],
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def chart_png(report: YearReport) -> bytes:
    """Units collected beside the target, one pair of bars per drive (matplotlib, Agg)."""
    # Imported here: matplotlib takes a while to load and only reports need it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drives = report.drives[:CHART_MAX_DRIVES]
    width = min(max(6.0, 1.0 + 0.9 * len(drives)), 30.0)
    figure = Figure(figsize=(width, 4.8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    title = _("Kết quả hiến máu năm {year}").format(year=report.year)
    if report.unit_name:
        title += f" · {report.unit_name}"
    axes.set_title(title)
    if not drives:
        axes.text(0.5, 0.5, _("Chưa có đợt hiến máu nào."), ha="center", va="center")
        axes.set_axis_off()
    else:
        positions = list(range(len(drives)))
        targets = axes.bar(
            [p - 0.2 for p in positions],
            [d.target for d in drives],
            width=0.4,
            label=_("Chỉ tiêu"),
            color="#bdbdbd",
        )
        units = axes.bar(
            [p + 0.2 for p in positions],
            [d.units for d in drives],
            width=0.4,
            label=_("Đơn vị máu tiếp nhận"),
            color="#c62828",
        )
        axes.bar_label(targets, padding=2, fontsize=8)
        axes.bar_label(units, padding=2, fontsize=8)
        axes.set_xticks(positions, [_date(d.date, d.date_is_month_only) for d in drives])
        axes.tick_params(axis="x", labelrotation=45 if len(drives) > 8 else 0)
        axes.set_ylabel(_("Đơn vị máu"))
        axes.legend()
        axes.margins(y=0.15)
        if len(report.drives) > len(drives):
            axes.set_xlabel(
                _("{shown} đợt đầu tiên trong {total} đợt").format(
                    shown=len(drives), total=len(report.drives)
                )
            )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
