"""Drives for committees (Ban chỉ đạo): create, edit, open, reschedule and cancel a drive in
chat, and import an annual plan sent as a file (a quota table goes to handlers.quotas).
Changes that touch pledged donors queue one notice each in the outbox, in the same transaction."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Awaitable, Callable

from db.models import Drive
from handlers import format as fmt
from handlers import quotas as quota_chat
from handlers import wizard
from handlers.context import Ctx
from handlers.drives import card_text
from handlers.messages import Button, ButtonKind, Reply
from handlers.registration import yes_no
from handlers.wizard import Flow, Outcome, Step, choice, error_text
from locales import N_, _
from services import booking, drives, plan_file, plans
from services.booking import Booking, Source
from services.drives import DriveDraft, SlotSpec
from services.errors import DomainError, InvalidInput
from services.roles import Role
from services.validation import parse_date

SKIP = "skip"
Parse = Callable[[Ctx, str], Awaitable[object]]


# Parsing of each answer --------------------------------------------------------------------


def _text(text: str, low: int = 3, high: int = 300) -> str:
    value = " ".join(unicodedata.normalize("NFC", text).split())
    if not low <= len(value) <= high:
        raise InvalidInput(N_("Vui lòng nhập từ {low} đến {high} ký tự."), low=low, high=high)
    return value


async def _p_title(ctx: Ctx, text: str) -> object:
    return _text(text)


async def _p_optional(ctx: Ctx, text: str) -> object:
    return None if text == SKIP else _text(text, 2, 1000)


async def _p_date(ctx: Ctx, text: str) -> object:
    day = parse_date(text)
    if day < ctx.work.today():
        raise InvalidInput(N_("Ngày của đợt hiến máu đã qua. Vui lòng chọn một ngày sắp tới."))
    if day > ctx.work.today() + dt.timedelta(days=730):
        raise InvalidInput(N_("Ngày quá xa (hơn 2 năm nữa). Vui lòng kiểm tra lại."))
    return day.isoformat()


async def _p_slots(ctx: Ctx, text: str) -> object:
    if text == SKIP:
        return []
    return [[f"{s.start:%H:%M}", f"{s.end:%H:%M}", s.capacity] for s in drives.parse_slots(text)]


_COORDS = re.compile(r"(-?\d{1,2}\.\d+)\s*,\s*(-?\d{1,3}\.\d+)")


async def _p_location(ctx: Ctx, text: str) -> object:
    """A shared location ('lat,lon'), a map link (coordinates read from it when present)."""
    if text == SKIP:
        return {"map_url": None, "lat": None, "lon": None}
    stripped = text.strip()
    if _COORDS.fullmatch(stripped):
        lat, lon = drives.parse_location(stripped)
        url = f"https://maps.google.com/?q={lat:.6f},{lon:.6f}"
        return {"map_url": url, "lat": lat, "lon": lon}
    url = drives.parse_map_url(stripped)
    found = re.search(r"[@=/](-?\d{1,2}\.\d{3,}),\s*(-?\d{1,3}\.\d{3,})", url)
    if found:
        lat, lon = drives.parse_location(f"{found[1]},{found[2]}")
        return {"map_url": url, "lat": lat, "lon": lon}
    return {"map_url": url, "lat": None, "lon": None}


async def _p_target(ctx: Ctx, text: str) -> object:
    return drives.parse_target(text)


async def _p_factor(ctx: Ctx, text: str) -> object:
    return None if text == SKIP else booking.parse_factor(text)


# Questions ---------------------------------------------------------------------------------


def _skip() -> tuple[Button, ...]:
    return (choice("x", SKIP, _("Bỏ qua")),)


QUESTIONS: dict[str, tuple[str, Parse, bool]] = {
    # field: (question, parse, may be skipped)
    "title": (
        N_("Tên đợt hiến máu? (ví dụ: Ngày hội hiến máu Giọt hồng Sông Đà)"),
        _p_title,
        False,
    ),
    "campaign": (N_("Thuộc chiến dịch / chủ đề nào? (ví dụ: Hành trình Đỏ)"), _p_optional, True),
    "date": (N_("Ngày tổ chức? (ví dụ: 20/12/2026)"), _p_date, False),
    "slots": (
        N_(
            "Các khung giờ và số người mỗi khung, cách nhau bằng dấu chấm phẩy. Ví dụ:\n"
            "07:30-08:30 120; 08:30-09:30 120; 09:30-11:00 100"
        ),
        _p_slots,
        True,
    ),
    "place": (N_("Địa điểm tổ chức? (ví dụ: Nhà văn hoá xã Bình Lư)"), _p_title, False),
    "location": (
        N_("Gửi vị trí trên bản đồ (nút bên dưới), hoặc dán link Google Maps của địa điểm:"),
        _p_location,
        True,
    ),
    "organiser": (N_("Đơn vị tổ chức?"), _p_optional, True),
    "receiving_institution": (
        N_("Cơ sở tiếp nhận máu? (ví dụ: Bệnh viện Đa khoa tỉnh)"),
        _p_optional,
        True,
    ),
    "target_units": (N_("Chỉ tiêu bao nhiêu đơn vị máu? (ví dụ: 250)"), _p_target, False),
    "show_up_factor": (
        N_(
            "Cần bao nhiêu người đăng ký cho mỗi đơn vị máu? Nhập hệ số từ 1 đến 3 (ví dụ: "
            "1,3). Bỏ qua: tự tính từ các đợt trước của đơn vị, hoặc dùng mặc định."
        ),
        _p_factor,
        True,
    ),
}
LABELS = {
    "title": N_("Tên đợt"),
    "campaign": N_("Chiến dịch"),
    "slots": N_("Khung giờ"),
    "place": N_("Địa điểm"),
    "location": N_("Vị trí bản đồ"),
    "organiser": N_("Đơn vị tổ chức"),
    "receiving_institution": N_("Nơi tiếp nhận"),
    "target_units": N_("Chỉ tiêu"),
    "show_up_factor": N_("Hệ số đặt chỗ"),
}
NEW_ORDER = (
    "title",
    "campaign",
    "date",
    "slots",
    "place",
    "location",
    "organiser",
    "receiving_institution",
    "target_units",
    "confirm",
)


def _ask(field: str) -> wizard.Ask:
    question, _parse, optional = QUESTIONS[field]

    async def ask(ctx: Ctx) -> Reply:
        buttons: tuple[Button, ...] = ()
        if field == "location" and ctx.inbound.channel == "telegram":
            buttons = (Button(_("📍 Gửi vị trí"), kind=ButtonKind.LOCATION),)
        if optional:
            buttons = (*buttons, choice(field, SKIP, _("Bỏ qua")))
        return Reply(_(question), buttons=buttons)

    return ask


def _answer(field: str) -> wizard.Answer:
    _question, parse, _optional = QUESTIONS[field]

    async def answer(ctx: Ctx, text: str) -> Outcome:
        ctx.answers[field] = await parse(ctx, text)
        if "drive_id" in ctx.answers:  # editing one field of a stored drive
            return await _save_edit(ctx, field)
        return None

    return answer


# Creating a drive --------------------------------------------------------------------------


def _slot_specs(raw: object) -> list[SlotSpec]:
    assert isinstance(raw, list)
    return [
        SlotSpec(dt.time.fromisoformat(start), dt.time.fromisoformat(end), int(capacity))
        for start, end, capacity in raw
    ]


def _draft(answers: dict[str, object]) -> DriveDraft:
    location = answers.get("location") or {}
    assert isinstance(location, dict)
    date = answers["date"]
    assert isinstance(date, str)
    target = answers.get("target_units", 0)
    assert isinstance(target, int)
    return DriveDraft(
        title=str(answers["title"]),
        date=dt.date.fromisoformat(date),
        place=str(answers["place"]),
        campaign=_opt(answers.get("campaign")),
        slots=_slot_specs(answers.get("slots", [])),
        map_url=location.get("map_url"),
        latitude=location.get("lat"),
        longitude=location.get("lon"),
        organiser=_opt(answers.get("organiser")),
        receiving_institution=_opt(answers.get("receiving_institution")),
        target_units=target,
    )


def _opt(value: object) -> str | None:
    return value if isinstance(value, str) else None


async def ask_confirm(ctx: Ctx) -> Reply:
    draft = _draft(ctx.answers)
    lines = [
        _("Kiểm tra lại đợt hiến máu:"),
        "",
        f"🩸 {draft.title}",
        f"📅 {fmt.weekday_date(draft.date)}",
        f"📍 {draft.place}",
    ]
    if draft.map_url:
        lines.append(f"🗺 {draft.map_url}")
    if draft.campaign:
        lines.append(_("🏷 Chiến dịch: {v}").format(v=draft.campaign))
    for slot in draft.slots:
        lines.append(
            _("🕒 {start}–{end}: {n} người").format(
                start=f"{slot.start:%H:%M}", end=f"{slot.end:%H:%M}", n=slot.capacity
            )
        )
    if draft.organiser:
        lines.append(_("🏢 Đơn vị tổ chức: {v}").format(v=draft.organiser))
    if draft.receiving_institution:
        lines.append(_("🏥 Nơi tiếp nhận máu: {v}").format(v=draft.receiving_institution))
    lines.append(_("🎯 Chỉ tiêu: {n} đơn vị máu").format(n=draft.target_units))
    return Reply(
        "\n".join(lines),
        buttons=(
            choice("confirm", "yes", _("✅ Tạo đợt")),
            choice("confirm", "no", _("❌ Huỷ")),
        ),
        columns=2,
    )


async def take_confirm(ctx: Ctx, value: str) -> Outcome:
    value = yes_no(value)
    if value == "no":
        return [Reply(_("Đã huỷ, chưa tạo đợt nào."))]
    if value != "yes":
        raise InvalidInput(N_("Vui lòng bấm 'Tạo đợt' hoặc 'Huỷ'."))
    assert ctx.person is not None
    unit = await drives.managing_unit(ctx.work, ctx.person.id)
    drive = await drives.create(ctx.work, _draft(ctx.answers), ctx.actor, unit_id=unit.id)
    return [
        Reply(
            _(
                "✅ Đã tạo đợt hiến máu (mã #{id}). Đợt đang ở trạng thái dự kiến: bấm "
                "'Mở đăng ký' khi sẵn sàng nhận đăng ký."
            ).format(id=drive.id)
        ),
        await _admin_card(ctx, drive.id),
    ]


STEPS = {field: Step(_ask(field), _answer(field)) for field in QUESTIONS}
NEW = Flow(
    name="newdrive",
    steps={**STEPS, "confirm": Step(ask_confirm, take_confirm)},
    order=NEW_ORDER,
)
EDIT = Flow(name="drive_edit", steps=dict(STEPS), order=())


async def new_drive(ctx: Ctx) -> list[Reply]:
    return await wizard.start(ctx, NEW)


# Managing stored drives --------------------------------------------------------------------


async def _admin_card(ctx: Ctx, drive_id: int) -> Reply:
    drive = await drives.get(ctx.work, drive_id)
    pledged = await drives.pledged_count(ctx.work, drive.id)
    status = {
        "planned": _("dự kiến"),
        "open": _("đang nhận đăng ký"),
        "done": _("đã diễn ra"),
        "cancelled": _("đã huỷ"),
    }.get(drive.status, drive.status)
    text = "\n".join(
        [
            card_text(drive),
            _("📌 Mã #{id} · trạng thái: {status}").format(id=drive.id, status=status),
            _("👥 Đã đăng ký: {n} người").format(n=pledged),
            *_booking_lines(await booking.of_drive(ctx.work, drive)),
        ]
    )
    if drive.status == drives.Status.CANCELLED:
        return Reply(text)
    buttons = [Button(_("✏️ Sửa thông tin"), f"mdrive:edit:{drive.id}")]
    if drive.status == drives.Status.PLANNED:
        buttons.append(Button(_("🟢 Mở đăng ký"), f"mdrive:open:{drive.id}"))
    buttons += [
        Button(_("📆 Dời lịch"), f"mdrive:move:{drive.id}"),
        Button(_("⛔ Huỷ đợt"), f"mdrive:cancel:{drive.id}"),
    ]
    return Reply(text, buttons=tuple(buttons), columns=2)


def _booking_lines(booked: Booking) -> list[str]:
    drive = booked.drive
    if not drive.target_units or drive.status not in drives.LIVE:
        return []
    source = {
        Source.DRIVE: _("do Ban chỉ đạo đặt"),
        Source.LEARNED: _("học từ các đợt trước của đơn vị"),
        Source.DEFAULT: _("mặc định"),
    }[booked.source]
    return [
        _("📋 Mục tiêu đặt chỗ: {target} = {units} đơn vị × {factor} ({source})").format(
            target=booked.target,
            units=drive.target_units,
            factor=f"{booked.factor:.2f}".rstrip("0").rstrip(".").replace(".", ","),
            source=source,
        )
    ]


async def manage(ctx: Ctx) -> list[Reply]:
    assert ctx.person is not None
    found = await drives.manageable(ctx.work, ctx.person.id, ctx.work.today())
    if not found:
        return [
            Reply(
                _("Chưa có đợt hiến máu nào sắp tới do bạn quản lý. Tạo đợt mới: /newdrive"),
            )
        ]
    lines = [_("🗂 Các đợt hiến máu bạn quản lý:"), ""]
    for number, drive in enumerate(found, start=1):
        lines.append(f"{number}. #{drive.id} · {fmt.date(drive.date)} · {drive.place}")
    lines += ["", _("Chọn một đợt để xem và sửa (tạo đợt mới: /newdrive):")]
    buttons = tuple(
        Button(f"#{d.id} · {d.date:%d/%m} · {d.place[:30]}", f"mdrive:card:{d.id}") for d in found
    )
    return [Reply("\n".join(lines), buttons=buttons)]


async def _field_menu(drive_id: int) -> Reply:
    buttons = tuple(
        Button(_(label), f"mdrive:f:{field}:{drive_id}") for field, label in LABELS.items()
    )
    return Reply(_("Sửa mục nào?"), buttons=buttons, columns=2)


async def manage_button(ctx: Ctx, value: str) -> list[Reply]:
    """`mdrive:<action>:<id>` from the committee's drive card."""
    action, _sep, rest = value.partition(":")
    field = None
    if action == "f":
        field, _sep, rest = rest.partition(":")
    if not rest.isdigit() or ctx.person is None:
        return [Reply(_("Nút này đã hết hạn. Gõ /managedrives để xem lại."))]
    drive_id = int(rest)
    try:
        drive = await drives.get(ctx.work, drive_id)
        await drives.check_manage(ctx.work, ctx.person.id, drive)
        if action == "card":
            return [await _admin_card(ctx, drive_id)]
        if action == "edit":
            return [await _field_menu(drive_id)]
        if action == "f" and field in LABELS:
            return await wizard.start(ctx, EDIT, {"drive_id": drive_id}, step=field)
        if action == "open":
            await drives.open_(ctx.work, drive, ctx.actor)
            return [Reply(_("🟢 Đã mở đăng ký.")), await _admin_card(ctx, drive_id)]
        if action == "move":
            return await wizard.start(ctx, MOVE, {"drive_id": drive_id})
        if action == "cancel":
            return await wizard.start(ctx, CANCEL, {"drive_id": drive_id})
    except DomainError as error:
        return [Reply(error_text(error))]
    return [Reply(_("Nút này đã hết hạn. Gõ /managedrives để xem lại."))]


