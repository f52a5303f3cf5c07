"""The `hienmau` command line (names are a contract: see DESIGN.md)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from telegram.error import TelegramError

from bot import analytics_cli, app, db_commands, demo, logs
from bot.config import Config, ConfigError, DatabaseConfig, load
from bot.health import HealthServerError
from channels.console import console
from channels.console.console import ConsoleChat
from channels.telegram.adapter import TelegramChannel
from channels.zalo.adapter import ZaloChannel
from channels.zalo.client import ZaloError
from db.migrate import upgrade
from handlers.messages import Deliver, Inbound, Reply
from handlers.reports import report_text
from services import (
    drives,
    invites,
    persons,
    plan_file,
    plans,
    quota_file,
    quotas,
    report_files,
    reports,
    roles,
    sharing,
    units,
)
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
    db_backup = db_sub.add_parser(
        "backup", help="copy the database (SQLite online backup; pg_dump for PostgreSQL)"
    )
    db_backup.add_argument(
        "--to", metavar="PATH", help="file or directory (default: a timestamped file beside it)"
    )
    db_restore = db_sub.add_parser("restore", help="put a SQLite backup in place of the database")
    db_restore.add_argument("source", metavar="FROM", help="a file `db backup` wrote")
    db_restore.add_argument(
        "--force", action="store_true", help="restore even while the database is in use"
    )

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

    quota_cmd = commands.add_parser("quota", help="quotas (chỉ tiêu) of units for a year")
    quota_sub = quota_cmd.add_subparsers(dest="quota_command", required=True)
    quota_import = quota_sub.add_parser("import", help="import a quota table (CSV or XLSX)")
    quota_import.add_argument("file")
    quota_import.add_argument("--year", type=int, required=True, help="the quotas' year")
    quota_import.add_argument("--parent", help="unit code the table's units belong under")
    quota_import.add_argument(
        "--drive", help="the rows are this drive's quotas: its id, or YEAR/NUMBER of the plan"
    )
    quota_import.add_argument(
        "--dry-run", action="store_true", help="check and show, store nothing"
    )
    quota_import.add_argument("--skip-bad", action="store_true", help="import the good rows only")
    quota_import.add_argument(
        "--merge",
        action="append",
        default=[],
        metavar="NAME=UNIT",
        help="the file's NAME is the existing unit UNIT (code or name); may repeat",
    )
    quota_list = quota_sub.add_parser("list", help="quota, drives and collected per unit")
    quota_list.add_argument("--year", type=int, required=True)
    quota_list.add_argument("--unit", help="only this unit and its sub-units")

    drives_cmd = commands.add_parser("drives", help="blood drives")
    drives_sub = drives_cmd.add_subparsers(dest="drives_command", required=True)
    drives_list = drives_sub.add_parser("list", help="list drives")
    drives_list.add_argument("--from", dest="since", help="first date (dd/mm/yyyy or ISO)")
    drives_list.add_argument("--unit", help="only drives of this unit and its sub-units")

    report = commands.add_parser("report", help="the year's report: drives, people, units, honours")
    report.add_argument("--year", type=int, required=True, help="reporting year (1/12 of Y-1 on)")
    report.add_argument("--unit", help="only this unit and its sub-units")
    report.add_argument("--xlsx", metavar="OUT", help="write the report as an XLSX workbook")
    report.add_argument("--chart", metavar="OUT.png", help="write a bar chart of units vs target")

    jobs_cmd = commands.add_parser("jobs", help="the scheduler")
    jobs_sub = jobs_cmd.add_subparsers(dest="jobs_command", required=True)
    tick = jobs_sub.add_parser("tick", help="plan due messages and send them, once")
    tick.add_argument("--now", help="the instant of the tick (ISO, e.g. 2026-12-09T07:00+07:00)")

    grant = commands.add_parser("grant", help="give a registered person a role in a unit")
    grant.add_argument("role", help="volunteer, club_chair, committee or admin")
    grant.add_argument("--unit", required=True, help="unit code")
    who = grant.add_mutually_exclusive_group(required=True)
    who.add_argument("--phone", help="the registered person's phone number")
    who.add_argument(
        "--invite", action="store_true", help="print a one-time invitation link and write its QR"
    )
    grant.add_argument("--days", type=int, default=7, help="days the invitation stays valid")
    grant.add_argument(
        "--qr", help="where to write the QR code PNG (default: invite-ROLE-UNIT.png)"
    )
    analytics_cli.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load(args.config)
        logs.configure(config)
        if args.command == "demo":
            return _demo(config, args)
        if args.command == "db" and args.db_command == "backup":  # the schema as it is
            return db_commands.db_backup(config, args.to)
        if args.command == "db" and args.db_command == "restore":
            return db_commands.db_restore(config, args.source, args.force)
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
        if args.command == "quota" and args.quota_command == "import":
            return await _quota_import(database, args)
        if args.command == "quota":
            return await _quota_list(database, args)
        if args.command == "drives":
            return await _drives_list(database, args)
        if args.command == "report":
            return await _report(database, args)
        if analytics_cli.handles(args):
            return await analytics_cli.dispatch(database, args)
        if args.command == "grant" and args.invite:
            return await _grant_invite(config, database, args)
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
    if not _report_problems(parsed.problems, args.skip_bad):
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


def _report_problems(problems: Sequence[plan_file.RowProblem], skip_bad: bool) -> bool:
    """Print each bad row; False when they stop the import (no --skip-bad)."""
    for problem in problems:
        print(f"{'skipped: ' if skip_bad else ''}{plan_file.describe(problem)}", file=sys.stderr)
    if problems and not skip_bad:
        print(
            f"hienmau: nothing imported: {len(problems)} bad row(s); fix the file "
            "or use --skip-bad to import the other rows",
            file=sys.stderr,
        )
        return False
    return True


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


async def _quota_import(database: Database, args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not 2000 <= args.year <= 2100:
        print(f"hienmau: --year {args.year} is not a quota year", file=sys.stderr)
        return 2
    merges: dict[str, str] = {}
    for merge in args.merge:
        name, sep, unit = merge.partition("=")
        if not sep or not name.strip() or not unit.strip():
            print(f'hienmau: --merge {merge!r}: write it as "NAME=UNIT"', file=sys.stderr)
            return 2
        merges[name.strip()] = unit.strip()
    try:
        content = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        print(f"hienmau: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    parsed = quota_file.read_quotas(content, path.name, drive_mode=bool(args.drive))
    if not _report_problems(parsed.problems, args.skip_bad):
        return 1
    async with database.work() as work:
        result = await quotas.import_quotas(
            work,
            parsed,
            args.year,
            Actor("cli"),
            parent_code=args.parent,
            drive=args.drive,
            merges=merges,
            source=f"quota:{path.name}",
            dry_run=args.dry_run,
        )
    for warning in parsed.warnings:
        print(f"warning: {plan_file.describe(warning)}", file=sys.stderr)
    for notice in result.warnings:
        print(f"warning: {notice.text()}", file=sys.stderr)
    quota_codes = {outcome.unit_code for outcome in result.outcomes}
    groups = {  # group headings without a figure of their own, shown above their rows
        name: f"{'group':<9} {'':>6}     {name} [{code}]{_in(parent)}  new unit"
        for code, name, parent in result.created_units
        if code not in quota_codes
    }
    for outcome in result.outcomes:
        if outcome.row.group in groups:
            print(groups.pop(outcome.row.group))
        print(_quota_line(outcome))
    for line in groups.values():
        print(line)
    for slot in result.slots:
        print(
            f"slot {slot.start:%H:%M}-{slot.end:%H:%M}: {slot.quotas} quotas, {slot.units} units"
            f"{' (new slot)' if slot.created else ''}"
        )
    for near in result.near:
        for code, name in near.candidates:
            print(
                f'possible match: line {near.line} "{near.name}" may be {name} [{code}]; '
                f'if so, add --merge "{near.name}={code}"'
            )
    verb = "would import" if args.dry_run else "imported"
    detail = ", ".join(f"{result.count(change)} {change.value}" for change in plans.Change)
    created = f"; {len(result.created_units)} new units" if result.created_units else ""
    skipped = f", skipped {len(parsed.problems)} bad row(s)" if parsed.problems else ""
    print(f"{verb} {result.quotas} quotas, total {result.total} units ({detail}{created}{skipped})")
    return 0


def _in(parent: str | None) -> str:
    return f" in {parent}" if parent else ""


def _quota_line(outcome: quotas.QuotaOutcome) -> str:
    row = outcome.row
    figure = row.target_units or 0
    parts = [
        f"{outcome.change.value:<9} {figure:>6} đv  {outcome.unit_name} [{outcome.unit_code}]"
        f"{_in(outcome.parent_name)}"
    ]
    if row.months:
        parts.append("months " + ",".join(str(month) for month in row.months))
    if row.slot_start and row.slot_end:
        parts.append(f"slot {row.slot_start:%H:%M}-{row.slot_end:%H:%M}")
    if outcome.old_units is not None:
        parts.append(f"{outcome.old_units} -> {figure}")
    if outcome.unit_created:
        parts.append("new unit")
    return "  ".join(parts)


async def _quota_list(database: Database, args: argparse.Namespace) -> int:
    async with database.work() as work:
        figures = await quotas.quota_figures(work, args.year, args.unit)
    width = max((len(figure.code) for figure in figures), default=0)
    for figure in figures:
        percent = "-" if figure.percent is None else f"{figure.percent}%"
        due = "-" if figure.expected_by_now is None else str(figure.expected_by_now)
        print(
            f"{figure.code:<{width}}  quota {figure.quota:>6}  drives {figure.drives:>2} "
            f"target {figure.drive_targets:>6}  collected {figure.collected:>6} {percent:>5}  "
            f"due {due:>6} {'BEHIND' if figure.behind else '':<6}  "
            f"{figure.name}{_in(figure.parent_name)}"
        )
    total = sum(f.quota for f in figures)
    collected = sum(f.collected for f in figures)
    share = f" ({round(collected * 100 / total)}%)" if total else ""
    print(
        f"{len(figures)} quotas, total {total} units, drive targets "
        f"{sum(f.drive_targets for f in figures)}, collected {collected}{share}, "
        f"{sum(1 for f in figures if f.behind)} behind"
    )
    return 0


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


async def _grant_invite(config: Config, database: Database, args: argparse.Namespace) -> int:
    role = roles.parse_role(args.role)
    if not 1 <= args.days <= 90:
        print("hienmau: --days must be 1 to 90", file=sys.stderr)
        return 2
    async with database.work() as work:
        unit = await units.by_code(work, args.unit)
        if unit is None:
            print(f"hienmau: no unit with code {args.unit}", file=sys.stderr)
            return 1
        created = await invites.grant_invite(work, None, role, unit, Actor("cli"), args.days)
        expires = created.invite.expires_at.astimezone(config.zone)
    link = f"/start {created.payload}"
    if config.telegram.token:
        channel = TelegramChannel(config.telegram, _no_dispatch)
        try:
            await channel.open_for_sending()
            link = f"https://t.me/{channel.bot.username}?start={created.payload}"
        except TelegramError as exc:
            print(f"hienmau: telegram unreachable ({exc.message}); printing the command form")
        finally:
            await channel.stop()
    qr = Path(args.qr or f"invite-{role.value}-{args.unit}.png")
    await asyncio.to_thread(qr.write_bytes, sharing.qr_png(link))
    print(f"invitation: {role.value} in {args.unit}, one use, valid until {expires:%d/%m/%Y %H:%M}")
    print(f"link: {link}")
    print(f"QR code: {qr}")
    return 0


async def _report(database: Database, args: argparse.Namespace) -> int:
    async with database.work() as work:
        found = await reports.year_report(work, args.year, Actor("cli"), args.unit)
    print(report_text(found))
    for path, render in ((args.xlsx, report_files.workbook), (args.chart, report_files.chart_png)):
        if path is None:
            continue
        content = await asyncio.to_thread(render, found)
        try:
            await asyncio.to_thread(Path(path).write_bytes, content)
        except OSError as exc:
            print(f"hienmau: cannot write {path}: {exc.strerror}", file=sys.stderr)
            return 1
        print(f"wrote {path} ({len(content)} bytes)")
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
    zalo = None
    try:
        if config.telegram.token:
            channel = TelegramChannel(config.telegram, _no_dispatch)
            await channel.open_for_sending()
            deliverers["telegram"] = channel.deliver
        if config.zalo.token:
            zalo = ZaloChannel(config.zalo, _no_dispatch, hooks=app.build_engine(database))
            await zalo.open_for_sending()
            deliverers["zalo"] = zalo.deliver
        result = await app.build_ticker(config, database, deliverers).tick()
        print(result.summary())
        return 0
    finally:
        if channel is not None:
            await channel.stop()
        if zalo is not None:
            await zalo.stop()
        await database.dispose()


async def _no_dispatch(inbound: Inbound) -> list[Reply]:
    raise AssertionError("jobs tick takes no updates")


async def _run(config: Config, database: Database) -> int:
    if not config.telegram.token and not config.zalo.token:
        print(
            "hienmau: no channel configured: set [telegram] token or [zalo] token in "
            "config.toml (or HIENMAU_TELEGRAM_TOKEN, HIENMAU_ZALO_TOKEN); for a terminal chat "
            "use `hienmau console --user ID`",
            file=sys.stderr,
        )
        return 2
    engine = app.build_engine(database, config)
    deliverers: dict[str, Deliver] = {"console": console.printer()}
    channel = None
    zalo = None
    if config.telegram.token:
        channel = TelegramChannel(config.telegram, engine.dispatch, hooks=engine)
        deliverers["telegram"] = channel.deliver
    if config.zalo.token:
        zalo = ZaloChannel(config.zalo, engine.dispatch, hooks=engine)
        deliverers["zalo"] = zalo.deliver
    ticker = app.build_ticker(config, database, deliverers)
    scheduler = ticker.schedule(seconds=config.schedule.tick_seconds)
    health = app.build_health_server(config, database, set(deliverers))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stopping.set)
    try:
        if health is not None:
            await health.start()
        if channel is not None:
            await channel.start()
        if zalo is not None:
            await zalo.start()
        scheduler.start()
        await ticker.tick()  # at once, then every minute
        await stopping.wait()
    except TelegramError as exc:
        print(f"hienmau: telegram: {exc.message}", file=sys.stderr)
        return 1
    except ZaloError as exc:
        print(f"hienmau: zalo: {exc}", file=sys.stderr)
        return 1
    except HealthServerError as exc:
        print(f"hienmau: {exc}", file=sys.stderr)
        return 1
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        if scheduler.running:
            scheduler.shutdown(wait=False)
        if zalo is not None:
            await zalo.stop()
        if channel is not None:
            await channel.stop()
        if health is not None:
            await health.stop()
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
