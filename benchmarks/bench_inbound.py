"""Benchmark: inbound handling through the real Telegram channel, against the fake Bot API.

    .venv/bin/python benchmarks/bench_inbound.py                      # SQLite and PostgreSQL
    .venv/bin/python benchmarks/bench_inbound.py --databases sqlite --rates 50,100,200

The bot under test runs in a process of its own, in webhook mode: `hienmau run` (ours), or
benchmarks/naive_bot.py (a ConversationHandler in memory and synchronous SQLAlchemy, the
baseline) on a copy of the same data. This process is the load: 10,000 simulated Telegram
users (6,000 registered donors, 4,000 newcomers) acting out mixed dialogues — registration
(13 steps), browsing drives and pledging a slot (4 steps), a greeting and a look at one's
pledges (3 steps) — with 1-3 s to read each answer. Their updates are posted to the bot's
webhook over loopback at a fixed offered rate (open loop: arrivals do not wait for the bot),
stepping up through `--rates`; the fake Bot API (in this process too) receives the answers.

Latency is from the update posted to the first sendMessage of its answer received by the
fake. A step "keeps up" when the answers come as fast as the updates (95 %) and p95 stays
under a second; the saturation point is the highest offered rate that keeps up. Between
steps the backlog drains, so each step starts even.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import os
import random
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
import zoneinfo
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.engine import create_engine
from db.migrate import upgrade
from db.models import Consent, Identity, Person
from services import drives, units
from services.audit import Actor
from services.clock import SystemClock
from services.drives import DriveDraft, SlotSpec
from services.rules import Rules
from services.work import Database
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "818181:INBOUNDBENCHsecretPartOfTheToken"
HOOK_SECRET = "bench-inbound-Webhook_secret-0123"
ZONE = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
FIRST_USER = 50_000_000
REPLY_TIMEOUT = 60.0  # seconds: an answer later than this counts as lost
THINK = (1.0, 3.0)  # seconds a simulated user takes to read an answer
KEEPS_UP_SHARE, KEEPS_UP_P95 = 0.95, 1.0
DISTURBED = 0.25  # cores used by other work during a step: the step is measured again
NAIVE_BOT = Path(__file__).resolve().parent / "naive_bot.py"


@dataclass(frozen=True, slots=True)
class Act:
    kind: str  # "text" | "press"
    value: str  # the text, or the button's callback data ("drive:*": any of them)


REGISTER = (
    Act("text", "/start"),
    Act("press", "consent:yes"),
    Act("press", "remind:yes"),
    Act("press", "club:no"),
    Act("text", "Nguyễn Văn Thử"),
    Act("text", "{phone}"),
    Act("text", "17/12/1995"),
    Act("press", "sex:male"),
    Act("press", "blood:O+"),
    Act("text", "tam duong"),
    Act("press", "unit:"),  # the first unit found
    Act("press", "weight:skip"),
    Act("press", "review:save"),
)
BROWSE = (
    Act("text", "/drives"),
    Act("press", "drive:*"),
    Act("press", "pledge:"),
    Act("press", "slot:*"),
)
QUICK = (Act("text", "/start"), Act("press", "cmd:mypledges"), Act("text", "/help"))
SESSIONS = ((REGISTER, 0.15), (BROWSE, 0.45), (QUICK, 0.40))  # updates: 39 %, 36 %, 24 %


def matches(data: str, wanted: str) -> bool:
    if wanted.endswith("*"):
        return data.startswith(wanted[:-1])
    if wanted.endswith(":"):
        return data.startswith(wanted) and data != wanted + "skip"
    return data == wanted


class BenchAPI(FakeTelegramAPI):
    """The fake Bot API, timing the first answer to each posted update. Updates are posted
    to the bot by the benchmark, never queued here."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN, bot_username="bench_inbound_bot")
        self.waiting: dict[int, tuple[float, asyncio.Future[float]]] = {}
        self.keyboards: dict[int, list[tuple[int, list[str]]]] = {}
        self.failed_calls: collections.Counter[str] = collections.Counter()
        self.apologies = 0  # answers saying something went wrong inside the bot

    def inject_update(self, update: dict[str, Any]) -> dict[str, Any]:
        self._last_update_id += 1
        return {"update_id": self._last_update_id, **update}

    def button(self, chat: int, wanted: str) -> tuple[int, str] | None:
        """The newest message's button that `wanted` names: (message id, callback data)."""
        for message_id, data in reversed(self.keyboards.get(chat, [])):
            found = [d for d in data if matches(d, wanted)]
            if found:
                return message_id, random.choice(found) if wanted.endswith("*") else found[0]
        return None

    async def _dispatch(
        self, method: str, params: dict[str, Any], *, via_webhook_reply: bool = False
    ) -> tuple[int, dict[str, Any], bool]:
        status, body, disconnect = await super()._dispatch(
            method, params, via_webhook_reply=via_webhook_reply
        )
        name = method.lower()
        if status != 200:
            self.failed_calls[f"{method} {status}"] += 1
        elif name in {"sendmessage", "senddocument", "sendphoto"}:
            now = time.monotonic()
            chat = int(params["chat_id"])
            if "trục trặc" in str(params.get("text", "")):
                self.apologies += 1
            markup = params.get("reply_markup") or {}
            data = [
                str(b["callback_data"])
                for row in markup.get("inline_keyboard", [])
                for b in row
                if "callback_data" in b
            ]
            if data:
                kept = self.keyboards.setdefault(chat, [])
                kept.append((int(body["result"]["message_id"]), data))
                del kept[:-4]
            waiter = self.waiting.pop(chat, None)
            if waiter is not None and not waiter[1].done():
                waiter[1].set_result(now - waiter[0])
        elif name == "editmessagereplymarkup":
            chat, message_id = int(params["chat_id"]), int(params["message_id"])
            kept = self.keyboards.get(chat, [])
            self.keyboards[chat] = [(m, d) for m, d in kept if m != message_id]
        return status, body, disconnect


