"""Registration by chat through the console channel, as a donor would type it."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from bot.app import build_engine
from db.engine import create_engine
from db.models import Audit, Consent, DialogueState, Identity, Person
from services.rules import Rules
from services.work import Database
from tests.conftest import ZONE, Transcript
from tests.sample import load_units


async def consent(chat, reminders: bool, club: bool) -> None:  # type: ignore[no-untyped-def]
    """Agree to registration, then answer the reminders and club-sharing questions."""
    await chat.choose("Tôi đồng ý")
    await chat.choose("Có, nhắc tôi" if reminders else "Không")
    await chat.choose("Đồng ý" if club else "Không")


async def register(chat, name="nguyễn thị lan", phone="0912 345 678", birth="17/12/1995"):  # type: ignore[no-untyped-def]
    assert "trợ lý tự động" in await chat.say("/start")
    assert "đồng ý" in chat.transcript
    await consent(chat, reminders=True, club=True)
    await chat.say(name)
    await chat.say(phone)
    await chat.say(birth)
    await chat.choose("Nữ")
    await chat.choose("O Rh+")
    await chat.say("tam duong")
    await chat.choose("Huyện Tam Đường")
    summary = await chat.say("52")
    return summary


async def test_donor_registers_end_to_end(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    chat = chat_factory("lan")
    summary = await register(chat)
    assert "Nguyễn Thị Lan" in summary  # all-lower-case name capitalised
    assert "0912 345 678" in summary
    assert "17/12/1995" in summary and "Nữ" in summary and "O Rh+" in summary
    assert "Huyện Tam Đường, Tỉnh Lai Châu" in summary and "52 kg" in summary
    async with database.work() as work:  # nothing stored before the summary is saved
        assert await work.session.scalar(select(func.count()).select_from(Person)) == 0
    done = await chat.choose("Lưu")
    assert "đăng ký thành công" in done
    async with database.work() as work:
        person = await work.session.scalar(select(Person))
        assert person is not None
        assert (person.full_name, person.phone, person.blood_group) == (
            "Nguyễn Thị Lan",
            "+84912345678",
            "O+",
        )
        assert person.birth_date is not None and person.birth_date.isoformat() == "1995-12-17"
        assert person.confirmed_at is not None and person.registered_by_id is None
        consents = set(await work.session.scalars(select(Consent.purpose)))
        assert consents == {"registration", "reminders", "club_sharing"}
        versions = set(await work.session.scalars(select(Consent.version)))
        assert versions == {"2026-01"}
        actions = list(await work.session.scalars(select(Audit.action)))
        assert actions == ["person.register"]
        assert await work.session.scalar(select(func.count()).select_from(DialogueState)) == 0
    assert "Chào mừng Nguyễn Thị Lan quay lại" in await chat.say("/start")


async def test_declining_consent_stores_nothing(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    chat = chat_factory()
    await chat.say("/start")
    answer = await chat.choose("Không, cảm ơn")
    assert "chưa lưu gì" in answer
    async with database.work() as work:
        assert await work.session.scalar(select(func.count()).select_from(Person)) == 0
        assert await work.session.scalar(select(func.count()).select_from(DialogueState)) == 0


async def test_bad_answers_keep_the_wizard_on_its_step(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    chat = chat_factory()
    await chat.say("/start")
    await consent(chat, reminders=False, club=False)
    for bad in ["", "   ", "x" * 5000, "😀😀😀", "Robert'); DROP TABLE person;--", "12345"]:
        reply = await chat.say(bad)
        assert "⚠️" in reply, bad
        assert "Họ và tên" in reply, bad  # the same question again
    await chat.say("Trần Văn Bình")
    for bad in ["abc", "0123", "+1 555", "091234567890123", "SELECT * FROM person"]:
        reply = await chat.say(bad)
        assert "Số điện thoại chưa đúng" in reply, bad
    await chat.say("+84 912 345 679")
    for bad, expected in [
        ("32/13/1990", "Ngày sinh chưa đúng"),
        ("hôm qua", "Ngày sinh chưa đúng"),
        ("01/01/2030", "không hợp lệ"),
        ("27/11/2008", "cần đủ 18 tuổi"),  # 17 years old on 26/11/2026
        ("1965", "từ 18 đến 60 tuổi"),  # 61 this year
        ("25/11/1965", "từ 18 đến 60 tuổi"),  # 61 since yesterday
    ]:
        reply = await chat.say(bad)
        assert expected in reply, (bad, reply)
        assert "Ngày sinh" in reply
    # In the middle of a wizard, other commands wait and unknown commands are explained.
    reply = await chat.say("/profile")
    assert "đang làm dở" in reply and "Ngày sinh" in reply
    reply = await chat.say("/xyz")
    assert "đang làm dở" in reply
    assert "/drives" in await chat.say("/help")  # help works anywhere
    assert "Giới tính" in await chat.say("26/11/2008")  # 18 today: welcome
    reply = await chat.say("không biết")
    assert "Nam hoặc Nữ" in reply
    await chat.say("nam")
    reply = await chat.say("Z+")
    assert "Nhóm máu chưa đúng" in reply
    await chat.say("b rh-")
    reply = await chat.say("zzzqqq")
    assert "Không tìm thấy" in reply
    await chat.choose("Bỏ qua")
    for bad in ["nặng lắm", "5", "999"]:
        assert "Cân nặng" in await chat.say(bad)
    summary = await chat.choose("Bỏ qua")
    assert "B Rh-" in summary and "Nam" in summary and "26/11/2008" in summary
    assert "Chưa chọn" in summary and "Chưa nhập" in summary
    reply = await chat.say("/cancel")
    assert "Đã huỷ" in reply
    async with database.work() as work:
        assert await work.session.scalar(select(func.count()).select_from(Person)) == 0
        assert await work.session.scalar(select(func.count()).select_from(DialogueState)) == 0


async def test_restart_mid_dialogue_resumes_at_the_same_step(database_url, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = Database(create_engine(database_url), clock, Rules(), ZONE)
    chat = Transcript(build_engine(first), "restart", tmp_path)
    await chat.say("/start")
    await consent(chat, reminders=True, club=False)
    await chat.say("Phạm Thu Hà")
    await first.dispose()  # the process stops

    second = Database(create_engine(database_url), clock, Rules(), ZONE)
    chat = Transcript(build_engine(second), "restart", tmp_path)
    reply = await chat.say("0987 111 222")  # the phone question was pending
    assert "Ngày sinh" in reply
    await second.dispose()


async def test_duplicate_phone_links_instead_of_creating(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    first = chat_factory("first")
    await register(first)
    await first.choose("Lưu")
    second = chat_factory("second")
    await second.say("/start")
    await consent(second, reminders=True, club=True)
    await second.say("Lan Nguyễn")
    reply = await second.say("+84912345678")
    assert "đã có hồ sơ" in reply
    assert "Nguyễn Thị Lan" not in reply  # nothing about the record is shown to a stranger
    assert "⚠️" in await second.say("1990")
    assert "Chia sẻ" not in await second.say("01/01/1995")
    reply = await second.say("1995")
    assert "Đã liên kết" in reply and "Nguyễn Thị Lan" in reply
    async with database.work() as work:
        assert await work.session.scalar(select(func.count()).select_from(Person)) == 1
        linked = list(await work.session.scalars(select(Identity.person_id)))
        assert len(linked) == 2 and len(set(linked)) == 1


async def test_three_wrong_birth_answers_stop_the_link(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    owner = chat_factory("owner")
    await register(owner)
    await owner.choose("Lưu")
    stranger = chat_factory("stranger")
    await stranger.say("/start")
    await consent(stranger, reminders=False, club=False)
    await stranger.say("Kẻ Lạ")
    await stranger.say("0912345678")
    await stranger.say("1980")
    await stranger.say("1981")
    reply = await stranger.say("1982")
    assert "dừng ở đây" in reply
    async with database.work() as work:
        identity = await work.session.scalar(
            select(Identity).where(Identity.platform_user_id == "stranger")
        )
        assert identity is not None and identity.person_id is None
        refused = await work.session.scalar(
            select(func.count()).select_from(Audit).where(Audit.action == "person.link_refused")
        )
        assert refused == 3


async def test_profile_edit_stop_export_forget(database: Database, chat_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    chat = chat_factory("me")
    await register(chat)
    await chat.choose("Lưu")
    profile = await chat.say("/profile")
    assert "Nhắc lịch hiến máu: Bật" in profile
    await chat.choose("Nhóm máu")
    reply = await chat.say("AB-")
    assert "Đã cập nhật" in reply and "AB Rh-" in reply
    await chat.choose("Họ tên")
    assert "⚠️" in await chat.say("<b>")
    assert "Nguyễn Thị Lan Anh" in await chat.say("Nguyễn Thị Lan Anh")
    await chat.choose("Điện thoại")
    assert "0987 654 321" in await chat.say("0987654321")
    assert "Đã tắt nhắc lịch" in await chat.say("/stop")
    assert "Nhắc lịch hiến máu: Tắt" in await chat.say("/profile")
    exported = await chat.say("/export")
    assert "dữ liệu" in exported
    data = json.loads((tmp_path / "hienmau-du-lieu-cua-toi.json").read_text())
    assert data["profile"]["full_name"] == "Nguyễn Thị Lan Anh"
    assert data["profile"]["phone"] == "+84987654321"
    assert data["profile"]["blood_group"] == "AB-"
    reminders = [c for c in data["consents"] if c["purpose"] == "reminders"]
    assert reminders[0]["withdrawn_at"] is not None
    assert "xoá toàn bộ" in await chat.say("/forget")
    assert "Đã giữ nguyên" in await chat.choose("Giữ lại")
    await chat.say("/forget")
    assert "Đã xoá" in await chat.choose("Xoá vĩnh viễn")
    async with database.work() as work:
        person = await work.session.scalar(select(Person))
        assert person is not None and person.status == "erased"
        assert (person.full_name, person.phone, person.birth_year, person.birth_date) == (
            None,
            None,
            None,
            None,
        )
        assert await work.session.scalar(select(func.count()).select_from(Identity)) == 0
        assert await work.session.scalar(select(func.count()).select_from(Consent)) == 0
        actions = set(await work.session.scalars(select(Audit.action)))
        assert {"person.update", "consent.withdraw", "person.export", "person.erase"} <= actions
    assert "chưa đăng ký" in await chat.say("/profile")
    assert "trợ lý tự động" in await chat.say("/start")  # a fresh start is possible


async def test_language_switch(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    chat = chat_factory()
    await chat.say("/language")
    assert "Switched to English" in await chat.choose("English")
    assert "automated" in (await chat.say("/start")).lower()
    await chat.say("/cancel")
    await chat.say("/language")
    assert "Đã chuyển sang tiếng Việt" in await chat.choose("Tiếng Việt")
