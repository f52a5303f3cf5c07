"""Volunteers at a drive (`/checkin`): pick the drive, find each donor by phone or by the
card's token (typed, or scanned: a QR scanner gives `/start card_<token>` or its link), then
check them in, record the donation or a deferral; a walk-in is registered on the spot with the
questions of `/adddonor` and checked in.

One wizard holds the session: after each donor it comes back to "who is next?", with a line
on what was just recorded. `/start card_<token>` works in the middle of it (a scanned card).
"""

from __future__ import annotations

import datetime as dt

from db.models import Drive, Person
from handlers import format as fmt
from handlers import registration, wizard
from handlers.context import Ctx
from handlers.donations import kind_label, volume_label
from handlers.fields import FIELD_STEPS, ask_phone, phone_answer
from handlers.messages import ChatType, Reply
from handlers.wizard import Flow, Outcome, Step, choice, error_text
from locales import N_, _
from services import cards, dialogue, donations, drives, persons
from services import checkin as desk
from services.checkin import AtDrive, DeferralReason
from services.eligibility import DonationKind, Reason
from services.errors import DomainError, InvalidInput
from services.roles import Role
from services.validation import parse_date

BACK = "back"
# What the session keeps between donors; everything else belongs to the current donor.
SESSION_KEYS = ("drive_id", "last", "pending")


def _reset(ctx: Ctx) -> None:
    """Forget the current donor (and a walk-in's answers), keep the session."""
    for key in [k for k in ctx.answers if k not in SESSION_KEYS]:
        del ctx.answers[key]


def _int(ctx: Ctx, key: str) -> int:
    value = ctx.answers[key]
    assert isinstance(value, int)
    return value


def _volunteer(ctx: Ctx) -> Person:
    assert ctx.person is not None, "role-bound command: the router checked registration"
    return ctx.person


# The drive ---------------------------------------------------------------------------------


def _drive_label(drive: Drive) -> str:
    return f"{drive.date:%d/%m} · {drive.place[:40]}"


async def ask_drive(ctx: Ctx) -> Reply:
    try:
        found = await desk.drives_for(ctx.work, _volunteer(ctx).id)
    except DomainError as error:  # the role was taken away during the session
        return Reply(error_text(error))
    if not found:
        return Reply(_no_drive_text())
    return Reply(
        _("Bạn check-in cho đợt hiến máu nào?"),
        buttons=tuple(choice("ci_drive", str(d.id), _drive_label(d)) for d in found),
    )


async def take_drive(ctx: Ctx, value: str) -> Outcome:
    if not value.isdigit():
        raise InvalidInput(N_("Vui lòng chọn một đợt trong danh sách."))
    drive = await desk.drive_for(ctx.work, _volunteer(ctx), int(value), ctx.actor)
    ctx.answers["drive_id"] = drive.id
    pending = ctx.answers.pop("pending", None)
    if isinstance(pending, str):  # a card was scanned before the drive was chosen
        try:
            return await _lookup(ctx, pending)
        except DomainError as error:
            ctx.answers["last"] = {"what": "error", "text": error_text(error)}
    return "ci_find"


def _no_drive_text() -> str:
    return _(
        "Hôm nay không có đợt hiến máu nào trong đơn vị bạn phụ trách để check-in. "
        "Các đợt sắp tới: /drives"
    )


# Who is next? ------------------------------------------------------------------------------