@dataclass(slots=True)
class User:
    id: int
    registered: bool
    script: tuple[Act, ...] = ()
    step: int = 0

    @property
    def phone(self) -> str:
        return f"09{self.id - FIRST_USER:08d}"


@dataclass(slots=True)
class Sample:
    posted: float
    latency: float | None  # None: lost


@dataclass(slots=True)
class StepResult:
    rate: float
    offered: float = 0.0
    answered: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    worst: float = 0.0
    lost: int = 0
    bot_cpu: float = 0.0
    machine_cpu: float = 0.0
    load_cpu: float = 0.0
    postgres_cpu: float = 0.0

    @property
    def other_cpu(self) -> float:
        """What else kept the machine busy (other work: the figures may suffer)."""
        return max(0.0, self.machine_cpu - self.bot_cpu - self.load_cpu - self.postgres_cpu)

    @property
    def keeps_up(self) -> bool:
        return (
            self.lost == 0
            and self.answered >= KEEPS_UP_SHARE * self.offered
            and self.p95 < KEEPS_UP_P95
        )


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_seconds() -> float:
    """CPU seconds of the PostgreSQL server's processes (of every database on it)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        if "(postgres)" in text:
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def machine_busy() -> tuple[float, float]:
    """CPU time of processes (user and system, not interrupts: loopback traffic's softirq
    time belongs to no process), and all CPU time, in clock ticks."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, *_rest = values
    return float(user + nice + system), float(sum(values[:8]))


