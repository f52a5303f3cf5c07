"""After the drive, through the console and the scheduler's tick (issue 11, part B): the
thank-you with the drive's total, the feedback the committee sees in its tally, "we missed
you" for a pledged donor who did not come, the volunteers' call list with "do not contact",
the self-check before pledging, and the certificate photo erased by /forget.

"Today" is Thursday 26/11/2026, 10:00 in Hà Nội (tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select

from db.models import Audit, CallTask, Deferral, DialogueState, Donation, Feedback, Outbox, Person
from handlers.messages import Inbound, InboundKind, Reply
from scheduler.sender import Limits, Sender
from scheduler.ticker import Ticker
from services import analytics, checkin, drives, outbox, persons, pledges, roles
from services.audit import Actor
from services.clock import FixedClock
from services.drives import SlotSpec
from services.eligibility import DonationKind
from services.planners import PlanSettings
from services.schedule import QuietHours
from services.work import Database
from tests.conftest import ZONE, Transcript
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive

TODAY = dt.date(2026, 11, 26)
NEXT_DRIVE = dt.date(2026, 12, 12)
SLOTS = (SlotSpec(dt.time(7, 30), dt.time(9, 30), 40),)
INSTITUTION = "Viện Huyết học - Truyền máu TW"
BL = "LCU-X-BINHLU"  # Xã Bình Lư, in Tam Đường
JPEG = b"\xff\xd8\xff\xe0" + b"certificate photo" * 20


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=ZONE)


class Inbox:
    """The console channel's deliveries, per chat, as the replies the renderer made."""

    def __init__(self) -> None:
        self.got: list[tuple[str, Reply]] = []

    async def deliver(self, chat_id: str, replies: list[Reply]) -> None:
        self.got.extend((chat_id, reply) for reply in replies)

    def to(self, chat_id: str) -> list[Reply]:
        return [reply for chat, reply in self.got if chat == chat_id]

    def texts(self, chat_id: str) -> list[str]:
        return [reply.text for reply in self.to(chat_id)]


def ticker(database: Database, inbox: Inbox) -> Ticker:
    sender = Sender(
        database,
        {"console": inbox.deliver},
        {"console": Limits(per_second=1000, per_chat_seconds=0)},
        quiet=QuietHours.parse("21:00-07:00"),
    )
    return Ticker(database, PlanSettings(), sender)


async def press(chat: Transcript, payload: str) -> str:
    """Press a button of a message the bot sent through the outbox."""
    user = chat.console.user_id
    inbound = Inbound("console", user, user, InboundKind.BUTTON, payload)
    chat.replies = await chat.console.dispatch(inbound)
    chat.console.menu = next((r.choices for r in reversed(chat.replies) if r.choices), ())
    return "\n".join(r.text for r in chat.replies)


def payloads(reply: Reply) -> list[str]:
    return [button.payload for button in reply.buttons]


async def setup(database: Database) -> dict[str, int]:
    """Tam Đường: a volunteer, a committee member; today's drive in Bình Lư (to the national
    institute) where Lan and Tú pledged, and one on 12/12."""
    await load_units(database)
    ids = {
        "vol": await add_person(
            database, "vol", "Trần Văn Hùng", "+84912000001", role="volunteer", unit="LCU-TD"
        ),
        "bcd": await add_person(
            database, "bcd", "Phạm Thu Hà", "+84912000002", role="committee", unit="LCU-TD"
        ),
        "lan": await add_person(database, "lan", "Nguyễn Thị Lan", "+84912300001", 1995, unit=BL),
        "tu": await add_person(database, "tu", "Vũ Văn Tú", "+84912300003", 1996, unit=BL),
        "minh": await add_person(database, "minh", "Lò Văn Minh", "+84912300004", 1993, unit=BL),
    }
    ids["drive"] = await add_drive(
        database, TODAY, "Nhà văn hoá xã Bình Lư", SLOTS, unit_code="LCU-TD"
    )
    ids["next"] = await add_drive(
        database, NEXT_DRIVE, "Trung tâm Y tế huyện Tam Đường", SLOTS, unit_code="LCU-TD"
    )
    async with database.work() as work:
        drive = await drives.get(work, ids["drive"])
        drive.receiving_institution = INSTITUTION
        for user in ("lan", "tu"):
            person = await persons.get(work, ids[user])
            assert person is not None
            await pledges.pledge(work, person, drive.id, drive.slots[0].id, Actor("test"))
    return ids