async def _drive_of(ctx: Ctx) -> Drive:
    drive_id = ctx.answers["drive_id"]
    assert isinstance(drive_id, int) and ctx.person is not None
    drive = await drives.get(ctx.work, drive_id)
    await drives.check_manage(ctx.work, ctx.person.id, drive)
    return drive


async def _save_edit(ctx: Ctx, field: str) -> list[Reply]:
    drive = await _drive_of(ctx)
    value = ctx.answers[field]
    if field == "slots":
        await drives.set_slots(ctx.work, drive, _slot_specs(value), ctx.actor)
    elif field == "show_up_factor":
        assert value is None or isinstance(value, float)
        await booking.set_factor(ctx.work, drive, value, ctx.actor)
    elif field == "location":
        assert isinstance(value, dict)
        await drives.edit(ctx.work, drive, "map_url", value["map_url"], ctx.actor)
        await drives.edit(ctx.work, drive, "location", (value["lat"], value["lon"]), ctx.actor)
    else:
        await drives.edit(ctx.work, drive, field, value, ctx.actor)
    return [Reply(_("✅ Đã cập nhật.")), await _admin_card(ctx, drive.id)]


# Rescheduling and cancelling ---------------------------------------------------------------


async def ask_move_date(ctx: Ctx) -> Reply:
    return Reply(_("Ngày mới của đợt hiến máu? (ví dụ: 27/12/2026)"))


