"""Volunteers at work: registering a donor on their behalf."""

from __future__ import annotations

from handlers import registration, wizard
from handlers.context import Ctx
from handlers.messages import Reply


async def add_donor(ctx: Ctx) -> list[Reply]:
    return await wizard.start(ctx, registration.BEHALF, answers={"behalf": True})
