"""Questions about a donor, shared by self-registration, registration on behalf and /profile.

Each `ask_*` phrases the question for the donor ("bạn") or, when a volunteer registers someone,
for the donor in the third person. Each `take_*` validates one answer and stores it.
"""

from __future__ import annotations

import datetime as dt

from handlers import format as fmt
from handlers.context import Ctx
from handlers.messages import Button, ButtonKind, Reply
from handlers.wizard import Outcome, Step, choice
from locales import N_, _
from services import units
from services.errors import InvalidInput
from services.validation import (
    Birth,
    parse_birth,
    parse_blood_group,
    parse_name,
    parse_phone,
    parse_search,
    parse_sex,
    parse_weight,
)

SKIP = "skip"


def on_behalf(ctx: Ctx) -> bool:
    return bool(ctx.answers.get("behalf"))


def _q(ctx: Ctx, mine: str, theirs: str) -> str:
    return _(theirs) if on_behalf(ctx) else _(mine)


async def ask_name(ctx: Ctx) -> Reply:
    return Reply(
        _q(
            ctx,
            N_("Họ và tên đầy đủ của bạn là gì? (ví dụ: Nguyễn Thị Lan)"),
            N_("Họ và tên đầy đủ của người hiến máu?"),
        )
    )


async def take_name(ctx: Ctx, text: str) -> Outcome:
    ctx.answers["full_name"] = parse_name(text)
    return None


async def ask_phone(ctx: Ctx) -> Reply:
    if on_behalf(ctx):
        return Reply(_("Số điện thoại của người hiến máu? (ví dụ: 0912 345 678)"))
    return Reply(
        _("Số điện thoại của bạn? Bấm nút bên dưới để chia sẻ, hoặc gõ số (ví dụ: 0912 345 678)."),
        buttons=(Button(_("📱 Chia sẻ số điện thoại"), kind=ButtonKind.CONTACT),),
    )


def phone_answer(ctx: Ctx, text: str) -> str:
    if ctx.inbound.kind == "contact" and not ctx.inbound.contact_is_own:
        raise InvalidInput(N_("Vui lòng chia sẻ số điện thoại của chính bạn."))
    return parse_phone(text)


async def ask_birth(ctx: Ctx) -> Reply:
    return Reply(
        _q(
            ctx,
            N_("Ngày sinh của bạn? (ví dụ: 17/12/1995, hoặc chỉ năm sinh: 1995)"),
            N_("Ngày sinh của người hiến máu? (ví dụ: 17/12/1995, hoặc năm sinh: 1995)"),
        )
    )


async def take_birth(ctx: Ctx, text: str) -> Outcome:
    birth = parse_birth(text, ctx.work.today(), ctx.work.rules)
    ctx.answers["birth_year"] = birth.year
    ctx.answers["birth_date"] = birth.date.isoformat() if birth.date else None
    return None


def stored_birth(answers: dict[str, object]) -> Birth:
    raw = answers.get("birth_date")
    year = answers["birth_year"]
    assert isinstance(year, int)
    return Birth(year=year, date=dt.date.fromisoformat(raw) if isinstance(raw, str) else None)


async def ask_sex(ctx: Ctx) -> Reply:
    return Reply(
        _q(ctx, N_("Giới tính của bạn?"), N_("Giới tính của người hiến máu?")),
        buttons=(choice("sex", "male", _("Nam")), choice("sex", "female", _("Nữ"))),
        columns=2,
    )


async def take_sex(ctx: Ctx, text: str) -> Outcome:
    ctx.answers["sex"] = parse_sex(text)
    return None


GROUPS = ("A+", "B+", "O+", "AB+", "A-", "B-", "O-", "AB-")


async def ask_blood(ctx: Ctx) -> Reply:
    buttons = tuple(choice("blood", g, fmt.blood_group(g)) for g in GROUPS)
    return Reply(
        _q(
            ctx,
            N_("Nhóm máu của bạn? Nếu chưa biết, chọn 'Chưa biết': lần hiến đầu sẽ có kết quả."),
            N_("Nhóm máu của người hiến máu?"),
        ),
        buttons=(*buttons, choice("blood", "unknown", _("Chưa biết"))),
        columns=4,
    )


async def take_blood(ctx: Ctx, text: str) -> Outcome:
    ctx.answers["blood_group"] = parse_blood_group(text)
    return None


async def ask_unit(ctx: Ctx) -> Reply:
    found = ctx.answers.get("unit_found")
    if isinstance(found, list) and found:
        buttons = tuple(choice("unit", str(uid), name) for uid, name in found)
        return Reply(
            _("Chọn đơn vị của bạn trong danh sách, hoặc gõ tên khác để tìm lại:")
            if not on_behalf(ctx)
            else _("Chọn đơn vị của người hiến máu, hoặc gõ tên khác để tìm lại:"),
            buttons=(*buttons, choice("unit", SKIP, _("Bỏ qua"))),
        )
    return Reply(
        _q(
            ctx,
            N_(
                "Bạn sinh hoạt ở xã/phường, trường, cơ quan hay CLB nào? "
                "Gõ vài chữ trong tên để tìm (ví dụ: Tam Đường)."
            ),
            N_("Người hiến máu thuộc xã/phường, trường, cơ quan hay CLB nào? Gõ vài chữ để tìm."),
        ),
        buttons=(choice("unit", SKIP, _("Bỏ qua")),),
    )


async def take_unit(ctx: Ctx, text: str) -> Outcome:
    if text == SKIP:
        ctx.answers["unit_id"] = None
        ctx.answers.pop("unit_found", None)
        return None
    found = ctx.answers.get("unit_found")
    if isinstance(found, list) and text.isdigit() and int(text) in {uid for uid, _n in found}:
        ctx.answers["unit_id"] = int(text)
        ctx.answers.pop("unit_found", None)
        return None
    query = parse_search(text)
    matches = await units.search(ctx.work, query)
    if not matches:
        ctx.answers.pop("unit_found", None)
        raise InvalidInput(
            N_("Không tìm thấy đơn vị nào có '{query}'. Thử gõ tên khác, hoặc bấm 'Bỏ qua'."),
            query=text.strip()[:40],
        )
    ctx.answers["unit_found"] = [[u.id, await units.path(ctx.work, u)] for u in matches]
    return "unit"


async def ask_weight(ctx: Ctx) -> Reply:
    return Reply(
        _q(
            ctx,
            N_("Cân nặng của bạn (kg)? Không bắt buộc, giúp tư vấn lượng máu hiến phù hợp."),
            N_("Cân nặng của người hiến máu (kg)? Không bắt buộc."),
        ),
        buttons=(choice("weight", SKIP, _("Bỏ qua")),),
    )


async def take_weight(ctx: Ctx, text: str) -> Outcome:
    ctx.answers["weight_kg"] = None if text == SKIP else parse_weight(text)
    return None


FIELD_STEPS = {
    "name": Step(ask_name, take_name),
    "birth": Step(ask_birth, take_birth),
    "sex": Step(ask_sex, take_sex),
    "blood": Step(ask_blood, take_blood),
    "unit": Step(ask_unit, take_unit),
    "weight": Step(ask_weight, take_weight),
}
