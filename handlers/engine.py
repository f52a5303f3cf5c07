"""The engine: one inbound message in, replies out, in one database transaction.

An update the platform delivers twice (or to two workers) is handled once: its id is recorded
in the same transaction (`services.updates`). A user over the inbound limit gets one "slow
down" and then nothing until the limit allows again (`handlers.inbound_limit`)."""

from __future__ import annotations

import logging

from handlers import (
    BUTTONS,
    COMMANDS,
    FLOWS,
    certificates,
    drive_admin,
    drives,
    general,
    registration,
    wizard,
)
from handlers.context import Ctx
from handlers.inbound_limit import Admission, InboundLimiter
from handlers.messages import Button, ChatType, Inbound, InboundKind, Reply
from locales import _, use_language
from services import dialogue, identities, menus, roles, updates
from services.roles import RANK, Role, roles_of
from services.work import Database, waiting_out_outages

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, database: Database, limiter: InboundLimiter | None = None) -> None:
        self.database = database
        self.limiter = limiter  # None: no limit on inbound messages (the console, tests)

    def may_fetch(self, channel: str, user_id: str) -> bool:
        """Whether a file this user sends is worth downloading: not while they are over the
        inbound limit (the message would be dropped, its file unread)."""
        return self.limiter is None or self.limiter.would_admit(channel, user_id)

    async def dispatch(self, inbound: Inbound) -> list[Reply]:
        if self.limiter is not None:
            admission = self.limiter.admit(inbound.channel, inbound.user_id)
            if admission is Admission.DROP:
                return []
            if admission is Admission.WARN:
                log.info("%s user %s is over the inbound limit", inbound.channel, inbound.user_id)
                with use_language(inbound.language):
                    return [Reply(_("Bạn nhắn nhanh quá, chờ chút nhé."))]

        @waiting_out_outages  # an update during a database restart is answered late, not lost
        async def handle() -> list[Reply]:
            async with self.database.work() as work:
                if inbound.update_id and not await updates.first_time(
                    work, inbound.channel, inbound.update_id
                ):
                    log.info(
                        "%s update %s came again: handled once", inbound.channel, inbound.update_id
                    )
                    return []
                identity = await identities.touch(
                    work,
                    inbound.channel,
                    inbound.user_id,
                    inbound.chat_id,
                    inbound.language,
                    inbound.display_name,
                    private=inbound.chat_type is ChatType.PRIVATE,
                )
                with use_language(identity.language):
                    person = await identities.person_of(work, identity)
                    state = await dialogue.load(work, inbound.channel, inbound.chat_id)
                    ctx = Ctx(work, inbound, identity, person, state)
                    if person is not None:
                        top = max((RANK[r] for r, _u in await roles_of(work, person.id)), default=0)
                        ctx.roles = {role for role, rank in RANK.items() if rank <= top}
                    return await route(ctx)

        try:
            return await handle()
        except Exception:
            log.exception(
                "failed to handle %s update from %s:%s (%s)",
                inbound.kind,
                inbound.channel,
                inbound.user_id,
                inbound.command or "",
            )
            with use_language(inbound.language):
                return [
                    Reply(
                        _(
                            "Xin lỗi, mình vừa gặp trục trặc và chưa lưu thao tác này. "
                            "Bạn thử lại sau ít phút nhé."
                        )
                    )
                ]

    async def unreachable(self, channel: str, chat_id: str) -> None:
        """The platform refused our message to this chat (blocked): mark its identities."""
        async with self.database.work() as work:
            changed = await identities.mark_unreachable(work, channel, chat_id)
        if changed:
            log.info("%s chat %s is unreachable", channel, chat_id)

    @waiting_out_outages
    async def menu(self, channel: str, chat_id: str) -> tuple[Button, ...]:
        """The numbered choices a chat without buttons (Zalo) was shown last."""
        async with self.database.work() as work:
            choices = await menus.recall(work, channel, chat_id)
        return tuple(Button(label, payload) for label, payload in choices)

    @waiting_out_outages
    async def show_menu(self, channel: str, chat_id: str, choices: tuple[Button, ...]) -> str:
        """Remember the choices a chat is shown now (none: a typed number means nothing).
        Returns the chat's language, in which the channel words its "reply 1, 2 or 3"."""
        async with self.database.work() as work:
            await menus.remember(work, channel, chat_id, [(b.label, b.payload) for b in choices])
            return await menus.chat_language(work, channel, chat_id)

    async def role_chats(self, channel: str) -> dict[str, frozenset[Role]]:
        """Chat id -> every role its person may act as (a higher role includes the lower)."""
        async with self.database.work() as work:
            held = await roles.role_chats(work, channel)
        allowed: dict[str, frozenset[Role]] = {}
        for chat, chat_roles in held.items():
            top = max(RANK[role] for role in chat_roles)
            allowed[chat] = frozenset(role for role, rank in RANK.items() if rank <= top)
        return allowed


