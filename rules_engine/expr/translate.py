"""Translation of a vetted expression tree into Python source code.

Safety of the generated code rests on one property: no identifier written by the author ever reaches the
generated text. Field names become string literals (``_v.get('amount')``), text and numbers become literals or
module constants, and the only callables are the library's functions and the operators in ``operators.py``.
Every name in the generated code is one the translator made; the code runs with empty ``__builtins__``.
"""
from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, DecimalException
from time import monotonic
from typing import Any, Callable, Mapping

from ..errors import ExpressionCompileError
from ..functions.registry import REGISTRY, FunctionSpec
from ..limits import CONTEXT, MAX_TEXT_LENGTH
from ..scope import USER_SCOPE, Scope
from ..values import CONVERTERS, to_rows
from . import operators
from .parse import Located
from .types import NULL, accepts, describe, is_list, is_loose, is_number, item_type, list_of, merge

_EMPTY: Mapping[str, Any] = {}

#: Helpers every generated function may use; all names start with '_' so no author name can clash.
BASE_GLOBALS: dict[str, Any] = {
    "__builtins__": {},
    "_D": Decimal, "_type": type, "_bool": bool, "_E": _EMPTY, "_mono": monotonic, "_Exc": Exception,
    "_rows": to_rows, "_add": operators.add, "_sub": operators.sub, "_mul": operators.mul, "_div": operators.div,
    "_floordiv": operators.floordiv, "_mod": operators.mod, "_pow": operators.power, "_neg": operators.neg,
    "_pos": operators.pos, "_concat": operators.concat, "_in": operators.contains, "_index": operators.index,
    "_list": operators.make_list, "_same": operators.same_record, "_decide": operators.decide,
    **{f"_c_{name}": conv for name, conv in CONVERTERS.items()},
}

_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
          ast.Pow: "**", ast.BitAnd: "&"}
_GENERIC = {"+": "_add", "-": "_sub", "*": "_mul", "/": "_div", "//": "_floordiv", "%": "_mod", "**": "_pow"}
_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
            ast.In: "in", ast.NotIn: "not in"}
_LITERAL_NAMES = {"true": ("True", "boolean"), "false": ("False", "boolean"), "null": ("None", NULL)}


@dataclass
class Namespace:
    """The globals of generated code: base helpers, constants and library functions; temp-name counter."""

    globals: dict[str, Any] = field(default_factory=lambda: dict(BASE_GLOBALS))
    _constants: dict[tuple[str, str], str] = field(default_factory=dict)
    _count: int = 0

    def constant(self, value: Any) -> str:
        key = (type(value).__name__, repr(value))
        if key not in self._constants:
            name = f"_K{len(self._constants)}"
            self._constants[key] = name
            self.globals[name] = value
        return self._constants[key]

    def function(self, spec: FunctionSpec) -> str:
        name = f"_F_{spec.name}"
        self.globals[name] = spec.impl
        return name

    def table(self, table: Any) -> str:
        """A decision table called by ``DECIDE``, as a global of the generated code."""
        for name, value in self.globals.items():
            if value is table and name.startswith("_T"):
                return name
        name = f"_T{sum(1 for n in self.globals if n.startswith('_T'))}"
        self.globals[name] = table
        return name

    def temp(self) -> str:
        self._count += 1
        return f"_t{self._count}"


@dataclass(frozen=True)
class Local:
    """A name bound to a local variable of the generated function (a formula computed earlier)."""

    var: str
    type: str


@dataclass
class Translation:
    """The result of translating one expression."""

    code: str
    type: str
    reads: set[str]
    locals_read: set[str]
    functions: set[str]
    needs_deadline: bool


