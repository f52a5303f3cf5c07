"""Availability switch (/busy): a donor pauses every appeal until a date, without a reason.

While `person.busy_until >= today` no appeal (`appeals.APPEAL_KEYS`) is queued for them
(`screen`, called from `appeals.screen`), and appeals already pending are held at sending time:
a "you can donate again" moves to the first evening after the pause, other appeals (drive
notices, broadcasts) are dropped, as they would be stale by then. Reminders of a drive they
pledged to, receipts and answers still go. The day after `busy_until` appeals resume by
themselves: the donate-again planner also picks up people whose pause just ended and who
became eligible during it (`planners.donate_again`). The donor stays counted everywhere.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select

from db.models import Person
from locales import N_
from services.audit import Actor, record
from services.errors import InvalidInput
from services.work import Work

if TYPE_CHECKING:
    from services.outbox import Notice

MAX_AHEAD_DAYS = 366  # a pause of up to about a year
# Choices offered by /busy: payload value -> days (a month is 30 days, 3 months 91).
CHOICES: dict[str, int] = {"1w": 7, "2w": 14, "1m": 30, "3m": 91}
# Held at sending time rather than dropped: they are still true after the pause.
HELD_KEYS = frozenset({"eligible", "eligible_nudge"})


def is_busy(person: Person, today: dt.date) -> bool:
    return person.busy_until is not None and person.busy_until >= today


def until_for(choice: str, today: dt.date) -> dt.date:
    """The last busy day for a /busy choice ("1w", "2w", "1m", "3m")."""
    days = CHOICES.get(choice)
    if days is None:
        raise InvalidInput(N_("Mời bạn chọn một mốc thời gian."))
    return today + dt.timedelta(days=days - 1)


def parse_until(text: str, today: dt.date) -> dt.date:
    """A typed date dd/mm/yyyy (or dd/mm: this year, or next year if already past)."""
    parts = text.strip().replace("-", "/").replace(".", "/").split("/")
    try:
        if len(parts) == 2:
            day = dt.date(today.year, int(parts[1]), int(parts[0]))
            if day < today:
                day = day.replace(year=today.year + 1)
        elif len(parts) == 3:
            day = dt.date(int(parts[2]), int(parts[1]), int(parts[0]))
        else:
            raise ValueError(text)
    except ValueError:
        raise InvalidInput(
            N_("Mình chưa đọc được ngày này. Bạn gõ theo dạng ngày/tháng/năm, ví dụ {example}."),
            example=(today + dt.timedelta(days=14)).strftime("%d/%m/%Y"),
        ) from None
    check_until(day, today)
    return day


def check_until(day: dt.date, today: dt.date) -> None:
    if day < today:
        raise InvalidInput(N_("Ngày này đã qua rồi. Bạn chọn một ngày từ hôm nay trở đi nhé."))
    if day > today + dt.timedelta(days=MAX_AHEAD_DAYS):
        raise InvalidInput(
            N_("Bạn chỉ tạm dừng được tối đa 12 tháng (đến {date}). Mời bạn chọn ngày sớm hơn."),
            date=(today + dt.timedelta(days=MAX_AHEAD_DAYS)).strftime("%d/%m/%Y"),
        )


async def pause(work: Work, person: Person, until: dt.date, actor: Actor) -> None:
    """No appeals to `person` up to and including `until`."""
    check_until(until, work.today())
    person.busy_until = until
    person.updated_at = work.now()
    record(work, actor, "person.busy", person.id, until=until.isoformat())


async def resume(work: Work, person: Person, actor: Actor) -> bool:
    """Appeals again from now. False when no pause was on."""
    if not is_busy(person, work.today()):
        return False
    person.busy_until = None
    person.updated_at = work.now()
    record(work, actor, "person.busy", person.id, until=None)
    return True


async def screen(work: Work, notices: list[Notice], appeal_keys: frozenset[str]) -> list[Notice]:
    """Appeals (`appeal_keys`) to people whose pause is on are left out (one query a batch)."""
    asked = sorted({n.person_id for n in notices if n.key in appeal_keys})
    if not asked:
        return notices
    today = work.today()
    busy: set[int] = set()
    for start in range(0, len(asked), 5000):
        busy.update(
            await work.session.scalars(
                select(Person.id).where(
                    Person.id.in_(asked[start : start + 5000]), Person.busy_until >= today
                )
            )
        )
    if not busy:
        return notices
    kept = [n for n in notices if n.key not in appeal_keys or n.person_id not in busy]
    work.skipped["busy"] += len(notices) - len(kept)
    return kept
