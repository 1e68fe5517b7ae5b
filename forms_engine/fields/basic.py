"""Built-in value types: text, numbers, dates and times, choices, switches."""
from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, Text, Time

from engine.tables import UtcDateTime

from .base import FieldType, InvalidField, register
from .columns import ExactDecimal, JsonColumn

_MAX_TEXT = 100_000


def _text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise InvalidField("expected text", "type")
    text = str(value)
    if len(text) > _MAX_TEXT:
        raise InvalidField(f"text longer than {_MAX_TEXT} characters", "max_length")
    return text


#: first characters a spreadsheet reads as a formula; exports prefix such text with ' and imports drop that quote
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value: Any) -> Any:
    """A spreadsheet cell as text: ``13800138000.0`` → ``"13800138000"``; our export's ``'=`` guard removed."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e17:
        return str(int(value))
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


def check_length(text: str, f) -> str:  # type: ignore[no-untyped-def]
    if f.min_length is not None and len(text) < f.min_length:
        raise InvalidField(f"at least {f.min_length} characters", "min_length")
    if f.max_length is not None and len(text) > f.max_length:
        raise InvalidField(f"at most {f.max_length} characters", "max_length")
    if f.pattern is not None and not f.pattern.matches(text):
        raise InvalidField(f.pattern.message, "pattern")
    return text


def _length_schema(f) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    out: dict[str, Any] = {"type": "string"}
    if f.min_length is not None:
        out["minLength"] = f.min_length
    if f.max_length is not None:
        out["maxLength"] = f.max_length
    return out


@register
class TextField(FieldType):
    name, label, widget = "text", "单行文本", "text"
    options = ("min_length", "max_length", "pattern", "unique", "placeholder")

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return Text()

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return _length_schema(f)

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        text = _text(value).strip()
        if "\n" in text or "\r" in text:
            raise InvalidField("single-line text cannot contain line breaks", "format")
        return check_length(text, f)

    def fast(self, f):  # type: ignore[no-untyped-def]
        return _fast_text(self, f, single_line=True)

    def from_cell(self, value, f):  # type: ignore[no-untyped-def]
        return self.coerce(cell_text(value), f)

    def cell_fast(self, f):  # type: ignore[no-untyped-def]
        check = self.compile(f)
        # text not starting with a quote is its own cell text
        return lambda value: check(value if value.__class__ is str and value[:1] != "'" else cell_text(value))


@register
class TextareaField(TextField):
    name, label, widget = "textarea", "多行文本", "textarea"

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        return check_length(_text(value), f)

    def fast(self, f):  # type: ignore[no-untyped-def]
        return _fast_text(self, f, single_line=False)


def _generic(ftype: FieldType, f):  # type: ignore[no-untyped-def]
    """The unspecialised check (``is_blank`` then ``coerce``), which fast paths fall back to for uncommon input."""
    blank, coerce = ftype.is_blank, ftype.coerce

    def check(value: Any) -> Any:
        return None if blank(value) else coerce(value, f)

    return check


def _generic_cell(ftype: FieldType, f):  # type: ignore[no-untyped-def]
    """The unspecialised cell check (``is_blank`` then ``from_cell``), which cell fast paths fall back to."""
    blank, from_cell = ftype.is_blank, ftype.from_cell

    def check(value: Any) -> Any:
        return None if blank(value) else from_cell(value, f)

    return check


def _fast_text(ftype: FieldType, f, single_line: bool):  # type: ignore[no-untyped-def]
    """Text checks for a ``str`` submission, the same as ``coerce`` (which handles everything else)."""
    slow = _generic(ftype, f)
    if f.min_length is not None or f.pattern is not None:
        return slow
    longest = f.max_length

    def check(value: Any) -> Any:
        if value.__class__ is not str:
            return slow(value)
        if not value:
            return None
        if len(value) > _MAX_TEXT:
            raise InvalidField(f"text longer than {_MAX_TEXT} characters", "max_length")
        if single_line:
            value = value.strip()
            if "\n" in value or "\r" in value:
                raise InvalidField("single-line text cannot contain line breaks", "format")
        if longest is not None and len(value) > longest:
            raise InvalidField(f"at most {longest} characters", "max_length")
        return value

    return check


_DECIMAL_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_TEXT = re.compile(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?")


def to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise InvalidField("expected a number", "type")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, (int, float)):
        number = Decimal(str(value))
    elif isinstance(value, str):
        cleaned = value.strip().replace(",", "").replace("，", "")
        if not _DECIMAL_TEXT.fullmatch(cleaned):
            raise InvalidField("expected a number", "type")
        try:
            number = Decimal(cleaned)
        except InvalidOperation:
            raise InvalidField("expected a number", "type") from None
    else:
        raise InvalidField("expected a number", "type")
    if not number.is_finite():
        raise InvalidField("expected a finite number", "type")
    return number


_SIGNS = ("+", "-")
_CURRENCY_MARKS = str.maketrans("", "", "¥￥$€£元 \u00a0")


def _cell_number(value: Any, scale: int) -> Any:
    """A spreadsheet number: float noise within the field's scale removed, currency marks dropped from text."""
    if isinstance(value, float) and math.isfinite(value):
        rounded = round(value, scale)
        if math.isclose(value, rounded, rel_tol=1e-12, abs_tol=1e-9):
            return Decimal(repr(rounded))
        return Decimal(repr(value))
    if isinstance(value, str):
        return value.translate(_CURRENCY_MARKS)
    return value


