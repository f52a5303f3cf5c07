"""Self-check before pledging: a few questions from the deferral rules of Circular 26/2013
(DOMAIN.md) that tell a donor whether to come now or from which date. Advice only: the
doctor at the drive screens every donor.

The answers are bands ("1 to 3 months ago"), never dates or details, and each band counts
from its nearer end, so the advice is never too early. Only the resulting date is kept, as a
self-declared deferral (reason `self_check`) when it is after today: it moves the donor's
`next_eligible_on`, so reminders and drive notices wait for it. A new self-check replaces the
previous one. A volunteer recording a donation at a drive is not held back by it (the doctor's
screening decides there: services.checkin).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from db.models import Deferral, Donation, Person
from services import donations, eligibility
from services.audit import Actor, record
from services.checkin import add_months
from services.rules import Rules
from services.work import Work

REASON = "self_check"  # the deferral's reason code


class Illness(enum.StrEnum):
    NONE = "none"
    RECOVERED = "recovered"  # fever or flu-like illness, over within the last 7 days
    ILL = "ill"  # ill now


class Tattoo(enum.StrEnum):
    """A tattoo, piercing or acupuncture: months ago."""

    NONE = "none"  # never, or 6 months ago or more
    UNDER_1M = "lt1m"
    FROM_1M = "1to3m"
    FROM_3M = "3to6m"


class Surgery(enum.StrEnum):
    """Surgery or a transfusion: months ago."""

    NONE = "none"  # never, or 12 months ago or more
    UNDER_3M = "lt3m"
    FROM_3M = "3to6m"
    FROM_6M = "6to12m"


class Pregnancy(enum.StrEnum):
    NONE = "none"
    NOW = "now"  # pregnant or breastfeeding
    BIRTH_UNDER_6M = "lt6m"  # gave birth (or lost a pregnancy) under 6 months ago
    BIRTH_FROM_6M = "6to12m"


class Weight(enum.StrEnum):
    UNDER_42 = "lt42"
    FROM_42 = "42to45"
    FROM_45 = "45plus"


class LastDonation(enum.StrEnum):
    """Whole blood: weeks ago (a donation the bot has on record is used instead)."""

    NONE = "none"  # never, or 12 weeks ago or more
    UNDER_4W = "lt4w"
    FROM_4W = "4to8w"
    FROM_8W = "8to12w"


# Each band's nearer end, in months or weeks ago.
_TATTOO_MONTHS_AGO = {Tattoo.UNDER_1M: 0, Tattoo.FROM_1M: 1, Tattoo.FROM_3M: 3}
_SURGERY_MONTHS_AGO = {Surgery.UNDER_3M: 0, Surgery.FROM_3M: 3, Surgery.FROM_6M: 6}
_BIRTH_MONTHS_AGO = {Pregnancy.BIRTH_UNDER_6M: 0, Pregnancy.BIRTH_FROM_6M: 6}
_WEEKS_AGO = {LastDonation.UNDER_4W: 0, LastDonation.FROM_4W: 4, LastDonation.FROM_8W: 8}
CHILDBIRTH_MONTHS = 12


@dataclass(frozen=True, slots=True)
class Answers:
    illness: Illness = Illness.NONE
    tattoo: Tattoo = Tattoo.NONE
    surgery: Surgery = Surgery.NONE
    pregnancy: Pregnancy = Pregnancy.NONE
    weight: Weight = Weight.FROM_45
    last_donation: LastDonation = LastDonation.NONE


class Hold(enum.StrEnum):
    """Why no date can be given."""

    WEIGHT = "weight"
    PREGNANCY = "pregnancy"


@dataclass(frozen=True, slots=True)
class Advice:
    from_date: dt.date | None  # None: now (unless `hold`)
    hold: Hold | None = None  # not now, and no date to give
    small_volume: bool = False  # 42-45 kg: at most 250 ml
    still_ill: bool = False  # count the days from when they are well again

    def now(self, today: dt.date) -> bool:
        return self.hold is None and (self.from_date is None or self.from_date <= today)


def weight_hold(weight: Weight, sex: str | None) -> bool:
    """Under the minimum weight (TT 26/2013): 42 kg for women, 45 kg for men; when the sex is
    unknown, 42 kg (the doctor weighs everyone)."""
    if weight is Weight.UNDER_42:
        return True
    return weight is Weight.FROM_42 and sex == "male"


def weight_band(kg: float) -> Weight:
    if kg < 42:
        return Weight.UNDER_42
    if kg < 45:
        return Weight.FROM_42
    return Weight.FROM_45


def advise(
    answers: Answers,
    today: dt.date,
    rules: Rules,
    sex: str | None = None,
    known_next: dt.date | None = None,
) -> Advice:
    """Come now, from a date, or not for now (`hold`). `known_next`: the date the bot already
    has from recorded donations and deferrals."""
    dates: list[dt.date] = [known_next] if known_next is not None else []
    if answers.illness is not Illness.NONE:
        dates.append(today + dt.timedelta(days=rules.deferral_flu_days))
    if answers.tattoo in _TATTOO_MONTHS_AGO:
        ago = _TATTOO_MONTHS_AGO[answers.tattoo]
        dates.append(add_months(today, rules.deferral_tattoo_months - ago))
    if answers.surgery in _SURGERY_MONTHS_AGO:
        ago = _SURGERY_MONTHS_AGO[answers.surgery]
        dates.append(add_months(today, rules.deferral_surgery_months - ago))
    if answers.pregnancy in _BIRTH_MONTHS_AGO:
        ago = _BIRTH_MONTHS_AGO[answers.pregnancy]
        dates.append(add_months(today, CHILDBIRTH_MONTHS - ago))
    if answers.last_donation in _WEEKS_AGO:
        weeks = _WEEKS_AGO[answers.last_donation]
        dates.append(today + dt.timedelta(days=rules.whole_blood_interval_days - 7 * weeks))
    later = [day for day in dates if day > today]
    hold = None
    if answers.pregnancy is Pregnancy.NOW:
        hold = Hold.PREGNANCY
    elif weight_hold(answers.weight, sex):
        hold = Hold.WEIGHT
    return Advice(
        max(later) if later else None,
        hold,
        small_volume=answers.weight is Weight.FROM_42 and hold is None,
        still_ill=answers.illness is Illness.ILL,
    )


async def recorded_next(work: Work, person: Person) -> dt.date | None:
    """The first day the records allow (latest donation, deferrals a volunteer recorded),
    leaving out an earlier self-check: a new one replaces it."""
    latest = (
        await work.session.execute(
            select(Donation.donated_on, Donation.kind)
            .where(Donation.person_id == person.id)
            .order_by(Donation.donated_on.desc(), Donation.id.desc())
            .limit(1)
        )
    ).first()
    deferred = await work.session.scalar(
        select(func.max(Deferral.until)).where(
            Deferral.person_id == person.id, Deferral.reason != REASON
        )
    )
    dates = [deferred] if deferred is not None else []
    if latest is not None:
        dates.append(eligibility.next_after(latest.kind, latest.donated_on, work.rules))
    return max(dates, default=None)


async def has_donations(work: Work, person_id: int) -> bool:
    found = await work.session.scalar(
        select(Donation.id).where(Donation.person_id == person_id).limit(1)
    )
    return found is not None


async def keep_result(work: Work, person: Person, advice: Advice, actor: Actor) -> None:
    """Keep only the date: a self-declared deferral when it is after today (replacing the
    previous self-check's), then `next_eligible_on` follows."""
    await work.session.execute(
        delete(Deferral).where(Deferral.person_id == person.id, Deferral.reason == REASON)
    )
    today = work.today()
    if advice.from_date is not None and advice.from_date > today:
        work.session.add(
            Deferral(
                person_id=person.id,
                until=advice.from_date,
                reason=REASON,
                recorded_by_id=person.id,
                created_at=work.now(),
            )
        )
    await work.session.flush()
    await donations.recompute_next_eligible(work, person)
    record(work, actor, "deferral.self_check", person.id)