@dataclass
class Load:
    """The simulated users: who is idle, who is reading an answer, and what was measured."""

    api: BenchAPI
    urls: list[str]  # the workers' webhooks; a user always reaches the same one
    session: aiohttp.ClientSession
    registered: list[User]
    newcomers: list[User]
    ready: collections.deque[User] = field(default_factory=collections.deque)
    samples: list[Sample] = field(default_factory=list)
    broken: int = 0  # a button the script wanted was not there
    post_errors: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def begin_session(self) -> User | None:
        for _ in range(5):
            script = random.choices([s for s, _w in SESSIONS], weights=[w for _s, w in SESSIONS])[0]
            pool = self.newcomers if script is REGISTER else self.registered
            if pool:
                index = random.randrange(len(pool))
                pool[index], pool[-1] = pool[-1], pool[index]
                user = pool.pop()
                user.script, user.step = script, 0
                return user
        return None

    def end_session(self, user: User) -> None:
        if user.script is REGISTER and user.step == len(REGISTER):
            user.registered = True
        (self.registered if user.registered else self.newcomers).append(user)

    def next_act(self) -> None:
        user = self.ready.popleft() if self.ready else self.begin_session()
        if user is not None:
            task = asyncio.create_task(self.act(user))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def act(self, user: User) -> None:
        act = user.script[user.step]
        if act.kind == "text":
            update = self.api.send_text(user.id, act.value.format(phone=user.phone))
        else:
            found = self.api.button(user.id, act.value)
            if found is None:
                self.broken += 1
                self.end_session(user)
                return
            update = self.api.press_button(user.id, found[0], found[1])
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        posted = time.monotonic()
        self.api.waiting[user.id] = (posted, future)
        try:
            async with self.session.post(
                self.urls[user.id % len(self.urls)],
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET},
            ) as response:
                if response.status != 200:
                    self.post_errors += 1
            latency = await asyncio.wait_for(future, REPLY_TIMEOUT)
        except (TimeoutError, aiohttp.ClientError):
            self.api.waiting.pop(user.id, None)
            self.samples.append(Sample(posted, None))
            self.end_session(user)
            return
        self.samples.append(Sample(posted, latency))
        user.step += 1
        if user.step < len(user.script):
            delay = random.uniform(*THINK)
            asyncio.get_running_loop().call_later(delay, self.ready.append, user)
        else:
            self.end_session(user)

    async def offer(self, rate: float, seconds: float) -> None:
        """Post updates at `rate` a second for `seconds` (on a fixed schedule: no drift)."""
        loop = asyncio.get_running_loop()
        start, sent = loop.time(), 0
        while sent < rate * seconds:
            due = start + sent / rate
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            self.next_act()
            sent += 1

    async def drain(self) -> None:
        """Wait for the answers still due (the backlog of a saturated step)."""
        with contextlib.suppress(TimeoutError):
            await self.api.wait_for(lambda: not self.api.waiting, 2 * REPLY_TIMEOUT)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(share * 1000) - 1]


async def run_step(
    load: Load, rate: float, seconds: float, warmup: float, bot_pids: list[int]
) -> StepResult:
    first = len(load.samples)
    started = time.monotonic()
    measure_from = started + warmup
    offering = asyncio.create_task(load.offer(rate, seconds))
    await asyncio.sleep(warmup)
    cpu_bot, (busy, total) = sum(map(cpu_seconds, bot_pids)), machine_busy()
    cpu_load, cpu_postgres = time.process_time(), postgres_seconds()
    await offering
    measure_to = time.monotonic()
    window = measure_to - measure_from
    bot = (sum(map(cpu_seconds, bot_pids)) - cpu_bot) / window
    busy2, total2 = machine_busy()
    machine = 2 * (busy2 - busy) / max(total2 - total, 1.0)  # of 2 cores, like the others
    generator = (time.process_time() - cpu_load) / window
    postgres = (postgres_seconds() - cpu_postgres) / window
    await load.drain()
    inside = [s for s in load.samples[first:] if measure_from <= s.posted < measure_to]
    answered_in_window = sum(
        1
        for s in load.samples[first:]
        if s.latency is not None and measure_from <= s.posted + s.latency < measure_to
    )
    latencies = sorted(s.latency for s in inside if s.latency is not None)
    return StepResult(
        rate=rate,
        offered=len(inside) / window,
        answered=answered_in_window / window,
        p50=percentile(latencies, 0.50),
        p95=percentile(latencies, 0.95),
        p99=percentile(latencies, 0.99),
        worst=latencies[-1] if latencies else 0.0,
        lost=sum(1 for s in inside if s.latency is None),
        bot_cpu=bot,
        machine_cpu=machine,
        load_cpu=generator,
        postgres_cpu=postgres,
    )


