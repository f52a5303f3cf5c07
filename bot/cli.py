"""The `hienmau` command line (names are a contract: see DESIGN.md)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from telegram.error import TelegramError

from bot import app, demo
from bot.config import Config, ConfigError, DatabaseConfig, load
from channels.console.console import ConsoleChat
from channels.telegram.adapter import TelegramChannel
from db.migrate import upgrade
from services import persons, roles, units
from services.audit import Actor
from services.errors import DomainError
from services.validation import parse_phone
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
    channel = TelegramChannel(config.telegram, app.build_engine(database).dispatch)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stopping.set)
    try:
        await channel.start()
        await stopping.wait()
    except TelegramError as exc:
        print(f"hienmau: telegram: {exc.message}", file=sys.stderr)
        return 1
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
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