def _range(number: Decimal, f) -> Decimal:  # type: ignore[no-untyped-def]
    if f.min is not None and number < f.min:
        raise InvalidField(f"must be at least {f.min}", "min")
    if f.max is not None and number > f.max:
        raise InvalidField(f"must be at most {f.max}", "max")
    return number


def _number_schema(f, kind: str = "number") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    out: dict[str, Any] = {"type": kind} if kind == "integer" else {"type": ["number", "string"], "format": "decimal"}
    if f.min is not None:
        out["minimum"] = float(f.min)
    if f.max is not None:
        out["maximum"] = float(f.max)
    return out


def _cell_number_check(ftype: FieldType, f, scale: int):  # type: ignore[no-untyped-def]
    """``from_cell`` of a number type: marks dropped, float noise removed, then the compiled check."""
    check, coerce = ftype.compile(f), ftype.coerce

    def cell(value: Any) -> Any:
        cleaned = _cell_number(value, scale)
        if cleaned == "" and value != "":  # only currency marks or spaces: not blank, and not a number
            return coerce(cleaned, f)
        return check(cleaned)

    return cell


_SCALES: dict[int, tuple[Decimal, Decimal]] = {}


def _scale(scale: int) -> tuple[Decimal, Decimal]:
    _SCALES[scale] = (Decimal(10) ** (22 - scale), Decimal(1).scaleb(-scale))
    return _SCALES[scale]


