"""Business time: adding a duration counted only in working hours on working days that are not holidays.

Working days are the calendar's weekdays, minus its holidays, plus its adjusted working days (调休: a Saturday or
Sunday worked to make up for a holiday). Working hours may start and end at any minute (09:30–17:45).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Union

#: An hour of the day (``9``) or a time (``time(9, 30)``); 24 (or ``time(0)`` as an end) is midnight at the end.
Clock = Union[int, time]

#: Longest stretch of calendar days ``add`` walks before giving up (a calendar with no working time).
MAX_DAYS = 3660


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours (``(9, 18)`` = 09:00–18:00, ``(time(9, 30), time(17, 45))``), working weekdays (Monday = 0),
    holiday dates and adjusted working days (weekend dates that are worked)."""

    working_hours: tuple[Clock, Clock] = (9, 18)
    workdays: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))
    holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "extra_workdays", frozenset(self.extra_workdays))
        start, end = (_minutes(c, i == 1) for i, c in enumerate(self.working_hours))
        if not 0 <= start < end <= 24 * 60:
            raise ValueError(f"working hours must be 0 ≤ start < end ≤ 24, got {self.working_hours}")
        object.__setattr__(self, "_span", (start, end))

    def is_working_day(self, day: date) -> bool:
        """True if ``day`` is an adjusted working day, or a workday that is not a holiday."""
        if day in self.extra_workdays:
            return True
        return day.weekday() in self.workdays and day not in self.holidays

    def _bounds(self, day: date, like: datetime) -> tuple[datetime, datetime]:
        start, end = self._span  # type: ignore[attr-defined]
        midnight = datetime.combine(day, time(0), tzinfo=like.tzinfo)
        return midnight + timedelta(minutes=start), midnight + timedelta(minutes=end)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of business time after ``start``.

        Whole days count as working days (``2d`` = the same working time two working days later); the rest of
        ``duration`` counts as working hours and minutes.
        """
        moment = self._working_moment(start)
        for _ in range(duration.days):
            moment = self._next_working_day(moment)
        return self._add_hours(moment, duration - timedelta(days=duration.days))

    def _working_moment(self, moment: datetime) -> datetime:
        """``moment`` if it is working time, else the next opening."""
        for _ in range(MAX_DAYS):
            opens, closes = self._bounds(moment.date(), moment)
            if self.is_working_day(moment.date()) and moment < closes:
                return max(moment, opens)
            moment = datetime.combine(moment.date() + timedelta(days=1), time(0), tzinfo=moment.tzinfo)
        raise ValueError(f"no working time within {MAX_DAYS} days")

    def _next_working_day(self, moment: datetime) -> datetime:
        day = moment.date()
        for _ in range(MAX_DAYS):
            day += timedelta(days=1)
            if self.is_working_day(day):
                return datetime.combine(day, moment.timetz())
        raise ValueError(f"no working day within {MAX_DAYS} days")

    def _add_hours(self, start: datetime, duration: timedelta) -> datetime:
        remaining = duration
        moment = start
        for _ in range(MAX_DAYS):
            day = moment.date()
            opens, closes = self._bounds(day, moment)
            if self.is_working_day(day) and moment < closes:
                moment = max(moment, opens)
                available = closes - moment
                if remaining <= available:
                    return moment + remaining
                remaining -= available
            moment = datetime.combine(day + timedelta(days=1), time(0), tzinfo=moment.tzinfo)
        raise ValueError(f"no working time within {MAX_DAYS} days of {start.isoformat()}")


def _minutes(clock: Clock, is_end: bool) -> int:
    """Minutes after midnight of an hour (``9``) or a time; an end at ``time(0)`` means midnight at the day's end."""
    if isinstance(clock, time):
        minutes = clock.hour * 60 + clock.minute
        return 24 * 60 if is_end and minutes == 0 else minutes
    return int(clock) * 60
