"""`/selfcheck`: a short, optional questionnaire before pledging (services.selfcheck), also
offered on a drive's card (`selfcheck:<drive>`). Questions the bot can answer from the
donor's record (sex, weight, donations) are skipped. Advice only; the answers are not kept,
only the date the advice gives."""

from __future__ import annotations

import enum

from handlers import format as fmt
from handlers.context import Ctx
from handlers.messages import Button, Reply
from handlers.wizard import Flow, Outcome, Step, choice
from handlers.wizard import start as start_flow
from locales import N_, _
from services import drives, selfcheck
from services.errors import DomainError, InvalidInput
from services.selfcheck import (
    Advice,
    Answers,
    Hold,
    Illness,
    LastDonation,
    Pregnancy,
    Surgery,
    Tattoo,
    Weight,
)

ORDER = ("sc_ill", "sc_tattoo", "sc_surgery", "sc_preg", "sc_weight", "sc_last")


def _intro() -> str:
    return _(
        "🩺 Tự kiểm tra trước khi hiến máu: vài câu hỏi ngắn, chỉ để tư vấn. Mình không lưu "
        "câu trả lời, chỉ lưu ngày bạn nên đến (nếu có). Bác sĩ tại điểm hiến sẽ khám cho bạn."
    )


async def ask_ill(ctx: Ctx) -> Reply:
    return Reply(
        _intro() + "\n\n" + _("1. Trong 7 ngày qua bạn có bị sốt, cảm cúm hay ốm không?"),
        buttons=(
            choice("sc_ill", Illness.NONE, _("Không")),
            choice("sc_ill", Illness.RECOVERED, _("Có, nay đã khỏi")),
            choice("sc_ill", Illness.ILL, _("Đang bị ốm")),
        ),
    )


async def ask_tattoo(ctx: Ctx) -> Reply:
    return Reply(
        _("2. Bạn có xăm hình, xỏ khuyên hoặc châm cứu trong 6 tháng qua không?"),
        buttons=(
            choice("sc_tattoo", Tattoo.NONE, _("Không")),
            choice("sc_tattoo", Tattoo.UNDER_1M, _("Dưới 1 tháng trước")),
            choice("sc_tattoo", Tattoo.FROM_1M, _("1–3 tháng trước")),
            choice("sc_tattoo", Tattoo.FROM_3M, _("3–6 tháng trước")),
        ),
    )


async def ask_surgery(ctx: Ctx) -> Reply:
    return Reply(
        _("3. Bạn có phẫu thuật hoặc được truyền máu trong 12 tháng qua không?"),
        buttons=(
            choice("sc_surgery", Surgery.NONE, _("Không")),
            choice("sc_surgery", Surgery.UNDER_3M, _("Dưới 3 tháng trước")),
            choice("sc_surgery", Surgery.FROM_3M, _("3–6 tháng trước")),
            choice("sc_surgery", Surgery.FROM_6M, _("6–12 tháng trước")),
        ),
    )


async def ask_pregnancy(ctx: Ctx) -> Reply:
    return Reply(
        _("4. Bạn có đang mang thai, cho con bú, hoặc sinh con trong 12 tháng qua không?"),
        buttons=(
            choice("sc_preg", Pregnancy.NONE, _("Không")),
            choice("sc_preg", Pregnancy.NOW, _("Đang mang thai / cho con bú")),
            choice("sc_preg", Pregnancy.BIRTH_UNDER_6M, _("Sinh con dưới 6 tháng trước")),
            choice("sc_preg", Pregnancy.BIRTH_FROM_6M, _("Sinh con 6–12 tháng trước")),
        ),
    )


async def ask_weight(ctx: Ctx) -> Reply:
    return Reply(
        _("5. Cân nặng của bạn khoảng bao nhiêu?"),
        buttons=(
            choice("sc_weight", Weight.UNDER_42, _("Dưới 42 kg")),
            choice("sc_weight", Weight.FROM_42, _("Từ 42 đến dưới 45 kg")),
            choice("sc_weight", Weight.FROM_45, _("Từ 45 kg trở lên")),
        ),
    )


async def ask_last(ctx: Ctx) -> Reply:
    return Reply(
        _("6. Lần gần nhất bạn hiến máu toàn phần là khi nào?"),
        buttons=(
            choice("sc_last", LastDonation.NONE, _("Chưa từng, hoặc hơn 12 tuần trước")),
            choice("sc_last", LastDonation.UNDER_4W, _("Dưới 4 tuần trước")),
            choice("sc_last", LastDonation.FROM_4W, _("4–8 tuần trước")),
            choice("sc_last", LastDonation.FROM_8W, _("8–12 tuần trước")),
        ),
    )


async def _applies(ctx: Ctx, step: str) -> bool:
    person = ctx.person
    if person is None:
        return True
    if step == "sc_preg":
        return person.sex != "male"
    if step == "sc_weight":
        return person.weight_kg is None
    if step == "sc_last":
        return not await selfcheck.has_donations(ctx.work, person.id)
    return True


