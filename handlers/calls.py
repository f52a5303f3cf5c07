"""`/calls` for volunteers: donors to ring (two appeals ignored, a pledged drive missed), each
with name, phone, last contact and reason; a tap opens one, the outcome is a button, a note is
optional. "Do not contact" can be undone from the same card.

Buttons: `call:<task>` opens a task, `callo:<task>:<outcome>` records an outcome,
`calldnc:<task>` undoes "do not contact". The note is a one-step wizard (`callnote`)."""

from __future__ import annotations

import datetime as dt

from handlers.context import Ctx
from handlers.messages import Button, Reply
from handlers.wizard import Flow, Outcome, Step, choice, error_text
from handlers.wizard import start as start_flow
from locales import _
from services import calls
from services.calls import CallItem
from services.calls import Outcome as CallOutcome
from services.errors import DomainError
from services.validation import display_phone
from services.work import Work


def _reason(item: CallItem) -> str:
    if item.task.reason == calls.Reason.NO_SHOW:
        return _("vắng mặt ở đợt đã đăng ký")
    return _("không phản hồi 2 lời mời liên tiếp")


def _outcome(value: str | None) -> str:
    return {
        CallOutcome.REACHED.value: _("đã liên lạc được"),
        CallOutcome.NO_ANSWER.value: _("không nghe máy"),
        CallOutcome.CALL_BACK.value: _("hẹn gọi lại"),
        CallOutcome.DO_NOT_CONTACT.value: _("không muốn được liên hệ"),
    }.get(value or "", _("chưa gọi"))


def _moment(work: Work, value: dt.datetime | None) -> str:
    if value is None:
        return _("chưa có")
    return value.astimezone(work.timezone).strftime("%d/%m/%Y %H:%M")


def _phone(item: CallItem) -> str:
    if not item.phone:
        return _("(không có số)")
    try:
        return display_phone(item.phone)
    except Exception:  # a number not stored as E.164 (phonenumbers refuses it): as it is
        return item.phone


def _line(work: Work, number: int, item: CallItem) -> str:
    phone = _phone(item)
    mark = "🚫 " if item.do_not_contact else ""
    return "\n".join(
        [
            f"{number}. {mark}{item.name} · {phone}",
            _("   Lý do: {reason} · Liên lạc gần nhất: {last}").format(
                reason=_reason(item), last=_moment(work, item.last_contact)
            ),
        ]
    )


async def list_calls(ctx: Ctx) -> list[Reply]:
    assert ctx.person is not None
    try:
        found = await calls.listing(ctx.work, ctx.person, ctx.actor)
    except DomainError as error:
        return [Reply(error_text(error))]
    if not found:
        return [Reply(_("📞 Hiện không có ai cần gọi. Cảm ơn bạn!"))]
    lines = [_("📞 Những người cần gọi ({n}):").format(n=len(found)), ""]
    lines += [_line(ctx.work, number, item) for number, item in enumerate(found, start=1)]
    lines += ["", _("Bấm một người để ghi kết quả cuộc gọi:")]
    buttons = tuple(
        Button(f"{number}. {item.name[:40]}", f"call:{item.task.id}")
        for number, item in enumerate(found, start=1)
    )
    return [Reply("\n".join(lines), buttons=buttons)]


