"""Shared helpers of the flow tests: fixture folders and the known roles and fields they are checked against."""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package is not installed in every checkout: import it from the tree
    sys.path.insert(0, str(ROOT))

from flow_engine import FlowSpec, MemoryDirectory, load_flow_text  # noqa: E402

DATA = Path(__file__).parent / "data"
CONTEXT = yaml.safe_load((DATA / "context.yaml").read_text())


def load(name: str, **options: Any) -> FlowSpec:
    """Load ``data/<name>.yaml`` with the fixture roles and fields."""
    text = (DATA / f"{name}.yaml").read_text()
    options.setdefault("roles", CONTEXT["roles"])
    options.setdefault("fields", CONTEXT["fields"])
    return load_flow_text(text, f"{name}.yaml", **options)


def load_text(text: str, **options: Any) -> FlowSpec:
    """Load a flow written inline in a test."""
    options.setdefault("roles", CONTEXT["roles"])
    options.setdefault("fields", CONTEXT["fields"])
    return load_flow_text(text, "inline.yaml", **options)


@pytest.fixture
def context() -> dict[str, Any]:
    return CONTEXT


NOW = datetime(2024, 1, 8, 10, 0)  # a Monday, 10:00


def directory() -> MemoryDirectory:
    """A small organisation: sales (managed by bob) and finance (by carol) under the company (carol)."""
    users = {"alice": "sales", "bob": "sales", "carol": "company", "dave": "sales", "erin": "finance",
             "fin1": "finance", "fin2": "finance", "fin3": "finance", "dir1": "finance", "dir2": "finance",
             "dir3": "finance", "hr1": "hr", "boss": "company", "admin1": "it", "u1": "ops", "u2": "ops", "u3": "ops",
             "u4": "ops", "aud1": "audit", "cfo1": "company"}
    roles = {"finance_officer": ["fin1", "fin2"], "finance_director": ["dir1", "dir2", "dir3"], "hr_officer": ["hr1"],
             "admin": ["admin1"], "auditor": ["aud1"], "cfo": ["cfo1"], "team_lead": ["bob"]}
    departments = {"sales": ("company", "bob"), "finance": ("company", "carol"), "company": (None, "carol"),
                   "hr": ("company", None), "it": ("company", None), "ops": ("company", None), "audit": ("company", None)}
    return MemoryDirectory(users, roles, departments)


def act_as(flow: FlowSpec, state: Any, user: str, action: str = "approve", payload: Any = None, **kw: Any) -> Any:
    """Act on ``user``'s first open task; return the new state (effects in ``state.__effects`` are dropped)."""
    from flow_engine import act

    task = next(t for t in state.open_tasks() if t.assignee == user)
    kw.setdefault("directory", directory())
    new_state, _ = act(flow, state, task.id, user, action, kw.pop("now", NOW), payload, **kw)
    return new_state
