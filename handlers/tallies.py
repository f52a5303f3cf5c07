"""`/tally` for committee members and club chairs, and the text of the daily tally message."""

from __future__ import annotations

from handlers import format as fmt
from handlers.aftercare import feedback_lines
from handlers.context import Ctx
from handlers.messages import Button, Reply
from handlers.wizard import error_text
from locales import _
from services import tallies
from services.booking import Booking
from services.campaigns import Lag
from services.errors import DomainError
from services.quota_file import format_units
from services.quotas import QuotaFigure
from services.tallies import DriveFigures, Tally

SHOWN_DRIVES = 10  # per section, before "… and N more"
SHOWN_QUOTAS = 12


def _day(figures: DriveFigures) -> str:
    drive = figures.drive
    return f"{drive.date:%m/%Y}" if drive.date_is_month_only else f"{drive.date:%d/%m}"


def _drive_line(item: DriveFigures) -> str:
    drive = item.drive
    return _(
        "• {where}: {pledged} đăng ký · {checked_in} đã đến · đã hiến {donated}/{target} đơn vị"
    ).format(
        where=f"{_day(item)} · {drive.place}",
        pledged=item.pledged,
        checked_in=item.checked_in,
        donated=item.donated,
        target=format_units(drive.target_units),
    )


def _more(shown: int, total: int) -> list[str]:
    if total <= shown:
        return []
    return [_("… và {n} mục khác").format(n=total - shown)]


def _quota_line(figure: QuotaFigure) -> str:
    return _("• {name}: {collected}/{quota} đơn vị{percent}").format(
        name=figure.name,
        collected=format_units(figure.collected),
        quota=format_units(figure.quota),
        percent="" if figure.percent is None else f" ({figure.percent}%)",
    )


def _year_line(tally: Tally) -> str:
    start = fmt.date(tally.year_start)
    if not tally.year_target:
        return _("Từ {start} đến nay: {donated} đơn vị máu").format(
            start=start, donated=format_units(tally.year_donations)
        )
    percent = tally.year_percent
    return _("Từ {start} đến nay: {donated}/{target} đơn vị máu").format(
        start=start,
        donated=format_units(tally.year_donations),
        target=format_units(tally.year_target),
    ) + (f" ({percent}%)" if percent is not None else "")


def _booking_line(item: Booking) -> str:
    return _("⚠️ {place} ({day}): {pledged}/{target} chỗ, cần thêm {missing} lượt đăng ký").format(
        place=item.drive.place,
        day=f"{item.drive.date:%d/%m}",
        pledged=format_units(item.pledged),
        target=format_units(item.target),
        missing=format_units(item.missing),
    )


def _campaign_line(lag: Lag) -> str:
    return _(
        "⚠️ Chiến dịch tháng {months} ({share}% kế hoạch): đã thu {collected}/{expected} đơn vị "
        "dự kiến đến hôm nay (cả đợt {target})."
    ).format(
        months=lag.share.label.replace("-", "–"),
        share=lag.share.percent,
        collected=format_units(lag.collected),
        expected=format_units(lag.expected),
        target=format_units(lag.target),
    )


def tally_text(tally: Tally) -> str:
    head = _("📊 Báo cáo ngày {day}").format(day=fmt.date(tally.day))
    if tally.unit_name:
        head += f" · {tally.unit_name}"
    lines = [head]
    if tally.clubs:
        lines.append(
            _("Số liệu của {n} thành viên câu lạc bộ.").format(n=format_units(tally.members or 0))
        )
    lines.append("")
    if tally.today:
        lines.append(_("Hôm nay:"))
        lines += [_drive_line(item) for item in tally.today[:SHOWN_DRIVES]]
        lines += _more(SHOWN_DRIVES, len(tally.today))
    else:
        lines.append(_("Hôm nay không có đợt hiến máu."))
    if tally.upcoming:
        lines += ["", _("Các đợt đang mở và trong {n} ngày tới:").format(n=tallies.UPCOMING_DAYS)]
        lines += [_drive_line(item) for item in tally.upcoming[:SHOWN_DRIVES]]
        lines += _more(SHOWN_DRIVES, len(tally.upcoming))
    if tally.under_booked:
        lines += ["", _("Chưa đủ người đăng ký (mục tiêu đặt chỗ):")]
        lines += [_booking_line(item) for item in tally.under_booked]
    lines += feedback_lines(tally.feedback)
    lines += ["", _year_line(tally)]
    if tally.campaign is not None:
        lines.append(_campaign_line(tally.campaign))
    if tally.quotas:
        lines.append(_("Chỉ tiêu năm {year} theo đơn vị:").format(year=tally.year))
        lines += [_quota_line(figure) for figure in tally.quotas[:SHOWN_QUOTAS]]
        lines += _more(SHOWN_QUOTAS, len(tally.quotas))
    registered = (
        _("Thành viên mới: hôm nay {today}, từ {start}: {year}")
        if tally.clubs
        else _("Người đăng ký mới: hôm nay {today}, từ {start}: {year}")
    )
    lines.append(
        registered.format(
            today=format_units(tally.registrations_today),
            start=fmt.date(tally.year_start),
            year=format_units(tally.registrations_year),
        )
    )
    return "\n".join(lines)


async def _reply(ctx: Ctx) -> Reply:
    assert ctx.person is not None
    tally = await tallies.for_person(ctx.work, ctx.person.id)
    on = await tallies.subscribed(ctx.work, ctx.person.id)
    toggle = (
        Button(_("🔕 Tắt báo cáo hằng ngày"), "tally:off")
        if on
        else Button(_("🔔 Nhận báo cáo lúc cuối ngày"), "tally:on")
    )
    return Reply(tally_text(tally), buttons=(toggle,))


async def tally(ctx: Ctx) -> list[Reply]:
    try:
        return [await _reply(ctx)]
    except DomainError as error:
        return [Reply(error_text(error))]


async def tally_button(ctx: Ctx, value: str) -> list[Reply]:
    if ctx.person is None or value not in {"on", "off"}:
        return [Reply(_("Nút này đã hết hạn. Gõ /help để xem các lệnh."))]
    try:
        await tallies.set_subscription(ctx.work, ctx.person.id, value == "on", ctx.actor)
    except DomainError as error:
        return [Reply(error_text(error))]
    done = (
        _("🔔 Mình sẽ gửi báo cáo cho bạn vào cuối mỗi ngày.")
        if value == "on"
        else _("🔕 Đã tắt báo cáo hằng ngày.")
    )
    try:
        return [Reply(done), await _reply(ctx)]
    except DomainError:  # unsubscribed after losing the role: nothing more to show
        return [Reply(done)]
