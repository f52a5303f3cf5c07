from pathlib import Path

from bot.config import load


def test_the_example_config_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    config = load(example, env={})
    assert config.telegram.mode == "polling"
    assert config.schedule.reminder_offsets == ("3d", "1d", "07:00")
