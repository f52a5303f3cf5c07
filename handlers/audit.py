"""`/audit [phone]` for admins: the latest entries of the audit trail, who did what to whose
data and when; with a phone number, only the entries about or by that person."""

from __future__ import annotations

from handlers.context import Ctx
from handlers.messages import Reply
from handlers.wizard import error_text
from locales import _
from services import audit_log
from services.audit_log import AuditEntry, Someone
from services.errors import DomainError

SHOWN_DETAILS = 3


def _name(someone: Someone) -> str:
    return _("người đã xoá") if someone.name is None else someone.name


def _details(entry: AuditEntry) -> str:
    items = [f"{key}={value}" for key, value in entry.details.items() if value is not None]
    return f" ({', '.join(items[:SHOWN_DETAILS])})" if items else ""


def entry_line(entry: AuditEntry, ctx: Ctx) -> str:
    when = entry.at.astimezone(ctx.work.timezone)
    who = _name(entry.actor) if entry.actor is not None else entry.actor_label
    whose = _name(entry.subject) if entry.subject is not None else "—"
    return _("• {when} · {who} · {action}{details} · dữ liệu của: {whose}").format(
        when=f"{when:%d/%m/%Y %H:%M}",
        who=who,
        action=entry.action,
        details=_details(entry),
        whose=whose,
    )


async def audit(ctx: Ctx) -> list[Reply]:
    phone = ctx.inbound.argument or None
    try:
        entries = await audit_log.latest(ctx.work, ctx.actor, phone)
    except DomainError as error:
        return [Reply(error_text(error))]
    if phone is None:
        head = _("🗂 {n} mục mới nhất trong nhật ký truy cập dữ liệu:").format(n=len(entries))
    else:
        head = _("🗂 {n} mục mới nhất về số {phone}:").format(n=len(entries), phone=phone)
    if not entries:
        return [Reply(_("Nhật ký chưa có mục nào phù hợp."))]
    lines = [head, *(entry_line(entry, ctx) for entry in entries)]
    lines += ["", _("Lọc theo một người: /audit 0912345678")]
    return [Reply("\n".join(lines))]
