"""The scheduler's tick as `hienmau jobs tick --now` runs it: each reminder once, at the right
time, never in quiet hours, never to someone who should not get it."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from db.models import Identity, Outbox
from handlers.messages import Reply, RetryAfter, Unreachable
from scheduler.sender import Limits, Sender
from scheduler.ticker import Ticker
from services import donations, drives, persons, pledges
from services.audit import Actor
from services.clock import FixedClock
from services.drives import SlotSpec
from services.eligibility import DonationKind
from services.persons import Purpose
from services.planners import PlanSettings
from services.schedule import QuietHours
from services.work import Database
from tests.conftest import ZONE
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive

DRIVE_DAY = dt.date(2026, 12, 12)  # a Saturday; the slot starts at 07:30


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=ZONE)


class Inbox:
    """A channel that records what it was asked to deliver, or fails on demand."""

    def __init__(self) -> None:
        self.got: list[tuple[str, str]] = []
        self.fail: dict[str, Exception] = {}

    async def deliver(self, chat_id: str, replies: list[Reply]) -> None:
        error = self.fail.pop(chat_id, None)
        if error is not None:
            raise error
        self.got.extend((chat_id, r.text) for r in replies)

    def to(self, chat_id: str) -> list[str]:
        return [text for chat, text in self.got if chat == chat_id]


def ticker(database: Database, inbox: Inbox) -> Ticker:
    sender = Sender(
        database,
        {"console": inbox.deliver},
        {"console": Limits(per_second=1000, per_chat_seconds=0)},
        quiet=QuietHours.parse("21:00-07:00"),
    )
    return Ticker(database, PlanSettings(), sender)


async def _pledge(database: Database, person_id: int, drive_id: int, slot: int | None) -> None:
    async with database.work() as work:
        person = await persons.get(work, person_id)
        assert person is not None
        await pledges.pledge(work, person, drive_id, slot, Actor("t"))


async def test_drive_reminders_come_once_each_at_their_offsets(
    database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    drive_id = await add_drive(
        database, DRIVE_DAY, slots=(SlotSpec(dt.time(7, 30), dt.time(9), 50),), unit_code="LCU"
    )
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    async with database.work() as work:
        slot_id = (await drives.get(work, drive_id)).slots[0].id
    await _pledge(database, lan, drive_id, slot_id)
    inbox = Inbox()
    tick = ticker(database, inbox)

    schedule = [
        (at(9, 7, 29), 0),  # 3 days before 07:30 is 07:30 on 9/12
        (at(9, 7, 30), 1),
        (at(9, 7, 31), 0),  # once only
        (at(11, 7, 30), 1),  # 1 day before
        (at(11, 8, 0), 0),
        (at(12, 6, 59), 0),  # quiet hours end at 07:00
        (at(12, 7, 0), 1),  # 07:00 on the day
        (at(12, 9, 0), 0),
    ]
    for moment, expected in schedule:
        clock.set(moment)
        before = len(inbox.to("lan"))
        await tick.tick()
        assert len(inbox.to("lan")) - before == expected, moment
    texts = inbox.to("lan")
    assert "Còn 3 ngày nữa" in texts[0] and "Khung giờ của bạn: 07:30–09:00" in texts[0]
    assert "Ngày mai" in texts[1] and "Hôm nay" in texts[2]

    # A clock jumping back, or the same hour twice, sends nothing again.
    for moment in (at(9, 7, 30), at(12, 7, 0), at(12, 7, 0)):
        clock.set(moment)
        result = await tick.tick()
        assert result.sent.sent == 0 and result.planned.total == 0


async def test_quiet_hours_hold_non_urgent_messages_until_morning(
    database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    async with database.work() as work:
        person = await persons.get(work, lan)
        assert person is not None
        await donations.add(work, person, dt.date(2026, 9, 1), DonationKind.WHOLE_BLOOD, Actor("t"))
    inbox = Inbox()
    tick = ticker(database, inbox)
    clock.set(at(24, 22, 0, month=11))  # eligible from 24/11 (12 weeks after 1/9), 22:00: quiet
    result = await tick.tick()
    assert result.planned.eligible == 1 and inbox.got == []
    clock.set(at(25, 7, 0, month=11))
    await tick.tick()
    assert inbox.got == []  # past quiet hours, but "donate again" waits for the evening
    clock.set(at(25, 18, 0, month=11))
    await tick.tick()
    assert len(inbox.to("lan")) == 1 and "24/11/2026" in inbox.to("lan")[0]


async def test_donate_again_then_one_nudge_unless_they_pledged(
    database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    hoa = await add_person(database, "hoa", "Lê Thị Hoa", "+84912300002")
    for person_id in (lan, hoa):
        async with database.work() as work:
            person = await persons.get(work, person_id)
            assert person is not None
            await donations.add(
                work, person, dt.date(2026, 9, 3), DonationKind.WHOLE_BLOOD, Actor("t")
            )
    inbox = Inbox()
    tick = ticker(database, inbox)
    clock.set(at(26, 18, 0, month=11))  # 12 weeks after 3/9, in the evening window
    await tick.tick()
    assert len(inbox.to("lan")) == 1 and len(inbox.to("hoa")) == 1
    drive_id = await add_drive(database, dt.date(2027, 1, 9))
    await _pledge(database, hoa, drive_id, None)  # Hoa pledged: no nudge for her
    clock.set(at(24, 18, 0))  # four weeks later
    result = await tick.tick()
    assert result.planned.nudges == 1
    assert len(inbox.to("lan")) == 2 and "vài tuần" in inbox.to("lan")[1]
    assert len(inbox.to("hoa")) == 1


async def test_nobody_gets_what_they_should_not(database: Database, clock: FixedClock) -> None:
    await load_units(database)
    drive_id = await add_drive(database, DRIVE_DAY, unit_code="LCU")
    people = {
        name: await add_person(database, name, "Người Hiến", f"+8491230000{i}")
        for i, name in enumerate(("stopped", "erased", "blocked", "cancelled", "ok"))
    }
    for person_id in people.values():
        await _pledge(database, person_id, drive_id, None)
    async with database.work() as work:
        stopped = await persons.get(work, people["stopped"])
        erased = await persons.get(work, people["erased"])
        cancelled = await persons.get(work, people["cancelled"])
        assert stopped and erased and cancelled
        await persons.set_consent(work, stopped, Purpose.REMINDERS, False, Actor("t"))
        await pledges.cancel(work, cancelled, drive_id, Actor("t"))
    inbox = Inbox()
    tick = ticker(database, inbox)
    clock.set(at(9, 8, 0))
    await tick.tick()  # the 3-day reminders are queued and sent
    assert sorted(chat for chat, _t in inbox.got) == ["blocked", "erased", "ok"]
    # Later: one erases their data, one blocks the bot; the drive moves.
    async with database.work() as work:
        erased = await persons.get(work, people["erased"])
        assert erased is not None
        await persons.erase(work, erased, Actor("t"))
    inbox.fail["blocked"] = Unreachable("Forbidden: bot was blocked by the user")
    clock.set(at(11, 8, 0))
    await tick.tick()
    assert inbox.to("erased") and len(inbox.to("erased")) == 1  # nothing after erasure
    assert len(inbox.to("ok")) == 2 and len(inbox.to("blocked")) == 1
    async with database.work() as work:
        blocked = await work.session.scalar(select(Identity).where(Identity.chat_id == "blocked"))
        assert blocked is not None and blocked.unreachable_at is not None
        assert (
            await work.session.scalar(select(Outbox).where(Outbox.person_id == people["erased"]))
            is None
        )
    clock.set(at(12, 7, 0))
    await tick.tick()
    assert len(inbox.to("blocked")) == 1  # unreachable: nothing more until they write again
    assert "stopped" not in {chat for chat, _t in inbox.got}
    assert "cancelled" not in {chat for chat, _t in inbox.got}


async def test_a_rate_limit_delays_and_a_cancelled_drive_drops_its_reminders(
    database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    drive_id = await add_drive(database, DRIVE_DAY, unit_code="LCU")
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    await _pledge(database, lan, drive_id, None)
    inbox = Inbox()
    inbox.fail["lan"] = RetryAfter(0.5)  # the sender also pauses that long, in real time
    tick = ticker(database, inbox)
    clock.set(at(9, 8, 0))
    result = await tick.tick()
    assert result.sent.retried == 1 and inbox.got == []
    clock.set(
        at(
            9,
            8,
            0,
        )
        + dt.timedelta(seconds=31)
    )
    assert (await tick.tick()).sent.sent == 1
    # The drive is cancelled while its next reminder is queued: the notice of the
    # cancellation goes out, the reminder is dropped.
    clock.set(at(11, 7, 30))
    async with database.work() as work:
        await drives.cancel(work, await drives.get(work, drive_id), Actor("t"))
    await tick.tick()
    assert "đã bị huỷ" in inbox.to("lan")[-1] and len(inbox.to("lan")) == 2
    async with database.work() as work:
        statuses = {r.key: r.status for r in await work.session.scalars(select(Outbox))}
    assert statuses["drive_cancelled"] == "sent"


async def test_a_volunteer_recorded_milestone_is_congratulated_once(
    database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    volunteer = await add_person(database, "vol", "Trần Văn Hùng", "+84912300009", role="volunteer")
    days = [dt.date(2025, 1, 6) + dt.timedelta(days=90 * n) for n in range(5)]
    for day in days:
        async with database.work() as work:
            person = await persons.get(work, lan)
            assert person is not None
            await donations.add(
                work, person, day, DonationKind.WHOLE_BLOOD, Actor("v", volunteer), verified=True
            )
    inbox = Inbox()
    await ticker(database, inbox).tick()
    assert len(inbox.to("lan")) == 1 and "5 lần" in inbox.to("lan")[0]
    await ticker(database, inbox).tick()
    assert len(inbox.to("lan")) == 1


async def test_daily_tally_reaches_subscribed_committee_members_once_a_day(
    database: Database, clock: FixedClock, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    drive_id = await add_drive(database, dt.date(2026, 11, 26), unit_code="LCU-TD", status="open")
    await add_drive(database, dt.date(2026, 11, 30), "Trường THPT Tam Đường", unit_code="LCU-TD")
    await add_person(
        database, "bcd", "Nguyễn Minh Đức", "+84912000003", role="committee", unit="LCU"
    )
    donors = [
        await add_person(database, f"d{i}", "Người Hiến", f"+8491240000{i}") for i in range(3)
    ]
    for person_id in donors:
        await _pledge(database, person_id, drive_id, None)
    for person_id in donors[:2]:
        async with database.work() as work:
            person = await persons.get(work, person_id)
            assert person is not None
            await donations.add(
                work,
                person,
                dt.date(2026, 11, 26),
                DonationKind.WHOLE_BLOOD,
                Actor("v"),
                volume_ml=350,
                drive_id=drive_id,
                verified=True,
            )
    chat = chat_factory("bcd")
    shown = await chat.say("/tally")
    assert "3 đăng ký · 0 đã đến · đã hiến 2/250 đơn vị" in shown and "7 ngày tới" in shown
    assert "Từ 01/12/2025 đến nay: 2/500 đơn vị máu" in shown
    assert "không có" not in shown
    await chat.choose("Nhận báo cáo")
    inbox = Inbox()
    tick = ticker(database, inbox)
    clock.set(at(26, 17, 59, month=11))
    assert (await tick.tick()).planned.tallies == 0
    clock.set(at(26, 18, 0, month=11))
    await tick.tick()
    assert len(inbox.to("bcd")) == 1 and "Báo cáo ngày 26/11/2026" in inbox.to("bcd")[0]
    clock.set(at(26, 20, 0, month=11))
    await tick.tick()
    assert len(inbox.to("bcd")) == 1  # once a day
    assert "dành cho người có vai trò" in await chat_factory("d0").say("/tally")


async def test_two_senders_at_once_never_send_a_row_twice(
    database: Database, clock: FixedClock
) -> None:
    """On PostgreSQL rows are claimed with FOR UPDATE SKIP LOCKED; SQLite has one writer."""
    now = clock.now()
    async with database.work() as work:
        for n in range(300):
            identity = Identity(
                channel="console",
                platform_user_id=f"c{n}",
                chat_id=f"c{n}",
                language="vi",
                display_name="",
                created_at=now,
                last_seen_at=now,
            )
            work.session.add(identity)
            await work.session.flush()
            work.session.add(
                Outbox(
                    identity_id=identity.id,
                    key="broadcast",
                    params={},
                    body=f"Tin {n}",
                    urgent=True,
                    due_at=now - dt.timedelta(minutes=1),
                    dedup_key=f"b:{n}",
                    status="pending",
                    attempts=0,
                    created_at=now,
                )
            )
    inbox = Inbox()

    def sender() -> Sender:
        limits = {"console": Limits(per_second=10_000, per_chat_seconds=0)}
        return Sender(database, {"console": inbox.deliver}, limits, batch=25, concurrency=4)

    first, second = await asyncio.gather(sender().drain(), sender().drain())
    assert first.sent + second.sent == 300
    assert len(inbox.got) == 300 and len({chat for chat, _t in inbox.got}) == 300
