"""`[storage] data_dir`: where certificate photos are kept; a default beside the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, build, data_directory


def test_the_data_directory_defaults_beside_the_sqlite_file() -> None:
    config = build({"database": {"url": "sqlite:////srv/hienmau/bot.sqlite3"}}, {})
    assert data_directory(config) == Path("/srv/hienmau/hienmau-data")
    assert data_directory(build({}, {})) == Path("hienmau-data")
    postgres = build({"database": {"url": "postgresql://u@h/db"}}, {})
    assert data_directory(postgres) == Path("hienmau-data")


def test_the_data_directory_is_configured_by_file_or_environment(tmp_path: Path) -> None:
    chosen = tmp_path / "files"
    assert data_directory(build({"storage": {"data_dir": str(chosen)}}, {})) == chosen
    env = {"HIENMAU_STORAGE_DATA_DIR": str(chosen)}
    assert data_directory(build({}, env)) == chosen


@pytest.mark.parametrize("value", ["   ", "FILE"])
def test_a_bad_data_directory_names_its_key(tmp_path: Path, value: str) -> None:
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    data_dir = str(a_file) if value == "FILE" else value
    with pytest.raises(ConfigError) as caught:
        build({"storage": {"data_dir": data_dir}}, {})
    assert "[storage] data_dir" in str(caught.value) and "\n" not in str(caught.value)
