"""Drives for donors: the list of upcoming drives, a drive's card, pledges, calendar and sharing.

Buttons outside a wizard: `drive:<id>` opens a card, `pledge:<id>` pledges (or offers slots),
`slot:<drive>:<slot>` pledges a slot, `unpledge:<id>` cancels, `ics:<id>` and `share:<id>`.
"""

from __future__ import annotations

from db.models import Drive
from handlers import blocks, companions
from handlers import format as fmt
from handlers.context import Ctx
from handlers.messages import Attachment, Button, ButtonKind, ChatType, Reply
from handlers.wizard import error_text
from locales import _
from services import booking, drives, pledges, sharing, waitlist
from services.booking import Booking
from services.drives import Listed
from services.errors import Conflict, DomainError
from services.pledges import MyPledge

LIST_SIZE = 6


def when(drive: Drive) -> str:
    """'Thứ Bảy, 12/12/2026, 07:30–11:00', or 'Tháng 12/2026' when the plan names a month."""
    if drive.date_is_month_only:
        return _("Tháng {month} (ngày cụ thể sẽ báo sau)").format(
            month=drive.date.strftime("%m/%Y")
        )
    text = fmt.weekday_date(drive.date)
    if drive.start_time and drive.end_time:
        text += f", {drive.start_time:%H:%M}–{drive.end_time:%H:%M}"
    elif drive.start_time:
        text += _(", từ {time}").format(time=f"{drive.start_time:%H:%M}")
    return text


def _km(value: float) -> str:
    return f"{value:.1f}".replace(".", ",") if value < 10 else f"{value:.0f}"


def booking_line(booking: Booking) -> str:
    return _("👥 Đã đăng ký: {pledged} / mục tiêu đặt chỗ {target}").format(
        pledged=booking.pledged, target=booking.target
    )


def card_text(
    drive: Drive,
    mine: MyPledge | None = None,
    km: float | None = None,
    booking: Booking | None = None,
) -> str:
    lines = [f"🩸 {drive.title}", f"📅 {when(drive)}", f"📍 {drive.place}"]
    if km is not None:
        lines.append(_("📏 Cách bạn khoảng {km} km").format(km=_km(km)))
    if drive.map_url:
        lines.append(f"🗺 {drive.map_url}")
    if drive.organiser:
        lines.append(_("🏢 Đơn vị tổ chức: {v}").format(v=drive.organiser))
    if drive.receiving_institution:
        lines.append(_("🏥 Nơi tiếp nhận máu: {v}").format(v=drive.receiving_institution))
    if drive.target_units:
        lines.append(_("🎯 Chỉ tiêu: {n} đơn vị máu").format(n=drive.target_units))
        if booking is not None and drive.status in drives.LIVE:
            lines.append(booking_line(booking))
    if drive.status == drives.Status.CANCELLED:
        lines.append(_("⛔ Đợt này đã bị huỷ."))
    if drive.slots:
        lines.append(_("🕒 Khung giờ:"))
        for slot in drive.slots:
            left = max(slot.capacity - slot.taken, 0)
            state = (
                _("còn {left}/{capacity} chỗ").format(left=left, capacity=slot.capacity)
                if left
                else _("đã kín chỗ")
            )
            lines.append(f"  • {slot.start_time:%H:%M}–{slot.end_time:%H:%M}: {state}")
    if mine is not None:
        if mine.slot is not None:
            lines.append(
                _("✅ Bạn đã đăng ký khung {start}–{end}.").format(
                    start=f"{mine.slot.start_time:%H:%M}", end=f"{mine.slot.end_time:%H:%M}"
                )
            )
        else:
            lines.append(_("✅ Bạn đã đăng ký tham gia đợt này."))
    return "\n".join(lines)


def card_buttons(drive: Drive, mine: MyPledge | None, group: bool = False) -> tuple[Button, ...]:
    if group or drive.status == drives.Status.CANCELLED:
        return ()
    buttons: list[Button] = []
    if mine is None:
        buttons.append(Button(_("✋ Đăng ký hiến máu"), f"pledge:{drive.id}"))
        if drive.status in drives.LIVE:  # advice before pledging (handlers.selfcheck)
            buttons.append(Button(_("🩺 Tự kiểm tra trước khi đăng ký"), f"selfcheck:{drive.id}"))
    else:
        if drive.slots:
            buttons.append(Button(_("🔁 Đổi khung giờ"), f"pledge:{drive.id}"))
        buttons.append(Button(_("❌ Huỷ đăng ký"), f"unpledge:{drive.id}"))
        if drive.status in drives.LIVE:  # "tôi và người đi cùng" (issue 13)
            buttons.append(companions.add_button(drive.id))
    if not drive.date_is_month_only:
        buttons.append(Button(_("📅 Thêm vào lịch"), f"ics:{drive.id}"))
    buttons.append(Button(_("🔗 Chia sẻ"), f"share:{drive.id}"))
    return tuple(buttons)