@register
class NumberField(FieldType):
    name, label, widget, expr_type = "number", "数字", "number", "number"
    options = ("min", "max", "scale", "unit")
    default_scale = 4

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return ExactDecimal(scale=f.scale)

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return _number_schema(f)

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        number = _range(to_decimal(value), f)
        top, quantum = _SCALES.get(f.scale) or _scale(f.scale)
        if abs(number) >= top:
            raise InvalidField("number too large", "max")
        exact = number.quantize(quantum)
        if number != exact:
            raise InvalidField(f"at most {f.scale} decimal places", "scale")
        return exact

    def fast(self, f):  # type: ignore[no-untyped-def]
        slow = _generic(self, f)
        low, high = f.min, f.max
        top, quantum = _SCALES.get(f.scale) or _scale(f.scale)
        match = _DECIMAL_TEXT.fullmatch

        scale = f.scale
        short = 22 - scale  # fewer whole digits than this: below ``top``

        def check(value: Any) -> Any:
            if value.__class__ is not str:
                return slow(value)
            if not value:
                return None
            text = value.strip()
            if "," in text or "，" in text:
                text = text.replace(",", "").replace("，", "")
            # plain ASCII decimals within the size and scale (the common case): no pattern match, no rounding check
            whole, _, fraction = (text[1:] if text[:1] in _SIGNS else text).partition(".")
            if (whole.isdigit() or (not whole and fraction)) and (not fraction or fraction.isdigit()) and (
                    len(whole) < short and len(fraction) <= scale and text.isascii()):
                number = Decimal(text)
                if low is not None and number < low:
                    raise InvalidField(f"must be at least {low}", "min")
                if high is not None and number > high:
                    raise InvalidField(f"must be at most {high}", "max")
                return number.quantize(quantum)
            if not match(text):
                raise InvalidField("expected a number", "type")
            number = Decimal(text)
            if low is not None and number < low:
                raise InvalidField(f"must be at least {low}", "min")
            if high is not None and number > high:
                raise InvalidField(f"must be at most {high}", "max")
            if abs(number) >= top:
                raise InvalidField("number too large", "max")
            exact = number.quantize(quantum)
            if number != exact:
                raise InvalidField(f"at most {f.scale} decimal places", "scale")
            return exact

        return check

    def to_json(self, value, f):  # type: ignore[no-untyped-def]
        return None if value is None else str(value)

    def from_cell(self, value, f):  # type: ignore[no-untyped-def]
        return self.coerce(_cell_number(value, f.scale), f)

    def cell_fast(self, f):  # type: ignore[no-untyped-def]
        return _cell_number_check(self, f, f.scale)

    def to_cell(self, value, f, locale="zh-CN"):  # type: ignore[no-untyped-def]
        return value


@register
class MoneyField(NumberField):
    name, label, widget, expr_type = "money", "金额", "money", "money"
    options = ("min", "max", "currency")
    default_scale = 2


@register
class PercentField(NumberField):
    """Stored as a fraction: 4.5% is 0.045 in the API, in formulas and in the database."""

    name, label, widget, expr_type = "percent", "百分比", "percent", "percent"
    default_scale = 6

    def from_cell(self, value, f):  # type: ignore[no-untyped-def]
        if isinstance(value, str) and value.strip().endswith(("%", "％")):
            return self.coerce(to_decimal(value.strip()[:-1]) / 100, f)
        return super().from_cell(value, f)

    def cell_fast(self, f):  # type: ignore[no-untyped-def]
        number, slow = _cell_number_check(self, f, f.scale), _generic_cell(self, f)

        def cell(value: Any) -> Any:
            if value.__class__ is str and value.rstrip().endswith(("%", "％")):
                return slow(value)
            return number(value)  # what NumberField.from_cell gives, as PercentField.from_cell does

        return cell


@register
class IntegerField(FieldType):
    name, label, widget, expr_type = "integer", "整数", "integer", "integer"
    options = ("min", "max", "unit")

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return BigInteger()

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return _number_schema(f, "integer")

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        number = to_decimal(value)
        if number != number.to_integral_value():
            raise InvalidField("expected a whole number", "type")
        if abs(number) > 2**62:
            raise InvalidField("number too large", "max")
        return int(_range(number, f))

    def fast(self, f):  # type: ignore[no-untyped-def]
        slow = _generic(self, f)
        low, high = f.min, f.max

        def check(value: Any) -> Any:
            if value.__class__ is str and 0 < len(value) < 19 and value.isdigit() and value.isascii():
                value = int(value)  # plain digits, as import cells give them: what ``to_decimal`` reads
            if value.__class__ is not int or not -_INT_FAST < value < _INT_FAST:
                return slow(value)
            if low is not None and value < low:
                raise InvalidField(f"must be at least {low}", "min")
            if high is not None and value > high:
                raise InvalidField(f"must be at most {high}", "max")
            return value

        return check

    def from_cell(self, value, f):  # type: ignore[no-untyped-def]
        return self.coerce(_cell_number(value, 0), f)

    def cell_fast(self, f):  # type: ignore[no-untyped-def]
        return _cell_number_check(self, f, 0)


_INT_FAST = 2**62


