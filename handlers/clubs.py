"""Clubs and broadcasts for chairs and committees: /newclub, /members (roster, Excel, invite
link, remove), /linkclub in a group chat, /broadcast and /broadcasts."""

from __future__ import annotations

import datetime as dt

from db.models import Unit
from handlers import format as fmt
from handlers import wizard
from handlers.context import Ctx
from handlers.invites import link_replies
from handlers.messages import Attachment, Button, ChatType, Reply
from handlers.registration import yes_no
from handlers.wizard import Flow, Outcome, Step, choice, error_text
from locales import N_, _
from services import appeal_cap, broadcasts, clubs, drives, roles
from services.appeals import APPEAL_KEYS
from services.broadcasts import Audience
from services.clubs import ClubKind
from services.errors import DomainError, InvalidInput
from services.roles import Role

KIND_NAMES = {
    ClubKind.REGULAR: N_("CLB hiến máu"),
    ClubKind.RESERVE: N_("CLB dự bị (sẵn sàng khi cần gấp)"),
    ClubKind.RH_NEGATIVE: N_("CLB nhóm máu hiếm Rh(-)"),
    ClubKind.PLATELET: N_("CLB hiến tiểu cầu"),
    ClubKind.FAMILY: N_("CLB gia đình"),
}


# /newclub --------------------------------------------------------------------------------------


async def ask_name(ctx: Ctx) -> Reply:
    return Reply(_("Tên câu lạc bộ? (ví dụ: CLB Hiến máu tình nguyện xã Bình Lư)"))


async def take_name(ctx: Ctx, text: str) -> Outcome:
    name = " ".join(text.split())
    if not 3 <= len(name) <= 150:
        raise InvalidInput(N_("Tên câu lạc bộ từ 3 đến 150 ký tự."))
    ctx.answers["name"] = name
    return None


async def ask_kind(ctx: Ctx) -> Reply:
    return Reply(
        _("Loại câu lạc bộ?"),
        buttons=tuple(choice("kind", k.value, _(label)) for k, label in KIND_NAMES.items()),
    )


async def take_kind(ctx: Ctx, value: str) -> Outcome:
    try:
        kind = ClubKind(value)
    except ValueError:
        raise InvalidInput(N_("Vui lòng chọn một loại trong danh sách.")) from None
    assert ctx.person is not None
    club = await clubs.create(ctx.work, ctx.person, str(ctx.answers["name"]), kind, ctx.actor)
    created = await clubs.member_invite(ctx.work, ctx.person, club, ctx.actor)
    return [
        Reply(
            _(
                "✅ Đã tạo {club}. Bạn là chủ nhiệm. Gửi link dưới đây cho các thành viên để họ "
                "tham gia; xem danh sách bằng /members."
            ).format(club=club.name)
        ),
        *link_replies(ctx, created, _("vào câu lạc bộ")),
    ]


NEW_CLUB = Flow(
    name="newclub",
    steps={"name": Step(ask_name, take_name), "kind": Step(ask_kind, take_kind)},
    order=("name", "kind"),
)


async def new_club(ctx: Ctx) -> list[Reply]:
    return await wizard.start(ctx, NEW_CLUB)


# /members --------------------------------------------------------------------------------------


async def _pick(ctx: Ctx, action: str) -> list[Reply] | Unit:
    assert ctx.person is not None
    mine = await clubs.my_clubs(ctx.work, ctx.person.id)
    if not mine:
        return [Reply(_("Bạn chưa phụ trách câu lạc bộ nào. Tạo câu lạc bộ mới: /newclub"))]
    if len(mine) == 1:
        return mine[0]
    return [
        Reply(
            _("Chọn câu lạc bộ:"),
            buttons=tuple(Button(c.name, f"clubm:{action}:{c.id}") for c in mine[:20]),
        )
    ]


def _roster_text(club: Unit, rows: list[clubs.RosterRow], today: dt.date) -> str:
    lines = [_("👥 {club}: {n} thành viên").format(club=club.name, n=len(rows)), ""]
    for number, row in enumerate(rows, start=1):
        if not row.shares:
            lines.append(
                _("{n}. {name} (chưa đồng ý chia sẻ thông tin với CLB)").format(
                    n=number, name=row.name
                )
            )
            continue
        parts = [f"{number}. {row.name}", fmt.blood_group(row.blood_group)]
        if row.last_donation:
            parts.append(_("hiến gần nhất {date}").format(date=fmt.date(row.last_donation)))
        if row.eligible_from and row.eligible_from > today:
            parts.append(_("hiến lại từ {date}").format(date=fmt.date(row.eligible_from)))
        if row.next_pledge:
            parts.append(_("đã đăng ký đợt {date}").format(date=fmt.date(row.next_pledge.date)))
        lines.append(" · ".join(parts))
    return "\n".join(lines)


