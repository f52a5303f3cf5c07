"""Campaign shares of a unit's yearly plan, and the campaign progress against them.

A committee splits a unit's plan for a year (its quota) into campaigns: "1-3:20,4:10,5-9:35"
means January-March carry 20% of it, April 10%, May-September 35%. Months are those of the
reporting year (1/12 of Y-1 to 30/11 of Y): month 12 is the December that opens it, and the
months run 12, 1, 2 ... 11. Shares may total less than 100% (the rest is not scheduled).

Figures (one SQL statement each, no loop over donors):
- plan: the unit's quota for the year (`quota`, no drive); without one, the targets of the
  year's drives in the unit's tree (as the daily tally does);
- collected in a month: donations recorded at the drives of the unit's tree (not cancelled),
  by the month of the donation (one donation, one unit of blood, as in the tallies);
- a month's target: its campaign's share of the plan spread evenly over the campaign's months
  (months outside every campaign: 0); the cumulative target adds them up in year order;
- a campaign in progress is behind when what its drives collected from its first day to today
  is less than its share of the plan pro-rated by the days passed (today included).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import case, delete, func, select, text

from db.models import CampaignShare, Donation, Drive, Quota, Unit
from locales import N_
from services.audit import Actor, record
from services.errors import InvalidInput, NotFound
from services.units import by_code, descendants
from services.work import Work

# The months of a reporting year in order: December of the year before, then January to November.
YEAR_MONTHS = (12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_PART = re.compile(r"\s*(\d{1,2})\s*(?:-\s*(\d{1,2}))?\s*:\s*(\d{1,3})\s*%?\s*")


@dataclass(frozen=True, slots=True)
class Share:
    first_month: int
    last_month: int
    percent: int

    @property
    def months(self) -> tuple[int, ...]:
        return tuple(range(self.first_month, self.last_month + 1))

    @property
    def label(self) -> str:
        if self.first_month == self.last_month:
            return f"{self.first_month}"
        return f"{self.first_month}-{self.last_month}"


def parse_shares(text: str) -> list[Share]:
    """'1-3:20,4:10,5-9:35' -> shares; refuses months outside 1-12, overlaps, totals over 100."""
    parts = [part for part in re.split(r"[,;]", text) if part.strip()]
    if not parts:
        raise InvalidInput(N_("Chưa có tỷ lệ nào. Ví dụ: 1-3:20,4:10,5-9:35"))
    shares: list[Share] = []
    taken: dict[int, str] = {}
    for part in parts:
        match = _PART.fullmatch(part)
        if match is None:
            raise InvalidInput(
                N_("Không hiểu «{part}». Ghi tháng:tỷ lệ, ví dụ 1-3:20 hoặc 4:10."),
                part=part.strip(),
            )
        first = int(match.group(1))
        last = int(match.group(2) or first)
        percent = int(match.group(3))
        if not (1 <= first <= 12 and 1 <= last <= 12):
            raise InvalidInput(N_("«{part}»: tháng phải từ 1 đến 12."), part=part.strip())
        if first > last:
            raise InvalidInput(N_("«{part}»: tháng đầu phải trước tháng cuối."), part=part.strip())
        if not 1 <= percent <= 100:
            raise InvalidInput(N_("«{part}»: tỷ lệ phải từ 1 đến 100%."), part=part.strip())
        share = Share(first, last, percent)
        for month in share.months:
            if month in taken:
                raise InvalidInput(
                    N_("Tháng {month} nằm trong cả «{first}» và «{second}»."),
                    month=month,
                    first=taken[month],
                    second=part.strip(),
                )
            taken[month] = part.strip()
        shares.append(share)
    total = sum(share.percent for share in shares)
    if total > 100:
        raise InvalidInput(N_("Tổng các tỷ lệ là {total}%, vượt quá 100%."), total=total)
    return sorted(shares, key=lambda s: YEAR_MONTHS.index(s.first_month))


def shares_text(shares: list[Share]) -> str:
    return ",".join(f"{share.label}:{share.percent}" for share in shares)


async def _unit(work: Work, code: str) -> Unit:
    unit = await by_code(work, code)
    if unit is None:
        raise NotFound(N_("Không tìm thấy đơn vị có mã {code}."), code=code)
    return unit


async def set_shares(
    work: Work, unit_code: str, year: int, shares: list[Share], actor: Actor
) -> Unit:
    """Replace the unit's campaign shares for the year."""
    unit = await _unit(work, unit_code)
    await work.session.execute(
        delete(CampaignShare).where(CampaignShare.unit_id == unit.id, CampaignShare.year == year)
    )
    now = work.now()
    for share in shares:
        work.session.add(
            CampaignShare(
                unit_id=unit.id,
                year=year,
                first_month=share.first_month,
                last_month=share.last_month,
                share_percent=share.percent,
                created_by_id=actor.person_id,
                created_at=now,
            )
        )
    await work.session.flush()
    record(work, actor, "campaign.set", None, unit=unit.code, year=year, shares=shares_text(shares))
    return unit


