"""Messages the bot starts itself (outbox rows), rendered at sending time in the recipient's
language. A notice that no longer makes sense (its drive cancelled, its pledge withdrawn)
renders to None and is dropped."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from db.models import Drive, Pledge
from handlers import aftercare, appeal_reasons, blocks, comeback, drive_day
from handlers import format as fmt
from handlers.drives import card_text, when
from handlers.messages import Button, Reply
from handlers.tallies import tally_text
from locales import _, use_language
from services import broadcasts, drives, tallies
from services.appeals import APPEAL_KEYS
from services.outbox import Job
from services.work import Work


async def render(work: Work, job: Job) -> list[Reply] | None:
    with use_language(job.language):
        if job.body is not None:
            replies: list[Reply] | None = [Reply(job.body)]
        else:
            renderer = RENDERERS.get(job.key)
            if renderer is None:
                return None
            replies = await renderer(work, job.person_id, job.params)
        if replies and job.key in APPEAL_KEYS and job.person_id is not None:
            # Every appeal ends with why the donor got it and how to pause or stop.
            return await appeal_reasons.with_reason(work, job, replies)
        return replies


async def _live_drive(work: Work, params: dict[str, Any]) -> Drive | None:
    drive = await work.session.get(Drive, int(params.get("drive_id", 0)))
    if drive is None or drive.status not in drives.LIVE:
        return None
    return drive


async def _pledged(work: Work, person_id: int | None, drive_id: int) -> bool:
    status = await work.session.scalar(
        select(Pledge.status).where(Pledge.person_id == person_id, Pledge.drive_id == drive_id)
    )
    return status == "pledged"


def _date(text: str | None) -> str:
    return fmt.date(dt.date.fromisoformat(text)) if text else ""


async def _rescheduled(work: Work, person_id: int | None, p: dict[str, Any]) -> list[Reply] | None:
    drive = await _live_drive(work, p)
    if drive is None or not await _pledged(work, person_id, drive.id):
        return None
    text = _(
        "📆 Đợt hiến máu «{title}» đã đổi lịch từ ngày {old} sang:\n📅 {when}\n📍 {place}\n\n"
        "Bạn vẫn có tên trong danh sách. Nếu không đến được, bấm 'Huỷ đăng ký' để nhường chỗ nhé."
    ).format(title=drive.title, old=_date(p.get("old_date")), when=when(drive), place=drive.place)
    return [
        Reply(
            text,
            buttons=(
                Button(_("Xem chi tiết"), f"drive:{drive.id}"),
                Button(_("❌ Huỷ đăng ký"), f"unpledge:{drive.id}"),
            ),
            columns=2,
        )
    ]


async def _cancelled(work: Work, person_id: int | None, p: dict[str, Any]) -> list[Reply] | None:
    text = _(
        "⛔ Rất tiếc, đợt hiến máu «{title}» ngày {date} tại {place} đã bị huỷ. Xin lỗi bạn vì "
        "sự thay đổi này. Mời bạn chọn một đợt khác nhé."
    ).format(title=p.get("title", ""), date=_date(p.get("date")), place=p.get("place", ""))
    return [Reply(text, buttons=(Button(_("🩸 Các đợt sắp tới"), "cmd:drives"),))]


async def _reminder(work: Work, person_id: int | None, p: dict[str, Any]) -> list[Reply] | None:
    drive = await _live_drive(work, p)
    if drive is None or not await _pledged(work, person_id, drive.id):
        return None
    days = (drive.date - work.today()).days
    if days <= 0:
        head = _("⏰ Hôm nay bạn đi hiến máu! Cảm ơn bạn rất nhiều.")
    elif days == 1:
        head = _("⏰ Ngày mai bạn đi hiến máu nhé!")
    else:
        head = _("⏰ Còn {n} ngày nữa là đến đợt hiến máu bạn đã đăng ký.").format(n=days)
    lines = [head, "", f"📅 {when(drive)}", f"📍 {drive.place}"]
    if p.get("slot"):
        lines.append(_("🕒 Khung giờ của bạn: {slot}").format(slot=p["slot"]))
    if drive.map_url:
        lines.append(f"🗺 {drive.map_url}")
    lines += [
        "",
        _(
            "Ngủ đủ giấc, không uống rượu bia, ăn nhẹ trước khi hiến và nhớ mang theo CCCD. "
            "Nếu không đến được, bấm 'Huỷ đăng ký' để nhường chỗ nhé."
        ),
    ]
    # Cancelling and changing the slot are one tap away: a freed place goes to the waiting list.
    swap = (Button(_("🔁 Đổi khung giờ"), f"pledge:{drive.id}"),) if drive.slots else ()
    return [
        Reply(
            "\n".join(lines),
            buttons=(
                Button(_("Xem chi tiết"), f"drive:{drive.id}"),
                Button(_("❌ Huỷ đăng ký"), f"unpledge:{drive.id}"),
                *swap,
            ),
            columns=2,
        )
    ]


async def _drive_notice(work: Work, person_id: int | None, p: dict[str, Any]) -> list[Reply] | None:
    drive = await _live_drive(work, p)
    if drive is None or await _pledged(work, person_id, drive.id):
        return None
    text = "\n".join(
        [
            _("📣 Sắp có đợt hiến máu gần bạn. Bạn tham gia cùng mọi người nhé?"),
            "",
            card_text(drive),
        ]
    )
    return [
        Reply(
            text,
            buttons=(
                Button(_("✋ Đăng ký hiến máu"), f"pledge:{drive.id}"),
                Button(_("Xem chi tiết"), f"drive:{drive.id}"),
            ),
            columns=2,
        )
    ]


async def _milestone(work: Work, person_id: int | None, p: dict[str, Any]) -> list[Reply] | None:
    text = _(
        "🎉 Chúc mừng bạn đã hiến máu {count} lần! Mỗi lần hiến là một món quà cứu người. "
        "Ban chỉ đạo sẽ tôn vinh những tấm gương như bạn vào dịp 14/6."
    ).format(count=p.get("count", ""))
    return [Reply(text)]


async def _daily_tally(work: Work, person_id: int | None, p: dict[str, Any]) -> list[Reply] | None:
    unit_id = p.get("unit_id")
    day = dt.date.fromisoformat(p["day"])
    tally = await tallies.compute(
        work, int(unit_id) if unit_id is not None else None, day, clubs=bool(p.get("clubs"))
    )
    return [Reply(tally_text(tally), buttons=(Button(_("🔕 Tắt báo cáo hằng ngày"), "tally:off"),))]


async def _notice(work: Work, person_id: int | None, p: dict[str, Any]) -> list[Reply] | None:
    found = await broadcasts.text_of(work, int(p.get("broadcast_id", 0)))
    if found is None:
        return None
    text, sender = found
    head = _("📢 Thông báo từ {sender}:").format(sender=sender) if sender else _("📢 Thông báo:")
    return [Reply(f"{head}\n\n{text}")]


RENDERERS = {
    "drive_rescheduled": _rescheduled,
    "drive_cancelled": _cancelled,
    "drive_reminder": _reminder,
    "drive_notice": _drive_notice,
    "eligible": comeback.eligible,
    "eligible_nudge": comeback.nudge,
    "waitlist_offer": comeback.waitlist_offer,
    "milestone": _milestone,
    "daily_tally": _daily_tally,
    "notice": _notice,
    "drive_day": drive_day.render,  # /drivenotice: to today's pledged donors
    "block_released": blocks.released_notice,
    **aftercare.RENDERERS,  # thanks, feedback, missed_you (issue 11)
}
