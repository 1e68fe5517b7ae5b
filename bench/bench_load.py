"""Load (issue 9): simulated staff against a real ``loomwork serve`` on loopback — see ``bench/load/harness.py``.

``make bench`` runs the quick variant (50 staff for 10 s, on PostgreSQL with 4 workers and on SQLite with one
process) in both modes; the full run (200 staff, 60 s) is ``python bench/load/harness.py`` and its figures are in
``docs/performance.md`` (section *Load*). Each row compares PostgreSQL × 4 workers with SQLite × 1 process; ``met``
means no request failed and the counts reconciled on both (every submitted request in exactly one state, every
approval counted once).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "load"))

import harness  # noqa: E402

USERS, SECONDS = 50, 10.0


def run(quick: bool) -> list[dict[str, Any]]:
    del quick  # the full 60 s × 200 staff run is too long for `make bench`: always the quick variant here
    pg = harness.run("postgresql", users=USERS, duration=SECONDS, workers=4, log=lambda m: print(m, file=sys.stderr))
    lite = harness.run("sqlite", users=USERS, duration=SECONDS, workers=1, log=lambda m: print(m, file=sys.stderr))
    print(harness.render([pg, lite]), file=sys.stderr)
    met = pg.ok and lite.ok
    target = "0 errors, counts reconcile"
    rows = []
    for label, op, key in [("all requests p50", "all", "p50_ms"), ("all requests p99", "all", "p99_ms"),
                           ("approve task p50", "approve task", "p50_ms"),
                           ("view dashboard p50", "view dashboard", "p50_ms")]:
        ours = pg.ops.get(op, {}).get(key)
        base = lite.ops.get(op, {}).get(key)
        rows.append({"name": f"{USERS} staff {SECONDS:.0f} s, PostgreSQL ×4 workers: {label}",
                     "ours_us": None if ours is None else ours * 1000, "baseline_name": "SQLite ×1 process",
                     "baseline_us": None if base is None else base * 1000,
                     "ratio": (ours / base) if ours and base else None, "target": target, "met": met})
    rows.append({"name": (f"throughput req/s (PostgreSQL {pg.ops['all']['rps']:.0f}, SQLite {lite.ops['all']['rps']:.0f}); "
                          f"errors {pg.ops['all']['errors']:.0f}/{lite.ops['all']['errors']:.0f}; reconciled "
                          f"{not pg.reconciliation['problems']}/{not lite.reconciliation['problems']}"),
                 "target": target, "met": met})
    return rows