def _taker(step: str, kind: type[enum.StrEnum]) -> Step:
    asks = {
        "sc_ill": ask_ill,
        "sc_tattoo": ask_tattoo,
        "sc_surgery": ask_surgery,
        "sc_preg": ask_pregnancy,
        "sc_weight": ask_weight,
        "sc_last": ask_last,
    }

    async def take(ctx: Ctx, value: str) -> Outcome:
        try:
            kind(value)
        except ValueError:
            raise InvalidInput(N_("Mời bạn chọn một câu trả lời bên dưới.")) from None
        ctx.answers[step] = value
        for following in ORDER[ORDER.index(step) + 1 :]:
            if await _applies(ctx, following):
                return following
        return await _finish(ctx)

    return Step(asks[step], take)


def _answers(ctx: Ctx) -> Answers:
    given = ctx.answers
    weight = Weight(str(given.get("sc_weight", Weight.FROM_45)))
    if ctx.person is not None and ctx.person.weight_kg is not None:
        weight = selfcheck.weight_band(float(ctx.person.weight_kg))
    return Answers(
        illness=Illness(str(given.get("sc_ill", Illness.NONE))),
        tattoo=Tattoo(str(given.get("sc_tattoo", Tattoo.NONE))),
        surgery=Surgery(str(given.get("sc_surgery", Surgery.NONE))),
        pregnancy=Pregnancy(str(given.get("sc_preg", Pregnancy.NONE))),
        weight=weight,
        last_donation=LastDonation(str(given.get("sc_last", LastDonation.NONE))),
    )


def _advice_text(ctx: Ctx, advice: Advice) -> str:
    today = ctx.work.today()
    if advice.hold is Hold.PREGNANCY:
        text = _(
            "💛 Khi đang mang thai hoặc cho con bú, bạn chưa nên hiến máu. Sau khi sinh con "
            "12 tháng và thôi cho con bú, bạn làm lại bài tự kiểm tra nhé. Cảm ơn tấm lòng của bạn!"
        )
    elif advice.hold is Hold.WEIGHT:
        text = _(
            "💛 Người hiến máu cần nặng ít nhất 42 kg (nữ) hoặc 45 kg (nam), nên lúc này bạn "
            "chưa hiến được. Bạn vẫn giúp được nhiều bằng cách rủ người thân, bạn bè đi hiến nhé!"
        )
    elif advice.now(today):
        text = _("✅ Theo câu trả lời của bạn, bạn có thể đi hiến máu ngay.")
    else:
        assert advice.from_date is not None
        text = _("🗓 Theo câu trả lời của bạn, bạn nên đến hiến máu từ ngày {date}.").format(
            date=fmt.date(advice.from_date)
        )
        if advice.still_ill:
            text += " " + _(
                "Nếu lúc đó chưa khoẻ hẳn, bạn đợi thêm {days} ngày sau khi khỏi nhé."
            ).format(days=ctx.work.rules.deferral_flu_days)
        if ctx.person is not None:
            text += " " + _("Mình sẽ không mời bạn trước ngày này.")
    if advice.small_volume and advice.hold is None:
        text += "\n" + _("Với cân nặng 42–45 kg, bạn chỉ hiến tối đa 250 ml.")
    return (
        text
        + "\n\n"
        + _("ℹ️ Đây chỉ là lời khuyên. Bác sĩ tại điểm hiến máu sẽ khám và quyết định.")
    )


async def _finish(ctx: Ctx) -> list[Reply]:
    person = ctx.person
    known = await selfcheck.recorded_next(ctx.work, person) if person is not None else None
    advice = selfcheck.advise(
        _answers(ctx),
        ctx.work.today(),
        ctx.work.rules,
        sex=person.sex if person is not None else None,
        known_next=known,
    )
    if person is not None and advice.hold is None:
        await selfcheck.keep_result(ctx.work, person, advice, ctx.actor)
    buttons: tuple[Button, ...] = (Button(_("🩸 Các đợt sắp tới"), "cmd:drives"),)
    drive_id = ctx.answers.get("drive_id")
    if isinstance(drive_id, int) and advice.hold is None:
        try:
            drive = await drives.get(ctx.work, drive_id)
        except DomainError:
            drive = None
        if drive is not None and (advice.from_date is None or advice.from_date <= drive.date):
            buttons = (Button(_("✋ Đăng ký hiến máu"), f"pledge:{drive.id}"), *buttons)
    return [Reply(_advice_text(ctx, advice), buttons=buttons)]


SELFCHECK = Flow(
    name="selfcheck",
    steps={
        "sc_ill": _taker("sc_ill", Illness),
        "sc_tattoo": _taker("sc_tattoo", Tattoo),
        "sc_surgery": _taker("sc_surgery", Surgery),
        "sc_preg": _taker("sc_preg", Pregnancy),
        "sc_weight": _taker("sc_weight", Weight),
        "sc_last": _taker("sc_last", LastDonation),
    },
    order=ORDER,
)


async def self_check(ctx: Ctx) -> list[Reply]:
    return await start_flow(ctx, SELFCHECK)


async def self_check_button(ctx: Ctx, value: str) -> list[Reply]:
    """From a drive's card: afterwards, the pledge button when the date allows."""
    answers: dict[str, object] = {"drive_id": int(value)} if value.isdigit() else {}
    return await start_flow(ctx, SELFCHECK, answers)
