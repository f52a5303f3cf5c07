"""Volunteers at a drive: find a donor (phone or card), check them in, record the donation
(verified) or a deferral, and register a walk-in on the spot.

Every use case checks the role and scope again, whatever the chat showed: a volunteer acts on
the drives of the units they serve (the unit of their grant and every unit below it) and on
donors of those units, donors with no unit, and donors who pledged to the drive (someone from
elsewhere who signed up for it). An admin acts everywhere. Refusals are written to the audit.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import re
from dataclasses import dataclass

from sqlalchemy import func, select

from db.models import Deferral, Donation, Drive, DriveSlot, Person, Pledge
from locales import N_
from services import cards, donations, drives, eligibility, persons, pledges, roles
from services.audit import Actor, record
from services.drives import Status
from services.eligibility import DonationKind, Reason, Verdict
from services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from services.persons import DonorDraft
from services.roles import Role
from services.rules import Rules
from services.validation import parse_phone
from services.work import Work

ATTENDED = "attended"  # a pledge whose donor came and gave blood, or a walk-in's row
WALK_IN = "walk_in"  # the `channel` of a pledge row made at the drive for a walk-in
LATE_DAYS = 3  # an open drive takes late records this many days after its date
MAX_DEFERRAL_YEARS = 2
_PHONE_LIKE = re.compile(r"[+\d\s.()-]{8,}")


class DeferralReason(enum.StrEnum):
    """Reason codes only: the bot never stores medical details."""

    FLU = "flu"
    BLOOD_PRESSURE = "blood_pressure"
    LOW_HAEMOGLOBIN = "low_haemoglobin"
    TATTOO = "tattoo"
    SURGERY = "surgery"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class AtDrive:
    """A donor as the volunteer at a drive sees them."""

    person: Person
    drive: Drive
    verdict: Verdict  # on the drive's date, from what happened before that day
    pledge: Pledge | None
    slot: DriveSlot | None
    donation: Donation | None  # recorded for the drive's date
    deferred_until: dt.date | None  # a deferral still running on the drive's date

    @property
    def checked_in(self) -> bool:
        return self.pledge is not None and self.pledge.checked_in_at is not None

    @property
    def walk_in(self) -> bool:
        """Came without a pledge (or after cancelling it)."""
        return (
            self.pledge is None
            or self.pledge.status == pledges.CANCELLED
            or self.pledge.channel == WALK_IN
        )

    @property
    def donated(self) -> bool:
        """A verified donation is on record for the drive's date."""
        return self.donation is not None and self.donation.verified

    @property
    def may_donate(self) -> bool:
        return self.verdict.eligible and not self.donated


@dataclass(frozen=True, slots=True)
class Recorded:
    at: AtDrive
    donation: Donation
    total: int  # the donor's donations, this one included


# Dates ---------------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def default_until(reason: DeferralReason, day: dt.date, rules: Rules) -> dt.date | None:
    """The usual end of a deferral for `reason` that starts on `day`; None: none is usual."""
    if reason is DeferralReason.FLU:
        return day + dt.timedelta(days=rules.deferral_flu_days)
    if reason is DeferralReason.TATTOO:
        return add_months(day, rules.deferral_tattoo_months)
    if reason is DeferralReason.SURGERY:
        return add_months(day, rules.deferral_surgery_months)
    return None


# Scope ---------------------------------------------------------------------------------------


async def _scope(work: Work, volunteer_id: int) -> set[int] | None:
    """The units the volunteer serves; None: every unit (an admin)."""
    scope = await roles.scope_units(work, volunteer_id, Role.VOLUNTEER)
    if scope is not None and not scope:
        raise NotAllowed(N_("Chức năng này dành cho tình nguyện viên."))
    return scope


def _on_duty(drive: Drive, today: dt.date) -> bool:
    """Today's drives, and open drives of the last few days (records typed in late)."""
    if drive.status == Status.CANCELLED or drive.date_is_month_only:
        return False
    if drive.date == today:
        return True
    return (
        drive.status == Status.OPEN and today - dt.timedelta(days=LATE_DAYS) <= drive.date < today
    )


async def drives_for(work: Work, volunteer_id: int) -> list[Drive]:
    """The drives this volunteer may work at now, nearest date first."""
    scope = await _scope(work, volunteer_id)
    today = work.today()
    found = await work.session.scalars(
        select(Drive)
        .where(Drive.date.between(today - dt.timedelta(days=LATE_DAYS), today))
        .order_by(Drive.date.desc(), Drive.id)
    )
    return [d for d in found if _on_duty(d, today) and (scope is None or d.unit_id in scope)]


