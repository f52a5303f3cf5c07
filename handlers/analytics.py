"""Mobilisation analytics in chat for club chairs and committees: `/analytics [YEAR]` (return
rate and repeat donors, with buttons for the reminder funnel, the campaign chart and the
honours list), `/lapsed` (who has not come back, with a one-tap broadcast to them through the
broadcast flow) and `/honours [YEAR]` (the 14/6 list as XLSX). `hienmau analytics` and
`hienmau honours` print the same texts. The figures are defined in services/analytics.py."""

from __future__ import annotations

import asyncio
import re

from db.models import Unit
from handlers import clubs as club_handlers
from handlers import format as fmt
from handlers import wizard
from handlers.context import Ctx
from handlers.messages import Attachment, Button, Reply
from handlers.wizard import error_text
from locales import N_, _
from services import analytics, analytics_files, campaigns, reports
from services.analytics import (
    FunnelReport,
    FunnelRow,
    HonoursReport,
    LapsedReport,
    RepeatReport,
    RepeatRow,
    Scope,
)
from services.campaigns import Progress
from services.errors import DomainError
from services.quota_file import format_units
from services.roles import Role

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPLY_CHARS = 3500  # one chat message stays under Telegram's 4,096
SHOWN_LAPSED = 30

KIND_NAMES = {
    "drive_notice": N_("Báo đợt hiến máu mới"),
    "drive_reminder": N_("Nhắc lịch đợt đã đăng ký"),
    "eligible": N_("Báo đã có thể hiến lại"),
    "eligible_nudge": N_("Nhắc lại: đã có thể hiến lại"),
    "notice": N_("Thông báo của CLB, Ban chỉ đạo"),
}


def kind_name(key: str) -> str:
    """A known kind in the reader's language; a kind added later by its key."""
    return _(KIND_NAMES[key]) if key in KIND_NAMES else key


def _units(value: int) -> str:
    return format_units(value)


def _scope_head(title: str, scope_name: str | None, clubs: bool) -> str:
    if scope_name:
        title += f" · {scope_name}"
    if clubs:
        title += " " + _("(thành viên các CLB)")
    return title


# ---------------------------------------------------------------------------- texts


def _repeat_line(label: str, row: RepeatRow) -> str:
    return _(
        "• {label}: quay lại trong 16 tuần {returned}/{windows} ({rate}); người hiến nhắc lại "
        "{repeat}/{donors} ({share})"
    ).format(
        label=label,
        returned=_units(row.returned),
        windows=_units(row.windows),
        rate=row.returned_rate.text(),
        repeat=_units(row.repeat_donors),
        donors=_units(row.donors),
        share=row.repeat_rate.text(),
    )


def repeat_text(report: RepeatReport) -> str:
    head = _scope_head(
        _("🔁 Người hiến quay lại, năm {year} ({start} – {end})").format(
            year=report.year, start=fmt.date(report.start), end=fmt.date(report.end)
        ),
        report.scope_name,
        report.clubs,
    )
    total = report.total
    lines = [
        head,
        _(
            "Quay lại trong 16 tuần sau khi đủ điều kiện: {returned}/{windows} lượt ({rate}) "
            "(tính các lượt đủ điều kiện đến {until})."
        ).format(
            returned=_units(total.returned),
            windows=_units(total.windows),
            rate=total.returned_rate.text(),
            until=fmt.date(report.windows_until),
        ),
        _("Người hiến nhắc lại (đã hiến trước năm nay): {repeat}/{donors} người ({share}).").format(
            repeat=_units(total.repeat_donors),
            donors=_units(total.donors),
            share=total.repeat_rate.text(),
        ),
    ]
    if report.rows:
        lines += ["", _("Theo CLB:") if report.clubs else _("Theo đơn vị:")]
        lines += [
            _repeat_line(row.group.name or _("Chưa rõ đơn vị"), row)
            for row in report.rows
            if row.group
        ]
    return "\n".join(lines)


