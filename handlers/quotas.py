"""Quotas (chỉ tiêu) in chat: `/quota` shows each unit's quota beside its drives and what it has
collected; a committee member imports a quota table sent as a file, after a dry-run preview.

A committee member sees every unit of their scope, a club chair their own unit. The figures are
the ones `hienmau quota list` prints (services.quotas.quota_figures)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import PureWindowsPath
from typing import Any

from handlers import wizard
from handlers.context import Ctx
from handlers.messages import Attachment, Button, Reply
from handlers.registration import yes_no
from handlers.wizard import Flow, Outcome, Step, choice, error_text
from locales import N_, _
from services import drives, plan_file, quotas
from services.errors import DomainError, InvalidInput
from services.plans import Change
from services.quota_file import QuotaFile, QuotaRow, format_units, read_quotas
from services.roles import RANK, Role, roles_of
from services.validation import fold

REPLY_CHARS = 3500  # one reply stays well under a Telegram message (4,096)
SHOWN = 8  # names listed in a preview before "… and N more"


# /quota --------------------------------------------------------------------------------------


async def quota(ctx: Ctx) -> list[Reply]:
    """`/quota [year]`: the quotas the person may see, this year unless another is given."""
    assert ctx.person is not None
    argument = ctx.inbound.argument
    year = ctx.work.today().year
    if argument:
        if not re.fullmatch(r"20\d{2}", argument):
            return [Reply(_("Năm «{value}» chưa đúng. Ví dụ: /quota 2021").format(value=argument))]
        year = int(argument)
    figures = await visible_figures(ctx, year)
    if not figures:
        lines = [_("Chưa có chỉ tiêu năm {year} cho đơn vị của bạn.").format(year=year)]
        if Role.COMMITTEE in ctx.roles:
            lines.append(
                _("Gửi bảng chỉ tiêu (tệp CSV hoặc XLSX) cho mình để nhập chỉ tiêu các đơn vị.")
            )
        lines.append(_("Xem năm khác, ví dụ: /quota {year}").format(year=year - 1))
        return [Reply("\n".join(lines))]
    return _figure_replies(year, figures)


async def visible_figures(ctx: Ctx, year: int) -> list[quotas.QuotaFigure]:
    """Committee (or admin): the units of their scope; a club chair: their own unit."""
    assert ctx.person is not None
    held = await roles_of(ctx.work, ctx.person.id)
    everything = await quotas.quota_figures(ctx.work, year)
    if any(role is Role.ADMIN for role, _unit in held):
        return everything
    allowed: set[int] = set()
    for role, unit in held:
        if RANK[role] >= RANK[Role.COMMITTEE]:
            scoped = await quotas.quota_figures(ctx.work, year, unit.code)
            allowed.update(figure.unit_id for figure in scoped)
        elif role is Role.CLUB_CHAIR:
            allowed.add(unit.id)
    return [figure for figure in everything if figure.unit_id in allowed]


def _percent(figure: quotas.QuotaFigure) -> str:
    return "–" if figure.percent is None else f"{figure.percent}%"


def _figure_line(figure: quotas.QuotaFigure) -> str:
    line = _("• {name}: chỉ tiêu {quota} · đã thu {collected} ({percent})").format(
        name=figure.name,
        quota=format_units(figure.quota),
        collected=format_units(figure.collected),
        percent=_percent(figure),
    )
    if figure.drives:
        line += _(" · {n} đợt, kế hoạch {target}").format(
            n=figure.drives, target=format_units(figure.drive_targets)
        )
    if figure.behind and figure.expected_by_now is not None:
        line += _(" · ⚠️ chậm (đến nay cần {expected})").format(
            expected=format_units(figure.expected_by_now)
        )
    return line


def _figure_replies(year: int, figures: Sequence[quotas.QuotaFigure]) -> list[Reply]:
    total = sum(f.quota for f in figures)
    collected = sum(f.collected for f in figures)
    behind = sum(1 for f in figures if f.behind)
    head = [
        _("🎯 Chỉ tiêu năm {year}: {n} đơn vị, tổng {total} đơn vị máu.").format(
            year=year, n=len(figures), total=format_units(total)
        ),
        _("Đã thu {collected} ({percent}) · {behind} đơn vị chậm tiến độ.").format(
            collected=format_units(collected),
            percent=f"{round(collected * 100 / total)}%" if total else "–",
            behind=behind,
        ),
    ]
    groups: dict[str | None, list[str]] = {}  # by parent, in the order they first appear
    for figure in figures:
        groups.setdefault(figure.parent_name, []).append(_figure_line(figure))
    return [Reply(text) for text in _pack(head, list(groups.items()))]


def _pack(
    head: Sequence[str],
    groups: Sequence[tuple[str | None, Sequence[str]]],
    limit: int = REPLY_CHARS,
) -> list[str]:
    """The head and each group (a blank line before it) in texts of at most `limit`
    characters, cut between lines; a group cut in two repeats its heading."""
    texts: list[str] = []
    lines: list[str] = list(head)
    size = len("\n".join(lines))
    for parent, items in groups:
        heading = [f"📂 {parent}"] if parent else []
        pending = ["", *heading] if lines else list(heading)
        for item in items:
            added = [*pending, item]
            grown = size + sum(len(line) + 1 for line in added) - (0 if lines else 1)
            if lines and grown > limit:
                texts.append("\n".join(lines))
                lines = [*heading, item]
                size = len("\n".join(lines))
            else:
                lines += added
                size = grown
            pending = []
    if lines:
        texts.append("\n".join(lines))
    return texts


# A quota table sent as a file ----------------------------------------------------------------

_YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")
_YEAR_AFTER_WORD = re.compile(r"\bnam\s+(20\d{2})(?!\d)")


def infer_year(content: bytes, filename: str, today: dt.date) -> tuple[int, str]:
    """The year of a quota table and where it was found: 'name' (the file's name), 'content'
    (its title rows: 'năm 2021' first, else the year written most often) or 'today'."""

    def fits(year: int) -> bool:
        return 2000 <= year <= today.year + 2

    named = [int(y) for y in _YEAR.findall(PureWindowsPath(filename).name) if fits(int(y))]
    if named:
        return named[0], "name"
    try:
        _kind, lines = plan_file.read_lines(content, filename)
    except InvalidInput:
        lines = []
    text = fold(
        " ".join(
            plan_file.cell_text(cell)
            for line in lines[: plan_file.HEADER_SEARCH_ROWS]
            for cell in line.cells
        )
    )
    for pattern in (_YEAR_AFTER_WORD, _YEAR):
        found = [int(y) for y in pattern.findall(text) if fits(int(y))]
        if found:
            counts = Counter(found)
            return max(found, key=lambda year: (counts[year], -found.index(year))), "content"
    return today.year, "today"


def read_document(attachment: Attachment) -> QuotaFile | None:
    """The quota table in a file, or None when the file is no quota table."""
    try:
        return read_quotas(attachment.content, attachment.filename)
    except InvalidInput:
        return None


async def document(ctx: Ctx, attachment: Attachment, parsed: QuotaFile) -> list[Reply]:
    """A committee member sent a quota table: its bad rows, or a preview to confirm."""
    if parsed.problems:
        shown = [plan_file.describe(p) for p in parsed.problems[:10]]
        lines = [
            _("⚠️ Tệp có {n} dòng lỗi, mình chưa nhập gì:").format(n=len(parsed.problems)),
            "",
            *(f"• {line}" for line in shown),
        ]
        if len(parsed.problems) > len(shown):
            lines.append(_("… và {n} lỗi khác.").format(n=len(parsed.problems) - len(shown)))
        lines += ["", _("Bạn sửa tệp rồi gửi lại nhé.")]
        return [Reply("\n".join(lines))]
    year, found_in = infer_year(attachment.content, attachment.filename, ctx.work.today())
    answers: dict[str, object] = {
        "year": year,
        "year_from": found_in,
        "rows": [_row_to_json(row) for row in parsed.rows],
        "warnings": [dataclasses.asdict(w) for w in parsed.warnings],
        "file": PureWindowsPath(attachment.filename).name[:100],
        "merges": {},
    }
    try:  # a table the units cannot take (two units of one name ...) is refused at once
        await _import(ctx, answers, dry_run=True)
    except DomainError as error:
        return [Reply(error_text(error))]
    return await wizard.start(ctx, QUOTA, answers)


def _row_to_json(row: QuotaRow) -> dict[str, Any]:
    data = dataclasses.asdict(row)
    data["months"] = list(row.months)
    for name in ("slot_start", "slot_end"):
        data[name] = data[name].isoformat() if data[name] is not None else None
    return data


def _row_from_json(data: dict[str, Any]) -> QuotaRow:
    values = dict(data)
    values["months"] = tuple(values["months"])
    for name in ("slot_start", "slot_end"):
        values[name] = dt.time.fromisoformat(values[name]) if values[name] else None
    return QuotaRow(**values)


def _dicts(value: object) -> list[dict[str, Any]]:
    assert isinstance(value, list)
    return value


def _merges(answers: dict[str, object]) -> dict[str, str]:
    merges = answers.get("merges") or {}
    assert isinstance(merges, dict)
    return {str(name): str(code) for name, code in merges.items()}


async def _import(ctx: Ctx, answers: dict[str, object], *, dry_run: bool) -> quotas.QuotaImport:
    assert ctx.person is not None
    year = answers["year"]
    assert isinstance(year, int)
    unit = await drives.managing_unit(ctx.work, ctx.person.id)
    parsed = QuotaFile(
        rows=tuple(_row_from_json(raw) for raw in _dicts(answers["rows"])),
        problems=(),
        warnings=(),
        kind="csv",
    )
    return await quotas.import_quotas(
        ctx.work,
        parsed,
        year,
        ctx.actor,
        parent_code=unit.code,
        merges=_merges(answers),
        source=f"quota:{answers['file']}",
        dry_run=dry_run,
    )


def _more(names: Sequence[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    if len(names) > SHOWN:
        shown += _(" … và {n} đơn vị khác").format(n=len(names) - SHOWN)
    return shown


async def ask_quota(ctx: Ctx) -> Reply:
    answers = ctx.answers
    try:
        preview = await _import(ctx, answers, dry_run=True)
    except DomainError as error:
        return Reply(error_text(error), buttons=(choice("quota", "no", _("❌ Huỷ")),))
    found_in = {
        "name": _("theo tên tệp"),
        "content": _("theo nội dung tệp"),
        "today": _("năm nay, vì tệp không ghi năm"),
    }[str(answers["year_from"])]
    lines = [
        _(
            "📄 Bảng chỉ tiêu năm {year} ({found_in}): {n} chỉ tiêu, tổng {total} đơn vị máu."
        ).format(
            year=preview.year,
            found_in=found_in,
            n=preview.quotas,
            total=format_units(preview.total),
        ),
        _("Mới: {new} · cập nhật: {updated} · không đổi: {same}").format(
            new=preview.count(Change.NEW),
            updated=preview.count(Change.UPDATED),
            same=preview.count(Change.UNCHANGED),
        ),
    ]
    stored_as = {o.row.name: o.unit_name for o in preview.outcomes}
    for name, code in _merges(answers).items():
        lines.append(
            _("🔗 Đã gộp «{name}» vào «{unit}».").format(name=name, unit=stored_as.get(name, code))
        )
    changed = [o for o in preview.outcomes if o.change is Change.UPDATED]
    for outcome in changed[:SHOWN]:
        lines.append(
            _("• {name}: {old} → {new}").format(
                name=outcome.unit_name,
                old=format_units(outcome.old_units or 0),
                new=format_units(outcome.row.target_units or 0),
            )
        )
    if preview.created_units:
        lines += [
            "",
            _("🆕 {n} đơn vị mới: {names}").format(
                n=len(preview.created_units),
                names=_more([name for _code, name, _parent in preview.created_units]),
            ),
        ]
    buttons: list[Button] = [
        choice("quota", "yes", _("✅ Nhập")),
        choice("quota", "no", _("❌ Huỷ")),
    ]
    if preview.near:
        lines += ["", _("❓ Tên gần giống đơn vị đã có (chưa gộp):")]
        for near in preview.near[:SHOWN]:
            lines.append(
                _("• «{name}» (dòng {line}) có thể là {units}").format(
                    name=near.name,
                    line=near.line,
                    units=", ".join(f"«{name}» ({code})" for code, name in near.candidates),
                )
            )
            for code, name in near.candidates[:2]:
                payload = f"m{near.line}:{code}"
                if len(f"quota:{payload}".encode()) <= 64 and len(buttons) < 8:
                    label = _("🔗 Gộp «{name}» = «{unit}»").format(name=near.name, unit=name)
                    buttons.append(choice("quota", payload, label[:60]))
        lines.append(_("Bấm 🔗 nếu là cùng một đơn vị; nếu không, đơn vị mới sẽ được tạo."))
    warnings = [
        plan_file.describe(plan_file.RowProblem(**raw)) for raw in _dicts(answers["warnings"])
    ] + [notice.text() for notice in preview.warnings]
    if warnings:
        lines += ["", _("⚠️ Lưu ý:"), *(f"• {text}" for text in warnings[:SHOWN])]
    lines += ["", _("Nhập bảng chỉ tiêu này?")]
    return Reply("\n".join(lines), buttons=tuple(buttons), columns=2 if len(buttons) == 2 else 1)


async def take_quota(ctx: Ctx, value: str) -> Outcome:
    if value.startswith("m") and ":" in value:
        line, _sep, code = value[1:].partition(":")
        return await _merge(ctx, line, code)
    value = yes_no(value)
    if value == "no":
        return [Reply(_("Đã huỷ, chưa nhập gì."))]
    if value != "yes":
        raise InvalidInput(N_("Vui lòng bấm 'Nhập' hoặc 'Huỷ'."))
    result = await _import(ctx, ctx.answers, dry_run=False)
    return [
        Reply(
            _(
                "✅ Đã nhập {n} chỉ tiêu năm {year}, tổng {total} đơn vị máu (mới: {new}, cập "
                "nhật: {updated}, không đổi: {same}; {units} đơn vị mới). Xem: /quota {year}"
            ).format(
                n=result.quotas,
                year=result.year,
                total=format_units(result.total),
                new=result.count(Change.NEW),
                updated=result.count(Change.UPDATED),
                same=result.count(Change.UNCHANGED),
                units=len(result.created_units),
            )
        )
    ]


async def _merge(ctx: Ctx, line: str, code: str) -> Outcome:
    """A 🔗 button: the row of `line` is the unit `code` (one of its near matches)."""
    preview = await _import(ctx, ctx.answers, dry_run=True)
    near = next((n for n in preview.near if str(n.line) == line), None)
    if near is None or code not in {c for c, _name in near.candidates}:
        raise InvalidInput(N_("Nút này đã hết hạn. Mời bạn chọn lại:"))
    ctx.answers["merges"] = {**_merges(ctx.answers), near.name: code}
    return "quota"  # the preview again, with the merge


QUOTA = Flow(name="quota_import", steps={"quota": Step(ask_quota, take_quota)}, order=("quota",))
