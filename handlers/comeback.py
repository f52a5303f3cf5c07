"""Bringing donors back: "you can donate again" naming a drive with one-tap pledges, its nudge,
the waiting list of a full drive (join, leave, the offer of a freed place).

Buttons: `wait:<drive>` / `wait:<drive>:<slot>` join a waiting list, `unwait:<drive>` leaves it.
The one-tap pledges are the slot picker's own `slot:<drive>:<slot>` and `pledge:<drive>`, so a
pledge made from an appeal is a plain pledge (the analytics funnel counts it as any other).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from db.models import Drive, DriveSlot, Person, Pledge
from handlers import format as fmt
from handlers.context import Ctx
from handlers.drives import when
from handlers.messages import Button, Reply
from handlers.wizard import error_text
from locales import _
from services import comeback, drives, waitlist
from services.errors import DomainError
from services.work import Work


def _date(text: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


async def _pledged_since(work: Work, person_id: int, since: dt.date) -> bool:
    found = await work.session.scalar(
        select(Pledge.id)
        .join(Drive, Drive.id == Pledge.drive_id)
        .where(
            Pledge.person_id == person_id,
            Pledge.status.in_(("pledged", "attended")),
            Drive.date >= since,
        )
        .limit(1)
    )
    return found is not None


async def drive_for(work: Work, person_id: int, drive_id: Any, since: dt.date) -> Drive | None:
    """The drive chosen when the appeal was planned, if it can still be pledged to; else the
    next one for the person (or None)."""
    if drive_id:
        drive = await work.session.get(Drive, int(drive_id))
        if (
            drive is not None
            and drive.status in drives.LIVE
            and not drive.date_is_month_only
            and drive.date >= since
            and comeback.has_place(drive)
        ):
            return drive
    chosen = await comeback.nearest_drives(work, {person_id: since})
    return await work.session.get(Drive, chosen[person_id]) if person_id in chosen else None


def one_tap(drive: Drive) -> tuple[str, tuple[Button, ...]]:
    """The drive named in an appeal, and its buttons: one per free slot, or 'Đăng ký'."""
    lines = [
        _("Đợt gần bạn nhất:"),
        f"🩸 {drive.title}",
        f"📅 {when(drive)}",
        f"📍 {drive.place}",
    ]
    free = [s for s in drive.slots if s.taken < s.capacity]
    if free:
        lines += ["", _("Bấm một khung giờ để đăng ký ngay:")]
        buttons = tuple(
            Button(
                f"{s.start_time:%H:%M}–{s.end_time:%H:%M} "
                + _("(còn {n} chỗ)").format(n=s.capacity - s.taken),
                f"slot:{drive.id}:{s.id}",
            )
            for s in free
        )
    else:
        lines += ["", _("Bấm 'Đăng ký' để giữ chỗ, chỉ một chạm:")]
        buttons = (Button(_("✋ Đăng ký"), f"pledge:{drive.id}"),)
    others = (
        Button(_("🩸 Các đợt khác"), "cmd:drives"),
        Button(_("⏸ Tạm dừng lời mời"), "cmd:busy"),
    )
    return "\n".join(lines), (*buttons, *others)


def _no_drive() -> tuple[str, tuple[Button, ...]]:
    text = _(
        "Hiện chưa có đợt hiến máu nào của đơn vị hay câu lạc bộ của bạn được lên lịch. "
        "Khi có đợt mới gần bạn, mình sẽ báo ngay. Bạn cũng có thể xem các đợt ở nơi khác:"
    )
    return text, (
        Button(_("🩸 Các đợt sắp tới"), "cmd:drives"),
        Button(_("⏸ Tạm dừng lời mời"), "cmd:busy"),
    )


async def _appeal(
    work: Work, person_id: int | None, p: dict[str, Any], head: str
) -> list[Reply] | None:
    if person_id is None or await work.session.get(Person, person_id) is None:
        return None
    eligible_on = _date(p.get("date")) or work.today()
    if await _pledged_since(work, person_id, eligible_on):
        return None  # they pledged since they may give again: nothing to ask
    since = max(eligible_on, work.today())
    drive = await drive_for(work, person_id, p.get("drive_id"), since)
    body, buttons = one_tap(drive) if drive is not None else _no_drive()
    return [Reply(f"{head}\n\n{body}", buttons=buttons)]


async def eligible(work: Work, person_id: int | None, p: dict[str, Any]) -> list[Reply] | None:
    day = _date(p.get("date"))
    head = _(
        "🩸 Từ ngày {date} bạn đã có thể hiến máu trở lại. Cảm ơn bạn đã luôn sẵn lòng "
        "chia sẻ giọt máu hồng!"
    ).format(date=fmt.date(day) if day else "")
    return await _appeal(work, person_id, p, head)


async def nudge(work: Work, person_id: int | None, p: dict[str, Any]) -> list[Reply] | None:
    head = _(
        "Đã vài tuần kể từ khi bạn có thể hiến máu lại. Các bệnh viện đang cần máu, "
        "mời bạn cùng tham gia nhé."
    )
    return await _appeal(work, person_id, p, head)


async def waitlist_offer(
    work: Work, person_id: int | None, p: dict[str, Any]
) -> list[Reply] | None:
    found = await waitlist.offer_of(work, int(p.get("waitlist_id", 0)))
    if found is None:
        return None
    _row, drive = found
    slot = await work.session.get(DriveSlot, int(p.get("slot_id") or 0))
    if slot is None or slot.taken >= slot.capacity:
        return None  # taken meanwhile
    until = dt.datetime.fromisoformat(p["until"]).astimezone(work.timezone)
    text = "\n".join(
        [
            _("🎉 Có một chỗ vừa trống ở đợt hiến máu bạn đang chờ:"),
            "",
            f"🩸 {drive.title}",
            f"📅 {when(drive)}",
            f"📍 {drive.place}",
            _("🕒 Khung giờ: {slot}").format(slot=f"{slot.start_time:%H:%M}–{slot.end_time:%H:%M}"),
            "",
            _("Chỗ này dành cho bạn đến {time} ngày {date}. Bấm để nhận chỗ:").format(
                time=f"{until:%H:%M}", date=fmt.date(until.date())
            ),
        ]
    )
    return [
        Reply(
            text,
            buttons=(
                Button(_("✋ Nhận chỗ"), f"slot:{drive.id}:{slot.id}"),
                Button(_("Không cần nữa"), f"unwait:{drive.id}"),
            ),
            columns=2,
        )
    ]


# Waiting list buttons ------------------------------------------------------------------------


def wait_button(drive_id: int, slot_id: int | None = None) -> Button:
    payload = f"wait:{drive_id}" if slot_id is None else f"wait:{drive_id}:{slot_id}"
    return Button(_("🕓 Vào danh sách chờ"), payload)


async def wait(ctx: Ctx, value: str) -> list[Reply]:
    drive_text, _sep, slot_text = value.partition(":")
    if not drive_text.isdigit() or (slot_text and not slot_text.isdigit()):
        return [Reply(_("Nút này đã hết hạn. Gõ /drives để xem các đợt hiến máu."))]
    if ctx.person is None:
        return [Reply(_("Bạn chưa đăng ký hiến máu với mình. Gõ /start để bắt đầu nhé."))]
    try:
        joined = await waitlist.join(
            ctx.work, ctx.person, int(drive_text), int(slot_text) if slot_text else None, ctx.actor
        )
    except DomainError as error:
        return [Reply(error_text(error))]
    text = _(
        "🕓 Mình đã ghi tên bạn vào danh sách chờ đợt ngày {date} (bạn đứng thứ {n}). "
        "Khi có người nhường chỗ, mình nhắn bạn ngay để bạn nhận chỗ."
    ).format(date=fmt.date(joined.drive.date), n=joined.position)
    return [
        Reply(
            text,
            buttons=(
                Button(_("Rời danh sách chờ"), f"unwait:{joined.drive.id}"),
                Button(_("🩸 Các đợt khác"), "cmd:drives"),
            ),
        )
    ]


async def unwait(ctx: Ctx, value: str) -> list[Reply]:
    if not value.isdigit():
        return [Reply(_("Nút này đã hết hạn. Gõ /drives để xem các đợt hiến máu."))]
    if ctx.person is None:
        return [Reply(_("Bạn chưa đăng ký hiến máu với mình. Gõ /start để bắt đầu nhé."))]
    if not await waitlist.leave(ctx.work, ctx.person, int(value), ctx.actor):
        return [Reply(_("Bạn không còn trong danh sách chờ của đợt này."))]
    return [
        Reply(
            _("Đã rút tên bạn khỏi danh sách chờ. Hẹn bạn ở một đợt khác nhé!"),
            buttons=(Button(_("🩸 Các đợt khác"), "cmd:drives"),),
        )
    ]
