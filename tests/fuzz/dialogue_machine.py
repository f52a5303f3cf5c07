"""A hypothesis state machine over the dialogue engine: a few people on Telegram and Zalo (one
of them a volunteer) send commands, typed answers, shared contacts and locations, press the
buttons the bot showed them (and old ones, and others'), while the bot restarts now and then
(a new Engine on the same database).

After every step it checks what must always hold:
* every message gets an answer, and never the "something went wrong" apology;
* one live person per phone; every chat account belongs to a live person or to nobody;
* no slot holds more pledges than its capacity, and `taken` counts the live pledges;
* a person who erased their data leaves none: their row keeps no name, phone, birth, sex or
  weight; no chat account, consent, role, queued message or live pledge is theirs; their
  chats have no dialogue state or menu; their name and phone appear in no table.

Zalo is driven as its channel drives the engine: a typed number picks from the menu the chat
was shown last, and every answer's menu is remembered in the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select

from channels.zalo.adapter import last_menu
from channels.zalo.render import chosen
from db.engine import create_engine
from db.models import (
    Base,
    ChatMenu,
    Consent,
    DialogueState,
    DriveSlot,
    Identity,
    Outbox,
    Person,
    Pledge,
    RoleGrant,
)
from handlers.engine import Engine
from handlers.messages import Button, ButtonKind, Inbound, InboundKind, Reply
from services import drives, identities, persons, roles, units
from services.audit import Actor
from services.clock import FixedClock
from services.drives import DriveDraft, SlotSpec
from services.persons import DonorDraft, Purpose
from services.rules import Rules
from services.validation import Birth
from services.work import Database
from tests.conftest import NOW, TEST_SECRET, ZONE
from tests.sample import load_units

APOLOGIES = ("trục trặc", "something went wrong")


@dataclass(frozen=True)
class Someone:
    key: str
    channel: str
    user_id: str
    display_name: str

    @property
    def chat(self) -> tuple[str, str]:
        return (self.channel, self.user_id)


VOLUNTEER = Someone("v", "telegram", "5009", "Hùng TNV")
PEOPLE = (
    Someone("t1", "telegram", "5001", "Lan"),
    Someone("t2", "telegram", "5002", "Bình"),
    Someone("z1", "zalo", "a1b2c3d4e5", "Cúc Zalo"),
    VOLUNTEER,
)

COMMANDS = (
    "/start",
    "/drives",
    "/profile",
    "/forget",
    "/cancel",
    "/mypledges",
    "/donated",
    "/mydonations",
    "/help",
    "/stop",
    "/export",
    "/card",
    "/language",
    "/adddonor",
)
# What people type. Three phones for four people (and the donors a volunteer registers), so
# phones collide; birth dates that match each other or not, so linking a second chat to a
# record by its birth date sometimes works.
PHONES = ("0912 000 001", "0912000002", "+84 912 000 003")
NAMES = ("Nguyễn Thị Lan", "Lê Văn Bình", "Phạm Thị Cúc", "Đỗ Thị Mai", "hoàng văn nam")
BIRTHS = ("17/12/1995", "1995", "12/05/1988", "1988", "2015", "31/02/1990")
WORDS = (
    "1",
    "2",
    "3",
    "có",
    "không",
    "đồng ý",
    "nữ",
    "nam",
    "O+",
    "tam duong",
    "55",
    "450",
    "hôm nay",
    "20/11/2026",
    "xin chào",
    "bỏ qua",
    "lưu",
)
TYPED = st.one_of(
    st.sampled_from(PHONES),
    st.sampled_from(NAMES),
    st.sampled_from(BIRTHS),
    st.sampled_from(WORDS),
    st.text(max_size=20),
)
# Typed answers to the questions of the wizards, by step: mostly right, sometimes not.
ANSWERS = {
    "name": st.sampled_from(NAMES),
    "phone": st.sampled_from((*PHONES, "12345")),
    "verify": st.sampled_from(BIRTHS),
    "birth": st.sampled_from(BIRTHS),
    "unit": st.sampled_from(("tam duong", "lai chau", "xyz")),
    "weight": st.sampled_from(("55", "52,5", "300")),
    "date": st.sampled_from(("hôm nay", "20/11/2026", "25/11/2026", "01/01/2030")),
    "volume": st.sampled_from(("350", "450", "100")),
}
VOLUNTEER_PHONE = "+84912999999"
DRIVE_SLOTS = (  # capacities small enough for four people to fill
    (dt.date(2026, 12, 12), "Nhà văn hoá xã Bình Lư", (1, 2)),
    (dt.date(2026, 12, 19), "Trường THPT Tam Đường", (1,)),
    (dt.date(2026, 12, 5), "Trạm Y tế xã Sơn Bình", ()),
)


async def seed(database: Database) -> None:
    """Units, three drives (two with small slots), a volunteer, Lan (registered on Telegram)
    and Mai (registered by the volunteer, not yet confirmed): the others type their phones."""
    await load_units(database)
    async with database.work() as work:
        for day, place, capacities in DRIVE_SLOTS:
            slots = [
                SlotSpec(dt.time(7 + 2 * n, 0), dt.time(8 + 2 * n, 30), capacity)
                for n, capacity in enumerate(capacities)
            ]
            draft = DriveDraft(f"Ngày hội hiến máu {place}", day, place, slots=slots)
            drive = await drives.create(work, draft, Actor("test"))
            drive.status = "open"
        identity = await identities.touch(
            work, VOLUNTEER.channel, VOLUNTEER.user_id, VOLUNTEER.user_id, "vi", "Hùng TNV"
        )
        unit = await units.by_code(work, "LCU-TD")
        assert unit is not None
        draft_person = DonorDraft(
            "Trần Văn Hùng",
            VOLUNTEER_PHONE,
            Birth(1985),
            "male",
            "A+",
            unit.id,
            None,
            frozenset(Purpose),
        )
        volunteer = await persons.register_self(work, identity, draft_person, Actor("test"))
        await roles.grant(work, volunteer, roles.Role.VOLUNTEER, "LCU-TD", Actor("test"))
        lan = PEOPLE[0]
        identity = await identities.touch(work, lan.channel, lan.user_id, lan.user_id, "vi", "Lan")
        draft_person = DonorDraft(
            NAMES[0],
            "+84912000001",
            Birth(1995, dt.date(1995, 12, 17)),
            "female",
            "O+",
            unit.id,
            52.0,
            frozenset(Purpose),
        )
        await persons.register_self(work, identity, draft_person, Actor("test"))
        draft_person = DonorDraft(
            NAMES[3],
            "+84912000002",
            Birth(1988),
            "female",
            "B+",
            None,
            None,
            frozenset({Purpose.REGISTRATION, Purpose.REMINDERS}),
        )
        await persons.register_on_behalf(work, volunteer, draft_person, Actor("test"))


def message(someone: Someone, kind: InboundKind, payload: str, **extra: Any) -> Inbound:
    """What the channel hands the engine when `someone` sends this."""
    return Inbound(
        channel=someone.channel,
        user_id=someone.user_id,
        chat_id=someone.user_id,
        kind=kind,
        payload=payload,
        language="vi",
        display_name=someone.display_name,
        deep_link="https://t.me/hienmau_test_bot?start=" if someone.channel == "telegram" else "",
        **extra,
    )


async def handle(engine: Engine, inbound: Inbound) -> list[Reply]:
    """The engine's answer, as the channel gets it. On Zalo, as `ZaloChannel` does: a typed
    number picks from the chat's last menu, and the answer's menu is remembered."""
    if inbound.channel != "zalo":
        return await engine.dispatch(inbound)
    if inbound.kind is InboundKind.TEXT:
        option = chosen(inbound.payload, await engine.menu("zalo", inbound.chat_id))
        if option is not None:
            inbound = replace(inbound, kind=InboundKind.BUTTON, payload=option.payload)
    replies = await engine.dispatch(inbound)
    if replies:
        await engine.show_menu("zalo", inbound.chat_id, last_menu(replies))
    return replies


def apologises(reply: Reply) -> bool:
    """The engine's "something went wrong, not saved" answer."""
    return any(words in reply.text.lower() for words in APOLOGIES)


