"""The platform's error tree. Every error the API returns has one JSON shape (see ``to_dict``).

    LoomworkError                 status 500, code "internal"
    ├── BadRequest                400  bad_request
    ├── Unauthorized              401  unauthorized
    ├── Forbidden                 403  forbidden
    ├── NotFound                  404  not_found
    ├── Conflict                  409  conflict
    ├── PreconditionFailed        412  precondition_failed   (stale If-Match)
    ├── PayloadTooLarge           413  payload_too_large
    ├── TooManyRequests           429  too_many_requests     (login throttling)
    ├── ValidationFailed          422  validation_failed     (details: one entry per field)
    └── DefinitionErrors          422  definition_invalid    (details: one entry per DefinitionError)

``DefinitionError`` is one problem in an app definition, with file, line, column and document path.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DefinitionError:
    """One problem found in a definition file, located compiler-style."""

    file: str
    line: int
    col: int
    path: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
            "text": str(self),
        }


class LoomworkError(Exception):
    """Base of every error the platform raises on purpose."""

    status = 500
    code = "internal"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"status": self.status, "code": self.code, "message": self.message, "details": self.details}}


class BadRequest(LoomworkError):
    status, code = 400, "bad_request"


class Unauthorized(LoomworkError):
    status, code = 401, "unauthorized"


class Forbidden(LoomworkError):
    status, code = 403, "forbidden"


class NotFound(LoomworkError):
    status, code = 404, "not_found"


class Conflict(LoomworkError):
    status, code = 409, "conflict"


class PreconditionFailed(LoomworkError):
    status, code = 412, "precondition_failed"


class PayloadTooLarge(LoomworkError):
    status, code = 413, "payload_too_large"


class TooManyRequests(LoomworkError):
    status, code = 429, "too_many_requests"


@dataclass(frozen=True)
class FieldProblem:
    """One invalid value in a submission: the field (dotted path for sub-table rows) and why."""

    field: str
    message: str
    code: str = "invalid"

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


class ValidationFailed(LoomworkError):
    status, code = 422, "validation_failed"

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = list(problems)
        fields = ", ".join(p.field for p in self.problems[:5])
        super().__init__(f"invalid value in: {fields}", details=[p.to_dict() for p in self.problems])


class DefinitionErrors(LoomworkError):
    """All problems found in one app folder or definition, reported together."""

    status, code = 422, "definition_invalid"

    def __init__(self, errors: list[DefinitionError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.file, e.line, e.col, e.message))
        first = str(self.errors[0]) if self.errors else "invalid definition"
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(first + more, details=[e.to_dict() for e in self.errors])


@dataclass
class Problems:
    """Collects definition problems while a folder is checked, so all are reported at once."""

    errors: list[DefinitionError] = field(default_factory=list)

    def add(self, error: DefinitionError) -> None:
        self.errors.append(error)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise DefinitionErrors(self.errors)