async def _roster(ctx: Ctx, club: Unit) -> list[Reply]:
    assert ctx.person is not None
    rows = await clubs.roster(ctx.work, ctx.person, club, ctx.actor)
    return [
        Reply(
            _roster_text(club, rows, ctx.work.today()),
            buttons=(
                Button(_("📥 Tải danh sách (Excel)"), f"clubm:xlsx:{club.id}"),
                Button(_("🔗 Link mời thành viên"), f"clubm:invite:{club.id}"),
                Button(_("➖ Xoá thành viên"), f"clubm:remove:{club.id}"),
            ),
        )
    ]


async def members(ctx: Ctx) -> list[Reply]:
    picked = await _pick(ctx, "roster")
    return picked if isinstance(picked, list) else await _roster(ctx, picked)


async def club_button(ctx: Ctx, value: str) -> list[Reply]:
    """`club:<action>:<club>[:<person>]` from a chair's roster."""
    action, _sep, rest = value.partition(":")
    club_text, _sep, person_text = rest.partition(":")
    if ctx.person is None or not club_text.isdigit():
        return [Reply(_("Nút này đã hết hạn. Gõ /members để xem lại."))]
    try:
        club = await clubs.get_managed(ctx.work, ctx.person.id, int(club_text))
        if action == "roster":
            return await _roster(ctx, club)
        if action == "xlsx":
            rows = await clubs.roster(ctx.work, ctx.person, club, ctx.actor)
            headers = (
                _("Họ tên"),
                _("Nhóm máu"),
                _("Hiến gần nhất"),
                _("Hiến lại từ"),
                _("Đợt đã đăng ký"),
            )
            content = clubs.roster_xlsx(club, rows, headers)
            return [
                Reply(
                    _(
                        "📥 Danh sách thành viên {club} (chỉ gồm thông tin họ đồng ý chia sẻ)."
                    ).format(club=club.name),
                    attachment=Attachment(
                        f"thanh-vien-{club.code}.xlsx",
                        content,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    ),
                )
            ]
        if action == "invite":
            created = await clubs.member_invite(ctx.work, ctx.person, club, ctx.actor)
            return link_replies(ctx, created, _("vào câu lạc bộ"))
        if action == "remove":
            rows = await clubs.roster(ctx.work, ctx.person, club, ctx.actor)
            others = [r for r in rows if r.person_id != ctx.person.id]
            if not others:
                return [Reply(_("Câu lạc bộ chưa có thành viên nào khác."))]
            return [
                Reply(
                    _("Xoá ai khỏi câu lạc bộ?"),
                    buttons=tuple(
                        Button(r.name, f"clubm:rm:{club.id}:{r.person_id}") for r in others[:30]
                    ),
                )
            ]
        if action == "rm" and person_text.isdigit():
            person = await clubs.remove_member(
                ctx.work, ctx.person, club, int(person_text), ctx.actor
            )
            return [
                Reply(_("Đã xoá {name} khỏi {club}.").format(name=person.full_name, club=club.name))
            ]
        if action == "link":
            return await _link(ctx, club)
    except DomainError as error:
        return [Reply(error_text(error))]
    return [Reply(_("Nút này đã hết hạn. Gõ /members để xem lại."))]


# /linkclub (in a group chat) --------------------------------------------------------------------


async def _link(ctx: Ctx, club: Unit) -> list[Reply]:
    assert ctx.person is not None
    await clubs.link_chat(
        ctx.work,
        ctx.person,
        club,
        ctx.inbound.channel,
        ctx.inbound.chat_id,
        ctx.inbound.display_name,
        ctx.actor,
    )
    return [
        Reply(
            _("✅ Nhóm này đã gắn với {club}: thông báo của CLB sẽ được gửi cả vào đây.").format(
                club=club.name
            )
        )
    ]


async def link_club(ctx: Ctx) -> list[Reply]:
    if ctx.inbound.chat_type is not ChatType.GROUP:
        return [
            Reply(_("Hãy gõ /linkclub trong nhóm chat của câu lạc bộ (thêm bot vào nhóm trước)."))
        ]
    if ctx.person is None or Role.CLUB_CHAIR not in ctx.roles:
        return [Reply(_("Chỉ chủ nhiệm CLB mới gắn được nhóm với câu lạc bộ."))]
    picked = await _pick(ctx, "link")
    try:
        return picked if isinstance(picked, list) else await _link(ctx, picked)
    except DomainError as error:
        return [Reply(error_text(error))]


# /broadcast ------------------------------------------------------------------------------------