def _funnel_figures(row: FunnelRow) -> str:
    return _(
        "gửi {sent} → nhận {delivered} ({delivered_rate}) → đăng ký {pledged} ({pledged_rate}) "
        "→ hiến {donated} ({donated_rate})"
    ).format(
        sent=_units(row.sent),
        delivered=_units(row.delivered),
        delivered_rate=row.delivered_rate.text(),
        pledged=_units(row.pledged),
        pledged_rate=row.pledged_rate.text(),
        donated=_units(row.donated),
        donated_rate=row.donated_rate.text(),
    )


def funnel_text(report: FunnelReport) -> str:
    lines = [
        _scope_head(
            _("📨 Hiệu quả tin nhắn năm {year} ({start} – {end})").format(
                year=report.year, start=fmt.date(report.start), end=fmt.date(report.end)
            ),
            report.scope_name,
            report.clubs,
        ),
        _("Đăng ký: trong 7 ngày sau khi nhận tin; hiến: tại đợt đã đăng ký."),
    ]
    for total in report.totals:
        lines += ["", f"{kind_name(total.key)}: {_funnel_figures(total)}"]
        for row in report.months:
            if row.key == total.key and row.month:
                first, _last = campaigns.month_bounds(report.year, row.month)
                lines.append(
                    _("  tháng {month}: {figures}").format(
                        month=f"{row.month:02d}/{first.year}",
                        figures=_funnel_figures(row),
                    )
                )
        for row in report.groups:
            if row.key == total.key and row.group is not None:
                lines.append(f"  · {row.group.name or _('Chưa rõ đơn vị')}: {_funnel_figures(row)}")
    return "\n".join(lines)


def lapsed_text(report: LapsedReport, shown: int | None = SHOWN_LAPSED) -> str:
    lines = [
        _scope_head(_("😴 Lâu chưa quay lại hiến máu"), report.scope_name, report.clubs),
        _(
            "{n} người đã đủ điều kiện hiến lại hơn 6 tháng mà chưa đăng ký đợt nào "
            "(tính đến {day})."
        ).format(n=_units(report.count), day=fmt.date(report.day)),
    ]
    if report.hidden:
        lines.append(
            _("{n} thành viên chưa đồng ý chia sẻ thông tin với CLB: không nêu tên.").format(
                n=_units(report.hidden)
            )
        )
    people = report.people if shown is None else report.people[:shown]
    if people:
        lines.append("")
    for number, person in enumerate(people, start=1):
        last = (
            _("hiến gần nhất {date}").format(date=fmt.date(person.last_donation))
            if person.last_donation
            else _("chưa có lần hiến được ghi nhận")
        )
        lines.append(
            _("{n}. {name} · {last} · đủ điều kiện từ {since}").format(
                n=number, name=person.name, last=last, since=fmt.date(person.eligible_since)
            )
        )
    listed = report.count - report.hidden
    if len(people) < listed:
        lines.append(_("… và {n} người khác.").format(n=_units(listed - len(people))))
    return "\n".join(lines)


def honours_text(report: HonoursReport) -> str:
    lines = [
        _scope_head(
            _("🏅 Tôn vinh năm {year} ({start} – {end})").format(
                year=report.year, start=fmt.date(report.start), end=fmt.date(report.end)
            ),
            report.scope_name,
            False,
        ),
        _("{n} người đạt mốc tôn vinh trong năm (mỗi người tính mốc cao nhất).").format(
            n=_units(report.counted)
        ),
    ]
    lines += [
        _("• {milestone} lần: {n} người").format(milestone=milestone, n=_units(n))
        for milestone, n in report.counts
    ]
    unnamed = report.counted - len(report.people)
    if unnamed:
        lines.append(
            _("{n} người đã xoá dữ liệu: được tính, không có tên trong danh sách.").format(
                n=_units(unnamed)
            )
        )
    return "\n".join(lines)