@register
class RatingField(IntegerField):
    name, label, widget = "rating", "评分", "rating"
    options = ("max",)

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        number = super().coerce(value, f)
        top = int(f.max) if f.max is not None else 5
        if not 0 <= number <= top:
            raise InvalidField(f"rating must be between 0 and {top}", "max")
        return number

    def fast(self, f):  # type: ignore[no-untyped-def]
        slow, low, high = _generic(self, f), f.min, f.max
        top = int(f.max) if f.max is not None else 5

        def check(value: Any) -> Any:
            if value.__class__ is int and 0 <= value <= top and (low is None or value >= low) and (
                    high is None or value <= high):
                return value
            return slow(value)

        return check


@register
class BooleanField(FieldType):
    name, label, widget, expr_type = "boolean", "开关", "switch", "boolean"
    _true = {"true", "1", "yes", "y", "是", "对", "√"}
    _false = {"false", "0", "no", "n", "否", "错", "×"}

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return Boolean()

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "boolean"}

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        if isinstance(value, bool):
            return value
        raise InvalidField("expected true or false", "type")

    def fast(self, f):  # type: ignore[no-untyped-def]
        slow = _generic(self, f)
        return lambda value: value if value.__class__ is bool else slow(value)

    def from_cell(self, value, f):  # type: ignore[no-untyped-def]
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in self._true:
            return True
        if text in self._false:
            return False
        raise InvalidField("expected yes or no", "type")

    def cell_fast(self, f):  # type: ignore[no-untyped-def]
        slow, truthy, falsy = _generic_cell(self, f), self._true, self._false

        def cell(value: Any) -> Any:
            if value.__class__ is str:
                text = value.strip().lower()
                if text in truthy:
                    return True
                if text in falsy:
                    return False
            return slow(value)

        return cell

    def to_cell(self, value, f, locale="zh-CN"):  # type: ignore[no-untyped-def]
        if locale.startswith("zh"):
            return "是" if value else "否"
        return "yes" if value else "no"


@register
class DateField(FieldType):
    name, label, widget, expr_type = "date", "日期", "date", "date"
    options = ("min", "max")

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return Date()

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "string", "format": "date"}

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if not isinstance(value, str) or not _DATE_TEXT.fullmatch(value.strip()):
            raise InvalidField("expected a date as YYYY-MM-DD", "format")
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidField(f"{value.strip()} is not a real date", "format") from None

    def fast(self, f):  # type: ignore[no-untyped-def]
        slow, match, parse = _generic(self, f), _DATE_TEXT.fullmatch, date.fromisoformat

        def check(value: Any) -> Any:
            if value.__class__ is str and len(value) == 10 and match(value):
                try:
                    return parse(value)
                except ValueError:
                    pass  # the slow path words the error
            return slow(value)

        return check

    def cell_fast(self, f):  # type: ignore[no-untyped-def]
        slow, check, match = _generic_cell(self, f), self.compile(f), _DATE_TEXT.fullmatch

        def cell(value: Any) -> Any:
            if value.__class__ is str and len(value) == 10 and value.isascii() and match(value):
                return check(value)  # already YYYY-MM-DD: from_cell leaves it as it is
            return slow(value)

        return cell

    def from_cell(self, value, f):  # type: ignore[no-untyped-def]
        if isinstance(value, str):
            value = value.strip()
            if _MIDNIGHT.search(value):
                value = _MIDNIGHT.sub("", value)  # "2025-03-01 00:00:00" as written by other tools
            value = value.replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").rstrip("日")
            parts = value.split("-")
            if len(parts) == 3 and all(p.isdigit() for p in parts):
                value = f"{int(parts[0]):04d}-{int(parts[1]):02d}-{int(parts[2]):02d}"
        return self.coerce(value, f)

    def to_json(self, value, f):  # type: ignore[no-untyped-def]
        return None if value is None else value.isoformat()

    def to_cell(self, value, f, locale="zh-CN"):  # type: ignore[no-untyped-def]
        return value


_MIDNIGHT = re.compile(r"[ T]00:00(:00(\.0+)?)?$")


