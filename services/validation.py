"""Parsing and validation of what donors type: text in, a value or InvalidInput out."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

import phonenumbers

from locales import N_
from services.errors import InvalidInput
from services.rules import Rules

MAX_ANSWER = 200  # longer answers are refused before any parsing
NAME_MIN, NAME_MAX = 2, 80
BLOOD_GROUPS = ("A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-", "unknown")
SEXES = ("male", "female")


def fold(text: str) -> str:
    """Lower-case, without Vietnamese diacritics: 'Tam Đường' -> 'tam duong'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(stripped.lower().split())


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text or "").strip()
    if not text:
        raise InvalidInput(N_("Bạn chưa nhập gì. Vui lòng trả lời câu hỏi ở trên."))
    if len(text) > MAX_ANSWER:
        raise InvalidInput(
            N_("Câu trả lời quá dài ({length} ký tự). Vui lòng nhập ngắn gọn hơn."),
            length=len(text),
        )
    return text


def parse_name(text: str) -> str:
    text = " ".join(_clean(text).split())
    letters = [ch for ch in text if unicodedata.category(ch).startswith("L")]
    allowed = all(unicodedata.category(ch)[0] in "LM" or ch in " .-'" for ch in text)
    if not allowed or len(letters) < NAME_MIN or len(text) > NAME_MAX:
        raise InvalidInput(
            N_(
                "Họ tên chỉ gồm chữ cái và khoảng trắng, từ {min} đến {max} ký tự "
                "(ví dụ: Nguyễn Thị Lan)."
            ),
            min=NAME_MIN,
            max=NAME_MAX,
        )
    if text == text.lower() or text == text.upper():
        text = " ".join(word[:1].upper() + word[1:].lower() for word in text.split())
    return text