class Translator:
    """Walks a vetted tree and returns Python code and a static type for each node."""

    def __init__(self, scope: Scope, located: Located, ns: Namespace,
                 local_names: Mapping[str, Local] | None = None, aliases: Mapping[str, str] | None = None) -> None:
        self.scope = scope
        self.located = located
        self.ns = ns
        self.local_names = local_names or {}
        self.aliases = aliases or {}
        self.reads: set[str] = set()
        self.locals_read: set[str] = set()
        self.functions: set[str] = set()
        self.needs_deadline = False

    def run(self, node: ast.expr) -> Translation:
        code, kind = self.visit(node)
        if kind in ("record", "rows"):
            raise self.error(node, f"the expression gives {describe(kind)}, not a value",
                             "name one of its fields, e.g. customer.name, or use COUNT(rows)")
        return Translation(code, "any" if kind == NULL else kind, self.reads, self.locals_read, self.functions,
                           self.needs_deadline)

    def error(self, node: ast.AST, message: str, hint: str | None = None, *,
              attr: bool = False) -> ExpressionCompileError:
        for alias, shown in self.aliases.items():
            message = message.replace(alias, shown)
        return self.located.error(node, message, hint, attr=attr)

    # -- dispatch -------------------------------------------------------------------------------------------------
    def visit(self, node: ast.expr) -> tuple[str, str]:
        method: Callable[[Any], tuple[str, str]] = getattr(self, f"visit_{type(node).__name__}")
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> tuple[str, str]:
        value = node.value
        if value is None:
            return "None", NULL
        if isinstance(value, bool):
            return repr(value), "boolean"
        if isinstance(value, str):
            if len(value) > MAX_TEXT_LENGTH:
                raise self.error(node, "text literal too long")
            return repr(value), "text"
        if isinstance(value, (int, float)):
            text = ast.get_source_segment(self.located.source[self.located.lead:], node) or repr(value)
            try:
                number = CONTEXT.create_decimal(text.replace("_", ""))
            except DecimalException:
                raise self.error(node, f"number {text[:30]} is too large") from None
            return self.ns.constant(number), "integer" if isinstance(value, int) else "number"
        raise self.error(node, f"{type(value).__name__} literals are not supported")

    def visit_List(self, node: ast.List) -> tuple[str, str]:
        items = [self.visit(item) for item in node.elts]
        for item, (_, kind) in zip(node.elts, items):
            if kind in ("record", "rows") or is_list(kind):
                raise self.error(item, f"a list cannot hold {describe(kind)}")
        kind = merge([k for _, k in items]) if items else "any"
        return "[" + ", ".join(code for code, _ in items) + "]", list_of(kind)

    def visit_Name(self, node: ast.Name) -> tuple[str, str]:
        if node.id in _LITERAL_NAMES and self.scope.lookup(node.id) is None:
            return _LITERAL_NAMES[node.id]
        return self.path(node, [(node.id, node)])

    def visit_Attribute(self, node: ast.Attribute) -> tuple[str, str]:
        parts: list[tuple[str, ast.AST]] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            parts.append((current.attr, current))
            current = current.value
        if not isinstance(current, ast.Name) or current.id in _LITERAL_NAMES:
            what = "text" if isinstance(current, ast.Constant) and isinstance(current.value, str) else \
                "numbers" if isinstance(current, ast.Constant) else "this value"
            raise self.error(node, f"attribute access on {what} is not allowed: .{node.attr}",
                             "only field paths such as customer.rating use dots; use functions like UPPER(x)")
        parts.append((current.id, current))
        parts.reverse()
        return self.path(node, parts)

    def visit_Subscript(self, node: ast.Subscript) -> tuple[str, str]:
        index = node.slice
        position: int | None = None
        if isinstance(index, ast.Constant) and type(index.value) is int:
            position = index.value
        elif (isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub)
              and isinstance(index.operand, ast.Constant) and type(index.operand.value) is int):
            position = -index.operand.value
        if position is None:
            raise self.error(node, "only a whole-number literal may index a list, as in items.qty[0]")
        code, kind = self.visit(node.value)
        if not (is_list(kind) or kind == "text" or is_loose(kind)):
            raise self.error(node, f"cannot index {describe(kind)}")
        return f"_index({code}, {position})", "text" if kind == "text" else item_type(kind)

    # -- field paths ----------------------------------------------------------------------------------------------
    def path(self, node: ast.AST, parts: list[tuple[str, ast.AST]]) -> tuple[str, str]:
        first, first_node = parts[0]
        if first in self.local_names:
            if len(parts) > 1:
                raise self.error(parts[1][1], f"{first} is a computed value; it has no field {parts[1][0]!r}")
            local = self.local_names[first]
            self.locals_read.add(first)
            return local.var, local.type
        kind = self.scope.lookup(first)
        record = True
        if kind is not None:
            code = f"_v.get({first!r})"
        elif first == "current_user" or first in self.scope.extra:
            record = False
            kind = self.scope.extra.get(first, USER_SCOPE if first == "current_user" else "any")
            code = "(_env.user or _E)" if first == "current_user" else f"_env.names.get({first!r})"
            if first == "current_user" and len(parts) == 1:
                raise self.error(first_node, "current_user is a record; use current_user.username, .roles, ...")
        else:
            raise self.unknown_name(first_node, first)
        many = False
        if isinstance(kind, Scope) and kind.is_rows:
            code, many = f"_rows({code})", True
        for position, (name, part_node) in enumerate(parts[1:], start=1):
            owner = kind
            if isinstance(owner, Scope):
                kind = owner.lookup(name)
                if kind is None:
                    written = ".".join(p for p, _ in parts[:position])
                    hint = _did_you_mean(name, owner.names())
                    raise self.error(part_node, f"{written} has no field {name!r}", hint, attr=True)
            elif owner == "any" and self._open_path():
                kind = "any"
            else:
                written = ".".join(p for p, _ in parts[:position])
                raise self.error(part_node, f"{written} is {describe(str(owner))}; it has no field {name!r}",
                                 attr=True)
            rows = isinstance(kind, Scope) and kind.is_rows
            if not many:
                code = f"({code} or _E).get({name!r})"
                if rows:
                    code, many = f"_rows({code})", True
            elif rows:
                code = f"[_x for _r in {code} if _r is not None for _x in _rows(_r.get({name!r}))]"
            else:
                code = f"[(_r or _E).get({name!r}) for _r in {code}]"
        if record:
            self.reads.add(".".join(p for p, _ in parts))
        if isinstance(kind, Scope):
            return code, "rows" if (many or kind.is_rows) else "record"
        kind = str(kind)
        if many:
            return f"[_c_{kind}(_x) for _x in {code}]", list_of(kind)
        return self.convert(code, kind), kind

    def _open_path(self) -> bool:
        return self.scope.open

    def convert(self, code: str, kind: str) -> str:
        if is_number(kind):
            t = self.ns.temp()
            return f"({t} if _type({t}:={code}) is _D or {t} is None else _c_number({t}))"
        return f"_c_{kind}({code})"

    def unknown_name(self, node: ast.AST, name: str) -> ExpressionCompileError:
        if REGISTRY.get(name) is not None:
            return self.error(node, f"{name} is a function; call it as {name}(...)",
                              "functions are not values")
        names = [*self.scope.names(), *self.local_names, "current_user"]
        hint = _did_you_mean(name, names)
        if hint is None and REGISTRY.get(name.upper()) is not None:
            hint = f"did you mean {name.upper()}(...)?"
        return self.error(node, f"unknown name {name!r}", hint)

    # -- operators ------------------------------------------------------------------------------------------------
    def visit_BinOp(self, node: ast.BinOp) -> tuple[str, str]:
        op = _ARITH[type(node.op)]
        left, lt = self.visit(node.left)
        right, rt = self.visit(node.right)
        for side, kind in ((node.left, lt), (node.right, rt)):
            if kind in ("record", "rows") or is_list(kind):
                raise self.error(side, f"operator {op} cannot use {describe(kind)}")
        if op == "&":
            return f"_concat({left}, {right})", "text"
        if is_number(lt) and is_number(rt) or (is_number(lt) and rt == NULL) or (lt == NULL and is_number(rt)):
            return self.arith(op, node, left, right), _number_result(op, lt, rt)
        if is_loose(lt) or is_loose(rt):
            other = rt if is_loose(lt) else lt
            if op not in "+-" and not (is_loose(other) or is_number(other)):
                raise self.error(node, f"operator {op} needs numbers, got {describe(other)}")
            if op == "-" and other == "text":
                raise self.error(node, "cannot subtract text")
            return f"{_GENERIC[op]}({left}, {right})", "any" if op in "+-" else "number"
        if op == "+" and lt == rt == "text":
            return f"_add({left}, {right})", "text"
        if op in "+-" and lt in ("date", "datetime") and is_number(rt):
            return f"{_GENERIC[op]}({left}, {right})", lt
        if op == "+" and is_number(lt) and rt in ("date", "datetime"):
            return f"_add({left}, {right})", rt
        if op == "-" and lt == rt and lt in ("date", "datetime"):
            return f"_sub({left}, {right})", "number"
        hint = "use & or CONCAT() to join text" if op == "+" and "text" in (lt, rt) else None
        if op == "*" and "text" in (lt, rt):
            hint = "text cannot be repeated"
        raise self.error(node, f"operator {op} cannot combine {describe(lt)} and {describe(rt)}", hint)

    def arith(self, op: str, node: ast.BinOp, left: str, right: str) -> str:
        if op in ("//", "%", "**"):
            return f"{_GENERIC[op]}({left}, {right})"
        if left == "None" or right == "None":
            return "None"
        checks, operands = [], []
        for side, code in ((node.left, left), (node.right, right)):
            if _never_blank(side):
                operands.append(code)
            else:
                t = self.ns.temp()
                checks.append(f"({t}:={code}) is None")
                operands.append(t)
        expr = f"{operands[0]} {op} {operands[1]}"
        if not checks:
            return f"({expr})"
        return f"(None if {' or '.join(checks)} else {expr})"

    def visit_UnaryOp(self, node: ast.UnaryOp) -> tuple[str, str]:
        if isinstance(node.op, ast.Not):
            code, _ = self.visit(node.operand)
            return f"(not {code})", "boolean"
        sign = "-" if isinstance(node.op, ast.USub) else "+"
        if isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float):
            code, kind = self.visit_Constant(node.operand)
            value = self.ns.globals[code]
            return self.ns.constant(-value if sign == "-" else value), kind
        code, kind = self.visit(node.operand)
        if is_number(kind):
            t = self.ns.temp()
            return f"(None if ({t}:={code}) is None else {sign}{t})", kind
        if is_loose(kind):
            return f"{'_neg' if sign == '-' else '_pos'}({code})", "number"
        raise self.error(node, f"unary {sign} needs a number, got {describe(kind)}")

    def visit_BoolOp(self, node: ast.BoolOp) -> tuple[str, str]:
        joiner = " and " if isinstance(node.op, ast.And) else " or "
        codes = []
        for value in node.values:
            code, kind = self.visit(value)
            if kind in ("record", "rows"):
                raise self.error(value, f"cannot use {describe(kind)} as a condition")
            codes.append(code)
        return f"_bool({joiner.join(codes)})", "boolean"

    def visit_IfExp(self, node: ast.IfExp) -> tuple[str, str]:
        test, _ = self.visit(node.test)
        body, bt = self.visit(node.body)
        orelse, ot = self.visit(node.orelse)
        return f"({body} if {test} else {orelse})", merge([bt, ot])

    def visit_Compare(self, node: ast.Compare) -> tuple[str, str]:
        operands = [node.left, *node.comparators]
        visited = [self.visit(o) for o in operands]
        parts: list[str] = []
        codes = [code for code, _ in visited]
        if len(node.ops) > 1:
            for i in range(1, len(codes) - 1):
                if not _never_blank(operands[i]):
                    t = self.ns.temp()
                    codes[i] = f"({t}:={codes[i]})"
                    visited[i] = (t, visited[i][1])
        for i, op_node in enumerate(node.ops):
            op = _COMPARE[type(op_node)]
            left_code = codes[i] if i == 0 or _never_blank(operands[i]) else visited[i][0]
            right_code = codes[i + 1]
            parts.append(self.compare(op, node, operands[i], left_code, visited[i][1],
                                      operands[i + 1], right_code, visited[i + 1][1]))
        return (parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"), "boolean"

    def compare(self, op: str, node: ast.AST, left_node: ast.expr, left: str, lt: str,
                right_node: ast.expr, right: str, rt: str) -> str:
        if op in ("in", "not in"):
            if not (is_list(rt) or rt == "text" or is_loose(rt)):
                raise self.error(right_node, f"'{op}' needs a list or text on the right, got {describe(rt)}")
            if lt in ("record", "rows") or is_list(lt):
                raise self.error(left_node, f"'{op}' cannot look for {describe(lt)}")
            code = f"_in({left}, {right})"
            return f"(not {code})" if op == "not in" else code
        if op in ("==", "!=") and "record" in (lt, rt) and NULL not in (lt, rt):
            other = rt if lt == "record" else lt
            if other == "record" or is_number(other) or is_loose(other):  # relations compare by record id
                return f"({'' if op == '==' else 'not '}_same({left}, {right}))"
        for side, kind in ((left_node, lt), (right_node, rt)):
            if kind in ("record", "rows") and not (op in ("==", "!=") and NULL in (lt, rt)):
                raise self.error(side, f"cannot compare {describe(kind)}", "compare one of its fields")
        if op in ("==", "!="):
            if left == "None" or right == "None":
                other = right if left == "None" else left
                return f"({other} is {'' if op == '==' else 'not '}None)"
            if not _comparable(lt, rt, equality=True):
                raise self.error(node, f"comparing {describe(lt)} with {describe(rt)} is always "
                                       f"{'false' if op == '==' else 'true'}",
                                 "quote numbers only when the field is text" if "text" in (lt, rt) else None)
            return f"({left} {op} {right})"
        if not _comparable(lt, rt, equality=False):
            raise self.error(node, f"cannot order {describe(lt)} and {describe(rt)} with {op}")
        checks, operands = [], []
        for side, code in ((left_node, left), (right_node, right)):
            if _never_blank(side):
                operands.append(code)
            else:
                t = self.ns.temp()
                checks.append(f"({t}:={code}) is not None")
                operands.append(t)
        return "(" + " and ".join([*checks, f"{operands[0]} {op} {operands[1]}"]) + ")"

    # -- calls ----------------------------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> tuple[str, str]:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise self.error(node.func, f"methods cannot be called: .{node.func.attr}(...)",
                                 "only library functions can be called, e.g. UPPER(x)")
            raise self.error(node.func, "only library functions can be called")
        name = node.func.id
        if name == "DECIDE":
            return self.decide(node)
        spec = REGISTRY.get(name)
        if spec is None:
            if self.scope.lookup(name) is not None or name in self.local_names:
                raise self.error(node.func, f"{name!r} is a field, not a function")
            close = difflib.get_close_matches(name.upper(), list(REGISTRY.specs()), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else "see docs/expressions.md for the function list"
            raise self.error(node.func, f"unknown function {name!r}", hint)
        count = len(node.args)
        if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
            raise self.error(node, f"{name} takes {spec.arity()} argument{'s' if spec.arity() != '1' else ''}, "
                                   f"got {count}", f"example: {spec.example}")
        if spec.even_args and count % 2:
            raise self.error(node, f"{name} takes pairs of arguments, got {count}", f"example: {spec.example}")
        codes, types = [], []
        for position, arg in enumerate(node.args):
            code, kind = self.visit(arg)
            expected = spec.arg_kind(position)
            if not accepts(expected, kind):
                raise self.error(arg, f"{name} argument {position + 1} must be {_kind_text(expected)}, "
                                      f"got {describe(kind)}", f"example: {spec.example}")
            codes.append(code)
            types.append(kind)
        problem = _check_call(spec, types)
        if problem:
            raise self.error(node, problem, f"example: {spec.example}")
        self.functions.add(name)
        result = spec.result_type(types)
        if spec.inline is not None:
            return spec.inline(codes, self.ns.temp), result
        prefix = []
        if spec.needs_env:
            prefix.append("_env")
        if spec.iterates:
            prefix.append("_dl")
            self.needs_deadline = True
        return f"{self.ns.function(spec)}({', '.join([*prefix, *codes])})", result

    def decide(self, node: ast.Call) -> tuple[str, str]:
        """``DECIDE("table", input1, input2, ...)``: a decision table's output for these inputs, in the table's
        input order; ``DECIDE("table.output", ...)`` names the output of a table with several. Checked here: the
        table exists, one argument per input with a fitting type, a single-hit table (or an aggregating one)."""
        example = 'DECIDE("shipping_cost", weight, zone)'
        if node.keywords:
            raise self.error(node, "DECIDE takes its inputs in the table's order, without names", f"example: {example}")
        if not node.args or not (isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            raise self.error(node, "DECIDE needs the decision table's key as quoted text first", f"example: {example}")
        target = node.args[0].value
        key, _, output = target.partition(".")
        tables = self.scope.tables
        table: Any = tables.get(key)
        if table is None:
            hint = _did_you_mean(key, list(tables)) or (
                f"decision tables here: {', '.join(sorted(tables))}" if tables else "this app has no decision tables")
            raise self.error(node.args[0], f"unknown decision table {key!r}", hint)
        inputs = table.inputs
        args = node.args[1:]
        signature = ", ".join(i.key for i in inputs)
        if len(args) != len(inputs):
            raise self.error(node, f"decision table {key!r} takes {len(inputs)} input{'s' if len(inputs) != 1 else ''} "
                                   f"({signature}), got {len(args)}", f'example: DECIDE("{key}", {signature})')
        codes = []
        for spec, arg in zip(inputs, args):
            code, kind = self.visit(arg)
            fits = kind == NULL or _comparable(spec.type, kind, equality=True) or (
                spec.type in ("date", "datetime") and kind in ("date", "datetime"))
            if not fits or kind in ("record", "rows"):
                raise self.error(arg, f"input {spec.key!r} of decision table {key!r} is {describe(spec.type)}, "
                                      f"got {describe(kind)}")
            codes.append(code)
        if table.hit_policy not in ("UNIQUE", "ANY", "FIRST", "PRIORITY") and not table.aggregation:
            raise self.error(node, f"decision table {key!r} ({table.hit_policy}) can give several rows; DECIDE needs "
                                   "one result", "use a single-hit policy (UNIQUE, FIRST, ...) or an aggregation")
        if table.aggregation:
            out_key, kind = "", "number"
        else:
            names = [o.key for o in table.outputs]
            if not output and len(names) > 1:
                raise self.error(node.args[0], f"decision table {key!r} has outputs {', '.join(names)}; name one",
                                 f'example: DECIDE("{key}.{names[0]}", ...)')
            out_key = output or names[0]
            found = next((o for o in table.outputs if o.key == out_key), None)
            if found is None:
                raise self.error(node.args[0], f"decision table {key!r} has no output {out_key!r}",
                                 _did_you_mean(out_key, names))
            kind = found.type
        self.functions.add("DECIDE")
        return f"_decide(_env, {self.ns.table(table)}, {out_key!r}, ({', '.join(codes)}{',' if codes else ''}))", kind


def _check_call(spec: FunctionSpec, types: list[str]) -> str | None:
    if spec.params and spec.params[0] == "numbers" and len(types) == 1 and is_number(types[0]):
        return f"{spec.name} of a single number; {spec.name} works on a list such as items.amount"
    return None


def _kind_text(kind: str) -> str:
    return {"number": "a number", "numbers": "numbers or a list of numbers", "list": "a list", "date": "a date",
            "countable": "a list or sub-table", "text": "a value", "scalar": "a single value",
            "boolean": "a condition", "criterion": "a criterion such as \">5\""}.get(kind, "a value")


def _number_result(op: str, lt: str, rt: str) -> str:
    if op == "/":
        return "number"
    if "money" in (lt, rt) and op in "+-*":
        return "money"
    if lt in ("integer", NULL) and rt in ("integer", NULL) and op != "**":
        return "integer"
    if lt == rt:
        return lt
    return "number"


def _comparable(lt: str, rt: str, *, equality: bool) -> bool:
    if is_loose(lt) or is_loose(rt):
        return True
    if is_number(lt) and is_number(rt):
        return True
    if lt in ("date", "datetime") and rt in ("date", "datetime"):
        return True
    if equality and is_list(lt) and is_list(rt):
        return True
    if lt == rt and lt in ("text", "boolean"):
        return True
    return False


def _never_blank(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is not None or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant))


def _did_you_mean(name: str, candidates: list[str]) -> str | None:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def type_of_value(value: Any) -> str:
    """The static type of a Python value (used for constants given by callers)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    return "any"