# The data: units, drives, registered donors -----------------------------------------------


async def seed(url: str, registered: int) -> None:
    database = Database(create_engine(url), SystemClock(), Rules(), ZONE, secret=b"b" * 32)
    text = (resources.files("bot") / "sample" / "units-laichau.csv").read_text(encoding="utf-8")
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(ZONE).date()
    async with database.work() as work:
        await units.upsert(work, units.read_unit_csv(text))
        for n in range(6):
            draft = DriveDraft(
                title=f"Ngày hội hiến máu số {n + 1}",
                date=today + dt.timedelta(days=10 + 7 * n),
                place=f"Nhà văn hoá số {n + 1}",
                slots=[
                    SlotSpec(dt.time(7, 30), dt.time(9, 30), 5000),
                    SlotSpec(dt.time(9, 30), dt.time(11, 30), 5000),
                ],
                target_units=500,
            )
            drive = await drives.create(work, draft, Actor("bench"))
            drive.status = "open"
    people = [
        {
            "full_name": f"Người hiến {n}",
            "phone": f"+8481{n:07d}",
            "birth_date": dt.date(1990, 1, 1) + dt.timedelta(days=n % 5000),
            "birth_year": 1990 + (n % 5000) // 365,
            "sex": "female" if n % 2 else "male",
            "blood_group": "O+",
            "language": "vi",
            "status": "active",
            "confirmed_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(registered)
    ]
    async with database.work() as work:
        await work.session.execute(insert(Person), people)
        ids = list(await work.session.scalars(select(Person.id).order_by(Person.id)))
        await work.session.execute(
            insert(Identity),
            [
                {
                    "channel": "telegram",
                    "platform_user_id": str(FIRST_USER + n),
                    "chat_id": str(FIRST_USER + n),
                    "person_id": person_id,
                    "language": "vi",
                    "display_name": "",
                    "created_at": now,
                    "last_seen_at": now,
                }
                for n, person_id in enumerate(ids)
            ],
        )
        await work.session.execute(
            insert(Consent),
            [
                {
                    "person_id": person_id,
                    "purpose": "registration",
                    "version": "2026-01",
                    "granted_at": now,
                    "channel": "telegram",
                }
                for person_id in ids
            ],
        )
    await database.dispose()


# The bot under test ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_bot(
    kind: str, url: str, api: BenchAPI, port: int, log: Path
) -> asyncio.subprocess.Process:
    if kind == "ours":
        env = {k: v for k, v in os.environ.items() if not k.startswith("HIENMAU_")}
        env.update(
            HIENMAU_DATABASE_URL=url,
            HIENMAU_TELEGRAM_TOKEN=TOKEN,
            HIENMAU_TELEGRAM_BASE_URL=api.base_url,
            HIENMAU_TELEGRAM_MODE="webhook",
            HIENMAU_TELEGRAM_WEBHOOK_URL="https://bench.invalid/telegram",  # we post ourselves
            HIENMAU_TELEGRAM_WEBHOOK_SECRET=HOOK_SECRET,
            HIENMAU_TELEGRAM_PORT=str(port),
            HIENMAU_SECURITY_SECRET="bench-inbound-card-secret-0123456789",
            HIENMAU_SCHEDULE_TICK_SECONDS="86400",  # one tick at the start: nothing is due
            HIENMAU_HEALTH_SERVE="never",
            HIENMAU_LOGGING_LEVEL="WARNING",
        )
        command = [sys.executable, "-m", "bot", "run"]
    else:
        env = dict(os.environ)
        sync_url = make_url(url)
        if sync_url.drivername.startswith("postgresql"):
            sync_url = sync_url.set(drivername="postgresql+psycopg")
        command = [
            sys.executable,
            str(NAIVE_BOT),
            "--url",
            sync_url.render_as_string(hide_password=False),
            "--token",
            TOKEN,
            "--base-url",
            api.base_url,
            "--port",
            str(port),
            "--secret",
            HOOK_SECRET,
        ]
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=log.parent, env=env, stderr=output, stdout=output
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.returncode is not None:
            said = await asyncio.to_thread(log.read_text)
            raise SystemExit(f"{kind} bot exited: {said[-2000:]}")
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.2)
            continue
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(1.0)  # setWebhook and the first tick
        print(f"  {kind} bot: pid {process.pid}, log {log}", flush=True)
        return process
    raise SystemExit(f"{kind} bot did not listen on {port}")


