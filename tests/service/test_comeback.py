"""Bringing donors back (issue 11 A): the drive an appeal names, the evening window, /busy,
changing a slot and the waiting list of a full drive."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select, update

from db.engine import create_engine
from db.models import ClubMember, Drive, DriveSlot, Outbox, Pledge, Waitlist
from handlers.messages import Reply
from scheduler.sender import Limits, Sender
from scheduler.ticker import Ticker
from services import (
    busy,
    comeback,
    donations,
    drives,
    outbox,
    persons,
    pledges,
    units,
    waitlist,
)
from services.audit import Actor
from services.clock import FixedClock
from services.drives import SlotSpec
from services.eligibility import DonationKind
from services.errors import Conflict, InvalidInput
from services.planners import PlanSettings
from services.rules import Rules
from services.schedule import QuietHours
from services.work import Database
from tests.conftest import TEST_SECRET, ZONE
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive

ELIGIBLE = dt.date(2026, 11, 26)  # 12 weeks after a whole-blood donation on 3/9/2026
ACTOR = Actor("t")


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=ZONE)


class Inbox:
    """A console channel that keeps what it was asked to deliver, buttons and all."""

    def __init__(self) -> None:
        self.got: list[tuple[str, Reply]] = []

    async def deliver(self, chat_id: str, replies: list[Reply]) -> None:
        self.got.extend((chat_id, r) for r in replies)

    def to(self, chat_id: str) -> list[Reply]:
        return [reply for chat, reply in self.got if chat == chat_id]


QUIET = QuietHours.parse("21:00-07:00")


def ticker(database: Database, inbox: Inbox) -> Ticker:
    """The tick `hienmau run` makes (drive notices left out: they are not under test here)."""
    sender = Sender(
        database,
        {"console": inbox.deliver},
        {"console": Limits(per_second=1000, per_chat_seconds=0)},
        quiet=QUIET,
    )
    return Ticker(database, PlanSettings(notice_lead_days=0, quiet_hours=QUIET), sender)


async def donated(database: Database, person_id: int, day: dt.date = dt.date(2026, 9, 3)) -> None:
    async with database.work() as work:
        person = await persons.get(work, person_id)
        assert person is not None
        await donations.add(work, person, day, DonationKind.WHOLE_BLOOD, ACTOR)


async def slots_of(database: Database, drive_id: int) -> list[int]:
    async with database.work() as work:
        return [s.id for s in (await drives.get(work, drive_id)).slots]


async def taken(database: Database, drive_id: int) -> list[int]:
    async with database.work() as work:
        rows = await work.session.scalars(
            select(DriveSlot.taken).where(DriveSlot.drive_id == drive_id).order_by(DriveSlot.id)
        )
        return list(rows)


async def pledge(database: Database, person_id: int, drive_id: int, slot: int | None) -> None:
    async with database.work() as work:
        person = await persons.get(work, person_id)
        assert person is not None
        await pledges.pledge(work, person, drive_id, slot, ACTOR)


# Which drive ----------------------------------------------------------------------------------


async def test_the_nearest_drive_of_the_donors_unit_upward_or_club(database: Database) -> None:
    await load_units(database)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001", unit="LCU-X-BINHLU")
    hoa = await add_person(database, "hoa", "Lê Thị Hoa", "+84912300002", unit="LCU-TD")
    tu = await add_person(database, "tu", "Vũ Văn Tú", "+84912300003", unit="LCU-TU")
    nobody = await add_person(database, "no", "Người Không Đơn Vị", "+84912300004", unit="-")
    one = (SlotSpec(dt.time(7, 30), dt.time(9), 1),)
    sibling = await add_drive(
        database, dt.date(2026, 11, 27), "Xã Than Uyên", unit_code="LCU-X-THANUYEN"
    )
    cancelled = await add_drive(
        database, dt.date(2026, 11, 27), "Huỷ", unit_code="LCU", status="cancelled"
    )
    full = await add_drive(
        database, dt.date(2026, 11, 28), "Kín chỗ", one, unit_code="LCU-X-BINHLU"
    )
    month = await add_drive(
        database, dt.date(2026, 11, 29), "Chưa chốt ngày", unit_code="LCU-X-BINHLU"
    )
    club = await add_drive(database, dt.date(2026, 12, 1), "CLB dự bị", unit_code="LCU-CLB-DUBI")
    district = await add_drive(
        database, dt.date(2026, 12, 5), "Huyện Tam Đường", unit_code="LCU-TD"
    )
    province = await add_drive(database, dt.date(2026, 12, 10), "Tỉnh", unit_code="LCU")
    async with database.work() as work:
        await work.session.execute(
            update(DriveSlot).where(DriveSlot.drive_id == full).values(taken=1)
        )
        await work.session.execute(
            update(Drive).where(Drive.id == month).values(date_is_month_only=True)
        )
        dubi = await units.by_code(work, "LCU-CLB-DUBI")
        assert dubi is not None
        work.session.add(ClubMember(club_id=dubi.id, person_id=hoa, joined_at=work.now()))
    async with database.work() as work:
        chosen = await comeback.nearest_drives(
            work, {lan: ELIGIBLE, hoa: ELIGIBLE, tu: ELIGIBLE, nobody: ELIGIBLE}
        )
        later = await comeback.nearest_drives(work, {lan: dt.date(2026, 12, 6)})
        passed = await comeback.nearest_drives(work, {lan: ELIGIBLE}, exclude={district})
    # Lan (a commune of Tam Đường): not the neighbour's, the cancelled, the full or the
    # month-only drive, and not a club she is not in: her district's.
    assert chosen[lan] == district
    assert chosen[hoa] == club  # her club's drive comes first
    assert chosen[tu] == province  # Than Uyên district: only the province's drive is his
    assert nobody not in chosen
    assert later == {lan: province}  # not before the day she may give again
    assert passed == {lan: province}
    assert sibling and cancelled  # made, never chosen


# The evening window ---------------------------------------------------------------------------


async def test_the_appeal_goes_out_in_the_evening_naming_the_drive_with_one_tap(
    database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    drive_id = await add_drive(
        database,
        dt.date(2026, 12, 5),
        "Trung tâm Y tế huyện Tam Đường",
        (SlotSpec(dt.time(7, 30), dt.time(9), 2), SlotSpec(dt.time(9), dt.time(10, 30), 1)),
        unit_code="LCU-TD",
    )
    first, second = await slots_of(database, drive_id)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    await donated(database, lan)
    inbox = Inbox()
    tick = ticker(database, inbox)
    clock.set(at(26, 10))
    result = await tick.tick()
    assert result.planned.eligible == 1 and inbox.got == []
    async with database.work() as work:
        row = await work.session.scalar(select(Outbox).where(Outbox.key == "eligible"))
        assert row is not None
        assert row.due_at == at(26, 18) and row.not_after == at(26, 20)
        assert row.params == {"date": "2026-11-26", "drive_id": drive_id}
    for moment, expected in ((at(26, 17, 59), 0), (at(26, 18), 1), (at(26, 19), 1)):
        clock.set(moment)
        await tick.tick()
        assert len(inbox.to("lan")) == expected, moment
    [appeal] = inbox.to("lan")
    assert "Từ ngày 26/11/2026 bạn đã có thể hiến máu trở lại" in appeal.text
    assert "Ngày hội hiến máu Trung tâm Y tế huyện Tam Đường" in appeal.text
    assert "Thứ Bảy, 05/12/2026, 07:30–10:30" in appeal.text
    assert [b.payload for b in appeal.buttons] == [
        f"slot:{drive_id}:{first}",
        f"slot:{drive_id}:{second}",
        "cmd:drives",
        "cmd:busy",
    ]
    assert appeal.buttons[0].label == "07:30–09:00 (còn 2 chỗ)"


async def test_an_appeal_not_sent_in_its_window_waits_for_the_next_evening(
    database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    await add_drive(database, dt.date(2026, 12, 5), "Huyện Tam Đường", unit_code="LCU-TD")
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    await donated(database, lan)
    inbox = Inbox()
    tick = ticker(database, inbox)
    clock.set(at(26, 10))
    await tick.tick()
    # The sender was down from 19:55 to 21:30 (quiet), then ticks at 07:30: still not sent.
    for moment in (at(26, 21, 30), at(27, 7, 30), at(27, 17, 59)):
        clock.set(moment)
        await tick.tick()
    assert inbox.got == []
    async with database.work() as work:
        row = await work.session.scalar(select(Outbox).where(Outbox.key == "eligible"))
        assert row is not None and row.status == "pending"
        assert row.due_at == at(27, 18) and row.not_after == at(27, 20)
    clock.set(at(27, 18, 5))
    await tick.tick()
    assert len(inbox.to("lan")) == 1 and "Huyện Tam Đường" in inbox.to("lan")[0].text


async def test_no_drive_planned_is_said_honestly_and_a_drive_gone_is_replaced(
    database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    hoa = await add_person(database, "hoa", "Lê Thị Hoa", "+84912300002")
    await donated(database, lan)
    await donated(database, hoa)
    chosen = await add_drive(database, dt.date(2026, 12, 5), "Đợt sẽ huỷ", unit_code="LCU-TD")
    inbox = Inbox()
    tick = ticker(database, inbox)
    clock.set(at(26, 10))
    await tick.tick()
    async with database.work() as work:  # Lan's drive is cancelled before her evening
        await work.session.execute(
            update(Drive).where(Drive.id == chosen).values(status="cancelled")
        )
        await work.session.execute(
            update(Outbox).where(Outbox.person_id == hoa).values(params={"date": "2026-11-26"})
        )
    clock.set(at(26, 18))
    await tick.tick()
    [to_lan] = inbox.to("lan")
    assert "Hiện chưa có đợt hiến máu nào của đơn vị hay câu lạc bộ của bạn" in to_lan.text
    assert [b.payload for b in to_lan.buttons] == ["cmd:drives", "cmd:busy"]
    later = await add_drive(database, dt.date(2026, 12, 12), "Đợt mới", unit_code="LCU")
    async with database.work() as work:
        reply = await comeback_render(work, hoa)
    assert "Đợt mới" in reply.text and reply.buttons[0].payload == f"pledge:{later}"


async def comeback_render(work, person_id: int) -> Reply:  # type: ignore[no-untyped-def]
    from handlers import comeback as rendering

    replies = await rendering.eligible(work, person_id, {"date": "2026-11-26"})
    assert replies is not None
    return replies[0]


# /busy ----------------------------------------------------------------------------------------


async def test_busy_silences_appeals_until_its_date_then_they_resume_once(
    database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    await add_drive(database, dt.date(2026, 12, 12), "Huyện Tam Đường", unit_code="LCU-TD")
    pledged_to = await add_drive(database, dt.date(2026, 12, 3), "Tỉnh Lai Châu", unit_code="LCU")
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    hoa = await add_person(database, "hoa", "Lê Thị Hoa", "+84912300002")
    await donated(database, lan)
    await donated(database, hoa)
    clock.set(at(25, 20))
    async with database.work() as work:
        person = await persons.get(work, lan)
        assert person is not None
        with pytest.raises(InvalidInput):
            await busy.pause(work, person, dt.date(2026, 11, 24), ACTOR)  # the past
        with pytest.raises(InvalidInput):
            await busy.pause(work, person, dt.date(2027, 12, 1), ACTOR)  # over a year
        await busy.pause(work, person, dt.date(2026, 11, 30), ACTOR)
    inbox = Inbox()
    tick = ticker(database, inbox)
    clock.set(at(26, 10))
    result = await tick.tick()
    assert result.planned.eligible == 1  # Hoa only: Lan's appeal is not even queued
    # Hoa pauses after her appeal was queued (it is held), and pledges to a drive: its
    # reminders still come while she is busy.
    async with database.work() as work:
        person = await persons.get(work, hoa)
        assert person is not None
        await busy.pause(work, person, busy.until_for("1w", work.today()), ACTOR)  # to 2/12
        assert person.busy_until == dt.date(2026, 12, 2)
    await pledge(database, hoa, pledged_to, None)
    arrived: dict[str, list[str]] = {"lan": [], "hoa": []}
    days = ((26, 11), (27, 11), (28, 11), (29, 11), (30, 11), (1, 12), (2, 12), (3, 12))
    for day, month in days:
        clock.set(at(day, 18, 30, month=month))
        await tick.tick()
        for name, got in arrived.items():
            texts = [r.text for r in inbox.to(name)]
            got.extend(f"{day:02}/{month:02}: {t.splitlines()[0]}" for t in texts[len(got) :])
    # Lan: nothing while paused (to 30/11), then her "donate again", once, on 1/12.
    assert arrived["lan"] == [
        "01/12: 🩸 Từ ngày 26/11/2026 bạn đã có thể hiến máu trở lại. Cảm ơn bạn đã luôn sẵn "
        "lòng chia sẻ giọt máu hồng!"
    ]
    # Hoa: the reminder of her drive; her held appeal says nothing now she has pledged.
    assert arrived["hoa"] == [
        "30/11: ⏰ Còn 3 ngày nữa là đến đợt hiến máu bạn đã đăng ký.",
        "02/12: ⏰ Ngày mai bạn đi hiến máu nhé!",
    ]
    async with database.work() as work:
        rows = {
            r.person_id: r.status
            for r in await work.session.scalars(select(Outbox).where(Outbox.key == "eligible"))
        }
        assert rows == {lan: "sent", hoa: "dropped"}
        person = await persons.get(work, lan)
        assert person is not None and not busy.is_busy(person, work.today())
        exported = await persons.export(work, person, ACTOR)
        assert exported["busy_until"] == "2026-11-30"


async def test_a_held_appeal_goes_the_evening_after_the_pause(
    database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    drive_id = await add_drive(
        database, dt.date(2026, 12, 12), "Huyện Tam Đường", unit_code="LCU-TD"
    )
    hoa = await add_person(database, "hoa", "Lê Thị Hoa", "+84912300002")
    await donated(database, hoa)
    inbox = Inbox()
    tick = ticker(database, inbox)
    clock.set(at(26, 10))
    await tick.tick()
    async with database.work() as work:
        assert await outbox.enqueue(
            work, hoa, "drive_notice", {"drive_id": drive_id}, "drive_notice:t", due_at=at(26, 18)
        )
        person = await persons.get(work, hoa)
        assert person is not None
        await busy.pause(work, person, dt.date(2026, 11, 28), ACTOR)
        assert not await outbox.enqueue(work, hoa, "drive_notice", {}, "drive_notice:t2")
    clock.set(at(26, 18))
    await tick.tick()
    assert inbox.got == []
    async with database.work() as work:
        rows = {r.key: r for r in await work.session.scalars(select(Outbox))}
        assert rows["drive_notice"].status == "dropped"
        assert rows["drive_notice"].last_error == "busy"
        held = rows["eligible"]
        assert held.status == "pending"
        assert held.due_at == at(29, 18) and held.not_after == at(29, 20)
    clock.set(at(28, 18, 30))
    await tick.tick()
    assert inbox.got == []
    clock.set(at(29, 18, 1))
    await tick.tick()
    assert len(inbox.to("hoa")) == 1 and "Huyện Tam Đường" in inbox.to("hoa")[0].text


# Changing a slot, the waiting list ------------------------------------------------------------


async def test_swap_moves_the_pledge_and_both_counts_and_the_freed_place_is_offered(
    database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    one = tuple(SlotSpec(dt.time(h), dt.time(h + 1), 1) for h in (7, 8, 9))
    drive_id = await add_drive(
        database, dt.date(2026, 12, 5), "Huyện Tam Đường", one, unit_code="LCU-TD"
    )
    a, b, c = await slots_of(database, drive_id)
    people = {
        name: await add_person(database, name, f"Người {name}", f"+8491230000{i}")
        for i, name in enumerate(("lan", "hoa", "tu", "mai"))
    }
    await pledge(database, people["lan"], drive_id, a)
    await pledge(database, people["hoa"], drive_id, b)
    with pytest.raises(Conflict):
        await pledge(database, people["lan"], drive_id, b)  # full: nothing moves
    assert await taken(database, drive_id) == [1, 1, 0]
    async with database.work() as work:
        tu = await persons.get(work, people["tu"])
        mai = await persons.get(work, people["mai"])
        assert tu is not None and mai is not None
        joined = await waitlist.join(work, tu, drive_id, a, ACTOR)
        assert joined.position == 1
    clock.set(at(26, 10, 1))
    async with database.work() as work:
        joined = await waitlist.join(work, mai, drive_id, None, ACTOR)
        assert joined.position == 2
    await pledge(database, people["lan"], drive_id, c)  # the swap: one transaction
    assert await taken(database, drive_id) == [0, 1, 1]
    async with database.work() as work:
        row = await pledges.current(work, people["lan"], drive_id)
        assert row is not None and row.slot_id == c and row.status == "pledged"

    inbox = Inbox()
    tick = ticker(database, inbox)
    clock.set(at(26, 11))
    result = await tick.tick()
    assert result.planned.offers == 1  # one place, one offer: Tú, first in line
    [offer] = inbox.to("tu")
    assert "Có một chỗ vừa trống" in offer.text and "07:00–08:00" in offer.text
    assert "đến 13:00 ngày 26/11/2026" in offer.text
    assert offer.buttons[0].payload == f"slot:{drive_id}:{a}"
    assert inbox.to("mai") == []
    clock.set(at(26, 12, 59))
    assert (await tick.tick()).planned.offers == 0
    clock.set(at(26, 13))  # Tú let it pass: Mai's turn
    assert (await tick.tick()).planned.offers == 1
    assert "07:00–08:00" in inbox.to("mai")[0].text
    await pledge(database, people["mai"], drive_id, a)
    clock.set(at(26, 13, 1))
    await tick.tick()
    async with database.work() as work:
        statuses = {w.person_id: w.status for w in await work.session.scalars(select(Waitlist))}
        assert statuses == {people["tu"]: "expired", people["mai"]: "pledged"}
        mai = await persons.get(work, people["mai"])
        assert mai is not None
        exported = await persons.export(work, mai, ACTOR)
        assert exported["waiting_lists"][0]["status"] == "pledged"
        tu = await persons.get(work, people["tu"])
        assert tu is not None
        await persons.erase(work, tu, ACTOR)
    async with database.work() as work:
        left = await work.session.scalars(select(Waitlist.person_id))
        assert list(left) == [people["mai"]]


async def test_no_offers_in_quiet_hours_and_a_cancelled_place_is_offered_in_the_morning(
    database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    one = (SlotSpec(dt.time(7), dt.time(8), 1),)
    drive_id = await add_drive(
        database, dt.date(2026, 12, 5), "Huyện Tam Đường", one, unit_code="LCU-TD"
    )
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    tu = await add_person(database, "tu", "Vũ Văn Tú", "+84912300003")
    [slot] = await slots_of(database, drive_id)
    await pledge(database, lan, drive_id, slot)
    async with database.work() as work:
        person = await persons.get(work, tu)
        assert person is not None
        await waitlist.join(work, person, drive_id, None, ACTOR)
    clock.set(at(26, 22))
    async with database.work() as work:
        person = await persons.get(work, lan)
        assert person is not None
        await pledges.cancel(work, person, drive_id, ACTOR)
    assert await taken(database, drive_id) == [0]  # freed at once
    inbox = Inbox()
    tick = ticker(database, inbox)
    assert (await tick.tick()).planned.offers == 0
    clock.set(at(27, 7))
    assert (await tick.tick()).planned.offers == 1
    assert len(inbox.to("tu")) == 1


async def test_two_people_swapping_into_the_last_place_at_once(
    database_url: str, database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    spec = (
        SlotSpec(dt.time(7), dt.time(8), 5),
        SlotSpec(dt.time(8), dt.time(9), 1),
        SlotSpec(dt.time(9), dt.time(10), 5),
    )
    drive_id = await add_drive(
        database, dt.date(2026, 12, 5), "Huyện Tam Đường", spec, unit_code="LCU-TD"
    )
    a, last, c = await slots_of(database, drive_id)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    hoa = await add_person(database, "hoa", "Lê Thị Hoa", "+84912300002")
    await pledge(database, lan, drive_id, a)
    await pledge(database, hoa, drive_id, a)
    workers = [
        Database(create_engine(database_url), clock, Rules(), ZONE, secret=TEST_SECRET)
        for _ in range(2)
    ]
    try:
        for _round in range(3):
            outcomes = await asyncio.gather(
                pledge(workers[0], lan, drive_id, last),
                pledge(workers[1], hoa, drive_id, last),
                return_exceptions=True,
            )
            assert sum(isinstance(o, Conflict) for o in outcomes) == 1, outcomes
            assert await taken(database, drive_id) == [1, 1, 0]
            async with database.work() as work:
                mine = await work.session.execute(
                    select(Pledge.person_id, Pledge.slot_id).where(Pledge.drive_id == drive_id)
                )
                assert sorted(s for _p, s in mine.all()) == sorted([a, last])
            winner = lan if outcomes[0] is None else hoa
            await pledge(database, winner, drive_id, a)  # back for the next round
        # One person pressing two slots at once: one move wins, no place leaks.
        outcomes = await asyncio.gather(
            pledge(workers[0], lan, drive_id, last),
            pledge(workers[1], lan, drive_id, c),
            return_exceptions=True,
        )
        assert not any(isinstance(o, Exception) for o in outcomes), outcomes
        counts = await taken(database, drive_id)
        assert counts[0] == 1 and counts[1] + counts[2] == 1, counts
    finally:
        for worker in workers:
            await worker.dispose()
