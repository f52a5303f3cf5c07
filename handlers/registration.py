"""Registration: a donor by themself (`/start`), or a volunteer for a donor (`/adddonor`).

Consent comes first and nothing is stored until the donor (or volunteer) saves the summary.
A phone already on file is never registered twice: the donor proves the record is theirs with
the birth date or year, then this chat is linked to it (and a volunteer's record confirmed).
"""

from __future__ import annotations

from handlers import format as fmt
from handlers import wizard
from handlers.context import Ctx
from handlers.fields import FIELD_STEPS, ask_phone, on_behalf, phone_answer, stored_birth
from handlers.messages import Reply
from handlers.profile import show_profile
from handlers.wizard import Flow, Outcome, Step, choice
from locales import N_, _
from services import persons, units
from services.errors import InvalidInput, NotAllowed
from services.persons import DonorDraft, Purpose
from services.validation import Birth, display_phone, fold, parse_birth

MAX_VERIFY_ATTEMPTS = 3


def intro() -> str:
    return _(
        "🩸 Xin chào! Mình là trợ lý tự động của Ban chỉ đạo vận động hiến máu tình nguyện, "
        "do Hội Chữ thập đỏ vận hành. Mình giúp bạn đăng ký hiến máu, tìm đợt hiến máu gần "
        "nhất và nhắc lịch khi bạn có thể hiến lại."
    )


# Consent ---------------------------------------------------------------------------------


async def ask_consent(ctx: Ctx) -> Reply:
    return Reply(
        _(
            "Để đăng ký, mình cần lưu họ tên, số điện thoại, ngày sinh, giới tính, nhóm máu, "
            "đơn vị và lịch sử hiến máu của bạn. Đây là dữ liệu cá nhân nhạy cảm: chỉ Ban chỉ "
            "đạo và tình nguyện viên phụ trách được xem, không chia sẻ cho bên nào khác. Bạn có "
            "thể xem, sửa, tải về hoặc xoá dữ liệu bất cứ lúc nào (/profile, /export, /forget).\n\n"
            "Bạn có đồng ý cho lưu thông tin để đăng ký hiến máu không?"
        ),
        buttons=(
            choice("consent", "yes", _("✅ Tôi đồng ý")),
            choice("consent", "no", _("Không, cảm ơn")),
        ),
        columns=2,
    )


YES_WORDS = {"yes", "co", "dong y", "toi dong y", "y", "ok", "i agree"}
NO_WORDS = {"no", "khong", "k", "khong, cam on", "no, thanks"}


def yes_no(value: str) -> str:
    """A button's 'yes'/'no', or the same typed in words ('có', 'không', 'đồng ý')."""
    folded = fold(value)
    if folded in YES_WORDS:
        return "yes"
    if folded in NO_WORDS:
        return "no"
    return value


async def take_consent(ctx: Ctx, value: str) -> Outcome:
    value = yes_no(value)
    if value == "no":
        return [
            Reply(
                _(
                    "Không sao cả, mình chưa lưu gì về bạn. Khi nào muốn đăng ký, "
                    "bạn chỉ cần gõ /start. Cảm ơn bạn đã quan tâm! ❤️"
                )
            )
        ]
    if value != "yes":
        raise InvalidInput(N_("Vui lòng bấm 'Tôi đồng ý' hoặc 'Không, cảm ơn'."))
    ctx.answers["consents"] = [Purpose.REGISTRATION.value]
    return None


async def ask_reminders(ctx: Ctx) -> Reply:
    return Reply(
        _(
            "Bạn có muốn nhận tin nhắc trước mỗi đợt hiến máu và khi đủ ngày hiến lại không? "
            "(Bạn có thể tắt bất cứ lúc nào bằng /stop.)"
        ),
        buttons=(choice("remind", "yes", _("Có, nhắc tôi")), choice("remind", "no", _("Không"))),
        columns=2,
    )


def _add_consent(ctx: Ctx, purpose: Purpose, value: str) -> None:
    value = yes_no(value)
    if value not in {"yes", "no"}:
        raise InvalidInput(N_("Vui lòng chọn Có hoặc Không."))
    consents = ctx.answers.setdefault("consents", [])
    assert isinstance(consents, list)
    if value == "yes" and purpose.value not in consents:
        consents.append(purpose.value)


async def take_reminders(ctx: Ctx, value: str) -> Outcome:
    _add_consent(ctx, Purpose.REMINDERS, value)
    return None


async def ask_club(ctx: Ctx) -> Reply:
    return Reply(
        _(
            "Bạn có đồng ý để chủ nhiệm CLB hiến máu của bạn xem hồ sơ và lịch sử hiến máu, "
            "để mời bạn khi cần máu gấp không?"
        ),
        buttons=(choice("club", "yes", _("Đồng ý")), choice("club", "no", _("Không"))),
        columns=2,
    )


