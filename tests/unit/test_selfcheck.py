"""The self-check's rules (TT 26/2013 deferrals as bands) and when after-drive messages are due."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from services.aftercare import feedback_due, missed_due, thanks_due
from services.rules import Rules
from services.selfcheck import (
    Advice,
    Answers,
    Hold,
    Illness,
    LastDonation,
    Pregnancy,
    Surgery,
    Tattoo,
    Weight,
    advise,
    weight_band,
)

TODAY = dt.date(2026, 11, 26)
RULES = Rules()
ZONE = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


def test_no_reason_to_wait_means_now() -> None:
    advice = advise(Answers(), TODAY, RULES)
    assert advice == Advice(None) and advice.now(TODAY)


@pytest.mark.parametrize(
    ("answers", "from_date"),
    [
        (Answers(illness=Illness.RECOVERED), dt.date(2026, 12, 3)),  # 7 days
        (Answers(tattoo=Tattoo.UNDER_1M), dt.date(2027, 5, 26)),  # 6 months
        (Answers(tattoo=Tattoo.FROM_1M), dt.date(2027, 4, 26)),  # at least 1 month ago
        (Answers(tattoo=Tattoo.FROM_3M), dt.date(2027, 2, 26)),
        (Answers(surgery=Surgery.UNDER_3M), dt.date(2027, 11, 26)),  # 12 months
        (Answers(surgery=Surgery.FROM_3M), dt.date(2027, 8, 26)),
        (Answers(surgery=Surgery.FROM_6M), dt.date(2027, 5, 26)),
        (Answers(pregnancy=Pregnancy.BIRTH_UNDER_6M), dt.date(2027, 11, 26)),
        (Answers(pregnancy=Pregnancy.BIRTH_FROM_6M), dt.date(2027, 5, 26)),
        (Answers(last_donation=LastDonation.UNDER_4W), dt.date(2027, 2, 18)),  # 12 weeks
        (Answers(last_donation=LastDonation.FROM_4W), dt.date(2027, 1, 21)),
        (Answers(last_donation=LastDonation.FROM_8W), dt.date(2026, 12, 24)),
    ],
)
def test_each_band_counts_from_its_nearer_end(answers: Answers, from_date: dt.date) -> None:
    advice = advise(answers, TODAY, RULES)
    assert advice.from_date == from_date and advice.hold is None
    assert not advice.now(TODAY) and advice.now(from_date)


def test_the_latest_reason_wins_and_a_known_date_counts() -> None:
    both = Answers(illness=Illness.ILL, tattoo=Tattoo.FROM_3M)
    advice = advise(both, TODAY, RULES)
    assert advice.from_date == dt.date(2027, 2, 26) and advice.still_ill
    known = advise(Answers(), TODAY, RULES, known_next=dt.date(2027, 1, 5))
    assert known.from_date == dt.date(2027, 1, 5)
    past = advise(Answers(), TODAY, RULES, known_next=dt.date(2026, 1, 5))
    assert past.from_date is None and past.now(TODAY)


def test_configured_durations_are_used() -> None:
    rules = Rules(deferral_flu_days=14, deferral_tattoo_months=12)
    assert advise(Answers(illness=Illness.RECOVERED), TODAY, rules).from_date == dt.date(
        2026, 12, 10
    )
    assert advise(Answers(tattoo=Tattoo.FROM_3M), TODAY, rules).from_date == dt.date(2027, 8, 26)


@pytest.mark.parametrize(
    ("weight", "sex", "hold", "small"),
    [
        (Weight.UNDER_42, "female", Hold.WEIGHT, False),
        (Weight.UNDER_42, None, Hold.WEIGHT, False),
        (Weight.FROM_42, "male", Hold.WEIGHT, False),  # men: at least 45 kg
        (Weight.FROM_42, "female", None, True),  # women: 42 kg, at most 250 ml
        (Weight.FROM_42, None, None, True),
        (Weight.FROM_45, "male", None, False),
    ],
)
def test_weight_by_sex(weight: Weight, sex: str | None, hold: Hold | None, small: bool) -> None:
    advice = advise(Answers(weight=weight), TODAY, RULES, sex=sex)
    assert (advice.hold, advice.small_volume) == (hold, small)
    assert advice.now(TODAY) == (hold is None)


def test_pregnancy_now_gives_no_date() -> None:
    advice = advise(Answers(pregnancy=Pregnancy.NOW, tattoo=Tattoo.FROM_1M), TODAY, RULES)
    assert advice.hold is Hold.PREGNANCY and not advice.now(dt.date(2030, 1, 1))


@pytest.mark.parametrize(
    ("kg", "band"),
    [(38.5, Weight.UNDER_42), (42, Weight.FROM_42), (44.9, Weight.FROM_42), (45, Weight.FROM_45)],
)
def test_a_recorded_weight_falls_in_a_band(kg: float, band: Weight) -> None:
    assert weight_band(kg) is band


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=ZONE)


def test_thanks_go_the_same_evening_or_the_next_and_feedback_the_morning_after() -> None:
    assert thanks_due(local(26, 10), ZONE) == local(26, 19)
    assert thanks_due(local(26, 18, 59), ZONE) == local(26, 19)
    assert thanks_due(local(26, 19), ZONE) == local(27, 19)  # a late record
    assert thanks_due(local(26, 23, 30).astimezone(dt.UTC), ZONE) == local(27, 19)
    assert feedback_due(local(26, 10), ZONE) == local(27, 10)
    assert feedback_due(local(26, 20), ZONE) == local(28, 10)
    assert missed_due(dt.date(2026, 11, 26), ZONE) == local(27, 9)
