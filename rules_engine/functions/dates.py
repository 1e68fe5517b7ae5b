"""Date functions: DATE, YEAR, MONTH, DAY, WEEKDAY, DATEADD, EDATE, EOMONTH, DATEDIF, DAYS, NETWORKDAYS, TODAY, NOW.

TODAY() and NOW() read the ``Env`` clock in the ``Env`` time zone; NETWORKDAYS uses the ``Env`` working days,
holidays and adjusted working days (plus any holidays given as a third argument).
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ..env import Env
from ..errors import EvalError
from ..limits import MAX_DAY_SPAN
from .args import check_deadline, day, items, whole
from .registry import function

_UNITS = {"year": "years", "years": "years", "month": "months", "months": "months", "week": "weeks",
          "weeks": "weeks", "day": "days", "days": "days", "hour": "hours", "hours": "hours", "minute": "minutes",
          "minutes": "minutes", "second": "seconds", "seconds": "seconds"}


def add_months(start: date, months: int) -> date:
    """``start`` moved by whole months, the day clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise EvalError("date out of range", "date_out_of_range")
    last = calendar.monthrange(year, month + 1)[1]
    return start.replace(year=year, month=month + 1, day=min(start.day, last))


def _moment(value: Any, fn: str) -> date | None:
    if isinstance(value, datetime) or value is None:
        return value
    return day(value, fn)


@function("DATE", ["number", "number", "number"], returns="date", category="date",
          doc="The date of a year, month and day.", example="DATE(2024, 12, 31)")
def date_(year: Any, month: Any, dom: Any) -> date:
    try:
        return date(whole(year, "DATE", 1, 9999), whole(month, "DATE", 1, 12), whole(dom, "DATE", 1, 31))
    except ValueError:
        raise EvalError("DATE: no such day in that month", "invalid_value") from None


def _part(name: str, attr: str, doc: str, example: str) -> None:
    def run(value: Any) -> Decimal | None:
        d = day(value, name)
        return None if d is None else Decimal(getattr(d, attr))
    function(name, ["date"], returns="integer", category="date", doc=doc, example=example)(run)


_part("YEAR", "year", "The year of a date.", "YEAR(due)")
_part("MONTH", "month", "The month of a date, 1 to 12.", "MONTH(due)")
_part("DAY", "day", "The day of the month, 1 to 31.", "DAY(due)")


@function("WEEKDAY", ["date", "number"], min_args=1, returns="integer", category="date",
          doc="Day of the week: type 1 (default) Sunday=1..Saturday=7, type 2 Monday=1..Sunday=7, "
              "type 3 Monday=0..Sunday=6.", example="WEEKDAY(due, 2)")
def weekday(value: Any, kind: Any = None) -> Decimal | None:
    d = day(value, "WEEKDAY")
    style = 1 if kind is None else whole(kind, "WEEKDAY", 1, 3)
    if d is None:
        return None
    monday0 = d.weekday()
    return Decimal({1: (monday0 + 1) % 7 + 1, 2: monday0 + 1, 3: monday0}[style])


@function("DATEADD", ["date", "number", "text"], min_args=2, returns=lambda ts: "datetime" if ts[0] == "datetime"
          else "date", category="date",
          doc='A date moved by a number of units: "day" (default), "week", "month", "year", "hour", "minute", '
              '"second".', example='DATEADD(due, 3, "month")')
def dateadd(value: Any, amount: Any, unit: Any = "day") -> date | None:
    start = _moment(value, "DATEADD")
    name = _UNITS.get(str(unit).lower()) if isinstance(unit, str) else None
    if name is None:
        raise EvalError(f"DATEADD: unknown unit {unit!r}; use day, week, month, year, hour, minute or second",
                        "invalid_value")
    if start is None or amount is None:
        return None
    if name in ("years", "months"):
        n = whole(amount, "DATEADD", -120_000, 120_000)
        return add_months(start, n * 12 if name == "years" else n)
    limit = {"weeks": MAX_DAY_SPAN // 7, "days": MAX_DAY_SPAN, "hours": MAX_DAY_SPAN * 24,
             "minutes": MAX_DAY_SPAN * 1440, "seconds": MAX_DAY_SPAN * 86400}[name]
    n = whole(amount, "DATEADD", -limit, limit)
    if name in ("hours", "minutes", "seconds") and not isinstance(start, datetime):
        start = datetime(start.year, start.month, start.day)
    return start + timedelta(**{name: n})