def parse_phone(text: str, region: str = "VN") -> str:
    """A phone number in E.164 ('0912 345 678' -> '+84912345678')."""
    text = _clean(text)
    compact = re.sub(r"[\s.\-()]", "", text)
    if not re.fullmatch(r"\+?\d{8,15}", compact):
        raise InvalidInput(
            N_("Số điện thoại chưa đúng. Vui lòng nhập dạng 0912 345 678 hoặc +84 912 345 678.")
        )
    if compact.startswith("84") and len(compact) >= 11:
        compact = "+" + compact
    try:
        number = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(
            N_("Số điện thoại chưa đúng. Vui lòng nhập dạng 0912 345 678 hoặc +84 912 345 678.")
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(
            N_("Số điện thoại chưa đúng. Vui lòng nhập dạng 0912 345 678 hoặc +84 912 345 678.")
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    """'+84912345678' -> '0912 345 678' for Vietnamese numbers, international format otherwise."""
    number = phonenumbers.parse(e164, None)
    if number.country_code == 84:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@dataclass(frozen=True, slots=True)
class Birth:
    """A birth date, or only a year when that is all the donor knows."""

    year: int
    date: dt.date | None = None

    def age_on(self, day: dt.date) -> int:
        """Full years on `day`; with only a year, the age reached during that year."""
        if self.date is None:
            return day.year - self.year
        before_birthday = (day.month, day.day) < (self.date.month, self.date.day)
        return day.year - self.date.year - int(before_birthday)

    def display(self) -> str:
        return self.date.strftime("%d/%m/%Y") if self.date else str(self.year)


_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d")


def parse_date(text: str) -> dt.date:
    """A date written as 17/12/2022, 17-12-2022, 17.12.2022 or 2022-12-17."""
    text = _clean(text)
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise InvalidInput(N_("Ngày chưa đúng. Vui lòng nhập dạng ngày/tháng/năm, ví dụ 17/12/1995."))


def parse_birth(text: str, today: dt.date, rules: Rules) -> Birth:
    text = _clean(text)
    if re.fullmatch(r"\d{4}", text):
        birth = Birth(year=int(text))
    else:
        try:
            day = parse_date(text)
        except InvalidInput:
            raise InvalidInput(
                N_(
                    "Ngày sinh chưa đúng. Vui lòng nhập dạng ngày/tháng/năm (ví dụ 17/12/1995) "
                    "hoặc chỉ năm sinh (ví dụ 1995)."
                )
            ) from None
        birth = Birth(year=day.year, date=day)
    if birth.year < today.year - 120 or (birth.date or dt.date(birth.year, 1, 1)) > today:
        raise InvalidInput(
            N_("Năm sinh {year} không hợp lệ. Vui lòng kiểm tra lại."), year=birth.year
        )
    age = birth.age_on(today)
    if age < rules.min_age:
        raise InvalidInput(
            N_(
                "Cảm ơn tấm lòng của bạn! Người hiến máu cần đủ {min} tuổi, nên bạn chưa thể "
                "đăng ký hiến máu lúc này. Bạn vẫn có thể cùng CLB tuyên truyền, vận động. "
                "Nếu nhập nhầm, vui lòng nhập lại ngày sinh; hoặc gõ /cancel để dừng."
            ),
            min=rules.min_age,
        )
    if age > rules.max_age:
        raise InvalidInput(
            N_(
                "Cảm ơn tấm lòng của bạn! Theo quy định, người hiến máu từ {min} đến {max} tuổi, "
                "nên mình không thể hẹn lịch hiến máu cho bạn. Bạn vẫn có thể giúp vận động "
                "người thân, bạn bè. Nếu nhập nhầm, vui lòng nhập lại; hoặc gõ /cancel để dừng."
            ),
            min=rules.min_age,
            max=rules.max_age,
        )
    return birth


_SEX_WORDS = {
    "male": {"nam", "trai", "male", "m", "man"},
    "female": {"nu", "gai", "female", "f", "woman"},
}


def parse_sex(text: str) -> str:
    folded = fold(_clean(text))
    for sex, words in _SEX_WORDS.items():
        if folded in words:
            return sex
    raise InvalidInput(N_("Vui lòng chọn Nam hoặc Nữ."))


def parse_blood_group(text: str) -> str:
    """'O+', 'o rh+', 'AB Rh-', 'B dương', 'chưa biết' -> 'O+', 'O+', 'AB-', 'B+', 'unknown'."""
    folded = fold(_clean(text)).replace(" ", "")
    if folded in {"chuabiet", "khongbiet", "unknown", "?", "khongro", "chuaro"}:
        return "unknown"
    match = re.fullmatch(r"(ab|a|b|o|0)(?:rh)?(\+|-|duong|am|positive|negative)?", folded)
    if not match:
        raise InvalidInput(
            N_(
                "Nhóm máu chưa đúng. Vui lòng chọn A, B, AB hoặc O (kèm Rh+ hoặc Rh-), "
                "hoặc 'Chưa biết'."
            )
        )
    abo = "O" if match.group(1) == "0" else match.group(1).upper()
    rh = match.group(2) or "+"  # almost everyone in Vietnam is Rh+; Rh- donors say so
    rh = "-" if rh in {"-", "am", "negative"} else "+"
    return abo + rh


def parse_weight(text: str) -> float:
    folded = fold(_clean(text)).replace("kg", "").replace("can", "").strip().replace(",", ".")
    try:
        weight = float(folded)
    except ValueError:
        raise InvalidInput(N_("Cân nặng chưa đúng. Vui lòng nhập số kg, ví dụ 55.")) from None
    if not 30 <= weight <= 200:
        raise InvalidInput(
            N_("Cân nặng {weight} kg có vẻ chưa đúng. Vui lòng nhập lại (30–200 kg)."),
            weight=folded,
        )
    return round(weight, 1)


def parse_search(text: str) -> str:
    folded = fold(_clean(text))
    if len(folded) < 2:
        raise InvalidInput(N_("Vui lòng gõ ít nhất 2 chữ trong tên đơn vị để tìm."))
    return folded
