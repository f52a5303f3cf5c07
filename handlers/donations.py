"""A donor's donations: `/donated` reports one (a wizard), `/mydonations` shows the history,
the next eligible date and the next honour milestone.

What a donor reports is saved unverified; a volunteer's record at a drive is the verified one.
"""

from __future__ import annotations

import datetime as dt

from db.models import Donation
from handlers import format as fmt
from handlers import wizard
from handlers.context import Ctx
from handlers.messages import Button, Reply
from handlers.profile import not_registered
from handlers.wizard import Flow, Outcome, Step, choice
from locales import N_, _
from services import donations
from services.eligibility import DonationKind
from services.errors import Conflict, InvalidInput
from services.validation import parse_date

HISTORY_SHOWN = 20  # lines of history in one message; the count covers them all
UNKNOWN_VOLUME = "unknown"


def kind_label(kind: str) -> str:
    labels = {
        DonationKind.WHOLE_BLOOD: _("Máu toàn phần"),
        DonationKind.PLATELETS: _("Tiểu cầu"),
        DonationKind.PLASMA: _("Huyết tương"),
    }
    return labels.get(DonationKind(kind), kind) if kind in labels else kind


def volume_label(volume_ml: int | None) -> str:
    return f"{volume_ml} ml" if volume_ml else _("không rõ thể tích")


def next_date_line(next_on: dt.date | None, today: dt.date) -> str:
    if next_on is None or next_on <= today:
        return _("✅ Bạn có thể hiến ngay bây giờ.")
    return _("📅 Bạn có thể hiến lại từ ngày {date}.").format(date=fmt.date(next_on))


def milestone_line(count: int) -> str:
    upcoming = donations.next_milestone(count)
    if count == 0:
        return _("🌱 Lần hiến máu đầu tiên sẽ là mốc đáng nhớ nhất!")
    if upcoming is None:
        return _("🏅 Bạn đã vượt mốc {n} lần hiến máu. Thật đáng trân trọng!").format(
            n=donations.MILESTONES[-1]
        )
    return _("🏅 Còn {left} lần nữa đạt mốc {n} lần hiến máu.").format(
        left=upcoming - count, n=upcoming
    )


def congratulation(count: int) -> str:
    if count == 1:
        return _("🎉 Chúc mừng lần hiến máu đầu tiên của bạn! Cảm ơn bạn đã bắt đầu hành trình.")
    return _(
        "🎉 Chúc mừng bạn đạt mốc {n} lần hiến máu! Ban chỉ đạo sẽ tôn vinh những người hiến "
        "máu nhiều lần vào dịp 14/6."
    ).format(n=count)


def _buttons() -> tuple[Button, ...]:
    return (
        Button(_("🩸 Khai báo lần hiến máu"), "cmd:donated"),
        Button(_("📅 Các đợt hiến máu sắp tới"), "cmd:drives"),
    )


# /donated ----------------------------------------------------------------------------------


async def ask_date(ctx: Ctx) -> Reply:
    return Reply(
        _("Bạn đã hiến máu vào ngày nào? Chọn bên dưới, hoặc gõ ngày (ví dụ: 20/11/2026)."),
        buttons=(choice("date", "today", _("Hôm nay")), choice("date", "yesterday", _("Hôm qua"))),
        columns=2,
    )


async def take_date(ctx: Ctx, text: str) -> Outcome:
    if ctx.person is None:  # erased from another chat while this one was in the wizard
        return not_registered()
    today = ctx.work.today()
    day = {"today": today, "yesterday": today - dt.timedelta(days=1)}.get(text)
    if day is None:
        day = parse_date(text)
    donations.check_reported_date(ctx.work, ctx.person, day)
    if await donations.on_day(ctx.work, ctx.person.id, day) is not None:
        raise donations.already_recorded(day)
    ctx.answers["donated_on"] = day.isoformat()
    return None


async def ask_kind(ctx: Ctx) -> Reply:
    return Reply(
        _("Bạn đã hiến loại nào?"),
        buttons=tuple(choice("kind", kind.value, kind_label(kind)) for kind in DonationKind),
    )


async def take_kind(ctx: Ctx, value: str) -> Outcome:
    if value not in {kind.value for kind in DonationKind}:
        raise InvalidInput(N_("Vui lòng chọn một trong các nút."))
    ctx.answers["kind"] = value
    if value == DonationKind.WHOLE_BLOOD:
        return None
    ctx.answers["volume_ml"] = None  # apheresis: the institution keeps the volume
    return "confirm"


async def ask_volume(ctx: Ctx) -> Reply:
    return Reply(
        _("Bạn đã hiến bao nhiêu ml?"),
        buttons=(
            *(choice("volume", str(ml), f"{ml} ml") for ml in donations.VOLUMES_ML),
            choice("volume", UNKNOWN_VOLUME, _("Không nhớ")),
        ),
        columns=2,
    )