# One configuration: a database, a bot, the steps ------------------------------------------


@dataclass
class Config:
    database: str  # "sqlite" | "postgresql"
    bot: str  # "ours" | "naive"


async def new_database(
    kind: str, pg_url: str, workdir: Path
) -> tuple[str, Callable[[], Awaitable[None]]]:
    """A new empty database, and how to drop it."""
    if kind == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.sqlite3"

        async def remove() -> None:
            for suffix in ("", "-wal", "-shm"):
                await asyncio.to_thread(Path(f"{path}{suffix}").unlink, missing_ok=True)

        return f"sqlite:///{path}", remove
    name = f"bench_inbound_{uuid.uuid4().hex[:8]}"
    admin = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()

    async def drop() -> None:
        connection = await asyncpg.connect(admin)
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()

    url = make_url(pg_url).set(drivername="postgresql", database=name)
    return url.render_as_string(hide_password=False), drop


async def wait_for_quiet(most: float = 600.0) -> None:
    """Wait (up to `most` seconds) until other work leaves the machine nearly idle: the
    figures are of this benchmark, not of whatever else runs."""
    started = time.monotonic()
    while True:
        busy, total = machine_busy()
        await asyncio.sleep(3.0)
        busy2, total2 = machine_busy()
        used = 2 * (busy2 - busy) / max(total2 - total, 1.0)
        if used < 0.15:
            return
        if time.monotonic() - started > most:
            print(f"  (the machine stays busy: {used:.0%} of a core in use before the run)")
            return


