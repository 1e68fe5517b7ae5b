"""Parsing an expression with Python's ``ast`` under the sandbox's size and nesting limits, and a node whitelist.

Nothing is evaluated here: the text is parsed once, every node is checked against ``ALLOWED_NODES`` and names
starting with ``_`` are refused anywhere, before any code is generated.
"""
from __future__ import annotations

import ast

from ..errors import ExpressionCompileError
from ..limits import DISALLOW_PREFIXES, MAX_EXPRESSION_LENGTH, MAX_NESTING

#: The only syntax an expression may contain.
ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Call, ast.Constant,
    ast.Name, ast.Attribute, ast.Subscript, ast.List, ast.Load,
    ast.And, ast.Or, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.BitAnd,
    ast.USub, ast.UAdd, ast.Not, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
)

#: Clear messages for syntax that is refused on purpose.
REFUSED: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.JoinedStr: "f-strings are not allowed; use CONCAT() or &",
    ast.FormattedValue: "f-strings are not allowed; use CONCAT() or &",
    ast.NamedExpr: "assignment (:=) is not allowed",
    ast.Starred: "starred arguments are not allowed",
    ast.Dict: "dictionaries are not supported",
    ast.Set: "sets are not supported; use a list [a, b]",
    ast.Tuple: "tuples are not supported; use a list [a, b]",
    ast.Slice: "slices are not supported; use LEFT, RIGHT or MID",
    ast.Is: "'is' is not supported; use == or ISBLANK()",
    ast.IsNot: "'is not' is not supported; use != or ISBLANK()",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.BitOr: "operator | is not supported; use 'or'",
    ast.BitXor: "operator ^ is not supported; use ** for powers",
    ast.LShift: "shift operators are not supported",
    ast.RShift: "shift operators are not supported",
    ast.Invert: "operator ~ is not supported",
    ast.MatMult: "operator @ is not supported",
    ast.keyword: "keyword arguments are not supported",
}


class Located:
    """Maps AST positions (line, UTF-8 byte column) to 1-based character offsets in the source text."""

    def __init__(self, source: str, lead: int) -> None:
        self.source = source
        self.lead = lead
        self.lines = source[lead:].split("\n")
        self.starts = [0]
        for line in self.lines[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def col(self, node: ast.AST, *, attr: bool = False) -> int:
        line = getattr(node, "lineno", 1) - 1
        byte_col = getattr(node, "col_offset", 0)
        if attr and isinstance(node, ast.Attribute) and node.end_col_offset is not None:
            line = (node.end_lineno or 1) - 1
            byte_col = node.end_col_offset - len(node.attr.encode("utf-8"))
        if not 0 <= line < len(self.lines):
            return 1
        text = self.lines[line].encode("utf-8")[:byte_col].decode("utf-8", errors="ignore")
        return self.lead + self.starts[line] + len(text) + 1

    def error(self, node: ast.AST, message: str, hint: str | None = None, *,
              attr: bool = False) -> ExpressionCompileError:
        return ExpressionCompileError(message, self.col(node, attr=attr), hint, self.source)


def parse(source: str) -> tuple[ast.expr, Located]:
    """Parse and vet ``source``; return its body and a locator for error columns."""
    if not isinstance(source, str):
        raise ExpressionCompileError("an expression must be text", 1, None, "")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionCompileError(f"expression longer than {MAX_EXPRESSION_LENGTH} characters",
                                     MAX_EXPRESSION_LENGTH + 1, "split it into several formulas", source)
    stripped = source.lstrip()
    lead = len(source) - len(stripped)
    text = stripped.rstrip()
    if not text:
        raise ExpressionCompileError("empty expression", 1, None, source)
    _check_brackets(source, text, lead)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        message = f"syntax error: {exc.msg}"
        if not exc.offset:
            col = lead + len(text) + 1
            message = "syntax error: the expression ends too early"
        else:
            lines_before = text.split("\n")[: (exc.lineno or 1) - 1]
            col = lead + sum(len(x) + 1 for x in lines_before) + exc.offset
        raise ExpressionCompileError(message, col, None, source) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionCompileError("expression too complex", 1, None, source) from None
    located = Located(source, lead)
    _vet(tree, located)
    return tree.body, located


def _check_brackets(source: str, text: str, lead: int) -> None:
    depth, quote, escaped = 0, "", False
    for i, ch in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise ExpressionCompileError(f"brackets nested deeper than {MAX_NESTING} levels", lead + i + 1,
                                             None, source)
        elif ch in ")]}":
            depth -= 1


def _vet(tree: ast.AST, located: Located) -> None:
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise located.error(node, f"expression nested deeper than {MAX_NESTING} levels")
        kind = type(node)
        if kind in REFUSED:
            raise located.error(node, REFUSED[kind])
        if not isinstance(node, ALLOWED_NODES):
            raise located.error(node, f"{kind.__name__} syntax is not allowed in expressions")
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        if name is not None and name.startswith(DISALLOW_PREFIXES):
            raise located.error(node, f"names starting with '_' are not allowed: {name!r}")
        step = 1 if isinstance(node, (ast.expr, ast.Expression)) else 0
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + step))