@function("EDATE", ["date", "number"], returns="date", category="date",
          doc="The same day a number of months later (earlier when negative), clamped to the month's end.",
          example="EDATE(start, 12)")
def edate(value: Any, months: Any) -> date | None:
    d = day(value, "EDATE")
    return None if d is None else add_months(d, whole(months, "EDATE", -120_000, 120_000))


@function("EOMONTH", ["date", "number"], min_args=1, returns="date", category="date",
          doc="The last day of the month, a number of months after the date's month.", example="EOMONTH(due, 0)")
def eomonth(value: Any, months: Any = None) -> date | None:
    d = day(value, "EOMONTH")
    if d is None:
        return None
    moved = add_months(d.replace(day=1), 0 if months is None else whole(months, "EOMONTH", -120_000, 120_000))
    return moved.replace(day=calendar.monthrange(moved.year, moved.month)[1])


@function("DATEDIF", ["date", "date", "text"], returns="integer", category="date",
          doc='Whole units between two dates: "Y" years, "M" months, "D" days, "YM" months beyond years, '
              '"MD" days beyond months, "YD" days beyond years.', example='DATEDIF(birth, TODAY(), "Y")')
def datedif(start: Any, end: Any, unit: Any) -> Decimal | None:
    a, b = day(start, "DATEDIF"), day(end, "DATEDIF")
    if a is None or b is None:
        return None
    if a > b:
        raise EvalError("DATEDIF: the start date is after the end date", "invalid_value")
    code = str(unit).upper() if isinstance(unit, str) else ""
    months = (b.year - a.year) * 12 + b.month - a.month - (1 if b.day < a.day else 0)
    if code == "Y":
        return Decimal(months // 12)
    if code == "M":
        return Decimal(months)
    if code == "D":
        return Decimal((b - a).days)
    if code == "YM":
        return Decimal(months % 12)
    if code == "MD":
        return Decimal((b - add_months(a, months)).days)
    if code == "YD":
        anniversary = add_months(a, (months // 12) * 12)
        return Decimal((b - anniversary).days)
    raise EvalError(f"DATEDIF: unknown unit {unit!r}; use Y, M, D, YM, MD or YD", "invalid_value")


@function("DAYS", ["date", "date"], returns="integer", category="date",
          doc="The number of days from the second date to the first (end, start).", example="DAYS(due, TODAY())")
def days(end: Any, start: Any) -> Decimal | None:
    b, a = day(end, "DAYS"), day(start, "DAYS")
    return None if a is None or b is None else Decimal((b - a).days)


@function("NETWORKDAYS", ["date", "date", "list"], min_args=2, returns="integer", needs_env=True, iterates=True,
          category="date",
          doc="Working days from start to end, both included, under the app's calendar (Env working days, "
              "holidays and adjusted working days) and any extra holidays given.",
          example="NETWORKDAYS(received, TODAY())")
def networkdays(env: Env, deadline: float, start: Any, end: Any, extra: Any = None) -> Decimal | None:
    a, b = day(start, "NETWORKDAYS"), day(end, "NETWORKDAYS")
    if a is None or b is None:
        return None
    sign = 1
    if a > b:
        a, b, sign = b, a, -1
    span = (b - a).days + 1
    if span > MAX_DAY_SPAN:
        raise EvalError(f"NETWORKDAYS spans more than {MAX_DAY_SPAN} days", "out_of_range")
    holidays = set(env.holidays)
    for item in items(extra, "NETWORKDAYS"):
        if item is not None:
            holidays.add(day(item, "NETWORKDAYS"))  # type: ignore[arg-type]
    weeks, rest = divmod(span, 7)
    total = weeks * len(env.workdays)
    for offset in range(rest):
        if (a + timedelta(days=weeks * 7 + offset)).weekday() in env.workdays:
            total += 1
    check_deadline(deadline, "NETWORKDAYS")
    for holiday in holidays:
        if a <= holiday <= b and holiday.weekday() in env.workdays:
            total -= 1
    for extra_day in env.extra_workdays:
        if a <= extra_day <= b and extra_day.weekday() not in env.workdays and extra_day not in holidays:
            total += 1
    return Decimal(sign * total)


@function("TODAY", [], returns="date", needs_env=True, category="date",
          doc="Today's date in the app's time zone (from the environment's clock).", example="TODAY()")
def today(env: Env) -> date:
    return env.today()


@function("NOW", [], returns="datetime", needs_env=True, category="date",
          doc="The current date and time in the app's time zone (from the environment's clock).", example="NOW()")
def now(env: Env) -> datetime:
    return env.now()