def campaign_text(progress: Progress) -> str:
    percent = f" ({round(100 * progress.collected / progress.plan)}%)" if progress.plan else ""
    lines = [
        _("📈 Tiến độ năm {year} · {unit}: {collected}/{plan} đơn vị máu").format(
            year=progress.year,
            unit=progress.unit_name,
            collected=_units(progress.collected),
            plan=_units(progress.plan),
        )
        + percent,
        _("Kế hoạch: chỉ tiêu năm của đơn vị.")
        if progress.plan_from_quota
        else _("Kế hoạch: tổng chỉ tiêu các đợt (đơn vị chưa có chỉ tiêu năm)."),
    ]
    if progress.shares:
        lines.append(
            _("Chiến dịch: {shares}").format(
                shares=", ".join(
                    _("tháng {months}: {share}%").format(
                        months=s.label.replace("-", "–"), share=s.percent
                    )
                    for s in progress.shares
                )
            )
        )
    else:
        lines.append(_("Chưa đặt tỷ lệ chiến dịch cho năm này."))
    lines.append("")
    for month in progress.months:
        lines.append(
            _("Tháng {month}: {collected} · luỹ kế {cumulative}/{target}").format(
                month=f"{month.month:02d}/{month.year}",
                collected=_units(month.collected),
                cumulative=_units(month.cumulative),
                target=_units(round(month.cumulative_target)),
            )
        )
    lag = progress.lag
    if lag is not None:
        lines += [
            "",
            _(
                "⚠️ Chiến dịch tháng {months} đang chậm: {collected}/{expected} đơn vị dự kiến "
                "đến hôm nay (cả đợt {target})."
            ).format(
                months=lag.share.label.replace("-", "–"),
                collected=_units(lag.collected),
                expected=_units(lag.expected),
                target=_units(lag.target),
            ),
        ]
    return "\n".join(lines)


def _cut(text: str) -> str:
    if len(text) <= REPLY_CHARS:
        return text
    return text[: REPLY_CHARS - 2].rsplit("\n", 1)[0] + "\n…"


# ---------------------------------------------------------------------------- commands


def _year(ctx: Ctx, example: str) -> int | Reply:
    argument = ctx.inbound.argument
    if not argument:
        return reports.default_year(ctx.work.today())
    if not re.fullmatch(r"20\d{2}", argument):
        return Reply(
            _("Năm «{value}» chưa đúng. Ví dụ: {example}").format(value=argument, example=example)
        )
    return int(argument)


def _buttons(ctx: Ctx, year: int) -> tuple[Button, ...]:
    buttons = [
        Button(_("📨 Hiệu quả tin nhắn"), f"stats:funnel:{year}"),
        Button(_("📈 Tiến độ chiến dịch (biểu đồ)"), f"stats:campaign:{year}"),
        Button(_("😴 Lâu chưa quay lại"), "stats:lapsed:0"),
    ]
    if Role.COMMITTEE in ctx.roles:
        buttons.append(Button(_("🏅 Danh sách tôn vinh (Excel)"), f"stats:honours:{year}"))
    return tuple(buttons)


async def analytics_command(ctx: Ctx) -> list[Reply]:
    """`/analytics [YEAR]`: the return and repeat rates, and buttons for the other reports."""
    assert ctx.person is not None
    year = _year(ctx, "/analytics 2026")
    if isinstance(year, Reply):
        return [year]
    try:
        scope = await analytics.person_scope(ctx.work, ctx.person.id)
        report = await analytics.repeat(ctx.work, scope, year)
    except DomainError as error:
        return [Reply(error_text(error))]
    return [Reply(_cut(repeat_text(report)), buttons=_buttons(ctx, year))]


async def _lapsed_replies(ctx: Ctx, scope: Scope) -> list[Reply]:
    assert ctx.person is not None
    report = await analytics.lapsed(ctx.work, scope, ctx.actor, limit=SHOWN_LAPSED)
    if not report.count:
        return [Reply(lapsed_text(report))]
    if scope.clubs:
        buttons = tuple(
            Button(
                _("📢 Nhắn mời họ quay lại ({club})").format(club=group.name[:30]),
                f"stats:cast:club-{group.id}",
            )
            for group in scope.groups[:10]
        )
    else:
        assert scope.unit_id is not None
        buttons = (Button(_("📢 Nhắn mời họ quay lại"), f"stats:cast:unit-{scope.unit_id}"),)
    return [Reply(_cut(lapsed_text(report)), buttons=buttons)]


