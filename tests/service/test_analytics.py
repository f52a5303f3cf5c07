"""Mobilisation analytics on hand-built histories: every rate checked exactly, erased donors
counted and never named (services.analytics, services.campaigns)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from sqlalchemy import insert, select

from db.models import (
    ClubMember,
    Consent,
    Donation,
    Drive,
    Identity,
    Outbox,
    Person,
    Pledge,
    Quota,
    Unit,
)
from handlers.tallies import tally_text
from services import analytics, broadcasts, campaigns, tallies
from services.analytics import Rate
from services.audit import Actor
from services.broadcasts import Audience
from services.campaigns import Share
from services.errors import InvalidInput
from services.work import Database, Work
from tests.conftest import ZONE
from tests.sample import load_units

UTC = dt.UTC
CLI = Actor("cli")


def moment(day: str, hour: int = 9) -> dt.datetime:
    """A local time in Hà Nội on an ISO day."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=ZONE)


class History:
    """Rows written straight through the models, in one unit of work."""

    numbers = itertools.count(1)  # phones and keys stay unique across units of work

    def __init__(self, work: Work) -> None:
        self.work = work

    @property
    def count(self) -> int:
        return next(self.numbers)

    async def unit(self, code: str) -> int:
        found = await self.work.session.scalar(select(Unit.id).where(Unit.code == code))
        assert found is not None, code
        return int(found)

    async def person(
        self,
        name: str,
        unit: str = "LCU-TD",
        *,
        status: str = "active",
        next_eligible: str | None = None,
        consents: tuple[str, ...] = (),
    ) -> int:
        number = self.count
        now = self.work.now()
        erased = status == "erased"
        person = Person(
            full_name=None if erased else name,
            phone=None if erased else f"+8491{number:07d}",
            birth_year=None if erased else 1990,
            sex=None if erased else "female",
            unit_id=await self.unit(unit),
            status=status,
            created_at=now,
            updated_at=now,
            erased_at=now if erased else None,
            next_eligible_on=dt.date.fromisoformat(next_eligible) if next_eligible else None,
        )
        self.work.session.add(person)
        await self.work.session.flush()
        if not erased:
            self.work.session.add(
                Identity(
                    channel="console",
                    platform_user_id=f"u{person.id}",
                    chat_id=f"u{person.id}",
                    person_id=person.id,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        for purpose in consents:
            self.work.session.add(
                Consent(
                    person_id=person.id,
                    purpose=purpose,
                    version="2026-01",
                    granted_at=now,
                    channel="console",
                )
            )
        await self.work.session.flush()
        return person.id

    async def donations(
        self, person_id: int, *days: str, kind: str = "whole_blood", drive: int | None = None
    ) -> None:
        for day in days:
            self.work.session.add(
                Donation(
                    person_id=person_id,
                    donated_on=dt.date.fromisoformat(day),
                    kind=kind,
                    drive_id=drive,
                    verified=True,
                    created_at=self.work.now(),
                )
            )
        await self.work.session.flush()

    async def drive(self, day: str, unit: str = "LCU-TD", status: str = "open") -> int:
        drive = Drive(
            title=f"Đợt {day}",
            date=dt.date.fromisoformat(day),
            place=f"Nhà văn hoá {day}",
            target_units=100,
            status=status,
            unit_id=await self.unit(unit),
        )
        self.work.session.add(drive)
        await self.work.session.flush()
        return drive.id

    async def pledge(
        self, person_id: int, drive_id: int, created: dt.datetime, status: str = "pledged"
    ) -> None:
        self.work.session.add(
            Pledge(
                person_id=person_id,
                drive_id=drive_id,
                status=status,
                channel="console",
                created_at=created,
                updated_at=created,
                checked_in_at=created if status == "attended" else None,
            )
        )
        await self.work.session.flush()

    async def message(
        self,
        person_id: int,
        key: str,
        created: dt.datetime,
        status: str = "sent",
        params: dict[str, Any] | None = None,
    ) -> None:
        identity = await self.work.session.scalar(
            select(Identity.id).where(Identity.person_id == person_id)
        )
        assert identity is not None
        self.work.session.add(
            Outbox(
                identity_id=identity,
                person_id=person_id,
                key=key,
                params=params or {},
                due_at=created,
                dedup_key=f"t:{self.count}",
                status=status,
                attempts=1,
                created_at=created,
                sent_at=created if status == "sent" else None,
            )
        )
        await self.work.session.flush()

    async def club(self, name: str, members: tuple[int, ...], parent: str = "LCU-TD") -> int:
        club = Unit(
            code=f"CLB-{self.count}",
            name=name,
            kind="club",
            parent_id=await self.unit(parent),
            search_name=name.lower(),
            club_kind="regular",
        )
        self.work.session.add(club)
        await self.work.session.flush()
        for person_id in members:
            self.work.session.add(
                ClubMember(club_id=club.id, person_id=person_id, joined_at=self.work.now())
            )
        await self.work.session.flush()
        return club.id


def rows(report: Any) -> dict[str, tuple[int, ...]]:
    return {
        row.group.name: (row.windows, row.returned, row.donors, row.repeat_donors)
        for row in report.rows
    }


# ---------------------------------------------------------------------------- repeat


async def test_return_within_16_weeks_and_repeat_donors_count_the_erased(
    database: Database,
) -> None:
    await load_units(database)
    async with database.work() as work:
        h = History(work)
        a = await h.person("Lò Văn A", "LCU-X-BINHLU")
        # Before the year; a window in January (back by 03/05, within e + 16 weeks); a window
        # in May that closed (e = 24/07/2026, 16 weeks end 13/11) with no return.
        await h.donations(a, "2025-06-01", "2026-01-10", "2026-05-01")
        b = await h.person("Tòng Thị B", "LCU-TD")
        # Platelets: eligible 15/03, back on 10/07 (later than 05/07: not in time); the July
        # donation's window (02/10) is still open on 26/11 and not counted yet.
        await h.donations(b, "2026-03-01", kind="platelets")
        await h.donations(b, "2026-07-10")
        c = await h.person("", "LCU-TTYT-TD", status="erased")
        await h.donations(c, "2025-11-20", "2026-03-01")
        e = await h.person("Giàng Văn E", "LCU-X-BINHLU")
        await h.donations(e, "2025-09-01", "2025-12-05")
        d = await h.person("Người Thành Phố", "LCU-TP")
        await h.donations(d, "2026-01-01", "2026-04-01")

    async with database.work() as work:
        scope = await analytics.unit_scope(work, "LCU-TD")
        report = await analytics.repeat(work, scope, 2026)
    assert report.windows_until == dt.date(2026, 8, 5)
    total = report.total
    assert (total.windows, total.returned, total.donors, total.repeat_donors) == (6, 2, 4, 3)
    assert total.returned_rate == Rate(2, 6) and total.returned_rate.percent == 33.3
    assert total.repeat_rate.text() == "75%" and total.returned_rate.text() == "33,3%"
    assert rows(report) == {
        "Huyện Tam Đường": (1, 0, 1, 0),
        "Trung tâm Y tế huyện Tam Đường": (2, 1, 1, 1),
        "Xã Bình Lư": (3, 1, 2, 2),
    }

    async with database.work() as work:
        province = await analytics.repeat(work, await analytics.unit_scope(work, "LCU"), 2026)
    # D adds two windows (01/01: back on 01/04; 01/04: no return) and a first-time donor.
    assert (province.total.windows, province.total.returned) == (8, 3)
    assert (province.total.donors, province.total.repeat_donors) == (5, 3)
    assert {row.group.name: row.windows for row in province.rows} == {
        "Huyện Tam Đường": 6,
        "Thành phố Lai Châu": 2,
    }


def test_a_rate_rounds_to_one_decimal_half_up() -> None:
    assert Rate(1, 8).percent == 12.5 and Rate(1, 8).text() == "12,5%"
    assert Rate(2, 3).percent == 66.7 and Rate(1, 3).percent == 33.3
    assert Rate(1, 2000).percent == 0.1 and Rate(1, 2001).percent == 0.0
    assert Rate(0, 0).percent is None and Rate(0, 0).text() == "–"
    assert Rate(5, 5).text() == "100%"


# ---------------------------------------------------------------------------- funnel


async def _funnel_history(database: Database) -> dict[str, int]:
    await load_units(database)
    async with database.work() as work:
        h = History(work)
        x = await h.drive("2026-06-10")
        y = await h.drive("2026-09-15")
        p1 = await h.person("Một", "LCU-X-BINHLU")
        p2 = await h.person("Hai", "LCU-X-BINHLU")
        p3 = await h.person("Ba", "LCU-TD")
        p4 = await h.person("Bốn", "LCU-TD")
        p6 = await h.person("Sáu", "LCU-TP")
        notice = {"drive_id": x}
        await h.message(p1, "drive_notice", moment("2026-06-01"), params=notice)
        await h.pledge(p1, x, moment("2026-06-05"), status="attended")
        await h.donations(p1, "2026-06-10", drive=x)
        await h.message(p1, "drive_reminder", moment("2026-06-07"), params=notice)
        await h.message(p2, "drive_notice", moment("2026-06-01", 15), params=notice)
        await h.pledge(p2, x, moment("2026-06-09"))  # 8 days after: too late
        await h.message(p2, "eligible", moment("2026-07-01"), params={"drives": [y]})
        await h.pledge(p2, y, moment("2026-07-04"))  # no donation (yet)
        await h.message(p3, "drive_notice", moment("2026-06-01"), "failed", notice)
        await h.message(p3, "eligible", moment("2026-07-01"), params={"drives": [y]})
        await h.pledge(p3, y, moment("2026-07-20"))  # 19 days after
        # Left out by the 30-day cap: never sent, not in the funnel.
        await h.message(p4, "eligible", moment("2026-07-02"), "capped", {"drives": [y]})
        await h.message(p4, "drive_notice", moment("2026-06-01"), params=notice)
        await h.pledge(p4, x, moment("2026-06-03"), status="cancelled")
        await h.message(p4, "notice", moment("2025-12-10"), params={"broadcast_id": 1})
        await h.message(p4, "notice", moment("2025-11-30"))  # the year before
        await h.message(p6, "drive_notice", moment("2026-06-01"), params=notice)
        club = await h.club("CLB Hiến máu Bình Lư", (p1, p3))
    return {"p1": p1, "p3": p3, "club": club}


def _figures(row: analytics.FunnelRow) -> tuple[int, int, int, int]:
    return (row.sent, row.delivered, row.pledged, row.donated)


async def test_the_reminder_funnel_follows_each_kind_from_sent_to_donated(
    database: Database,
) -> None:
    await _funnel_history(database)
    async with database.work() as work:
        report = await analytics.funnel(work, await analytics.unit_scope(work, "LCU-TD"), 2026)
    assert {"drive_notice", "drive_reminder", "eligible", "eligible_nudge", "notice"} <= set(
        report.kinds
    )
    totals = {row.key: _figures(row) for row in report.totals}
    assert totals["drive_notice"] == (4, 3, 1, 1)
    assert totals["drive_reminder"] == (1, 1, 1, 1)
    assert totals["eligible"] == (2, 2, 1, 0)
    assert totals["notice"] == (1, 1, 0, 0)
    assert totals["eligible_nudge"] == (0, 0, 0, 0)
    months = {(row.key, row.month): _figures(row) for row in report.months}
    assert months == {
        ("drive_notice", 6): (4, 3, 1, 1),
        ("drive_reminder", 6): (1, 1, 1, 1),
        ("eligible", 7): (2, 2, 1, 0),
        ("notice", 12): (1, 1, 0, 0),
    }
    notice_row = next(r for r in report.totals if r.key == "drive_notice")
    assert notice_row.delivered_rate.text() == "75%"
    assert notice_row.pledged_rate.text() == "33,3%"
    assert notice_row.donated_rate.text() == "100%"
    assert notice_row.overall_rate.text() == "25%"
    groups = {(r.key, r.group.name): _figures(r) for r in report.groups if r.group}
    assert groups[("drive_notice", "Xã Bình Lư")] == (2, 2, 1, 1)
    assert groups[("drive_notice", "Huyện Tam Đường")] == (2, 1, 0, 0)


async def test_a_chair_sees_the_funnel_of_their_club_members(database: Database) -> None:
    ids = await _funnel_history(database)
    async with database.work() as work:
        club = await work.session.get(Unit, ids["club"])
        assert club is not None
        h = History(work)
        chair = await h.person("Chủ nhiệm", "LCU-TD")
        person = await work.session.get(Person, chair)
        assert person is not None
        from services import roles

        await roles.grant(work, person, roles.Role.CLUB_CHAIR, club.code, CLI)
    async with database.work() as work:
        scope = await analytics.person_scope(work, chair)
        assert scope.clubs and [g.name for g in scope.groups] == ["CLB Hiến máu Bình Lư"]
        report = await analytics.funnel(work, scope, 2026)
    totals = {row.key: _figures(row) for row in report.totals}
    assert totals["drive_notice"] == (2, 1, 1, 1)  # Một delivered and gave; Ba's failed
    assert totals["eligible"] == (1, 1, 0, 0)
    assert [(r.key, _figures(r)) for r in report.groups if r.key == "drive_notice"] == [
        ("drive_notice", (2, 1, 1, 1))
    ]


# ---------------------------------------------------------------------------- lapsed


async def test_lapsed_donors_are_listed_longest_first_and_reached_by_broadcast(
    database: Database,
) -> None:
    await load_units(database)
    reminders = ("registration", "reminders")
    async with database.work() as work:
        h = History(work)
        upcoming = await h.drive("2026-12-05")
        cancelled = await h.drive("2026-12-06", status="cancelled")
        past = await h.drive("2026-06-10")
        l1 = await h.person("Lò Thị Một", next_eligible="2026-03-01", consents=reminders)
        await h.donations(l1, "2025-12-07")
        l2 = await h.person(
            "Lò Thị Hai", "LCU-X-BINHLU", next_eligible="2026-05-28", consents=("club_sharing",)
        )
        await h.donations(l2, "2025-03-01", "2026-03-05")
        await h.person("Lò Thị Ba", next_eligible="2026-05-29")  # 181 days: not yet
        l4 = await h.person("Lò Thị Bốn", next_eligible="2026-01-01")
        await h.pledge(l4, upcoming, moment("2026-11-20"))
        l5 = await h.person("Lò Thị Năm", next_eligible="2026-01-01", consents=reminders)
        await h.pledge(l5, past, moment("2026-06-01"))  # a pledge left open, drive long past
        await h.person("", status="erased")
        await h.person("Chưa Hiến Lần Nào")  # never donated: no date, not lapsed
        await h.person("Đã Từ Chối", status="opted_out", next_eligible="2026-01-01")
        await h.person("Ở Thành Phố", "LCU-TP", next_eligible="2026-01-01")
        l10 = await h.person("Lò Thị Mười", next_eligible="2026-01-01")
        await h.pledge(l10, cancelled, moment("2026-11-20"))
        author = await h.person("Ban Chỉ Đạo")
        club = await h.club("CLB Tam Đường", (l1, l2))
        from services import roles

        person = await work.session.get(Person, author)
        assert person is not None
        await roles.grant(work, person, roles.Role.COMMITTEE, "LCU-TD", CLI)
        chair = await h.person("Chủ Nhiệm")
        chair_person = await work.session.get(Person, chair)
        club_unit = await work.session.get(Unit, club)
        assert chair_person is not None and club_unit is not None
        await roles.grant(work, chair_person, roles.Role.CLUB_CHAIR, club_unit.code, CLI)

    async with database.work() as work:
        report = await analytics.lapsed(work, await analytics.person_scope(work, author), CLI)
    assert report.count == 4 and report.hidden == 0
    assert [(p.name, p.eligible_since, p.last_donation) for p in report.people] == [
        ("Lò Thị Mười", dt.date(2026, 1, 1), None),
        ("Lò Thị Năm", dt.date(2026, 1, 1), None),
        ("Lò Thị Một", dt.date(2026, 3, 1), dt.date(2025, 12, 7)),
        ("Lò Thị Hai", dt.date(2026, 5, 28), dt.date(2026, 3, 5)),
    ]
    async with database.work() as work:
        mine = await analytics.lapsed(work, await analytics.person_scope(work, chair), CLI)
    assert (mine.count, mine.hidden) == (2, 1)  # Một did not agree to share with the club
    assert [p.name for p in mine.people] == ["Lò Thị Hai"]

    async with database.work() as work:
        person = await work.session.get(Person, author)
        assert person is not None
        audience = Audience(unit_id=await History(work).unit("LCU-TD"), lapsed=True)
        assert await broadcasts.recipients(work, person, audience) == [l1, l5]  # consenting
        broadcast, new = await broadcasts.send(
            work, person, "Lâu rồi chưa gặp bạn!", audience, CLI, "req-1"
        )
        assert new and broadcast.recipients == 2
        assert Audience.from_json(broadcast.audience).lapsed is True
        queued = list(
            await work.session.scalars(
                select(Outbox.person_id).where(Outbox.broadcast_id == broadcast.id)
            )
        )
    assert sorted(queued) == [l1, l5]


# ---------------------------------------------------------------------------- honours


async def test_honours_take_the_highest_milestone_crossed_in_the_reporting_year(
    database: Database,
) -> None:
    await load_units(database)

    def days_before(count: int, last: str = "2025-11-30") -> list[str]:
        end = dt.date.fromisoformat(last)
        return [(end - dt.timedelta(days=20 * k)).isoformat() for k in range(count)]

    async with database.work() as work:
        h = History(work)
        h1 = await h.person("Năm Lần", "LCU-X-BINHLU")
        await h.donations(h1, *days_before(4), "2026-03-01")
        h2 = await h.person("Mười Lần", "LCU-TD")
        await h.donations(h2, *days_before(9), "2026-01-05", "2026-05-05")
        h3 = await h.person("Vượt Hai Mốc", "LCU-TD")
        await h.donations(h3, *days_before(4), kind="platelets")
        await h.donations(h3, *days_before(6, "2026-06-30"), kind="platelets")
        h4 = await h.person("", "LCU-TD", status="erased")
        await h.donations(h4, *days_before(4), "2026-02-01")
        h5 = await h.person("Sáu Lần", "LCU-TD")
        await h.donations(h5, *days_before(5), "2026-02-01")
        h6 = await h.person("Sau Kỳ", "LCU-TD")
        await h.donations(h6, *days_before(4), "2026-12-01")
        h7 = await h.person("Thành Phố", "LCU-TP")
        await h.donations(h7, *days_before(4), "2026-02-01")
        h8 = await h.person("Trăm Lần", "LCU-TTYT-TD")
        await h.donations(h8, *days_before(99), "2026-04-01")

    async with database.work() as work:
        report = await analytics.honours(
            work, await analytics.unit_scope(work, "LCU-TD"), 2026, CLI
        )
    assert report.counts == ((100, 1), (10, 2), (5, 2))  # the erased donor counts at 5
    assert report.counted == 5
    assert [(p.name, p.milestone, p.total, p.unit_name) for p in report.people] == [
        ("Mười Lần", 10, 11, "Huyện Tam Đường"),
        ("Vượt Hai Mốc", 10, 10, "Huyện Tam Đường"),
        ("Trăm Lần", 100, 100, "Trung tâm Y tế huyện Tam Đường"),
        ("Năm Lần", 5, 5, "Xã Bình Lư"),
    ]
    first = report.people[0]
    assert (first.birth_year, first.last_donation) == (1990, dt.date(2026, 5, 5))
    assert first.unit_path == "Huyện Tam Đường, Tỉnh Lai Châu"
    async with database.work() as work:
        everywhere = await analytics.honours(
            work, await analytics.unit_scope(work, None), 2026, CLI
        )
    assert everywhere.counts == ((100, 1), (10, 2), (5, 3))


# ---------------------------------------------------------------------------- campaigns


def test_campaign_shares_are_parsed_and_refused_with_a_reason() -> None:
    assert campaigns.parse_shares("1-3:20, 4:10 ,5-9:35%") == [
        Share(1, 3, 20),
        Share(4, 4, 10),
        Share(5, 9, 35),
    ]
    assert campaigns.parse_shares("4:10;12:5") == [Share(12, 12, 5), Share(4, 4, 10)]
    assert campaigns.shares_text([Share(12, 12, 5), Share(1, 3, 20)]) == "12:5,1-3:20"
    for text, reason in (
        ("", "Chưa có tỷ lệ nào"),
        ("1-3", "Không hiểu «1-3»"),
        ("0-3:20", "tháng phải từ 1 đến 12"),
        ("5-13:20", "tháng phải từ 1 đến 12"),
        ("9-5:20", "tháng đầu phải trước tháng cuối"),
        ("1-3:0", "tỷ lệ phải từ 1 đến 100%"),
        ("1-3:20,3-4:10", "Tháng 3 nằm trong cả «1-3:20» và «3-4:10»"),
        ("1-6:60,7-9:50", "Tổng các tỷ lệ là 110%"),
    ):
        with pytest.raises(InvalidInput) as caught:
            campaigns.parse_shares(text)
        assert reason in caught.value.message.format(**caught.value.params)


async def test_campaign_progress_by_month_and_the_tally_line_when_behind(
    database: Database,
) -> None:
    await load_units(database)
    async with database.work() as work:
        h = History(work)
        td = await h.unit("LCU-TD")
        work.session.add(
            Quota(
                unit_id=td,
                year=2026,
                target_units=1000,
                created_at=work.now(),
                updated_at=work.now(),
            )
        )
        february = await h.drive("2026-02-14", "LCU-X-BINHLU")
        october = await h.drive("2026-10-15")
        elsewhere = await h.drive("2026-03-08", "LCU-TP")
        dropped = await h.drive("2026-03-09", status="cancelled")
        donor = await h.person("Người Hiến")
        gone = await h.person("", status="erased")
        now = work.now()
        batch = [
            {
                "person_id": donor if n % 2 else gone,  # the erased donor's units still count
                "donated_on": day,
                "drive_id": drive,
                "kind": "whole_blood",
                "verified": True,
                "created_at": now,
            }
            for drive, day, count in (
                (february, dt.date(2026, 2, 14), 150),
                (october, dt.date(2026, 10, 15), 100),
                (elsewhere, dt.date(2026, 3, 8), 7),
                (dropped, dt.date(2026, 3, 9), 3),
            )
            for n in range(count)
        ]
        await work.session.execute(insert(Donation), batch)
        await campaigns.set_shares(
            work, "LCU-TD", 2026, campaigns.parse_shares("1-3:20,4:10,5-9:35,10-11:25"), CLI
        )

    async with database.work() as work:
        progress = await campaigns.progress(work, "LCU-TD", 2026)
        tally = await tallies.compute(work, td)
    assert (progress.plan, progress.plan_from_quota, progress.collected) == (1000, True, 250)
    by_month = {
        m.month: (m.collected, m.cumulative, round(m.cumulative_target)) for m in progress.months
    }
    assert by_month[12] == (0, 0, 0)
    assert by_month[2] == (150, 150, 133)
    assert by_month[3] == (0, 150, 200)
    assert by_month[9] == (0, 150, 650)
    assert by_month[10] == (100, 250, 775)
    assert by_month[11] == (0, 250, 900)
    lag = progress.lag
    assert lag is not None and lag.share == Share(10, 11, 25)
    # 25% of 1,000 over 61 days, 57 of them passed: 233.6 due, 100 collected.
    assert (lag.collected, lag.expected, lag.target) == (100, 234, 250)
    assert tally.campaign == lag
    assert (
        "⚠️ Chiến dịch tháng 10–11 (25% kế hoạch): đã thu 100/234 đơn vị dự kiến đến hôm nay"
        " (cả đợt 250)." in tally_text(tally)
    )
    async with database.work() as work:
        await campaigns.set_shares(work, "LCU-TD", 2026, campaigns.parse_shares("10-11:5"), CLI)
    async with database.work() as work:
        assert (await campaigns.progress(work, "LCU-TD", 2026)).lag is None  # 100 >= 47
        assert (await tallies.compute(work, td)).campaign is None