async def ask_audience(ctx: Ctx) -> Reply:
    assert ctx.person is not None
    buttons = [
        choice("audience", f"club-{c.id}", c.name)
        for c in (await clubs.my_clubs(ctx.work, ctx.person.id))[:10]
    ]
    if Role.COMMITTEE in ctx.roles:
        held = await roles.roles_of(ctx.work, ctx.person.id)
        for role, unit in held:
            if roles.RANK[role] >= roles.RANK[Role.COMMITTEE]:
                buttons.append(
                    choice(
                        "audience",
                        f"unit-{unit.id}",
                        _("Mọi người ở {unit}").format(unit=unit.name),
                    )
                )
    return Reply(_("Gửi thông báo cho ai?"), buttons=tuple(buttons))


async def take_audience(ctx: Ctx, value: str) -> Outcome:
    kind, _sep, number = value.partition("-")
    if kind not in {"club", "unit"} or not number.isdigit():
        raise InvalidInput(N_("Vui lòng chọn một nhóm trong danh sách."))
    ctx.answers["audience"] = {f"{kind}_id": int(number)}
    return None


FILTERS = {
    "all": N_("Tất cả"),
    "group": N_("Theo nhóm máu"),
    "eligible": N_("Đủ điều kiện hiến cho một đợt"),
    "pledged": N_("Đã đăng ký một đợt"),
    "not_pledged": N_("Chưa đăng ký một đợt"),
}


async def ask_filter(ctx: Ctx) -> Reply:
    return Reply(
        _("Lọc người nhận?"),
        buttons=tuple(choice("filter", key, _(label)) for key, label in FILTERS.items()),
    )


async def take_filter(ctx: Ctx, value: str) -> Outcome:
    if value not in FILTERS:
        raise InvalidInput(N_("Vui lòng chọn một nhóm trong danh sách."))
    ctx.answers["filter"] = value
    if value == "group":
        return "groups"
    if value in {"eligible", "pledged", "not_pledged"}:
        return "bdrive"
    return "text"


async def ask_groups(ctx: Ctx) -> Reply:
    groups = ("O-", "A-", "B-", "AB-", "O+", "A+", "B+", "AB+")
    return Reply(
        _("Nhóm máu nào?"),
        buttons=tuple(choice("groups", g, fmt.blood_group(g)) for g in groups),
        columns=4,
    )


async def take_groups(ctx: Ctx, value: str) -> Outcome:
    if value not in {"O-", "A-", "B-", "AB-", "O+", "A+", "B+", "AB+"}:
        raise InvalidInput(N_("Vui lòng chọn một nhóm trong danh sách."))
    audience = ctx.answers["audience"]
    assert isinstance(audience, dict)
    audience["blood_groups"] = [value]
    return "text"


async def ask_drive(ctx: Ctx) -> Reply:
    found = await drives.upcoming(ctx.work, limit=8)
    return Reply(
        _("Đợt hiến máu nào?"),
        buttons=tuple(
            choice(
                "bdrive", str(item.drive.id), f"{item.drive.date:%d/%m} · {item.drive.place[:30]}"
            )
            for item in found
        ),
    )


async def take_drive(ctx: Ctx, value: str) -> Outcome:
    if not value.isdigit():
        raise InvalidInput(N_("Vui lòng chọn một đợt trong danh sách."))
    await drives.get(ctx.work, int(value))
    audience = ctx.answers["audience"]
    assert isinstance(audience, dict)
    key = {"eligible": "eligible_for_drive", "pledged": "pledged_drive"}.get(
        str(ctx.answers["filter"]), "not_pledged_drive"
    )
    audience[key] = int(value)
    return "text"


async def ask_text(ctx: Ctx) -> Reply:
    return Reply(_("Nội dung thông báo? (tối đa 2.000 ký tự)"))


async def take_text(ctx: Ctx, text: str) -> Outcome:
    ctx.answers["text"] = broadcasts.check_text(text)
    audience = ctx.answers["audience"]
    assert isinstance(audience, dict)
    if "club_id" in audience:
        club = await ctx.work.session.get(Unit, audience["club_id"])
        if club is not None and club.club_kind in clubs.URGENT_KINDS:
            return "urgent"
    return "confirm"


async def ask_urgent(ctx: Ctx) -> Reply:
    return Reply(
        _(
            "Đây là CLB có thể gọi khẩn. Nếu cần máu gấp, gõ lý do để gửi ngay cả trong giờ "
            "nghỉ (ví dụ: bệnh nhân cần máu O Rh- tại BV tỉnh). Không gấp thì bấm nút."
        ),
        buttons=(choice("urgent", "no", _("Không gấp")),),
    )