async def take_move_date(ctx: Ctx, text: str) -> Outcome:
    ctx.answers["date"] = await _p_date(ctx, text)
    return None


_HOURS = re.compile(r"(\d{1,2})\s*[h:.]\s*(\d{2})?\s*[-–—]\s*(\d{1,2})\s*[h:.]?\s*(\d{2})?")


async def ask_move_hours(ctx: Ctx) -> Reply:
    return Reply(
        _("Giờ mới? (ví dụ: 07:30-11:00) Bấm 'Giữ nguyên giờ' nếu không đổi."),
        buttons=(choice("hours", SKIP, _("Giữ nguyên giờ")),),
    )


async def take_move_hours(ctx: Ctx, text: str) -> Outcome:
    if text == SKIP:
        ctx.answers["hours"] = None
        return None
    match = _HOURS.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(N_("Chưa hiểu giờ. Nhập giờ bắt đầu–kết thúc, ví dụ: 07:30-11:00"))
    start = drives.parse_slots(f"{match[1]}:{match[2] or '00'}-{match[3]}:{match[4] or '00'} 1")[0]
    ctx.answers["hours"] = [f"{start.start:%H:%M}", f"{start.end:%H:%M}"]
    return None


async def ask_move_confirm(ctx: Ctx) -> Reply:
    drive = await _drive_of(ctx)
    pledged = await drives.pledged_count(ctx.work, drive.id)
    date = dt.date.fromisoformat(str(ctx.answers["date"]))
    return Reply(
        _("Dời đợt «{title}» từ {old} sang {new}? {n} người đã đăng ký sẽ nhận tin báo.").format(
            title=drive.title, old=fmt.date(drive.date), new=fmt.date(date), n=pledged
        ),
        buttons=(choice("ok", "yes", _("📆 Dời lịch")), choice("ok", "no", _("Thôi"))),
        columns=2,
    )


