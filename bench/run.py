"""The benchmark harness behind ``make bench``.

Every ``bench/bench_*.py`` module has ``run(quick: bool) -> list[dict]``; each row is one figure measured against a
peer or a hand-written baseline in the same run, with the keys ``name, ours_us, baseline_name, baseline_us, ratio,
target, met`` (``met`` is None for reference rows). The harness prints one markdown table and, with ``--write``,
replaces the rows of the areas it ran in ``docs/performance.md`` (the other areas' rows stay, each area
noting when and with which command it was measured).

    .venv/bin/python bench/run.py [--quick] [--write] [--only flow,rules]
"""
from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def modules(only: set[str] | None) -> list[Path]:
    found = sorted((ROOT / "bench").glob("bench_*.py"))
    return [p for p in found if only is None or p.stem.removeprefix("bench_") in only]


def load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # so pydantic and dataclasses can resolve the module's names
    spec.loader.exec_module(module)
    return module


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3g}" if value < 100 else f"{value:,.0f}"
    return str(value)


def table(results: list[tuple[str, list[dict[str, Any]]]]) -> str:
    lines = ["| area | figure | Loomwork (µs) | baseline | baseline (µs) | ratio | target | met |",
             "| --- | --- | ---: | --- | ---: | ---: | --- | --- |"]
    for area, rows in results:
        for r in rows:
            met = "n/a" if r.get("met") is None else ("yes" if r["met"] else "**no**")
            lines.append(f"| {area} | {r['name']} | {fmt(r.get('ours_us'))} | {r.get('baseline_name', '')} | "
                         f"{fmt(r.get('baseline_us'))} | {fmt(r.get('ratio'))} | {r.get('target', '')} | {met} |")
    return "\n".join(lines)


def write_doc(text: str, command: str, areas: list[str]) -> None:
    """Replace the rows of the areas just measured and keep the others' rows (each area says when and how it was
    measured), so ``--only`` runs add up to one table."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()} ({platform.python_implementation()} {platform.python_version()}, {sys.platform})"
    doc = DOC.read_text() if DOC.exists() else "# Performance\n\n" + BEGIN + "\n" + END + "\n"
    old_rows: list[str] = []
    old_notes: dict[str, str] = {}
    if BEGIN in doc and END in doc:
        inside = doc.split(BEGIN, 1)[1].split(END, 1)[0]
        for line in inside.splitlines():
            if line.startswith("| ") and not line.startswith("| area ") and not line.startswith("| ---"):
                old_rows.append(line)
            elif line.startswith("- `") and "`: measured" in line:
                old_notes[line[3:line.index("`", 3)]] = line
    kept = [r for r in old_rows if r.split("|")[1].strip() not in areas]
    notes = {**old_notes, **{a: f"- `{a}`: measured {stamp} on {machine} with `{command}`" for a in areas}}
    lines = text.splitlines()
    order = [a for a in notes if a not in areas] + areas
    body = lines[:2] + sorted(kept + lines[2:], key=lambda r: order.index(r.split("|")[1].strip())
                              if r.split("|")[1].strip() in order else len(order))
    block = BEGIN + "\n" + "\n".join(notes[a] for a in sorted(notes, key=order.index)) + "\n\n" + \
        "\n".join(body) + "\n" + END
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        doc = head + block + rest.split(END, 1)[1]
    else:
        doc += "\n" + block + "\n"
    DOC.write_text(doc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Loomwork's benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer records and repetitions (a smoke run)")
    parser.add_argument("--write", action="store_true", help="write the table into docs/performance.md")
    parser.add_argument("--only", help="comma-separated areas, e.g. flow,rules")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    results: list[tuple[str, list[dict[str, Any]]]] = []
    failed = False
    for path in modules(only):
        area = path.stem.removeprefix("bench_")
        start = time.perf_counter()
        try:
            rows = load(path).run(args.quick)
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            rows = [{"name": "benchmark failed (see log)", "met": False}]
            failed = True
        print(f"# {area}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
        results.append((area, rows))
    text = table(results)
    print(text)
    if args.write:
        given = sys.argv[1:] if argv is None else argv
        write_doc(text, "make bench" if given == ["--write"] else "bench/run.py " + " ".join(given),
                  [area for area, _ in results])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
