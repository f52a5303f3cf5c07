"""A donor's own data: /profile (view and edit), /stop, /forget, /export."""

from __future__ import annotations

import json

from handlers import format as fmt
from handlers import wizard
from handlers.context import Ctx
from handlers.fields import FIELD_STEPS, ask_phone, phone_answer, stored_birth
from handlers.messages import Attachment, Button, Reply
from handlers.wizard import Flow, Outcome, Step, choice, error_text
from locales import N_, _
from services import persons, units
from services.errors import DomainError, InvalidInput
from services.persons import Purpose
from services.validation import display_phone


def not_registered() -> list[Reply]:
    return [Reply(_("Bạn chưa đăng ký hiến máu với mình. Gõ /start để bắt đầu nhé."))]


async def show_profile(ctx: Ctx) -> Reply:
    person = ctx.person
    assert person is not None
    consents = await persons.active_consents(ctx.work, person.id)
    unit = await units.display_name(ctx.work, person.unit_id) if person.unit_id else None
    birth = (
        person.birth_date.strftime("%d/%m/%Y")
        if person.birth_date
        else str(person.birth_year or _("Chưa rõ"))
    )
    on, off = _("Bật"), _("Tắt")
    lines = [
        _("👤 Hồ sơ của bạn"),
        _("• Họ tên: {v}").format(v=person.full_name),
        _("• Điện thoại: {v}").format(v=display_phone(person.phone) if person.phone else "—"),
        _("• Ngày sinh: {v}").format(v=birth),
        _("• Giới tính: {v}").format(v=fmt.sex(person.sex)),
        _("• Nhóm máu: {v}").format(v=fmt.blood_group(person.blood_group)),
        _("• Đơn vị: {v}").format(v=unit or _("Chưa chọn")),
        _("• Cân nặng: {v}").format(v=fmt.weight(person.weight_kg)),
        _("• Nhắc lịch hiến máu: {v}").format(v=on if Purpose.REMINDERS in consents else off),
        _("• Chia sẻ với CLB: {v}").format(v=on if Purpose.CLUB_SHARING in consents else off),
    ]
    if person.busy_until is not None and person.busy_until >= ctx.work.today():
        lines.append(
            _("• Tạm dừng lời mời đến hết ngày: {v} (/busy off để nhận lại)").format(
                v=fmt.date(person.busy_until)
            )
        )
    channels = await persons.linked_channels(ctx.work, person.id)
    if len(channels) > 1:  # one person on Telegram and Zalo: reminders go to one of them
        via = (
            channel_name(person.preferred_channel)
            if person.preferred_channel
            else _("kênh bạn dùng gần nhất")
        )
        lines.append(_("• Nhận tin nhắc qua: {v}").format(v=via))
    lines += ["", _("Chọn mục muốn sửa:")]
    buttons = (
        Button(_("Họ tên"), "profile:name"),
        Button(_("Điện thoại"), "profile:phone"),
        Button(_("Ngày sinh"), "profile:birth"),
        Button(_("Giới tính"), "profile:sex"),
        Button(_("Nhóm máu"), "profile:blood"),
        Button(_("Đơn vị"), "profile:unit"),
        Button(_("Cân nặng"), "profile:weight"),
        Button(_("🔔 Bật/tắt nhắc lịch"), "profile:reminders"),
        Button(_("👥 Bật/tắt chia sẻ CLB"), "profile:club_sharing"),
        *((Button(_("📨 Kênh nhận tin nhắc"), "profile:channel"),) if len(channels) > 1 else ()),
        Button(_("📦 Tải dữ liệu"), "cmd:export"),
        Button(_("🗑 Xoá dữ liệu"), "cmd:forget"),
    )
    return Reply("\n".join(lines), buttons=buttons, columns=2)


def channel_name(channel: str) -> str:
    return {"telegram": "Telegram", "zalo": "Zalo"}.get(channel, channel)


async def _channel_choice(ctx: Ctx) -> list[Reply]:
    assert ctx.person is not None
    channels = await persons.linked_channels(ctx.work, ctx.person.id)
    return [
        Reply(
            _("Bạn muốn nhận tin nhắc hiến máu qua kênh nào?"),
            buttons=(
                Button(_("Kênh bạn dùng gần nhất"), "profile:via_last"),
                *(Button(channel_name(c), f"profile:via_{c}") for c in channels),
            ),
        )
    ]


async def profile(ctx: Ctx) -> list[Reply]:
    if ctx.person is None:
        return not_registered()
    return [await show_profile(ctx)]


# Editing one field -------------------------------------------------------------------------


async def take_new_phone(ctx: Ctx, text: str) -> Outcome:
    ctx.answers["phone"] = phone_answer(ctx, text)
    return None


