"""Drives through the console: a donor finds a drive, pledges a slot, takes the calendar file
and the share link; a committee member creates, reschedules and cancels a drive."""

from __future__ import annotations

import datetime as dt
import json

import icalendar
from sqlalchemy import select

from db.models import Drive, Outbox
from services import donations, drives, persons
from services.audit import Actor
from services.drives import SlotSpec
from services.eligibility import DonationKind
from services.work import Database
from tests.conftest import ZONE
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive

SLOTS = (SlotSpec(dt.time(7, 30), dt.time(8, 30), 1), SlotSpec(dt.time(8, 30), dt.time(10), 40))


async def test_donor_finds_a_drive_pledges_a_slot_and_takes_the_calendar(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    far = await add_drive(database, dt.date(2027, 1, 15), "Trường THPT Than Uyên", unit_code="LCU")
    near = await add_drive(
        database, dt.date(2026, 12, 12), "Nhà văn hoá xã Bình Lư", SLOTS, unit_code="LCU-X-BINHLU"
    )
    await add_drive(database, dt.date(2026, 11, 1), "Đợt đã qua")  # past: never listed
    await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001", unit="LCU-X-BINHLU")
    chat = chat_factory("lan")
    listing = await chat.say("/drives")
    assert "Đợt đã qua" not in listing
    assert listing.index("Bình Lư") < listing.index("Than Uyên")  # own commune first
    assert "còn 41 chỗ" in listing
    card = await chat.choose("Bình Lư")
    assert "Thứ Bảy, 12/12/2026, 07:30–10:00" in card and "còn 1/1 chỗ" in card
    assert "Bệnh viện Đa khoa tỉnh Lai Châu" in card
    assert "khung giờ nào" in await chat.choose("Đăng ký hiến máu")
    done = await chat.choose("07:30–08:30")
    assert "Cảm ơn bạn" in done and "Bạn đã đăng ký khung 07:30–08:30" in done
    assert "đã kín chỗ" in done

    await chat.choose("Thêm vào lịch")
    attachment = chat.replies[0].attachment
    assert attachment is not None and attachment.filename == "hien-mau-2026-12-12.ics"
    event = icalendar.Calendar.from_ical(attachment.content).walk("VEVENT")[0]
    assert event.decoded("dtstart") == dt.datetime(2026, 12, 12, 7, 30, tzinfo=ZONE)
    assert event.decoded("dtend") == dt.datetime(2026, 12, 12, 8, 30, tzinfo=ZONE)
    assert str(event["location"]) == "Nhà văn hoá xã Bình Lư"
    assert event.walk("VALARM")[0].decoded("trigger") == -dt.timedelta(hours=12)

    assert "Cùng đi hiến máu" in await chat.say("/drives") + await chat.choose("Bình Lư") + (
        await chat.choose("Chia sẻ")
    )
    qr = chat.replies[-1].attachment
    assert qr is not None and qr.content.startswith(b"\x89PNG")
    assert f"/start drive_{near}" in chat.replies[-1].text

    mine = await chat.say("/mypledges")
    assert "Bình Lư" in mine and "khung 07:30–08:30" in mine and "Than Uyên" not in mine
    await chat.choose("Bình Lư")
    assert "Đã huỷ đăng ký" in await chat.choose("Huỷ đăng ký")
    assert "chưa đăng ký đợt hiến máu nào" in await chat.say("/mypledges")

    # A friend follows the shared link before registering: the card, then registration.
    friend = chat_factory("friend")
    card = await friend.say(f"/start drive_{far}")
    assert "Trường THPT Than Uyên" in card
    assert "đăng ký thông tin" in await friend.choose("Đăng ký hiến máu")
    assert "Nhà văn hoá" not in await friend.say("/start drive_999999")


async def test_donor_who_gave_blood_recently_is_told_the_date(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    await add_drive(database, dt.date(2026, 12, 12), "Nhà văn hoá xã Bình Lư", SLOTS)
    person_id = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    async with database.work() as work:
        person = await persons.get(work, person_id)
        assert person is not None
        await donations.add(
            work, person, dt.date(2026, 11, 1), DonationKind.WHOLE_BLOOD, Actor("t"), volume_ml=350
        )
    chat = chat_factory("lan")
    await chat.say("/drives")
    await chat.choose("Bình Lư")
    refusal = await chat.choose("Đăng ký hiến máu")
    assert "bạn chưa đủ điều kiện" in refusal and "24/01/2027" in refusal


async def test_committee_creates_reschedules_and_cancels_a_drive(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    await add_person(
        database, "bcd", "Nguyễn Minh Đức", "+84912000003", role="committee", unit="LCU"
    )
    lan = await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    assert "dành cho người có vai trò" in await chat_factory("lan").say("/newdrive")

    bcd = chat_factory("bcd")
    assert "Tên đợt" in await bcd.say("/newdrive")
    await bcd.say("Ngày hội hiến máu Giọt hồng Sông Đà")
    await bcd.choose("Bỏ qua")
    assert "đã qua" in await bcd.say("01/11/2026")
    await bcd.say("20/12/2026")
    assert "chồng lên nhau" in await bcd.say("07:30-09:00 50; 08:30-10:00 50")
    await bcd.say("07:30-08:30 2; 08:30-10:00 100")
    await bcd.say("Nhà văn hoá xã Bình Lư")
    await bcd.say("https://www.google.com/maps/place/Binh+Lu/@22.3501,103.6012,17z")
    await bcd.choose("Bỏ qua")
    await bcd.say("Bệnh viện Đa khoa tỉnh Lai Châu")
    assert "từ 0 đến" in await bcd.say("nhiều lắm")
    summary = await bcd.say("1.000")
    assert "1000 đơn vị" in summary and "07:30–08:30: 2 người" in summary
    created = await bcd.choose("Tạo đợt")
    assert "Đã tạo đợt" in created and "dự kiến" in created
    async with database.work() as work:
        drive = await work.session.scalar(select(Drive))
        assert drive is not None
        assert (drive.latitude, drive.longitude) == (22.3501, 103.6012)
        assert drive.status == "planned" and len(drive.slots) == 2
        drive_id = drive.id
    assert "đang nhận đăng ký" in await bcd.choose("Mở đăng ký")

    donor = chat_factory("lan")
    await donor.say(f"/start drive_{drive_id}")
    await donor.choose("Đăng ký hiến máu")
    await donor.choose("08:30–10:00")

    await bcd.say("/managedrives")
    card = await bcd.choose("Bình Lư")
    assert "Đã đăng ký: 1 người" in card
    await bcd.choose("Sửa thông tin")
    await bcd.choose("Chỉ tiêu")
    assert "Chỉ tiêu: 300 đơn vị" in await bcd.say("300")
    await bcd.choose("Dời lịch")
    await bcd.say("27/12/2026")
    confirm = await bcd.choose("Giữ nguyên giờ")
    assert "20/12/2026 sang 27/12/2026" in confirm and "1 người" in confirm
    assert "Đã gửi tin báo cho 1 người" in await bcd.choose("Dời lịch")
    await bcd.choose("Huỷ đợt")
    assert "Đã huỷ đợt" in await bcd.choose("Huỷ đợt")
    async with database.work() as work:
        notices = list(await work.session.scalars(select(Outbox).order_by(Outbox.id)))
        drive = await drives.get(work, drive_id)
        assert drive.status == "cancelled" and drive.date == dt.date(2026, 12, 27)
    assert [(n.key, n.person_id) for n in notices] == [
        ("drive_rescheduled", lan),
        ("drive_cancelled", lan),
    ]
    assert "chưa đăng ký đợt hiến máu nào" in await donor.say("/mypledges")


async def test_export_lists_pledges_and_forget_gives_the_place_back(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    drive_id = await add_drive(database, dt.date(2026, 12, 12), "Nhà văn hoá xã Bình Lư", SLOTS)
    await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001")
    chat = chat_factory("lan")
    await chat.say(f"/start drive_{drive_id}")
    await chat.choose("Đăng ký hiến máu")
    await chat.choose("07:30–08:30")
    await chat.say("/export")
    attachment = chat.replies[0].attachment
    assert attachment is not None
    exported = json.loads(attachment.content)
    assert exported["pledges"] == [
        {
            "drive": "Ngày hội hiến máu Nhà văn hoá xã Bình Lư",
            "date": "2026-12-12",
            "place": "Nhà văn hoá xã Bình Lư",
            "slot": "07:30-08:30",
            "status": "pledged",
            "created_at": exported["pledges"][0]["created_at"],
        }
    ]
    await chat.say("/forget")
    await chat.choose("Xoá vĩnh viễn")
    async with database.work() as work:
        drive = await drives.get(work, drive_id)
        assert [s.taken for s in drive.slots] == [0, 0]
