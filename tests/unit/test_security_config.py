"""`[security] secret`: validated when set; otherwise generated once into a private file."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from bot.config import ConfigError, build
from bot.secret import SECRET_FILE, installation_secret


def test_a_set_secret_must_be_long_enough() -> None:
    with pytest.raises(ConfigError, match=r"\[security\] secret: too short"):
        build({"security": {"secret": "short"}}, {})
    config = build({}, {"HIENMAU_SECURITY_SECRET": "x" * 32})
    assert config.security.secret == "x" * 32
    assert "x" * 32 not in repr(config)  # never printed with the configuration
    assert build({}, {}).security.secret == ""


def test_the_configured_secret_is_used_as_it_is(tmp_path: Path) -> None:
    config = build({"security": {"secret": "s" * 40}}, {})
    assert installation_secret(config, tmp_path) == b"s" * 40
    assert not (tmp_path / SECRET_FILE).exists()


def test_without_one_a_secret_is_generated_once_readable_by_the_owner_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = build({}, {})
    with caplog.at_level(logging.WARNING):
        first = installation_secret(config, tmp_path)
    assert "in production set [security] secret" in caplog.text
    path = tmp_path / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert installation_secret(config, tmp_path) == first  # kept, not regenerated
    assert caplog.text == ""
    path.write_text("too short\n")
    with pytest.raises(ConfigError, match="fewer than 32"):
        installation_secret(config, tmp_path)
