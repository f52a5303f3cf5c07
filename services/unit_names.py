"""Names of units as committees write them: one key per unit, and the names that only look alike.

`canonical` makes the names that mean the same unit equal: case, spacing, punctuation, the usual
abbreviations (BCĐ, HMTN, TP, ĐH ...) and the old or new place of a tone mark (hòa / hoà) do not
count. Tone marks themselves do: Mỹ Hòa and Mỹ Hào are two communes until a person says otherwise,
so `near_matches` lists such names for a person to decide and nothing merges them silently.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from services.validation import fold

# Lower-case abbreviation -> what it stands for. Both the đ and d spellings: people type either.
ABBREVIATIONS = {
    **dict.fromkeys(("bcđ", "bcd"), "ban chỉ đạo"),
    **dict.fromkeys(("bcđqg", "bcdqg"), "ban chỉ đạo quốc gia"),
    **dict.fromkeys(("vđhmtn", "vdhmtn"), "vận động hiến máu tình nguyện"),
    "hmtn": "hiến máu tình nguyện",
    "tp": "thành phố",
    "tx": "thị xã",
    "tt": "trung tâm",
    "ttyt": "trung tâm y tế",
    **dict.fromkeys(("đh", "dh"), "đại học"),
    **dict.fromkeys(("cđ", "cd"), "cao đẳng"),
    "tc": "trung cấp",
    "qtkd": "quản trị kinh doanh",
    "thpt": "trung học phổ thông",
    "thcs": "trung học cơ sở",
    "ubnd": "uỷ ban nhân dân",
    **dict.fromkeys(("hđnd", "hdnd"), "hội đồng nhân dân"),
    "clb": "câu lạc bộ",
    "bv": "bệnh viện",
    **dict.fromkeys(("bvđk", "bvdk"), "bệnh viện đa khoa"),
    "gd": "giáo dục",
    "gdtx": "giáo dục thường xuyên",
    "gdqp": "giáo dục quốc phòng",
    **dict.fromkeys(("ctđ", "ctd"), "chữ thập đỏ"),
    "tntn": "thanh niên tình nguyện",
    **dict.fromkeys(("lđlđ", "ldld"), "liên đoàn lao động"),
    "cntt": "công nghệ thông tin",
    "tnhh": "trách nhiệm hữu hạn",
    "cp": "cổ phần",
    "tw": "trung ương",
    "vn": "việt nam",
}

# A steering or people's committee stands for its unit: "BCĐ VĐHMTN huyện Tam Đường" and
# "UBND huyện Tam Đường" are Huyện Tam Đường.
_COMMITTEE = re.compile(
    r"(?:ban chỉ đạo(?: vận động)?(?: hiến máu(?: tình nguyện)?)?|uỷ ban nhân dân) (?=\S)"
)

# "Trường Đại học Y Dược" and "Đại học Y Dược" are one school.
_SCHOOL = re.compile(r"^trường (?=đại học|cao đẳng|trung cấp|trung học)")

_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # huyền, sắc, ngã, hỏi, nặng
_VOWELS = set("aăâeêioôơuưy")
_MARKED = set("ăâêôơư")  # vowels with a quality mark take the tone


def canonical(name: str) -> str:
    """The key of a unit's name: 'BCĐ HMTN TP. Lai Châu' == 'Thành phố Lai Châu'."""
    text = unicodedata.normalize("NFC", name).lower()
    # Punctuation and symbols separate words ("kinh tế-QTKD"); letters, marks, digits stay.
    text = "".join(ch if unicodedata.category(ch)[0] in "LMN" else " " for ch in text)
    # "Kinh tế và QTKD", "Kinh tế & QTKD" and "Kinh tế - QTKD" are one school
    words = [ABBREVIATIONS.get(word, word) for word in text.split() if word != "và"]
    key = " ".join(_retone(word) for word in " ".join(words).split())
    while (prefix := _SCHOOL.match(key) or _COMMITTEE.match(key)) is not None:
        key = key[prefix.end() :]
    return key


def near_matches(name: str, known: Iterable[str]) -> list[str]:
    """The names in `known` that may be `name` misspelt: equal without tone marks and
    diacritics, or one letter apart (Mỹ Hòa / Mỹ Hào), but not the same unit by `canonical`."""
    key = canonical(name)
    found: list[str] = []
    for other in known:
        other_key = canonical(other)
        if other_key != key and is_near(key, other_key) and other not in found:
            found.append(other)
    return found


def is_near(first: str, second: str) -> bool:
    """Whether two canonical names differ only in diacritics or by one letter (not in digits)."""
    a, b = fold(first), fold(second)
    if a == b:
        return True
    if re.findall(r"\d+", a) != re.findall(r"\d+", b) or min(len(a), len(b)) < 4:
        return False
    return _one_edit_apart(a, b)


def _one_edit_apart(a: str, b: str) -> bool:
    """One insertion, deletion, substitution or swap of neighbours turns `a` into `b`."""
    if abs(len(a) - len(b)) > 1:
        return False
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    a_rest, b_rest = a[start:], b[start:]
    return (
        a_rest[1:] == b_rest[1:]  # substitution
        or a_rest[1:] == b_rest  # deletion
        or a_rest == b_rest[1:]  # insertion
        or (len(a_rest) >= 2 and a_rest[:2] == b_rest[1::-1] and a_rest[2:] == b_rest[2:])
    )


def _retone(word: str) -> str:
    """The tone mark on one vowel by the new rule (hoà, thuỷ, khoẻ), whichever rule was used."""
    decomposed = unicodedata.normalize("NFD", word)
    tones = [ch for ch in decomposed if ch in _TONES]
    if len(tones) != 1:
        return unicodedata.normalize("NFC", word)
    letters = list(unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch != tones[0])))
    cluster = _vowel_cluster(letters)
    if not cluster:
        return unicodedata.normalize("NFC", word)
    marked = [i for i in cluster if letters[i] in _MARKED]
    vowels = "".join(letters[i] for i in cluster)
    if marked:
        at = marked[-1]  # ươ: the tone sits on ơ
    elif len(cluster) == 1 or cluster[-1] + 1 < len(letters):
        at = cluster[-1]  # one vowel, or a final consonant follows: the last vowel
    elif vowels in {"oa", "oe", "uy"} or len(cluster) == 3:
        at = cluster[1]  # the new rule (hoà, thuỷ) and the middle of three (ngoài)
    else:
        at = cluster[0]
    letters[at] += tones[0]
    return unicodedata.normalize("NFC", "".join(letters))


def _vowel_cluster(letters: list[str]) -> list[int]:
    """Indexes of the first run of vowels ('u' of 'qu', 'i' of 'gi' + vowel are consonants)."""
    start = 0
    if len(letters) > 2 and "".join(letters[:2]) in {"qu", "gi"} and letters[2] in _VOWELS:
        start = 2
    cluster: list[int] = []
    for index in range(start, len(letters)):
        if letters[index] in _VOWELS:
            cluster.append(index)
        elif cluster:
            break
    return cluster
