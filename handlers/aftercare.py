"""After the drive, in the donor's chat: the thank-you with the drive's total, the feedback
question (1-5, then an optional comment), and "we missed you" with reasons and another drive.

Buttons: `fb:<drive>:<score>` scores a drive; `missed:<pledge>:<reason>` tells why a pledged
donor did not come. The feedback comment is a one-step wizard (`fbnote`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from db.models import Donation, Drive, Person, Pledge
from handlers import format as fmt
from handlers.context import Ctx
from handlers.messages import Button, Reply
from handlers.wizard import Flow, Outcome, Step, choice, error_text
from handlers.wizard import start as start_flow
from locales import _
from services import aftercare
from services.aftercare import FeedbackFigure, MissedReason
from services.errors import DomainError
from services.work import Work


def _on_day(day: dt.date, today: dt.date) -> str:
    if day == today:
        return _("hôm nay")
    if day == today - dt.timedelta(days=1):
        return _("hôm qua")
    return _("hôm {date}").format(date=fmt.date(day))


async def upcoming_buttons(work: Work) -> tuple[Button, ...]:
    """One tap to another drive: the next few, and the full list."""
    buttons = [
        Button(f"📅 {drive.date:%d/%m} · {drive.place[:32]}", f"drive:{drive.id}")
        for drive in await aftercare.next_drives(work)
    ]
    return (*buttons, Button(_("🩸 Chọn đợt khác"), "cmd:drives"))


# ---------------------------------------------------------------------------- notices


async def render_thanks(work: Work, person_id: int | None, p: dict[str, Any]) -> list[Reply] | None:
    donation = await work.session.get(Donation, int(p.get("donation_id", 0)))
    if donation is None or donation.person_id != person_id or donation.drive_id is None:
        return None
    drive = await work.session.get(Drive, donation.drive_id)
    person = await work.session.get(Person, donation.person_id)
    if drive is None or person is None:
        return None
    total = await aftercare.drive_total(work, drive.id)
    today = work.today()
    collected = (
        _("Ngày hội {day} thu được {units} đơn vị máu, chuyển về {institution}.")
        if drive.receiving_institution
        else _("Ngày hội {day} thu được {units} đơn vị máu.")
    ).format(day=_on_day(drive.date, today), units=total, institution=drive.receiving_institution)
    lines = [
        _("❤️ Cảm ơn bạn đã đến hiến máu tại {place}!").format(place=drive.place),
        collected,
        _("Giọt máu của bạn đang trên đường đến với người bệnh cần nó."),
    ]
    if person.next_eligible_on is not None and person.next_eligible_on > today:
        lines += [
            "",
            _("🗓 Bạn có thể hiến lại từ ngày {date}. Đến lúc đó mình sẽ nhắc bạn nhé.").format(
                date=fmt.date(person.next_eligible_on)
            ),
        ]
    return [
        Reply(
            "\n".join(lines),
            buttons=(Button(_("📷 Lưu ảnh giấy chứng nhận"), f"certsave:{donation.id}"),),
        )
    ]


async def render_feedback(
    work: Work, person_id: int | None, p: dict[str, Any]
) -> list[Reply] | None:
    drive = await work.session.get(Drive, int(p.get("drive_id", 0)))
    if drive is None or person_id is None:
        return None
    if await aftercare.given(work, person_id, drive.id) is not None:
        return None
    text = _(
        "🙏 Bạn thấy ngày hội hiến máu {day} tại {place} thế nào? Chấm từ 1 (chưa tốt) đến "
        "5 (rất tốt) giúp Ban tổ chức làm tốt hơn nhé:"
    ).format(day=_on_day(drive.date, work.today()), place=drive.place)
    buttons = tuple(Button(f"{n} ⭐", f"fb:{drive.id}:{n}") for n in aftercare.SCORES)
    return [Reply(text, buttons=buttons, columns=5)]


async def render_missed(work: Work, person_id: int | None, p: dict[str, Any]) -> list[Reply] | None:
    pledge = await work.session.get(Pledge, int(p.get("pledge_id", 0)))
    if pledge is None or pledge.person_id != person_id:
        return None
    if pledge.status != aftercare.NO_SHOW or pledge.missed_reason is not None:
        return None  # they came after all (a late record), or already told us
    drive = await work.session.get(Drive, pledge.drive_id)
    if drive is None:
        return None
    text = _(
        "💛 Ngày hội hiến máu {day} tại {place} mình không gặp bạn. Không sao đâu, ai cũng có "
        "lúc bận! Bạn cho mình biết lý do nhé (chỉ một chạm), hoặc chọn luôn một đợt khác:"
    ).format(day=_on_day(drive.date, work.today()), place=drive.place)
    reasons = (
        Button(_("😅 Quên mất"), f"missed:{pledge.id}:{MissedReason.FORGOT}"),
        Button(_("🤒 Bị ốm"), f"missed:{pledge.id}:{MissedReason.SICK}"),
        Button(_("💼 Bận việc"), f"missed:{pledge.id}:{MissedReason.BUSY}"),
        Button(_("🩺 Bị hoãn hiến tại chỗ"), f"missed:{pledge.id}:{MissedReason.DEFERRED}"),
    )
    return [Reply(text, buttons=(*reasons, *await upcoming_buttons(work)))]


RENDERERS = {"thanks": render_thanks, "feedback": render_feedback, "missed_you": render_missed}


# ---------------------------------------------------------------------------- buttons


def _expired() -> list[Reply]:
    return [Reply(_("Nút này đã hết hạn. Gõ /help để xem các lệnh."))]


async def missed_button(ctx: Ctx, value: str) -> list[Reply]:
    pledge_text, _sep, reason_text = value.partition(":")
    if ctx.person is None or not pledge_text.isdigit():
        return _expired()
    try:
        reason = MissedReason(reason_text)
        await aftercare.missed_reason(ctx.work, ctx.person, int(pledge_text), reason, ctx.actor)
    except ValueError:
        return _expired()
    except DomainError as error:
        return [Reply(error_text(error))]
    today = ctx.work.today()
    if reason is MissedReason.FORGOT:
        text = _(
            "Cảm ơn bạn đã cho mình biết! Lần tới mình sẽ nhắc bạn trước một ngày và sáng hôm "
            "đó. Bạn chọn một đợt khác nhé:"
        )
    elif reason is MissedReason.SICK:
        text = _(
            "Chúc bạn mau khoẻ! Khi đã khoẻ hẳn ít nhất {days} ngày, bạn có thể hiến máu trở "
            "lại. Bạn chọn một đợt sau đó nhé:"
        ).format(days=ctx.work.rules.deferral_flu_days)
    elif reason is MissedReason.BUSY:
        text = _("Không sao cả, cảm ơn bạn đã báo. Bạn chọn một đợt thuận tiện hơn nhé:")
    else:
        text = _(
            "Cảm ơn bạn đã đến! Hoãn hiến là chuyện bình thường, để giữ sức khoẻ cho chính bạn. "
            "Bạn quay lại khi đã hết thời gian bác sĩ dặn nhé."
        )
        until = ctx.person.next_eligible_on
        if until is not None and until > today:
            text += " " + _("Theo ghi nhận của mình, bạn có thể hiến lại từ ngày {date}.").format(
                date=fmt.date(until)
            )
        text += " " + _("Chưa chắc? Bấm 🩺 Tự kiểm tra để biết nên đến từ ngày nào.")
        buttons = (Button(_("🩺 Tự kiểm tra"), "cmd:selfcheck"), *await upcoming_buttons(ctx.work))
        return [Reply(text, buttons=buttons)]
    return [Reply(text, buttons=await upcoming_buttons(ctx.work))]


async def feedback_button(ctx: Ctx, value: str) -> list[Reply]:
    drive_text, _sep, score_text = value.partition(":")
    if ctx.person is None or not drive_text.isdigit() or not score_text.isdigit():
        return _expired()
    try:
        await aftercare.give_feedback(
            ctx.work, ctx.person, int(drive_text), int(score_text), ctx.actor
        )
    except DomainError as error:
        return [Reply(error_text(error))]
    return await start_flow(ctx, FEEDBACK, {"drive_id": int(drive_text), "score": int(score_text)})


async def ask_note(ctx: Ctx) -> Reply:
    return Reply(
        _(
            "Cảm ơn bạn đã chấm {score}/5! Bạn muốn góp ý thêm điều gì cho lần sau không? "
            "Gõ vài dòng, hoặc bấm Bỏ qua."
        ).format(score=ctx.answers.get("score", "")),
        buttons=(choice("fbnote", "skip", _("Bỏ qua")),),
    )


async def take_note(ctx: Ctx, value: str) -> Outcome:
    done = _("💛 Cảm ơn bạn! Ban tổ chức sẽ đọc từng góp ý.")
    if value == "skip":
        return [Reply(done)]
    if ctx.person is None:
        return _expired()
    drive_id = ctx.answers.get("drive_id")
    assert isinstance(drive_id, int)
    await aftercare.comment(ctx.work, ctx.person, drive_id, value, ctx.actor)
    return [Reply(done)]


FEEDBACK = Flow(name="feedback", steps={"fbnote": Step(ask_note, take_note)}, order=("fbnote",))


# ---------------------------------------------------------------------------- on the tally


def _average(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def feedback_lines(figures: tuple[FeedbackFigure, ...]) -> list[str]:
    if not figures:
        return []
    lines = ["", _("Góp ý của người hiến (các đợt 7 ngày qua):")]
    for item in figures:
        lines.append(
            _("• {day} · {place}: {n} góp ý, trung bình {average}/5").format(
                day=f"{item.drive.date:%d/%m}",
                place=item.drive.place,
                n=item.count,
                average=_average(item.average),
            )
        )
        lines += [f"  “{text}”" for text in item.comments]
    return lines