async def _mine(ctx: Ctx, drive: Drive) -> MyPledge | None:
    if ctx.person is None:
        return None
    row = await pledges.current(ctx.work, ctx.person.id, drive.id)
    if row is None or row.status != pledges.PLEDGED:
        return None
    return MyPledge(row, drive, next((s for s in drive.slots if s.id == row.slot_id), None))


async def card(ctx: Ctx, drive_id: int, km: float | None = None) -> Reply:
    drive = await drives.get(ctx.work, drive_id)
    mine = await _mine(ctx, drive)
    group = ctx.inbound.chat_type is ChatType.GROUP
    booked = await booking.of_drive(ctx.work, drive)
    reply = Reply(
        card_text(drive, mine, km, booked), buttons=card_buttons(drive, mine, group), columns=2
    )
    return reply if group else await blocks.on_card(ctx, drive, reply)


def _short(listed: Listed, number: int) -> str:
    drive = listed.drive
    day = (
        _("Tháng {month}").format(month=drive.date.strftime("%m/%Y"))
        if drive.date_is_month_only
        else fmt.weekday_date(drive.date)
    )
    line = f"{number}. {day} · {drive.place}"
    if listed.distance_km is not None:
        line += _(" · ~{km} km").format(km=_km(listed.distance_km))
    left = drives.seats_left(drive)
    if left is not None:
        line += " · " + (_("còn {n} chỗ").format(n=left) if left else _("đã kín chỗ"))
    return line


def listing(found: list[Listed], heading: str, group: bool) -> list[Reply]:
    lines = [heading, ""] + [_short(item, i) for i, item in enumerate(found, start=1)]
    if group:
        lines += ["", _("Nhắn riêng cho mình và gõ /drives để đăng ký nhé.")]
        return [Reply("\n".join(lines))]
    lines += ["", _("Bấm một số để xem chi tiết và đăng ký:")]
    buttons = tuple(
        Button(f"{item.drive.date:%d/%m} · {item.drive.place[:32]}", f"drive:{item.drive.id}")
        for i, item in enumerate(found, start=1)
    )
    return [Reply("\n".join(lines), buttons=buttons)]


def _location_prompt() -> Reply:
    return Reply(
        _("Muốn tìm đợt gần bạn nhất? Bấm nút bên dưới để gửi vị trí."),
        buttons=(Button(_("📍 Gửi vị trí của tôi"), kind=ButtonKind.LOCATION),),
    )


async def list_drives(ctx: Ctx) -> list[Reply]:
    unit_id = ctx.person.unit_id if ctx.person else None
    found = await drives.upcoming(ctx.work, limit=LIST_SIZE, unit_id=unit_id)
    if not found:
        return [Reply(_("Hiện chưa có đợt hiến máu nào sắp tới. Mình sẽ báo bạn khi có lịch mới."))]
    group = ctx.inbound.chat_type is ChatType.GROUP
    replies = listing(found, _("🩸 Các đợt hiến máu sắp tới:"), group)
    if not group:  # a member's club blocks, one tap to claim
        replies[0] = await blocks.on_listing(ctx, [item.drive for item in found], replies[0])
    if not group and ctx.inbound.channel == "telegram":
        replies.append(_location_prompt())
    return replies


async def near(ctx: Ctx) -> list[Reply]:
    """A location shared outside a wizard: the drives nearest to it."""
    try:
        point = drives.parse_location(ctx.inbound.payload)
    except DomainError as error:
        return [Reply(error_text(error))]
    found = await drives.upcoming(ctx.work, limit=LIST_SIZE, near=point)
    if not found:
        return [Reply(_("Hiện chưa có đợt hiến máu nào sắp tới. Mình sẽ báo bạn khi có lịch mới."))]
    heading = _("📍 Các đợt hiến máu gần bạn:")
    if all(item.distance_km is None for item in found):
        heading = _("Các đợt sắp tới chưa có toạ độ để tính khoảng cách, mình xếp theo ngày:")
    return listing(found, heading, group=False)


# Buttons -----------------------------------------------------------------------------------


