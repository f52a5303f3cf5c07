"""[rules] appeals_per_30_days and show_up_factor: defaults, overrides, one clear line each."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, build


def test_defaults_and_overrides() -> None:
    config = build({}, {})
    assert (config.rules.appeals_per_30_days, config.rules.show_up_factor) == (4, 1.5)
    config = build({"rules": {"appeals_per_30_days": 6}}, {"HIENMAU_RULES_SHOW_UP_FACTOR": "1.3"})
    assert (config.rules.appeals_per_30_days, config.rules.show_up_factor) == (6, 1.3)


@pytest.mark.parametrize(
    ("data", "env", "names"),
    [
        ({"rules": {"appeals_per_30_days": 0}}, {}, "[rules] appeals_per_30_days"),
        ({"rules": {"appeals_per_30_days": 101}}, {}, "[rules] appeals_per_30_days"),
        ({}, {"HIENMAU_RULES_APPEALS_PER_30_DAYS": "four"}, "[rules] appeals_per_30_days"),
        ({"rules": {"show_up_factor": 0.9}}, {}, "[rules] show_up_factor"),
        ({"rules": {"show_up_factor": 3.5}}, {}, "[rules] show_up_factor"),
        ({"rules": {"show_up_factor": "1,5"}}, {}, "[rules] show_up_factor"),
    ],
)
def test_a_wrong_value_names_its_key(
    data: dict[str, object], env: dict[str, str], names: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        build(data, env)
    message = str(caught.value)
    assert names in message and "\n" not in message
