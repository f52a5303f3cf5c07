"""Club blocks in chat: `/block` (a chair or committee holds places of a slot for a club),
the members' view of them in /drives and on a drive's card with a one-tap claim
(`bclaim:<block>`), and the notice to the one who reserved when unclaimed places go back."""

from __future__ import annotations

from typing import Any

from db.models import Drive
from handlers import format as fmt
from handlers import wizard
from handlers.context import Ctx
from handlers.messages import Button, Reply
from handlers.wizard import Flow, Outcome, Step, choice, error_text
from locales import N_, _
from services import blocks, clubs, drives, pledges
from services.blocks import Held
from services.errors import DomainError, InvalidInput
from services.work import Work


def _span(held: Held) -> str:
    return f"{held.slot.start_time:%H:%M}–{held.slot.end_time:%H:%M}"


def _int(ctx: Ctx, key: str) -> int:
    value = ctx.answers.get(key)
    assert isinstance(value, int)
    return value


# /block ----------------------------------------------------------------------------------------


async def ask_club(ctx: Ctx) -> Reply:
    assert ctx.person is not None
    found = await clubs.my_clubs(ctx.work, ctx.person.id)
    return Reply(
        _("Giữ chỗ cho câu lạc bộ nào?"),
        buttons=tuple(choice("bkclub", str(c.id), c.name[:60]) for c in found[:10]),
    )


async def take_club(ctx: Ctx, value: str) -> Outcome:
    assert ctx.person is not None
    if not value.isdigit():
        raise InvalidInput(N_("Vui lòng chọn một câu lạc bộ trong danh sách."))
    club = await clubs.get_managed(ctx.work, ctx.person.id, int(value))
    ctx.answers["club_id"] = club.id
    return None


async def ask_drive(ctx: Ctx) -> Reply:
    found = await blocks.reservable(ctx.work)
    if not found:
        return Reply(_("Chưa có đợt hiến máu nào sắp tới còn giữ chỗ được. Gõ /cancel để thoát."))
    return Reply(
        _("Giữ chỗ ở đợt nào?"),
        buttons=tuple(
            choice("bkdrive", str(d.id), f"{d.date:%d/%m} · {d.place[:40]}") for d in found
        ),
    )


async def take_drive(ctx: Ctx, value: str) -> Outcome:
    if not value.isdigit():
        raise InvalidInput(N_("Vui lòng chọn một đợt trong danh sách."))
    drive = await drives.get(ctx.work, int(value))
    if not blocks.still_open(ctx.work, drive):
        raise InvalidInput(N_("Đợt này không giữ chỗ được nữa. Vui lòng chọn đợt khác."))
    ctx.answers["drive_id"] = drive.id
    return None


async def ask_slot(ctx: Ctx) -> Reply:
    drive = await drives.get(ctx.work, _int(ctx, "drive_id"))
    return Reply(
        _("Khung giờ nào?"),
        buttons=tuple(
            choice(
                "bkslot",
                str(s.id),
                f"{s.start_time:%H:%M}–{s.end_time:%H:%M} "
                + _("(còn {n} chỗ)").format(n=max(s.capacity - s.taken, 0)),
            )
            for s in drive.slots
        ),
    )


async def take_slot(ctx: Ctx, value: str) -> Outcome:
    drive = await drives.get(ctx.work, _int(ctx, "drive_id"))
    slot = next((s for s in drive.slots if str(s.id) == value), None)
    if slot is None:
        raise InvalidInput(N_("Vui lòng chọn một khung giờ trong danh sách."))
    ctx.answers["slot_id"] = slot.id
    return None


async def ask_places(ctx: Ctx) -> Reply:
    drive = await drives.get(ctx.work, _int(ctx, "drive_id"))
    slot = next(s for s in drive.slots if s.id == _int(ctx, "slot_id"))
    return Reply(
        _("Giữ bao nhiêu chỗ? Khung {time} còn {left}/{capacity} chỗ trống. Gõ một số.").format(
            time=f"{slot.start_time:%H:%M}–{slot.end_time:%H:%M}",
            left=max(slot.capacity - slot.taken, 0),
            capacity=slot.capacity,
        )
    )


