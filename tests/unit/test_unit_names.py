"""Unit names as committees write them: one key for one unit, and names that only look alike."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.unit_names import canonical, near_matches


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("BCĐ HMTN huyện Tam Đường", "Ban Chỉ đạo vận động hiến máu tình nguyện Huyện Tam Đường"),
        ("Ban Chỉ đạo VĐHMTN huyện Tam Đường", "Huyện Tam Đường"),
        ("TP. Lai Châu", "Thành phố  Lai Châu"),
        ("ĐH Kinh tế & QTKD", "Trường Đại học Kinh tế - Quản trị kinh doanh"),
        ("CLB HMTN Công an tỉnh", "Câu lạc bộ Hiến máu tình nguyện Công an tỉnh"),
        ("Trường THPT số 1", "trung học phổ thông SỐ 1"),
        ("UBND xã Mỹ Hòa", "Xã Mỹ Hoà"),  # old and new tone placement
        ("BV Đa khoa tỉnh", "Bệnh viện đa khoa tỉnh"),
        ("TT GD Quốc phòng - ĐHTN", "Trung tâm Giáo dục quốc phòng ĐHTN"),
    ],
)
def test_names_of_one_unit_have_one_key(first: str, second: str) -> None:
    assert canonical(first) == canonical(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Xã Mỹ Hòa", "Xã Mỹ Hào"),
        ("Huyện Sìn Hồ", "Huyện Sín Hồ"),
        ("Huyện Than Uyên", "Huyện Tân Uyên"),
        ("Trường THPT số 1", "Trường THPT số 2"),
    ],
)
def test_tone_marks_and_letters_make_another_unit(first: str, second: str) -> None:
    assert canonical(first) != canonical(second)


def test_the_key_keeps_tone_marks_and_reads_like_vietnamese() -> None:
    assert canonical("Khoẻ, THỦY  và Hoà!") == "khoẻ thuỷ hoà"
    assert canonical("Nguyễn Quý, người của trường") == "nguyễn quý người của trường"


def test_near_matches_list_names_apart_by_tone_marks_or_one_letter() -> None:
    known = ["Xã Mỹ Hòa", "Xã Mỹ Hào", "Xã Mỹ Hạo", "Xã My Hao", "Xã Mỹ Lộc", "Trường THPT số 2"]
    assert near_matches("Xã Mỹ Hào", known) == ["Xã Mỹ Hòa", "Xã Mỹ Hạo", "Xã My Hao"]
    assert near_matches("Trường THPT số 1", known) == []
    assert near_matches("UBND Xã Mỹ Hào", known) == ["Xã Mỹ Hòa", "Xã Mỹ Hạo", "Xã My Hao"]


VIETNAMESE = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
)


@given(st.lists(st.text(alphabet=VIETNAMESE + "HMTNĐBC", min_size=1, max_size=8), max_size=5))
def test_a_key_is_its_own_key(words: list[str]) -> None:
    key = canonical(" ".join(words))
    assert canonical(key) == key
    assert canonical(" - ".join(words).upper()) == key