async def _last_line(ctx: Ctx) -> str | None:
    last = ctx.answers.get("last")
    if not isinstance(last, dict):
        return None
    what = last.get("what")
    if what == "error":
        return str(last.get("text", ""))
    if what == "no_consent":
        return _("Đã dừng đăng ký: chỉ đăng ký khi người hiến đồng ý nhé.")
    if what == "walkin_cancelled":
        return _("Đã huỷ đăng ký người mới, chưa lưu gì.")
    person_id = last.get("person")
    person = await persons.get(ctx.work, person_id) if isinstance(person_id, int) else None
    if person is None:
        return None
    name = person.full_name or ""
    if what == "in":
        return _("✅ Đã check-in: {name}.").format(name=name)
    if what == "defer":
        until = dt.date.fromisoformat(str(last["until"]))
        return _("⏸ Đã ghi nhận hoãn hiến: {name}, đến ngày {date}.").format(
            name=name, date=fmt.date(until)
        )
    if what == "gave":
        volume = last.get("volume")
        kind = str(last["kind"])
        detail = kind_label(kind)
        if kind == DonationKind.WHOLE_BLOOD:
            detail += " " + volume_label(volume if isinstance(volume, int) else None)
        lines = [
            _("🩸 Đã ghi nhận hiến máu: {name}, {detail} (lần thứ {n}).").format(
                name=name, detail=detail, n=last["total"]
            )
        ]
        if last.get("next"):
            lines.append(
                _("Được hiến lại từ ngày {date}.").format(
                    date=fmt.date(dt.date.fromisoformat(str(last["next"])))
                )
            )
        total = last["total"]
        if isinstance(total, int) and donations.reached_milestone(total) and total > 1:
            lines.append(_("🏅 Người hiến đạt mốc {n} lần hiến máu.").format(n=total))
        return " ".join(lines)
    return None


async def ask_find(ctx: Ctx) -> Reply:
    drive = await drives.get(ctx.work, _int(ctx, "drive_id"))
    checked_in, donated = await desk.counts(ctx.work, drive.id)
    lines = []
    last = await _last_line(ctx)
    if last:
        lines += [last, ""]
    lines += [
        f"📋 {drive.title} · {fmt.date(drive.date)}",
        _("Đã check-in: {checked} người · đã hiến: {donated} người").format(
            checked=checked_in, donated=donated
        ),
        "",
        _(
            "Nhập số điện thoại hoặc mã thẻ hiến máu của người tiếp theo (hoặc quét mã QR "
            "trên thẻ):"
        ),
    ]
    buttons = [choice("ci_find", "new", _("🆕 Người mới (chưa đăng ký)"))]
    try:
        several = len(await desk.drives_for(ctx.work, _volunteer(ctx).id)) > 1
    except DomainError:  # the role was taken away: every action will say so
        several = False
    if several:
        buttons.append(choice("ci_find", "drive", _("🔁 Đổi đợt")))
    buttons.append(choice("ci_find", "done", _("🏁 Kết thúc")))
    return Reply("\n".join(lines), buttons=tuple(buttons))


async def _lookup(ctx: Ctx, text: str) -> Outcome:
    at = await desk.find(ctx.work, _volunteer(ctx), _int(ctx, "drive_id"), text, ctx.actor)
    _reset(ctx)
    ctx.answers.pop("last", None)
    ctx.answers["donor_id"] = at.person.id
    return "ci_donor"


async def take_find(ctx: Ctx, value: str) -> Outcome:
    if value == "new":
        _reset(ctx)
        ctx.answers.pop("last", None)
        ctx.answers["behalf"] = True
        return "bconsent"
    if value == "drive":
        return "ci_drive"
    if value == "done":
        drive = await drives.get(ctx.work, _int(ctx, "drive_id"))
        checked_in, donated = await desk.counts(ctx.work, drive.id)
        return [
            Reply(
                _(
                    "Đã kết thúc check-in tại {place}: {checked} người đã check-in, {donated} "
                    "người đã hiến. Cảm ơn bạn! Tiếp tục: /checkin"
                ).format(place=drive.place, checked=checked_in, donated=donated)
            )
        ]
    return await _lookup(ctx, value)


# The donor ---------------------------------------------------------------------------------


