"""A place claimed from a club block goes back to the block while the block holds it.

Kept apart from `services.blocks` so that pledges and erasure (which free places) need not
import the club side: a claimed place is freed here or, once the block is released, in the
slot like any other place.
"""

from __future__ import annotations

from sqlalchemy import update

from db.models import ClubBlock, Pledge
from services.work import Work


async def give_back(work: Work, pledge: Pledge) -> bool:
    """Return the place of `pledge` to its club block; False when it was not a block place or
    the block has been released (then the slot gets the place back, as for anyone)."""
    block_id = pledge.block_id
    if block_id is None:
        return False
    pledge.block_id = None
    # Conditional, so a release running at the same moment either sees the place claimed
    # (and returns it with the others) or does not (and this returns it to the slot).
    result = await work.session.execute(
        update(ClubBlock)
        .where(ClubBlock.id == block_id, ClubBlock.released_at.is_(None), ClubBlock.claimed > 0)
        .values(claimed=ClubBlock.claimed - 1)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1
