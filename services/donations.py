"""Donations. Recording one keeps the donor's `next_eligible_on` in step, in one transaction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from db.models import Deferral, Donation, Person
from locales import N_
from services import eligibility
from services.audit import Actor, record
from services.eligibility import DonationKind
from services.errors import InvalidInput
from services.work import Work

VOLUMES_ML = (250, 350, 450)


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
    return donation
