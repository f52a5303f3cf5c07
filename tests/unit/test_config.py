"""Configuration: defaults without a file, TOML, HIENMAU_* overrides, one clear line per error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, build, load


def test_defaults_work_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load(env={})
    assert config.database.url == "sqlite:///./hienmau.sqlite3"
    assert config.schedule.timezone == "Asia/Ho_Chi_Minh"
    assert config.rules.whole_blood_interval_days == 84


def test_toml_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[database]\nurl = "postgresql://u@h/db"\n[rules]\nmin_age = 18\n'
        '[schedule]\nreminder_offsets = ["2d"]\n'
    )
    config = load(
        path,
        env={
            "HIENMAU_RULES_MAX_AGE": "65",
            "HIENMAU_TELEGRAM_MODE": "webhook",
            "HIENMAU_TELEGRAM_WEBHOOK_URL": "https://bot.example.org/tg",
        },
    )
    assert config.database.url == "postgresql://u@h/db"
    assert config.rules.max_age == 65
    assert config.telegram.mode == "webhook"
    assert config.schedule.reminder_offsets == ("2d",)


@pytest.mark.parametrize(
    ("data", "env", "names"),
    [
        ({"schedule": {"timezone": "Asia/Hanoii"}}, {}, "[schedule] timezone"),
        ({"telegram": {"tokn": "x"}}, {}, "[telegram] tokn"),
        ({"telegramm": {}}, {}, "[telegramm]"),
        ({"database": {"url": "mysql://x/y"}}, {}, "[database] url"),
        ({"database": {"url": "not a url"}}, {}, "[database] url"),
        ({"telegram": {"base_url": "ftp://x"}}, {}, "[telegram] base_url"),
        ({"telegram": {"token": "abc"}}, {}, "[telegram] token"),
        ({"rules": {"min_age": "eighteen"}}, {}, "[rules] min_age"),
        ({}, {"HIENMAU_RULES_MIN_AGE": "x"}, "[rules] min_age"),
        ({}, {"HIENMAU_NOPE": "1"}, "HIENMAU_NOPE"),
        ({"schedule": {"tally_time": "25:00"}}, {}, "[schedule] tally_time"),
        ({"telegram": {"mode": "push"}}, {}, "[telegram] mode"),
        ({"schedule": {"reminder_offsets": ["3x"]}}, {}, "[schedule] reminder_offsets"),
        ({"schedule": {"reminder_offsets": "3d"}}, {}, "[schedule] reminder_offsets"),
        ({"schedule": {"quiet_hours": "21h-7h"}}, {}, "[schedule] quiet_hours"),
        ({"schedule": {"tick_seconds": 0}}, {}, "[schedule] tick_seconds"),
        ({"schedule": {"notice_lead_days": 100}}, {}, "[schedule] notice_lead_days"),
        ({"telegram": {"messages_per_second": 0}}, {}, "[telegram] messages_per_second"),
    ],
)
def test_a_wrong_value_names_its_key(
    data: dict[str, object], env: dict[str, str], names: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        build(data, env)
    message = str(caught.value)
    assert names in message and "\n" not in message


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "nope.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[database\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(bad, env={})
