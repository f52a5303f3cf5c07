"""Wiring: configuration -> database -> engine."""

from __future__ import annotations

from bot.config import Config
from db.engine import create_engine
from handlers.engine import Engine
from services.clock import Clock, SystemClock
from services.work import Database


def open_database(config: Config, clock: Clock | None = None) -> Database:
    return Database(
        create_engine(config.database.url), clock or SystemClock(), config.rules, config.zone
    )


def build_engine(database: Database) -> Engine:
    return Engine(database)
