"""A volunteer registers a donor on their behalf; the donor confirms on first contact."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Audit, Consent, Identity, Person
from services import persons
from services.work import Database
from tests.sample import add_person, load_units


async def test_volunteer_registers_donor_who_confirms_later(
    database: Database, chat_factory
) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    volunteer_id = await add_person(
        database, "vol", "Trần Văn Hùng", "+84912000001", role="volunteer"
    )
    vol = chat_factory("vol")
    assert "/adddonor" in await vol.say("/help")
    assert "đã đồng ý" in await vol.say("/adddonor")
    await vol.choose("Đồng ý lưu và nhận nhắc lịch")
    assert "người hiến máu" in await vol.say("Lê Thị Hoa")
    assert "đã có hồ sơ" in await vol.say("0912000001")  # the volunteer's own phone: taken
    await vol.say("0987 654 321")
    await vol.say("1998")
    await vol.choose("Nữ")
    await vol.choose("Chưa biết")
    await vol.say("binh lu")
    await vol.choose("Xã Bình Lư")
    summary = await vol.choose("Bỏ qua")
    assert "Lê Thị Hoa" in summary and "Xã Bình Lư" in summary
    assert "xác nhận" in await vol.choose("Lưu")
    async with database.work() as work:
        hoa = await persons.find_by_phone(work, "+84987654321")
        assert hoa is not None
        assert hoa.registered_by_id == volunteer_id and persons.awaits_confirmation(hoa)
        recorded = set(
            await work.session.scalars(
                select(Consent.recorded_by_id).where(Consent.person_id == hoa.id)
            )
        )
        assert recorded == {volunteer_id}

    donor = chat_factory("hoa")
    await donor.say("/start")
    await donor.choose("Tôi đồng ý")
    await donor.say("có")  # typed words work as well as buttons
    await donor.say("không")
    await donor.say("Lê Thị Hoa")
    assert "tình nguyện viên" in await donor.say("0987654321")
    reply = await donor.say("1998")
    assert "Cảm ơn bạn đã xác nhận" in reply and "Lê Thị Hoa" in reply
    async with database.work() as work:
        hoa = await persons.find_by_phone(work, "+84987654321")
        assert hoa is not None and not persons.awaits_confirmation(hoa)
        active = await persons.active_consents(work, hoa.id)
        assert {p.value for p in active} == {"registration", "reminders"}
        by_donor = await work.session.scalars(
            select(Consent).where(Consent.person_id == hoa.id, Consent.withdrawn_at.is_(None))
        )
        assert all(c.recorded_by_id is None for c in by_donor)
        identity = await work.session.scalar(
            select(Identity).where(Identity.platform_user_id == "hoa")
        )
        assert identity is not None and identity.person_id == hoa.id
        actions = list(
            await work.session.scalars(
                select(Audit.action).where(Audit.subject_person_id == hoa.id).order_by(Audit.id)
            )
        )
        assert actions == ["person.register_on_behalf", "person.link", "person.confirm"]


async def test_donor_without_role_cannot_add_donors(database: Database, chat_factory) -> None:  # type: ignore[no-untyped-def]
    await load_units(database)
    await add_person(database, "plain", "Vàng A Sử", "+84912000004")
    chat = chat_factory("plain")
    assert "vai trò" in await chat.say("/adddonor")
    assert "/adddonor" not in await chat.say("/help")
    stranger = chat_factory("nobody")
    assert "vai trò" in await stranger.say("/adddonor")
    async with database.work() as work:
        assert len(list(await work.session.scalars(select(Person)))) == 1
