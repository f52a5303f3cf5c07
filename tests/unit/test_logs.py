"""Logs: `[logging] format` and `level`, JSON lines, and secrets that never reach the output."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot import logs
from bot.config import Config, ConfigError, build

TELEGRAM_TOKEN = "123456789:AAEhBP0av28-TelegramSecretPart_xyz"
ZALO_TOKEN = "9876543210:ZaloSecretPart-abcdef"
SECRETS = {
    "telegram": {"token": TELEGRAM_TOKEN, "webhook_secret": "tg-hook-Secret_123"},
    "zalo": {"token": ZALO_TOKEN, "webhook_secret": "zalo hook/secret+1"},
    "security": {"secret": "card-signing-secret-0123456789abcdef"},
    "database": {"url": "postgresql://hienmau:db-Pass%40word@127.0.0.1/hienmau"},
}
NEVER = [
    "TelegramSecretPart",
    "tg-hook-Secret_123",
    "ZaloSecretPart",
    "zalo hook/secret+1",
    "zalo%20hook%2Fsecret%2B1",
    "card-signing-secret",
    "db-Pass@word",
]


def config(**sections: dict[str, str]) -> Config:
    return build({**SECRETS, **sections}, env={})


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("tests.logs")
    log.propagate = False
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
    log.propagate = True


def capture(log: logging.Logger, chosen: Config) -> io.StringIO:
    stream = io.StringIO()
    log.addHandler(logs.handler_for(chosen, stream))
    log.setLevel(logging.DEBUG)
    return stream


@pytest.mark.parametrize(
    ("data", "env", "key"),
    [
        ({"logging": {"format": "xml"}}, {}, "[logging] format"),
        ({}, {"HIENMAU_LOGGING_FORMAT": "JSON lines"}, "[logging] format"),
        ({"logging": {"level": "LOUD"}}, {}, "[logging] level"),
        ({"logging": {"level": 10}}, {}, "[logging] level"),
        ({"logging": {"colour": "red"}}, {}, "[logging] colour"),
        ({"health": {"serve": "sometimes"}}, {}, "[health] serve"),
        ({"health": {"port": 70000}}, {}, "[health] port"),
        ({"health": {"max_outbox_lag_seconds": 0}}, {}, "[health] max_outbox_lag_seconds"),
        ({}, {"HIENMAU_HEALTH_MAX_OUTBOX_LAG_SECONDS": "soon"}, "[health] max_outbox_lag"),
    ],
)
def test_a_wrong_logging_or_health_value_names_its_key(
    data: dict[str, object], env: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        build(data, env)
    message = str(caught.value)
    assert key in message and "\n" not in message


def test_logging_and_health_come_from_the_file_or_the_environment() -> None:
    assert build({}, {}).logging == Config().logging
    chosen = build(
        {"logging": {"format": "json", "level": "debug"}},
        {"HIENMAU_HEALTH_SERVE": "always", "HIENMAU_HEALTH_PORT": "9000"},
    )
    assert (chosen.logging.format, chosen.logging.level) == ("json", "debug")
    assert (chosen.health.serve, chosen.health.port, chosen.health.listen) == (
        "always",
        9000,
        "127.0.0.1",
    )


def test_the_health_port_may_not_be_a_webhook_port() -> None:
    with pytest.raises(ConfigError, match=r"^config: \[health\] port: 8443 is \[telegram\] port"):
        build(
            {
                "telegram": {
                    "token": TELEGRAM_TOKEN,
                    "mode": "webhook",
                    "webhook_url": "https://bot.example.org/telegram",
                },
                "health": {"port": 8443},
            },
            {},
        )
    build({"telegram": {"token": TELEGRAM_TOKEN}, "health": {"port": 8443}}, {})  # polling


def test_json_lines_carry_time_in_utc_level_logger_message_and_exception(
    logger: logging.Logger,
) -> None:
    stream = capture(logger, build({"logging": {"format": "json"}}, {}))
    logger.info("Đợt %s: %d người", "Tam Đường", 12)
    try:
        raise ValueError("no such drive")
    except ValueError:
        logger.exception("tick failed")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first.keys() == {"time", "level", "logger", "message"}
    assert (first["level"], first["logger"], first["message"]) == (
        "INFO",
        "tests.logs",
        "Đợt Tam Đường: 12 người",
    )
    assert first["time"].endswith("Z")
    logged = dt.datetime.fromisoformat(first["time"].replace("Z", "+00:00"))
    assert abs(logged - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert second["level"] == "ERROR" and second["message"] == "tick failed"
    assert (
        second["exception"].startswith("Traceback")
        and "ValueError: no such drive" in (second["exception"])
    )


@pytest.mark.parametrize("form", ["text", "json"])
def test_tokens_and_secrets_never_reach_the_log(logger: logging.Logger, form: str) -> None:
    stream = capture(logger, config(logging={"format": form}))
    logger.info("HTTP Request: POST https://api.telegram.org/bot%s/getMe", TELEGRAM_TOKEN)
    logger.debug(
        "Calling Bot API endpoint `setWebhook` with parameters %s",
        {"url": "https://bot.example.org/telegram", "secret_token": "tg-hook-Secret_123"},
    )
    logger.info("zalo: GET /bot" + ZALO_TOKEN.replace(":", "%3A") + "/getUpdates")  # encoded
    logger.info("webhook secret %s", "zalo%20hook%2Fsecret%2B1")
    logger.warning("card secret card-signing-secret-0123456789abcdef, %s", "db-Pass@word")
    logger.info("a record with extra fields", extra={"token": TELEGRAM_TOKEN})
    try:
        raise RuntimeError(f"connect to https://bot-api.zaloplatforms.com/bot{ZALO_TOKEN}/x")
    except RuntimeError:
        logger.exception("zalo: getMe failed")
    logger.info("stack", stack_info=True, extra={"note": "zalo hook/secret+1"})
    output = stream.getvalue()
    for secret in NEVER:
        assert secret not in output
    assert "bot123456789:***/getMe" in output  # the bot's id stays readable
    assert "'secret_token': '***'" in output
    assert "RuntimeError: connect to https://bot-api.zaloplatforms.com/bot9876543210:***/x" in (
        output
    )


def test_a_record_reaching_two_handlers_is_masked_for_both(logger: logging.Logger) -> None:
    masked = capture(logger, config())
    plain = io.StringIO()
    logger.addHandler(logging.StreamHandler(plain))
    logger.info("token %s", TELEGRAM_TOKEN)
    assert "TelegramSecretPart" not in masked.getvalue()
    assert "TelegramSecretPart" not in plain.getvalue()  # masked in the record itself


def test_configure_installs_one_handler_and_keeps_the_others() -> None:
    root = logging.getLogger()
    others = list(root.handlers)
    level = root.level
    stream = io.StringIO()
    try:
        logs.configure(config(logging={"format": "json", "level": "warning"}), stream)
        logs.configure(config(logging={"format": "json", "level": "warning"}), stream)
        assert [h for h in root.handlers if h not in others] == logs._installed
        assert len(logs._installed) == 1 and root.level == logging.WARNING
        assert logging.getLogger("httpx").level == logging.WARNING
        logging.getLogger("tests.logs.configure").warning("token %s", TELEGRAM_TOKEN)
        [line] = stream.getvalue().splitlines()
        assert json.loads(line)["message"] == "token 123456789:***"
        logs.configure(config(logging={"level": "DEBUG"}), stream)
        assert logging.getLogger("httpx").level == logging.NOTSET  # everything, masked
    finally:
        while logs._installed:
            root.removeHandler(logs._installed.pop())
        root.setLevel(level)
        logging.captureWarnings(False)
        for name in logs.CHATTY:
            logging.getLogger(name).setLevel(logging.NOTSET)
