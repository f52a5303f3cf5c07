"""The `hienmau` command line (names are a contract: see DESIGN.md)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from telegram.error import TelegramError

from bot import app, demo
from bot.config import Config, ConfigError, DatabaseConfig, load
from channels.console import console
from channels.console.console import ConsoleChat
from channels.telegram.adapter import TelegramChannel
from db.migrate import upgrade
from handlers.messages import Deliver, Inbound, Reply
from services import drives, persons, plan_file, plans, roles, units
from services.audit import Actor
from services.clock import Clock, FixedClock, SystemClock
from services.errors import DomainError
from services.validation import parse_date, parse_phone
from services.work import Database

DEMO_DB = "demo.sqlite3"
DEMO_USERS = {
    "donor": "demo-new-donor",
    "volunteer": "demo-volunteer",
    "chair": "demo-chair",
    "committee": "demo-committee",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hienmau", description="hienmau-bot: hiến máu tình nguyện"
    )
    parser.add_argument(
        "--config", help="TOML config file (default: $HIENMAU_CONFIG, ./config.toml)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo_cmd = commands.add_parser("demo", help="console chat on ./demo.sqlite3 with sample data")
    demo_cmd.add_argument("--as", dest="role", choices=sorted(DEMO_USERS), default="donor")
    demo_cmd.add_argument("--db", default=DEMO_DB, help="demo database file (default: %(default)s)")
    demo_cmd.add_argument("--reset", action="store_true", help="start again from fresh sample data")

    console = commands.add_parser("console", help="console chat against the configured database")
    console.add_argument("--user", required=True, help="a console user id, e.g. your name")

    commands.add_parser("run", help="start the configured channels and the scheduler")

    db_cmd = commands.add_parser("db", help="database maintenance")
    db_sub = db_cmd.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations")

    units_cmd = commands.add_parser("units", help="the unit tree (province, communes, clubs ...)")
    units_sub = units_cmd.add_subparsers(dest="units_command", required=True)
    units_import = units_sub.add_parser(
        "import", help="load units from CSV: code,name,kind,parent_code"
    )
    units_import.add_argument("file")

    plan_cmd = commands.add_parser("plan", help="annual plans of blood drives")
    plan_sub = plan_cmd.add_subparsers(dest="plan_command", required=True)
    plan_import = plan_sub.add_parser("import", help="import an annual plan (CSV or XLSX)")
    plan_import.add_argument("file")
    plan_import.add_argument("--year", type=int, required=True, help="plan year (1/12 of Y-1 on)")
    plan_import.add_argument("--unit", help="the unit whose plan it is (e.g. the province code)")
    plan_import.add_argument("--dry-run", action="store_true", help="check and show, store nothing")
    plan_import.add_argument("--skip-bad", action="store_true", help="import the good rows only")

    drives_cmd = commands.add_parser("drives", help="blood drives")
    drives_sub = drives_cmd.add_subparsers(dest="drives_command", required=True)
    drives_list = drives_sub.add_parser("list", help="list drives")
    drives_list.add_argument("--from", dest="since", help="first date (dd/mm/yyyy or ISO)")
    drives_list.add_argument("--unit", help="only drives of this unit and its sub-units")

    jobs_cmd = commands.add_parser("jobs", help="the scheduler")
    jobs_sub = jobs_cmd.add_subparsers(dest="jobs_command", required=True)
    tick = jobs_sub.add_parser("tick", help="plan due messages and send them, once")
    tick.add_argument("--now", help="the instant of the tick (ISO, e.g. 2026-12-09T07:00+07:00)")

    grant = commands.add_parser("grant", help="give a registered person a role in a unit")
    grant.add_argument("role", help="volunteer, club_chair, committee or admin")
    grant.add_argument("--unit", required=True, help="unit code")
    grant.add_argument("--phone", required=True, help="the person's phone number")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        config = load(args.config)
        if args.command == "demo":
            return _demo(config, args)
        upgrade(config.database.url)  # every command works on an up-to-date schema
        if args.command == "jobs":
            return asyncio.run(_jobs_tick(config, args.now))
        return asyncio.run(_dispatch(config, args))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"hienmau: {exc.message.format(**exc.params)}", file=sys.stderr)
        return 1


async def _dispatch(config: Config, args: argparse.Namespace) -> int:
    if args.command == "db":  # upgraded in main()
        print("database is up to date")
        return 0
    database = app.open_database(config)
    try:
        if args.command == "console":
            await ConsoleChat(app.build_engine(database).dispatch, args.user).run()
            return 0
        if args.command == "units":
            text = await asyncio.to_thread(Path(args.file).read_text, encoding="utf-8-sig")
            async with database.work() as work:
                created, updated = await units.upsert(work, units.read_unit_csv(text))
            print(f"units: {created} created, {updated} updated")
            return 0
        if args.command == "plan":
            return await _plan_import(database, args)
        if args.command == "drives":
            return await _drives_list(database, args)
        if args.command == "grant":
            role = roles.parse_role(args.role)
            async with database.work() as work:
                person = await persons.find_by_phone(work, parse_phone(args.phone))
                if person is None:
                    print(f"hienmau: no registered person with phone {args.phone}", file=sys.stderr)
                    return 1
                await roles.grant(work, person, role, args.unit, Actor("cli"))
            print(f"granted {role.value} in {args.unit} to {person.full_name}")
            return 0
        if args.command == "run":
            return await _run(config, database)
    finally:
        await database.dispose()
    raise AssertionError(args.command)


async def _plan_import(database: Database, args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not 2000 <= args.year <= 2100:
        print(f"hienmau: --year {args.year} is not a plan year", file=sys.stderr)
        return 2
    try:
        content = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        print(f"hienmau: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    parsed = plan_file.read_plan(content, path.name, args.year)
    for problem in parsed.problems:
        print(
            f"{'skipped: ' if args.skip_bad else ''}{plan_file.describe(problem)}", file=sys.stderr
        )
    if parsed.problems and not args.skip_bad:
        print(
            f"hienmau: nothing imported: {len(parsed.problems)} bad row(s); fix the file "
            "or use --skip-bad to import the other rows",
            file=sys.stderr,
        )
        return 1
    async with database.work() as work:
        result = await plans.import_rows(
            work,
            parsed.rows,
            args.year,
            Actor("cli"),
            unit_code=args.unit,
            source=f"plan:{path.name}",
            dry_run=args.dry_run,
        )
    for outcome in result.outcomes:
        print(_plan_line(outcome))
    verb = "would import" if args.dry_run else "imported"
    detail = ", ".join(f"{result.count(change)} {change.value}" for change in plans.Change)
    skipped = f", skipped {len(parsed.problems)} bad row(s)" if parsed.problems else ""
    print(
        f"{verb} {result.drives} drives, total target {result.total_target} units "
        f"({detail}{skipped})"
    )
    return 0


def _plan_line(outcome: plans.Outcome) -> str:
    row = outcome.row
    day = f"{row.date:%m/%Y}" if row.month_only else f"{row.date:%d/%m/%Y}"
    hours = (
        f" {row.start_time:%H:%M}-{row.end_time:%H:%M}" if row.start_time and row.end_time else ""
    )
    return (
        f"{outcome.change.value:<9} Đợt {row.plan_no:<4} {day:<10}{hours} "
        f"{row.target_units:>6} đv  {row.place}"
    )


async def _drives_list(database: Database, args: argparse.Namespace) -> int:
    since = parse_date(args.since) if args.since else None
    async with database.work() as work:
        found = await drives.between(work, since, args.unit)
        rows = [(d, await drives.pledged_count(work, d.id)) for d in found]
    for drive, pledged in rows:
        day = f"{drive.date:%m/%Y}" if drive.date_is_month_only else f"{drive.date:%d/%m/%Y}"
        hours = (
            f"{drive.start_time:%H:%M}-{drive.end_time:%H:%M}"
            if drive.start_time and drive.end_time
            else "-"
        )
        seats = drives.seats_left(drive)
        print(
            f"#{drive.id:<5} {day:<10} {hours:<11} {drive.status:<9} "
            f"target {drive.target_units:>5}  pledged {pledged:>4}"
            f"{'' if seats is None else f' (left {seats})'}  {drive.place}"
        )
    print(f"{len(rows)} drives, total target {sum(d.target_units for d, _p in rows)} units")
    return 0


async def _jobs_tick(config: Config, now_text: str | None) -> int:
    clock: Clock = SystemClock()
    if now_text:
        try:
            now = dt.datetime.fromisoformat(now_text)
        except ValueError:
            print(f"hienmau: --now {now_text!r} is not an ISO date and time", file=sys.stderr)
            return 2
        clock = FixedClock(now if now.tzinfo else now.replace(tzinfo=config.zone))
    database = app.open_database(config, clock)
    deliverers: dict[str, Deliver] = {"console": console.printer()}
    channel = None
    try:
        if config.telegram.token:
            channel = TelegramChannel(config.telegram, _no_dispatch)
            await channel.open_for_sending()
            deliverers["telegram"] = channel.deliver
        result = await app.build_ticker(config, database, deliverers).tick()
        print(result.summary())
        return 0
    finally:
        if channel is not None:
            await channel.stop()
        await database.dispose()


async def _no_dispatch(inbound: Inbound) -> list[Reply]:
    raise AssertionError("jobs tick takes no updates")


async def _run(config: Config, database: Database) -> int:
    if not config.telegram.token and not config.zalo.token:
        print(
            "hienmau: no channel configured: set [telegram] token in config.toml "
            "(or HIENMAU_TELEGRAM_TOKEN); for a terminal chat use `hienmau console --user ID`",
            file=sys.stderr,
        )
        return 2
    if not config.telegram.token:
        print("hienmau: the Zalo channel is not built yet", file=sys.stderr)
        return 2
    engine = app.build_engine(database)
    channel = TelegramChannel(config.telegram, engine.dispatch, hooks=engine)
    ticker = app.build_ticker(
        config, database, {"telegram": channel.deliver, "console": console.printer()}
    )
    scheduler = ticker.schedule(seconds=config.schedule.tick_seconds)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stopping.set)
    try:
        await channel.start()
        scheduler.start()
        await ticker.tick()  # at once, then every minute
        await stopping.wait()
    except TelegramError as exc:
        print(f"hienmau: telegram: {exc.message}", file=sys.stderr)
        return 1
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await channel.stop()
    return 0


def _demo(config: Config, args: argparse.Namespace) -> int:
    path = Path(args.db)
    if args.reset:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    fresh = not path.exists()
    url = f"sqlite:///{path.resolve()}"
    upgrade(url)
    demo_config = dataclasses.replace(config, database=DatabaseConfig(url))
    return asyncio.run(_demo_chat(demo_config, args.role, fresh))


async def _demo_chat(config: Config, role: str, fresh: bool) -> int:
    database = app.open_database(config)
    try:
        if fresh:
            async with database.work() as work:
                await demo.load(work)
        user = DEMO_USERS[role]
        print(
            f"hienmau demo: you are '{user}' ({role}) on {config.database.url}. "
            "Type /quit to leave, /help for commands.\n",
            flush=True,
        )
        await ConsoleChat(app.build_engine(database).dispatch, user).run(first="/start")
    finally:
        await database.dispose()
    return 0
