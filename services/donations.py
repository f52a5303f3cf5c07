"""Donations. Recording one keeps the donor's `next_eligible_on` in step, in one transaction.

A person gives blood at most once a day: a second record for the same day is refused, except
that a volunteer's verified record confirms the donor's own report of that day.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from db.models import Deferral, Donation, Person
from locales import N_
from services import eligibility, outbox
from services.audit import Actor, record
from services.eligibility import DonationKind
from services.errors import Conflict, InvalidInput
from services.work import Work

VOLUMES_ML = (250, 350, 450)


def parse_volume(text: str) -> int:
    """A volume typed or pressed: '350', '350 ml'."""
    digits = text.lower().replace("ml", "").strip()
    if not digits.isdigit() or int(digits) not in VOLUMES_ML:
        raise InvalidInput(N_("Thể tích phải là 250, 350 hoặc 450 ml."))
    return int(digits)


# Honours by number of donations (Decision 122/QĐ-BCĐQG 2017).
MILESTONES = (1, 5, 10, 15, 20, 30, 40, 50, 70, 100)
# A donor may report donations this far back; older ones are for the committee's records.
REPORT_YEARS_BACK = 10


def reached_milestone(count: int) -> bool:
    """True when the `count`-th donation is an honour milestone."""
    return count in MILESTONES


def next_milestone(count: int) -> int | None:
    """The next milestone after `count` donations; None past the last one."""
    return next((m for m in MILESTONES if m > count), None)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29/02
        return day.replace(year=day.year - years, day=28)


def check_reported_date(work: Work, person: Person, donated_on: dt.date) -> None:
    """A date a donor may report: not in the future, not before they were of age, and within
    the last `REPORT_YEARS_BACK` years."""
    if donated_on > work.today():
        raise InvalidInput(N_("Ngày hiến máu không thể ở tương lai."))
    if donated_on < _years_before(work.today(), REPORT_YEARS_BACK):
        raise InvalidInput(
            N_(
                "Mình chỉ ghi nhận các lần hiến máu trong {years} năm gần đây. Lần hiến trước đó "
                "bạn nhờ Hội Chữ thập đỏ cập nhật giúp nhé."
            ),
            years=REPORT_YEARS_BACK,
        )
    birth = eligibility.birth_of(person)
    if birth is not None and birth.age_on(donated_on) < work.rules.min_age:
        raise InvalidInput(
            N_(
                "Ngày {date} bạn chưa đủ {min} tuổi, nên chưa thể hiến máu. "
                "Bạn kiểm tra lại ngày giúp mình nhé."
            ),
            date=donated_on.strftime("%d/%m/%Y"),
            min=work.rules.min_age,
        )


async def on_day(work: Work, person_id: int, donated_on: dt.date) -> Donation | None:
    """The person's donation recorded on that day, if any."""
    return await work.session.scalar(
        select(Donation)
        .where(Donation.person_id == person_id, Donation.donated_on == donated_on)
        .limit(1)
    )


def already_recorded(donated_on: dt.date) -> Conflict:
    return Conflict(
        N_("Lần hiến máu ngày {date} đã được ghi nhận rồi, mình không ghi trùng nữa nhé."),
        date=donated_on.strftime("%d/%m/%Y"),
    )


async def history(work: Work, person_id: int) -> list[Donation]:
    """The person's donations, latest first."""
    rows = await work.session.scalars(
        select(Donation)
        .where(Donation.person_id == person_id)
        .order_by(Donation.donated_on.desc(), Donation.id.desc())
    )
    return list(rows)


async def count(work: Work, person_id: int) -> int:
    total = await work.session.scalar(
        select(func.count()).select_from(Donation).where(Donation.person_id == person_id)
    )
    return int(total or 0)


async def recompute_next_eligible(work: Work, person: Person) -> dt.date | None:
    """The latest donation's interval or the latest deferral's end, whichever is later."""
    latest = (
        await work.session.execute(
            select(Donation.donated_on, Donation.kind)
            .where(Donation.person_id == person.id)
            .order_by(Donation.donated_on.desc(), Donation.id.desc())
            .limit(1)
        )
    ).first()
    deferred = await work.session.scalar(
        select(Deferral.until)
        .where(Deferral.person_id == person.id)
        .order_by(Deferral.until.desc())
        .limit(1)
    )
    candidates = [deferred] if deferred else []
    if latest is not None:
        candidates.append(eligibility.next_after(latest.kind, latest.donated_on, work.rules))
    person.next_eligible_on = max(candidates) if candidates else None
    return person.next_eligible_on


async def add(
    work: Work,
    person: Person,
    donated_on: dt.date,
    kind: DonationKind,
    actor: Actor,
    *,
    volume_ml: int | None = None,
    drive_id: int | None = None,
    verified: bool = False,
) -> Donation:
    if donated_on > work.today():
        raise InvalidInput(N_("Ngày hiến máu không thể ở tương lai."))
    if volume_ml is not None and volume_ml not in VOLUMES_ML:
        raise InvalidInput(N_("Thể tích phải là 250, 350 hoặc 450 ml."))
    same_day = await on_day(work, person.id, donated_on)
    if same_day is not None:
        if not verified or same_day.verified:
            raise already_recorded(donated_on)
        return await _confirm(work, same_day, person, kind, actor, volume_ml, drive_id)
    donation = Donation(
        person_id=person.id,
        donated_on=donated_on,
        drive_id=drive_id,
        kind=kind.value,
        volume_ml=volume_ml,
        recorded_by_id=actor.person_id,
        verified=verified,
        created_at=work.now(),
    )
    work.session.add(donation)
    await work.session.flush()
    await recompute_next_eligible(work, person)
    record(work, actor, "donation.add", person.id, kind=kind.value, verified=verified)
    if actor.person_id != person.id:  # the donor who reports it is congratulated in the chat
        total = await count(work, person.id)
        if reached_milestone(total) and total > 1:
            await outbox.enqueue(
                work, person.id, "milestone", {"count": total}, f"milestone:{person.id}:{total}"
            )
    return donation


async def _confirm(
    work: Work,
    donation: Donation,
    person: Person,
    kind: DonationKind,
    actor: Actor,
    volume_ml: int | None,
    drive_id: int | None,
) -> Donation:
    """A volunteer's record of a day the donor reported: the volunteer's details win."""
    donation.kind, donation.volume_ml, donation.verified = kind.value, volume_ml, True
    donation.drive_id = drive_id if drive_id is not None else donation.drive_id
    donation.recorded_by_id = actor.person_id
    await work.session.flush()
    await recompute_next_eligible(work, person)
    record(work, actor, "donation.verify", person.id, kind=kind.value)
    return donation
