"""Clubs, invitations and broadcasts through the console, and the role matrix."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from db.models import Broadcast, ClubMember, Outbox, Unit
from handlers import COMMANDS
from scheduler.sender import Limits, Sender
from services import broadcasts, clubs, invites, persons, roles, units
from services.audit import Actor
from services.broadcasts import Audience
from services.clock import FixedClock
from services.errors import Conflict, InvalidInput, NotAllowed
from services.roles import Role
from services.schedule import QuietHours
from services.work import Database
from tests.conftest import ZONE
from tests.sample import add_person, load_units

REFUSED = "dành cho người có vai trò"


async def _invite(database: Database, role: Role, unit_code: str, days: int = 7) -> str:
    async with database.work() as work:
        unit = await units.by_code(work, unit_code)
        assert unit is not None
        created = await invites.grant_invite(work, None, role, unit, Actor("cli"), days)
        return created.payload


async def test_a_role_invitation_registers_the_newcomer_and_works_once(
    database: Database, chat_factory, clock: FixedClock
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    payload = await _invite(database, Role.VOLUNTEER, "LCU-TD")
    newcomer = chat_factory("new")
    first = await newcomer.say(f"/start {payload}")
    assert "Bạn được mời qua một đường link" in first
    await newcomer.choose("Tôi đồng ý")
    await newcomer.choose("Có, nhắc tôi")
    await newcomer.choose("Đồng ý")
    await newcomer.say("Trần Văn Hùng")
    await newcomer.say("0912 000 011")
    await newcomer.say("1990")
    await newcomer.choose("Nam")
    await newcomer.choose("O Rh+")
    await newcomer.say("tam duong")
    await newcomer.choose("Huyện Tam Đường")
    await newcomer.choose("Bỏ qua")
    done = await newcomer.choose("Lưu")
    assert "đăng ký thành công" in done and "vai trò tình nguyện viên tại Huyện Tam Đường" in done
    assert "/adddonor" in await newcomer.say("/help")
    # Used: a second person gets a clear refusal; an expired link too.
    other = chat_factory("other")
    assert "đã được dùng" in await other.say(f"/start {payload}")
    old = await _invite(database, Role.VOLUNTEER, "LCU-TD", days=1)
    clock.advance(dt.timedelta(days=2))
    assert "hết hạn" in await other.say(f"/start {old}")
    assert "không hợp lệ" in await other.say("/start inv_forged-token-123")


async def test_committee_grants_lower_roles_in_scope_only(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    await add_person(
        database, "bcd", "Nguyễn Minh Đức", "+84912000003", role="committee", unit="LCU-TD"
    )
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    bcd = chat_factory("bcd")
    ask = await bcd.say("/grant")
    assert bcd.menu == ["tình nguyện viên", "chủ nhiệm CLB"]  # nothing at or above their own
    assert "Trao vai trò" in ask
    await bcd.choose("tình nguyện viên")
    assert "trong phạm vi của bạn" in await bcd.say("than uyen")  # another district
    await bcd.say("tam duong")
    await bcd.choose("Huyện Tam Đường")
    assert "Đã trao vai trò tình nguyện viên" in await bcd.say("0912 300 001")
    async with database.work() as work:
        assert await roles.has_role(work, lan, Role.VOLUNTEER)
    await bcd.say("/grant")
    await bcd.choose("chủ nhiệm CLB")
    await bcd.say("tam duong")
    await bcd.choose("Huyện Tam Đường")
    link = await bcd.choose("Tạo link mời")
    assert "/start inv_" in link and bcd.replies[-1].attachment is not None
    assert REFUSED in await chat_factory("lan").say("/grant")


async def test_chair_runs_a_club_roster_export_and_broadcast(
    database: Database, chat_factory, clock: FixedClock
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    await add_person(
        database, "chair", "Lò Thị Mai", "+84912000002", role="club_chair", unit="LCU-TD"
    )
    members = [
        await add_person(database, f"m{i}", f"Thành Viên {name}", f"+8491230100{i}")
        for i, name in enumerate(("An", "Bình", "Chi"))
    ]
    chair = chat_factory("chair")
    await chair.say("/newclub")
    await chair.say("CLB Hiến máu xã Bình Lư")
    created = await chair.choose("CLB nhóm máu hiếm Rh(-)")
    assert "Đã tạo CLB Hiến máu xã Bình Lư" in created
    payload = created.split("/start ")[1].split()[0]
    for i in range(3):
        assert "Chào mừng bạn gia nhập" in await chat_factory(f"m{i}").say(f"/start {payload}")
    async with database.work() as work:
        club = await work.session.scalar(select(Unit).where(Unit.name == "CLB Hiến máu xã Bình Lư"))
        assert club is not None and club.club_kind == "rh_negative"
        person = await persons.get(work, members[2])
        assert person is not None
        await persons.set_consent(work, person, persons.Purpose.CLUB_SHARING, False, Actor("t"))
    roster = await chair.say("/members")
    assert "4 thành viên" in roster and "Thành Viên An · O Rh+" in roster
    assert "Thành Viên Chi (chưa đồng ý chia sẻ" in roster
    await chair.choose("Tải danh sách")
    attachment = chair.replies[0].attachment
    assert attachment is not None
    sheet = load_workbook(io.BytesIO(attachment.content)).active
    assert sheet is not None
    names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "Thành Viên An" in names and sheet["B2"].value in {"O+", ""}

    # A broadcast: preview with the count, then one send even if "send" is pressed twice.
    await chair.say("/broadcast")
    await chair.choose("CLB Hiến máu xã Bình Lư")
    await chair.choose("Tất cả")
    assert "tối đa" in await chair.say("x" * 10_000)
    await chair.say("Thứ Bảy này hiến máu tại Nhà văn hoá xã nhé!")
    await chair.choose("Không gấp")
    preview = await chair.say("1")  # typed number of the first button: "Gửi"
    assert "Đã xếp lịch gửi tới 4 người" in preview
    assert "Đã xếp lịch" not in await chair.say("1")  # a second press sends nothing
    async with database.work() as work:
        notices = list(await work.session.scalars(select(Outbox).where(Outbox.key == "notice")))
    assert len(notices) == 4 and all(not n.urgent for n in notices)

    inbox: list[tuple[str, str]] = []

    async def deliver(chat_id: str, replies: list) -> None:  # type: ignore[type-arg]
        inbox.extend((chat_id, r.text) for r in replies)

    sender = Sender(database, {"console": deliver}, {"console": Limits(1000, 0)})
    await sender.drain()
    assert sorted(chat for chat, _t in inbox) == ["chair", "m0", "m1", "m2"]
    assert "Thông báo từ CLB Hiến máu xã Bình Lư" in inbox[0][1]
    assert "đã gửi 4" in await chair.say("/broadcasts")

    # An urgent call needs a reason, and passes quiet hours.
    clock.set(dt.datetime(2026, 11, 26, 23, 0, tzinfo=ZONE))
    await chair.say("/broadcast")
    await chair.choose("CLB Hiến máu xã Bình Lư")
    await chair.choose("Tất cả")
    await chair.say("Cần gấp 2 người nhóm O Rh- tại BV tỉnh")
    assert "lý do" in await chair.say("gấp")
    preview = await chair.say("Bệnh nhân tai nạn cần máu O Rh- ngay")
    assert "Gọi khẩn, gửi cả giờ nghỉ" in preview
    assert "Đã xếp lịch gửi tới 4 người" in await chair.choose("Gửi")
    inbox.clear()
    quiet = QuietHours.parse("21:00-07:00")
    await Sender(database, {"console": deliver}, {"console": Limits(1000, 0)}, quiet=quiet).drain()
    assert len(inbox) == 4

    # Removing a member.
    await chair.say("/members")
    await chair.choose("Xoá thành viên")
    assert "Đã xoá Thành Viên Bình" in await chair.choose("Thành Viên Bình")
    async with database.work() as work:
        removed = await work.session.scalar(
            select(ClubMember).where(ClubMember.person_id == members[1])
        )
        assert removed is not None and removed.removed_at is not None


async def test_broadcast_refusals(database: Database) -> None:
    await load_units(database)
    chair_id = await add_person(
        database, "c1", "Chủ Nhiệm Một", "+84912000021", role="club_chair", unit="LCU-TD"
    )
    other_id = await add_person(
        database, "c2", "Chủ Nhiệm Hai", "+84912000022", role="club_chair", unit="LCU-TU"
    )
    async with database.work() as work:
        chair = await persons.get(work, chair_id)
        other = await persons.get(work, other_id)
        assert chair is not None and other is not None
        club = await clubs.create(work, chair, "CLB Tam Đường", clubs.ClubKind.REGULAR, Actor("t"))
        with pytest.raises(NotAllowed):
            await clubs.roster(work, other, club, Actor("t"))
        with pytest.raises(NotAllowed):
            await broadcasts.send(
                work, other, "Xin chào", Audience(club_id=club.id), Actor("t"), "k1"
            )
        with pytest.raises(InvalidInput):
            await broadcasts.send(
                work,
                chair,
                "Gấp",
                Audience(club_id=club.id),
                Actor("t"),
                "k2",
                urgent=True,
                reason="Cần máu gấp cho bệnh nhân",
            )  # a regular club cannot call urgently
        with pytest.raises(Conflict):
            await broadcasts.send(
                work,
                chair,
                "Xin chào",
                Audience(club_id=club.id, blood_groups=("AB-",)),
                Actor("t"),
                "k3",
            )  # nobody in that audience
        first, new = await broadcasts.send(
            work, chair, "Xin chào", Audience(club_id=club.id), Actor("t"), "k4"
        )
        again, new_again = await broadcasts.send(
            work, chair, "Xin chào", Audience(club_id=club.id), Actor("t"), "k4"
        )
        assert new and not new_again and first.id == again.id
        assert len(list(await work.session.scalars(select(Broadcast)))) == 1


ROLES = (None, "donor", "volunteer", "club_chair", "committee", "admin")
RANKS = {None: -1, "donor": 0, "volunteer": 1, "club_chair": 2, "committee": 3, "admin": 4}


@pytest.mark.slow
async def test_every_command_as_every_role(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    """The role matrix: a command is refused below its role and answered at or above it."""
    await load_units(database)
    for number, role in enumerate(ROLES):
        if role is not None:
            await add_person(
                database,
                f"as-{role}",
                "Người Thử",
                f"+8491250000{number}",
                role=None if role == "donor" else role,
                unit="LCU",
            )
    for name, command in sorted(COMMANDS.items()):
        needed = RANKS[command.role.value] if command.role else -1
        for role in ROLES:
            chat = chat_factory(f"as-{role}")
            answer = await chat.say(f"/{name}")
            await chat.say("/cancel")
            refused = REFUSED in answer
            assert refused == (RANKS[role] < needed), (name, role, answer[:120])
            assert "trục trặc" not in answer, (name, role)
