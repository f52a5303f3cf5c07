"""The per-user inbound limit: a token bucket per (channel, user), one warning per burst."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, build
from handlers import inbound_limit
from handlers.inbound_limit import Admission, InboundLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_ten_seconds_worth_then_one_warning_then_silence() -> None:
    clock = Clock()
    limiter = InboundLimiter(120, now=clock)  # 2 a second, bursts of 20
    outcomes = [limiter.admit("telegram", "1") for _ in range(30)]
    assert outcomes[:20] == [Admission.ADMIT] * 20
    assert outcomes[20] is Admission.WARN
    assert outcomes[21:] == [Admission.DROP] * 9
    for _ in range(10):  # a flood going on: what the refill allows, and no more warnings
        clock.now += 0.5  # one message's worth later
        assert limiter.admit("telegram", "1") is Admission.ADMIT
        assert limiter.admit("telegram", "1") is Admission.DROP
    clock.now += 5  # a pause: the bucket is half full, the burst is over
    assert [limiter.admit("telegram", "1") for _ in range(11)] == [Admission.ADMIT] * 10 + [
        Admission.WARN
    ]


def test_users_and_channels_have_buckets_of_their_own() -> None:
    limiter = InboundLimiter(6, now=Clock())  # one every 10 s, bursts of 1
    assert limiter.admit("telegram", "1") is Admission.ADMIT
    assert limiter.admit("telegram", "1") is Admission.WARN
    assert limiter.admit("telegram", "2") is Admission.ADMIT
    assert limiter.admit("zalo", "1") is Admission.ADMIT


def test_idle_buckets_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbound_limit, "SWEEP_AT", 100)
    clock = Clock()
    limiter = InboundLimiter(60, now=clock)
    for user in range(100):
        limiter.admit("telegram", str(user))
    clock.now += 60  # every bucket is full again
    limiter.admit("telegram", "new")
    assert len(limiter._buckets) == 1


def test_inbound_per_minute_is_configured_and_checked() -> None:
    assert build({}, {}).security.inbound_per_minute == 120
    assert build({}, {"HIENMAU_SECURITY_INBOUND_PER_MINUTE": "0"}).security.inbound_per_minute == 0
    with pytest.raises(ConfigError, match=r"^config: \[security\] inbound_per_minute: expected"):
        build({"security": {"inbound_per_minute": -1}}, {})


TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
HOOK = {"token": TOKEN, "mode": "webhook", "webhook_url": "https://bot.example.org/tg"}


@pytest.mark.parametrize("secret", [None, "", "short", "has spaces in it, 16+ chars", "é" * 20])
def test_telegram_webhook_mode_needs_a_secret(secret: str | None) -> None:
    section = HOOK if secret is None else {**HOOK, "webhook_secret": secret}
    with pytest.raises(ConfigError) as caught:
        build({"telegram": section}, {})
    message = str(caught.value)
    assert message.startswith("config: [telegram] webhook_secret: required when mode = 'webhook'")
    assert "\n" not in message


def test_zalo_webhook_mode_needs_a_secret() -> None:
    zalo = {"token": "1234567890:fake-zalo-token", "mode": "webhook"}
    zalo["webhook_url"] = "https://bot.example.org/zalo"
    with pytest.raises(ConfigError, match=r"^config: \[zalo\] webhook_secret: "):
        build({"zalo": zalo}, {})


def test_a_webhook_with_a_secret_and_polling_without_one_are_fine() -> None:
    secret = "A-long_random-Secret-0123"
    config = build({"telegram": {**HOOK, "webhook_secret": secret}}, {})
    assert config.telegram.webhook_secret == secret
    assert build({"telegram": {"token": TOKEN}}, {}).telegram.mode == "polling"


def test_asking_whether_a_message_would_pass_spends_nothing() -> None:
    clock = Clock()
    limiter = InboundLimiter(60, now=clock)  # a bucket of 10
    assert limiter.would_admit("telegram", "1")
    for _ in range(10):
        assert limiter.would_admit("telegram", "1")
        assert limiter.admit("telegram", "1") is Admission.ADMIT
    assert not limiter.would_admit("telegram", "1")
    assert not limiter.would_admit("telegram", "1")
    clock.now += 1.0  # one token back
    assert limiter.would_admit("telegram", "1")
    assert limiter.admit("telegram", "1") is Admission.ADMIT