async def take_move_confirm(ctx: Ctx, value: str) -> Outcome:
    value = yes_no(value)
    if value == "no":
        return [Reply(_("Đã giữ nguyên lịch."))]
    if value != "yes":
        raise InvalidInput(N_("Vui lòng bấm một trong hai nút."))
    drive = await _drive_of(ctx)
    hours = ctx.answers.get("hours")
    start = end = None
    if isinstance(hours, list):
        start, end = dt.time.fromisoformat(hours[0]), dt.time.fromisoformat(hours[1])
    new_date = dt.date.fromisoformat(str(ctx.answers["date"]))
    queued = await drives.reschedule(ctx.work, drive, new_date, ctx.actor, start, end)
    return [
        Reply(_("✅ Đã dời lịch. Đã gửi tin báo cho {n} người.").format(n=queued)),
        await _admin_card(ctx, drive.id),
    ]


MOVE = Flow(
    name="drive_move",
    steps={
        "date": Step(ask_move_date, take_move_date),
        "hours": Step(ask_move_hours, take_move_hours),
        "ok": Step(ask_move_confirm, take_move_confirm),
    },
    order=("date", "hours", "ok"),
)


async def ask_cancel(ctx: Ctx) -> Reply:
    drive = await _drive_of(ctx)
    pledged = await drives.pledged_count(ctx.work, drive.id)
    return Reply(
        _(
            "Huỷ đợt «{title}» ngày {date}? {n} người đã đăng ký sẽ nhận tin báo huỷ. "
            "Không thể hoàn tác."
        ).format(title=drive.title, date=fmt.date(drive.date), n=pledged),
        buttons=(
            choice("cancel", "yes", _("⛔ Huỷ đợt")),
            choice("cancel", "no", _("Giữ lại")),
        ),
        columns=2,
    )