def _card(work: Work, item: CallItem) -> Reply:
    phone = _phone(item)
    lines = [
        f"👤 {item.name}",
        f"📞 {phone}",
        _("Lý do: {reason}").format(reason=_reason(item)),
        _("Liên lạc gần nhất: {last}").format(last=_moment(work, item.last_contact)),
        _("Kết quả: {outcome}").format(outcome=_outcome(item.task.outcome)),
    ]
    if item.task.note:
        lines.append(_("Ghi chú: {note}").format(note=item.task.note))
    task_id = item.task.id
    if item.do_not_contact:
        lines.append(_("🚫 Bot không gửi tin nào cho người này."))
        buttons: tuple[Button, ...] = (
            Button(_("↩️ Bỏ đánh dấu không liên hệ"), f"calldnc:{task_id}"),
        )
    else:
        lines.append(_("Kết quả cuộc gọi?"))
        buttons = (
            Button(_("✅ Đã liên lạc được"), f"callo:{task_id}:{CallOutcome.REACHED}"),
            Button(_("📵 Không nghe máy"), f"callo:{task_id}:{CallOutcome.NO_ANSWER}"),
            Button(_("🔁 Hẹn gọi lại"), f"callo:{task_id}:{CallOutcome.CALL_BACK}"),
            Button(
                _("🚫 Không muốn được liên hệ"), f"callo:{task_id}:{CallOutcome.DO_NOT_CONTACT}"
            ),
        )
    return Reply("\n".join(lines), buttons=(*buttons, Button(_("📋 Danh sách"), "cmd:calls")))


def _task_id(value: str) -> int | None:
    head = value.partition(":")[0]
    return int(head) if head.isdigit() else None


def _expired() -> list[Reply]:
    return [Reply(_("Nút này đã hết hạn. Gõ /calls để xem danh sách."))]


async def call_button(ctx: Ctx, value: str) -> list[Reply]:
    task_id = _task_id(value)
    if task_id is None or ctx.person is None:
        return _expired()
    try:
        return [_card(ctx.work, await calls.task(ctx.work, ctx.person, task_id, ctx.actor))]
    except DomainError as error:
        return [Reply(error_text(error))]


async def outcome_button(ctx: Ctx, value: str) -> list[Reply]:
    task_id = _task_id(value)
    if task_id is None or ctx.person is None:
        return _expired()
    try:
        outcome = CallOutcome(value.partition(":")[2])
        item = await calls.set_outcome(ctx.work, ctx.person, task_id, outcome, ctx.actor)
    except ValueError:
        return _expired()
    except DomainError as error:
        return [Reply(error_text(error))]
    done = _("Đã ghi: {name} — {outcome}.").format(name=item.name, outcome=_outcome(outcome))
    if outcome is CallOutcome.DO_NOT_CONTACT:
        done += " " + _("Từ giờ bot sẽ không nhắn tin cho người này nữa.")
    return [Reply(done), *await start_flow(ctx, NOTE, {"task_id": task_id})]


async def undo_button(ctx: Ctx, value: str) -> list[Reply]:
    task_id = _task_id(value)
    if task_id is None or ctx.person is None:
        return _expired()
    try:
        item = await calls.undo_do_not_contact(ctx.work, ctx.person, task_id, ctx.actor)
    except DomainError as error:
        return [Reply(error_text(error))]
    return [
        Reply(
            _("↩️ Đã bỏ đánh dấu: bot lại có thể nhắn tin cho {name}.").format(name=item.name),
            buttons=(Button(_("📋 Danh sách"), "cmd:calls"),),
        )
    ]


async def ask_note(ctx: Ctx) -> Reply:
    return Reply(
        _(
            "Thêm ghi chú cho cuộc gọi này? (ví dụ: hẹn gọi lại sau 18h). Gõ ghi chú, "
            "hoặc bấm Bỏ qua."
        ),
        buttons=(choice("callnote", "skip", _("Bỏ qua")),),
    )


async def take_note(ctx: Ctx, value: str) -> Outcome:
    after = (Button(_("📋 Danh sách"), "cmd:calls"),)
    if value == "skip" or ctx.person is None:
        return [Reply(_("Xong. Cảm ơn bạn đã gọi!"), buttons=after)]
    task_id = ctx.answers.get("task_id")
    assert isinstance(task_id, int)
    await calls.set_note(ctx.work, ctx.person, task_id, value, ctx.actor)
    return [Reply(_("📝 Đã lưu ghi chú. Cảm ơn bạn đã gọi!"), buttons=after)]


NOTE = Flow(name="callnote", steps={"callnote": Step(ask_note, take_note)}, order=("callnote",))