@register
class DateTimeField(FieldType):
    name, label, widget, expr_type = "datetime", "日期时间", "datetime", "datetime"

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return UtcDateTime()

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "string", "format": "date-time"}

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                raise InvalidField("expected a date and time (ISO 8601)", "format") from None
        else:
            raise InvalidField("expected a date and time (ISO 8601)", "type")
        if moment.tzinfo is None:
            raise InvalidField("date and time needs a time zone offset", "format")
        return moment.astimezone(timezone.utc)

    def fast(self, f):  # type: ignore[no-untyped-def]
        slow, parse, utc = _generic(self, f), datetime.fromisoformat, timezone.utc

        def check(value: Any) -> Any:
            if value.__class__ is str and value and "Z" not in value and not value[0].isspace() and (
                    not value[-1].isspace()):
                try:
                    moment = parse(value)  # as coerce reads it: nothing to strip, no Z to replace
                except ValueError:
                    return slow(value)  # words the error
                if moment.tzinfo is not None:
                    return moment.astimezone(utc)
            return slow(value)

        return check

    def from_cell(self, value, f):  # type: ignore[no-untyped-def]
        """Cells without an offset are localised by the importer (the app's time zone) before this."""
        if isinstance(value, str):
            value = re.sub(r"^(\d{4})/(\d{1,2})/(\d{1,2})", lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}",
                           value.strip())
        return self.coerce(value, f)

    def to_cell(self, value, f, locale="zh-CN"):  # type: ignore[no-untyped-def]
        return value

    def to_json(self, value, f):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite returns naive UTC
            value = value.replace(tzinfo=timezone.utc)
        return value.isoformat()


@register
class TimeField(FieldType):
    name, label, widget, expr_type = "time", "时间", "time", "text"

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return Time()

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"}

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        if isinstance(value, time):
            return value
        if not isinstance(value, str) or not _TIME_TEXT.fullmatch(value.strip()):
            raise InvalidField("expected a time as HH:MM", "format")
        return time.fromisoformat(value.strip())

    def fast(self, f):  # type: ignore[no-untyped-def]
        slow, match, parse = _generic(self, f), _TIME_TEXT.fullmatch, time.fromisoformat

        def check(value: Any) -> Any:
            if value.__class__ is str and value.isascii() and match(value):
                return parse(value)  # HH:MM or HH:MM:SS with nothing to strip, as coerce reads it
            return slow(value)

        return check

    def from_cell(self, value, f):  # type: ignore[no-untyped-def]
        if isinstance(value, datetime):
            value = value.time()
        elif isinstance(value, float) and 0 <= value < 1:  # a fraction of a day, as spreadsheets store times
            seconds = round(value * 86400)
            value = time(seconds // 3600, seconds // 60 % 60, seconds % 60)
        elif isinstance(value, str) and re.fullmatch(r"\d:\d{2}(:\d{2})?", value.strip()):
            value = "0" + value.strip()
        return self.coerce(value, f)

    def to_json(self, value, f):  # type: ignore[no-untyped-def]
        return None if value is None else value.strftime("%H:%M") if not value.second else value.isoformat()


_DURATION = re.compile(r"^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$")


@register
class DurationField(FieldType):
    """A length of time, stored in seconds; accepts seconds or text like ``1d 2h 30m``."""

    name, label, widget, expr_type = "duration", "时长", "duration", "integer"

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return BigInteger()

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": ["integer", "string"], "minimum": 0}

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        if isinstance(value, bool):
            raise InvalidField("expected a duration", "type")
        if isinstance(value, int):
            seconds = value
        elif isinstance(value, str) and value.strip() and (m := _DURATION.match(value.strip())):
            d, h, mi, s = (int(x or 0) for x in m.groups())
            seconds = ((d * 24 + h) * 60 + mi) * 60 + s
        else:
            raise InvalidField("expected a duration such as 90 or '1h 30m'", "format")
        if seconds < 0 or seconds > 10**10:
            raise InvalidField("duration out of range", "max")
        return seconds

    def from_cell(self, value, f):  # type: ignore[no-untyped-def]
        if isinstance(value, timedelta):
            value = int(value.total_seconds())
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, str) and (m := re.fullmatch(r"(\d+):([0-5]\d)(?::([0-5]\d))?", value.strip())):
            value = int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3] or 0)
        return self.coerce(value, f)

    def to_cell(self, value, f, locale="zh-CN"):  # type: ignore[no-untyped-def]
        d, rest = divmod(int(value), 86400)
        h, rest = divmod(rest, 3600)
        m, s = divmod(rest, 60)
        parts = [f"{n}{u}" for n, u in ((d, "d"), (h, "h"), (m, "m"), (s, "s")) if n]
        return " ".join(parts) or "0s"


