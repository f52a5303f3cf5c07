"""Drive-day notices (/drivenotice): a volunteer at today's drive tells the donors pledged to it
and not yet arrived "quiet, come now", "busy, come after 10:30" or "bring your ID card",
through the outbox, at most once per 30 minutes per drive."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select, update

from db.models import Audit, Outbox, Pledge
from scheduler.sender import Limits, Sender
from services import drive_day, persons, pledges
from services.audit import Actor
from services.clock import FixedClock
from services.drive_day import Preset
from services.errors import Conflict
from services.work import Database
from tests.conftest import NOW, ZONE
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive
from tests.service.test_scheduler import Inbox

HEAD = "📣 Tin từ điểm hiến máu hôm nay (Nhà văn hoá xã Bình Lư):"


async def _pledge(database: Database, person_id: int, drive_id: int) -> None:
    async with database.work() as work:
        person = await persons.get(work, person_id)
        assert person is not None
        await pledges.pledge(work, person, drive_id, None, Actor("t"))


async def _check_in(database: Database, person_id: int) -> None:
    async with database.work() as work:
        await work.session.execute(
            update(Pledge).where(Pledge.person_id == person_id).values(checked_in_at=NOW)
        )


async def _today(database: Database) -> tuple[int, dict[str, int]]:
    """Today's drive in Tam Đường: Lan and Hoa pledged, Minh pledged and arrived, Vy
    withdrew; Khoa pledged to tomorrow's drive only."""
    await load_units(database)
    people = {
        name: await add_person(database, name, f"Người {name}", f"+8491230010{i}")
        for i, name in enumerate(("lan", "hoa", "minh", "vy", "khoa"))
    }
    drive_id = await add_drive(database, NOW.date(), unit_code="LCU-TD")
    tomorrow = await add_drive(
        database, NOW.date() + dt.timedelta(days=1), "Trường THPT Tam Đường", unit_code="LCU-TD"
    )
    for name in ("lan", "hoa", "minh", "vy"):
        await _pledge(database, people[name], drive_id)
    await _pledge(database, people["khoa"], tomorrow)
    await _check_in(database, people["minh"])
    async with database.work() as work:
        person = await persons.get(work, people["vy"])
        assert person is not None
        await pledges.cancel(work, person, drive_id, Actor("t"))
    return drive_id, people


async def _drain(database: Database) -> Inbox:
    inbox = Inbox()
    await Sender(database, {"console": inbox.deliver}, {"console": Limits(1000, 0)}).drain()
    return inbox


async def test_a_volunteer_tells_todays_pledged_donors_at_most_once_in_30_minutes(
    database: Database, chat_factory, clock: FixedClock
) -> None:  # type: ignore[no-untyped-def]
    drive_id, people = await _today(database)
    await add_person(database, "tnv", "Trần Văn Tình", "+84912000011", role="volunteer")
    tnv = chat_factory("tnv")

    assert "Bạn muốn báo gì" in await tnv.say("/drivenotice")  # the one drive of today
    assert tnv.menu == [
        "🟢 Đang vắng, mời đến ngay",
        "🟠 Đang đông, đến sau…",
        "🪪 Nhớ mang theo CCCD",
    ]
    assert "Mời mọi người đến sau mấy giờ" in await tnv.choose("Đang đông")
    assert "HH:MM" in await tnv.say("25:00")
    preview = await tnv.say("10h30")
    assert f"{HEAD}\nĐiểm hiến máu đang đông, bạn đến sau 10:30 cho đỡ phải chờ nhé." in preview
    assert "Sẽ gửi ngay tới 2 người đã đăng ký mà chưa check-in." in preview
    sent = await tnv.choose("Gửi")
    assert sent == "📣 Đã gửi tới 2 người lúc 10:00. Tin tiếp theo có thể gửi sau 10:30."
    inbox = await _drain(database)
    assert sorted(chat for chat, _text in inbox.got) == ["hoa", "lan"]
    assert inbox.to("lan") == [
        f"{HEAD}\nĐiểm hiến máu đang đông, bạn đến sau 10:30 cho đỡ phải chờ nhé."
    ]  # no appeal: no line about /busy and /stop

    # Twenty minutes later: refused, with when the next one may go.
    clock.advance(dt.timedelta(minutes=20))
    await tnv.say("/drivenotice")
    await tnv.choose("CCCD")
    refused = await tnv.choose("Gửi")
    assert refused == "⚠️ Đợt này vừa có thông báo lúc 10:00, có thể gửi lại sau 10:30."

    # At 10:30 it goes; Hoa arrives before it is delivered, so only Lan gets it.
    clock.set(dt.datetime(2026, 11, 26, 10, 30, tzinfo=ZONE))
    await tnv.say("/drivenotice")
    await tnv.choose("Đang vắng")
    assert "Đã gửi tới 2 người lúc 10:30" in await tnv.choose("Gửi")
    await _check_in(database, people["hoa"])
    inbox = await _drain(database)
    assert inbox.got == [("lan", f"{HEAD}\nĐiểm hiến máu đang vắng, mời bạn đến ngay nhé! 🩸")]
    async with database.work() as work:
        rows = list(await work.session.scalars(select(Outbox).where(Outbox.key == "drive_day")))
        audit = list(
            await work.session.scalars(
                select(Audit.details).where(Audit.action == "drive.day_notice").order_by(Audit.id)
            )
        )
    assert len(rows) == 4 and all(row.urgent for row in rows)
    assert audit == [
        {"drive": drive_id, "preset": "busy", "after": "10:30", "recipients": 2},
        {"drive": drive_id, "preset": "quiet", "after": None, "recipients": 2},
    ]


async def test_who_may_send_a_drive_day_notice(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    await _today(database)
    await add_person(database, "tu", "Lò Văn Tú", "+84912000012", role="volunteer", unit="LCU-TU")
    await add_person(
        database, "bcd", "Nguyễn Minh Đức", "+84912000003", role="committee", unit="LCU"
    )
    assert "dành cho người có vai trò" in await chat_factory("lan").say("/drivenotice")
    assert "Hôm nay không có đợt hiến máu nào ở đơn vị bạn phụ trách" in await chat_factory(
        "tu"
    ).say("/drivenotice")
    assert "Bạn muốn báo gì" in await chat_factory("bcd").say("/drivenotice")


async def test_two_volunteers_pressing_send_at_once_send_one_notice(database: Database) -> None:
    drive_id, _people = await _today(database)
    volunteers = [
        await add_person(database, f"v{i}", f"Tình Nguyện {i}", f"+8491200002{i}", role="volunteer")
        for i in range(2)
    ]

    async def send(volunteer_id: int) -> object:
        try:
            async with database.work() as work:
                person = await persons.get(work, volunteer_id)
                assert person is not None
                return await drive_day.send(
                    work, person, drive_id, Preset.ID_CARD, Actor(f"console:v{volunteer_id}")
                )
        except Conflict as refused:
            return refused

    results = await asyncio.gather(*(send(v) for v in volunteers))
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Sent"]
    async with database.work() as work:
        rows = list(await work.session.scalars(select(Outbox).where(Outbox.key == "drive_day")))
    assert len(rows) == 2  # Lan and Hoa, once
