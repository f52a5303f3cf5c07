"""Certificate photos on disk follow the database: deleted only when the erasure commits."""

from __future__ import annotations

import datetime as dt

import pytest

from db.models import Donation, Person
from services import certificates
from services.audit import Actor
from services.work import Database

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ACTOR = Actor("console:1")


async def _donor_with_a_photo(database: Database) -> tuple[int, int]:
    async with database.work() as work:
        now = work.now()
        person = Person(full_name="Lò Văn Minh", created_at=now, updated_at=now)
        work.session.add(person)
        await work.session.flush()
        donation = Donation(
            person_id=person.id,
            donated_on=dt.date(2026, 9, 1),
            kind="whole_blood",
            created_at=now,
        )
        work.session.add(donation)
        await work.session.flush()
        await certificates.save(work, person, donation.id, JPEG, ACTOR)
        return person.id, donation.id


class Boom(Exception):
    pass


async def _erase_then_fail(database: Database, person_id: int) -> None:
    async with database.work() as work:
        await certificates.erase(work, person_id)
        raise Boom  # anything failing later in the same unit of work


async def test_an_erasure_rolled_back_keeps_the_files_and_a_committed_one_deletes_them(
    database: Database,
) -> None:
    assert database.data_dir is not None
    person_id, donation_id = await _donor_with_a_photo(database)
    folder = database.data_dir / certificates.FOLDER / str(person_id)
    assert (folder / f"{donation_id}.jpg").read_bytes() == JPEG
    with pytest.raises(Boom):
        await _erase_then_fail(database, person_id)
    async with database.work() as work:
        person = await work.session.get(Person, person_id)
        assert person is not None
        photo = await certificates.photo(work, person, donation_id)
        assert photo is not None and photo.content == JPEG
    async with database.work() as work:
        await certificates.erase(work, person_id)
        assert folder.exists()  # not before the commit
    assert not folder.exists()


async def test_a_replaced_photo_is_deleted_once_the_new_one_is_recorded(
    database: Database,
) -> None:
    assert database.data_dir is not None
    person_id, donation_id = await _donor_with_a_photo(database)
    folder = database.data_dir / certificates.FOLDER / str(person_id)
    async with database.work() as work:
        person = await work.session.get(Person, person_id)
        assert person is not None
        await certificates.save(work, person, donation_id, PNG, ACTOR)
    assert sorted(p.name for p in folder.iterdir()) == [f"{donation_id}.png"]
    async with database.work() as work:
        person = await work.session.get(Person, person_id)
        assert person is not None
        photo = await certificates.photo(work, person, donation_id)
        assert photo is not None and photo.content == PNG and photo.mime_type == "image/png"
