"""A certificate photo sent on Zalo (our adapter against the fake Zalo Bot Platform): the
picture is fetched from the URL Zalo gives, kept, and sent back as a photo where the bot
serves images (webhook mode)."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Donation
from services import donations, identities, persons, units
from services.audit import Actor
from services.eligibility import DonationKind
from services.persons import DonorDraft, Purpose
from services.validation import Birth
from services.work import Database
from tests.conftest import NOW
from tests.e2e import test_zalo as channel_tests
from tests.e2e.test_zalo import Harness
from tests.fakes.zalo_api import FakeZaloAPI
from tests.sample import load_units

api = channel_tests.api  # the fake platform and the channel, as its own tests set them up
bot = channel_tests.bot

JPEG = b"\xff\xd8\xff\xe0" + b"giay chung nhan zalo" * 30


async def test_a_certificate_photo_sent_on_zalo_is_kept_and_shown(
    bot: Harness,
    api: FakeZaloAPI,
    database: Database,
) -> None:
    await load_units(database)
    async with database.work() as work:
        identity = await identities.touch(work, "zalo", "z-lan", "z-lan", "vi", "Lan")
        unit = await units.by_code(work, "LCU-TD")
        assert unit is not None
        draft = DonorDraft(
            "Nguyễn Thị Lan",
            "+84912000091",
            Birth(1995),
            "female",
            "O+",
            unit.id,
            None,
            frozenset(Purpose),
        )
        person = await persons.register_self(work, identity, draft, Actor("zalo:z-lan"))
        await donations.add(
            work, person, NOW.date(), DonationKind.WHOLE_BLOOD, Actor("t"), volume_ml=350
        )
    user = api.user("z-lan", "Lan")
    await bot.say(user, "/mydonations")
    await bot.choose(user, "Giấy chứng nhận")
    await bot.choose(user, "26/11/2026")
    assert "Gửi cho mình ảnh chụp" in await bot.choose(user, "Lưu ảnh giấy chứng nhận")
    seen = len(api.sent(user.id))
    await bot.act(lambda: user.send_image(JPEG))
    saved = "\n".join(m.text or "" for m in api.sent(user.id)[seen:])
    assert "✅ Đã lưu ảnh giấy chứng nhận cho lần hiến ngày 26/11/2026." in saved
    async with database.work() as work:
        donation = (await work.session.scalars(select(Donation))).one()
        assert work.data_dir is not None and donation.certificate_path is not None
        assert (work.data_dir / donation.certificate_path).read_bytes() == JPEG

    shown = await bot.choose(user, "Xem ảnh giấy chứng nhận")
    assert "Ảnh giấy chứng nhận hiến máu của bạn" in shown
    if bot.channel.config.mode == "webhook":  # images are served: it goes as a photo
        photo = api.sent(user.id)[-1]
        assert photo.method == "sendPhoto" and photo.photo == JPEG
