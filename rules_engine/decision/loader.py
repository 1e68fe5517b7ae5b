"""Building a decision table from a located definition document, reporting every problem with file:line:col."""
from __future__ import annotations

import re
from typing import Any, Mapping

from engine.errors import Problems
from engine.source import Document, PathT

from ..errors import ExpressionCompileError
from ..expr.expression import Expression, compile_expression, translate_expression
from ..expr.translate import Local, Namespace
from ..scope import VALUE_TYPES, Scope
from .analysis import find_gaps, find_overlaps
from .cells import CELL_NAME, Cell, CellError, parse_input_cell, parse_output_cell
from .table import (AGGREGATIONS, HIT_POLICIES, DecisionTable, InputSpec, OutputSpec, RuleSpec, TableTest,
                    compile_cell_test, compile_matcher)

_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_KEYS = {"key", "kind", "label", "description", "version", "hit_policy", "aggregation", "inputs", "outputs",
             "rules", "tests"}


def build_decision_table(document: Document, problems: Problems, *, scope: Scope | None = None) -> DecisionTable | None:
    """Check and compile a decision-table definition; add located problems and return None when it is invalid.

    Args:
        document: the parsed definition file.
        problems: collects every problem found.
        scope: the record the inputs' ``expr`` read (e.g. the form the table is used with); when omitted they are
            compiled against an open scope (names unchecked).
    """
    builder = _Builder(document, problems, scope or Scope.open_scope())
    return builder.build()


