"""The router: every command and button the bot understands, in one table.

A command runs only in a private chat unless marked `group`; a role-bound command checks the
role here for a friendly refusal, and the service checks it again before touching data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from handlers import (
    aftercare,
    analytics,
    audit,
    blocks,
    busy,
    calls,
    cards,
    certificates,
    checkin,
    clubs,
    comeback,
    companions,
    donations,
    drive_admin,
    drive_day,
    drives,
    general,
    invites,
    profile,
    quotas,
    registration,
    reports,
    selfcheck,
    tallies,
    volunteer,
)
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
    "drives": Command(drives.list_drives, N_("Các đợt hiến máu sắp tới"), group=True),
    "mypledges": Command(drives.my_pledges, N_("Các đợt tôi đã đăng ký")),
    # A donor's own data ----------------------------------------------------------------------
    "profile": Command(profile.profile, N_("Xem và sửa hồ sơ")),
    "stop": Command(profile.stop, N_("Tắt nhắc lịch")),
    "busy": Command(busy.busy_command, N_("Tạm dừng lời mời hiến máu đến một ngày")),
    "export": Command(profile.export, N_("Tải dữ liệu của tôi")),
    "forget": Command(profile.forget, N_("Xoá dữ liệu của tôi")),
    "donated": Command(donations.donated, N_("Khai báo lần hiến máu")),
    "mydonations": Command(donations.my_donations, N_("Lịch sử hiến máu của tôi")),
    "card": Command(cards.card, N_("Thẻ hiến máu (mã QR) để check-in")),
    "selfcheck": Command(selfcheck.self_check, N_("Tự kiểm tra trước khi hiến máu")),
    # Volunteers --------------------------------------------------------------------------------
    "adddonor": Command(
        volunteer.add_donor, N_("Đăng ký giúp người hiến máu"), role=Role.VOLUNTEER
    ),
    "checkin": Command(
        checkin.checkin, N_("Check-in người hiến tại điểm hiến máu"), role=Role.VOLUNTEER
    ),
    "calls": Command(calls.list_calls, N_("Danh sách người cần gọi điện"), role=Role.VOLUNTEER),
    "drivenotice": Command(
        drive_day.drive_notice,
        N_("Nhắn người đã đăng ký đợt hôm nay (vắng, đông, mang CCCD)"),
        role=Role.VOLUNTEER,
    ),
    # Committees --------------------------------------------------------------------------------
    "newdrive": Command(drive_admin.new_drive, N_("Tạo đợt hiến máu mới"), role=Role.COMMITTEE),
    "report": Command(reports.report, N_("Báo cáo tổng kết năm"), role=Role.COMMITTEE),
    "managedrives": Command(
        drive_admin.manage, N_("Quản lý các đợt hiến máu"), role=Role.COMMITTEE
    ),
    # Club chairs (their own unit) and committees (every unit of their scope) ------------------
    "quota": Command(quotas.quota, N_("Chỉ tiêu và tiến độ của đơn vị"), role=Role.CLUB_CHAIR),
    "tally": Command(tallies.tally, N_("Báo cáo số liệu hôm nay"), role=Role.CLUB_CHAIR),
    "analytics": Command(
        analytics.analytics_command,
        N_("Phân tích: người quay lại, hiệu quả tin nhắn, tiến độ"),
        role=Role.CLUB_CHAIR,
    ),
    "lapsed": Command(
        analytics.lapsed_command, N_("Người lâu chưa quay lại hiến máu"), role=Role.CLUB_CHAIR
    ),
    "honours": Command(
        analytics.honours_command, N_("Danh sách tôn vinh (Excel)"), role=Role.COMMITTEE
    ),
    "newclub": Command(clubs.new_club, N_("Tạo câu lạc bộ hiến máu"), role=Role.CLUB_CHAIR),
    "members": Command(clubs.members, N_("Thành viên câu lạc bộ"), role=Role.CLUB_CHAIR),
    "linkclub": Command(
        clubs.link_club, N_("Gắn nhóm chat với câu lạc bộ"), role=Role.CLUB_CHAIR, group=True
    ),
    "broadcast": Command(clubs.broadcast, N_("Gửi thông báo"), role=Role.CLUB_CHAIR),
    "block": Command(
        blocks.block, N_("Giữ chỗ ở một đợt cho thành viên CLB"), role=Role.CLUB_CHAIR
    ),
    "broadcasts": Command(
        clubs.broadcast_results, N_("Kết quả các thông báo đã gửi"), role=Role.CLUB_CHAIR
    ),
    "grant": Command(invites.grant, N_("Trao vai trò, tạo link mời"), role=Role.COMMITTEE),
    # Admins --------------------------------------------------------------------------------------
    "audit": Command(audit.audit, N_("Nhật ký truy cập dữ liệu"), role=Role.ADMIN),
}

# Buttons outside a wizard: "prefix:value".
BUTTONS: dict[str, ButtonHandler] = {
    "profile": profile.profile_button,
    "lang": general.language_button,
    "drive": drives.drive_button,
    "pledge": drives.pledge_button,
    "slot": drives.slot_button,
    "unpledge": drives.unpledge_button,
    "wait": comeback.wait,
    "unwait": comeback.unwait,
    "busy": busy.busy_button,
    "comp": companions.start_button,  # "tôi và người đi cùng": add companions
    "ccancel": companions.cancel_button,  # free the place of one companion
    "bclaim": blocks.claim_button_pressed,  # a member claims a place of their club's block
    "ics": drives.ics_button,
    # After the drive (issue 11): feedback, "we missed you", calls, self-check, certificates
    "fb": aftercare.feedback_button,
    "missed": aftercare.missed_button,
    "call": calls.call_button,
    "callo": calls.outcome_button,
    "calldnc": calls.undo_button,
    "selfcheck": selfcheck.self_check_button,
    "cert": certificates.cert_button,
    "certsave": certificates.save_button,
    "certshow": certificates.show_button,
    "share": drives.share_button,
    "mdrive": drive_admin.manage_button,
    "tally": tallies.tally_button,
    "stats": analytics.stats_button,
    "clubm": clubs.club_button,
}

FLOWS: dict[str, Flow] = {
    flow.name: flow
    for flow in (
        registration.SELF,
        registration.BEHALF,
        profile.FORGET,
        busy.BUSY,
        donations.DONATED,
        aftercare.FEEDBACK,
        calls.NOTE,
        selfcheck.SELFCHECK,
        certificates.CERTIFICATE,
        drive_admin.NEW,
        drive_admin.EDIT,
        drive_admin.MOVE,
        drive_admin.CANCEL,
        drive_admin.PLAN,
        quotas.QUOTA,
        clubs.NEW_CLUB,
        clubs.BROADCAST,
        companions.FLOW,
        blocks.FLOW,
        invites.GRANT,
        checkin.CHECKIN,
        drive_day.DRIVE_DAY,
        *profile.EDIT_FLOWS.values(),
    )
}