async def run_config(config: Config, args: argparse.Namespace, workdir: Path) -> list[StepResult]:
    url, drop = await new_database(config.database, args.pg_url, workdir)
    try:
        await asyncio.to_thread(upgrade, url)
        await seed(url, args.registered)
        random.seed(7)
        async with BenchAPI() as api:
            kind, _sep, workers = config.bot.partition("-x")  # "ours-x2": two workers
            ports = [free_port() for _ in range(int(workers or 1))]
            await wait_for_quiet()
            bots = [
                await start_bot(
                    kind, url, api, port, workdir / f"{config.bot}-{n}-{config.database}.log"
                )
                for n, port in enumerate(ports, start=1)
            ]
            users = [User(FIRST_USER + n, n < args.registered) for n in range(args.users)]
            connector = aiohttp.TCPConnector(limit=100)
            async with aiohttp.ClientSession(connector=connector) as session:
                load = Load(
                    api,
                    [f"http://127.0.0.1:{port}/telegram" for port in ports],
                    session,
                    [u for u in users if u.registered],
                    [u for u in users if not u.registered],
                )
                results: list[StepResult] = []
                try:
                    for rate in args.rates:
                        pids = [bot.pid for bot in bots]
                        for _attempt in range(3):  # again when other work shared the machine
                            result = await run_step(load, rate, args.seconds, args.warmup, pids)
                            if result.other_cpu <= DISTURBED:
                                break
                            print(
                                f"  {config.bot:>7} {config.database:<10} {rate:g}/s: other "
                                f"work took {result.other_cpu:.0%} of a core: measured again",
                                flush=True,
                            )
                            await wait_for_quiet()
                        results.append(result)
                        print(f"  {config.bot:>7} {config.database:<10} {line(result)}", flush=True)
                        if not result.keeps_up and rate >= args.stop_after:
                            break
                finally:
                    for bot in bots:
                        bot.send_signal(signal.SIGTERM)
                    for bot in bots:
                        try:
                            await asyncio.wait_for(bot.wait(), 20)
                        except TimeoutError:
                            bot.kill()
                            await bot.wait()
                    for task in list(load.tasks):
                        task.cancel()
                problems = dict(api.failed_calls)
                updates = max(len(load.samples), 1)
                calls = collections.Counter(call.method for call in api.calls)
                per_update = ", ".join(
                    f"{method} {count / updates:.2f}"
                    for method, count in calls.most_common()
                    if count >= updates / 20
                )
                print(f"  {config.bot:>7} {config.database:<10} per update: {per_update}")
                print(
                    f"  {config.bot:>7} {config.database:<10} answers: "
                    f"{sum(1 for s in load.samples if s.latency is not None)} of "
                    f"{len(load.samples)} updates; script broken {load.broken}; "
                    f"bot apologised {api.apologies}; failed API calls {problems or 'none'}; "
                    f"webhook refusals {load.post_errors}",
                    flush=True,
                )
        return results
    finally:
        await drop()


def line(r: StepResult) -> str:
    state = "keeps up" if r.keeps_up else "SATURATED"
    return (
        f"offered {r.offered:6.1f}/s  answered {r.answered:6.1f}/s  "
        f"p50 {r.p50 * 1000:7.1f} ms  p95 {r.p95 * 1000:7.1f} ms  p99 {r.p99 * 1000:7.1f} ms  "
        f"max {r.worst * 1000:6.0f} ms  lost {r.lost}  cpu: bot {r.bot_cpu:4.0%} "
        f"load {r.load_cpu:4.0%} postgres {r.postgres_cpu:4.0%} other {r.other_cpu:4.0%}  "
        f"{state}"
    )


async def main_async(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-inbound-"))
    print(f"logs and SQLite files in {workdir}", flush=True)
    summary: dict[tuple[str, str], list[StepResult]] = {}
    for database in args.databases:
        for bot in args.bots:
            summary[(bot, database)] = await run_config(Config(database, bot), args, workdir)
    print("\nsaturation point (highest offered rate that keeps up) and the 200/s step:")
    for (bot, database), results in summary.items():
        keeping = [r.rate for r in results if r.keeps_up]
        at_200 = next((r for r in results if r.rate == 200), None)
        peak = max((r.answered for r in results), default=0.0)
        print(
            f"  {bot:>7} {database:<10} saturation {max(keeping, default=0):g}/s, "
            f"peak answered {peak:.0f}/s; at 200/s: {line(at_200) if at_200 else '-'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--bots", default="ours,naive", help="ours, naive, ours-x2 (two workers: PostgreSQL)"
    )
    parser.add_argument("--rates", default="50,100,150,200,250,300,400")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of one step")
    parser.add_argument("--warmup", type=float, default=4.0, help="first seconds not measured")
    parser.add_argument("--stop-after", type=float, default=200.0, help="stop past this rate")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--registered", type=int, default=6_000)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="a PostgreSQL server to make (and drop) scratch databases on",
    )
    args = parser.parse_args()
    args.databases = args.databases.split(",")
    args.bots = args.bots.split(",")
    args.rates = [float(r) for r in args.rates.split(",")]
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