async def record_donation(database: Database, ids: dict[str, int], user: str) -> None:
    async with database.work() as work:
        volunteer = await persons.get(work, ids["vol"])
        assert volunteer is not None
        await checkin.record_donation(
            work, volunteer, ids["drive"], ids[user], DonationKind.WHOLE_BLOOD, 350, Actor("vol")
        )


async def test_thank_you_in_the_evening_then_feedback_that_the_committee_sees(
    database: Database, clock: FixedClock, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    ids = await setup(database)
    await record_donation(database, ids, "lan")
    await record_donation(database, ids, "minh")  # a walk-in
    inbox = Inbox()
    tick = ticker(database, inbox)

    clock.set(at(26, 18, 59))
    await tick.tick()
    assert inbox.to("lan") == []
    clock.set(at(26, 19, 0))
    await tick.tick()
    [thanks] = inbox.to("lan")
    assert thanks.text.splitlines()[:2] == [
        "❤️ Cảm ơn bạn đã đến hiến máu tại Nhà văn hoá xã Bình Lư!",
        f"Ngày hội hôm nay thu được 2 đơn vị máu, chuyển về {INSTITUTION}.",
    ]
    assert "🗓 Bạn có thể hiến lại từ ngày 18/02/2027." in thanks.text  # 12 weeks on
    assert len(inbox.to("minh")) == 1
    clock.set(at(26, 20, 0))
    await tick.tick()
    assert len(inbox.to("lan")) == 1  # once

    # The next morning at 10:00, one question.
    clock.set(at(27, 9, 59))
    await tick.tick()
    assert len(inbox.to("lan")) == 1
    clock.set(at(27, 10, 0))
    await tick.tick()
    question = inbox.to("lan")[-1]
    assert "Bạn thấy ngày hội hiến máu hôm qua tại Nhà văn hoá xã Bình Lư thế nào?" in (
        question.text
    )
    assert [b.label for b in question.buttons] == ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]
    lan = chat_factory("lan")
    ask = await press(lan, payloads(question)[3])
    assert "Cảm ơn bạn đã chấm 4/5!" in ask and lan.menu == ["Bỏ qua"]
    done = await lan.say("Chỗ chờ hơi chật,   nên thêm ghế.")
    assert "Ban tổ chức sẽ đọc từng góp ý" in done
    minh = chat_factory("minh")
    await press(minh, payloads(inbox.to("minh")[-1])[4])
    await minh.choose("Bỏ qua")
    tu = chat_factory("tu")  # pledged, never came: may not score the drive
    refused = await press(tu, f"fb:{ids['drive']}:1")
    assert "chỉ góp ý được cho đợt hiến máu mình đã tham gia" in refused

    async with database.work() as work:
        rows = list(await work.session.scalars(select(Feedback).order_by(Feedback.id)))
        assert [(r.person_id, r.score, r.comment) for r in rows] == [
            (ids["lan"], 4, "Chỗ chờ hơi chật, nên thêm ghế."),
            (ids["minh"], 5, None),
        ]
    tally = await chat_factory("bcd").say("/tally")
    assert "Góp ý của người hiến (các đợt 7 ngày qua):" in tally
    assert "• 26/11 · Nhà văn hoá xã Bình Lư: 2 góp ý, trung bình 4,5/5" in tally
    assert "“Chỗ chờ hơi chật, nên thêm ghế.”" in tally
    # The question is not asked again once answered.
    assert len([t for t in inbox.texts("lan") if "thế nào?" in t]) == 1

    # /forget keeps the score for the tally, without the person or the comment.
    lan_chat = chat_factory("lan")
    await lan_chat.say("/forget")
    await lan_chat.choose("Xoá vĩnh viễn")
    async with database.work() as work:
        rows = list(await work.session.scalars(select(Feedback).order_by(Feedback.id)))
        assert (rows[0].person_id, rows[0].score, rows[0].comment) == (None, 4, None)
    tally = await chat_factory("bcd").say("/tally")
    assert "2 góp ý, trung bình 4,5/5" in tally and "ghế" not in tally


