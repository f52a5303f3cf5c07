"""A digital copy of a donor's paper certificate: from /mydonations, pick a donation, send a
photo; "view" sends it back. Buttons: `cert:list`, `cert:<donation>`, `certsave:<donation>`
(then a one-step wizard that takes the photo), `certshow:<donation>`."""

from __future__ import annotations

from handlers import format as fmt
from handlers.context import Ctx
from handlers.donations import kind_label
from handlers.messages import Attachment, Button, Reply
from handlers.wizard import Flow, Outcome, Step, choice, error_text
from handlers.wizard import start as start_flow
from locales import N_, _
from services import certificates, donations
from services.errors import DomainError, InvalidInput, NotFound

LISTED = 10


def _not_registered() -> list[Reply]:
    return [Reply(_("Bạn chưa đăng ký hiến máu với mình. Gõ /start để bắt đầu nhé."))]


def _expired() -> list[Reply]:
    return [Reply(_("Nút này đã hết hạn. Gõ /mydonations để xem lịch sử hiến máu."))]


async def _list(ctx: Ctx) -> list[Reply]:
    assert ctx.person is not None
    found = (await donations.history(ctx.work, ctx.person.id))[:LISTED]
    if not found:
        return [Reply(_("Bạn chưa có lần hiến máu nào được ghi nhận."))]
    buttons = tuple(
        Button(
            f"{'📷 ' if d.certificate_path else ''}{fmt.date(d.donated_on)} · {kind_label(d.kind)}",
            f"cert:{d.id}",
        )
        for d in found
    )
    return [
        Reply(
            _(
                "📷 Giấy chứng nhận hiến máu: chọn lần hiến để lưu hoặc xem ảnh giấy chứng nhận "
                "(📷: đã có ảnh)."
            ),
            buttons=buttons,
        )
    ]


async def _card(ctx: Ctx, donation_id: int) -> list[Reply]:
    assert ctx.person is not None
    found = next(
        (d for d in await donations.history(ctx.work, ctx.person.id) if d.id == donation_id), None
    )
    if found is None:
        return _expired()
    has_photo = await certificates.photo(ctx.work, ctx.person, donation_id) is not None
    text = _("Lần hiến máu ngày {date} · {kind}").format(
        date=fmt.date(found.donated_on), kind=kind_label(found.kind)
    )
    text += "\n" + (
        _("📷 Đã lưu ảnh giấy chứng nhận.") if has_photo else _("Chưa có ảnh giấy chứng nhận.")
    )
    buttons = [Button(_("📷 Lưu ảnh giấy chứng nhận"), f"certsave:{donation_id}")]
    if has_photo:
        buttons.insert(0, Button(_("🖼 Xem ảnh giấy chứng nhận"), f"certshow:{donation_id}"))
    return [Reply(text, buttons=tuple(buttons))]


async def cert_button(ctx: Ctx, value: str) -> list[Reply]:
    if ctx.person is None:
        return _not_registered()
    if value == "list":
        return await _list(ctx)
    if not value.isdigit():
        return _expired()
    return await _card(ctx, int(value))


async def save_button(ctx: Ctx, value: str) -> list[Reply]:
    if ctx.person is None:
        return _not_registered()
    if not value.isdigit():
        return _expired()
    try:
        await certificates.photo(ctx.work, ctx.person, int(value))  # is it theirs?
    except DomainError as error:
        return [Reply(error_text(error))]
    return await start_flow(ctx, CERTIFICATE, {"donation_id": int(value)})


async def show_button(ctx: Ctx, value: str) -> list[Reply]:
    if ctx.person is None:
        return _not_registered()
    if not value.isdigit():
        return _expired()
    try:
        found = await certificates.photo(ctx.work, ctx.person, int(value))
    except DomainError as error:
        return [Reply(error_text(error))]
    if found is None:
        return [Reply(_("Chưa có ảnh giấy chứng nhận cho lần hiến này."))]
    return [
        Reply(
            _("🖼 Ảnh giấy chứng nhận hiến máu của bạn."),
            attachment=Attachment(found.filename, found.content, found.mime_type),
        )
    ]


async def ask_photo(ctx: Ctx) -> Reply:
    return Reply(
        _(
            "📷 Gửi cho mình ảnh chụp Giấy chứng nhận hiến máu tình nguyện (chụp thẳng, rõ chữ). "
            "Ảnh chỉ bạn xem được, và sẽ bị xoá khi bạn dùng /forget."
        ),
        buttons=(choice("certphoto", "cancel", _("Huỷ")),),
    )


async def take_photo(ctx: Ctx, value: str) -> Outcome:
    if value == "cancel":
        return [Reply(_("Đã huỷ, mình chưa lưu ảnh nào."))]
    attachment = ctx.inbound.attachment
    if attachment is None or ctx.person is None:
        raise InvalidInput(N_("Mời bạn gửi một ảnh chụp giấy chứng nhận (không phải chữ)."))
    donation_id = ctx.answers.get("donation_id")
    assert isinstance(donation_id, int)
    try:
        donation = await certificates.save(
            ctx.work, ctx.person, donation_id, attachment.content, ctx.actor
        )
    except NotFound as error:
        return [Reply(error_text(error))]
    return [
        Reply(
            _("✅ Đã lưu ảnh giấy chứng nhận cho lần hiến ngày {date}.").format(
                date=fmt.date(donation.donated_on)
            ),
            buttons=(Button(_("🖼 Xem ảnh giấy chứng nhận"), f"certshow:{donation.id}"),),
        )
    ]


CERTIFICATE = Flow(
    name="certificate",
    steps={"certphoto": Step(ask_photo, take_photo, files=True)},
    order=("certphoto",),
)


async def stray_photo(ctx: Ctx) -> list[Reply]:
    """A photo outside any question: say how to keep a certificate."""
    return [
        Reply(
            _(
                "Bạn muốn lưu ảnh giấy chứng nhận hiến máu? Chọn lần hiến trong danh sách bên "
                "dưới, rồi gửi ảnh nhé."
            )
            if ctx.person is not None
            else _("Mình chỉ đọc được tin nhắn chữ và nút bấm. Gõ /help để xem các lệnh."),
            buttons=(Button(_("📷 Giấy chứng nhận"), "cert:list"),) if ctx.person else (),
        )
    ]
