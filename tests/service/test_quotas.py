"""Importing quota tables into the database: figures and parents, idempotence, changed figures,
a drive's quotas with slots, and a plan meeting its quota table on the same units."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.models import Donation, Drive, DriveSlot, Quota, Unit
from services import quotas, units
from services.audit import Actor
from services.errors import InvalidInput, NotFound
from services.plans import Change
from services.quota_file import QuotaFile, read_quotas
from services.work import Database
from tests.sample import add_person, load_units
from tests.sample_drives import add_drive, import_example_plan

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quotas-thainguyen-2021.csv"
ACTOR = Actor("test")


def example(replace: tuple[str, str] | None = None) -> QuotaFile:
    text = EXAMPLE.read_text(encoding="utf-8")
    if replace is not None:
        assert replace[0] in text
        text = text.replace(*replace)
    parsed = read_quotas(text.encode(), EXAMPLE.name)
    assert parsed.problems == ()
    return parsed


def table(*lines: str, drive_mode: bool = False) -> QuotaFile:
    parsed = read_quotas("\n".join(lines).encode(), "chi-tieu.csv", drive_mode=drive_mode)
    assert parsed.problems == ()
    return parsed


async def add_province(database: Database) -> None:
    async with database.work() as work:
        await units.upsert(
            work, [units.UnitRow("TNG", "Tỉnh Thái Nguyên", units.UnitKind.PROVINCE, None)]
        )


async def count(database: Database, model: type[Unit] | type[Quota] | type[DriveSlot]) -> int:
    async with database.work() as work:
        return int(await work.session.scalar(select(func.count()).select_from(model)) or 0)


async def import_file(
    database: Database, parsed: QuotaFile, year: int = 2021, **options: object
) -> quotas.QuotaImport:
    async with database.work() as work:
        return await quotas.import_quotas(work, parsed, year, ACTOR, **options)  # type: ignore[arg-type]


async def test_thai_nguyen_example_gives_exactly_its_figures_and_parents(
    database: Database,
) -> None:
    await add_province(database)
    result = await import_file(database, example(), parent_code="TNG")
    assert (result.quotas, result.total, result.count(Change.NEW)) == (29, 24_500, 29)
    assert len(result.created_units) == 32 and result.near == () and result.warnings == ()
    async with database.work() as work:
        stored = {
            unit.name: (unit, quota)
            for unit, quota in (
                await work.session.execute(
                    select(Unit, Quota).join(Quota, Quota.unit_id == Unit.id)
                )
            ).all()
        }
        parents = {u.id: u for u in await work.session.scalars(select(Unit))}
    assert sum(q.target_units for _u, q in stored.values()) == 24_500
    sp_unit, sp_quota = stored["Đại học Sư phạm"]
    assert (sp_quota.target_units, sp_quota.months, sp_quota.year) == (800, [1, 5, 11], 2021)
    group = parents[sp_unit.parent_id or 0]
    assert (group.name, group.kind, parents[group.parent_id or 0].code) == (
        "Đại học Thái Nguyên",
        "school",
        "TNG",
    )
    iv_unit, iv_quota = stored[
        "Các sở, ban, ngành, cơ quan, đơn vị, doanh nghiệp khác trên địa bàn tỉnh"
    ]
    assert iv_quota.target_units == 1600 and iv_quota.months == [7, 8]
    assert parents[iv_unit.parent_id or 0].code == "TNG"
    by_group: dict[str, int] = {}
    for unit, quota in stored.values():
        by_group[parents[unit.parent_id or 0].name] = (
            by_group.get(parents[unit.parent_id or 0].name, 0) + quota.target_units
        )
    assert by_group == {
        "Đại học Thái Nguyên": 5950,
        "Các cơ quan, đơn vị, trường cao đẳng, trên địa bàn tỉnh": 6800,
        "Các huyện, thành phố, thị xã": 10150,
        "Tỉnh Thái Nguyên": 1600,
    }
    assert stored["Huyện Phú Bình"][0].kind == "district"
    assert stored["Công an tỉnh"][0].kind == "armed_forces"


async def test_reimporting_changes_nothing(database: Database) -> None:
    await add_province(database)
    await import_file(database, example(), parent_code="TNG")
    units_before, quotas_before = await count(database, Unit), await count(database, Quota)
    again = await import_file(database, example(), parent_code="TNG")
    assert again.count(Change.UNCHANGED) == 29 and again.created_units == ()
    assert (await count(database, Unit), await count(database, Quota)) == (
        units_before,
        quotas_before,
    )


async def test_a_changed_figure_updates_its_quota_and_says_old_and_new(
    database: Database,
) -> None:
    await add_province(database)
    await import_file(database, example(), parent_code="TNG")
    changed = example(("1,Đại học Sư phạm,800", "1,Đại học Sư phạm,850"))
    preview = await import_file(database, changed, parent_code="TNG", dry_run=True)
    (updated,) = [o for o in preview.outcomes if o.change is Change.UPDATED]
    assert (updated.unit_name, updated.old_units, updated.row.target_units) == (
        "Đại học Sư phạm",
        800,
        850,
    )
    result = await import_file(database, changed, parent_code="TNG")
    assert result.count(Change.UPDATED) == 1 and result.total == 24_550
    async with database.work() as work:
        figures = await quotas.quota_figures(work, 2021)
    assert sum(f.quota for f in figures) == 24_550


async def test_a_dry_run_stores_nothing(database: Database) -> None:
    await add_province(database)
    preview = await import_file(database, example(), parent_code="TNG", dry_run=True)
    assert preview.quotas == 29 and len(preview.created_units) == 32
    assert (await count(database, Unit), await count(database, Quota)) == (1, 0)


async def test_a_drives_quotas_fill_its_slots(database: Database) -> None:
    await load_units(database)
    drive_id = await add_drive(database, dt.date(2026, 12, 12), unit_code="LCU")
    parsed = table(
        "TT,Đơn vị,Chỉ tiêu,Giờ",
        "1,CLB HMTN Công an tỉnh,60,7h30-8h30",
        "2,Công ty Điện lực Lai Châu,40,",
        "3,Trường CĐ Cộng đồng Lai Châu,80,8h30-9h30",
        drive_mode=True,
    )
    result = await import_file(database, parsed, 2026, drive=str(drive_id))
    assert [(s.start, s.end, s.quotas, s.units, s.created) for s in result.slots] == [
        (dt.time(7, 30), dt.time(8, 30), 2, 100, True),
        (dt.time(8, 30), dt.time(9, 30), 1, 80, True),
    ]
    assert result.created_units == ()  # abbreviations matched the Lai Châu units
    assert [w.text() for w in result.warnings] == [
        "Các chỉ tiêu trong tệp cộng lại 180 đơn vị, còn chỉ tiêu của đợt là 250 đơn vị "
        "(chênh −70)."
    ]
    async with database.work() as work:
        drive = await work.session.get(Drive, drive_id)
        assert drive is not None
        assert [(s.start_time, s.capacity) for s in drive.slots] == [
            (dt.time(7, 30), 100),
            (dt.time(8, 30), 80),
        ]
        stored = list(await work.session.scalars(select(Quota).order_by(Quota.id)))
    assert [(q.drive_id, q.slot_start, q.target_units) for q in stored] == [
        (drive_id, dt.time(7, 30), 60),
        (drive_id, dt.time(7, 30), 40),
        (drive_id, dt.time(8, 30), 80),
    ]
    again = await import_file(database, parsed, 2026, drive=str(drive_id))
    assert again.count(Change.UNCHANGED) == 3 and not any(s.created for s in again.slots)
    assert await count(database, DriveSlot) == 2


async def test_a_drive_that_does_not_exist_is_refused(database: Database) -> None:
    parsed = table("TT,Đơn vị,Chỉ tiêu", "1,Xã A,10", drive_mode=True)
    with pytest.raises(NotFound):
        await import_file(database, parsed, 2019, drive="999")
    with pytest.raises(NotFound):
        await import_file(database, parsed, 2019, drive="2019/3")
    with pytest.raises(InvalidInput):
        await import_file(database, parsed, 2019, drive="đợt ba")
    assert await count(database, Unit) == 0


async def test_drives_are_found_by_id_or_year_and_number(database: Database) -> None:
    await import_example_plan(database)
    async with database.work() as work:
        third = await quotas.resolve_drive(work, "2019/3")
        assert third.place == "Trung tâm y tế huyện Tam Đường"
        assert (await quotas.resolve_drive(work, str(third.id))).id == third.id
        assert (await quotas.resolve_drive(work, "2019/03")).id == third.id


LAI_CHAU_QUOTAS = (
    "TT,Đơn vị,Chỉ tiêu,Tháng",
    '1,BCĐ HMTN huyện Tam Đường,230,"3, 9"',
    '2,TP Lai Châu,230,"4, 8"',
    '3,CLB HMTN Công an tỉnh,330,"1, 7"',
    '4,Huyện Sín Hồ,200,"4, 9"',
)


async def test_a_plan_and_its_quota_table_meet_on_the_same_units(database: Database) -> None:
    await load_units(database)
    await import_example_plan(database, unit_code="LCU")
    units_before = await count(database, Unit)
    preview = await import_file(
        database, table(*LAI_CHAU_QUOTAS), 2019, parent_code="LCU", dry_run=True
    )
    (near,) = preview.near
    assert (near.name, near.candidates) == ("Huyện Sín Hồ", (("LCU-SH", "Huyện Sìn Hồ"),))
    matched = {o.row.name: o.unit_code for o in preview.outcomes if not o.unit_created}
    assert matched == {
        "BCĐ HMTN huyện Tam Đường": "LCU-TD",
        "TP Lai Châu": "LCU-TP",
        "CLB HMTN Công an tỉnh": "LCU-CLB-CA",
    }
    result = await import_file(
        database,
        table(*LAI_CHAU_QUOTAS),
        2019,
        parent_code="LCU",
        merges={"Huyện Sín Hồ": "LCU-SH"},
    )
    assert result.near == () and result.created_units == ()
    assert await count(database, Unit) == units_before
    assert [w.text() for w in result.warnings] == [
        "Các chỉ tiêu trong tệp cộng lại 990 đơn vị, còn các đợt hiến máu năm 2019 cộng lại "
        "2.300 đơn vị (chênh −1.310)."
    ]
    person = await add_person(database, "d1", "Lò Văn Ba", "0912345678")
    async with database.work() as work:
        third = await quotas.resolve_drive(work, "2019/3")
        for day in (1, 2, 3):
            work.session.add(
                Donation(
                    person_id=person,
                    donated_on=dt.date(2019, 3, day),
                    drive_id=third.id,
                    kind="whole_blood",
                    created_at=work.now(),
                )
            )
    async with database.work() as work:
        figures = {f.code: f for f in await quotas.quota_figures(work, 2019)}
        only_td = await quotas.quota_figures(work, 2019, unit_code="LCU-TD")
    td = figures["LCU-TD"]
    assert (td.quota, td.drives, td.drive_targets, td.collected, td.percent) == (230, 2, 230, 3, 1)
    assert (td.expected_by_now, td.behind) == (230, True)  # 2019 is long over in 2026
    assert (figures["LCU-TP"].drives, figures["LCU-TP"].drive_targets) == (2, 230)
    assert (figures["LCU-CLB-CA"].drives, figures["LCU-CLB-CA"].drive_targets) == (2, 330)
    assert figures["LCU-SH"].drive_targets == 200 and figures["LCU-SH"].months == (4, 9)
    assert [f.code for f in only_td] == ["LCU-TD"]


async def test_without_a_merge_a_near_name_becomes_a_new_unit_and_is_listed(
    database: Database,
) -> None:
    await load_units(database)
    result = await import_file(
        database, table("TT,Đơn vị,Chỉ tiêu", "1,Huyện Sín Hồ,200"), 2019, parent_code="LCU"
    )
    assert [n.candidates for n in result.near] == [(("LCU-SH", "Huyện Sìn Hồ"),)]
    assert [(code, name, parent) for code, name, parent in result.created_units] == [
        ("LCU-HSH", "Huyện Sín Hồ", "Tỉnh Lai Châu")
    ]


async def test_quota_figures_are_behind_only_after_their_months(database: Database) -> None:
    await load_units(database)
    parsed = table("TT,Đơn vị,Chỉ tiêu,Tháng", '1,Huyện Tam Đường,300,"3, 12"', "2,Xã Bình Lư,50,")
    await import_file(database, parsed, 2026, parent_code="LCU")
    async with database.work() as work:  # today: 26/11/2026, March is over, December is not
        figures = {f.code: f for f in await quotas.quota_figures(work, 2026)}
    assert (figures["LCU-TD"].expected_by_now, figures["LCU-TD"].behind) == (150, True)
    assert (figures["LCU-X-BINHLU"].expected_by_now, figures["LCU-X-BINHLU"].behind) == (
        None,
        False,
    )
    assert figures["LCU-X-BINHLU"].parent_name == "Huyện Tam Đường"
