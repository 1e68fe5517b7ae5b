"""Relative date ranges and date buckets in the app's time zone.

Ranges (``this_month``, ``last_30_days`` …) become concrete half-open windows ``[start, end)`` of local dates,
computed in Python from the platform clock and bound as parameters. A ``date`` column is compared with the dates;
a ``datetime`` column (stored in UTC) with the UTC instants of local midnight.

Buckets are computed by the database and come back as text labels that are identical on both databases:
``day`` 2026-03-02, ``week`` 2026-03-02 (the Monday), ``month`` 2026-03, ``quarter`` 2026-Q1, ``year`` 2026.

* PostgreSQL: ``to_char(date_trunc(unit, col AT TIME ZONE '<zone>'), fmt)``; ``AT TIME ZONE`` turns the stored
  instant into local wall time, so daylight-saving zones are exact.
* SQLite stores datetimes as UTC text; ``strftime(fmt, col, '+480 minutes')`` shifts them by the zone's UTC offset
  before formatting. The offset is the zone's offset now: exact for zones without daylight saving (China); for a
  daylight-saving zone, values within an hour of midnight in the other half of the year may land in the
  neighbouring day. ``date`` columns are never shifted.

The zone name and the offset come from the app definition (checked by ``zoneinfo``) and are written into the SQL
as literals, so a bucket expression is the same text in SELECT and GROUP BY.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, String, cast, func, literal_column

from engine.errors import BadRequest

_ZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$")


@dataclass(frozen=True)
class Window:
    """A half-open range of local dates ``[start, end)``."""

    start: date
    end: date

    def shift(self, kind: str) -> "Window":
        """The window a comparison looks at: ``previous_period`` or ``same_period_last_year``."""
        if kind == "same_period_last_year":
            return Window(_years_back(self.start, 1), _years_back(self.end, 1))
        span = self.end - self.start
        if self.start.day == 1 and self.end.day == 1:  # whole months: the previous months of the same count
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month
            return Window(_months_back(self.start, months), self.start)
        return Window(self.start - span, self.start)


def merged(windows: list[Window]) -> list[Window]:
    """The fewest windows covering the same days (touching or overlapping windows joined): a comparison's current
    and previous period become one range the database scans once."""
    out: list[Window] = []
    for w in sorted(windows, key=lambda w: w.start):
        if out and w.start <= out[-1].end:
            out[-1] = Window(out[-1].start, max(out[-1].end, w.end))
        else:
            out.append(w)
    return out


def _months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return day.replace(year=index // 12, month=index % 12 + 1, day=1) if day.day == 1 else _clamp(index, day.day)


def _clamp(index: int, day: int) -> date:
    year, month = index // 12, index % 12 + 1
    for d in range(day, 27, -1):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    return date(year, month, min(day, 28))


def _years_back(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def _next_month(day: date, months: int = 1) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


#: range name → today → window
RANGES: dict[str, Callable[[date], Window]] = {
    "today": lambda t: Window(t, t + timedelta(days=1)),
    "yesterday": lambda t: Window(t - timedelta(days=1), t),
    "this_week": lambda t: Window(_week_start(t), _week_start(t) + timedelta(days=7)),
    "last_week": lambda t: Window(_week_start(t) - timedelta(days=7), _week_start(t)),
    "this_month": lambda t: Window(t.replace(day=1), _next_month(t)),
    "last_month": lambda t: Window(_next_month(t, -1), t.replace(day=1)),
    "this_quarter": lambda t: Window(_quarter_start(t), _next_month(_quarter_start(t), 3)),
    "last_quarter": lambda t: Window(_next_month(_quarter_start(t), -3), _quarter_start(t)),
    "this_year": lambda t: Window(date(t.year, 1, 1), date(t.year + 1, 1, 1)),
    "last_year": lambda t: Window(date(t.year - 1, 1, 1), date(t.year, 1, 1)),
    "last_7_days": lambda t: Window(t - timedelta(days=6), t + timedelta(days=1)),
    "last_30_days": lambda t: Window(t - timedelta(days=29), t + timedelta(days=1)),
    "last_90_days": lambda t: Window(t - timedelta(days=89), t + timedelta(days=1)),
    "last_365_days": lambda t: Window(t - timedelta(days=364), t + timedelta(days=1)),
    "month_to_date": lambda t: Window(t.replace(day=1), t + timedelta(days=1)),
    "quarter_to_date": lambda t: Window(_quarter_start(t), t + timedelta(days=1)),
    "year_to_date": lambda t: Window(date(t.year, 1, 1), t + timedelta(days=1)),
}

_BUCKET_FORMATS = {"day": ("%Y-%m-%d", "YYYY-MM-DD"), "week": ("%Y-%m-%d", "YYYY-MM-DD"),
                   "month": ("%Y-%m", "YYYY-MM"), "year": ("%Y", "YYYY")}
#: the next finer bucket, for zooming into a clicked date bar
FINER = {"year": "quarter", "quarter": "month", "month": "day", "week": "day", "day": "day"}


def check_zone(name: str) -> ZoneInfo:
    if not _ZONE.match(name):
        raise ValueError(f"invalid time zone {name!r}")
    return ZoneInfo(name)


def window(name: str, today: date) -> Window:
    """The window of a relative range name; raise ``KeyError`` for an unknown name."""
    return RANGES[name](today)


def bounds(window_: Window, temporal_type: str, zone: ZoneInfo) -> tuple[Any, Any]:
    """Values to compare a column of ``temporal_type`` with: dates, or UTC instants of local midnight."""
    if temporal_type == "date":
        return window_.start, window_.end
    return (datetime.combine(window_.start, time(), zone).astimezone(timezone.utc),
            datetime.combine(window_.end, time(), zone).astimezone(timezone.utc))


def offset_minutes(zone: ZoneInfo, now: datetime) -> int:
    delta = now.astimezone(zone).utcoffset() or timedelta()
    return int(delta.total_seconds() // 60)


def bucket_key(column: ColumnElement[Any], unit: str, temporal_type: str, dialect: str, zone: ZoneInfo,
               offset: int) -> ColumnElement[Any]:
    """What a query groups a bucket by: on PostgreSQL the truncated local time (``date_trunc``), so ``to_char``
    formats each group's label once instead of every row's (the label is a function of it); on SQLite the label."""
    if dialect == "postgresql":
        local: Any = column
        if temporal_type == "datetime":
            local = column.op("AT TIME ZONE")(literal_column(f"'{zone.key}'"))
        return func.date_trunc(literal_column(f"'{unit}'"), local)
    return bucket(column, unit, temporal_type, dialect, zone, offset)


def bucket(column: ColumnElement[Any], unit: str, temporal_type: str, dialect: str, zone: ZoneInfo,
           offset: int) -> ColumnElement[str]:
    """The bucket label of ``column`` (see the module docstring)."""
    if dialect == "postgresql":
        local: Any = column
        if temporal_type == "datetime":
            local = column.op("AT TIME ZONE")(literal_column(f"'{zone.key}'"))
        trunc = func.date_trunc(literal_column(f"'{unit}'"), local)
        fmt = 'YYYY-"Q"Q' if unit == "quarter" else _BUCKET_FORMATS[unit][1]
        return func.to_char(trunc, literal_column(f"'{fmt}'"), type_=String())
    mods = [literal_column(f"'{offset:+d} minutes'")] if temporal_type == "datetime" else []
    if unit == "week":
        return func.date(column, *mods, literal_column("'weekday 0'"), literal_column("'-6 days'"), type_=String())
    if unit == "quarter":
        year = func.strftime(literal_column("'%Y'"), column, *mods)
        month = cast(func.strftime(literal_column("'%m'"), column, *mods), Integer)
        quarter = cast((month + literal_column("2")).self_group().op("/")(literal_column("3")), String)  # whole division
        return year.concat(literal_column("'-Q'")).concat(quarter)
    return func.strftime(literal_column(f"'{_BUCKET_FORMATS[unit][0]}'"), column, *mods, type_=String())


def bucket_window(unit: str, label: str) -> Window:
    """The window of one bucket label (for drill-down and zoom); ``BadRequest`` when the label is malformed."""
    try:
        if unit in ("day", "week"):
            start = date.fromisoformat(label)
            if unit == "week" and start.weekday() != 0:
                raise ValueError
            return Window(start, start + timedelta(days=1 if unit == "day" else 7))
        if unit == "month":
            match = re.fullmatch(r"(\d{4})-(\d{2})", label)
            if not match:
                raise ValueError
            start = date(int(match[1]), int(match[2]), 1)
            return Window(start, _next_month(start))
        if unit == "quarter":
            match = re.fullmatch(r"(\d{4})-Q([1-4])", label)
            if not match:
                raise ValueError
            start = date(int(match[1]), (int(match[2]) - 1) * 3 + 1, 1)
            return Window(start, _next_month(start, 3))
        if not re.fullmatch(r"\d{4}", label):
            raise ValueError
        return Window(date(int(label), 1, 1), date(int(label) + 1, 1, 1))
    except ValueError:
        raise BadRequest(f"'{label[:40]}' is not a {unit} bucket") from None