def eligibility_line(at: AtDrive, ctx: Ctx) -> str:
    day = fmt.date(at.drive.date)
    verdict, rules = at.verdict, ctx.work.rules
    if verdict.eligible:
        return _(
            "✅ Đủ điều kiện hiến máu ngày {date} (theo tuổi và khoảng cách giữa hai lần hiến)."
        ).format(date=day)
    if verdict.reason is Reason.TOO_YOUNG:
        return _("⚠️ Chưa đủ {min} tuổi vào ngày {date}: chưa thể hiến máu.").format(
            min=rules.min_age, date=day
        )
    if verdict.reason is Reason.TOO_OLD:
        return _("⚠️ Đã quá {max} tuổi: theo quy định không hiến máu được nữa.").format(
            max=rules.max_age
        )
    assert verdict.from_date is not None
    return _("⚠️ Chưa đủ điều kiện hiến máu: chỉ được hiến lại từ ngày {date}.").format(
        date=fmt.date(verdict.from_date)
    )


def card_text(at: AtDrive, ctx: Ctx) -> str:
    person = at.person
    birth = person.birth_year or _("Chưa rõ")
    lines = [
        f"👤 {person.full_name}",
        _("Năm sinh: {year} · Nhóm máu: {group}").format(
            year=birth, group=fmt.blood_group(person.blood_group)
        ),
    ]
    if at.donated:
        assert at.donation is not None
        detail = kind_label(at.donation.kind)
        if at.donation.kind == DonationKind.WHOLE_BLOOD:
            detail += " " + volume_label(at.donation.volume_ml)
        lines.append(
            _("🩸 Đã ghi nhận hiến máu ngày {date}: {detail}.").format(
                date=fmt.date(at.drive.date), detail=detail
            )
        )
    else:
        lines.append(eligibility_line(at, ctx))
        if at.donation is not None:
            lines.append(
                _("📝 Người hiến đã tự khai hiến máu ngày này: ghi nhận để xác nhận lần hiến.")
            )
    if at.deferred_until is not None:
        lines.append(
            _("⏸ Đang hoãn hiến đến ngày {date}.").format(date=fmt.date(at.deferred_until))
        )
    if at.walk_in:
        lines.append(_("🕒 Chưa đăng ký trước đợt này (đến trực tiếp)."))
    elif at.slot is not None:
        lines.append(
            _("🕒 Đã đăng ký khung {start}–{end}.").format(
                start=f"{at.slot.start_time:%H:%M}", end=f"{at.slot.end_time:%H:%M}"
            )
        )
    else:
        lines.append(_("🕒 Đã đăng ký tham gia đợt này."))
    if at.checked_in:
        assert at.pledge is not None and at.pledge.checked_in_at is not None
        arrived = at.pledge.checked_in_at.astimezone(ctx.work.timezone)
        lines.append(_("📍 Đã check-in lúc {time}.").format(time=f"{arrived:%H:%M}"))
    else:
        lines.append(_("📍 Chưa check-in."))
    return "\n".join(lines)


async def _at(ctx: Ctx) -> AtDrive:
    return await desk.at_drive(
        ctx.work, _volunteer(ctx), _int(ctx, "drive_id"), _int(ctx, "donor_id"), ctx.actor
    )


async def ask_donor(ctx: Ctx) -> Reply:
    try:
        at = await _at(ctx)
    except DomainError as error:
        return Reply(error_text(error), buttons=(choice("ci_donor", "next", _("👥 Người khác")),))
    note = ctx.answers.get("note")
    lines = []
    if note == "existing":
        lines.append(_("Số điện thoại này đã có hồ sơ người hiến máu:"))
    elif note == "registered":
        lines.append(_("✅ Đã đăng ký người hiến mới và check-in."))
    lines.append(card_text(at, ctx))
    # The buttons name the donor: one pressed on an earlier donor's card is not taken for this
    # donor's.
    who = at.person.id
    buttons = []
    if not at.checked_in:
        buttons.append(choice("ci_donor", f"in:{who}", _("✅ Đã đến (check-in)")))
    if at.may_donate:
        buttons.append(choice("ci_donor", f"give:{who}", _("🩸 Ghi nhận hiến máu")))
    if not at.donated:
        buttons.append(choice("ci_donor", f"defer:{who}", _("⏸ Hoãn hiến")))
    buttons.append(choice("ci_donor", "next", _("👥 Người khác")))
    return Reply("\n".join(lines), buttons=tuple(buttons), columns=2)