def _options_schema(f) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {"enum": list(f.option_values())}


@register
class SelectField(FieldType):
    name, label, widget = "select", "下拉选择", "select"
    options = ("options",)

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return Text()

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "string", **_options_schema(f)}

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        if not isinstance(value, str) or value not in f.option_values():
            raise InvalidField(f"{value!r} is not one of the options", "enum")
        return value

    def fast(self, f):  # type: ignore[no-untyped-def]
        slow, allowed = _generic(self, f), frozenset(f.option_values())

        def check(value: Any) -> Any:
            return value if value.__class__ is str and value and value in allowed else slow(value)

        return check

    def from_cell(self, value, f):  # type: ignore[no-untyped-def]
        text = str(cell_text(value)).strip()
        for option in f.options:
            if text == option.value or text in dict(option.label.values).values():
                return option.value
        folded = text.casefold()
        for option in f.options:
            if folded == option.value.casefold() or folded in (v.casefold() for _, v in option.label.values):
                return option.value
        return self.coerce(text, f)

    def cell_fast(self, f):  # type: ignore[no-untyped-def]
        """Each option's value and labels read once with ``from_cell``; a cell holding exactly one of them gets that
        answer, any other cell the full ``from_cell``."""
        slow = _generic_cell(self, f)
        known: dict[str, Any] = {}
        for option in f.options:
            for text in (option.value, *(v for _, v in option.label.values)):
                if text and text not in known:
                    try:
                        known[text] = self.from_cell(text, f)
                    except InvalidField:
                        pass

        def cell(value: Any) -> Any:
            if value.__class__ is str:
                found = known.get(value)
                if found is not None:
                    return found
            return slow(value)

        return cell

    def to_cell(self, value, f, locale="zh-CN"):  # type: ignore[no-untyped-def]
        for option in f.options:
            if option.value == value:
                return option.label.get(locale)
        return value


@register
class RadioField(SelectField):
    name, label, widget = "radio", "单选", "radio"


@register
class MultiSelectField(FieldType):
    name, label, widget, expr_type = "multi_select", "多选下拉", "multi_select", "list"
    options = ("options",)

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return JsonColumn

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "array", "items": {"type": "string", **_options_schema(f)}, "uniqueItems": True}

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidField("expected a list of options", "type")
        allowed = f.option_values()
        bad = [v for v in value if v not in allowed]
        if bad:
            raise InvalidField(f"{bad[0]!r} is not one of the options", "enum")
        if len(set(value)) != len(value):
            raise InvalidField("an option is chosen twice", "unique")
        return [v for v in allowed if v in value]

    def fast(self, f):  # type: ignore[no-untyped-def]
        slow, order = _generic(self, f), f.option_values()
        allowed = frozenset(order)

        def check(value: Any) -> Any:
            if value.__class__ is not list or not value:
                return slow(value)
            try:
                chosen = set(value)
            except TypeError:  # an unhashable item: the slow path words the error
                return slow(value)
            if len(chosen) != len(value) or not chosen <= allowed:
                return slow(value)  # words the error
            return [v for v in order if v in chosen]

        return check

    def from_cell(self, value, f):  # type: ignore[no-untyped-def]
        if isinstance(value, list):
            return self.coerce(value, f)
        parts = [p.strip() for p in re.split(r"[,，;；、\n]", str(cell_text(value))) if p.strip()]
        select = SelectField()
        return self.coerce([select.from_cell(p, f) for p in parts], f)

    def to_cell(self, value, f, locale="zh-CN"):  # type: ignore[no-untyped-def]
        labels = {o.value: o.label.get(locale) for o in f.options}
        return ("、" if locale.startswith("zh") else ", ").join(labels.get(v, v) for v in (value or []))


@register
class CheckboxesField(MultiSelectField):
    name, label, widget = "checkboxes", "复选框", "checkboxes"
