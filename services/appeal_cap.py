"""The cap on appeals: nobody gets more than `[rules] appeals_per_30_days` (4) non-urgent
appeals in a rolling 30 days.

Counted against the cap: the person's outbox rows of an appeal kind (`appeals.APPEAL_KEYS`),
not urgent, pending or sent, sent (or, while pending, due) in the last 30 days. Outside it:
urgent notices (an urgent broadcast needs a written reason, see services.broadcasts) and every
notice that is not an appeal: reminders of a drive the donor pledged to, drive-day notices,
changes to their drive, receipts, tallies.

An appeal over the cap is not sent. It is written to the outbox all the same, with status
"capped" (the sender only takes "pending" rows), so that its dedup key is taken: a planner
that runs again (drive notices every hour, "donate again" over a few catch-up days) neither
retries nor counts it again, and each skipped appeal is counted exactly once, in the unit of
work that skipped it (`work.skipped["cap"]`). A capped appeal is not offered again when the
window frees up; the next appeal is. Erasing a person deletes these rows with the others.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Collection
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from db.models import Outbox
from services.work import Work

if TYPE_CHECKING:
    from services.outbox import Notice

WINDOW = dt.timedelta(days=30)
CAPPED = "capped"  # the outbox status of an appeal left out by the cap
COUNTED = ("pending", "sent")
CHUNK = 5000


async def screen(work: Work, notices: list[Notice], appeal_keys: Collection[str]) -> list[Notice]:
    """The notices within each person's allowance, in the order given; the appeals over it are
    stored as "capped" rows and counted in `work.skipped["cap"]`. One query per batch, and
    one more when someone may go over."""
    candidates = [
        n for n in notices if n.key in appeal_keys and not n.urgent and n.person_id is not None
    ]
    if not candidates:
        return notices
    cap = work.rules.appeals_per_30_days
    used = await appeals_in_window(work, sorted({n.person_id for n in candidates}), appeal_keys)
    asked = Counter(n.person_id for n in candidates)
    at_risk = {person for person, n in asked.items() if used[person] + n > cap}
    if not at_risk:  # the usual case: one query, everything fits
        return notices
    # Already in the outbox (queued, sent or capped): the insert will be a no-op, not a new
    # appeal, so it neither uses the allowance nor counts as capped.
    stored = await _stored_keys(work, [n.dedup_key for n in candidates if n.person_id in at_risk])
    fresh = [n for n in candidates if n.person_id in at_risk and n.dedup_key not in stored]
    over: list[Notice] = []
    for notice in fresh:
        if used[notice.person_id] >= cap:
            over.append(notice)
        else:
            used[notice.person_id] += 1
    if not over:
        return notices
    await _store_capped(work, over, cap)
    left_out = {id(n) for n in over}
    return [n for n in notices if id(n) not in left_out]


async def appeals_in_window(
    work: Work, person_ids: list[int], appeal_keys: Collection[str]
) -> defaultdict[int, int]:
    """person id -> the non-urgent appeals queued or sent to them in the last 30 days."""
    since = work.now() - WINDOW
    used: defaultdict[int, int] = defaultdict(int)
    for start in range(0, len(person_ids), CHUNK):
        rows = await work.session.execute(
            select(Outbox.person_id, func.count(Outbox.id))
            .where(
                Outbox.person_id.in_(person_ids[start : start + CHUNK]),
                Outbox.key.in_(sorted(appeal_keys)),
                Outbox.urgent.is_(False),
                Outbox.status.in_(COUNTED),
                func.coalesce(Outbox.sent_at, Outbox.due_at) > since,
            )
            .group_by(Outbox.person_id)
        )
        for person_id, n in rows.all():
            assert person_id is not None
            used[person_id] = int(n)
    return used


async def _stored_keys(work: Work, keys: list[str]) -> set[str]:
    stored: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        stored.update(
            await work.session.scalars(
                select(Outbox.dedup_key).where(Outbox.dedup_key.in_(keys[start : start + CHUNK]))
            )
        )
    return stored


async def _store_capped(work: Work, over: list[Notice], cap: int) -> None:
    from services import outbox  # outbox imports appeals, which imports us

    chats = await outbox.reachable_identities(work, sorted({n.person_id for n in over}))
    now = work.now()
    rows = [
        outbox.row(
            n,
            chats[n.person_id],
            now,
            urgent=False,
            status=CAPPED,
            last_error=f"cap: {cap} appeals in 30 days",
        )
        for n in over
        if n.person_id in chats  # nobody to write to: nothing would have been queued anyway
    ]
    work.skipped["cap"] += len(rows)
    await outbox.insert_rows(work, rows)


async def at_cap(work: Work, person_ids: list[int], appeal_keys: Collection[str]) -> int:
    """How many of these people have had their allowance of appeals (a broadcast's preview)."""
    used = await appeals_in_window(work, person_ids, appeal_keys)
    return sum(1 for n in used.values() if n >= work.rules.appeals_per_30_days)