class _Builder:
    def __init__(self, document: Document, problems: Problems, scope: Scope) -> None:
        self.doc = document
        self.problems = problems
        self.scope = scope
        self.count = len(problems.errors)

    def fail(self, path: PathT, message: str, hint: str | None = None, *, key: bool = False) -> None:
        self.problems.add(self.doc.error(path, message, hint, key=key))

    def ok(self) -> bool:
        return len(self.problems.errors) == self.count

    def build(self) -> DecisionTable | None:
        data = self.doc.data
        if not isinstance(data, dict):
            self.fail((), "a decision table must be a mapping")
            return None
        for name in data:
            if name not in _TOP_KEYS:
                self.fail((name,), f"unknown key {name!r}", f"allowed: {', '.join(sorted(_TOP_KEYS))}", key=True)
        key = data.get("key")
        if not isinstance(key, str) or not _KEY.match(key):
            self.fail(("key",), "key must be lower_snake_case text")
        if data.get("kind", "decision_table") != "decision_table":
            self.fail(("kind",), "kind must be decision_table")
        policy = str(data.get("hit_policy", "UNIQUE")).upper().replace("_", " ")
        if policy not in HIT_POLICIES:
            self.fail(("hit_policy",), f"unknown hit policy {data.get('hit_policy')!r}",
                      f"use one of {', '.join(HIT_POLICIES)}")
        aggregation = data.get("aggregation")
        if aggregation is not None:
            aggregation = str(aggregation).upper()
            if aggregation not in AGGREGATIONS:
                self.fail(("aggregation",), f"unknown aggregation {data.get('aggregation')!r}",
                          f"use one of {', '.join(AGGREGATIONS)}")
            elif policy != "COLLECT":
                self.fail(("aggregation",), "aggregation applies only to the COLLECT hit policy")
        inputs = self.inputs(data.get("inputs"))
        outputs = self.outputs(data.get("outputs"))
        if aggregation and outputs and len(outputs) != 1:
            self.fail(("outputs",), "COLLECT with an aggregation needs exactly one output")
        if policy in ("PRIORITY", "OUTPUT ORDER") and outputs and not any(o.values for o in outputs):
            self.fail(("outputs",), f"{policy} needs output values in priority order",
                      "list them under the output's values:")
        if not self.ok():
            return None
        ns = Namespace()
        rules, codes = self.rules(data.get("rules"), inputs, outputs, ns)
        if not self.ok():
            return None
        tests = self.tests(data.get("tests"), inputs, outputs)
        if not self.ok():
            return None
        code, match = compile_matcher(inputs, [r.cells for r in rules], policy, codes, ns)
        cell_tests = tuple(tuple(None if c is None else compile_cell_test(inputs, c, ns) for c in row)
                           for row in codes)
        table = DecisionTable(key=key, label=str(data.get("label", key)), hit_policy=policy,  # type: ignore[arg-type]
                              aggregation=aggregation, inputs=inputs, outputs=outputs, rules=tuple(rules),
                              tests=tests, file=self.doc.file, code=code, _match=match, _cell_tests=cell_tests)
        if policy == "UNIQUE":
            for first, second in find_overlaps(table):
                self.fail(("rules", second - 1), f"rules {first} and {second} overlap; UNIQUE allows one match",
                          "make their conditions exclusive or use FIRST or PRIORITY")
        gaps = find_gaps(table)
        if gaps:
            self.fail(("rules",), f"no rule matches inputs such as {'; '.join(gaps)}",
                      "add a rule for them, a catch-all row of '-', or narrow the input's domain")
        return table if self.ok() else None

    # -- sections -------------------------------------------------------------------------------------------------
    def inputs(self, raw: Any) -> tuple[InputSpec, ...]:
        if not isinstance(raw, list) or not raw:
            self.fail(("inputs",), "inputs must be a non-empty list")
            return ()
        out, seen = [], set()
        for i, item in enumerate(raw):
            path: PathT = ("inputs", i)
            if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not _KEY.match(item["key"]):
                self.fail(path, "each input needs a lower_snake_case key")
                continue
            key = item["key"]
            if key in seen:
                self.fail((*path, "key"), f"duplicate input {key!r}")
            seen.add(key)
            kind = item.get("type", "any")
            if kind not in VALUE_TYPES:
                self.fail((*path, "type"), f"unknown type {kind!r}", f"use one of {', '.join(sorted(VALUE_TYPES))}")
                continue
            expr = None
            try:
                expr = compile_expression(str(item.get("expr", key)), self.scope)
            except ExpressionCompileError as exc:
                self.problems.add(exc.to_definition_error(self.doc, (*path, "expr")))
            domain = self.domain(item.get("domain"), kind, (*path, "domain"))
            out.append(InputSpec(key=key, type=kind, label=str(item.get("label", key)), expr=expr, domain=domain))
        return tuple(out)

    def domain(self, raw: Any, kind: str, path: PathT) -> Cell | tuple[Any, ...] | None:
        if raw is None:
            return None
        try:
            if isinstance(raw, list):
                return tuple(parse_output_cell(v, kind)[0] for v in raw)
            cell = parse_input_cell(str(raw), kind)
        except CellError as exc:
            self.fail(path, f"invalid domain: {exc}")
            return None
        if cell.kind == "list":
            return tuple(cell.constants[0])
        if cell.kind != "range":
            self.fail(path, "a domain is a range such as [0..1000] or a list of values")
            return None
        return cell

    def outputs(self, raw: Any) -> tuple[OutputSpec, ...]:
        if not isinstance(raw, list) or not raw:
            self.fail(("outputs",), "outputs must be a non-empty list")
            return ()
        out, seen = [], set()
        for i, item in enumerate(raw):
            path: PathT = ("outputs", i)
            if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not _KEY.match(item["key"]):
                self.fail(path, "each output needs a lower_snake_case key")
                continue
            key, kind = item["key"], item.get("type", "any")
            if key in seen:
                self.fail((*path, "key"), f"duplicate output {key!r}")
            seen.add(key)
            if kind not in VALUE_TYPES:
                self.fail((*path, "type"), f"unknown type {kind!r}")
                continue
            try:
                values = tuple(parse_output_cell(v, kind)[0] for v in item.get("values") or [])
                default = parse_output_cell(item.get("default"), kind)[0]
            except CellError as exc:
                self.fail(path, f"invalid value: {exc}")
                continue
            out.append(OutputSpec(key=key, type=kind, label=str(item.get("label", key)), values=values,
                                  default=default))
        return tuple(out)

    def rules(self, raw: Any, inputs: tuple[InputSpec, ...], outputs: tuple[OutputSpec, ...],
              ns: Namespace) -> tuple[list[RuleSpec], list[list[str | None]]]:
        if not isinstance(raw, list) or not raw:
            self.fail(("rules",), "rules must be a non-empty list")
            return [], []
        rules, codes = [], []
        input_locals = {spec.key: Local(f"_i{i}", spec.type) for i, spec in enumerate(inputs)}
        input_scope = Scope.from_fields({spec.key: spec.type for spec in inputs})
        for r, item in enumerate(raw):
            path: PathT = ("rules", r)
            if not isinstance(item, dict):
                self.fail(path, "each rule is a mapping with when and then")
                continue
            cells_raw = self.row(item.get("when"), [s.key for s in inputs], (*path, "when"), "input")
            outs_raw = self.row(item.get("then"), [o.key for o in outputs], (*path, "then"), "output")
            if cells_raw is None or outs_raw is None:
                continue
            cells, row_codes = [], []
            for c, (spec, value) in enumerate(zip(inputs, cells_raw)):
                cell_path = (*path, "when", c if isinstance(item["when"], list) else spec.key)
                try:
                    cell = parse_input_cell(value, spec.type)
                except CellError as exc:
                    self.fail(cell_path, f"invalid cell {value!r}: {exc}")
                    continue
                cells.append(cell)
                row_codes.append(self.cell_code(cell, c, spec, input_locals, ns, cell_path))
            values, exprs = {}, {}
            for o, (spec, value) in enumerate(zip(outputs, outs_raw)):
                out_path = (*path, "then", o if isinstance(item["then"], list) else spec.key)
                try:
                    literal, expression = parse_output_cell(value, spec.type)
                except CellError as exc:
                    self.fail(out_path, f"invalid output {value!r}: {exc}")
                    continue
                if expression is not None:
                    try:
                        exprs[spec.key] = compile_expression(expression, input_scope)
                    except ExpressionCompileError as exc:
                        self.fail(out_path, f"expression: {exc.message}", exc.hint)
                    continue
                if spec.values and literal not in spec.values and literal is not None:
                    self.fail(out_path, f"{value!r} is not one of the values of output {spec.key!r}",
                              f"allowed: {', '.join(str(v) for v in spec.values)}")
                values[spec.key] = literal
            rules.append(RuleSpec(number=r + 1, cells=tuple(cells), outputs=values, output_exprs=exprs,
                                  note=str(item.get("note", ""))))
            codes.append(row_codes)
        return rules, codes

    def row(self, raw: Any, keys: list[str], path: PathT, what: str) -> list[Any] | None:
        if isinstance(raw, list):
            if len(raw) != len(keys):
                self.fail(path, f"{len(raw)} {what} cells for {len(keys)} {what}s ({', '.join(keys)})")
                return None
            return raw
        if isinstance(raw, dict):
            for name in raw:
                if name not in keys:
                    self.fail((*path, name), f"unknown {what} {name!r}", f"{what}s: {', '.join(keys)}", key=True)
            if what == "output":
                missing = [k for k in keys if k not in raw]
                if missing:
                    self.fail(path, f"missing output{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
                    return None
            return [raw.get(k) for k in keys]
        if what == "output" and len(keys) == 1 and raw is not None:
            return [raw]
        self.fail(path, f"'{path[-1]}' must be a list of {len(keys)} cells or a mapping by {what} key")
        return None

    def cell_code(self, cell: Cell, column: int, spec: InputSpec, input_locals: Mapping[str, Local], ns: Namespace,
                  path: PathT) -> str | None:
        if cell.kind == "any":
            return None
        var = f"_i{column}"
        if cell.kind == "expr":
            locals_ = {**input_locals, CELL_NAME: Local(var, spec.type)}
            try:
                t = translate_expression(cell.expression or "", Scope(), ns, locals_, {CELL_NAME: "?"})
            except ExpressionCompileError as exc:
                self.fail(path, f"expression: {exc.message}", exc.hint)
                return None
            if CELL_NAME in t.locals_read:
                return f"_bool({t.code})"
            return f"({var} == {t.code})"
        names = {f"k{i}": ns.constant(value) for i, value in enumerate(cell.constants)}
        return cell.code.format(x=var, **names)  # type: ignore[union-attr]

    def tests(self, raw: Any, inputs: tuple[InputSpec, ...], outputs: tuple[OutputSpec, ...]) -> tuple[TableTest, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.fail(("tests",), "tests must be a list")
            return ()
        keys = {spec.key for spec in inputs}
        out = []
        for t, item in enumerate(raw):
            path: PathT = ("tests", t)
            if not isinstance(item, dict) or not isinstance(item.get("given"), dict):
                self.fail(path, "each test needs given: {input: value, ...}")
                continue
            for name in item["given"]:
                if name not in keys:
                    self.fail((*path, "given", name), f"unknown input {name!r}", key=True)
            if "expect" not in item and "expect_error" not in item:
                self.fail(path, "each test needs expect (or expect_error)")
                continue
            out.append(TableTest(number=t + 1, given=item["given"], expect=item.get("expect"),
                                 expect_error=item.get("expect_error"), note=str(item.get("note", ""))))
        return tuple(out)