async def take_places(ctx: Ctx, text: str) -> Outcome:
    assert ctx.person is not None
    digits = text.strip().rstrip(".")
    if not digits.isdigit():
        raise InvalidInput(N_("Vui lòng gõ số chỗ cần giữ, ví dụ 20."))
    block = await blocks.reserve(
        ctx.work,
        ctx.person,
        _int(ctx, "club_id"),
        _int(ctx, "drive_id"),
        _int(ctx, "slot_id"),
        int(digits),
        ctx.actor,
    )
    drive = await drives.get(ctx.work, block.drive_id)
    club = await clubs.get_managed(ctx.work, ctx.person.id, block.club_id)
    slot = next(s for s in drive.slots if s.id == block.slot_id)
    text = _(
        "✅ Đã giữ {places} chỗ cho {club}: {date}, khung {time}, tại {place}.\n\n"
        "Thành viên CLB sẽ thấy các chỗ này trong /drives và nhận bằng một lần bấm. Chỗ chưa "
        "ai nhận sẽ trả lại cho mọi người ngày {release} ({days} ngày trước đợt); mình sẽ "
        "báo bạn số chỗ trả lại."
    ).format(
        places=int(digits),
        club=club.name,
        date=fmt.weekday_date(drive.date),
        time=f"{slot.start_time:%H:%M}–{slot.end_time:%H:%M}",
        place=drive.place,
        release=fmt.date(blocks.release_day(ctx.work, drive)),
        days=ctx.work.rules.block_release_days,
    )
    if block.places != int(digits):
        text += "\n" + _("Tổng cộng {club} đang giữ {total} chỗ ở khung này.").format(
            club=club.name, total=block.places
        )
    return [Reply(text)]


FLOW = Flow(
    name="block",
    steps={
        "bkclub": Step(ask_club, take_club),
        "bkdrive": Step(ask_drive, take_drive),
        "bkslot": Step(ask_slot, take_slot),
        "bkplaces": Step(ask_places, take_places),
    },
    order=("bkclub", "bkdrive", "bkslot", "bkplaces"),
)


async def block(ctx: Ctx) -> list[Reply]:
    assert ctx.person is not None
    found = await clubs.my_clubs(ctx.work, ctx.person.id)
    if not found:
        return [Reply(_("Bạn chưa phụ trách câu lạc bộ nào. Tạo CLB bằng /newclub."))]
    if not await blocks.reservable(ctx.work):
        return [Reply(_("Chưa có đợt hiến máu nào sắp tới còn giữ chỗ được."))]
    if len(found) == 1:
        return await wizard.start(ctx, FLOW, {"club_id": found[0].id}, step="bkdrive")
    return await wizard.start(ctx, FLOW)


# Members: blocks in /drives and on a card, claimed with one tap -------------------------------


def held_line(held: Held, mine: bool, drive: Drive | None = None) -> str:
    day = f"{drive.date:%d/%m} · " if drive is not None else ""
    if mine:
        return _("🎟 {day}Bạn đã nhận 1 chỗ {club} giữ, khung {time}.").format(
            day=day, club=held.club.name, time=_span(held)
        )
    return _("🎟 {day}{club} giữ {places} chỗ (còn {left}), {time}").format(
        day=day, club=held.club.name, places=held.block.places, left=held.left, time=_span(held)
    )


def claim_button(held: Held) -> Button:
    return Button(
        _("🎟 Nhận 1 chỗ của {club}").format(club=held.club.name[:40]), f"bclaim:{held.block.id}"
    )