class ErrorLog(logging.Handler):
    """Collects what the engine logs at ERROR (the traceback behind an apology)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


@dataclass
class Snapshot:
    """Who was live before a step: person id -> (name, phone), and their chats."""

    people: dict[int, tuple[str | None, str | None]] = field(default_factory=dict)
    chats: dict[int, set[tuple[str, str]]] = field(default_factory=dict)
    accounts: dict[int, set[tuple[str, str]]] = field(default_factory=dict)


class DialogueMachine(RuleBasedStateMachine):
    """Subclassed by each test with `open_database`: a fresh, seeded database URL."""

    open_database: Callable[[], str]

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.url = type(self).open_database()
        self.clock = FixedClock(NOW)
        self.database = self._database()
        self.engine = Engine(self.database)
        self.current: dict[str, tuple[Button, ...]] = {p.key: () for p in PEOPLE}
        self.shown: set[str] = set()  # every button payload shown to anyone
        self.transcript: list[str] = []
        self.errors = ErrorLog()
        logging.getLogger("handlers").addHandler(self.errors)

    def _database(self) -> Database:
        engine = create_engine(self.url)
        return Database(engine, self.clock, Rules(), ZONE, secret=TEST_SECRET)

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        logging.getLogger("handlers").removeHandler(self.errors)
        self.run(self.database.dispose())
        self.loop.close()

    # ------------------------------------------------------------------ rules

    @rule(someone=st.sampled_from(PEOPLE), command=st.sampled_from(COMMANDS))
    def send_command(self, someone: Someone, command: str) -> None:
        self.say(someone, InboundKind.COMMAND, command)

    @rule(someone=st.sampled_from(PEOPLE), text=TYPED)
    def send_text(self, someone: Someone, text: str) -> None:
        self.say(someone, InboundKind.TEXT, text)

    @precondition(lambda self: any(self.current.values()))
    @rule(data=st.data())
    def press_a_shown_button(self, data: st.DataObject) -> None:
        someone = data.draw(st.sampled_from([p for p in PEOPLE if self.current[p.key]]))
        self.press(someone, data.draw(st.sampled_from(self.current[someone.key])), data)

    def press(self, someone: Someone, button: Button, data: st.DataObject) -> None:
        self.send(someone, self.pressing(someone, button, data))

    def pressing(self, someone: Someone, button: Button, data: st.DataObject) -> Inbound:
        """The message a press of `button` sends (a contact or a location for theirs)."""
        if button.kind is ButtonKind.CONTACT:
            phone = data.draw(st.sampled_from(PHONES)).replace(" ", "")
            own = data.draw(st.booleans())
            return message(someone, InboundKind.CONTACT, phone, contact_is_own=own)
        if button.kind is ButtonKind.LOCATION:
            return message(someone, InboundKind.LOCATION, "22.39,103.47")
        if someone.channel == "zalo":  # Zalo has no buttons: the option's number is typed
            number = str(self.current[someone.key].index(button) + 1)
            return message(someone, InboundKind.TEXT, number)
        return message(someone, InboundKind.BUTTON, button.payload)

    @precondition(lambda self: bool(self.shown))
    @rule(someone=st.sampled_from(PEOPLE), data=st.data())
    def press_an_old_or_someone_elses_button(self, someone: Someone, data: st.DataObject) -> None:
        if someone.channel == "zalo":  # a number typed against whatever menu is current
            self.say(someone, InboundKind.TEXT, str(data.draw(st.integers(1, 9))))
            return
        self.say(someone, InboundKind.BUTTON, data.draw(st.sampled_from(sorted(self.shown))))

    @rule(someone=st.sampled_from(PEOPLE), steps=st.integers(1, 12), data=st.data())
    def carry_on_talking(self, someone: Someone, steps: int, data: st.DataObject) -> None:
        """A few sensible moves in a row: answer the question asked (rightly or not), press
        a button shown, or start something new; wizards get finished this way."""
        for _ in range(steps):
            step = self.run(self._step(someone))
            buttons = self.current[someone.key]
            move = data.draw(st.sampled_from(("first", "first", "any", "type")))
            if step is None and buttons and move != "type":
                self.press(someone, data.draw(st.sampled_from(buttons)), data)
            elif step is None:
                self.say(someone, InboundKind.COMMAND, data.draw(st.sampled_from(COMMANDS)))
            elif buttons and move == "first":  # the first choice: agree, save, yes ...
                self.press(someone, buttons[0], data)
            elif buttons and move == "any":
                self.press(someone, data.draw(st.sampled_from(buttons)), data)
            else:
                self.say(someone, InboundKind.TEXT, data.draw(ANSWERS.get(step, TYPED)))

    @rule(someone=st.sampled_from(PEOPLE), data=st.data())
    def sign_up_for_a_drive(self, someone: Someone, data: st.DataObject) -> None:
        """/drives, a drive's card, its pledge (or cancel) button, a slot: the buttons shown."""
        self.say(someone, InboundKind.COMMAND, "/drives")
        for prefixes in (("drive:",), ("pledge:", "unpledge:"), ("slot:",)):
            shown = [b for b in self.current[someone.key] if b.payload.startswith(prefixes)]
            if not shown:
                return
            self.press(someone, data.draw(st.sampled_from(shown)), data)

    async def _step(self, someone: Someone) -> str | None:
        async with self.database.work() as work:
            state = await work.session.get(DialogueState, someone.chat)
            return state.step if state is not None else None

    @rule()
    def restart(self) -> None:
        """A new process: a new engine and connection pool on the same database."""
        self.run(self.database.dispose())
        self.database = self._database()
        self.engine = Engine(self.database)
        self.transcript.append("-- restart")

    # ------------------------------------------------------------------ one message

    def say(self, someone: Someone, kind: InboundKind, payload: str, **extra: Any) -> None:
        self.send(someone, message(someone, kind, payload, **extra))

    def send(self, someone: Someone, inbound: Inbound) -> None:
        """Hand the message to the engine, check the answer and what an erasure left."""
        before = self.run(self._snapshot())
        replies = self.run(handle(self.engine, inbound))
        self.transcript.append(f"{someone.key} {inbound.kind.value} {inbound.payload!r}")
        self.transcript += [
            f"    < {r.text[:160]!r} {[b.payload for b in r.buttons]}" for r in replies
        ]
        assert replies, self._context("no answer")
        for reply in replies:
            assert not apologises(reply), self._context(
                "the apology: " + "\n".join(self.errors.records[-1:])
            )
        assert not self.errors.records, self._context(self.errors.records[-1])
        if someone.channel == "zalo":  # the numbered menu the chat sees now
            self.current[someone.key] = last_menu(replies)
        else:  # every keyboard of the answer can be pressed
            self.current[someone.key] = tuple(b for r in replies for b in r.buttons)
        self.shown |= {b.payload for r in replies for b in r.choices}
        self.run(self._check_erasures(before))

    def _context(self, problem: str) -> str:
        return problem + "\n" + "\n".join(self.transcript[-40:])

    # ------------------------------------------------------------------ invariants

    @invariant()
    def data_stays_consistent(self) -> None:
        problems = self.run(self._consistency())
        assert not problems, self._context("\n".join(problems))

    async def _consistency(self) -> list[str]:
        problems: list[str] = []
        async with self.database.work() as work:
            s = work.session
            shared = await s.execute(
                select(Person.phone, func.count(Person.id))
                .where(Person.status != "erased", Person.phone.is_not(None))
                .group_by(Person.phone)
                .having(func.count(Person.id) > 1)
            )
            problems += [f"phone {p} has {n} people" for p, n in shared.all()]
            live = func.count(Pledge.id).filter(Pledge.status == "pledged")
            slots = await s.execute(
                select(DriveSlot.id, DriveSlot.capacity, DriveSlot.taken, live)
                .outerjoin(Pledge, Pledge.slot_id == DriveSlot.id)
                .group_by(DriveSlot.id, DriveSlot.capacity, DriveSlot.taken)
            )
            for slot_id, capacity, taken, pledged in slots.all():
                if not pledged == taken <= capacity:
                    problems.append(
                        f"slot {slot_id}: capacity {capacity}, taken {taken}, pledges {pledged}"
                    )
            erased = select(Person.id).where(Person.status == "erased")
            for person in await s.scalars(select(Person).where(Person.id.in_(erased))):
                kept = [
                    c
                    for c in ("full_name", "phone", "birth_date", "birth_year", "sex", "weight_kg")
                    if getattr(person, c) is not None
                ]
                if kept or person.blood_group != "unknown":
                    problems.append(f"erased person {person.id} keeps {kept or 'blood group'}")
            for model, column in (
                (Identity, Identity.person_id),
                (Consent, Consent.person_id),
                (RoleGrant, RoleGrant.person_id),
                (Outbox, Outbox.person_id),
            ):
                n = await s.scalar(
                    select(func.count()).select_from(model).where(column.in_(erased))
                )
                if n:
                    problems.append(f"{n} {model.__tablename__} rows of erased people")
            pledged = await s.scalar(
                select(func.count(Pledge.id)).where(
                    Pledge.person_id.in_(erased), Pledge.status == "pledged"
                )
            )
            if pledged:
                problems.append(f"{pledged} live pledges of erased people")
        return problems

    async def _snapshot(self) -> Snapshot:
        snapshot = Snapshot()
        async with self.database.work() as work:
            live = await work.session.execute(
                select(Person.id, Person.full_name, Person.phone).where(Person.status != "erased")
            )
            snapshot.people = {pid: (name, phone) for pid, name, phone in live.all()}
            linked = await work.session.execute(
                select(
                    Identity.person_id,
                    Identity.channel,
                    Identity.chat_id,
                    Identity.platform_user_id,
                ).where(Identity.person_id.is_not(None))
            )
            for pid, channel, chat_id, user_id in linked.all():
                snapshot.chats.setdefault(pid, set()).add((channel, chat_id))
                snapshot.accounts.setdefault(pid, set()).add((channel, user_id))
        return snapshot

    async def _check_erasures(self, before: Snapshot) -> None:
        async with self.database.work() as work:
            erased = set(
                await work.session.scalars(
                    select(Person.id).where(
                        Person.id.in_(list(before.people)), Person.status == "erased"
                    )
                )
            )
            for person_id in erased:
                problems = await _leftovers(work, person_id, before)
                assert not problems, self._context(
                    f"person {person_id} erased, but:\n" + "\n".join(problems)
                )


