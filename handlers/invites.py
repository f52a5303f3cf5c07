"""Invitations by deep link (`/start inv_<token>`), and `/grant` for committees and admins:
a role for a registered person (by phone) or a one-time link with its QR code."""

from __future__ import annotations

from db.models import Unit
from handlers import format as fmt
from handlers import registration, wizard
from handlers.context import Ctx
from handlers.messages import Attachment, Reply
from handlers.wizard import Flow, Outcome, Step, choice, error_text
from locales import N_, _
from services import invites, persons, roles, sharing, units
from services.errors import DomainError, InvalidInput
from services.roles import RANK, Role
from services.validation import parse_phone, parse_search

ROLE_NAMES = {
    Role.VOLUNTEER: N_("tình nguyện viên"),
    Role.CLUB_CHAIR: N_("chủ nhiệm CLB"),
    Role.COMMITTEE: N_("thành viên Ban chỉ đạo"),
    Role.ADMIN: N_("quản trị viên"),
}


def role_name(role: Role) -> str:
    return _(ROLE_NAMES[role])


async def accept(ctx: Ctx, payload: str) -> list[Reply]:
    """Use an invitation for the registered person in this chat."""
    assert ctx.person is not None
    try:
        invite, unit = await invites.redeem(ctx.work, payload, ctx.person, ctx.actor)
    except DomainError as error:
        return [Reply(error_text(error))]
    name = await units.path(ctx.work, unit)
    if invite.kind == "club":
        return [
            Reply(
                _("🤝 Chào mừng bạn gia nhập {club}! Gõ /drives để xem các đợt hiến máu.").format(
                    club=name
                )
            )
        ]
    assert invite.role is not None
    return [
        Reply(
            _("✅ Bạn đã nhận vai trò {role} tại {unit}. Gõ /help để xem các lệnh mới.").format(
                role=role_name(Role(invite.role)), unit=name
            )
        )
    ]


async def deep_link(ctx: Ctx, payload: str) -> list[Reply] | None:
    """`/start inv_<token>`; None when the payload is not an invitation."""
    if not payload.startswith(invites.PREFIX):
        return None
    if ctx.person is not None:
        return await accept(ctx, payload)
    try:
        await invites.peek(ctx.work, payload)
    except DomainError as error:
        return [Reply(error_text(error))]
    intro = Reply(
        registration.intro()
        + "\n\n"
        + _("Bạn được mời qua một đường link. Đăng ký xong, lời mời sẽ được dùng ngay.")
    )
    return [intro, *await wizard.start(ctx, registration.SELF, {"invite": payload})]


def link_replies(ctx: Ctx, created: invites.Created, what: str) -> list[Reply]:
    """The invitation as a link to forward and a QR code to show."""
    if ctx.inbound.deep_link:
        link = ctx.inbound.deep_link + created.payload
    else:
        link = f"/start {created.payload}"
    expires = fmt.date(created.invite.expires_at.astimezone(ctx.work.timezone).date())
    text = _("🔗 Link mời {what} (hết hạn ngày {date}):\n{link}").format(
        what=what, date=expires, link=link
    )
    return [
        Reply(
            text,
            attachment=Attachment("loi-moi-qr.png", sharing.qr_png(link), "image/png"),
        )
    ]


# /grant ---------------------------------------------------------------------------------------


async def ask_role(ctx: Ctx) -> Reply:
    top = max((RANK[r] for r in ctx.roles), default=0)
    buttons = tuple(
        choice("role", role.value, role_name(role)) for role in Role if RANK[role] < top
    )
    return Reply(_("Trao vai trò nào?"), buttons=buttons)


async def take_role(ctx: Ctx, value: str) -> Outcome:
    role = roles.parse_role(value)
    top = max((RANK[r] for r in ctx.roles), default=0)
    if RANK[role] >= top:
        raise InvalidInput(N_("Bạn chỉ trao được vai trò thấp hơn vai trò của mình."))
    ctx.answers["role"] = role.value
    return None


async def ask_unit(ctx: Ctx) -> Reply:
    found = ctx.answers.get("found")
    if isinstance(found, list) and found:
        return Reply(
            _("Chọn đơn vị, hoặc gõ tên khác để tìm lại:"),
            buttons=tuple(choice("unit", str(uid), name) for uid, name in found),
        )
    return Reply(_("Tại đơn vị nào? Gõ vài chữ trong tên đơn vị (ví dụ: Tam Đường)."))


async def take_unit(ctx: Ctx, value: str) -> Outcome:
    found = ctx.answers.get("found")
    if isinstance(found, list) and value.isdigit() and int(value) in {u for u, _n in found}:
        assert ctx.person is not None
        await roles.check_scope(ctx.work, ctx.person.id, Role.COMMITTEE, int(value))
        ctx.answers["unit_id"] = int(value)
        return None
    assert ctx.person is not None
    scope = await roles.scope_units(ctx.work, ctx.person.id, Role.COMMITTEE)
    matches = [
        u
        for u in await units.search(ctx.work, parse_search(value), limit=20)
        if scope is None or u.id in scope
    ][:8]
    if not matches:
        raise InvalidInput(
            N_("Không thấy đơn vị nào có «{query}» trong phạm vi của bạn."), query=value[:40]
        )
    ctx.answers["found"] = [[u.id, await units.path(ctx.work, u)] for u in matches]
    return "unit"


async def ask_who(ctx: Ctx) -> Reply:
    return Reply(
        _(
            "Gõ số điện thoại của người đã đăng ký để trao ngay, hoặc bấm nút để tạo link mời "
            "dùng một lần."
        ),
        buttons=(choice("who", "link", _("🔗 Tạo link mời")),),
    )


async def take_who(ctx: Ctx, value: str) -> Outcome:
    assert ctx.person is not None
    role = Role(str(ctx.answers["role"]))
    unit_id = ctx.answers["unit_id"]
    assert isinstance(unit_id, int)
    unit = await ctx.work.session.get(Unit, unit_id)
    assert unit is not None
    if value == "link":
        created = await invites.grant_invite(ctx.work, ctx.person, role, unit, ctx.actor)
        return link_replies(ctx, created, role_name(role))
    await invites.check_can_grant(ctx.work, ctx.person, role, unit)
    person = await persons.find_by_phone(ctx.work, parse_phone(value))
    if person is None or person.status != "active":
        raise InvalidInput(
            N_("Chưa có ai đăng ký với số này. Bấm 'Tạo link mời' để gửi link cho họ.")
        )
    await roles.grant(ctx.work, person, role, unit.code, ctx.actor)
    return [
        Reply(
            _("✅ Đã trao vai trò {role} tại {unit} cho {name}.").format(
                role=role_name(role), unit=unit.name, name=person.full_name
            )
        )
    ]


GRANT = Flow(
    name="grant",
    steps={
        "role": Step(ask_role, take_role),
        "unit": Step(ask_unit, take_unit),
        "who": Step(ask_who, take_who),
    },
    order=("role", "unit", "who"),
)


async def grant(ctx: Ctx) -> list[Reply]:
    return await wizard.start(ctx, GRANT)
