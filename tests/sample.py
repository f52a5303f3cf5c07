"""Sample data for tests: the Lai Châu unit tree and a volunteer, through the services."""

from __future__ import annotations

from importlib import resources

from services import identities, persons, roles, units
from services.audit import Actor
from services.persons import DonorDraft, Purpose
from services.validation import Birth
from services.work import Database


async def load_units(database: Database) -> None:
    text = (resources.files("bot") / "sample" / "units-laichau.csv").read_text(encoding="utf-8")
    async with database.work() as work:
        await units.upsert(work, units.read_unit_csv(text))


async def add_person(
    database: Database,
    user: str,
    name: str,
    phone: str,
    year: int = 1990,
    role: str | None = None,
    unit: str = "LCU-TD",
) -> int:
    async with database.work() as work:
        identity = await identities.touch(work, "console", user, user, "vi", name)
        found = await units.by_code(work, unit)
        draft = DonorDraft(
            name,
            phone,
            Birth(year),
            "male",
            "O+",
            found.id if found else None,
            None,
            frozenset(Purpose),
        )
        person = await persons.register_self(work, identity, draft, Actor(f"console:{user}"))
        if role:
            await roles.grant(work, person, roles.Role(role), unit, Actor("test"))
        return person.id