async def take_donor(ctx: Ctx, value: str) -> Outcome:
    ctx.answers.pop("note", None)
    if value == "next":
        _reset(ctx)
        return "ci_find"
    action, _sep, who = value.partition(":")
    if action not in {"in", "give", "defer"} or not who.isdigit():
        return await _lookup(ctx, value)  # typed: the next donor's phone or card
    if int(who) != _int(ctx, "donor_id"):
        raise InvalidInput(
            N_("Nút này thuộc thẻ của người hiến trước. Mời bạn dùng các nút bên dưới.")
        )
    value = action
    if value == "in":
        at = await desk.check_in(
            ctx.work, _volunteer(ctx), _int(ctx, "drive_id"), _int(ctx, "donor_id"), ctx.actor
        )
        ctx.answers["last"] = {"what": "in", "person": at.person.id}
        _reset(ctx)
        return "ci_find"
    at = await _at(ctx)
    if value == "give":
        if at.donated:
            raise donations.already_recorded(at.drive.date)
        if at.donation is None and not at.verdict.eligible:
            raise desk.not_eligible(at.verdict, at.drive.date, ctx.work.rules)
        return "ci_kind"
    if at.donated:
        raise InvalidInput(N_("Người hiến đã được ghi nhận hiến máu, không ghi hoãn được nữa."))
    return "ci_reason"


# The donation ------------------------------------------------------------------------------


async def ask_kind(ctx: Ctx) -> Reply:
    return Reply(
        _("Người hiến đã hiến loại nào?"),
        buttons=(
            *(choice("ci_kind", kind.value, kind_label(kind)) for kind in DonationKind),
            choice("ci_kind", BACK, _("↩️ Quay lại")),
        ),
    )


async def take_kind(ctx: Ctx, value: str) -> Outcome:
    if value == BACK:
        return "ci_donor"
    if value not in {kind.value for kind in DonationKind}:
        raise InvalidInput(N_("Vui lòng chọn một trong các nút."))
    if value == DonationKind.WHOLE_BLOOD:
        return "ci_volume"
    return await _record(ctx, DonationKind(value), None)


async def ask_volume(ctx: Ctx) -> Reply:
    return Reply(
        _("Thể tích máu toàn phần đã hiến?"),
        buttons=(
            *(choice("ci_volume", str(ml), f"{ml} ml") for ml in donations.VOLUMES_ML),
            choice("ci_volume", BACK, _("↩️ Quay lại")),
        ),
        columns=3,
    )


async def take_volume(ctx: Ctx, value: str) -> Outcome:
    if value == BACK:
        return "ci_kind"
    return await _record(ctx, DonationKind.WHOLE_BLOOD, donations.parse_volume(value))


async def _record(ctx: Ctx, kind: DonationKind, volume_ml: int | None) -> Outcome:
    recorded = await desk.record_donation(
        ctx.work,
        _volunteer(ctx),
        _int(ctx, "drive_id"),
        _int(ctx, "donor_id"),
        kind,
        volume_ml,
        ctx.actor,
    )
    next_on = recorded.at.person.next_eligible_on
    ctx.answers["last"] = {
        "what": "gave",
        "person": recorded.at.person.id,
        "kind": kind.value,
        "volume": volume_ml,
        "total": recorded.total,
        "next": next_on.isoformat() if next_on else None,
    }
    _reset(ctx)
    return "ci_find"


# The deferral ------------------------------------------------------------------------------