async def take_cancel(ctx: Ctx, value: str) -> Outcome:
    value = yes_no(value)
    if value == "no":
        return [Reply(_("Đã giữ lại đợt hiến máu."))]
    if value != "yes":
        raise InvalidInput(N_("Vui lòng bấm một trong hai nút."))
    drive = await _drive_of(ctx)
    queued = await drives.cancel(ctx.work, drive, ctx.actor)
    return [Reply(_("⛔ Đã huỷ đợt. Đã gửi tin báo cho {n} người.").format(n=queued))]


CANCEL = Flow(
    name="drive_cancel", steps={"cancel": Step(ask_cancel, take_cancel)}, order=("cancel",)
)


# An annual plan sent as a file -------------------------------------------------------------


def _candidate_years(content: bytes, filename: str, today: dt.date) -> list[int]:
    found = {int(y) for y in re.findall(rb"(?<!\d)(20\d{2})(?!\d)", content[:200_000])}
    found |= {int(y) for y in re.findall(r"(?<!\d)(20\d{2})(?!\d)", filename)}
    found |= {today.year - 1, today.year, today.year + 1}
    return sorted(y for y in found if 2000 <= y <= today.year + 2)


def _best_parse(content: bytes, filename: str, today: dt.date) -> tuple[int, plan_file.PlanFile]:
    """Read the file for the plan year that fits most rows (a plan names its dates, not its
    year; December rows belong to the next year's plan)."""
    best: tuple[int, plan_file.PlanFile] | None = None
    for year in _candidate_years(content, filename, today):
        parsed = plan_file.read_plan(content, filename, year)
        if best is None or (len(parsed.rows), year) > (len(best[1].rows), best[0]):
            best = (year, parsed)
    assert best is not None
    return best


