"""Greeting, help, language, cancel, and the list of upcoming drives."""

from __future__ import annotations

from handlers import checkin, drives, invites, registration, wizard
from handlers.context import Ctx
from handlers.messages import Button, ChatType, Reply
from locales import _, use_language
from services import identities
from services.roles import Role


def private_only() -> list[Reply]:
    return [
        Reply(
            _(
                "Để bảo vệ thông tin cá nhân, mình chỉ làm việc này trong tin nhắn riêng. "
                "Bạn nhắn riêng cho mình nhé!"
            )
        )
    ]


def main_menu() -> tuple[Button, ...]:
    return (
        Button(_("🩸 Đợt hiến máu sắp tới"), "cmd:drives"),
        Button(_("📋 Đợt tôi đã đăng ký"), "cmd:mypledges"),
        Button(_("👤 Hồ sơ của tôi"), "cmd:profile"),
        Button(_("❓ Trợ giúp"), "cmd:help"),
    )


async def start(ctx: Ctx) -> list[Reply]:
    payload = ctx.inbound.argument
    scanned = await checkin.deep_link(ctx, payload)  # a donor's card, or /start in a check-in
    if scanned is not None:
        return scanned
    if payload:
        linked = await drives.deep_link(ctx, payload) or await invites.deep_link(ctx, payload)
        if linked is not None:
            return linked
    if ctx.inbound.chat_type is ChatType.GROUP:
        return [Reply(registration.intro() + "\n\n" + private_only()[0].text)]
    if ctx.person is not None:
        return [
            Reply(
                _("Chào mừng {name} quay lại! Mình có thể giúp gì cho bạn?").format(
                    name=ctx.person.full_name
                ),
                buttons=main_menu(),
            )
        ]
    return [Reply(registration.intro()), *await wizard.start(ctx, registration.SELF)]


async def help_(ctx: Ctx) -> list[Reply]:
    lines = [
        _("Các lệnh bạn có thể dùng:"),
        _("/start – bắt đầu, đăng ký hiến máu"),
        _("/drives – các đợt hiến máu sắp tới"),
        _("/mypledges – các đợt bạn đã đăng ký"),
        _("/donated – khai báo một lần bạn đã hiến máu"),
        _("/mydonations – lịch sử hiến máu, ngày được hiến lại"),
        _("/card – thẻ hiến máu (mã QR) để check-in tại điểm hiến máu"),
        _("/profile – xem và sửa hồ sơ, bật/tắt nhắc lịch"),
        _("/selfcheck – tự kiểm tra xem bạn hiến được ngay hay từ ngày nào"),
        _("/busy – tạm dừng lời mời hiến máu đến một ngày (thi cử, đi xa, ốm...)"),
        _("/stop – tắt nhắc lịch"),
        _("/export – tải toàn bộ dữ liệu của bạn"),
        _("/forget – xoá dữ liệu của bạn"),
        _("/language – đổi ngôn ngữ (Tiếng Việt / English)"),
        _("/cancel – huỷ thao tác đang làm"),
    ]
    if Role.VOLUNTEER in ctx.roles:
        lines += [
            "",
            _("Dành cho tình nguyện viên:"),
            _("/adddonor – đăng ký giúp người hiến máu"),
            _("/checkin – check-in, ghi nhận hiến máu hoặc hoãn hiến tại điểm hiến máu"),
            _("/calls – danh sách người cần gọi điện hỏi thăm, ghi kết quả cuộc gọi"),
            _("/drivenotice – nhắn nhanh người đã đăng ký đợt hôm nay (vắng, đông, mang CCCD)"),
        ]
    if Role.CLUB_CHAIR in ctx.roles:
        lines += [
            "",
            _("Dành cho chủ nhiệm CLB:"),
            _("/newclub – tạo câu lạc bộ hiến máu"),
            _("/members – thành viên, link mời, tải danh sách"),
            _("/broadcast – gửi thông báo; /broadcasts – kết quả gửi"),
            _("/linkclub – gõ trong nhóm chat để gắn nhóm với CLB"),
            _("/analytics – người quay lại, hiệu quả tin nhắn, tiến độ chiến dịch"),
            _("/lapsed – người lâu chưa quay lại, nhắn mời họ một lần bấm"),
            _("/block – giữ chỗ cho CLB trong một khung giờ của đợt hiến máu"),
        ]
    if Role.COMMITTEE in ctx.roles:
        lines += [
            "",
            _("Dành cho Ban chỉ đạo:"),
            _("/grant – trao vai trò hoặc tạo link mời"),
            _("/newdrive – tạo đợt hiến máu mới"),
            _("/managedrives – sửa, mở, dời lịch, huỷ đợt"),
            _("/tally – báo cáo số liệu hôm nay"),
            _("/report – báo cáo tổng kết năm (Excel, biểu đồ)"),
            _("/quota – chỉ tiêu và tiến độ các đơn vị"),
            _("/honours – danh sách tôn vinh theo mốc số lần hiến (Excel)"),
            _("Gửi tệp kế hoạch năm (CSV/XLSX) để nhập các đợt hiến máu."),
            _("Gửi bảng chỉ tiêu (CSV/XLSX) để nhập chỉ tiêu các đơn vị."),
        ]
    elif Role.CLUB_CHAIR in ctx.roles:
        lines.append(_("/quota – chỉ tiêu và tiến độ của đơn vị"))
        lines.append(_("/tally – số liệu hôm nay của thành viên CLB"))
    if Role.ADMIN in ctx.roles:
        lines += ["", _("Dành cho quản trị viên:"), _("/audit – ai đã xem, sửa dữ liệu của ai")]
    return [Reply("\n".join(lines))]


async def language(ctx: Ctx) -> list[Reply]:
    return [
        Reply(
            _("Chọn ngôn ngữ / Choose your language:"),
            buttons=(Button("Tiếng Việt", "lang:vi"), Button("English", "lang:en")),
            columns=2,
        )
    ]


async def language_button(ctx: Ctx, value: str) -> list[Reply]:
    chosen = identities.set_language(ctx.identity, ctx.person, value)
    with use_language(chosen):
        return [Reply(_("Đã chuyển sang tiếng Việt."))]


async def cancel(ctx: Ctx) -> list[Reply]:
    if ctx.state is None:
        return [Reply(_("Không có thao tác nào đang làm dở."), buttons=main_menu())]
    await wizard.end(ctx)
    return [Reply(_("Đã huỷ. Những gì bạn nhập dở chưa được lưu."), buttons=main_menu())]


async def unknown(ctx: Ctx) -> list[Reply]:
    return [Reply(_("Mình chưa hiểu lệnh này. Gõ /help để xem các lệnh."), buttons=main_menu())]