async def _held(ctx: Ctx, drive_ids: list[int]) -> tuple[list[Held], set[int]]:
    """The blocks the person may claim at these drives, and those they claimed already."""
    if ctx.person is None:
        return [], set()
    found = await blocks.visible(ctx.work, ctx.person.id, drive_ids)
    mine = {h.block.id for h in found if await _claimed(ctx, h)}
    return found, mine


async def _claimed(ctx: Ctx, held: Held) -> bool:
    assert ctx.person is not None
    row = await pledges.current(ctx.work, ctx.person.id, held.block.drive_id)
    return row is not None and row.status == pledges.PLEDGED and row.block_id == held.block.id


async def on_card(ctx: Ctx, drive: Drive, reply: Reply) -> Reply:
    """A drive's card with the member's club blocks and their claim buttons."""
    found, mine = await _held(ctx, [drive.id])
    if not found or drive.status not in drives.LIVE:
        return reply
    lines = [held_line(h, h.block.id in mine) for h in found]
    buttons = tuple(claim_button(h) for h in found if h.left and h.block.id not in mine)
    return Reply(
        reply.text + "\n" + "\n".join(lines),
        buttons=buttons + reply.buttons,
        columns=reply.columns,
        attachment=reply.attachment,
    )


async def on_listing(ctx: Ctx, drives_listed: list[Drive], reply: Reply) -> Reply:
    """The /drives list with the member's club blocks (one tap claims a place)."""
    found, mine = await _held(ctx, [d.id for d in drives_listed])
    if not found:
        return reply
    by_id = {d.id: d for d in drives_listed}
    lines = [held_line(h, h.block.id in mine, by_id.get(h.block.drive_id)) for h in found]
    buttons = tuple(claim_button(h) for h in found if h.left and h.block.id not in mine)
    return Reply(
        reply.text + "\n\n" + "\n".join(lines),
        buttons=reply.buttons + buttons,
        columns=reply.columns,
        attachment=reply.attachment,
    )


async def claim_button_pressed(ctx: Ctx, value: str) -> list[Reply]:
    if not value.isdigit():
        return [Reply(_("Nút này đã hết hạn. Gõ /drives để xem các đợt hiến máu."))]
    if ctx.person is None:
        return [Reply(_("Bạn chưa đăng ký hiến máu với mình. Gõ /start để bắt đầu nhé."))]
    try:
        held = await blocks.claim(ctx.work, ctx.person, int(value), ctx.actor)
        drive = await drives.get(ctx.work, held.block.drive_id)
    except DomainError as error:
        return [Reply(error_text(error))]
    text = _(
        "✅ Bạn đã nhận 1 chỗ {club} giữ: {date}, khung {time}, tại {place}. Cảm ơn bạn!\n"
        "Nếu không đi được, bấm 'Huỷ đăng ký' để trả chỗ cho CLB."
    ).format(
        club=held.club.name,
        date=fmt.weekday_date(drive.date),
        time=_span(held),
        place=drive.place,
    )
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


# The notice to the one who reserved ------------------------------------------------------------


async def released_notice(
    work: Work, person_id: int | None, params: dict[str, Any]
) -> list[Reply] | None:
    found = await blocks.released(work, int(params.get("block_id", 0)))
    if found is None:
        return None
    where = _("đợt ngày {date}, khung {time}").format(
        date=fmt.date(found.drive.date),
        time=f"{found.slot.start_time:%H:%M}–{found.slot.end_time:%H:%M}",
    )
    if found.returned:
        text = _(
            "🎟 {club}: {n}/{places} chỗ chưa ai nhận đã trả lại cho mọi người ({where})."
        ).format(club=found.club, n=found.returned, places=found.places, where=where)
    else:
        text = _("🎟 {club}: thành viên đã nhận đủ {places} chỗ CLB giữ ({where}). Cảm ơn!").format(
            club=found.club, places=found.places, where=where
        )
    return [Reply(text, buttons=(Button(_("Xem chi tiết"), f"drive:{found.drive.id}"),))]