def reason_label(reason: DeferralReason, ctx: Ctx) -> str:
    rules = ctx.work.rules
    labels = {
        DeferralReason.FLU: _("Cảm cúm ({n} ngày)").format(n=rules.deferral_flu_days),
        DeferralReason.BLOOD_PRESSURE: _("Huyết áp"),
        DeferralReason.LOW_HAEMOGLOBIN: _("Huyết sắc tố thấp"),
        DeferralReason.TATTOO: _("Mới xăm ({n} tháng)").format(n=rules.deferral_tattoo_months),
        DeferralReason.SURGERY: _("Phẫu thuật ({n} tháng)").format(n=rules.deferral_surgery_months),
        DeferralReason.OTHER: _("Lý do khác"),
    }
    return labels[reason]


async def ask_reason(ctx: Ctx) -> Reply:
    return Reply(
        _("Lý do hoãn hiến? Mình chỉ lưu mã lý do và ngày hết hoãn, không lưu chi tiết sức khoẻ."),
        buttons=(
            *(choice("ci_reason", r.value, reason_label(r, ctx)) for r in DeferralReason),
            choice("ci_reason", BACK, _("↩️ Quay lại")),
        ),
        columns=2,
    )


async def take_reason(ctx: Ctx, value: str) -> Outcome:
    if value == BACK:
        return "ci_donor"
    if value not in {r.value for r in DeferralReason}:
        raise InvalidInput(N_("Vui lòng chọn một trong các nút."))
    ctx.answers["reason"] = value
    return "ci_until"


async def ask_until(ctx: Ctx) -> Reply:
    drive = await drives.get(ctx.work, _int(ctx, "drive_id"))
    reason = DeferralReason(str(ctx.answers["reason"]))
    usual = desk.default_until(reason, drive.date, ctx.work.rules)
    options = (
        [usual]
        if usual is not None
        else [
            drive.date + dt.timedelta(days=14),
            desk.add_months(drive.date, 1),
            desk.add_months(drive.date, 3),
        ]
    )
    return Reply(
        _(
            "Hoãn đến ngày nào (từ ngày đó người hiến có thể hiến lại)? Chọn bên dưới hoặc gõ "
            "ngày, ví dụ {example}."
        ).format(example=fmt.date(drive.date + dt.timedelta(days=30))),
        buttons=(
            *(
                choice("ci_until", day.isoformat(), _("Đến {date}").format(date=fmt.date(day)))
                for day in options
            ),
            choice("ci_until", BACK, _("↩️ Quay lại")),
        ),
        columns=2,
    )


async def take_until(ctx: Ctx, value: str) -> Outcome:
    if value == BACK:
        return "ci_reason"
    until = parse_date(value)
    at = await desk.defer(
        ctx.work,
        _volunteer(ctx),
        _int(ctx, "drive_id"),
        _int(ctx, "donor_id"),
        DeferralReason(str(ctx.answers["reason"])),
        until,
        ctx.actor,
    )
    ctx.answers["last"] = {"what": "defer", "person": at.person.id, "until": until.isoformat()}
    _reset(ctx)
    return "ci_find"


# A walk-in: the questions of /adddonor, then the check-in --------------------------------------


async def take_walkin_consent(ctx: Ctx, value: str) -> Outcome:
    if registration.yes_no(value) == "no":
        _reset(ctx)
        ctx.answers["last"] = {"what": "no_consent"}
        return "ci_find"
    return await registration.take_behalf_consent(ctx, value)


async def take_walkin_phone(ctx: Ctx, text: str) -> Outcome:
    phone = phone_answer(ctx, text)
    if await persons.find_by_phone(ctx.work, phone) is None:
        ctx.answers["phone"] = phone
        return None
    outcome = await _lookup(ctx, phone)  # registered already: their card, not a second record
    ctx.answers["note"] = "existing"
    return outcome


async def take_walkin_review(ctx: Ctx, value: str) -> Outcome:
    if value == "redo":
        return "name"
    if value == "cancel":
        _reset(ctx)
        ctx.answers["last"] = {"what": "walkin_cancelled"}
        return "ci_find"
    if value != "save":
        raise InvalidInput(N_("Vui lòng chọn Lưu, Làm lại hoặc Huỷ."))
    at = await desk.register_walk_in(
        ctx.work, _volunteer(ctx), _int(ctx, "drive_id"), registration.draft_from(ctx), ctx.actor
    )
    _reset(ctx)
    ctx.answers["donor_id"] = at.person.id
    ctx.answers["note"] = "registered"
    return "ci_donor"


