"""The audit trail: who read or changed whose data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from db.models import Audit
from services.work import Work


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a person reached through a channel, the CLI or the system itself."""

    label: str  # "telegram:12345", "console:demo", "cli", "system"
    person_id: int | None = None
    channel: str = "system"


def record(
    work: Work, actor: Actor, action: str, subject_person_id: int | None, **details: Any
) -> None:
    work.session.add(
        Audit(
            at=work.now(),
            actor=actor.label,
            actor_person_id=actor.person_id,
            action=action,
            subject_person_id=subject_person_id,
            details=details,
        )
    )
