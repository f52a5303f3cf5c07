"""`/tally` for committee members, and the text of the daily tally message."""

from __future__ import annotations

from handlers import format as fmt
from handlers.context import Ctx
from handlers.messages import Button, Reply
from locales import _
from services import drives, tallies
from services.roles import Role
from services.tallies import DriveFigures, Tally


def _drive_line(item: DriveFigures, today: bool) -> str:
    drive = item.drive
    where = f"{drive.date:%d/%m} · {drive.place}"
    if today:
        return _("• {where}: {pledged} người đăng ký, đã hiến {donated}/{target} đơn vị").format(
            where=where, pledged=item.pledged, donated=item.donated, target=drive.target_units
        )
    left = drives.seats_left(drive)
    line = _("• {where}: {pledged} người đăng ký, chỉ tiêu {target} đơn vị").format(
        where=where, pledged=item.pledged, target=drive.target_units
    )
    if left is not None:
        line += _(" (còn {n} chỗ)").format(n=left)
    return line


def tally_text(tally: Tally) -> str:
    head = _("📊 Báo cáo ngày {day}").format(day=fmt.date(tally.day))
    if tally.unit_name:
        head += f" · {tally.unit_name}"
    lines = [head, ""]
    if tally.today:
        lines.append(_("Hôm nay:"))
        lines += [_drive_line(item, today=True) for item in tally.today]
    else:
        lines.append(_("Hôm nay không có đợt hiến máu."))
    if tally.upcoming:
        lines += ["", _("7 ngày tới:")]
        lines += [_drive_line(item, today=False) for item in tally.upcoming]
    percent = tally.year_percent
    lines += [
        "",
        _("Từ {start} đến nay: {donated}/{target} đơn vị máu").format(
            start=fmt.date(tally.year_start), donated=tally.year_donations, target=tally.year_target
        )
        + (f" ({percent}%)" if percent is not None else ""),
        _("Người đăng ký mới hôm nay: {n}").format(n=tally.registrations_today),
    ]
    return "\n".join(lines)


async def _reply(ctx: Ctx) -> Reply:
    assert ctx.person is not None
    unit = await drives.managing_unit(ctx.work, ctx.person.id)
    tally = await tallies.compute(ctx.work, unit.id)
    on = await tallies.subscribed(ctx.work, ctx.person.id)
    toggle = (
        Button(_("🔕 Tắt báo cáo hằng ngày"), "tally:off")
        if on
        else Button(_("🔔 Nhận báo cáo lúc cuối ngày"), "tally:on")
    )
    return Reply(tally_text(tally), buttons=(toggle,))


async def tally(ctx: Ctx) -> list[Reply]:
    return [await _reply(ctx)]


async def tally_button(ctx: Ctx, value: str) -> list[Reply]:
    if ctx.person is None or Role.COMMITTEE not in ctx.roles or value not in {"on", "off"}:
        return [Reply(_("Nút này đã hết hạn. Gõ /help để xem các lệnh."))]
    await tallies.set_subscription(ctx.work, ctx.person.id, value == "on", ctx.actor)
    done = (
        _("🔔 Mình sẽ gửi báo cáo cho bạn vào cuối mỗi ngày.")
        if value == "on"
        else _("🔕 Đã tắt báo cáo hằng ngày.")
    )
    return [Reply(done), await _reply(ctx)]