async def _open(
    work: Work, volunteer: Person, drive_id: int, actor: Actor
) -> tuple[set[int] | None, Drive]:
    scope = await _scope(work, volunteer.id)
    drive = await drives.get(work, drive_id)
    if scope is not None and drive.unit_id not in scope:
        record(work, actor, "checkin.refused", None, drive=drive.id, why="drive_scope")
        raise NotAllowed(N_("Đợt hiến máu này thuộc đơn vị khác, ngoài phạm vi bạn phụ trách."))
    today = work.today()
    if not _on_duty(drive, today):
        if drive.status == Status.CANCELLED:
            raise Conflict(N_("Đợt hiến máu này đã bị huỷ."))
        if drive.date_is_month_only or drive.date > today:
            raise Conflict(
                N_("Đợt hiến máu này chưa diễn ra: check-in vào đúng ngày {date}."),
                date=drive.date.strftime("%d/%m/%Y"),
            )
        raise Conflict(
            N_("Đợt hiến máu ngày {date} đã kết thúc, không ghi nhận thêm được nữa."),
            date=drive.date.strftime("%d/%m/%Y"),
        )
    return scope, drive


async def _check_donor(
    work: Work, scope: set[int] | None, drive: Drive, person: Person, actor: Actor
) -> None:
    if scope is None or person.unit_id is None or person.unit_id in scope:
        return
    pledge = await pledges.current(work, person.id, drive.id)
    if pledge is not None and pledge.status in (pledges.PLEDGED, ATTENDED):
        return  # they signed up for this drive themselves
    record(work, actor, "checkin.refused", person.id, drive=drive.id, why="donor_scope")
    raise NotAllowed(
        N_(
            "Người hiến này thuộc đơn vị ngoài phạm vi bạn phụ trách, nên bạn không ghi nhận "
            "được. Họ có thể tự đăng ký đợt này (/drives), hoặc nhờ Ban chỉ đạo hỗ trợ."
        )
    )


async def _donor(work: Work, person_id: int) -> Person:
    person = await persons.get(work, person_id)
    if person is None:
        raise NotFound(N_("Không tìm thấy người hiến này. Có thể hồ sơ đã bị xoá."))
    return person


# What the volunteer sees -----------------------------------------------------------------------


async def _verdict(work: Work, person: Person, day: dt.date) -> Verdict:
    """Eligibility on `day` from what happened before it: that day's own donation (the donor
    may have reported it already) does not count against it."""
    verdict = eligibility.on(person, day, work.rules)
    if verdict.reason is not Reason.INTERVAL:
        return verdict
    latest = (
        await work.session.execute(
            select(Donation.donated_on, Donation.kind)
            .where(Donation.person_id == person.id, Donation.donated_on < day)
            .order_by(Donation.donated_on.desc(), Donation.id.desc())
            .limit(1)
        )
    ).first()
    candidates = []
    if latest is not None:
        candidates.append(eligibility.next_after(latest.kind, latest.donated_on, work.rules))
    # A donor's own self-check is advice: the doctor's screening here decides (selfcheck.py).
    deferred = await work.session.scalar(
        select(func.max(Deferral.until)).where(
            Deferral.person_id == person.id, Deferral.reason != "self_check"
        )
    )
    if deferred is not None:
        candidates.append(deferred)
    from_date = max(candidates, default=None)
    if from_date is None or from_date <= day:
        return Verdict(True)
    return Verdict(False, Reason.INTERVAL, from_date)


async def _state(work: Work, drive: Drive, person: Person) -> AtDrive:
    pledge = await pledges.current(work, person.id, drive.id)
    slot = next((s for s in drive.slots if pledge and s.id == pledge.slot_id), None)
    if pledge is not None and pledge.status == pledges.CANCELLED:
        slot = None
    deferred = await work.session.scalar(
        select(func.max(Deferral.until)).where(Deferral.person_id == person.id)
    )
    return AtDrive(
        person=person,
        drive=drive,
        verdict=await _verdict(work, person, drive.date),
        pledge=pledge,
        slot=slot,
        donation=await donations.on_day(work, person.id, drive.date),
        deferred_until=deferred if deferred is not None and deferred > drive.date else None,
    )


