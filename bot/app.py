"""Wiring: configuration -> database -> engine."""

from __future__ import annotations

import datetime as dt

from bot.config import Config, data_directory, serves_health
from bot.health import HealthCheck, HealthServer
from bot.secret import installation_secret
from db.engine import create_engine
from handlers.engine import Engine
from handlers.inbound_limit import InboundLimiter
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
        data_dir=data_directory(config),
    )


def build_engine(database: Database, config: Config | None = None) -> Engine:
    """The engine; with `config`, users are held to `[security] inbound_per_minute`."""
    per_minute = config.security.inbound_per_minute if config is not None else 0
    return Engine(database, InboundLimiter(per_minute) if per_minute else None)


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
            appeal_window=config.schedule.appeal_window,
            quiet_hours=config.schedule.quiet_hours,
        ),
        sender,
    )


def build_health_server(
    config: Config, database: Database, channels: set[str]
) -> HealthServer | None:
    """The /healthz server `hienmau run` starts, or None ([health] serve)."""
    if not serves_health(config):
        return None
    check = HealthCheck(
        database,
        channels,
        max_lag_seconds=config.health.max_outbox_lag_seconds,
        quiet=QuietHours.parse(config.schedule.quiet_hours),
    )
    return HealthServer(check, listen=config.health.listen, port=config.health.port)
