"""Chat accounts: one identity per (channel, platform user), linked to a person once known."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from db.models import Identity, Person
from locales import normalise_language
from services.work import Work


async def touch(
    work: Work,
    channel: str,
    user_id: str,
    chat_id: str,
    language_hint: str | None = None,
    display_name: str = "",
    private: bool = True,
) -> Identity:
    """The identity of whoever wrote, created on first contact.

    `chat_id` is where the bot writes to the person: their private chat. A message in a group
    names the group's chat, so it is not kept; on Telegram and Zalo a private chat has the id
    of the user, which is taken instead until they write privately.
    """
    statement = select(Identity).where(
        Identity.channel == channel, Identity.platform_user_id == user_id
    )
    if work.session.get_bind().dialect.name == "postgresql":
        # One update of a person at a time, across workers: the next waits for this commit
        # and then reads the dialogue state it left. (SQLite has one writer anyway.)
        statement = statement.with_for_update()
    identity = await work.session.scalar(statement)
    now = work.now()
    if identity is None:
        identity = Identity(
            channel=channel,
            platform_user_id=user_id,
            chat_id=chat_id if private else user_id,
            language=normalise_language(language_hint),
            display_name=display_name[:200],
            created_at=now,
            last_seen_at=now,
        )
        try:
            async with work.session.begin_nested():
                work.session.add(identity)
                await work.session.flush()
            return identity
        except IntegrityError:  # their other message, on another worker, created it first
            identity = await work.session.scalar(statement)
            assert identity is not None
    identity.last_seen_at = now
    if private:
        identity.chat_id = chat_id
        identity.unreachable_at = None  # they wrote to us, so they can be reached again
    if display_name:
        identity.display_name = display_name[:200]
    return identity


async def person_of(work: Work, identity: Identity) -> Person | None:
    if identity.person_id is None:
        return None
    person = await work.session.get(Person, identity.person_id)
    if person is None or person.status == "erased":
        return None
    return person


def set_language(identity: Identity, person: Person | None, language: str) -> str:
    chosen = normalise_language(language)
    identity.language = chosen
    if person is not None:
        person.language = chosen
    return chosen


async def mark_unreachable(work: Work, channel: str, chat_id: str) -> int:
    """The platform refused a message to this chat (blocked, deleted): remember since when.

    Returns how many identities changed; those already marked keep their first date.
    """
    result = await work.session.execute(
        update(Identity)
        .where(
            Identity.channel == channel,
            Identity.chat_id == chat_id,
            Identity.unreachable_at.is_(None),
        )
        .values(unreachable_at=work.now())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