async def test_a_late_record_is_thanked_the_next_evening(
    database: Database, clock: FixedClock
) -> None:
    ids = await setup(database)
    clock.set(at(26, 19, 30))  # recorded after the evening's thank-yous went
    await record_donation(database, ids, "lan")
    inbox = Inbox()
    tick = ticker(database, inbox)
    await tick.tick()
    clock.set(at(27, 18, 59))
    await tick.tick()
    assert inbox.to("lan") == []
    clock.set(at(27, 19, 0))
    await tick.tick()
    [thanks] = inbox.texts("lan")
    assert f"Ngày hội hôm qua thu được 1 đơn vị máu, chuyển về {INSTITUTION}." in thanks


async def test_a_no_show_is_missed_kindly_and_lands_on_the_call_list(
    database: Database, clock: FixedClock, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    ids = await setup(database)
    await record_donation(database, ids, "lan")
    inbox = Inbox()
    tick = ticker(database, inbox)
    clock.set(at(27, 8, 59))
    await tick.tick()
    assert inbox.to("tu") == []
    clock.set(at(27, 9, 0))
    await tick.tick()
    [missed] = inbox.to("tu")
    assert "Ngày hội hiến máu hôm qua tại Nhà văn hoá xã Bình Lư mình không gặp bạn" in (
        missed.text
    )
    labels = [b.label for b in missed.buttons]
    assert labels[:4] == ["😅 Quên mất", "🤒 Bị ốm", "💼 Bận việc", "🩺 Bị hoãn hiến tại chỗ"]
    assert labels[4:] == ["📅 12/12 · Trung tâm Y tế huyện Tam Đường", "🩸 Chọn đợt khác"]
    assert "missed:" not in " ".join(inbox.texts("lan"))  # Lan came
    async with database.work() as work:
        pledge = await pledges.current(work, ids["tu"], ids["drive"])
        assert pledge is not None and pledge.status == "no_show"
        [task] = list(await work.session.scalars(select(CallTask)))
        assert (task.person_id, task.reason, task.drive_id) == (ids["tu"], "no_show", ids["drive"])
    await tick.tick()
    assert len(inbox.to("tu")) == 1  # once

    # The donor answers with one tap, then picks another drive with one more.
    tu = chat_factory("tu")
    answer = await press(tu, payloads(missed)[2])  # busy
    assert "Bạn chọn một đợt thuận tiện hơn nhé" in answer
    assert tu.menu == ["📅 12/12 · Trung tâm Y tế huyện Tam Đường", "🩸 Chọn đợt khác"]
    card = await tu.choose("12/12")
    assert "Trung tâm Y tế huyện Tam Đường" in card
    assert "khung giờ nào" in await tu.choose("Đăng ký hiến máu")
    assert "Cảm ơn bạn! Mình đã ghi nhận bạn đăng ký" in await tu.choose("07:30")
    async with database.work() as work:
        pledge = await pledges.current(work, ids["tu"], ids["drive"])
        assert pledge is not None and (pledge.status, pledge.missed_reason) == ("no_show", "busy")
        assert await pledges.current(work, ids["tu"], ids["next"]) is not None
        # The analytics funnel counts "we missed you" as an appeal that led to a pledge.
        report = await analytics.funnel(work, await analytics.unit_scope(work, None), 2026)
        [row] = [row for row in report.totals if row.key == "missed_you"]
        assert (row.sent, row.delivered, row.pledged, row.donated) == (1, 1, 1, 0)

    # The volunteer's call list: name, phone, last contact, reason.
    vol = chat_factory("vol")
    listing = await vol.say("/calls")
    assert "📞 Những người cần gọi (1):" in listing
    assert "1. Vũ Văn Tú · 0912 300 003" in listing
    assert "Lý do: vắng mặt ở đợt đã đăng ký · Liên lạc gần nhất: 27/11/2026 09:00" in listing
    assert vol.menu == ["1. Vũ Văn Tú"]
    card = await vol.choose("Vũ Văn Tú")
    assert "Kết quả: chưa gọi" in card
    clock.set(at(27, 15, 0))
    noted = await vol.choose("Không nghe máy")
    assert "Đã ghi: Vũ Văn Tú — không nghe máy." in noted and vol.menu == ["Bỏ qua"]
    assert "Đã lưu ghi chú" in await vol.say("Gọi lại sau 18h")
    listing = await vol.say("/calls")  # still open: no answer
    assert "Liên lạc gần nhất: 27/11/2026 15:00" in listing
    async with database.work() as work:
        task = (await work.session.scalars(select(CallTask))).one()
        assert (task.outcome, task.note, task.called_by_id) == (
            "no_answer",
            "Gọi lại sau 18h",
            ids["vol"],
        )
        actions = list(
            await work.session.scalars(
                select(Audit.action).where(Audit.subject_person_id == ids["tu"])
            )
        )
        assert actions.count("call.list") == 2
        assert {"call.view", "call.outcome", "call.note"} <= set(actions)


async def test_do_not_contact_stops_every_message_until_a_volunteer_undoes_it(
    database: Database, clock: FixedClock, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    ids = await setup(database)
    await record_donation(database, ids, "lan")
    inbox = Inbox()
    tick = ticker(database, inbox)
    clock.set(at(27, 9, 0))
    await tick.tick()
    assert len(inbox.to("tu")) == 1
    async with database.work() as work:  # a notice already waiting when the mark is set
        assert await outbox.enqueue(
            work, ids["tu"], "drive_notice", {"drive_id": ids["next"]}, "test:pending"
        )
    vol = chat_factory("vol")
    await vol.say("/calls")
    await vol.choose("Vũ Văn Tú")
    marked = await vol.choose("Không muốn được liên hệ")
    assert "Từ giờ bot sẽ không nhắn tin cho người này nữa." in marked
    await vol.choose("Bỏ qua")
    async with database.work() as work:
        person = await persons.get(work, ids["tu"])
        assert person is not None and person.do_not_contact_at is not None
        # Nothing new is queued; the waiting notice is dropped at sending time.
        assert not await outbox.enqueue(
            work, ids["tu"], "drive_notice", {"drive_id": ids["next"]}, "test:new"
        )
    clock.set(at(27, 10, 0))
    await tick.tick()
    assert len(inbox.to("tu")) == 1
    async with database.work() as work:
        row = (
            await work.session.scalars(select(Outbox).where(Outbox.dedup_key == "test:pending"))
        ).one()
        assert (row.status, row.last_error) == ("dropped", "do not contact")
    # The donor can still use the bot themselves.
    assert "Các đợt hiến máu sắp tới" in await chat_factory("tu").say("/drives")

    listing = await vol.say("/calls")
    assert "1. 🚫 Vũ Văn Tú" in listing
    await vol.choose("Vũ Văn Tú")
    assert "Đã bỏ đánh dấu" in await vol.choose("Bỏ đánh dấu không liên hệ")
    async with database.work() as work:
        person = await persons.get(work, ids["tu"])
        assert person is not None and person.do_not_contact_at is None
        assert await outbox.enqueue(
            work, ids["tu"], "drive_notice", {"drive_id": ids["next"]}, "test:after"
        )
    assert "Hiện không có ai cần gọi" in await vol.say("/calls")

    # /forget removes the person from the call list, notes included.
    tu = chat_factory("tu")
    await tu.say("/forget")
    await tu.choose("Xoá vĩnh viễn")
    async with database.work() as work:
        assert list(await work.session.scalars(select(CallTask))) == []


async def test_self_check_gives_a_date_keeps_only_the_date_and_offers_the_pledge(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    ids = await setup(database)
    lan = chat_factory("lan")
    ask = await lan.say("/selfcheck")
    assert "Mình không lưu câu trả lời" in ask and "sốt, cảm cúm" in ask
    await lan.choose("Không")
    await lan.choose("1–3 tháng trước")  # a tattoo: 6 months from the nearer end
    weight = await lan.choose("Không")  # surgery; a man is not asked about pregnancy
    assert "Cân nặng" in weight
    last = await lan.choose("Từ 45 kg")
    assert "Lần gần nhất" in last
    advice = await lan.choose("Chưa từng")
    assert "bạn nên đến hiến máu từ ngày 26/04/2027" in advice
    assert "Bác sĩ tại điểm hiến máu sẽ khám và quyết định" in advice
    async with database.work() as work:
        [deferral] = list(await work.session.scalars(select(Deferral)))
        assert (deferral.reason, deferral.until) == ("self_check", dt.date(2027, 4, 26))
        person = await persons.get(work, ids["lan"])
        assert person is not None and person.next_eligible_on == dt.date(2027, 4, 26)
        assert (await work.session.scalars(select(DialogueState))).first() is None
        audit = list(await work.session.scalars(select(Audit).where(Audit.action.like("%self%"))))
        assert [a.details for a in audit] == [{}]  # no answers in the audit either

    # From a drive's card; all clear now: the advice replaces the earlier one and offers
    # the pledge.
    card = await lan.say("/drives")
    assert card
    await lan.choose("12/12")
    assert "Tự kiểm tra trước khi đăng ký" in " ".join(lan.menu)
    await lan.choose("Tự kiểm tra")
    for _question in range(4):
        await lan.choose("Không") if "Không" in lan.menu else await lan.choose("Từ 45 kg")
    advice = await lan.choose("Chưa từng")
    assert "bạn có thể đi hiến máu ngay" in advice
    assert lan.menu == ["✋ Đăng ký hiến máu", "🩸 Các đợt sắp tới"]
    async with database.work() as work:
        assert list(await work.session.scalars(select(Deferral))) == []
        person = await persons.get(work, ids["lan"])
        assert person is not None and person.next_eligible_on is None
    assert "khung giờ nào" in await lan.choose("Đăng ký hiến máu")


async def test_a_certificate_photo_is_kept_shown_exported_and_erased(
    database: Database, chat_factory, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ids = await setup(database)
    await record_donation(database, ids, "lan")
    photo = tmp_path / "giay.jpg"
    photo.write_bytes(JPEG)
    not_image = tmp_path / "note.jpg"
    not_image.write_bytes(b"not an image at all")
    lan = chat_factory("lan")
    await lan.say("/mydonations")
    listing = await lan.choose("Giấy chứng nhận")
    assert "chọn lần hiến" in listing and lan.menu == ["26/11/2026 · Máu toàn phần"]
    card = await lan.choose("26/11/2026")
    assert "Chưa có ảnh giấy chứng nhận." in card
    ask = await lan.choose("Lưu ảnh giấy chứng nhận")
    assert "Gửi cho mình ảnh chụp" in ask
    assert "Mời bạn gửi một ảnh chụp" in await lan.say("đây nhé")
    assert "Mình chỉ nhận ảnh" in await lan.say(f"/photo {not_image}")
    saved = await lan.say(f"/photo {photo}")
    assert "✅ Đã lưu ảnh giấy chứng nhận cho lần hiến ngày 26/11/2026." in saved
    async with database.work() as work:
        donation = (await work.session.scalars(select(Donation))).one()
        assert donation.certificate_path == f"certificates/{ids['lan']}/{donation.id}.jpg"
        stored = work.data_dir
    assert stored is not None
    folder = stored / "certificates" / str(ids["lan"])
    assert (folder / f"{donation.id}.jpg").read_bytes() == JPEG
    assert [p.name for p in folder.iterdir()] == [f"{donation.id}.jpg"]  # no temporary left

    shown = await lan.choose("Xem ảnh giấy chứng nhận")
    assert "Ảnh giấy chứng nhận hiến máu của bạn" in shown
    attachment = lan.replies[0].attachment
    assert attachment is not None and attachment.content == JPEG
    assert (attachment.filename, attachment.mime_type) == (
        "giay-chung-nhan-2026-11-26.jpg",
        "image/jpeg",
    )
    # Someone else's donation is not theirs to see.
    assert "Không tìm thấy lần hiến máu này" in await press(
        chat_factory("tu"), f"certshow:{donation.id}"
    )
    # A photo sent outside the question says how to keep one.
    assert "lưu ảnh giấy chứng nhận" in await lan.say(f"/photo {photo}")

    exported = await lan.say("/export")
    assert exported
    data = json.loads(next(r for r in lan.replies if r.attachment).attachment.content)  # type: ignore[union-attr]
    assert data["donations"][0]["certificate_photo"] == donation.certificate_path

    await lan.say("/forget")
    await lan.choose("Xoá vĩnh viễn")
    assert not folder.exists()
    async with database.work() as work:
        assert (await work.session.scalars(select(Donation))).one().certificate_path is None
        person = await work.session.get(Person, ids["lan"])
        assert person is not None and person.status == "erased"


async def test_a_volunteer_grant_is_needed_for_calls(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    ids = await setup(database)
    assert "dành cho người có vai trò" in await chat_factory("lan").say("/calls")
    async with database.work() as work:
        assert await roles.has_role(work, ids["vol"], roles.Role.VOLUNTEER)