def _id(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _expired() -> list[Reply]:
    return [Reply(_("Nút này đã hết hạn. Gõ /drives để xem các đợt hiến máu."))]


async def drive_button(ctx: Ctx, value: str) -> list[Reply]:
    drive_id = _id(value)
    if drive_id is None:
        return _expired()
    try:
        return [await card(ctx, drive_id)]
    except DomainError as error:
        return [Reply(error_text(error))]


def _need_registration() -> list[Reply]:
    return [
        Reply(
            _("Để đăng ký hiến máu, bạn cần đăng ký thông tin với mình trước (chỉ 1 phút)."),
            buttons=(Button(_("📝 Đăng ký ngay"), "cmd:start"),),
        )
    ]


def _slot_choice(drive: Drive, mine: MyPledge | None) -> list[Reply]:
    free = [s for s in drive.slots if s.taken < s.capacity or (mine and mine.slot is s)]
    if not free:
        return [
            Reply(
                _("Đợt này đã kín chỗ. Bạn xem các đợt khác nhé: /drives"),
                buttons=(_wait_button(drive.id),),
            )
        ]
    buttons = tuple(
        Button(
            f"{s.start_time:%H:%M}–{s.end_time:%H:%M} "
            + _("(còn {n} chỗ)").format(n=max(s.capacity - s.taken, 0)),
            f"slot:{drive.id}:{s.id}",
        )
        for s in free
    )
    return [Reply(_("Bạn muốn đến khung giờ nào?"), buttons=buttons)]


def _wait_button(drive_id: int, slot_id: int | None = None) -> Button:
    """Join the waiting list of a full drive (or slot): a freed place is offered in turn."""
    payload = f"wait:{drive_id}" if slot_id is None else f"wait:{drive_id}:{slot_id}"
    return Button(_("🕓 Vào danh sách chờ"), payload)


async def _pledge(ctx: Ctx, drive_id: int, slot_id: int | None) -> list[Reply]:
    assert ctx.person is not None
    before: MyPledge | None = None
    try:
        drive = await drives.get(ctx.work, drive_id)
        before = await _mine(ctx, drive)
        if drive.slots and slot_id is None:
            pledges.check_eligible(ctx.work, ctx.person, drive)
            return _slot_choice(drive, before)
        mine = await pledges.pledge(ctx.work, ctx.person, drive_id, slot_id, ctx.actor)
    except Conflict as error:
        full = slot_id is not None and "hết chỗ" in error.message
        buttons = (
            _wait_button(drive_id, slot_id),
            Button(_("Khung giờ khác"), f"pledge:{drive_id}"),
        )
        return [Reply(error_text(error), buttons=buttons if full else ())]
    except DomainError as error:
        return [Reply(error_text(error))]
    await waitlist.settle(ctx.work, ctx.person.id, drive_id)
    if before is not None and mine.slot is not None and before.slot is not mine.slot:
        text = "\n".join(
            [
                _("🔁 Đã đổi sang khung {start}–{end}. Chỗ cũ đã được nhường lại.").format(
                    start=f"{mine.slot.start_time:%H:%M}", end=f"{mine.slot.end_time:%H:%M}"
                ),
                "",
                card_text(mine.drive, mine),
            ]
        )
        return [Reply(text, buttons=card_buttons(mine.drive, mine), columns=2)]
    text = "\n".join(
        [
            _("✅ Cảm ơn bạn! Mình đã ghi nhận bạn đăng ký hiến máu."),
            "",
            card_text(mine.drive, mine),
            "",
            _(
                "Trước ngày hiến: ngủ đủ giấc, không uống rượu bia, ăn nhẹ (không ăn đồ nhiều "
                "mỡ) và nhớ mang theo CCCD nhé."
            ),
        ]
    )
    return [Reply(text, buttons=card_buttons(mine.drive, mine), columns=2)]


async def pledge_button(ctx: Ctx, value: str) -> list[Reply]:
    drive_id = _id(value)
    if drive_id is None:
        return _expired()
    if ctx.person is None:
        return _need_registration()
    return await _pledge(ctx, drive_id, None)


async def slot_button(ctx: Ctx, value: str) -> list[Reply]:
    drive_text, _sep, slot_text = value.partition(":")
    drive_id, slot_id = _id(drive_text), _id(slot_text)
    if drive_id is None or slot_id is None:
        return _expired()
    if ctx.person is None:
        return _need_registration()
    return await _pledge(ctx, drive_id, slot_id)


async def unpledge_button(ctx: Ctx, value: str) -> list[Reply]:
    drive_id = _id(value)
    if drive_id is None:
        return _expired()
    if ctx.person is None:
        return _need_registration()
    try:
        drive = await pledges.cancel(ctx.work, ctx.person, drive_id, ctx.actor)
    except DomainError as error:
        return [Reply(error_text(error))]
    return [
        Reply(
            _("Đã huỷ đăng ký của bạn cho đợt ngày {date}. Hẹn bạn dịp khác nhé!").format(
                date=fmt.date(drive.date)
            ),
            buttons=(Button(_("✋ Đăng ký lại"), f"pledge:{drive.id}"),),
        )
    ]


async def _pressed_drive(ctx: Ctx, value: str) -> Drive | list[Reply]:
    """The drive a button names, or the replies that say why there is none."""
    drive_id = _id(value)
    if drive_id is None:
        return _expired()
    try:
        return await drives.get(ctx.work, drive_id)
    except DomainError as error:
        return [Reply(error_text(error))]


async def ics_button(ctx: Ctx, value: str) -> list[Reply]:
    drive = await _pressed_drive(ctx, value)
    if isinstance(drive, list):
        return drive
    if drive.date_is_month_only:
        return [Reply(_("Đợt này chưa chốt ngày cụ thể. Mình sẽ báo khi có lịch nhé."))]
    mine = await _mine(ctx, drive)
    content = sharing.ics(
        drive,
        mine.slot if mine else None,
        ctx.work.timezone,
        description=card_text(drive),
        alarm_text=_("Ngày mai bạn đi hiến máu: {place}").format(place=drive.place),
        now=ctx.work.now(),
    )
    return [
        Reply(
            _("📅 Mở tệp này để thêm đợt hiến máu vào lịch của bạn (có nhắc trước 12 giờ)."),
            buttons=(
                Button(_("🔗 Chia sẻ"), f"share:{drive.id}"),
                Button(_("📋 Đợt tôi đã đăng ký"), "cmd:mypledges"),
            ),
            attachment=Attachment(f"hien-mau-{drive.date:%Y-%m-%d}.ics", content, "text/calendar"),
        )
    ]


def share_link(ctx: Ctx, drive_id: int) -> str:
    payload = sharing.drive_payload(drive_id)
    if ctx.inbound.deep_link:
        return ctx.inbound.deep_link + payload
    return f"/start {payload}"


async def share_button(ctx: Ctx, value: str) -> list[Reply]:
    drive = await _pressed_drive(ctx, value)
    if isinstance(drive, list):
        return drive
    link = share_link(ctx, drive.id)
    text = _(
        "Cùng đi hiến máu nhé! 🩸\n{title}\n📅 {when}\n📍 {place}\n\nĐăng ký tại: {link}"
    ).format(title=drive.title, when=when(drive), place=drive.place, link=link)
    return [
        Reply(_("Chuyển tiếp tin nhắn dưới đây cho bạn bè, hoặc cho họ quét mã QR:")),
        Reply(
            text,
            attachment=Attachment(f"drive-{drive.id}-qr.png", sharing.qr_png(link), "image/png"),
        ),
    ]


# /mypledges --------------------------------------------------------------------------------


async def my_pledges(ctx: Ctx) -> list[Reply]:
    if ctx.person is None:
        return _need_registration()
    mine = await pledges.mine(ctx.work, ctx.person.id, ctx.work.today())
    if not mine:
        return [
            Reply(
                _("Bạn chưa đăng ký đợt hiến máu nào sắp tới."),
                buttons=(Button(_("🩸 Xem các đợt sắp tới"), "cmd:drives"),),
            )
        ]
    lines = [_("📋 Các đợt bạn đã đăng ký:"), ""]
    booked = await companions.booked(ctx, [item.drive.id for item in mine])
    for number, item in enumerate(mine, start=1):
        line = f"{number}. {when(item.drive)} · {item.drive.place}"
        if item.slot is not None:
            line += _(" · khung {start}–{end}").format(
                start=f"{item.slot.start_time:%H:%M}", end=f"{item.slot.end_time:%H:%M}"
            )
        lines.append(line)
        lines += companions.lines_for(booked.get(item.drive.id, []))
    lines += ["", _("Bấm một số để xem chi tiết, đổi giờ hoặc huỷ:")]
    buttons = tuple(
        Button(f"{item.drive.date:%d/%m} · {item.drive.place[:32]}", f"drive:{item.drive.id}")
        for i, item in enumerate(mine, start=1)
    )
    for item in mine:  # one "Huỷ chỗ của <name>" per companion the donor booked
        buttons += companions.cancel_buttons(booked.get(item.drive.id, []))
    return [Reply("\n".join(lines), buttons=buttons)]


async def deep_link(ctx: Ctx, payload: str) -> list[Reply] | None:
    """`/start drive_<id>`: the drive's card. None when the payload is not a drive."""
    kind, _sep, rest = payload.partition("_")
    if kind != "drive" or not rest.isdigit():
        return None
    try:
        reply = await card(ctx, int(rest))
    except DomainError as error:
        return [Reply(error_text(error))]
    return [reply]
