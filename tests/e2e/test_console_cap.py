"""The cap on appeals: four non-urgent appeals in a rolling 30 days, the rest skipped and
counted; reminders of a pledged drive and urgent calls outside it; the line at the end of
every appeal saying why the donor got it and how to pause or stop."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from db.engine import create_engine
from db.models import Audit, Broadcast, Identity, Outbox
from handlers import appeal_reasons
from handlers.messages import Reply
from scheduler.sender import Limits, Sender
from services import drives, outbox, persons, pledges
from services.audit import Actor
from services.clock import FixedClock
from services.drives import SlotSpec
from services.outbox import Job, Notice
from services.rules import Rules
from services.work import Database
from tests.conftest import NOW, ZONE
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive
from tests.service.test_scheduler import Inbox, ticker

SLOT = (SlotSpec(dt.time(7, 30), dt.time(9), 50),)
NEARBY = (
    "ℹ️ Bạn nhận tin này vì bạn ở Huyện Tam Đường, gần đợt hiến máu này, và đã đủ điều kiện "
    "hiến. Tạm dừng: /busy · Tắt nhắc: /stop"
)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), ZONE)


async def _capped(database: Database) -> list[Outbox]:
    async with database.work() as work:
        return list(await work.session.scalars(select(Outbox).where(Outbox.status == "capped")))


async def test_a_donor_gets_four_appeals_in_30_days_and_every_reminder_of_their_drive(
    database: Database, clock: FixedClock
) -> None:
    await load_units(database)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    for i in range(5):  # five drives nearby in the coming week: five drive notices due
        day = NOW.date() + dt.timedelta(days=3 + i)
        await add_drive(database, day, f"Điểm hiến máu số {i + 1}", SLOT, unit_code="LCU-TD")
    inbox = Inbox()
    tick = ticker(database, inbox)

    first = await tick.tick()
    assert (first.planned.drive_notices, first.planned.capped) == (4, 1)
    assert "tallies 0; capped 1)" in first.summary()
    notices = inbox.to("lan")
    assert len(notices) == 4 and all(text.endswith(NEARBY) for text in notices)
    [capped] = await _capped(database)
    assert (capped.key, capped.person_id, capped.urgent) == ("drive_notice", lan, False)
    assert capped.last_error == "cap: 4 appeals in 30 days"

    # The planner runs again every hour: the skipped notice is neither sent nor counted again.
    clock.advance(dt.timedelta(hours=1))
    again = await tick.tick()
    assert (again.planned.total, again.planned.capped, len(inbox.to("lan"))) == (0, 0, 4)

    # Lan pledges to the drive whose notice was skipped: its reminders are outside the cap.
    drive_id = int(capped.params["drive_id"])
    async with database.work() as work:
        drive = await drives.get(work, drive_id)
        person = await persons.get(work, lan)
        assert person is not None
        await pledges.pledge(work, person, drive_id, drive.slots[0].id, Actor("t"))
        drive_day = drive.date
    for moment, head in (
        (local(drive_day - dt.timedelta(days=1), 7, 30), "Ngày mai bạn đi hiến máu"),
        (local(drive_day, 7, 0), "Hôm nay bạn đi hiến máu"),
    ):
        clock.set(moment)
        seen = len(inbox.to("lan"))
        result = await tick.tick()
        got = inbox.to("lan")[seen:]
        assert result.planned.capped == 0 and any(head in text for text in got), got
        assert not any("Tạm dừng: /busy" in text for text in got)  # a reminder is no appeal

    # 30 days on, the allowance is free again.
    clock.set(local(dt.date(2026, 12, 27), 10))
    await add_drive(database, dt.date(2026, 12, 29), "Nhà văn hoá xã Bình Lư", unit_code="LCU-TD")
    later = await tick.tick()
    assert (later.planned.drive_notices, later.planned.capped) == (1, 0)
    assert inbox.to("lan")[-1].endswith(NEARBY)


async def test_a_batch_admits_appeals_in_order_up_to_the_allowance(database: Database) -> None:
    await load_units(database)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    async with database.work() as work:
        for n in range(2):  # two appeals already this month
            await outbox.enqueue(work, lan, "eligible", {"date": "2026-11-20"}, f"old:{n}")
    async with database.work() as work:
        queued = await outbox.enqueue_many(
            work,
            [
                Notice(lan, "eligible", {}, "a1"),
                Notice(lan, "drive_reminder", {"drive_id": 1}, "r1"),  # not an appeal
                Notice(lan, "notice", {"broadcast_id": 1}, "a2"),
                Notice(lan, "notice", {"broadcast_id": 2}, "u1", urgent=True),  # urgent
                Notice(lan, "eligible_nudge", {}, "a3"),  # the fifth appeal
                Notice(lan, "drive_notice", {"drive_id": 1}, "a4"),
            ],
        )
        assert (queued, work.skipped["cap"]) == (4, 2)
    async with database.work() as work:
        rows = {r.dedup_key: r.status for r in await work.session.scalars(select(Outbox))}
    assert rows == {
        "old:0": "pending", "old:1": "pending", "a1": "pending", "r1": "pending",
        "a2": "pending", "u1": "pending", "a3": "capped", "a4": "capped",
    }  # fmt: skip
    # Queuing the same notices again changes and counts nothing.
    async with database.work() as work:
        assert await outbox.enqueue(work, lan, "eligible_nudge", {}, "a3") is False
        assert work.skipped["cap"] == 0


async def test_old_sent_and_dropped_appeals_do_not_count(database: Database) -> None:
    await load_units(database)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    async with database.work() as work:
        identity = await work.session.scalar(select(Identity.id).where(Identity.person_id == lan))
        assert identity is not None
        for n, (status, sent) in enumerate(
            [("sent", 31), ("sent", 29), ("dropped", 1), ("failed", 1), ("sent", 2)]
        ):
            moment = NOW - dt.timedelta(days=sent)
            work.session.add(
                Outbox(identity_id=identity, person_id=lan, key="drive_notice", params={},
                       urgent=False, due_at=moment, sent_at=moment if status == "sent" else None,
                       dedup_key=f"past:{n}", status=status, attempts=1, created_at=moment)
            )  # fmt: skip
    async with database.work() as work:
        batch = [Notice(lan, "drive_notice", {}, f"new:{n}") for n in range(4)]
        assert await outbox.enqueue_many(work, batch) == 2  # 2 counted: 29 and 2 days ago


@pytest.mark.parametrize("cap", [1, 6])
async def test_the_cap_is_configurable(database_url: str, clock: FixedClock, cap: int) -> None:
    database = Database(create_engine(database_url), clock, Rules(appeals_per_30_days=cap), ZONE)
    try:
        await load_units(database)
        lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
        async with database.work() as work:
            batch = [Notice(lan, "eligible", {}, f"n:{n}") for n in range(8)]
            assert await outbox.enqueue_many(work, batch) == cap
            assert work.skipped["cap"] == 8 - cap
    finally:
        await database.dispose()


async def test_a_broadcast_leaves_out_donors_at_their_cap_and_an_urgent_call_passes(
    database: Database, chat_factory, clock: FixedClock
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    await add_person(database, "chair", "Lò Thị Mai", "+84912000002", role="club_chair")
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    chair = chat_factory("chair")
    await chair.say("/newclub")
    await chair.say("CLB Hiến máu xã Bình Lư")
    created = await chair.choose("CLB nhóm máu hiếm Rh(-)")
    payload = created.split("/start ")[1].split()[0]
    assert "Chào mừng bạn gia nhập" in await chat_factory("lan").say(f"/start {payload}")
    async with database.work() as work:
        for n in range(4):
            await outbox.enqueue(work, lan, "eligible", {"date": "2026-11-20"}, f"seen:{n}")

    await chair.say("/broadcast")
    await chair.choose("CLB Hiến máu xã Bình Lư")
    await chair.choose("Tất cả")
    await chair.say("Thứ Bảy này hiến máu tại Nhà văn hoá xã nhé!")
    preview = await chair.choose("Không gấp")
    assert "👥 Sẽ gửi tới 2 người" in preview
    assert "🔕 Trong đó 1 người đã nhận đủ 4 tin mời trong 30 ngày qua" in preview
    done = await chair.choose("Gửi")
    assert "📢 Đã xếp lịch gửi tới 1 người" in done  # the chair, a member too
    assert "🔕 1 người không nhận tin này vì đã nhận đủ 4 tin mời trong 30 ngày qua." in done

    # An urgent call is outside the cap, and needs its reason.
    clock.advance(dt.timedelta(minutes=5))
    await chair.say("/broadcast")
    await chair.choose("CLB Hiến máu xã Bình Lư")
    await chair.choose("Tất cả")
    await chair.say("Cần gấp 2 người nhóm O Rh- tại BV tỉnh")
    preview = await chair.say("Bệnh nhân tai nạn cần máu O Rh- ngay")
    assert "Gọi khẩn" in preview and "🔕" not in preview
    urgent = await chair.choose("Gửi")
    assert "Đã xếp lịch gửi tới 2 người" in urgent and "🔕" not in urgent
    async with database.work() as work:
        sent = list(await work.session.scalars(select(Broadcast).order_by(Broadcast.id)))
        details = list(
            await work.session.scalars(
                select(Audit.details).where(Audit.action == "broadcast.send").order_by(Audit.id)
            )
        )
    assert [(b.recipients, b.capped, b.urgent) for b in sent] == [(1, 1, False), (2, 0, True)]
    assert details[0]["capped"] == 1
    assert details[1]["reason"] == "Bệnh nhân tai nạn cần máu O Rh- ngay"

    inbox = Inbox()
    await Sender(database, {"console": inbox.deliver}, {"console": Limits(1000, 0)}).drain()
    [call] = [text for text in inbox.to("lan") if "Thông báo từ" in text]
    assert "Bệnh nhân" not in call and "Cần gấp 2 người" in call
    assert call.endswith(
        "ℹ️ Bạn nhận tin này vì bạn là thành viên CLB Hiến máu xã Bình Lư. "
        "Tạm dừng: /busy · Tắt nhắc: /stop"
    )


async def test_the_reason_line_names_why_each_kind_of_appeal_came(database: Database) -> None:
    await load_units(database)
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")

    def job(key: str, params: dict[str, object] | None = None) -> Job:
        return Job(1, "console", "lan", "vi", lan, key, dict(params or {}), None, 1)

    async with database.work() as work:
        reasons = [
            await appeal_reasons.reason(work, job(key))
            for key in ("drive_notice", "eligible", "eligible_nudge", "missed_you", "other")
        ]
        replies = await appeal_reasons.with_reason(
            work, job("eligible"), [Reply("Chào bạn"), Reply("")]
        )
    assert reasons == [
        "bạn ở Huyện Tam Đường, gần đợt hiến máu này, và đã đủ điều kiện hiến",
        "bạn đã đủ thời gian để hiến máu lại",
        "bạn đã đủ thời gian để hiến máu lại",
        "bạn đã đăng ký đợt hiến máu vừa qua nhưng chưa đến được",
        "bạn đã đăng ký nhận tin nhắc hiến máu",
    ]
    assert [r.text for r in replies] == [
        "Chào bạn\n\nℹ️ Bạn nhận tin này vì bạn đã đủ thời gian để hiến máu lại. "
        "Tạm dừng: /busy · Tắt nhắc: /stop",
        "",
    ]
