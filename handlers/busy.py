"""`/busy`: pause every appeal until a date (exams, travel, illness, pregnancy ...), no reason
asked. `/busy` offers 1 week, 2 weeks, 1 month, 3 months or a typed date; `/busy 20/12/2026`
and `/busy off` work typed too. Reminders of drives the donor pledged to still come.

Buttons: `busy:<1w|2w|1m|3m>` pause, `busy:date` asks for a date (the BUSY flow), `busy:off`.
"""

from __future__ import annotations

import datetime as dt

from handlers import format as fmt
from handlers import wizard
from handlers.context import Ctx
from handlers.messages import Button, Reply
from handlers.profile import not_registered
from handlers.wizard import Flow, Outcome, Step
from locales import _
from services import busy
from services.errors import DomainError
from services.validation import fold

OFF_WORDS = {"off", "tat", "het", "het ban", "resume", "0"}


def state_line(until: dt.date | None, today: dt.date) -> str | None:
    """'Tạm dừng lời mời đến hết ngày ...' while a pause is on, else None."""
    if until is None or until < today:
        return None
    return _("⏸ Tạm dừng lời mời hiến máu đến hết ngày {date}.").format(date=fmt.date(until))


def _choices(paused: bool) -> tuple[Button, ...]:
    buttons = [
        Button(_("1 tuần"), "busy:1w"),
        Button(_("2 tuần"), "busy:2w"),
        Button(_("1 tháng"), "busy:1m"),
        Button(_("3 tháng"), "busy:3m"),
        Button(_("📅 Chọn ngày khác"), "busy:date"),
    ]
    if paused:
        buttons.append(Button(_("▶️ Nhận lời mời trở lại"), "busy:off"))
    return tuple(buttons)


async def busy_command(ctx: Ctx) -> list[Reply]:
    if ctx.person is None:
        return not_registered()
    argument = ctx.inbound.argument.strip()
    if argument:
        if fold(argument) in OFF_WORDS:
            return await _resume(ctx)
        try:
            until = busy.parse_until(argument, ctx.work.today())
        except DomainError as error:
            return [Reply(wizard.error_text(error))]
        return await _pause(ctx, until)
    today = ctx.work.today()
    line = state_line(ctx.person.busy_until, today)
    text = "\n".join(
        [
            *([line, ""] if line else []),
            _(
                "Bạn đang bận thi cử, đi xa, ốm hay đang mang thai? Bạn có thể tạm dừng mọi lời "
                "mời hiến máu đến một ngày, không cần nói lý do. Hết ngày đó, lời mời tự trở lại."
            ),
            "",
            _("Tạm dừng trong bao lâu?"),
        ]
    )
    return [Reply(text, buttons=_choices(line is not None), columns=2)]


async def _pause(ctx: Ctx, until: dt.date) -> list[Reply]:
    assert ctx.person is not None
    try:
        await busy.pause(ctx.work, ctx.person, until, ctx.actor)
    except DomainError as error:
        return [Reply(wizard.error_text(error))]
    text = _(
        "⏸ Đã tạm dừng lời mời hiến máu đến hết ngày {date}. Bạn vẫn nhận nhắc lịch các đợt "
        "đã đăng ký. Từ ngày {next}, lời mời sẽ tự trở lại. Chúc bạn mọi điều thuận lợi!"
    ).format(date=fmt.date(until), next=fmt.date(until + dt.timedelta(days=1)))
    return [Reply(text, buttons=(Button(_("▶️ Nhận lời mời trở lại"), "busy:off"),))]


async def _resume(ctx: Ctx) -> list[Reply]:
    assert ctx.person is not None
    if not await busy.resume(ctx.work, ctx.person, ctx.actor):
        return [Reply(_("Bạn đang nhận lời mời hiến máu bình thường, không có tạm dừng nào."))]
    return [
        Reply(
            _("▶️ Chào mừng bạn trở lại! Mình sẽ báo bạn các đợt hiến máu sắp tới."),
            buttons=(Button(_("🩸 Các đợt sắp tới"), "cmd:drives"),),
        )
    ]


async def busy_button(ctx: Ctx, value: str) -> list[Reply]:
    if ctx.person is None:
        return not_registered()
    if value == "off":
        return await _resume(ctx)
    if value == "date":
        return await wizard.start(ctx, BUSY)
    try:
        until = busy.until_for(value, ctx.work.today())
    except DomainError as error:
        return [Reply(wizard.error_text(error))]
    return await _pause(ctx, until)


async def _ask_date(ctx: Ctx) -> Reply:
    example = fmt.date(ctx.work.today() + dt.timedelta(days=14))
    return Reply(
        _("Bạn bận đến hết ngày nào? Gõ theo dạng ngày/tháng/năm, ví dụ {example}.").format(
            example=example
        )
    )


async def _take_date(ctx: Ctx, text: str) -> Outcome:
    until = busy.parse_until(text, ctx.work.today())
    return await _pause(ctx, until)


BUSY = Flow(name="busy", steps={"until": Step(_ask_date, _take_date)}, order=("until",))
