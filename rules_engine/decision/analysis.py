"""Load-time checks of a decision table: overlapping rows (for UNIQUE) and gaps over declared input domains.

Both work on candidate values: for each input, the values written in its cells, the points just beside them and
the midpoints between them. Every region where cells agree or differ contains such a point, so testing the
compiled cells on the candidates decides overlap and coverage exactly for comparisons, ranges and lists.
Expression cells cannot be decided this way: a row with one is never reported as overlapping, and is assumed to
cover its column when searching for gaps. Inputs without a domain are ignored by the gap search.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any, Iterator

from ..env import DEFAULT_ENV
from ..scope import NUMBER_TYPES
from .cells import Cell

if TYPE_CHECKING:
    from .table import DecisionTable, InputSpec

#: Most gaps reported for one table.
MAX_GAPS_REPORTED = 5
#: Most input combinations the gap search visits.
MAX_GAP_STEPS = 200_000
_OTHER = "\x00other"


def _constants(cells: list[Cell]) -> list[Any]:
    out: list[Any] = []
    for cell in cells:
        for value in cell.constants:
            out.extend(value if isinstance(value, tuple) else [value])
    return [v for v in out if v is not None]


def candidates(spec: InputSpec, cells: list[Cell]) -> list[Any]:
    """Values of one input that tell all its cells apart."""
    if isinstance(spec.domain, tuple):
        return list(spec.domain)
    consts = _constants(cells + ([spec.domain] if isinstance(spec.domain, Cell) else []))
    out: list[Any] = [None]
    if spec.type in NUMBER_TYPES or spec.type in ("date", "datetime"):
        is_day = spec.type in ("date", "datetime")
        one: Any = timedelta(days=1) if is_day else Decimal(1)
        points = sorted({v for v in consts if isinstance(v, date if is_day else Decimal)})
        if points:
            out += [points[0] - one, points[-1] + one]
            for point in points:
                out += [point - one, point, point + one]
            for a, b in zip(points, points[1:]):
                out.append(a + (b - a) / 2 if not is_day else a + timedelta(days=(b - a).days // 2))
        if spec.type == "integer":
            out = [None, *(x for v in out if v is not None
                           for x in (v.to_integral_value(ROUND_FLOOR), v.to_integral_value(ROUND_CEILING)))]
    elif spec.type == "boolean":
        out += [True, False]
    else:
        out += consts + [_OTHER]
    if isinstance(spec.domain, Cell):
        test = spec.domain
        out = [v for v in out if v is not None and _in_range(test, v)]
    seen, unique = set(), []
    for value in out:
        marker = (type(value).__name__, value)
        if marker not in seen:
            seen.add(marker)
            unique.append(value)
    return unique


def _in_range(cell: Cell, value: Any) -> bool:
    low, high = cell.constants
    left_ok = low <= value if "{k0} <=" in (cell.code or "") else low < value
    right_ok = value <= high if "<= {k1}" in (cell.code or "") else value < high
    try:
        return bool(left_ok and right_ok)
    except TypeError:
        return False


def _masks(table: DecisionTable, column: int, values: list[Any]) -> list[int | None]:
    """Per rule, a bitmask of the candidate values its cell in ``column`` accepts (None: undecidable)."""
    spec = table.inputs[column]
    out: list[int | None] = []
    for r, rule in enumerate(table.rules):
        cell = rule.cells[column]
        if cell.kind == "any":
            out.append((1 << len(values)) - 1)
            continue
        if cell.kind == "expr":
            out.append(None)
            continue
        test = table._cell_tests[r][column]
        mask = 0
        for i, value in enumerate(values):
            try:
                if test is not None and test({spec.key: value}, DEFAULT_ENV):
                    mask |= 1 << i
            except Exception:  # comparing unlike values: the cell does not accept it
                pass
        out.append(mask)
    return out


def find_overlaps(table: DecisionTable) -> list[tuple[int, int]]:
    """Pairs of rule numbers that some input matches both of."""
    columns = []
    for c, spec in enumerate(table.inputs):
        values = candidates(spec, [rule.cells[c] for rule in table.rules])
        columns.append(_masks(table, c, values))
    found = []
    count = len(table.rules)
    for a in range(count):
        for b in range(a + 1, count):
            if all(col[a] is not None and col[b] is not None and col[a] & col[b] for col in columns):  # type: ignore
                found.append((table.rules[a].number, table.rules[b].number))
    return found


def find_gaps(table: DecisionTable) -> list[str]:
    """Examples of input combinations (over inputs with a domain) that no rule matches."""
    domain_columns = [c for c, spec in enumerate(table.inputs) if spec.domain is not None]
    if not domain_columns:
        return []
    every = (1 << len(table.rules)) - 1
    axes = []
    for c in domain_columns:
        spec = table.inputs[c]
        values = candidates(spec, [rule.cells[c] for rule in table.rules])
        masks = _masks(table, c, values)
        rows_for = []
        for i in range(len(values)):
            rows = 0
            for r, mask in enumerate(masks):
                if mask is None or mask >> i & 1:
                    rows |= 1 << r
            rows_for.append(rows)
        axes.append((spec.key, values, rows_for))
    gaps: list[str] = []
    steps = [0]

    def walk(depth: int, rows: int, chosen: list[str]) -> Iterator[None]:
        if len(gaps) >= MAX_GAPS_REPORTED or steps[0] > MAX_GAP_STEPS:
            return
        if depth == len(axes):
            return
        key, values, rows_for = axes[depth]
        for value, accepted in zip(values, rows_for):
            steps[0] += 1
            remaining = rows & accepted
            here = [*chosen, f"{key} = {_show(value)}"]
            if not remaining:
                gaps.append(", ".join(here))
                if len(gaps) >= MAX_GAPS_REPORTED:
                    return
                continue
            yield from walk(depth + 1, remaining, here)

    for _ in walk(0, every, []):
        pass
    return gaps


def _show(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value + '"' if value != _OTHER else "(any other text)"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    return "null" if value is None else str(value).lower()
