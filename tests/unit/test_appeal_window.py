"""The evening window "you can donate again" goes out in: `[schedule] appeal_window`."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from bot.config import ConfigError, build
from services.appeal_window import Window, shift_days

ZONE = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=ZONE)


def test_the_next_opening_of_the_window() -> None:
    window = Window.parse("18:00-20:00")
    assert window.next_opening(local(26, 10), ZONE) == (local(26, 18), local(26, 20))
    assert window.next_opening(local(26, 18, 30), ZONE) == (local(26, 18, 30), local(26, 20))
    assert window.next_opening(local(26, 20), ZONE) == (local(27, 18), local(27, 20))
    assert window.next_opening(local(26, 23, 59), ZONE) == (local(27, 18), local(27, 20))
    assert shift_days(local(26, 19, 55), 2, ZONE) == local(28, 19, 55)
    assert Window.parse(" 17:30 - 19:00 ").text() == "17:30-19:00"


def test_the_default_and_a_configured_window() -> None:
    assert build({}, {}).schedule.appeal_window == "18:00-20:00"
    config = build({"schedule": {"appeal_window": "17:00-19:30"}}, {})
    assert config.schedule.appeal_window == "17:00-19:30"
    env = build({}, {"HIENMAU_SCHEDULE_APPEAL_WINDOW": "19:00-20:30"})
    assert env.schedule.appeal_window == "19:00-20:30"


@pytest.mark.parametrize(
    ("window", "quiet", "says"),
    [
        ("18h-20h", "21:00-07:00", "expected a 24h time"),
        ("18:00", "21:00-07:00", "expected HH:MM-HH:MM"),
        ("20:00-18:00", "21:00-07:00", "must end after it starts"),
        ("20:00-22:00", "21:00-07:00", "overlaps quiet_hours"),
        ("06:00-08:00", "21:00-07:00", "overlaps quiet_hours"),
        ("12:00-14:00", "13:00-15:00", "overlaps quiet_hours"),
    ],
)
def test_a_wrong_window_names_its_key(window: str, quiet: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build({"schedule": {"appeal_window": window, "quiet_hours": quiet}}, {})
    message = str(caught.value)
    assert "[schedule] appeal_window" in message and says in message and "\n" not in message
