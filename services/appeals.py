"""Appeals: the notices that ask a person to come and donate, as opposed to reminders of a
drive they pledged to, receipts, tallies and answers they asked for.

One list, used by everything that treats appeals alike: the reminder funnel of the analytics
(sent -> delivered -> pledged -> donated), the cap on appeals per person in a rolling window,
and the line at the end of an appeal saying why the donor got it and how to pause or stop.
A new kind of appeal is added here, with its outbox key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.outbox import Notice
    from services.work import Work

# Outbox keys of appeals. Urgent broadcasts ("notice" with urgent=True) are appeals too, but
# sit outside any cap: the outbox row's `urgent` flag tells them apart.
APPEAL_KEYS: frozenset[str] = frozenset({"drive_notice", "eligible", "eligible_nudge", "notice"})


async def screen(work: Work, notices: list[Notice]) -> list[Notice]:
    """The notices that may be queued now. Every notice the outbox is asked to queue passes
    through here (`outbox.enqueue`, `outbox.enqueue_many`), so a rule about who may be appealed
    to, or messaged at all, lives in one place: add it as one more filter below, in a single
    query for the whole batch (planners pass thousands at once)."""
    return notices