async def shares_of(work: Work, unit_id: int, year: int) -> list[Share]:
    rows = await work.session.execute(
        select(
            CampaignShare.first_month, CampaignShare.last_month, CampaignShare.share_percent
        ).where(CampaignShare.unit_id == unit_id, CampaignShare.year == year)
    )
    shares = [Share(first, last, percent) for first, last, percent in rows.all()]
    return sorted(shares, key=lambda s: YEAR_MONTHS.index(s.first_month))


@dataclass(frozen=True, slots=True)
class MonthFigure:
    month: int
    year: int  # the calendar year of the month (December: the year before)
    collected: int
    target: float  # this month's part of the plan
    cumulative: int
    cumulative_target: float


@dataclass(frozen=True, slots=True)
class Lag:
    """A campaign in progress that is behind its pro-rated target on `day`."""

    share: Share
    start: dt.date
    end: dt.date
    collected: int
    expected: int  # the share of the plan due by `day`, rounded up
    target: int  # the campaign's whole share of the plan, rounded


@dataclass(frozen=True, slots=True)
class Progress:
    unit_id: int
    unit_code: str
    unit_name: str
    year: int
    plan: int
    plan_from_quota: bool
    shares: tuple[Share, ...]
    months: tuple[MonthFigure, ...]
    lag: Lag | None

    @property
    def collected(self) -> int:
        return self.months[-1].cumulative if self.months else 0


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    """The first and last day of a month of reporting year `year`."""
    calendar_year = year - 1 if month == 12 else year
    last = calendar.monthrange(calendar_year, month)[1]
    return dt.date(calendar_year, month, 1), dt.date(calendar_year, month, last)


def share_bounds(year: int, share: Share) -> tuple[dt.date, dt.date]:
    return month_bounds(year, share.first_month)[0], month_bounds(year, share.last_month)[1]


async def _plan(work: Work, unit_id: int, year: int, scope: set[int]) -> tuple[int, bool]:
    quota = await work.session.scalar(
        select(Quota.target_units).where(
            Quota.unit_id == unit_id, Quota.year == year, Quota.drive_id.is_(None)
        )
    )
    if quota is not None:
        return int(quota), True
    start, end = month_bounds(year, 12)[0], month_bounds(year, 11)[1]
    targets = await work.session.scalar(
        select(func.coalesce(func.sum(Drive.target_units), 0)).where(
            Drive.date.between(start, end),
            Drive.status != "cancelled",
            Drive.unit_id.in_(sorted(scope)),
        )
    )
    return int(targets or 0), False


