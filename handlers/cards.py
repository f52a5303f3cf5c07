"""`/card`: a donor's card, a QR code of a signed token that names them, for check-in at a
drive; the token is also shown as text, to read out or type."""

from __future__ import annotations

from handlers import format as fmt
from handlers.context import Ctx
from handlers.donations import next_date_line
from handlers.messages import Attachment, Reply
from handlers.profile import not_registered
from locales import _
from services import cards, sharing


async def card(ctx: Ctx) -> list[Reply]:
    person = ctx.person
    if person is None:
        return not_registered()
    issued = cards.card(ctx.work.secret, person.id)
    # What a phone's QR scanner gives the volunteer: a link that opens the bot where there
    # is one (Telegram), else the command to send.
    link = (ctx.inbound.deep_link or "/start ") + issued.payload
    lines = [
        _("🪪 Thẻ hiến máu của {name}").format(name=person.full_name),
        _("Nhóm máu: {group}").format(group=fmt.blood_group(person.blood_group)),
        _("Mã thẻ: {code}").format(code=issued.display),
        next_date_line(person.next_eligible_on, ctx.work.today()),
        "",
        _(
            "Tại điểm hiến máu, đưa mã QR này (hoặc đọc mã thẻ) cho tình nguyện viên để "
            "check-in nhanh. Mã không chứa tên hay số điện thoại của bạn; đừng đăng mã lên "
            "mạng xã hội."
        ),
    ]
    return [
        Reply(
            "\n".join(lines),
            attachment=Attachment("the-hien-mau.png", sharing.qr_png(link), "image/png"),
        )
    ]
