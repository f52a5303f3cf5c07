"""Groups at drives through the console: a family pledge of three (a donor and two companions
in one slot), and a club block reserved by a chair, claimed by members and released with the
chair told; each bad input with its own message, capacity never exceeded."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select

from db.models import Audit, ClubBlock, DriveSlot, Outbox, Person, Pledge
from handlers.engine import Engine
from handlers.messages import Inbound, InboundKind, Reply
from scheduler.sender import Limits, Sender
from scheduler.ticker import Ticker
from services import clubs, invites, persons, pledges
from services.audit import Actor
from services.clock import FixedClock
from services.clubs import ClubKind
from services.drives import SlotSpec
from services.planners import PlanSettings
from services.schedule import QuietHours
from services.work import Database
from tests.conftest import ZONE
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive

DAY = dt.date(2026, 12, 12)  # a Saturday
SLOTS = (SlotSpec(dt.time(7, 30), dt.time(8, 30), 5), SlotSpec(dt.time(8, 30), dt.time(10), 40))


class Inbox:
    """A console channel that records what the sender delivers."""

    def __init__(self) -> None:
        self.got: list[tuple[str, str]] = []

    async def deliver(self, chat_id: str, replies: list[Reply]) -> None:
        self.got.extend((chat_id, r.text) for r in replies)


def ticker(database: Database, inbox: Inbox) -> Ticker:
    sender = Sender(
        database,
        {"console": inbox.deliver},
        {"console": Limits(per_second=1000, per_chat_seconds=0)},
        quiet=QuietHours.parse("21:00-07:00"),
    )
    return Ticker(database, PlanSettings(), sender)


async def _slots(database: Database) -> list[DriveSlot]:
    async with database.work() as work:
        return list(await work.session.scalars(select(DriveSlot).order_by(DriveSlot.start_time)))


async def _count(database: Database, model: type[Person] | type[Pledge]) -> int:
    async with database.work() as work:
        return int(await work.session.scalar(select(func.count(model.id))) or 0)


async def _pledge_slot(chat, place: str = "Bình Lư", slot: str = "07:30–08:30") -> str:  # type: ignore[no-untyped-def]
    await chat.say("/drives")
    await chat.choose(place)
    await chat.choose("Đăng ký hiến máu")
    return str(await chat.choose(slot))


async def test_a_family_of_three_pledges_one_slot_and_one_companion_cancels(
    database: Database, chat_factory, clock: FixedClock
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    drive_id = await add_drive(database, DAY, slots=SLOTS, unit_code="LCU")
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    chat = chat_factory("lan")
    done = await _pledge_slot(chat)
    assert "Bạn đã đăng ký khung 07:30–08:30" in done and "còn 4/5 chỗ" in done
    assert "👨‍👩‍👧 Thêm người đi cùng" in chat.menu  # "tôi và người đi cùng", after the slot

    ask = await chat.choose("Thêm người đi cùng")
    assert "Bạn đi cùng mấy người?" in ask and "còn 4 chỗ" in ask
    assert chat.menu == ["1", "2", "3", "4"]
    assert "chỉ còn 4 chỗ" in await chat.say("5")  # more companions than places left
    assert "người đi cùng thứ 1/2" in await chat.choose("2")
    assert "Số điện thoại của Lê Thị Hoa" in await chat.say("lê thị hoa")
    own = await chat.say("0912 300 001")
    assert "Đây là số điện thoại của chính bạn" in own
    assert "Ngày sinh của Lê Thị Hoa" in await chat.say("0987 654 321")
    young = await chat.say("2010")  # 16 on the drive's day
    assert "từ 18 đến 60 tuổi vào ngày hiến (12/12/2026)" in young
    assert "người đi cùng thứ 2/2" in await chat.say("1998")
    await chat.say("Lê Văn Nam")
    assert "đã nhập cho người đi cùng trước" in await chat.say("0987654321")
    await chat.say("0987 654 322")
    assert "đã đồng ý để bạn đăng ký giúp" in await chat.say("15/03/2000")
    review = await chat.choose("Người đi cùng đã đồng ý")
    assert "1. Lê Thị Hoa · 0987 654 321 · 1998" in review
    assert "2. Lê Văn Nam · 0987 654 322 · 15/03/2000" in review
    saved = await chat.choose("Lưu")
    assert "Đã giữ chỗ cho 2 người đi cùng bạn: Lê Thị Hoa, Lê Văn Nam" in saved
    assert [s.taken for s in await _slots(database)] == [3, 0]  # every place counted

    async with database.work() as work:
        hoa = await persons.find_by_phone(work, "+84987654321")
        nam = await persons.find_by_phone(work, "+84987654322")
        assert hoa is not None and nam is not None
        for companion in (hoa, nam):  # registered on behalf by the donor, not confirmed
            assert companion.registered_by_id == lan and persons.awaits_confirmation(companion)
            row = await pledges.current(work, companion.id, drive_id)
            assert row is not None and row.booked_by_id == lan and row.status == "pledged"
        assert {p.value for p in await persons.active_consents(work, hoa.id)} == {"registration"}
        actions = list(
            await work.session.scalars(
                select(Audit.action).where(Audit.subject_person_id == hoa.id).order_by(Audit.id)
            )
        )
        assert actions == ["person.register_on_behalf", "pledge.companion"]
        hoa_id, nam_id = hoa.id, nam.id

    mine = await chat.say("/mypledges")
    assert "👥 Người đi cùng: Lê Thị Hoa, Lê Văn Nam" in mine
    assert "Huỷ chỗ của Lê Thị Hoa" in chat.menu and "Huỷ chỗ của Lê Văn Nam" in chat.menu
    cancelled = await chat.choose("Huỷ chỗ của Lê Văn Nam")
    assert "Đã huỷ chỗ của Lê Văn Nam ở đợt ngày 12/12/2026" in cancelled
    assert [s.taken for s in await _slots(database)] == [2, 0]  # one place freed
    assert "Người đi cùng: Lê Thị Hoa\n" in await chat.say("/mypledges") + "\n"

    # Three days before, the reminder goes to the donor only: companions get nothing yet.
    clock.set(dt.datetime(2026, 12, 9, 7, 30, tzinfo=ZONE))
    inbox = Inbox()
    await ticker(database, inbox).tick()
    assert [chat for chat, _text in inbox.got] == ["lan"]
    async with database.work() as work:
        queued = set(await work.session.scalars(select(Outbox.person_id)))
    assert queued == {lan}
    clock.set(dt.datetime(2026, 11, 26, 10, 0, tzinfo=ZONE))

    # The donor's export names the companions they booked, and nothing more about them.
    await chat.say("/export")
    attachment = chat.replies[0].attachment
    assert attachment is not None
    exported = json.loads(attachment.content)
    assert exported["companions_booked"] == [
        {"name": "Lê Thị Hoa", "drive_date": "2026-12-12", "status": "pledged"},
        {"name": "Lê Văn Nam", "drive_date": "2026-12-12", "status": "cancelled"},
    ]

    # A companion's first chat asks them to confirm the record made for them.
    hoa_chat = chat_factory("hoa")
    await hoa_chat.say("/start")
    await hoa_chat.choose("Tôi đồng ý")
    await hoa_chat.say("có")
    await hoa_chat.say("không")
    await hoa_chat.say("Lê Thị Hoa")
    assert "xác nhận đây là bạn" in await hoa_chat.say("0987654321")
    assert "Cảm ơn bạn đã xác nhận" in await hoa_chat.say("1998")
    assert "khung 07:30–08:30" in await hoa_chat.say("/mypledges")
    # Her /forget gives her place back.
    await hoa_chat.say("/forget")
    await hoa_chat.choose("Xoá vĩnh viễn")
    assert [s.taken for s in await _slots(database)] == [1, 0]
    async with database.work() as work:
        erased = await work.session.get(Person, hoa_id)
        assert erased is not None and erased.status == "erased"
        row = await pledges.current(work, hoa_id, drive_id)
        assert row is not None and row.status == "cancelled" and row.booked_by_id is None
        assert (await work.session.get(Person, nam_id)) is not None


async def test_companions_refused_or_reused_leave_nothing_half_written(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    drive_id = await add_drive(database, DAY, slots=(SlotSpec(dt.time(7, 30), dt.time(9), 3),))
    await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    binh = await add_person(database, "binh", "Lê Văn Bình", "+84912300002")
    cuc = await add_person(database, "cuc", "Phạm Thị Cúc", "+84912300003")
    chat = chat_factory("lan")
    await _pledge_slot(chat, slot="07:30–09:00")
    await chat.choose("Thêm người đi cùng")
    assert chat.menu == ["1", "2"]
    await chat.choose("2")
    for name, phone, year in (
        ("Lê Văn Bình", "0912300002", "1990"),
        ("Mai Anh", "0987111222", "1995"),
    ):
        await chat.say(name)
        await chat.say(phone)
        await chat.say(year)
    await chat.choose("Người đi cùng đã đồng ý")
    people_before = await _count(database, Person)
    # Meanwhile someone else takes a place: two are no longer free.
    slot_id = (await _slots(database))[0].id
    async with database.work() as work:
        person = await persons.get(work, cuc)
        assert person is not None
        await pledges.pledge(work, person, drive_id, slot_id, Actor("t"))
    refused = await chat.choose("Lưu")
    assert "Khung 07:30 chỉ còn 1 chỗ, không đủ cho 2 người đi cùng" in refused
    assert await _count(database, Person) == people_before  # no companion record left behind
    assert [s.taken for s in await _slots(database)] == [2]
    async with database.work() as work:
        assert await pledges.current(work, binh, drive_id) is None

    # One companion is a donor already on file: their record is used, not copied.
    await chat.say("/mypledges")
    await chat.choose("12/12")
    await chat.choose("Thêm người đi cùng")
    assert chat.menu == ["1"]
    await chat.choose("1")
    await chat.say("Bình")  # whatever name the donor knows them by
    await chat.say("0912 300 002")
    await chat.say("1990")
    await chat.choose("Người đi cùng đã đồng ý")
    assert "Đã giữ chỗ cho 1 người đi cùng bạn: Bình" in await chat.choose("Lưu")
    assert await _count(database, Person) == people_before
    assert [s.taken for s in await _slots(database)] == [3]
    async with database.work() as work:
        row = await pledges.current(work, binh, drive_id)
        assert row is not None and row.status == "pledged"
        record = await work.session.get(Person, binh)
        assert record is not None and record.full_name == "Lê Văn Bình"  # unchanged
    # The donor sees the name they typed, never what the record on file holds.
    mine = await chat.say("/mypledges")
    assert "👥 Người đi cùng: Bình\n" in mine and "Lê Văn Bình" not in mine
    await chat.choose("12/12")
    assert "đã kín chỗ" in await chat.choose("Thêm người đi cùng")  # the slot is full now


def _tap(user: str, payload: str) -> Inbound:
    return Inbound("console", user, user, InboundKind.BUTTON, payload, display_name=user)


async def test_a_club_block_is_reserved_claimed_and_released_with_the_chair_told(
    database: Database, chat_factory, engine: Engine, clock: FixedClock
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    await add_drive(
        database,
        DAY,
        slots=(
            SlotSpec(dt.time(7, 30), dt.time(8, 30), 30),
            SlotSpec(dt.time(8, 30), dt.time(10), 40),
        ),
    )
    chair = await add_person(
        database, "chu", "Đỗ Văn Chủ", "+84912300009", role="club_chair", unit="LCU-TD"
    )
    members = [
        await add_person(database, f"m{i}", f"Thành Viên {i}", f"+8491230002{i}") for i in range(3)
    ]
    await add_person(database, "out", "Người Ngoài", "+84912300031")
    async with database.work() as work:
        person = await persons.get(work, chair)
        assert person is not None
        club = await clubs.create(
            work, person, "CLB Ngân hàng máu sống", ClubKind.REGULAR, Actor("t")
        )
        for member_id in members:
            member = await persons.get(work, member_id)
            assert member is not None
            await invites.join_club(work, club, member, Actor("t"))

    boss = chat_factory("chu")
    assert "Giữ chỗ ở đợt nào?" in await boss.say("/block")
    assert "Khung giờ nào?" in await boss.choose("12/12")
    ask = await boss.choose("07:30–08:30")
    assert "còn 30/30 chỗ trống" in ask
    too_big = await boss.say("40")  # a block larger than the slot
    assert "Khung 07:30 chỉ có 30 chỗ tất cả, không giữ được 40 chỗ." in too_big
    done = await boss.say("20")
    assert "Đã giữ 20 chỗ cho CLB Ngân hàng máu sống" in done and "ngày 10/12/2026" in done
    assert [s.taken for s in await _slots(database)] == [20, 0]

    public = chat_factory("out")
    listing = await public.say("/drives")
    assert "còn 50 chỗ" in listing and "🎟" not in listing  # blocked places are not free
    assert "07:30–08:30: còn 10/30 chỗ" in await public.choose("Bình Lư")
    async with database.work() as work:
        block_id = await work.session.scalar(select(ClubBlock.id))
    refused = await engine.dispatch(_tap("out", f"bclaim:{block_id}"))  # a non-member
    assert "giữ riêng cho thành viên" in refused[0].text

    first = chat_factory("m0")
    shown = await first.say("/drives")
    assert "🎟 12/12 · CLB Ngân hàng máu sống giữ 20 chỗ (còn 20), 07:30–08:30" in shown
    claimed = await first.choose("Nhận 1 chỗ của CLB Ngân hàng máu sống")
    assert "Bạn đã nhận 1 chỗ CLB Ngân hàng máu sống giữ" in claimed
    again = await engine.dispatch(_tap("m0", f"bclaim:{block_id}"))  # a second tap
    assert "Bạn đã nhận 1 chỗ" in again[0].text
    second = chat_factory("m1")
    await second.say("/drives")
    card = await second.choose("Bình Lư")
    assert "(còn 19), 07:30–08:30" in card
    await second.choose("Nhận 1 chỗ")
    assert [s.taken for s in await _slots(database)] == [20, 0]  # claims change no count
    # A member who cannot go gives the place back to the club, not to the public.
    await second.say("/mypledges")
    await second.choose("Bình Lư")
    await second.choose("Huỷ đăng ký")
    async with database.work() as work:
        block = await work.session.get(ClubBlock, block_id)
        assert block is not None and block.claimed == 1
    assert [s.taken for s in await _slots(database)] == [20, 0]

    # Two days before the drive the 19 unclaimed places go back; the chair is told, once.
    inbox = Inbox()
    clock.set(dt.datetime(2026, 12, 9, 23, 0, tzinfo=ZONE))
    await ticker(database, inbox).tick()
    assert inbox.got == [] and [s.taken for s in await _slots(database)] == [20, 0]
    clock.set(dt.datetime(2026, 12, 10, 8, 0, tzinfo=ZONE))
    await ticker(database, inbox).tick()
    await ticker(database, inbox).tick()
    told = [text for chat_id, text in inbox.got if chat_id == "chu"]
    assert told == [
        "🎟 CLB Ngân hàng máu sống: 19/20 chỗ chưa ai nhận đã trả lại cho mọi người "
        "(đợt ngày 12/12/2026, khung 07:30–08:30)."
    ]
    assert [s.taken for s in await _slots(database)] == [1, 0]
    async with database.work() as work:
        block = await work.session.get(ClubBlock, block_id)
        assert block is not None and block.released_places == 19
    assert "🎟" not in await second.say("/drives")
    late = await engine.dispatch(_tap("m1", f"bclaim:{block_id}"))
    assert "đã trả lại cho mọi người" in late[0].text
    # After the release, a claimed place that is cancelled goes to everyone.
    await first.say("/mypledges")
    await first.choose("Bình Lư")
    await first.choose("Huỷ đăng ký")
    assert [s.taken for s in await _slots(database)] == [0, 0]
