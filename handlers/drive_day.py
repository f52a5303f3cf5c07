"""`/drivenotice`: a volunteer or committee member at today's drive sends one of three short
notices to everyone pledged to it and not yet checked in: "quiet, come now", "busy, come
after 9:30", "bring your ID card". At most one per drive every 30 minutes
(services.drive_day); the notice itself is rendered here at sending time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from db.models import Drive, Pledge
from handlers import wizard
from handlers.context import Ctx
from handlers.messages import Button, Reply
from handlers.registration import yes_no
from handlers.wizard import Flow, Outcome, Step, choice, error_text
from locales import N_, _
from services import drive_day, drives
from services.drive_day import Preset
from services.errors import DomainError, InvalidInput
from services.work import Work

AFTER_CHOICES = ("09:30", "10:00", "10:30")


def message(preset: Preset, after: str | None) -> str:
    """The notice as donors read it, under a line naming the drive."""
    if preset is Preset.QUIET:
        return _("Điểm hiến máu đang vắng, mời bạn đến ngay nhé! 🩸")
    if preset is Preset.BUSY:
        return _("Điểm hiến máu đang đông, bạn đến sau {time} cho đỡ phải chờ nhé.").format(
            time=after or ""
        )
    return _("Nhớ mang theo CCCD (căn cước công dân) để làm thủ tục hiến máu nhé.")


def _text(drive: Drive, preset: Preset, after: str | None) -> str:
    return "\n".join(
        [
            _("📣 Tin từ điểm hiến máu hôm nay ({place}):").format(place=drive.place),
            message(preset, after),
        ]
    )


# The notice, at sending time -----------------------------------------------------------------


async def render(work: Work, person_id: int | None, p: dict[str, Any]) -> list[Reply] | None:
    """Dropped when the drive is no longer on, or the donor withdrew or has arrived."""
    drive = await work.session.get(Drive, int(p.get("drive_id", 0)))
    if drive is None or drive.status not in drives.LIVE or drive.date != work.today():
        return None
    waiting = await work.session.scalar(
        select(Pledge.id).where(
            Pledge.person_id == person_id,
            Pledge.drive_id == drive.id,
            Pledge.status == "pledged",
            Pledge.checked_in_at.is_(None),
        )
    )
    if waiting is None:
        return None
    try:
        preset = Preset(str(p.get("preset")))
    except ValueError:
        return None
    after = p.get("after")
    text = _text(drive, preset, after if isinstance(after, str) else None)
    return [Reply(text, buttons=(Button(_("Xem chi tiết"), f"drive:{drive.id}"),))]


# The wizard ------------------------------------------------------------------------------------


def _person_id(ctx: Ctx) -> int:
    assert ctx.person is not None, "role-bound command: the router checked registration"
    return ctx.person.id


def _drive_id(ctx: Ctx) -> int:
    value = ctx.answers["drive_id"]
    assert isinstance(value, int)
    return value


async def ask_drive(ctx: Ctx) -> Reply:
    try:
        found = await drive_day.drives_today(ctx.work, _person_id(ctx))
    except DomainError as error:  # the role was taken away meanwhile
        return Reply(error_text(error))
    return Reply(
        _("Bạn gửi tin cho người đã đăng ký đợt nào?"),
        buttons=tuple(
            choice("dd_drive", str(d.id), f"{d.date:%d/%m} · {d.place[:40]}") for d in found
        ),
    )


async def take_drive(ctx: Ctx, value: str) -> Outcome:
    if not value.isdigit():
        raise InvalidInput(N_("Vui lòng chọn một đợt trong danh sách."))
    drive = await drive_day.drive_for(ctx.work, _person_id(ctx), int(value))
    ctx.answers["drive_id"] = drive.id
    return "dd_what"


async def ask_what(ctx: Ctx) -> Reply:
    return Reply(
        _("Bạn muốn báo gì cho những người đã đăng ký mà chưa đến?"),
        buttons=(
            choice("dd_what", Preset.QUIET.value, _("🟢 Đang vắng, mời đến ngay")),
            choice("dd_what", Preset.BUSY.value, _("🟠 Đang đông, đến sau…")),
            choice("dd_what", Preset.ID_CARD.value, _("🪪 Nhớ mang theo CCCD")),
        ),
    )


async def take_what(ctx: Ctx, value: str) -> Outcome:
    try:
        preset = Preset(value)
    except ValueError:
        raise InvalidInput(N_("Vui lòng chọn một tin trong danh sách.")) from None
    ctx.answers["preset"] = preset.value
    ctx.answers.pop("after", None)
    return "dd_after" if preset is Preset.BUSY else "dd_confirm"


async def ask_after(ctx: Ctx) -> Reply:
    return Reply(
        _("Mời mọi người đến sau mấy giờ? Chọn hoặc gõ giờ (ví dụ 9:30)."),
        buttons=tuple(choice("dd_after", t, t) for t in AFTER_CHOICES),
        columns=3,
    )


async def take_after(ctx: Ctx, value: str) -> Outcome:
    ctx.answers["after"] = drive_day.parse_after(value)
    return "dd_confirm"


def _preset(ctx: Ctx) -> tuple[Preset, str | None]:
    after = ctx.answers.get("after")
    return Preset(str(ctx.answers["preset"])), after if isinstance(after, str) else None


async def ask_confirm(ctx: Ctx) -> Reply:
    try:
        drive = await drive_day.drive_for(ctx.work, _person_id(ctx), _drive_id(ctx))
    except DomainError as error:  # the day is over, or the role was taken away
        return Reply(error_text(error))
    count = len(await drive_day.waiting(ctx.work, drive.id))
    preset, after = _preset(ctx)
    lines = [
        _("Xem trước tin nhắn:"),
        "",
        _text(drive, preset, after),
        "",
        _("👥 Sẽ gửi ngay tới {n} người đã đăng ký mà chưa check-in.").format(n=count),
    ]
    return Reply(
        "\n".join(lines),
        buttons=(choice("dd_confirm", "yes", _("📣 Gửi")), choice("dd_confirm", "no", _("Huỷ"))),
        columns=2,
    )


async def take_confirm(ctx: Ctx, value: str) -> Outcome:
    value = yes_no(value)
    if value == "no":
        return [Reply(_("Đã huỷ, chưa gửi gì."))]
    if value != "yes":
        raise InvalidInput(N_("Vui lòng bấm 'Gửi' hoặc 'Huỷ'."))
    assert ctx.person is not None
    preset, after = _preset(ctx)
    try:
        sent = await drive_day.send(
            ctx.work, ctx.person, _drive_id(ctx), preset, ctx.actor, after=after
        )
    except DomainError as error:  # sent by someone else meanwhile: end, with the reason
        return [Reply(error_text(error))]
    local = sent.at.astimezone(ctx.work.timezone)
    return [
        Reply(
            _("📣 Đã gửi tới {n} người lúc {sent}. Tin tiếp theo có thể gửi sau {next}.").format(
                n=sent.recipients,
                sent=f"{local:%H:%M}",
                next=f"{local + drive_day.EVERY:%H:%M}",
            )
        )
    ]


DRIVE_DAY = Flow(
    name="drive_day",
    steps={
        "dd_drive": Step(ask_drive, take_drive),
        "dd_what": Step(ask_what, take_what),
        "dd_after": Step(ask_after, take_after),
        "dd_confirm": Step(ask_confirm, take_confirm),
    },
    order=("dd_drive", "dd_what", "dd_after", "dd_confirm"),
)


async def drive_notice(ctx: Ctx) -> list[Reply]:
    try:
        found = await drive_day.drives_today(ctx.work, _person_id(ctx))
    except DomainError as error:
        return [Reply(error_text(error))]
    if not found:
        return [
            Reply(
                _(
                    "Hôm nay không có đợt hiến máu nào ở đơn vị bạn phụ trách. "
                    "Các đợt sắp tới: /drives"
                )
            )
        ]
    if len(found) == 1:
        return await wizard.start(ctx, DRIVE_DAY, {"drive_id": found[0].id}, step="dd_what")
    return await wizard.start(ctx, DRIVE_DAY)
