"""Flow engine benchmark: drive instances of a four-level approval (one 3-person countersign, one branch) from
start to end with Loomwork's in-memory runtime, against SpiffWorkflow running the BPMN exported from the same
definition (with the simpleeval script engine of the differential test). Both sides resolve the same assignees
and approve every task; the ratio is measured in the same run.

    python bench/bench_flow.py [--quick]      # --quick: 500 instances instead of 10,000
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests" / "flow"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from flow_engine import MemoryDirectory, act, load_flow_text, start  # noqa: E402
from spiff_harness import LoomScriptEngine, spiff_run, spiff_spec  # noqa: E402

TARGET = 5.0
NOW = datetime(2024, 1, 8, 10, 0)
FLOW = """
key: four_levels
form: purchase
nodes:
  - {id: start, type: start}
  - {id: level1, type: approval, assignees: {manager_of: initiator}}
  - {id: level2, type: approval, assignees: {role: finance_officer}}
  - {id: level3, type: approval, assignees: {role: board}, mode: all}
  - {id: level4, type: approval, assignees: {role: cfo}}
  - {id: approved, type: end, outcome: approved}
edges:
  - {from: start, to: level1}
  - {from: level1, to: level2}
  - {from: level2, to: level3, if: "amount > 10000"}
  - {from: level2, to: level4, default: true}
  - {from: level3, to: level4}
  - {from: level4, to: approved}
"""


def directory() -> MemoryDirectory:
    users = {"alice": "sales", "bob": "sales", "fin1": "finance", "b1": "board", "b2": "board", "b3": "board",
             "cfo1": "board"}
    roles = {"finance_officer": ["fin1"], "board": ["b1", "b2", "b3"], "cfo": ["cfo1"]}
    return MemoryDirectory(users, roles, {"sales": (None, "bob"), "finance": (None, None), "board": (None, None)})


def records(count: int) -> list[dict[str, Any]]:
    """Half the records take the countersign branch."""
    return [{"amount": 50000 if i % 2 else 5000} for i in range(count)]


def run_ours(flow: Any, rows: list[dict[str, Any]], org: MemoryDirectory) -> float:
    began = time.perf_counter()
    for values in rows:
        state, _ = start(flow, values, "alice", org, NOW)
        while state.status == "running":
            task = state.open_tasks()[0]
            state, _ = act(flow, state, task.id, task.assignee, "approve", NOW, directory=org)
        assert state.outcome == "approved"
    return time.perf_counter() - began


def run_spiff(flow: Any, rows: list[dict[str, Any]], org: MemoryDirectory) -> float:
    spec = spiff_spec(flow)
    engine = LoomScriptEngine()
    began = time.perf_counter()
    for values in rows:
        spiff_run(flow, spec, values, "alice", org, engine)
    return time.perf_counter() - began


def run(quick: bool = False) -> list[dict[str, Any]]:
    """Measure both engines; one row per figure."""
    count = 500 if quick else 10_000
    flow = load_flow_text(FLOW, "bench/four_levels.yaml")
    org = directory()
    rows = records(count)
    run_ours(flow, rows[:50], org)  # warm up both
    run_spiff(flow, rows[:10], org)
    ours = run_ours(flow, rows, org) / count * 1e6
    spiff = run_spiff(flow, rows, org) / count * 1e6
    ratio = spiff / ours
    return [{"name": f"flow instance start→end ({count} instances, 4 levels, countersign of 3, one branch)",
             "ours_us": round(ours, 1), "baseline_name": "SpiffWorkflow 3 running the exported BPMN",
             "baseline_us": round(spiff, 1), "ratio": round(ratio, 1), "target": f"≥{TARGET:g}×",
             "met": ratio >= TARGET}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 instances instead of 10,000")
    args = parser.parse_args()
    print("| figure | ours (µs/instance) | baseline | baseline (µs/instance) | ratio | target | met |")
    print("| --- | ---: | --- | ---: | ---: | --- | --- |")
    for row in run(args.quick):
        print(f"| {row['name']} | {row['ours_us']} | {row['baseline_name']} | {row['baseline_us']} | "
              f"{row['ratio']}× | {row['target']} | {'yes' if row['met'] else 'no'} |")


if __name__ == "__main__":
    main()