async def drive_for(work: Work, volunteer: Person, drive_id: int, actor: Actor) -> Drive:
    """A drive the volunteer may work at now (refused otherwise)."""
    _scope_units, drive = await _open(work, volunteer, drive_id, actor)
    return drive


async def find(work: Work, volunteer: Person, drive_id: int, text: str, actor: Actor) -> AtDrive:
    """The donor a typed phone number or a card's token (or its scanned link) names."""
    scope, drive = await _open(work, volunteer, drive_id, actor)
    token = cards.extract(text)
    person_id = cards.holder(work.secret, token) if token else None
    if person_id is not None:
        person, by = await _donor(work, person_id), "card"
    elif _PHONE_LIKE.fullmatch(text.strip()):
        phone = parse_phone(text)
        found = await persons.find_by_phone(work, phone)
        if found is None:
            raise NotFound(
                N_(
                    "Chưa có ai đăng ký với số điện thoại này. Nếu là người hiến mới, bấm "
                    "'Người mới (chưa đăng ký)' để đăng ký tại chỗ."
                )
            )
        person, by = found, "phone"
    else:
        record(work, actor, "checkin.refused", None, drive=drive.id, why="card_token")
        raise InvalidInput(
            N_(
                "Mã thẻ không đúng (có thể bị gõ sai hoặc bị sửa). Kiểm tra lại mã trên thẻ, "
                "hoặc nhập số điện thoại của người hiến."
            )
        )
    await _check_donor(work, scope, drive, person, actor)
    record(work, actor, "checkin.lookup", person.id, drive=drive.id, by=by)
    return await _state(work, drive, person)


async def at_drive(
    work: Work, volunteer: Person, drive_id: int, person_id: int, actor: Actor
) -> AtDrive:
    """A donor already found, as they stand now (scope checked again)."""
    scope, drive = await _open(work, volunteer, drive_id, actor)
    person = await _donor(work, person_id)
    await _check_donor(work, scope, drive, person, actor)
    return await _state(work, drive, person)


# Changes -------------------------------------------------------------------------------------


async def _arrive(
    work: Work, drive: Drive, person: Person, volunteer: Person, actor: Actor, *, gave: bool
) -> None:
    """Check the donor in (once: the first arrival stays) and, when they gave blood, mark the
    pledge attended; a donor without a pledge gets a row of their own."""
    row = await pledges.current(work, person.id, drive.id)
    now = work.now()
    if row is None:
        row = Pledge(
            person_id=person.id,
            drive_id=drive.id,
            slot_id=None,
            status=ATTENDED,
            channel=WALK_IN,
            created_at=now,
            updated_at=now,
        )
        work.session.add(row)
    elif row.status == pledges.CANCELLED:  # cancelled, then came all the same: a walk-in
        row.status, row.slot_id, row.channel = ATTENDED, None, WALK_IN
    if gave:
        row.status = ATTENDED
    if row.checked_in_at is None:
        row.checked_in_at, row.checked_in_by_id = now, volunteer.id
        record(work, actor, "pledge.check_in", person.id, drive=drive.id)
    row.updated_at = now
    await work.session.flush()


async def check_in(
    work: Work, volunteer: Person, drive_id: int, person_id: int, actor: Actor
) -> AtDrive:
    """The donor has arrived. Checking in twice changes nothing."""
    scope, drive = await _open(work, volunteer, drive_id, actor)
    person = await _donor(work, person_id)
    await _check_donor(work, scope, drive, person, actor)
    await _arrive(work, drive, person, volunteer, actor, gave=False)
    return await _state(work, drive, person)


def not_eligible(verdict: Verdict, day: dt.date, rules: Rules) -> InvalidInput:
    if verdict.reason is Reason.TOO_YOUNG:
        return InvalidInput(
            N_("Người hiến chưa đủ {min} tuổi vào ngày {day}, chưa thể hiến máu."),
            min=rules.min_age,
            day=day.strftime("%d/%m/%Y"),
        )
    if verdict.reason is Reason.TOO_OLD:
        return InvalidInput(
            N_("Người hiến đã quá {max} tuổi, theo quy định không hiến máu được nữa."),
            max=rules.max_age,
        )
    assert verdict.from_date is not None
    return InvalidInput(
        N_(
            "Theo hồ sơ, người hiến chỉ được hiến lại từ ngày {date}, nên mình không ghi nhận "
            "lần hiến này. Nếu cần, bạn ghi nhận hoãn hiến."
        ),
        date=verdict.from_date.strftime("%d/%m/%Y"),
    )