async def save_field(ctx: Ctx) -> list[Reply]:
    assert ctx.person is not None and ctx.state is not None
    field = ctx.state.step
    a = ctx.answers
    values = {
        "name": ("full_name", a.get("full_name")),
        "phone": ("phone", a.get("phone")),
        "sex": ("sex", a.get("sex")),
        "blood": ("blood_group", a.get("blood_group")),
        "unit": ("unit_id", a.get("unit_id")),
        "weight": ("weight_kg", a.get("weight_kg")),
    }
    if field == "birth":
        await persons.update_field(ctx.work, ctx.person, "birth", stored_birth(a), ctx.actor)
    else:
        column, value = values[field]
        await persons.update_field(ctx.work, ctx.person, column, value, ctx.actor)
    return [Reply(_("✅ Đã cập nhật.")), await show_profile(ctx)]


EDIT_STEPS = {**FIELD_STEPS, "phone": Step(ask_phone, take_new_phone)}
EDIT_FLOWS = {
    name: Flow(name=f"edit_{name}", steps={name: step}, order=(name,), finish=save_field)
    for name, step in EDIT_STEPS.items()
}


async def profile_button(ctx: Ctx, value: str) -> list[Reply]:
    if ctx.person is None:
        return not_registered()
    if value in {"reminders", "club_sharing"}:
        purpose = Purpose(value)
        held = purpose in await persons.active_consents(ctx.work, ctx.person.id)
        await persons.set_consent(ctx.work, ctx.person, purpose, not held, ctx.actor)
        return [await show_profile(ctx)]
    if value == "channel":
        return await _channel_choice(ctx)
    if value.startswith("via_"):
        channel = value.removeprefix("via_")
        try:
            await persons.set_preferred_channel(
                ctx.work, ctx.person, None if channel == "last" else channel, ctx.actor
            )
        except DomainError as error:
            return [Reply(error_text(error))]
        return [Reply(_("✅ Đã cập nhật.")), await show_profile(ctx)]
    flow = EDIT_FLOWS.get(value)
    if flow is None:
        return [Reply(_("Nút này đã cũ. Gõ /profile để xem lại hồ sơ."))]
    return await wizard.start(ctx, flow)


# Consent, export, erasure ------------------------------------------------------------------


async def stop(ctx: Ctx) -> list[Reply]:
    if ctx.person is None:
        return not_registered()
    changed = await persons.set_consent(ctx.work, ctx.person, Purpose.REMINDERS, False, ctx.actor)
    if not changed:
        return [Reply(_("Nhắc lịch đã tắt từ trước. Bật lại trong /profile khi bạn muốn."))]
    return [
        Reply(
            _(
                "🔕 Đã tắt nhắc lịch: mình sẽ không gửi lời mời hay nhắc hẹn nữa. Hồ sơ của "
                "bạn vẫn được giữ; bật lại bất cứ lúc nào trong /profile."
            )
        )
    ]


async def export(ctx: Ctx) -> list[Reply]:
    if ctx.person is None:
        return not_registered()
    data = await persons.export(ctx.work, ctx.person, ctx.actor)
    body = json.dumps(data, ensure_ascii=False, indent=2).encode()
    return [
        Reply(
            _("📦 Đây là toàn bộ dữ liệu mình đang lưu về bạn (tệp JSON)."),
            attachment=Attachment("hienmau-du-lieu-cua-toi.json", body, "application/json"),
        )
    ]


async def ask_forget(ctx: Ctx) -> Reply:
    return Reply(
        _(
            "Bạn có chắc muốn xoá toàn bộ dữ liệu của mình? Hồ sơ, sự đồng ý và liên kết tài khoản "
            "sẽ bị xoá vĩnh viễn; chỉ còn lại số đếm ẩn danh. Không thể hoàn tác."
        ),
        buttons=(
            choice("forget", "yes", _("🗑 Xoá vĩnh viễn")),
            choice("forget", "no", _("Giữ lại")),
        ),
        columns=2,
    )


async def take_forget(ctx: Ctx, value: str) -> Outcome:
    if value == "no":
        return [Reply(_("Đã giữ nguyên dữ liệu của bạn."))]
    if value != "yes":
        raise InvalidInput(N_("Vui lòng bấm 'Xoá vĩnh viễn' hoặc 'Giữ lại'."))
    assert ctx.person is not None
    await persons.erase(ctx.work, ctx.person, ctx.actor)
    ctx.person = None
    return [
        Reply(
            _(
                "Đã xoá toàn bộ dữ liệu của bạn. Cảm ơn bạn đã đồng hành cùng phong trào "
                "hiến máu tình nguyện. Nếu muốn quay lại, chỉ cần gõ /start. ❤️"
            )
        )
    ]


FORGET = Flow(name="forget", steps={"forget": Step(ask_forget, take_forget)}, order=("forget",))


async def forget(ctx: Ctx) -> list[Reply]:
    if ctx.person is None:
        return not_registered()
    return await wizard.start(ctx, FORGET)
