"""Shared helpers of the flow tests: fixture folders and the known roles and fields they are checked against."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the package is not installed in every checkout: import it from the tree
    sys.path.insert(0, str(ROOT))

from flow_engine import FlowSpec, load_flow_text  # noqa: E402

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
