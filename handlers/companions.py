"""Companions: "tôi và 2 người nữa". A donor pledged to a drive adds the people coming with
them: how many, then each one's name, phone and birth date or year, the donor's word that
they agreed, a summary, and one save. /mypledges lists them, each with its own cancel button.

Buttons outside the wizard: `comp:<drive>` starts it, `ccancel:<pledge>` frees one place.
"""

from __future__ import annotations

import datetime as dt

from handlers import format as fmt
from handlers import wizard
from handlers.context import Ctx
from handlers.messages import Button, Reply
from handlers.registration import yes_no
from handlers.wizard import Flow, Outcome, Step, choice, error_text
from locales import N_, _
from services import companions, drives
from services.companions import Companion, Place
from services.errors import DomainError, InvalidInput
from services.validation import Birth, display_phone, parse_name, parse_phone


def _drive_id(ctx: Ctx) -> int:
    value = ctx.answers["drive_id"]
    assert isinstance(value, int)
    return value


def _people(ctx: Ctx) -> list[dict[str, object]]:
    people = ctx.answers.setdefault("people", [])
    assert isinstance(people, list)
    return people


def _index(ctx: Ctx) -> int:
    return len(_people(ctx)) + 1


def _count(ctx: Ctx) -> int:
    value = ctx.answers.get("count", 0)
    return value if isinstance(value, int) else 0


def _companion(raw: dict[str, object]) -> Companion:
    year, date = raw["birth_year"], raw.get("birth_date")
    assert isinstance(year, int)
    birth = Birth(year, dt.date.fromisoformat(date) if isinstance(date, str) else None)
    return Companion(str(raw["full_name"]), str(raw["phone"]), birth)


async def ask_count(ctx: Ctx) -> Reply:
    assert ctx.person is not None
    try:
        room = await companions.room(ctx.work, ctx.person, _drive_id(ctx))
    except DomainError as error:  # their own pledge was cancelled meanwhile
        return Reply(error_text(error) + "\n" + _("Gõ /cancel để thoát."))
    return Reply(
        _(
            "Bạn đi cùng mấy người? Mình sẽ giữ chỗ cho họ cùng khung giờ với bạn (còn {left} chỗ)."
        ).format(left=room),
        buttons=tuple(choice("ccount", str(n), str(n)) for n in range(1, room + 1)),
        columns=5,
    )


async def take_count(ctx: Ctx, value: str) -> Outcome:
    assert ctx.person is not None
    text = value.strip()
    if not text.isdigit() or not 1 <= int(text) <= companions.MAX_COMPANIONS:
        raise InvalidInput(
            N_("Vui lòng chọn số người đi cùng, từ 1 đến {max}."), max=companions.MAX_COMPANIONS
        )
    room = await companions.room(ctx.work, ctx.person, _drive_id(ctx))
    if int(text) > room:
        raise InvalidInput(
            N_("Khung giờ của bạn chỉ còn {left} chỗ, nên chỉ thêm được tối đa {left} người."),
            left=room,
        )
    ctx.answers["count"] = int(text)
    ctx.answers["people"] = []
    return None


async def ask_name(ctx: Ctx) -> Reply:
    return Reply(
        _("Họ và tên người đi cùng thứ {n}/{count}? (ví dụ: Nguyễn Văn Nam)").format(
            n=_index(ctx), count=_count(ctx)
        )
    )


async def take_name(ctx: Ctx, text: str) -> Outcome:
    ctx.answers["name"] = parse_name(text)
    return None


async def ask_phone(ctx: Ctx) -> Reply:
    return Reply(
        _("Số điện thoại của {name}? (mỗi người một số, ví dụ: 0912 345 678)").format(
            name=ctx.answers.get("name", "")
        )
    )


async def take_phone(ctx: Ctx, text: str) -> Outcome:
    assert ctx.person is not None
    phone = parse_phone(text)
    companions.check_phone(ctx.person, phone, [str(p["phone"]) for p in _people(ctx)])
    ctx.answers["phone"] = phone
    return None


async def ask_birth(ctx: Ctx) -> Reply:
    return Reply(
        _("Ngày sinh của {name}? (ví dụ: 17/12/1995, hoặc chỉ năm sinh: 1995)").format(
            name=ctx.answers.get("name", "")
        )
    )


async def take_birth(ctx: Ctx, text: str) -> Outcome:
    drive = await drives.get(ctx.work, _drive_id(ctx))
    birth = companions.companion_birth(text, drive.date, ctx.work)
    _people(ctx).append(
        {
            "full_name": ctx.answers.pop("name"),
            "phone": ctx.answers.pop("phone"),
            "birth_year": birth.year,
            "birth_date": birth.date.isoformat() if birth.date else None,
        }
    )
    return "cname" if len(_people(ctx)) < _count(ctx) else None


async def ask_consent(ctx: Ctx) -> Reply:
    return Reply(
        _(
            "Những người đi cùng đã đồng ý để bạn đăng ký giúp và cho lưu họ tên, số điện "
            "thoại, năm sinh chưa? Mình chưa nhắn gì cho họ: khi họ nhắn tin cho bot lần đầu, "
            "họ sẽ được hỏi xác nhận."
        ),
        buttons=(
            choice("cconsent", "yes", _("✅ Người đi cùng đã đồng ý")),
            choice("cconsent", "no", _("Chưa hỏi ý họ")),
        ),
    )