async def lapsed_command(ctx: Ctx) -> list[Reply]:
    """`/lapsed`: members eligible for more than 6 months with no pledge, longest first."""
    assert ctx.person is not None
    try:
        scope = await analytics.person_scope(ctx.work, ctx.person.id)
        return await _lapsed_replies(ctx, scope)
    except DomainError as error:
        return [Reply(error_text(error))]


async def _honours_replies(ctx: Ctx, year: int) -> list[Reply]:
    assert ctx.person is not None
    scope = await analytics.person_scope(ctx.work, ctx.person.id)
    if scope.clubs:
        return [Reply(_("Danh sách tôn vinh dành cho Ban chỉ đạo."))]
    report = await analytics.honours(ctx.work, scope, year, ctx.actor)
    book = await asyncio.to_thread(analytics_files.honours_workbook, report)
    return [
        Reply(honours_text(report)),
        Reply(
            _("📎 Danh sách tôn vinh năm {year} (tệp Excel, mỗi đơn vị một trang).").format(
                year=year
            ),
            attachment=Attachment(f"ton-vinh-{year}.xlsx", book, XLSX),
        ),
    ]


async def honours_command(ctx: Ctx) -> list[Reply]:
    """`/honours [YEAR]`: the donors reaching a milestone in the year, as XLSX."""
    year = _year(ctx, "/honours 2026")
    if isinstance(year, Reply):
        return [year]
    try:
        return await _honours_replies(ctx, year)
    except DomainError as error:
        return [Reply(error_text(error))]


async def _campaign_replies(ctx: Ctx, year: int) -> list[Reply]:
    assert ctx.person is not None
    scope = await analytics.person_scope(ctx.work, ctx.person.id)
    assert scope.unit_id is not None
    unit = await ctx.work.session.get(Unit, scope.unit_id)
    assert unit is not None
    progress = await campaigns.progress_of(ctx.work, unit, year)
    chart = await asyncio.to_thread(analytics_files.campaign_chart_png, progress)
    return [
        Reply(_cut(campaign_text(progress))),
        Reply(
            _("📊 Biểu đồ tiến độ năm {year}.").format(year=year),
            attachment=Attachment(f"tien-do-{unit.code}-{year}.png", chart, "image/png"),
        ),
    ]


async def _cast(ctx: Ctx, target: str) -> list[Reply]:
    """Start the broadcast flow with the audience preset to the lapsed people of a club or
    unit: the flow asks for the text, shows how many it reaches and asks to confirm."""
    kind, _sep, number = target.partition("-")
    if kind not in {"club", "unit"} or not number.isdigit():
        return [Reply(_("Nút này đã hết hạn. Gõ /lapsed để xem lại."))]
    request = f"{ctx.inbound.channel}:{ctx.inbound.chat_id}:{ctx.work.now().timestamp()}"
    return await wizard.start(
        ctx,
        club_handlers.BROADCAST,
        {
            "request": request,
            "audience": {f"{kind}_id": int(number), "lapsed": True},
            "filter": "lapsed",
        },
        step="text",
    )


async def stats_button(ctx: Ctx, value: str) -> list[Reply]:
    """`stats:<report>:<year or target>` from `/analytics` and `/lapsed`."""
    action, _sep, argument = value.partition(":")
    if ctx.person is None:
        return [Reply(_("Nút này đã hết hạn. Gõ /analytics để xem lại."))]
    try:
        if action == "cast":
            return await _cast(ctx, argument)
        if action == "lapsed":
            scope = await analytics.person_scope(ctx.work, ctx.person.id)
            return await _lapsed_replies(ctx, scope)
        if not re.fullmatch(r"20\d{2}", argument):
            return [Reply(_("Nút này đã hết hạn. Gõ /analytics để xem lại."))]
        year = int(argument)
        if action == "funnel":
            scope = await analytics.person_scope(ctx.work, ctx.person.id)
            return [Reply(_cut(funnel_text(await analytics.funnel(ctx.work, scope, year))))]
        if action == "campaign":
            return await _campaign_replies(ctx, year)
        if action == "honours" and Role.COMMITTEE in ctx.roles:
            return await _honours_replies(ctx, year)
    except DomainError as error:
        return [Reply(error_text(error))]
    return [Reply(_("Nút này đã hết hạn. Gõ /analytics để xem lại."))]