CHECKIN = Flow(
    name="checkin",
    steps={
        "ci_drive": Step(ask_drive, take_drive),
        "ci_find": Step(ask_find, take_find),
        "ci_donor": Step(ask_donor, take_donor),
        "ci_kind": Step(ask_kind, take_kind),
        "ci_volume": Step(ask_volume, take_volume),
        "ci_reason": Step(ask_reason, take_reason),
        "ci_until": Step(ask_until, take_until),
        # A walk-in, in this order (each answer goes on to the next):
        "bconsent": Step(registration.ask_behalf_consent, take_walkin_consent),
        **FIELD_STEPS,
        "phone": Step(ask_phone, take_walkin_phone),
        "review": Step(registration.ask_review, take_walkin_review),
    },
    order=(
        "ci_drive",
        "bconsent",
        "name",
        "phone",
        "birth",
        "sex",
        "blood",
        "unit",
        "weight",
        "review",
    ),
    allowed_commands=frozenset({"start"}),  # a scanned card: /start card_<token>
)


async def checkin(ctx: Ctx) -> list[Reply]:
    try:
        found = await desk.drives_for(ctx.work, _volunteer(ctx).id)
    except DomainError as error:
        return [Reply(error_text(error))]
    if not found:
        return [Reply(_no_drive_text())]
    if len(found) == 1:
        return await wizard.start(ctx, CHECKIN, {"drive_id": found[0].id}, step="ci_find")
    return await wizard.start(ctx, CHECKIN)


async def _scanned(ctx: Ctx, text: str) -> list[Reply]:
    """A card scanned inside a check-in session that has its drive: that donor's card."""
    _reset(ctx)
    ctx.answers.pop("last", None)
    try:
        step = await _lookup(ctx, text)
    except DomainError as error:
        return [Reply(error_text(error)), *await wizard.goto(ctx, CHECKIN, "ci_find")]
    assert isinstance(step, str)
    return await wizard.goto(ctx, CHECKIN, step)


async def deep_link(ctx: Ctx, payload: str) -> list[Reply] | None:
    """`/start card_<token>` (a scanned card), and `/start` during a check-in. None when the
    message is neither."""
    in_session = ctx.state is not None and ctx.state.flow == CHECKIN.name
    if ctx.inbound.chat_type is ChatType.GROUP:
        return None
    if not payload.startswith(cards.PREFIX):
        if not in_session:
            return None
        assert ctx.state is not None
        return [
            Reply(_("Bạn đang check-in người hiến. Gõ /cancel để dừng.")),
            await CHECKIN.steps[ctx.state.step].ask(ctx),
        ]
    if Role.VOLUNTEER not in ctx.roles:
        return [
            Reply(
                _(
                    "Đây là mã thẻ hiến máu: tình nguyện viên tại điểm hiến máu quét mã này để "
                    "check-in cho người hiến. Thẻ của bạn: /card"
                )
            )
        ]
    if in_session:
        assert ctx.state is not None
        if "drive_id" in ctx.answers:
            return await _scanned(ctx, payload)
        ctx.answers["pending"] = payload
        return await wizard.goto(ctx, CHECKIN, "ci_drive")
    try:
        found = await desk.drives_for(ctx.work, _volunteer(ctx).id)
    except DomainError as error:
        return [Reply(error_text(error))]
    if not found:
        return [Reply(_no_drive_text())]
    if len(found) > 1:
        return await wizard.start(ctx, CHECKIN, {"pending": payload})
    ctx.state = dialogue.State(CHECKIN.name, "ci_find", {"drive_id": found[0].id})
    return await _scanned(ctx, payload)