async def _leftovers(work: Any, person_id: int, before: Snapshot) -> list[str]:
    """What of an erased person is still stored: dialogue state or menus of their chats, chat
    accounts, and their name or phone anywhere (other people's own rows and dialogues aside)."""
    s = work.session
    problems: list[str] = []
    chats = before.chats.get(person_id, set())
    for model in (DialogueState, ChatMenu):
        for channel, chat_id in chats:
            if await s.get(model, (channel, chat_id)) is not None:
                problems.append(f"{model.__tablename__} of {channel}:{chat_id}")
    for channel, user_id in before.accounts.get(person_id, set()):
        found = await s.scalar(
            select(Identity.id).where(
                Identity.channel == channel, Identity.platform_user_id == user_id
            )
        )
        if found is not None:
            problems.append(f"identity {channel}:{user_id}")
    name, phone = before.people[person_id]
    needles = {n for n in (name, phone[3:] if phone else None) if n}
    live = set(await s.scalars(select(Person.id).where(Person.status != "erased")))
    for table in Base.metadata.sorted_tables:
        for row in (await s.execute(table.select())).mappings():
            if table.name == "person" and row["id"] in live:
                continue  # another live person's own record
            if table.name == "dialogue_state" and (row["channel"], row["chat_id"]) not in chats:
                continue  # what someone else is typing in their own chat
            text = json.dumps(dict(row), default=str, ensure_ascii=False)
            problems += [f"{table.name}: {n!r} in {text[:300]}" for n in needles if n in text]
    return problems