async def take_club(ctx: Ctx, value: str) -> Outcome:
    _add_consent(ctx, Purpose.CLUB_SHARING, value)
    return None


# Phone, with a record already on file ------------------------------------------------------


async def take_phone(ctx: Ctx, text: str) -> Outcome:
    phone = phone_answer(ctx, text)
    existing = await persons.find_by_phone(ctx.work, phone)
    if existing is not None:
        if on_behalf(ctx):
            raise InvalidInput(
                N_(
                    "Số điện thoại này đã có hồ sơ người hiến máu. "
                    "Vui lòng nhập số khác, hoặc /cancel."
                )
            )
        ctx.answers["phone"] = phone
        ctx.answers["existing_id"] = existing.id
        ctx.answers["verify_attempts"] = 0
        return "verify"
    ctx.answers["phone"] = phone
    return None


async def ask_verify(ctx: Ctx) -> Reply:
    return Reply(
        _(
            "Số điện thoại này đã có hồ sơ hiến máu (có thể do tình nguyện viên đăng ký giúp bạn). "
            "Để bảo vệ dữ liệu, vui lòng nhập ngày sinh hoặc năm sinh trong hồ sơ đó để xác nhận "
            "đây là bạn."
        ),
        buttons=(choice("verify", "other", _("Dùng số khác")),),
    )


async def take_verify(ctx: Ctx, text: str) -> Outcome:
    if text == "other":
        return "phone"
    person_id = ctx.answers.get("existing_id")
    person = await persons.get(ctx.work, person_id) if isinstance(person_id, int) else None
    if person is None or person.status == "erased":
        return "phone"
    try:
        answer = parse_birth(text, ctx.work.today(), ctx.work.rules)
    except InvalidInput:
        answer = Birth(year=-1)
    attempts = int(str(ctx.answers.get("verify_attempts", 0))) + 1
    ctx.answers["verify_attempts"] = attempts
    try:
        await persons.link_identity(ctx.work, ctx.identity, person, answer, ctx.actor)
    except NotAllowed:
        await wizard.remember(ctx)  # the count survives the refusal
        if attempts >= MAX_VERIFY_ATTEMPTS:
            return [
                Reply(
                    _(
                        "Thông tin chưa khớp sau {n} lần thử, nên mình dừng ở đây để bảo vệ "
                        "dữ liệu. Vui lòng liên hệ tình nguyện viên hoặc Hội Chữ thập đỏ để "
                        "được hỗ trợ."
                    ).format(n=attempts)
                )
            ]
        raise
    if persons.awaits_confirmation(person):
        purposes = frozenset(Purpose(p) for p in _consents(ctx))
        await persons.confirm_on_behalf(ctx.work, ctx.identity, person, purposes, ctx.actor)
        ctx.person = person
        return [
            Reply(
                _(
                    "✅ Cảm ơn bạn đã xác nhận! Hồ sơ tình nguyện viên đăng ký giúp bạn "
                    "nay đã được kích hoạt."
                )
            ),
            await show_profile(ctx),
        ]
    ctx.person = person
    return [Reply(_("✅ Đã liên kết tài khoản này với hồ sơ của bạn.")), await show_profile(ctx)]


def _consents(ctx: Ctx) -> list[str]:
    consents = ctx.answers.get("consents", [])
    assert isinstance(consents, list)
    return [str(c) for c in consents]


# Review and save ---------------------------------------------------------------------------


async def ask_review(ctx: Ctx) -> Reply:
    a = ctx.answers
    unit_name = _("Chưa chọn")
    unit_id = a.get("unit_id")
    if isinstance(unit_id, int):
        unit_name = await units.display_name(ctx.work, unit_id) or unit_name
    weight = a.get("weight_kg")
    lines = [
        _("Vui lòng kiểm tra lại thông tin:")
        if not on_behalf(ctx)
        else _("Kiểm tra thông tin người hiến máu:"),
        _("• Họ tên: {v}").format(v=a["full_name"]),
        _("• Điện thoại: {v}").format(v=display_phone(str(a["phone"]))),
        _("• Ngày sinh: {v}").format(v=stored_birth(a).display()),
        _("• Giới tính: {v}").format(v=fmt.sex(str(a["sex"]))),
        _("• Nhóm máu: {v}").format(v=fmt.blood_group(str(a["blood_group"]))),
        _("• Đơn vị: {v}").format(v=unit_name),
        _("• Cân nặng: {v}").format(v=fmt.weight(weight if isinstance(weight, float) else None)),
    ]
    return Reply(
        "\n".join(lines),
        buttons=(
            choice("review", "save", _("💾 Lưu")),
            choice("review", "redo", _("Làm lại")),
            choice("review", "cancel", _("Huỷ")),
        ),
        columns=3,
    )


