"""How values read in a chat: dates dd/mm/yyyy, times 24h, blood groups, sexes."""

from __future__ import annotations

import datetime as dt

from locales import _


def date(value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


def weekday_date(value: dt.date) -> str:
    names = (
        _("Thứ Hai"),
        _("Thứ Ba"),
        _("Thứ Tư"),
        _("Thứ Năm"),
        _("Thứ Sáu"),
        _("Thứ Bảy"),
        _("Chủ Nhật"),
    )
    return f"{names[value.weekday()]}, {date(value)}"


def blood_group(value: str | None) -> str:
    if not value or value == "unknown":
        return _("Chưa biết")
    return f"{value[:-1]} Rh{value[-1]}"


def sex(value: str | None) -> str:
    return {"male": _("Nam"), "female": _("Nữ")}.get(value or "", _("Chưa rõ"))


def weight(value: float | None) -> str:
    if value is None:
        return _("Chưa nhập")
    return f"{value:g} kg"
