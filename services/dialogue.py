"""Wizard state per (channel, chat), stored in the database so a restart resumes the dialogue."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete

from db.models import DialogueState
from services.work import Work


@dataclass(slots=True)
class State:
    flow: str
    step: str
    answers: dict[str, Any] = field(default_factory=dict)


async def load(work: Work, channel: str, chat_id: str) -> State | None:
    row = await work.session.get(DialogueState, (channel, chat_id))
    if row is None:
        return None
    return State(row.flow, row.step, dict(row.answers or {}))


async def save(work: Work, channel: str, chat_id: str, state: State) -> None:
    row = await work.session.get(DialogueState, (channel, chat_id))
    if row is None:
        row = DialogueState(channel=channel, chat_id=chat_id)
        work.session.add(row)
    row.flow, row.step = state.flow, state.step
    row.answers = dict(state.answers)  # a new object, so the JSON column is marked changed
    row.updated_at = work.now()


async def clear(work: Work, channel: str, chat_id: str) -> None:
    await work.session.execute(
        delete(DialogueState).where(
            DialogueState.channel == channel, DialogueState.chat_id == chat_id
        )
    )
