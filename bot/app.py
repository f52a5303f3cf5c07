"""Wiring: configuration -> database -> engine."""

from __future__ import annotations

import datetime as dt

from bot.config import Config
from bot.secret import installation_secret
from db.engine import create_engine
from handlers.engine import Engine
from handlers.messages import Deliver
from scheduler.sender import Limits, Sender
from scheduler.ticker import Ticker
from services.clock import Clock, SystemClock
from services.planners import settings_from
from services.schedule import QuietHours
from services.work import Database


def open_database(config: Config, clock: Clock | None = None) -> Database:
    return Database(
        create_engine(config.database.url),
        clock or SystemClock(),
        config.rules,
        config.zone,
        secret=installation_secret(config),
    )


def build_engine(database: Database) -> Engine:
    return Engine(database)


def build_ticker(config: Config, database: Database, deliverers: dict[str, Deliver]) -> Ticker:
    """The scheduler's tick: planners with the configured offsets, and a sender over the
    channels that can deliver."""
    limits = {
        "telegram": Limits(per_second=config.telegram.messages_per_second),
        "zalo": Limits(per_second=config.zalo.messages_per_second),
    }
    sender = Sender(
        database,
        deliverers,
        limits,
        quiet=QuietHours.parse(config.schedule.quiet_hours),
        lease=dt.timedelta(seconds=config.schedule.send_lease_seconds),
    )
    return Ticker(
        database,
        settings_from(
            config.schedule.reminder_offsets,
            config.schedule.tally_time,
            config.schedule.notice_lead_days,
        ),
        sender,
    )
