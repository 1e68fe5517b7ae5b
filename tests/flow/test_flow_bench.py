"""The flow benchmark runs and reports the agreed row shape (the figures themselves come from bench/)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_flow.py"


@pytest.mark.slow
def test_bench_rows_have_the_agreed_keys() -> None:
    spec = importlib.util.spec_from_file_location("bench_flow", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.run(quick=True)
    assert [set(r) for r in rows] == [{"name", "ours_us", "baseline_name", "baseline_us", "ratio", "target", "met"}]
    assert rows[0]["ours_us"] > 0 and rows[0]["baseline_us"] > rows[0]["ours_us"]
