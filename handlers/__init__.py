"""The router: every command and button the bot understands, in one table.

A command runs only in a private chat unless marked `group`; a role-bound command checks the
role here for a friendly refusal, and the service checks it again before touching data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from handlers import general, profile, registration, volunteer
from handlers.context import Ctx
from handlers.messages import Reply
from handlers.wizard import Flow
from locales import N_
from services.roles import Role

Handler = Callable[[Ctx], Awaitable[list[Reply]]]
ButtonHandler = Callable[[Ctx, str], Awaitable[list[Reply]]]


@dataclass(frozen=True, slots=True)
class Command:
    handler: Handler
    description: str  # a Vietnamese source string, translated where menus are drawn
    role: Role | None = None  # None: everyone
    group: bool = False  # also answered in group chats
    in_flow: bool = False  # works in the middle of a wizard without cancelling it


COMMANDS: dict[str, Command] = {
    # Everyone ------------------------------------------------------------------------------
    "start": Command(general.start, N_("Bắt đầu, đăng ký hiến máu"), group=True),
    "help": Command(general.help_, N_("Các lệnh và hướng dẫn"), group=True, in_flow=True),
    "language": Command(general.language, N_("Đổi ngôn ngữ"), in_flow=True),
    "cancel": Command(general.cancel, N_("Huỷ thao tác đang làm"), in_flow=True),
    "drives": Command(general.list_drives, N_("Các đợt hiến máu sắp tới"), group=True),
    # A donor's own data ----------------------------------------------------------------------
    "profile": Command(profile.profile, N_("Xem và sửa hồ sơ")),
    "stop": Command(profile.stop, N_("Tắt nhắc lịch")),
    "export": Command(profile.export, N_("Tải dữ liệu của tôi")),
    "forget": Command(profile.forget, N_("Xoá dữ liệu của tôi")),
    # Volunteers --------------------------------------------------------------------------------
    "adddonor": Command(
        volunteer.add_donor, N_("Đăng ký giúp người hiến máu"), role=Role.VOLUNTEER
    ),
}

# Buttons outside a wizard: "prefix:value".
BUTTONS: dict[str, ButtonHandler] = {
    "profile": profile.profile_button,
    "lang": general.language_button,
}

FLOWS: dict[str, Flow] = {
    flow.name: flow
    for flow in (
        registration.SELF,
        registration.BEHALF,
        profile.FORGET,
        *profile.EDIT_FLOWS.values(),
    )
}
