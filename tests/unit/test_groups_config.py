"""`[rules] block_release_days`: when unclaimed club places go back to everyone."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, build


def test_block_release_days_defaults_to_two_and_is_read_from_toml_and_env() -> None:
    assert build({}, {}).rules.block_release_days == 2
    assert build({"rules": {"block_release_days": 0}}, {}).rules.block_release_days == 0
    env = {"HIENMAU_RULES_BLOCK_RELEASE_DAYS": "5"}
    assert build({}, env).rules.block_release_days == 5


@pytest.mark.parametrize("value", [-1, 61, "two"])
def test_a_wrong_block_release_days_names_its_key(value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        build({"rules": {"block_release_days": value}}, {})
    message = str(caught.value)
    assert "[rules] block_release_days" in message and "\n" not in message
