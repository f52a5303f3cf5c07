"""`/report [year]` for committee members: the year's report as text, with the XLSX workbook
and the bar chart attached. `hienmau report` prints the same text."""

from __future__ import annotations

import asyncio
import re

from handlers import format as fmt
from handlers.context import Ctx
from handlers.messages import Attachment, Reply
from handlers.wizard import error_text
from locales import _
from services import drives, report_files, reports
from services.errors import DomainError
from services.quota_file import format_units
from services.reports import DriveResult, YearReport

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_DRIVES = 30  # in a chat; the workbook has them all


def _percent(value: int | None) -> str:
    return "" if value is None else f" ({value}%)"


def _units(units: int, target: int) -> str:
    return f"{format_units(units)}/{format_units(target)}" if target else format_units(units)


def _drive_line(number: int, drive: DriveResult) -> str:
    day = f"{drive.date:%m/%Y}" if drive.date_is_month_only else fmt.date(drive.date)
    return _("{number}. {day} · {place}: {people} người, {units} đơn vị{percent}").format(
        number=number,
        day=day,
        place=drive.place,
        people=format_units(drive.people),
        units=_units(drive.units, drive.target),
        percent=_percent(drive.percent),
    )


def _milestone(milestone: int) -> str:
    return _("lần đầu") if milestone == 1 else _("{n} lần").format(n=milestone)


def report_text(report: YearReport, shown_drives: int | None = None) -> str:
    """The summary: totals, each drive, each unit's quota, the honours due by milestone."""
    head = _("📈 Báo cáo năm {year} ({start} – {end})").format(
        year=report.year, start=fmt.date(report.start), end=fmt.date(report.end)
    )
    if report.unit_name:
        head += f" · {report.unit_name}"
    lines = [
        head,
        _(
            "{drives} đợt hiến máu, vận động {people} lượt người, tiếp nhận {units} đơn vị máu"
        ).format(
            drives=len(report.drives),
            people=format_units(report.people),
            units=_units(report.units, report.target),
        )
        + _percent(report.percent)
        + ".",
    ]
    if report.drives:
        shown = report.drives if shown_drives is None else report.drives[:shown_drives]
        lines += ["", _("Các đợt:")]
        lines += [_drive_line(number, drive) for number, drive in enumerate(shown, start=1)]
        if len(shown) < len(report.drives):
            lines.append(
                _("… và {n} đợt khác (xem tệp Excel).").format(n=len(report.drives) - len(shown))
            )
    if report.quotas:
        lines += ["", _("Chỉ tiêu theo đơn vị:")]
        lines += [
            _("• {name}: {collected}/{quota} đơn vị{percent}").format(
                name=q.name,
                collected=format_units(q.collected),
                quota=format_units(q.quota),
                percent=_percent(q.percent),
            )
            for q in report.quotas
        ]
    lines += ["", _("Tôn vinh theo mốc số lần hiến (đạt trong năm):")]
    by_milestone = report.honours_by_milestone()
    if not by_milestone:
        lines.append(_("Chưa có ai đạt mốc tôn vinh."))
    lines += [
        _("• {milestone}: {n} người").format(milestone=_milestone(milestone), n=format_units(n))
        for milestone, n in by_milestone
    ]
    return "\n".join(lines)


async def report(ctx: Ctx) -> list[Reply]:
    assert ctx.person is not None
    argument = ctx.inbound.argument
    year = reports.default_year(ctx.work.today())
    if argument:
        if not re.fullmatch(r"20\d{2}", argument):
            return [Reply(_("Năm «{value}» chưa đúng. Ví dụ: /report 2024").format(value=argument))]
        year = int(argument)
    try:
        unit = await drives.managing_unit(ctx.work, ctx.person.id)
        found = await reports.year_report(ctx.work, year, ctx.actor, unit.code)
    except DomainError as error:
        return [Reply(error_text(error))]
    book = report_files.workbook(found)
    chart = await asyncio.to_thread(report_files.chart_png, found)
    return [
        Reply(report_text(found, SHOWN_DRIVES)),
        Reply(
            _("📎 Báo cáo năm {year} (tệp Excel).").format(year=year),
            attachment=Attachment(f"bao-cao-hien-mau-{year}.xlsx", book, XLSX),
        ),
        Reply(
            _("📊 Biểu đồ đơn vị máu tiếp nhận so với chỉ tiêu từng đợt."),
            attachment=Attachment(f"bieu-do-hien-mau-{year}.png", chart, "image/png"),
        ),
    ]
