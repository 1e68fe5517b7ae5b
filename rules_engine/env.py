"""The evaluation environment: clock, time zone, current user, holiday calendar and working days.

An ``Env`` is passed to every evaluation explicitly; nothing is read from globals, so tests move time by giving a
clock. ``Env()`` works with no arguments: system clock, Asia/Shanghai, no user, Monday to Friday, no holidays.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from types import MappingProxyType
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from .limits import DEFAULT_TIME_BUDGET


def system_clock() -> datetime:
    """The real time, time-zone aware (UTC)."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Env:
    """Everything an evaluation may know besides the record.

    Attributes:
        clock: returns the current aware datetime; NOW() and TODAY() read it.
        timezone: IANA zone name used by TODAY() and NOW().
        user: the current user: ``{"id", "username", "name", "roles", "department"}``.
        holidays: dates that are not working days (NETWORKDAYS).
        workdays: weekdays that are working days, Monday = 0.
        extra_workdays: dates that are working days although they fall on a weekend (adjusted working days).
        names: values of the scope's extra names.
        time_budget: seconds an evaluation may spend in functions that iterate.
    """

    clock: Callable[[], datetime] = system_clock
    timezone: str = "Asia/Shanghai"
    user: Mapping[str, Any] | None = None
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    extra_workdays: frozenset[date] = frozenset()
    names: Mapping[str, Any] = field(default_factory=dict)
    time_budget: float = DEFAULT_TIME_BUDGET
    tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", ZoneInfo(self.timezone))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        object.__setattr__(self, "extra_workdays", frozenset(self.extra_workdays))
        object.__setattr__(self, "names", MappingProxyType(dict(self.names)))

    def now(self) -> datetime:
        """The current time in the environment's time zone."""
        value = self.clock()
        if value.tzinfo is None:
            raise ValueError("Env.clock must return an aware datetime")
        return value.astimezone(self.tz)

    def today(self) -> date:
        """Today's date in the environment's time zone."""
        return self.now().date()

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` is a working day under this calendar."""
        if day in self.holidays:
            return False
        return day.weekday() in self.workdays or day in self.extra_workdays


#: The environment used when none is given.
DEFAULT_ENV = Env()
