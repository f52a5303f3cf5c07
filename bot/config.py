"""Configuration: a TOML file, then `HIENMAU_<SECTION>_<KEY>` environment variables, into frozen
dataclasses. A wrong value stops start-up with one line naming the key (`ConfigError`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from db.engine import DatabaseURLError, async_url
from services.rules import Rules
from services.schedule import QuietHours

ENV_PREFIX = "HIENMAU_"
ENV_NOT_SETTINGS = {"HIENMAU_CONFIG"}


class ConfigError(ValueError):
    """One line that names the key and what is wrong with it."""


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    url: str = "sqlite:///./hienmau.sqlite3"


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    token: str = ""
    base_url: str = ""  # e.g. a local Bot API server; empty: Telegram's own
    mode: str = "polling"  # polling | webhook
    webhook_url: str = ""  # public URL Telegram posts to
    webhook_secret: str = ""
    listen: str = "127.0.0.1"
    port: int = 8443
    path: str = "/telegram"
    messages_per_second: float = 30.0  # Telegram's limit for a bot, over all chats


@dataclass(frozen=True, slots=True)
class ZaloConfig:
    token: str = ""  # from Zalo Bot Creator: "<bot id>:<secret>"
    base_url: str = ""  # empty: https://bot-api.zaloplatforms.com
    mode: str = "polling"  # polling | webhook
    webhook_url: str = ""  # public URL Zalo posts to
    webhook_secret: str = ""  # 8-256 characters, required for a webhook
    listen: str = "127.0.0.1"
    port: int = 8444
    path: str = "/zalo"
    # Public URL of `<path>/media` on this server, where Zalo fetches QR codes and charts
    # (sendPhoto takes a URL only). Empty: `webhook_url` + "/media" in webhook mode, else
    # images go as text only.
    media_url: str = ""
    messages_per_second: float = 10.0  # Zalo documents no limit: a cautious pace
    poll_timeout: int = 30  # seconds a getUpdates waits for an update


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    timezone: str = "Asia/Ho_Chi_Minh"
    quiet_hours: str = "21:00-07:00"
    tally_time: str = "18:00"
    reminder_offsets: tuple[str, ...] = ("3d", "1d", "07:00")
    notice_lead_days: int = 7  # drive notices to eligible donors who have not pledged
    appeal_window: str = "18:00-20:00"  # local hours "you can donate again" goes out in
    tick_seconds: int = 60  # how often `hienmau run` plans and sends
    send_lease_seconds: int = 120  # a message claimed by a sender that died is retried after this


SECRET_MIN_CHARS = 32


@dataclass(frozen=True, slots=True)
class SecurityConfig:
    # Signs donor cards (/card). Empty: one is generated once into ./hienmau-secret.key.
    # Changing it makes every card issued so far invalid.
    secret: str = field(default="", repr=False)
    # Messages one user may send a minute, in bursts of ten seconds' worth (120: 20 in 10 s);
    # the first over the limit is answered "slow down", the rest ignored. 0: no limit.
    inbound_per_minute: int = 120


LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    format: str = "text"  # text | json (one JSON object a line)
    level: str = "INFO"


HEALTH_SERVE = ("webhook", "always", "never")


@dataclass(frozen=True, slots=True)
class HealthConfig:
    # `hienmau run` answers GET /healthz on listen/port: when a channel is in webhook mode
    # (webhook), always, or never.
    serve: str = "webhook"
    listen: str = "127.0.0.1"
    port: int = 8445
    max_outbox_lag_seconds: int = 900  # a due message waiting longer makes /healthz answer 503


@dataclass(frozen=True, slots=True)
class StorageConfig:
    # Where files people send are kept (certificate photos: <data_dir>/certificates/...).
    # Empty: `hienmau-data` next to the SQLite file, or in the working directory.
    data_dir: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    zalo: ZaloConfig = field(default_factory=ZaloConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    rules: Rules = field(default_factory=Rules)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.schedule.timezone)


_SECTION_TYPES = {
    "database": DatabaseConfig,
    "telegram": TelegramConfig,
    "zalo": ZaloConfig,
    "schedule": ScheduleConfig,
    "rules": Rules,
    "security": SecurityConfig,
    "logging": LoggingConfig,
    "health": HealthConfig,
    "storage": StorageConfig,
}


def _coerce(key: str, value: Any, target: Any, from_env: bool) -> Any:
    kind = type(target)
    if kind is bool:
        if (
            from_env
            and isinstance(value, str)
            and value.lower() in {"1", "true", "yes", "0", "false", "no"}
        ):
            return value.lower() in {"1", "true", "yes"}
        if isinstance(value, bool):
            return value
    elif kind is int:
        if from_env and isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if from_env and isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif kind is tuple:
        if from_env and isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
    elif isinstance(value, str):
        return value
    raise ConfigError(f"config: {key}: expected {kind.__name__}, got {value!r}")


def _time(key: str, text: str) -> dt.time:
    try:
        return dt.datetime.strptime(text.strip(), "%H:%M").time()
    except ValueError:
        raise ConfigError(f"config: {key}: expected a 24h time HH:MM, got {text!r}") from None


def _check_url(key: str, url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise ConfigError(f"config: {key}: not an http(s) URL: {url!r}")


def _validate(config: Config) -> None:
    try:
        async_url(config.database.url)
    except DatabaseURLError as exc:
        raise ConfigError(f"config: [database] url: {exc}") from None
    try:
        zoneinfo.ZoneInfo(config.schedule.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"config: [schedule] timezone: unknown time zone {config.schedule.timezone!r}"
        ) from None
    quiet = config.schedule.quiet_hours.split("-")
    if len(quiet) != 2:
        raise ConfigError(
            f"config: [schedule] quiet_hours: expected HH:MM-HH:MM, got "
            f"{config.schedule.quiet_hours!r}"
        )
    for part in quiet:
        _time("[schedule] quiet_hours", part)
    _time("[schedule] tally_time", config.schedule.tally_time)
    _validate_appeal_window(config.schedule)
    if not 0 <= config.schedule.notice_lead_days <= 60:
        raise ConfigError(
            "config: [schedule] notice_lead_days: expected 0 (no notices) to 60 days, got "
            f"{config.schedule.notice_lead_days!r}"
        )
    for key in ("tick_seconds", "send_lease_seconds"):
        if not 1 <= getattr(config.schedule, key) <= 86_400:
            raise ConfigError(
                f"config: [schedule] {key}: expected seconds from 1 to 86400, got "
                f"{getattr(config.schedule, key)!r}"
            )
    if not 0 < config.telegram.messages_per_second <= 1000:
        raise ConfigError(
            "config: [telegram] messages_per_second: expected a number above 0 (Telegram "
            f"allows about 30), got {config.telegram.messages_per_second!r}"
        )
    _validate_zalo(config)
    _validate_operations(config)
    _validate_storage(config)
    for offset in config.schedule.reminder_offsets:
        if not re.fullmatch(r"\d+[dh]|\d{1,2}:\d{2}", offset):
            raise ConfigError(
                f"config: [schedule] reminder_offsets: {offset!r} is not like "
                "'3d', '12h' or '07:00'"
            )
    for name, section in (("telegram", config.telegram), ("zalo", config.zalo)):
        if section.mode not in {"polling", "webhook"}:
            raise ConfigError(
                f"config: [{name}] mode: expected 'polling' or 'webhook', got {section.mode!r}"
            )
        if section.base_url:
            _check_url(f"[{name}] base_url", section.base_url)
        if section.webhook_url:
            _check_url(f"[{name}] webhook_url", section.webhook_url)
        if section.token and section.mode == "webhook" and not section.webhook_url:
            raise ConfigError(f"config: [{name}] webhook_url: required when mode = 'webhook'")
    telegram = config.telegram
    if (
        telegram.token
        and telegram.mode == "webhook"
        and not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", telegram.webhook_secret)
    ):
        raise ConfigError(
            "config: [telegram] webhook_secret: required when mode = 'webhook': 16 to 256 "
            "characters of A-Z, a-z, 0-9, _ and - (Telegram sends it with every update)"
        )
    if config.telegram.token and not re.fullmatch(r"\d+:[A-Za-z0-9_-]{20,}", config.telegram.token):
        raise ConfigError(
            "config: [telegram] token: not a bot token from @BotFather (like 123456789:AAE...)"
        )
    rules = config.rules
    if not 16 <= rules.min_age < rules.max_age <= 70:
        raise ConfigError("config: [rules] min_age/max_age: need 16 <= min_age < max_age <= 70")
    for name in ("whole_blood_interval_days", "apheresis_interval_days"):
        if getattr(rules, name) <= 0:
            raise ConfigError(f"config: [rules] {name}: must be a positive number of days")
    for name, most in (
        ("deferral_flu_days", 366),
        ("deferral_tattoo_months", 24),
        ("deferral_surgery_months", 24),
    ):
        if not 1 <= getattr(rules, name) <= most:
            raise ConfigError(
                f"config: [rules] {name}: expected 1 to {most}, got {getattr(rules, name)!r}"
            )
    _validate_appeal_rules(rules)
    if not 0 <= rules.block_release_days <= 60:
        raise ConfigError(
            "config: [rules] block_release_days: expected 0 (on the drive's day) to 60 days, "
            f"got {rules.block_release_days!r}"
        )
    if not 0 <= config.security.inbound_per_minute <= 10_000:
        raise ConfigError(
            "config: [security] inbound_per_minute: expected 0 (no limit) to 10000 messages, "
            f"got {config.security.inbound_per_minute!r}"
        )
    secret = config.security.secret
    if secret and len(secret) < SECRET_MIN_CHARS:
        raise ConfigError(
            f"config: [security] secret: too short ({len(secret)} characters): use at least "
            f"{SECRET_MIN_CHARS} random characters, or leave it empty to generate one"
        )


def _validate_appeal_rules(rules: Rules) -> None:
    if not 1 <= rules.appeals_per_30_days <= 100:
        raise ConfigError(
            "config: [rules] appeals_per_30_days: expected 1 to 100 appeals, got "
            f"{rules.appeals_per_30_days!r}"
        )
    if not 1.0 <= rules.show_up_factor <= 3.0:
        raise ConfigError(
            "config: [rules] show_up_factor: expected pledges per unit from 1.0 to 3.0, got "
            f"{rules.show_up_factor!r}"
        )


def _validate_appeal_window(schedule: ScheduleConfig) -> None:
    key, text = "[schedule] appeal_window", schedule.appeal_window
    parts = text.split("-")
    if len(parts) != 2:
        raise ConfigError(f"config: {key}: expected HH:MM-HH:MM, got {text!r}")
    start, end = (_time(key, part) for part in parts)
    if end <= start:
        raise ConfigError(f"config: {key}: must end after it starts (same day), got {text!r}")
    quiet = QuietHours.parse(schedule.quiet_hours)
    day = dt.date(2026, 1, 1)
    moment = dt.datetime.combine(day, start, tzinfo=dt.UTC)
    while moment < dt.datetime.combine(day, end, tzinfo=dt.UTC):
        if quiet.contains(moment, zoneinfo.ZoneInfo("UTC")):
            raise ConfigError(
                f"config: {key}: {text!r} overlaps quiet_hours {schedule.quiet_hours!r}"
            )
        moment += dt.timedelta(minutes=1)


def _validate_zalo(config: Config) -> None:
    zalo = config.zalo
    if zalo.token and not re.fullmatch(r"\d+:[A-Za-z0-9_-]{8,}", zalo.token):
        raise ConfigError(
            "config: [zalo] token: not a bot token from Zalo Bot Creator (like 1234567890:AbC...)"
        )
    if not 0 < zalo.messages_per_second <= 1000:
        raise ConfigError(
            "config: [zalo] messages_per_second: expected a number above 0 (Zalo documents "
            f"no limit; 10 is cautious), got {zalo.messages_per_second!r}"
        )
    if not 1 <= zalo.poll_timeout <= 120:
        raise ConfigError(
            "config: [zalo] poll_timeout: expected seconds from 1 to 120, got "
            f"{zalo.poll_timeout!r}"
        )
    if zalo.media_url:
        _check_url("[zalo] media_url", zalo.media_url)
    for name, section in (("telegram", config.telegram), ("zalo", zalo)):
        if not 0 <= section.port <= 65535:
            raise ConfigError(f"config: [{name}] port: expected 0 to 65535, got {section.port!r}")
        if not section.path.startswith("/"):
            raise ConfigError(f"config: [{name}] path: must start with '/', got {section.path!r}")
    if zalo.token and zalo.mode == "webhook" and not 8 <= len(zalo.webhook_secret) <= 256:
        raise ConfigError(
            "config: [zalo] webhook_secret: Zalo needs 8 to 256 characters in webhook mode"
        )
    serves = zalo.token and (zalo.mode == "webhook" or zalo.media_url)
    telegram_listens = config.telegram.token and config.telegram.mode == "webhook"
    if (
        serves
        and telegram_listens
        and (zalo.listen, zalo.port) == (config.telegram.listen, config.telegram.port)
        and zalo.port != 0
    ):
        raise ConfigError(
            f"config: [zalo] port: {zalo.port} is [telegram] port too; give each its own"
        )


def _validate_operations(config: Config) -> None:
    """[logging] and [health]."""
    if config.logging.format not in LOG_FORMATS:
        raise ConfigError(
            f"config: [logging] format: expected 'text' or 'json', got {config.logging.format!r}"
        )
    if config.logging.level.upper() not in LOG_LEVELS:
        raise ConfigError(
            f"config: [logging] level: expected one of {', '.join(LOG_LEVELS)}, got "
            f"{config.logging.level!r}"
        )
    health = config.health
    if health.serve not in HEALTH_SERVE:
        raise ConfigError(
            f"config: [health] serve: expected 'webhook', 'always' or 'never', got {health.serve!r}"
        )
    if not 0 <= health.port <= 65535:
        raise ConfigError(f"config: [health] port: expected 0 to 65535, got {health.port!r}")
    if not health.listen.strip():
        raise ConfigError("config: [health] listen: an address is needed, e.g. '127.0.0.1'")
    if not 1 <= health.max_outbox_lag_seconds <= 7 * 86_400:
        raise ConfigError(
            "config: [health] max_outbox_lag_seconds: expected seconds from 1 to 604800, got "
            f"{health.max_outbox_lag_seconds!r}"
        )
    if health.port == 0 or not serves_health(config):
        return
    for name, section in (("telegram", config.telegram), ("zalo", config.zalo)):
        listens = section.token and (
            section.mode == "webhook" or (name == "zalo" and config.zalo.media_url)
        )
        if listens and (section.listen, section.port) == (health.listen, health.port):
            raise ConfigError(
                f"config: [health] port: {health.port} is [{name}] port too; give each its own"
            )


def data_directory(config: Config) -> Path:
    """`[storage] data_dir`, else `hienmau-data` beside the SQLite file (or in the working
    directory for PostgreSQL)."""
    if config.storage.data_dir.strip():
        return Path(config.storage.data_dir.strip()).expanduser()
    url = config.database.url
    if url.startswith("sqlite") and ":///" in url:
        database = url.split(":///", 1)[1].split("?", 1)[0]
        if database and database != ":memory:":
            return Path(database).expanduser().parent / "hienmau-data"
    return Path("hienmau-data")


def _validate_storage(config: Config) -> None:
    raw = config.storage.data_dir
    if raw and not raw.strip():
        raise ConfigError("config: [storage] data_dir: empty; leave it out for the default")
    directory = data_directory(config)
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"config: [storage] data_dir: {str(directory)!r} is not a directory")


def webhook_mode(config: Config) -> bool:
    """Whether a configured channel takes its updates by webhook."""
    return any(
        section.token and section.mode == "webhook" for section in (config.telegram, config.zalo)
    )


def serves_health(config: Config) -> bool:
    """Whether `hienmau run` answers /healthz ([health] serve)."""
    serve = config.health.serve
    return serve == "always" or (serve == "webhook" and webhook_mode(config))


def build(data: Mapping[str, Any], env: Mapping[str, str]) -> Config:
    """Defaults, then `data` (parsed TOML), then HIENMAU_* variables of `env`."""
    values: dict[str, dict[str, Any]] = {name: {} for name in _SECTION_TYPES}
    for section, content in data.items():
        if section not in _SECTION_TYPES:
            raise ConfigError(f"config: unknown section [{section}]")
        if not isinstance(content, Mapping):
            raise ConfigError(f"config: [{section}] must be a table")
        values[section].update(content)
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name in ENV_NOT_SETTINGS:
            continue
        section, _sep, key = name[len(ENV_PREFIX) :].lower().partition("_")
        if section not in _SECTION_TYPES or not key:
            raise ConfigError(f"config: unknown environment variable {name}")
        values[section][key] = (value, "env")
    sections: dict[str, Any] = {}
    for section, cls in _SECTION_TYPES.items():
        defaults = cls()
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, raw in values[section].items():
            label = f"[{section}] {key}"
            if key not in known:
                raise ConfigError(f"config: unknown key {label}")
            from_env = isinstance(raw, tuple) and len(raw) == 2 and raw[1] == "env"
            value = raw[0] if from_env else raw
            kwargs[key] = _coerce(label, value, getattr(defaults, key), from_env)
        sections[section] = cls(**kwargs)
    config = Config(**sections)
    _validate(config)
    return config


def load(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """`--config`, else $HIENMAU_CONFIG, else ./config.toml if present, else defaults."""
    env = os.environ if env is None else env
    chosen = path or env.get("HIENMAU_CONFIG")
    if chosen is None and Path("config.toml").exists():
        chosen = "config.toml"
    data: dict[str, Any] = {}
    if chosen is not None:
        try:
            with open(chosen, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"config: file not found: {chosen}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config: {chosen}: not valid TOML ({exc})") from None
    return build(data, env)