async def record_donation(
    work: Work,
    volunteer: Person,
    drive_id: int,
    person_id: int,
    kind: DonationKind,
    volume_ml: int | None,
    actor: Actor,
) -> Recorded:
    """A verified donation on the drive's date; the pledge is marked attended."""
    scope, drive = await _open(work, volunteer, drive_id, actor)
    person = await _donor(work, person_id)
    await _check_donor(work, scope, drive, person, actor)
    if kind is DonationKind.WHOLE_BLOOD and volume_ml is None:
        raise InvalidInput(N_("Thể tích phải là 250, 350 hoặc 450 ml."))
    if kind is not DonationKind.WHOLE_BLOOD:
        volume_ml = None  # apheresis: the receiving institution keeps the volume
    same_day = await donations.on_day(work, person.id, drive.date)
    if same_day is not None and same_day.verified:
        raise donations.already_recorded(drive.date)
    if same_day is None:  # a donor's own report of the day is confirmed, not judged again
        verdict = await _verdict(work, person, drive.date)
        if not verdict.eligible:
            record(work, actor, "checkin.refused", person.id, drive=drive.id, why="eligibility")
            raise not_eligible(verdict, drive.date, work.rules)
    donation = await donations.add(
        work,
        person,
        drive.date,
        kind,
        actor,
        volume_ml=volume_ml,
        drive_id=drive.id,
        verified=True,
    )
    await _arrive(work, drive, person, volunteer, actor, gave=True)
    total = await donations.count(work, person.id)
    return Recorded(await _state(work, drive, person), donation, total)


async def defer(
    work: Work,
    volunteer: Person,
    drive_id: int,
    person_id: int,
    reason: DeferralReason,
    until: dt.date,
    actor: Actor,
) -> AtDrive:
    """A temporary deferral: its end date and reason code; the donor counts as checked in."""
    scope, drive = await _open(work, volunteer, drive_id, actor)
    person = await _donor(work, person_id)
    await _check_donor(work, scope, drive, person, actor)
    if until <= drive.date:
        raise InvalidInput(
            N_("Ngày hết hoãn phải sau ngày {date}."), date=drive.date.strftime("%d/%m/%Y")
        )
    if until > add_months(drive.date, 12 * MAX_DEFERRAL_YEARS):
        raise InvalidInput(
            N_("Hoãn hiến tối đa {years} năm. Vui lòng kiểm tra lại ngày."),
            years=MAX_DEFERRAL_YEARS,
        )
    same_day = await donations.on_day(work, person.id, drive.date)
    if same_day is not None and same_day.verified:
        raise Conflict(
            N_("Người hiến đã được ghi nhận hiến máu ngày {date}, không ghi hoãn được nữa."),
            date=drive.date.strftime("%d/%m/%Y"),
        )
    work.session.add(
        Deferral(
            person_id=person.id,
            until=until,
            reason=reason.value,
            recorded_by_id=volunteer.id,
            created_at=work.now(),
        )
    )
    await work.session.flush()
    await donations.recompute_next_eligible(work, person)
    record(work, actor, "deferral.add", person.id, drive=drive.id)
    await _arrive(work, drive, person, volunteer, actor, gave=False)
    return await _state(work, drive, person)


async def register_walk_in(
    work: Work, volunteer: Person, drive_id: int, draft: DonorDraft, actor: Actor
) -> AtDrive:
    """A donor who came without registering: registered on their behalf and checked in."""
    _scope_units, drive = await _open(work, volunteer, drive_id, actor)
    person = await persons.register_on_behalf(work, volunteer, draft, actor)
    await _arrive(work, drive, person, volunteer, actor, gave=False)
    return await _state(work, drive, person)


async def counts(work: Work, drive_id: int) -> tuple[int, int]:
    """(checked in, verified donations) at a drive so far."""
    checked_in = await work.session.scalar(
        select(func.count(Pledge.id)).where(
            Pledge.drive_id == drive_id, Pledge.checked_in_at.is_not(None)
        )
    )
    donated = await work.session.scalar(
        select(func.count(Donation.id)).where(
            Donation.drive_id == drive_id, Donation.verified.is_(True)
        )
    )
    return int(checked_in or 0), int(donated or 0)
