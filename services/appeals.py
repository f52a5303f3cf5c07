"""Appeals: the notices that ask a person to come and donate, as opposed to reminders of a
drive they pledged to, receipts, tallies and answers they asked for.

One list, used by everything that treats appeals alike: the reminder funnel of the analytics
(sent -> delivered -> pledged -> donated), the cap on appeals per person in a rolling window,
and the line at the end of an appeal saying why the donor got it and how to pause or stop.
A new kind of appeal is added here, with its outbox key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services import appeal_cap, busy, do_not_contact

if TYPE_CHECKING:
    from services.outbox import Notice
    from services.work import Work

# Outbox keys of appeals. Urgent broadcasts ("notice" with urgent=True) are appeals too, but
# sit outside any cap: the outbox row's `urgent` flag tells them apart.
APPEAL_KEYS: frozenset[str] = frozenset(
    {
        "drive_notice",
        "eligible",
        "eligible_nudge",
        "notice",
        "missed_you",  # a pledged donor who did not come, offered another drive (aftercare)
    }
)


async def screen(work: Work, notices: list[Notice]) -> list[Notice]:
    """The notices that may be queued now. Every notice the outbox is asked to queue passes
    through here (`outbox.enqueue`, `outbox.enqueue_many`), so a rule about who may be appealed
    to, or messaged at all, lives in one place: add it as one more filter below, in a single
    query for the whole batch (planners pass thousands at once)."""
    notices = await busy.screen(work, notices, APPEAL_KEYS)  # /busy: paused until a date
    notices = await do_not_contact.screen(work, notices)  # a volunteer's mark after a call
    # Keep the cap last: an appeal another rule leaves out must not use up the allowance.
    # What a rule left out is counted in `work.skipped` (e.g. "cap").
    notices = await appeal_cap.screen(work, notices, APPEAL_KEYS)  # 4 appeals in 30 days
    return notices