def draft_from(ctx: Ctx) -> DonorDraft:
    a = ctx.answers
    unit_id, weight = a.get("unit_id"), a.get("weight_kg")
    return DonorDraft(
        full_name=str(a["full_name"]),
        phone=str(a["phone"]),
        birth=stored_birth(a),
        sex=str(a["sex"]),
        blood_group=str(a["blood_group"]),
        unit_id=unit_id if isinstance(unit_id, int) else None,
        weight_kg=float(weight) if isinstance(weight, int | float) else None,
        consents=frozenset(Purpose(p) for p in _consents(ctx)),
        language=ctx.identity.language,
    )


async def take_review(ctx: Ctx, value: str) -> Outcome:
    if value == "cancel":
        return [Reply(_("Đã huỷ, mình không lưu gì cả. Gõ /start khi bạn muốn đăng ký lại."))]
    if value == "redo":
        return "name"
    if value != "save":
        raise InvalidInput(N_("Vui lòng chọn Lưu, Làm lại hoặc Huỷ."))
    draft = draft_from(ctx)
    if on_behalf(ctx):
        assert ctx.person is not None
        await persons.register_on_behalf(ctx.work, ctx.person, draft, ctx.actor)
        return [
            Reply(
                _(
                    "✅ Đã lưu hồ sơ của {name}. Khi người hiến nhắn tin cho bot bằng số "
                    "{phone}, họ sẽ được hỏi xác nhận trước khi nhận bất kỳ tin nào. "
                    "Đăng ký thêm người khác: /adddonor"
                ).format(name=draft.full_name, phone=display_phone(draft.phone))
            )
        ]
    ctx.person = await persons.register_self(ctx.work, ctx.identity, draft, ctx.actor)
    welcome = Reply(
        _(
            "🎉 Cảm ơn {name}! Bạn đã đăng ký thành công. Mỗi giọt máu cho đi, một cuộc "
            "đời ở lại.\n\nXem các đợt hiến máu sắp tới: /drives\nXem hồ sơ: /profile\n"
            "Các lệnh khác: /help"
        ).format(name=draft.full_name)
    )
    pending = ctx.answers.get("invite")
    if isinstance(pending, str):  # they came by an invitation link: use it now
        from handlers.invites import accept  # invites imports this module: import late

        return [welcome, *await accept(ctx, pending)]
    return [welcome]


STEPS = {
    "consent": Step(ask_consent, take_consent),
    "remind": Step(ask_reminders, take_reminders),
    "club": Step(ask_club, take_club),
    "phone": Step(ask_phone, take_phone),
    "verify": Step(ask_verify, take_verify),
    **FIELD_STEPS,
    "review": Step(ask_review, take_review),
}

SELF = Flow(
    name="register",
    steps=STEPS,
    order=(
        "consent",
        "remind",
        "club",
        "name",
        "phone",
        "birth",
        "sex",
        "blood",
        "unit",
        "weight",
        "review",
    ),
)


# On behalf of a donor (volunteers) -----------------------------------------------------------


async def ask_behalf_consent(ctx: Ctx) -> Reply:
    return Reply(
        _(
            "Đăng ký giúp người hiến máu. Trước hết, người hiến đã đồng ý cho lưu thông tin "
            "(họ tên, số điện thoại, ngày sinh, nhóm máu) chưa? Họ sẽ được hỏi xác nhận lại "
            "khi nhắn tin cho bot lần đầu."
        ),
        buttons=(
            choice("bconsent", "remind", _("Đồng ý lưu và nhận nhắc lịch")),
            choice("bconsent", "store", _("Chỉ đồng ý lưu thông tin")),
            choice("bconsent", "no", _("Chưa đồng ý")),
        ),
    )


async def take_behalf_consent(ctx: Ctx, value: str) -> Outcome:
    if value == "no":
        return [Reply(_("Đã dừng. Chỉ đăng ký khi người hiến đồng ý nhé."))]
    if value not in {"remind", "store"}:
        raise InvalidInput(N_("Vui lòng chọn một trong các nút."))
    consents = [Purpose.REGISTRATION.value]
    if value == "remind":
        consents.append(Purpose.REMINDERS.value)
    ctx.answers["consents"] = consents
    return None


BEHALF = Flow(
    name="behalf",
    steps={**STEPS, "bconsent": Step(ask_behalf_consent, take_behalf_consent)},
    order=("bconsent", "name", "phone", "birth", "sex", "blood", "unit", "weight", "review"),
)