async def _collected_by_month(
    work: Work, year: int, scope: set[int], until: dt.date
) -> dict[int, int]:
    start, end = month_bounds(year, 12)[0], min(month_bounds(year, 11)[1], until)
    month = case(
        *((Donation.donated_on <= month_bounds(year, m)[1], m) for m in YEAR_MONTHS),
        else_=0,
    )
    rows = await work.session.execute(
        select(month, func.count(Donation.id))
        .join(Drive, Drive.id == Donation.drive_id)
        .where(
            Donation.donated_on.between(start, end),
            Drive.status != "cancelled",
            Drive.unit_id.in_(sorted(scope)),
        )
        .group_by(month)
    )
    return {int(m): int(n) for m, n in rows.all()}


def _month_targets(plan: int, shares: list[Share]) -> dict[int, float]:
    targets = dict.fromkeys(YEAR_MONTHS, 0.0)
    for share in shares:
        for month in share.months:
            targets[month] = plan * share.percent / 100 / len(share.months)
    return targets


async def progress(work: Work, unit_code: str, year: int, day: dt.date | None = None) -> Progress:
    """Units collected by month against the plan and the campaign shares, as of `day`."""
    unit = await _unit(work, unit_code)
    return await progress_of(work, unit, year, day)


async def progress_of(work: Work, unit: Unit, year: int, day: dt.date | None = None) -> Progress:
    if work.session.get_bind().dialect.name == "postgresql":
        await work.session.execute(text("SET LOCAL jit = off"))  # see analytics.no_jit
    day = day or work.today()
    scope = await descendants(work, unit.id)
    plan, from_quota = await _plan(work, unit.id, year, scope)
    shares = await shares_of(work, unit.id, year)
    collected = await _collected_by_month(work, year, scope, day)
    targets = _month_targets(plan, shares)
    months: list[MonthFigure] = []
    running, running_target = 0, 0.0
    for month in YEAR_MONTHS:
        first, _last = month_bounds(year, month)
        running += collected.get(month, 0)
        running_target += targets[month]
        months.append(
            MonthFigure(
                month,
                first.year,
                collected.get(month, 0),
                targets[month],
                running,
                running_target,
            )
        )
    lag = _lag(year, plan, shares, months, day)
    return Progress(
        unit.id,
        unit.code,
        unit.name,
        year,
        plan,
        from_quota,
        tuple(shares),
        tuple(months),
        lag,
    )


def _lag(
    year: int, plan: int, shares: list[Share], months: list[MonthFigure], day: dt.date
) -> Lag | None:
    for share in shares:
        start, end = share_bounds(year, share)
        if not start <= day <= end:
            continue
        collected = sum(m.collected for m in months if m.month in share.months)
        total_days = (end - start).days + 1
        passed = (day - start).days + 1
        # collected < plan * percent/100 * passed/total, in integers (exact).
        if collected * 100 * total_days < plan * share.percent * passed:
            expected = -(-plan * share.percent * passed // (100 * total_days))
            return Lag(share, start, end, collected, expected, round(plan * share.percent / 100))
        return None
    return None


async def lag_of(work: Work, unit_id: int, day: dt.date) -> Lag | None:
    """The campaign in progress on `day` of the unit, when it is behind (the daily tally's line).
    Nothing when the unit has no shares this year (one query)."""
    year = day.year + 1 if day.month == 12 else day.year
    has = await work.session.scalar(
        select(func.count(CampaignShare.id)).where(
            CampaignShare.unit_id == unit_id, CampaignShare.year == year
        )
    )
    if not has:
        return None
    unit = await work.session.get(Unit, unit_id)
    if unit is None:
        return None
    return (await progress_of(work, unit, year, day)).lag


async def units_with_shares(work: Work, year: int, scope: set[int] | None) -> list[Unit]:
    statement = (
        select(Unit)
        .where(
            Unit.id.in_(select(CampaignShare.unit_id).where(CampaignShare.year == year).distinct())
        )
        .order_by(Unit.code)
    )
    if scope is not None:
        statement = statement.where(Unit.id.in_(sorted(scope)))
    return list(await work.session.scalars(statement))
