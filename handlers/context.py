"""What a handler sees: the unit of work, the message, who sent it and their dialogue state."""

from __future__ import annotations

from dataclasses import dataclass, field

from db.models import Identity, Person
from handlers.messages import Inbound
from services.audit import Actor
from services.dialogue import State
from services.roles import Role
from services.work import Work


@dataclass(slots=True)
class Ctx:
    work: Work
    inbound: Inbound
    identity: Identity
    person: Person | None
    state: State | None
    roles: set[Role] = field(default_factory=set)

    @property
    def actor(self) -> Actor:
        return Actor(
            label=f"{self.inbound.channel}:{self.inbound.user_id}",
            person_id=self.person.id if self.person else None,
            channel=self.inbound.channel,
        )

    @property
    def answers(self) -> dict[str, object]:
        assert self.state is not None, "no dialogue in progress"
        return self.state.answers
