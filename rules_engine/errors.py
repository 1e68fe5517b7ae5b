"""Errors of the rules engine.

    LoomworkError (engine.errors)
    ├── ExpressionCompileError   422 expression_invalid   an expression refused when it is compiled
    └── EvalError                422 <code>               an evaluation stopped: division_by_zero, type_error, ...

Both carry structured fields, so callers can turn them into located definition errors or one JSON error shape.
"""
from __future__ import annotations

from engine.errors import DefinitionError, LoomworkError
from engine.source import Document, PathT, format_path


class ExpressionCompileError(LoomworkError):
    """An expression that cannot be compiled: syntax, unknown name or function, type error, sandbox rule.

    Attributes:
        message: what is wrong.
        col: 1-based offset of the offending part inside the expression text.
        hint: a suggestion ("did you mean ...?") or None.
        source: the expression text (truncated to 200 characters).
    """

    status, code = 422, "expression_invalid"

    def __init__(self, message: str, col: int = 1, hint: str | None = None, source: str = "") -> None:
        self.col = col
        self.hint = hint
        self.source = source[:200]
        text = f"{message} (at column {col})"
        super().__init__(text)
        self.message = message
        self.details = [{"message": message, "col": col, "hint": hint}]

    def __str__(self) -> str:
        text = f"{self.message} (at column {self.col})"
        return f"{text}; {self.hint}" if self.hint else text

    def to_definition_error(self, document: Document, path: PathT) -> DefinitionError:
        """Locate this error inside a definition file: the expression's own position plus the column offset."""
        line, col = document.locate(path)
        lines = document.text.splitlines()
        if 0 < line <= len(lines) and col - 1 < len(lines[line - 1]) and lines[line - 1][col - 1] in "\"'":
            col += 1  # a quoted YAML scalar: the expression starts after the quote
        return DefinitionError(document.file, line, col + self.col - 1, format_path(path),
                               f"expression: {self.message}", self.hint)


class EvalError(LoomworkError):
    """An evaluation that stopped with a clear reason; ``code`` says which (e.g. ``division_by_zero``)."""

    status = 422

    def __init__(self, message: str, code: str = "eval_error") -> None:
        super().__init__(message)
        self.code = code

    def __str__(self) -> str:
        return self.message