async def take_urgent(ctx: Ctx, value: str) -> Outcome:
    if value == "no":
        ctx.answers["reason"] = None
        return "confirm"
    reason = " ".join(value.split())
    if len(reason) < broadcasts.REASON_MIN:
        raise InvalidInput(N_("Gọi khẩn cần ghi rõ lý do (ví dụ: bệnh nhân cần máu O Rh-)."))
    ctx.answers["reason"] = reason[:300]
    return "confirm"


def _audience(ctx: Ctx) -> Audience:
    raw = ctx.answers["audience"]
    assert isinstance(raw, dict)
    return Audience.from_json(raw)


async def ask_confirm(ctx: Ctx) -> Reply:
    assert ctx.person is not None
    people = await broadcasts.recipients(ctx.work, ctx.person, _audience(ctx))
    count = len(people)
    reason = ctx.answers.get("reason")
    lines = [
        _("Xem trước thông báo:"),
        "",
        str(ctx.answers["text"]),
        "",
        _("👥 Sẽ gửi tới {n} người (chỉ những ai đồng ý nhận tin).").format(n=count),
    ]
    capped = 0 if reason else await appeal_cap.at_cap(ctx.work, people, APPEAL_KEYS)
    if capped:
        lines.append(
            _(
                "🔕 Trong đó {n} người đã nhận đủ {cap} tin mời trong 30 ngày qua nên sẽ không "
                "nhận tin này (gọi khẩn thì vẫn nhận)."
            ).format(n=capped, cap=ctx.work.rules.appeals_per_30_days)
        )
    if reason:
        lines.append(_("🚨 Gọi khẩn, gửi cả giờ nghỉ. Lý do: {reason}").format(reason=reason))
    return Reply(
        "\n".join(lines),
        buttons=(choice("confirm", "yes", _("📢 Gửi")), choice("confirm", "no", _("Huỷ"))),
        columns=2,
    )


async def take_confirm(ctx: Ctx, value: str) -> Outcome:
    value = yes_no(value)
    if value == "no":
        return [Reply(_("Đã huỷ, chưa gửi gì."))]
    if value != "yes":
        raise InvalidInput(N_("Vui lòng bấm 'Gửi' hoặc 'Huỷ'."))
    assert ctx.person is not None and ctx.state is not None
    reason = ctx.answers.get("reason")
    request = str(ctx.answers["request"])
    broadcast, new = await broadcasts.send(
        ctx.work,
        ctx.person,
        str(ctx.answers["text"]),
        _audience(ctx),
        ctx.actor,
        request,
        urgent=isinstance(reason, str),
        reason=reason if isinstance(reason, str) else None,
    )
    if not new:
        return [Reply(_("Thông báo này đã được gửi rồi. Xem kết quả: /broadcasts"))]
    text = _("📢 Đã xếp lịch gửi tới {n} người. Xem kết quả gửi: /broadcasts").format(
        n=broadcast.recipients
    )
    if broadcast.capped:
        text += "\n" + _(
            "🔕 {n} người không nhận tin này vì đã nhận đủ {cap} tin mời trong 30 ngày qua."
        ).format(n=broadcast.capped, cap=ctx.work.rules.appeals_per_30_days)
    return [Reply(text)]


BROADCAST = Flow(
    name="broadcast",
    steps={
        "audience": Step(ask_audience, take_audience),
        "filter": Step(ask_filter, take_filter),
        "groups": Step(ask_groups, take_groups),
        "bdrive": Step(ask_drive, take_drive),
        "text": Step(ask_text, take_text),
        "urgent": Step(ask_urgent, take_urgent),
        "confirm": Step(ask_confirm, take_confirm),
    },
    order=("audience", "filter", "text", "confirm"),
)


async def broadcast(ctx: Ctx) -> list[Reply]:
    request = f"{ctx.inbound.channel}:{ctx.inbound.chat_id}:{ctx.work.now().timestamp()}"
    return await wizard.start(ctx, BROADCAST, {"request": request})


async def broadcast_results(ctx: Ctx) -> list[Reply]:
    assert ctx.person is not None
    found = await broadcasts.deliveries(ctx.work, ctx.person)
    if not found:
        return [Reply(_("Bạn chưa gửi thông báo nào. Gửi thông báo: /broadcast"))]
    lines = [_("📢 Các thông báo gần đây:"), ""]
    for item in found:
        when = fmt.date(item.broadcast.created_at.astimezone(ctx.work.timezone).date())
        preview = item.broadcast.text[:40] + ("…" if len(item.broadcast.text) > 40 else "")
        lines.append(
            _(
                "• {date} «{text}»: đã gửi {sent}, chờ gửi {pending}, bị chặn {blocked}, "
                "lỗi {failed}"
            ).format(
                date=when,
                text=preview,
                sent=item.sent,
                pending=item.pending,
                blocked=item.blocked,
                failed=item.failed,
            )
        )
    return [Reply("\n".join(lines))]