async def route(ctx: Ctx) -> list[Reply]:
    inbound = ctx.inbound
    if inbound.chat_type is ChatType.GROUP:
        return await _group(ctx)
    if inbound.kind is InboundKind.COMMAND:
        return await _command(ctx, inbound.command or "")
    if inbound.kind is InboundKind.BUTTON:
        return await _button(ctx)
    if ctx.state is not None:
        return (
            await wizard.resume(ctx, FLOWS[ctx.state.flow])
            if ctx.state.flow in FLOWS
            else await _expired(ctx)
        )
    if inbound.kind is InboundKind.LOCATION:
        return await drives.near(ctx)
    if inbound.kind is InboundKind.DOCUMENT:
        return await drive_admin.plan_document(ctx)
    if inbound.kind is InboundKind.PHOTO:
        return await certificates.stray_photo(ctx)
    if inbound.kind is InboundKind.UNSUPPORTED:
        return [Reply(_("Mình chỉ đọc được tin nhắn chữ và nút bấm. Gõ /help để xem các lệnh."))]
    if ctx.person is None:  # first words on a platform without /start (Zalo): greet
        return await general.start(ctx)
    return await general.unknown(ctx)


async def _group(ctx: Ctx) -> list[Reply]:
    name = ctx.inbound.command
    if name is None:
        return []  # the bot stays quiet in group chatter
    command = COMMANDS.get(name)
    if command is None:
        return await general.unknown(ctx)
    if not command.group:
        return general.private_only()
    return await command.handler(ctx)


async def _command(ctx: Ctx, name: str) -> list[Reply]:
    command = COMMANDS.get(name)
    flow = FLOWS.get(ctx.state.flow) if ctx.state is not None else None
    allowed = command is not None and (
        command.in_flow or (flow is not None and name in flow.allowed_commands)
    )
    if ctx.state is not None and not allowed:
        return await _busy(ctx)
    if command is None:
        return await general.unknown(ctx)
    if command.role is not None and command.role not in ctx.roles:
        return [
            Reply(
                _(
                    "Lệnh này dành cho người có vai trò phù hợp (tình nguyện viên, chủ nhiệm "
                    "CLB, Ban chỉ đạo). Gõ /help để xem các lệnh của bạn."
                )
            )
        ]
    return await command.handler(ctx)


async def _button(ctx: Ctx) -> list[Reply]:
    prefix, _sep, value = ctx.inbound.payload.partition(":")
    if prefix == "cmd":
        return await _command(ctx, value)
    in_flow = ctx.state is not None and ctx.state.flow in FLOWS
    if in_flow and ctx.state is not None and prefix in FLOWS[ctx.state.flow].steps:
        return await wizard.resume(ctx, FLOWS[ctx.state.flow])  # a step's own button
    if prefix in BUTTONS:
        if ctx.state is not None and prefix != "lang":
            return await _busy(ctx)
        return await BUTTONS[prefix](ctx, value)
    if ctx.state is not None and ctx.state.flow in FLOWS:
        return await wizard.resume(ctx, FLOWS[ctx.state.flow])
    return [
        Reply(
            _("Nút này đã hết hạn. Gõ /start hoặc /help để tiếp tục nhé."),
            buttons=general.main_menu(),
        )
    ]


async def _busy(ctx: Ctx) -> list[Reply]:
    assert ctx.state is not None
    flow = FLOWS.get(ctx.state.flow)
    if flow is None:
        return await _expired(ctx)
    return [
        Reply(
            _(
                "Bạn đang làm dở một bước. Trả lời câu hỏi bên dưới, hoặc gõ /cancel để huỷ "
                "rồi dùng lệnh khác."
            )
        ),
        await flow.steps[ctx.state.step].ask(ctx),
    ]


async def _expired(ctx: Ctx) -> list[Reply]:
    await wizard.end(ctx)
    return [Reply(_("Cuộc trò chuyện trước đã hết hạn. Mời bạn bắt đầu lại."))] + (
        [Reply(registration.intro())] if ctx.person is None else []
    )
