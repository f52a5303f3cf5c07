"""Quotas through the console: `/quota` for a committee member (every unit of their scope), a
club chair (their own unit) and people without a role; a quota table sent as a file, with its
preview, a near name merged by a button, and the import."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select

from db.models import Donation, Quota, Unit
from handlers.engine import Engine
from handlers.messages import Attachment, Inbound, InboundKind
from services import quotas, units
from services.audit import Actor
from services.quota_file import read_quotas
from services.work import Database
from tests.conftest import Transcript
from tests.sample import add_person, load_units
from tests.sample_drives import EXAMPLE_PLAN, import_example_plan

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quotas-thainguyen-2021.csv"
LAI_CHAU_QUOTAS = "\n".join(
    (
        "TT,Đơn vị,Chỉ tiêu,Tháng",
        '1,BCĐ HMTN huyện Tam Đường,1.230,"3, 9"',
        '2,TP Lai Châu,230,"4, 8"',
        '3,CLB HMTN Công an tỉnh,330,"1, 7"',
        '4,Huyện Sìn Hồ,200,"4, 9"',
    )
)


async def import_table(
    database: Database, text: str, year: int, parent_code: str = "LCU"
) -> quotas.QuotaImport:
    parsed = read_quotas(text.encode(), "chi-tieu.csv")
    assert parsed.problems == ()
    async with database.work() as work:
        return await quotas.import_quotas(
            work, parsed, year, Actor("test"), parent_code=parent_code
        )


async def donate_at_drive_three(database: Database, person_id: int, times: int) -> None:
    async with database.work() as work:
        third = await quotas.resolve_drive(work, "2019/3")  # Tam Đường's drive in March
        for day in range(1, times + 1):
            work.session.add(
                Donation(
                    person_id=person_id,
                    donated_on=dt.date(2019, 3, day),
                    drive_id=third.id,
                    kind="whole_blood",
                    created_at=work.now(),
                )
            )


async def send_file(engine: Engine, chat: Transcript, filename: str, content: bytes) -> str:
    """The person behind `chat` sends a file (as Telegram does); its buttons become the menu."""
    user = chat.console.user_id
    chat.replies = await engine.dispatch(
        Inbound(
            channel="console",
            user_id=user,
            chat_id=user,
            kind=InboundKind.DOCUMENT,
            payload=filename,
            attachment=Attachment(filename, content, "text/csv"),
        )
    )
    menus = [reply.choices for reply in chat.replies if reply.choices]
    chat.console.menu = menus[-1] if menus else ()
    return "\n".join(reply.text for reply in chat.replies)


async def test_committee_sees_its_units_a_chair_their_own_and_others_are_refused(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    await import_example_plan(database, unit_code="LCU")
    await import_table(database, LAI_CHAU_QUOTAS, 2019)
    await add_person(
        database, "bcd", "Nguyễn Minh Đức", "+84912000003", role="committee", unit="LCU"
    )
    await add_person(
        database, "chu", "Lò Văn Chủ", "+84912000004", role="club_chair", unit="LCU-CLB-CA"
    )
    await add_person(
        database, "tnv", "Trần Văn Tình", "+84912000005", role="volunteer", unit="LCU-TD"
    )
    donor = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    await donate_at_drive_three(database, donor, 3)

    committee = await chat_factory("bcd").say("/quota 2019")
    assert "Chỉ tiêu năm 2019: 4 đơn vị, tổng 1.990 đơn vị máu." in committee
    assert "Đã thu 3 (0%) · 4 đơn vị chậm tiến độ." in committee
    assert "📂 Tỉnh Lai Châu" in committee
    assert (
        "• Huyện Tam Đường: chỉ tiêu 1.230 · đã thu 3 (0%) · 2 đợt, kế hoạch 230 "
        "· ⚠️ chậm (đến nay cần 1.230)" in committee
    )
    assert "• Thành phố Lai Châu: chỉ tiêu 230" in committee
    assert "• Huyện Sìn Hồ: chỉ tiêu 200" in committee
    assert "CLB Hiến máu tình nguyện Công an tỉnh: chỉ tiêu 330" in committee

    nothing = await chat_factory("bcd").say("/quota")  # this year: 2026
    assert "Chưa có chỉ tiêu năm 2026" in nothing and "Gửi bảng chỉ tiêu" in nothing
    assert "/quota 2025" in nothing
    assert "chưa đúng" in await chat_factory("bcd").say("/quota năm ngoái")

    chair = await chat_factory("chu").say("/quota 2019")
    assert "Chỉ tiêu năm 2019: 1 đơn vị, tổng 330 đơn vị máu." in chair
    assert "📂 Công an tỉnh Lai Châu" in chair
    assert "CLB Hiến máu tình nguyện Công an tỉnh: chỉ tiêu 330" in chair
    assert "Tam Đường" not in chair and "Gửi bảng chỉ tiêu" not in chair

    for user in ("tnv", "lan"):
        assert "dành cho người có vai trò" in await chat_factory(user).say("/quota 2019")


async def test_a_long_list_comes_in_several_messages(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    rows = [f"{n},Xã Số {n} có tên khá dài để thử chia tin nhắn,{n * 10}," for n in range(1, 121)]
    await import_table(database, "\n".join(["TT,Đơn vị,Chỉ tiêu,Tháng", *rows]), 2026)
    await add_person(
        database, "bcd", "Nguyễn Minh Đức", "+84912000003", role="committee", unit="LCU"
    )
    chat = chat_factory("bcd")
    text = await chat.say("/quota")
    assert len(chat.replies) > 1 and all(len(r.text) <= 4096 for r in chat.replies)
    assert "tổng 72.600 đơn vị máu" in chat.replies[0].text
    assert all(f"Xã Số {n} có tên" in text for n in range(1, 121))
    assert all(r.text.strip() for r in chat.replies)


async def test_a_quota_table_sent_as_a_file_is_previewed_merged_and_imported(
    database: Database, engine: Engine, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    await add_person(
        database, "bcd", "Nguyễn Minh Đức", "+84912000003", role="committee", unit="LCU"
    )
    chat = chat_factory("bcd")
    table = LAI_CHAU_QUOTAS.replace("Huyện Sìn Hồ", "Huyện Sín Hồ")  # a tone mark off
    preview = await send_file(engine, chat, "chỉ tiêu.csv", table.encode())
    assert "Bảng chỉ tiêu năm 2026 (năm nay, vì tệp không ghi năm): 4 chỉ tiêu, tổng 1.990" in (
        preview
    )
    assert "«Huyện Sín Hồ» (dòng 5) có thể là «Huyện Sìn Hồ» (LCU-SH)" in preview
    assert "🆕 1 đơn vị mới: Huyện Sín Hồ" in preview
    merged = await chat.choose("Gộp «Huyện Sín Hồ» = «Huyện Sìn Hồ»")
    assert "🔗 Đã gộp «Huyện Sín Hồ» vào «Huyện Sìn Hồ»." in merged
    assert "đơn vị mới" not in merged and "có thể là" not in merged
    done = await chat.choose("Nhập")
    assert "Đã nhập 4 chỉ tiêu năm 2026, tổng 1.990 đơn vị máu" in done
    assert "0 đơn vị mới" in done and "/quota 2026" in done
    async with database.work() as work:
        count = select(func.count()).select_from(Unit)
        assert await work.session.scalar(count) == 24  # the sample tree, nothing added
        figures = {f.code: f.quota for f in await quotas.quota_figures(work, 2026)}
    assert figures == {"LCU-TD": 1230, "LCU-TP": 230, "LCU-CLB-CA": 330, "LCU-SH": 200}

    # Sent again with one figure changed: the preview says old -> new; Huỷ stores nothing.
    changed = LAI_CHAU_QUOTAS.replace("TP Lai Châu,230", "TP Lai Châu,260")
    preview = await send_file(engine, chat, "chi-tieu-2026.csv", changed.encode())
    assert "năm 2026 (theo tên tệp)" in preview
    assert "cập nhật: 1 · không đổi: 3" in preview and "Thành phố Lai Châu: 230 → 260" in preview
    assert "Đã huỷ, chưa nhập gì" in await chat.choose("Huỷ")

    # The year in the title rows; a total that disagrees is a warning in the preview.
    titled = EXAMPLE.read_text(encoding="utf-8").replace("24.500 đơn vị máu", "24.000")
    async with database.work() as work:
        await units.upsert(
            work, [units.UnitRow("TNG", "Tỉnh Thái Nguyên", units.UnitKind.PROVINCE, None)]
        )
    preview = await send_file(engine, chat, "phu-luc.csv", titled.encode())
    assert "Bảng chỉ tiêu năm 2021 (theo nội dung tệp): 29 chỉ tiêu, tổng 24.500" in preview
    assert "Dòng tổng ghi 24.000 nhưng cộng các dòng được 24.500" in preview
    assert "🆕 32 đơn vị mới: Đại học Thái Nguyên, Đại học Sư phạm" in preview
    assert "… và 24 đơn vị khác" in preview
    await chat.choose("Huỷ")

    # Bad rows are refused with their row and column; nothing is stored.
    bad = 'TT,Đơn vị,Chỉ tiêu,Tháng\n1,Xã Bình Lư,"1,5",\n2,Xã Than Uyên,50,13\n'
    refusal = await send_file(engine, chat, "chi-tieu-2026.csv", bad.encode())
    assert "Tệp có 2 dòng lỗi, mình chưa nhập gì" in refusal
    assert "Dòng 2, cột «Chỉ tiêu»" in refusal and "Dòng 3, cột «Tháng»" in refusal
    async with database.work() as work:
        assert await work.session.scalar(select(func.count()).select_from(Quota)) == 4

    # A plan is still a plan; a file that is neither gets the plan's message, as before.
    plan = await send_file(engine, chat, "ke-hoach-2019.csv", EXAMPLE_PLAN.read_bytes())
    assert "Kế hoạch năm 2019: 19 đợt" in plan
    await chat.choose("Huỷ")
    other = await send_file(engine, chat, "ghi-chu.csv", "Họ tên,Ghi chú\nAn,x\n".encode())
    assert "Không tìm thấy dòng tiêu đề của bảng" in other and "«Ngày»" in other

    # Someone without the role who sends a table is told files are not read.
    await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    donor = chat_factory("lan")
    assert "chỉ đọc được tin nhắn chữ" in await send_file(engine, donor, "x.csv", table.encode())
