"""The loan app's flows (app_definitions/loan/flows/, kind ``flow``) with the organisation of its org.yaml as the
flow runtime's directory and the app's working hours and holidays as its business calendar."""
from __future__ import annotations

from datetime import date
from typing import Any

from flow_engine import BusinessCalendar, FlowSpec, MemoryDirectory

def load(app: Any, name: str) -> FlowSpec:
    """The flow ``name`` as the platform loaded and checked it with the app."""
    return app.of_kind("flow")[name]


def directory(app: Any) -> MemoryDirectory:
    """The demo organisation of org.yaml as the flow engine's directory (users by username)."""
    org = app.org
    roles: dict[str, list[str]] = {}
    for user in org.users:
        for role in user.roles:
            roles.setdefault(role, []).append(user.username)
    return MemoryDirectory(users={u.username: u.department for u in org.users}, roles=roles,
                           departments={d.key: (d.parent, d.manager) for d in org.departments})


def calendar(app: Any) -> BusinessCalendar:
    s = app.settings
    return BusinessCalendar(working_hours=(s.work_start.hour, s.work_end.hour), workdays=s.work_days,
                            holidays=frozenset(d for d in s.holidays if isinstance(d, date)))