async def take_consent(ctx: Ctx, value: str) -> Outcome:
    value = yes_no(value)
    if value == "no":
        return [
            Reply(
                _(
                    "Đã dừng, mình chưa lưu gì. Bạn hỏi ý người đi cùng rồi thêm lại trong "
                    "/mypledges nhé."
                )
            )
        ]
    if value != "yes":
        raise InvalidInput(N_("Vui lòng chọn một trong các nút."))
    return None


async def ask_review(ctx: Ctx) -> Reply:
    drive = await drives.get(ctx.work, _drive_id(ctx))
    lines = [
        _("Kiểm tra lại trước khi lưu:"),
        f"🩸 {fmt.weekday_date(drive.date)} · {drive.place}",
        "",
    ]
    for number, raw in enumerate(_people(ctx), start=1):
        companion = _companion(raw)
        lines.append(
            f"{number}. {companion.full_name} · {display_phone(companion.phone)} · "
            f"{companion.birth.display()}"
        )
    return Reply(
        "\n".join(lines),
        buttons=(choice("creview", "save", _("💾 Lưu")), choice("creview", "cancel", _("Huỷ"))),
        columns=2,
    )


async def take_review(ctx: Ctx, value: str) -> Outcome:
    if value == "cancel":
        return [Reply(_("Đã huỷ, mình không lưu gì cả."))]
    if value != "save":
        raise InvalidInput(N_("Vui lòng chọn Lưu hoặc Huỷ."))
    assert ctx.person is not None
    people = [_companion(raw) for raw in _people(ctx)]
    try:
        booked = await companions.book(ctx.work, ctx.person, _drive_id(ctx), people, ctx.actor)
    except DomainError as error:
        # Nothing was written; the answers stay for another try after a change.
        return [
            Reply(error_text(error)),
            Reply(
                _("Mình chưa lưu gì. Bạn xem lại các đợt đã đăng ký: /mypledges"),
            ),
        ]
    new = [b.name for b in booked if not b.already]
    lines = []
    if new:
        lines.append(
            _("✅ Đã giữ chỗ cho {n} người đi cùng bạn: {names}.").format(
                n=len(new), names=", ".join(new)
            )
        )
        lines.append(
            _(
                "Mình chưa nhắn gì cho họ: khi họ nhắn tin cho bot bằng số bạn vừa nhập, họ sẽ "
                "được hỏi xác nhận trước. Huỷ chỗ của từng người trong /mypledges."
            )
        )
    for item in booked:
        if item.already:
            lines.append(_("• {name}: đã có tên trong đợt này rồi.").format(name=item.name))
    return [Reply("\n".join(lines), buttons=(Button(_("📋 Đợt tôi đã đăng ký"), "cmd:mypledges"),))]


FLOW = Flow(
    name="companions",
    steps={
        "ccount": Step(ask_count, take_count),
        "cname": Step(ask_name, take_name),
        "cphone": Step(ask_phone, take_phone),
        "cbirth": Step(ask_birth, take_birth),
        "cconsent": Step(ask_consent, take_consent),
        "creview": Step(ask_review, take_review),
    },
    order=("ccount", "cname", "cphone", "cbirth", "cconsent", "creview"),
)


# Buttons -------------------------------------------------------------------------------------


def add_button(drive_id: int) -> Button:
    return Button(_("👨‍👩‍👧 Thêm người đi cùng"), f"comp:{drive_id}")


async def start_button(ctx: Ctx, value: str) -> list[Reply]:
    if not value.isdigit():
        return [Reply(_("Nút này đã hết hạn. Gõ /drives để xem các đợt hiến máu."))]
    if ctx.person is None:
        return [Reply(_("Bạn chưa đăng ký hiến máu với mình. Gõ /start để bắt đầu nhé."))]
    try:
        room = await companions.room(ctx.work, ctx.person, int(value))
    except DomainError as error:
        return [Reply(error_text(error))]
    if room == 0:
        return [Reply(_("Khung giờ của bạn đã kín chỗ, không thêm người đi cùng được nữa."))]
    return await wizard.start(ctx, FLOW, {"drive_id": int(value), "count": 0, "people": []})


async def cancel_button(ctx: Ctx, value: str) -> list[Reply]:
    if not value.isdigit() or ctx.person is None:
        return [Reply(_("Nút này đã hết hạn. Gõ /mypledges để xem lại."))]
    try:
        name, drive = await companions.cancel(ctx.work, ctx.person, int(value), ctx.actor)
    except DomainError as error:
        return [Reply(error_text(error))]
    return [
        Reply(
            _("Đã huỷ chỗ của {name} ở đợt ngày {date}. Chỗ đó đã được nhường lại.").format(
                name=name, date=fmt.date(drive.date)
            ),
            buttons=(Button(_("📋 Đợt tôi đã đăng ký"), "cmd:mypledges"),),
        )
    ]


# /mypledges ----------------------------------------------------------------------------------


def lines_for(places: list[Place]) -> list[str]:
    if not places:
        return []
    return [_("   👥 Người đi cùng: {names}").format(names=", ".join(p.name for p in places))]


def cancel_buttons(places: list[Place]) -> tuple[Button, ...]:
    return tuple(
        Button(_("Huỷ chỗ của {name}").format(name=p.name), f"ccancel:{p.pledge_id}")
        for p in places
    )


async def booked(ctx: Ctx, drive_ids: list[int]) -> dict[int, list[Place]]:
    assert ctx.person is not None
    return await companions.booked_by(ctx.work, ctx.person.id, drive_ids)