async def take_volume(ctx: Ctx, value: str) -> Outcome:
    if value == UNKNOWN_VOLUME:
        ctx.answers["volume_ml"] = None
        return None
    ctx.answers["volume_ml"] = donations.parse_volume(value)
    return None


def _answered(ctx: Ctx) -> tuple[dt.date, DonationKind, int | None]:
    a = ctx.answers
    volume = a.get("volume_ml")
    return (
        dt.date.fromisoformat(str(a["donated_on"])),
        DonationKind(str(a["kind"])),
        volume if isinstance(volume, int) else None,
    )


async def ask_confirm(ctx: Ctx) -> Reply:
    day, kind, volume = _answered(ctx)
    lines = [
        _("Mình sẽ ghi nhận lần hiến máu này:"),
        _("• Ngày: {v}").format(v=fmt.date(day)),
        _("• Loại: {v}").format(v=kind_label(kind)),
    ]
    if kind == DonationKind.WHOLE_BLOOD:
        lines.append(_("• Thể tích: {v}").format(v=volume_label(volume)))
    lines.append(_("Thông tin đúng chưa bạn?"))
    return Reply(
        "\n".join(lines),
        buttons=(
            choice("confirm", "save", _("💾 Lưu")),
            choice("confirm", "redo", _("Sửa lại")),
            choice("confirm", "cancel", _("Huỷ")),
        ),
        columns=3,
    )


async def take_confirm(ctx: Ctx, value: str) -> Outcome:
    if value == "cancel":
        return [Reply(_("Đã huỷ, mình chưa ghi gì cả."), buttons=_buttons())]
    if value == "redo":
        return "date"
    if value != "save":
        raise InvalidInput(N_("Vui lòng chọn Lưu, Sửa lại hoặc Huỷ."))
    if ctx.person is None:
        return not_registered()
    day, kind, volume = _answered(ctx)
    try:
        await donations.add(ctx.work, ctx.person, day, kind, ctx.actor, volume_ml=volume)
    except Conflict as error:
        return [Reply(wizard.error_text(error), buttons=_buttons())]
    return [await _thanks(ctx)]


async def _thanks(ctx: Ctx) -> Reply:
    assert ctx.person is not None
    total = await donations.count(ctx.work, ctx.person.id)
    lines = [
        _("❤️ Cảm ơn bạn! Mình đã ghi nhận lần hiến máu thứ {n} của bạn.").format(n=total),
        next_date_line(ctx.person.next_eligible_on, ctx.work.today()),
    ]
    if donations.reached_milestone(total):
        lines += ["", congratulation(total)]
    lines += ["", _("Xem lịch sử hiến máu: /mydonations")]
    return Reply("\n".join(lines))


DONATED = Flow(
    name="donated",
    steps={
        "date": Step(ask_date, take_date),
        "kind": Step(ask_kind, take_kind),
        "volume": Step(ask_volume, take_volume),
        "confirm": Step(ask_confirm, take_confirm),
    },
    order=("date", "kind", "volume", "confirm"),
)


async def donated(ctx: Ctx) -> list[Reply]:
    if ctx.person is None:
        return not_registered()
    return await wizard.start(ctx, DONATED)


# /mydonations ------------------------------------------------------------------------------


def history_line(donation: Donation) -> str:
    parts = [fmt.date(donation.donated_on), kind_label(donation.kind)]
    if donation.kind == DonationKind.WHOLE_BLOOD:
        parts.append(volume_label(donation.volume_ml))
    parts.append(_("đã xác nhận") if donation.verified else _("tự khai"))
    return "• " + " · ".join(parts)


async def my_donations(ctx: Ctx) -> list[Reply]:
    if ctx.person is None:
        return not_registered()
    found = await donations.history(ctx.work, ctx.person.id)
    today = ctx.work.today()
    if not found:
        lines = [
            _("Bạn chưa có lần hiến máu nào được ghi nhận."),
            _("Nếu bạn đã từng hiến, bấm 'Khai báo lần hiến máu' để mình ghi lại nhé."),
            "",
            milestone_line(0),
        ]
        return [Reply("\n".join(lines), buttons=_buttons())]
    lines = [_("🩸 Lịch sử hiến máu của bạn:"), ""]
    lines += [history_line(d) for d in found[:HISTORY_SHOWN]]
    if len(found) > HISTORY_SHOWN:
        lines.append(_("… và {n} lần trước đó.").format(n=len(found) - HISTORY_SHOWN))
    lines += [
        "",
        _("Tổng cộng: {n} lần hiến máu.").format(n=len(found)),
        next_date_line(ctx.person.next_eligible_on, today),
        milestone_line(len(found)),
    ]
    certificate = Button(_("📷 Giấy chứng nhận"), "cert:list")  # handlers.certificates
    return [Reply("\n".join(lines), buttons=(*_buttons(), certificate))]
