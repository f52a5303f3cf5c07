"""Thresholds of donor eligibility (Circular 26/2013/TT-BYT), all configurable in `[rules]`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rules:
    min_age: int = 18
    max_age: int = 60
    min_weight_female_kg: float = 42.0
    min_weight_male_kg: float = 45.0
    whole_blood_interval_days: int = 84  # 12 weeks
    apheresis_interval_days: int = 14  # 2 weeks
    # Temporary deferrals a volunteer is offered at a drive (any other end date may be typed).
    deferral_flu_days: int = 7  # after a flu-like illness
    deferral_tattoo_months: int = 6
    deferral_surgery_months: int = 12
    consent_version: str = "2026-01"
    # Places a club holds in a slot and nobody claimed go back to everyone this many days
    # before the drive (issue 13).
    block_release_days: int = 2
    # Non-urgent appeals (services.appeals.APPEAL_KEYS) one person may get in a rolling 30 days.
    appeals_per_30_days: int = 4
    # Pledges a drive needs per unit of blood it aims for, until its unit's past drives teach
    # a better figure (services.booking).
    show_up_factor: float = 1.5
