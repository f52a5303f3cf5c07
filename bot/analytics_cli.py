"""`hienmau analytics`, `hienmau honours` and `hienmau campaign`: the mobilisation analytics
on the command line (texts from handlers/analytics.py, files from services/analytics_files.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from handlers import analytics as texts
from services import analytics, analytics_files, campaigns, reports
from services.audit import Actor
from services.work import Database

REPORTS = ("repeat", "funnel", "lapsed", "campaign")
CLI = Actor("cli")


def add_commands(commands: Any) -> None:
    """Add the subcommands to `hienmau`'s parser (`commands`: its subparsers)."""
    stats = commands.add_parser(
        "analytics", help="return rate, reminder funnel, lapsed donors, campaign progress"
    )
    stats.add_argument("report", choices=REPORTS)
    stats.add_argument("--year", type=int, help="reporting year (1/12 of Y-1 on; default: now)")
    stats.add_argument("--unit", help="only this unit and its sub-units (campaign: required)")
    stats.add_argument("--chart", metavar="OUT.png", help="campaign: write the progress chart")
    stats.add_argument("--all", action="store_true", help="lapsed: list everyone, not the first 50")

    honours = commands.add_parser("honours", help="donors reaching an honour milestone (XLSX)")
    honours.add_argument("--year", type=int, required=True, help="reporting year (1/12 of Y-1 on)")
    honours.add_argument("--unit", help="only this unit and its sub-units")
    honours.add_argument("--xlsx", metavar="OUT", help="file to write (default: ton-vinh-Y.xlsx)")

    campaign = commands.add_parser("campaign", help="campaign shares of a unit's yearly plan")
    campaign_sub = campaign.add_subparsers(dest="campaign_command", required=True)
    put = campaign_sub.add_parser("set", help='set the shares, e.g. "1-3:20,4:10,5-9:35"')
    put.add_argument("shares", help="MONTHS:PERCENT,... (months of the reporting year)")
    put.add_argument("--year", type=int, required=True)
    put.add_argument("--unit", required=True, help="unit code")
    show = campaign_sub.add_parser("show", help="the shares and the progress against them")
    show.add_argument("--year", type=int, required=True)
    show.add_argument("--unit", help="unit code (default: every unit with shares)")


def handles(args: argparse.Namespace) -> bool:
    return bool(args.command in {"analytics", "honours", "campaign"})


def _year_ok(year: int | None) -> bool:
    if year is not None and not 2000 <= year <= 2100:
        print(f"hienmau: --year {year} is not a reporting year", file=sys.stderr)
        return False
    return True


async def dispatch(database: Database, args: argparse.Namespace) -> int:
    if not _year_ok(args.year):
        return 2
    if args.command == "honours":
        return await _honours(database, args)
    if args.command == "campaign":
        return await _campaign(database, args)
    return await _analytics(database, args)


async def _write(path: str, content: bytes) -> bool:
    try:
        await asyncio.to_thread(Path(path).write_bytes, content)
    except OSError as exc:
        print(f"hienmau: cannot write {path}: {exc.strerror}", file=sys.stderr)
        return False
    print(f"wrote {path} ({len(content)} bytes)")
    return True


async def _analytics(database: Database, args: argparse.Namespace) -> int:
    async with database.work() as work:
        year = args.year or reports.default_year(work.today())
        if args.report == "campaign":
            if args.unit is None:
                print("hienmau: analytics campaign needs --unit CODE", file=sys.stderr)
                return 2
            progress = await campaigns.progress(work, args.unit, year)
            print(texts.campaign_text(progress))
            if args.chart:
                chart = await asyncio.to_thread(analytics_files.campaign_chart_png, progress)
                return 0 if await _write(args.chart, chart) else 1
            return 0
        scope = await analytics.unit_scope(work, args.unit)
        if args.report == "repeat":
            print(texts.repeat_text(await analytics.repeat(work, scope, year)))
        elif args.report == "funnel":
            print(texts.funnel_text(await analytics.funnel(work, scope, year)))
        else:
            limit = None if args.all else 50
            report = await analytics.lapsed(work, scope, CLI, limit=limit)
            print(texts.lapsed_text(report, shown=None))
    return 0


async def _honours(database: Database, args: argparse.Namespace) -> int:
    async with database.work() as work:
        scope = await analytics.unit_scope(work, args.unit)
        report = await analytics.honours(work, scope, args.year, CLI)
    print(texts.honours_text(report))
    content = await asyncio.to_thread(analytics_files.honours_workbook, report)
    return 0 if await _write(args.xlsx or f"ton-vinh-{args.year}.xlsx", content) else 1


async def _campaign(database: Database, args: argparse.Namespace) -> int:
    if args.campaign_command == "set":
        shares = campaigns.parse_shares(args.shares)
        async with database.work() as work:
            unit = await campaigns.set_shares(work, args.unit, args.year, shares, CLI)
        total = sum(share.percent for share in shares)
        print(
            f"campaign shares of {unit.name} [{unit.code}] for {args.year}: "
            f"{campaigns.shares_text(shares)} (total {total}%)"
        )
        return 0
    async with database.work() as work:
        if args.unit is not None:
            found = [await campaigns.progress(work, args.unit, args.year)]
        else:
            found = [
                await campaigns.progress_of(work, unit, args.year)
                for unit in await campaigns.units_with_shares(work, args.year, None)
            ]
    if not found:
        print(f"no campaign shares for {args.year}")
    for progress in found:
        print(f"[{progress.unit_code}] " + texts.campaign_text(progress))
        print()
    return 0