async def plan_document(ctx: Ctx) -> list[Reply]:
    """A file sent outside a wizard: committees import a plan; others are told what files do."""
    if Role.COMMITTEE not in ctx.roles:
        return [
            Reply(
                _(
                    "Cảm ơn bạn đã gửi tệp, nhưng mình chỉ đọc được tin nhắn chữ và nút bấm. "
                    "Gõ /help để xem các lệnh."
                )
            )
        ]
    attachment = ctx.inbound.attachment
    if attachment is None:
        return [
            Reply(
                _(
                    "Tệp quá lớn để tải về. Kế hoạch năm thường chỉ vài chục KB: hãy gửi tệp CSV "
                    "hoặc XLSX chỉ gồm bảng các đợt."
                )
            )
        ]
    try:
        year, parsed = _best_parse(attachment.content, attachment.filename, ctx.work.today())
    except InvalidInput as error:  # no plan in it: perhaps the quota table (chỉ tiêu)
        table = quota_chat.read_document(attachment)
        if table is not None:
            return await quota_chat.document(ctx, attachment, table)
        return [Reply(error_text(error))]
    except DomainError as error:
        return [Reply(error_text(error))]
    if parsed.problems:
        shown = [plan_file.describe(p) for p in parsed.problems[:10]]
        more = len(parsed.problems) - len(shown)
        lines = [
            _("⚠️ Tệp có {n} dòng lỗi, mình chưa nhập gì:").format(n=len(parsed.problems)),
            "",
            *(f"• {line}" for line in shown),
        ]
        if more > 0:
            lines.append(_("… và {n} lỗi khác.").format(n=more))
        lines += ["", _("Bạn sửa tệp rồi gửi lại nhé.")]
        return [Reply("\n".join(lines))]
    rows = [plans.row_to_json(row) for row in parsed.rows]
    return await wizard.start(
        ctx, PLAN, {"year": year, "rows": rows, "file": attachment.filename[:100]}
    )


