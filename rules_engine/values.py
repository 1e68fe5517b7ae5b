"""Language values and the conversion of record values into them.

Inside an expression there are only plain values: ``None`` (blank), ``bool``, ``str``, ``decimal.Decimal``,
``datetime.date``, ``datetime.datetime`` and lists of those. Record values are converted on read: ``int`` and
``float`` become ``Decimal`` (a float through ``str()``, so ``0.1`` stays ``0.1``), ISO text becomes a date.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Mapping

from .errors import EvalError
from .limits import CONTEXT, MAX_LIST_ITEMS, MAX_TEXT_LENGTH


def to_number(value: Any) -> Decimal | None:
    """A record value as a number; ``None`` and ``""`` are blank."""
    kind = type(value)
    if kind is Decimal or value is None:
        return value
    if kind is int:
        return Decimal(value)
    if kind is float:
        return Decimal(str(value))
    if kind is str:
        text = value.strip()
        if not text:
            return None
        try:
            return Decimal(text.replace(",", ""))
        except InvalidOperation:
            raise EvalError(f"'{value[:40]}' is not a number", "type_error") from None
    if isinstance(value, Decimal):
        return Decimal(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(int(value))
    raise EvalError(f"expected a number, got {_kind(value)}", "type_error")


def to_text(value: Any) -> str | None:
    """A record value as text."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (Decimal, int, float)) and not isinstance(value, bool):
        return format_number(to_number(value))
    raise EvalError(f"expected text, got {_kind(value)}", "type_error")


def to_date(value: Any) -> date | None:
    """A record value as a date (a datetime gives its date)."""
    if value is None or type(value) is date:
        return value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            raise EvalError(f"'{value[:40]}' is not a date (use YYYY-MM-DD)", "type_error") from None
    raise EvalError(f"expected a date, got {_kind(value)}", "type_error")


def to_datetime(value: Any) -> datetime | date | None:
    """A record value as a datetime (a plain date stays a date)."""
    if value is None or isinstance(value, (datetime, date)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise EvalError(f"'{value[:40]}' is not a date and time (use ISO 8601)", "type_error") from None
    raise EvalError(f"expected a date and time, got {_kind(value)}", "type_error")


def to_boolean(value: Any) -> bool | None:
    """A record value as a boolean (``"true"``/``"false"`` text accepted)."""
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "yes", "1"):
            return True
        if low in ("false", "no", "0", ""):
            return False
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return value != 0
    raise EvalError(f"expected true or false, got {_kind(value)}", "type_error")


def to_list(value: Any) -> list[Any] | None:
    """A record value as a list of plain values."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_LIST_ITEMS:
            raise EvalError(f"list longer than {MAX_LIST_ITEMS} items", "too_large")
        return [to_plain(item) for item in value]
    raise EvalError(f"expected a list, got {_kind(value)}", "type_error")


def to_plain(value: Any) -> Any:
    """Any record value as a plain language value; mappings stay mappings (readable by field paths only)."""
    if value is None or type(value) in (str, bool, Decimal, date, datetime):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float, Decimal)):
        return to_number(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value
    if isinstance(value, (list, tuple)):
        return to_list(value)
    if isinstance(value, Mapping):
        return value
    raise EvalError(f"a value of type {_kind(value)} cannot be used in an expression", "type_error")


def to_rows(value: Any) -> list[Any]:
    """A sub-table value as a list of row mappings (blank is no rows)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_LIST_ITEMS:
            raise EvalError(f"sub-table longer than {MAX_LIST_ITEMS} rows", "too_large")
        return value if isinstance(value, list) else list(value)
    raise EvalError(f"expected sub-table rows, got {_kind(value)}", "type_error")


#: Converter for each declared value type.
CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "text": to_text,
    "number": to_number,
    "integer": to_number,
    "money": to_number,
    "percent": to_number,
    "date": to_date,
    "datetime": to_datetime,
    "boolean": to_boolean,
    "list": to_list,
    "any": to_plain,
}


def format_number(value: Decimal | None) -> str | None:
    """A number as plain text without exponent when it is of reasonable size (``1E+2`` → ``100``)."""
    if value is None:
        return None
    if value == value.to_integral_value() and abs(value.adjusted()) <= 40:
        return str(value.quantize(Decimal(1), context=CONTEXT)) if value.adjusted() < 34 else f"{value:f}"
    if -40 <= value.adjusted() <= 40:
        text = f"{value.normalize(CONTEXT):f}"
        return text
    return str(value)


def check_text(value: str) -> str:
    """Refuse text longer than the sandbox allows."""
    if len(value) > MAX_TEXT_LENGTH:
        raise EvalError(f"text longer than {MAX_TEXT_LENGTH} characters", "too_large")
    return value


def to_json(value: Any) -> Any:
    """A language value as JSON data: numbers as text (exact), dates as ISO text."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Decimal):
        return format_number(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    return str(value)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (date, datetime)):
        return "a date"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a record"
    return type(value).__name__
