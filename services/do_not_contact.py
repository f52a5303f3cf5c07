""" "Do not contact", as a volunteer marked it after a call (services.calls): no notice is
queued for the person (`screen`, called from `appeals.screen`) and none still pending is sent
(`blocks`, checked by the outbox sender), whatever its kind, except news of a drive they
pledged to themselves being cancelled or moved (`EXEMPT_KEYS`): they chose to come, and must
not travel to a drive that is not there. The person can still use the bot: answers in a chat
are replies, not notices. A volunteer can undo the mark."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from db.models import Person
from services.work import Work

if TYPE_CHECKING:
    from services.outbox import Notice

EXEMPT_KEYS = frozenset({"drive_cancelled", "drive_rescheduled"})


def blocks(key: str, person: Person | None) -> bool:
    """Whether a pending notice `key` to `person` must not be sent now."""
    return person is not None and person.do_not_contact_at is not None and key not in EXEMPT_KEYS


async def screen(work: Work, notices: list[Notice]) -> list[Notice]:
    """The notices left after dropping those to people marked "do not contact"."""
    asked = sorted({n.person_id for n in notices if n.key not in EXEMPT_KEYS})
    blocked: set[int] = set()
    for start in range(0, len(asked), 5000):
        rows = await work.session.scalars(
            select(Person.id).where(
                Person.id.in_(asked[start : start + 5000]), Person.do_not_contact_at.is_not(None)
            )
        )
        blocked.update(rows)
    if not blocked:
        return notices
    return [n for n in notices if n.key in EXEMPT_KEYS or n.person_id not in blocked]