async def ask_plan(ctx: Ctx) -> Reply:
    year = ctx.answers["year"]
    assert isinstance(year, int)
    rows = [plans.row_from_json(raw) for raw in _list(ctx.answers["rows"])]
    preview = await plans.import_rows(
        ctx.work, rows, year, ctx.actor, dry_run=True, source=f"plan:{ctx.answers['file']}"
    )
    lines = [
        _("📄 Kế hoạch năm {year}: {n} đợt, tổng chỉ tiêu {total} đơn vị máu.").format(
            year=year, n=preview.drives, total=preview.total_target
        ),
        _("Mới: {new} · cập nhật: {updated} · không đổi: {same}").format(
            new=preview.count(plans.Change.NEW),
            updated=preview.count(plans.Change.UPDATED),
            same=preview.count(plans.Change.UNCHANGED),
        ),
        "",
    ]
    for outcome in preview.outcomes[:8]:
        row = outcome.row
        day = f"{row.date:%m/%Y}" if row.month_only else fmt.date(row.date)
        lines.append(
            _("• Đợt {no} · {date} · {n} đv · {place}").format(
                no=row.plan_no, date=day, n=row.target_units, place=row.place
            )
        )
    if preview.drives > 8:
        lines.append(_("… và {n} đợt khác.").format(n=preview.drives - 8))
    lines += ["", _("Nhập kế hoạch này?")]
    return Reply(
        "\n".join(lines),
        buttons=(choice("plan", "yes", _("✅ Nhập")), choice("plan", "no", _("❌ Huỷ"))),
        columns=2,
    )


def _list(value: object) -> list[dict[str, object]]:
    assert isinstance(value, list)
    return value


async def take_plan(ctx: Ctx, value: str) -> Outcome:
    value = yes_no(value)
    if value == "no":
        return [Reply(_("Đã huỷ, chưa nhập gì."))]
    if value != "yes":
        raise InvalidInput(N_("Vui lòng bấm 'Nhập' hoặc 'Huỷ'."))
    assert ctx.person is not None
    year = ctx.answers["year"]
    assert isinstance(year, int)
    unit = await drives.managing_unit(ctx.work, ctx.person.id)
    rows = [plans.row_from_json(raw) for raw in _list(ctx.answers["rows"])]
    result = await plans.import_rows(
        ctx.work, rows, year, ctx.actor, unit_code=unit.code, source=f"plan:{ctx.answers['file']}"
    )
    return [
        Reply(
            _(
                "✅ Đã nhập {n} đợt, tổng chỉ tiêu {total} đơn vị máu (mới: {new}, cập nhật: "
                "{updated}, không đổi: {same}). Xem: /managedrives"
            ).format(
                n=result.drives,
                total=result.total_target,
                new=result.count(plans.Change.NEW),
                updated=result.count(plans.Change.UPDATED),
                same=result.count(plans.Change.UNCHANGED),
            )
        )
    ]


PLAN = Flow(name="plan_import", steps={"plan": Step(ask_plan, take_plan)}, order=("plan",))
