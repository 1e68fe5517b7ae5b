"""Form specs: immutable descriptions of a form and its fields, built once from a definition."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping

from engine.i18n import Text
from engine.permissions import Rights

if TYPE_CHECKING:
    from .fields.base import FieldType


#: the check that marks a sub-table in ``FormSpec.submit_plan``
ROWS = "rows"


@dataclass(frozen=True)
class Option:
    value: str
    label: Text
    color: str | None = None


@dataclass(frozen=True)
class Validation:
    expr: Any  # compiled expression
    message: Text


@dataclass(frozen=True)
class FieldSpec:
    key: str
    type: str
    ftype: "FieldType" = field(repr=False, compare=False)
    label: Text = Text(())
    help: Text = Text(())
    placeholder: Text = Text(())
    required: bool = False
    default: Any = None
    default_expr: Any = None
    min: Decimal | None = None
    max: Decimal | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: Any = None
    unique: bool = False
    options: tuple[Option, ...] = ()
    to: str | None = None
    many: bool = False
    fields: tuple["FieldSpec", ...] = ()
    expr: Any = None
    visible_if: Any = None
    required_if: Any = None
    readonly_if: Any = None
    readonly: bool = False
    scale: int = 2
    currency: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    path: tuple[Any, ...] = ()

    @cached_property
    def stored(self) -> bool:
        return self.ftype.column_type(self) is not None

    @cached_property
    def by_sub_key(self) -> Mapping[str, "FieldSpec"]:
        """A sub-table's fields by key."""
        return {f.key: f for f in self.fields}

    @cached_property
    def checks_conditions(self) -> bool:
        """Whether saving must look at this field's required / visible / read-only rules at all."""
        return not self.ftype.computed and (self.required or self.visible_if is not None or self.required_if is not None
                                            or self.readonly_if is not None)

    @cached_property
    def check(self) -> Any:
        """This field's value check, built once: submitted JSON value → stored value (``FieldType.compile``)."""
        return self.ftype.compile(self)

    @cached_property
    def cell_check(self) -> Any:
        """This field's check for an import cell (``FieldType.compile_cell``)."""
        return self.ftype.compile_cell(self)

    @cached_property
    def row_plan(self) -> Mapping[str, tuple["FieldSpec", Any]]:
        """A sub-table's fields by key with their checks (None for fields a client cannot write)."""
        return {f.key: (f, None if f.ftype.layout_only or f.ftype.computed else f.check) for f in self.fields}

    @cached_property
    def plain_required(self) -> bool:
        """Required with no visible/required/read-only condition, and blank in the common sense (``is_blank``)."""
        from .fields.base import FieldType

        return (self.required and self.visible_if is None and self.required_if is None and self.readonly_if is None
                and type(self.ftype).is_blank is FieldType.is_blank and self.type != "subtable")

    @cached_property
    def row_work(self) -> tuple[tuple["FieldSpec", ...], tuple["FieldSpec", ...], tuple["FieldSpec", ...],
                                tuple[str, ...]] | None:
        """A sub-table's per-row work: fields with defaults, computed fields, fields with conditions, and — when the
        only work is plain required fields — their keys, checked inline (None when a row needs no work)."""
        defaults = tuple(f for f in self.fields if f.default is not None)
        computed = tuple(f for f in self.fields if f.expr is not None)
        checked = tuple(f for f in self.fields if f.checks_conditions and not f.ftype.layout_only)
        plain = tuple(f.key for f in checked) if not defaults and not computed and all(
            f.plain_required for f in checked) else ()
        return (defaults, computed, checked, plain) if defaults or computed or checked else None

    def option_values(self) -> tuple[str, ...]:
        return tuple(o.value for o in self.options)

    def sub(self, key: str) -> "FieldSpec | None":
        return next((f for f in self.fields if f.key == key), None)


@dataclass(frozen=True)
class FormSpec:
    key: str
    label: Text
    fields: tuple[FieldSpec, ...]
    permissions: tuple[Rights, ...] = ()
    validations: tuple[Validation, ...] = ()
    title_field: str | None = None
    search_fields: tuple[str, ...] = ()
    list_columns: tuple[str, ...] = ()
    layout: tuple[Mapping[str, Any], ...] = ()
    file: str = ""
    by_key: Mapping[str, FieldSpec] = field(default_factory=dict, repr=False, compare=False)
    compute_order: tuple[str, ...] = ()
    #: every full read of one record (GET of the record) is written to the audit trail
    audit_reads: bool = False
    #: a user field whose value is the record's owner (``owner_id``, the ``own`` scope); None: its creator
    owner_field: str | None = None
    #: the record page's related lists when no page definition lays it out (``page_kind.RelatedList``)
    related_lists: tuple[Any, ...] = ()

    def field(self, key: str) -> FieldSpec:
        return self.by_key[key]

    @cached_property
    def data_fields(self) -> tuple[FieldSpec, ...]:
        """Fields that hold a value (not layout-only)."""
        return tuple(f for f in self.fields if not f.ftype.layout_only)

    @cached_property
    def submit_plan(self) -> Mapping[str, tuple[FieldSpec, Any]]:
        """Each writable field by key with its check; sub-tables map to ``"rows"``, read-only ones to None."""
        plan: dict[str, tuple[FieldSpec, Any]] = {}
        for f in self.fields:
            writable = not (f.ftype.layout_only or f.ftype.computed)
            plan[f.key] = (f, (ROWS if f.type == "subtable" else f.check) if writable else None)
        return plan

    @cached_property
    def value_checks(self) -> Mapping[str, Any]:
        """Each writable field's compiled check by key (sub-tables: their rows' check), for the straight path of
        ``validate.coerce_submission``; fields a client cannot write are left out."""
        return self._value_checks(cells=False)

    @cached_property
    def cell_checks(self) -> Mapping[str, Any]:
        """``value_checks`` for import cells (``FieldSpec.cell_check``)."""
        return self._value_checks(cells=True)

    def _value_checks(self, cells: bool) -> Mapping[str, Any]:
        from .validate import rows_check

        out: dict[str, Any] = {}
        for key, (f, check) in self.submit_plan.items():
            if check is ROWS:
                out[key] = rows_check(f, cells)
            elif check is not None:
                out[key] = f.cell_check if cells else check
        return out

    @cached_property
    def has_readonly(self) -> bool:
        """Whether a field, or a sub-table's field, is marked ``readonly``."""
        return any(f.readonly or any(s.readonly for s in f.fields) for f in self.fields)

    @cached_property
    def defaulted_fields(self) -> tuple[FieldSpec, ...]:
        """Fields (outside sub-tables) with a default value or default expression."""
        return tuple(f for f in self.data_fields if f.type != "subtable"
                     and (f.default_expr is not None or f.default is not None))

    @cached_property
    def condition_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.data_fields if f.checks_conditions)

    @cached_property
    def sub_rollups(self) -> tuple[FieldSpec, ...]:
        """Rollups over this form's own sub-tables (related rollups are set by the record service)."""
        return tuple(f for f in self.fields if f.type == "rollup" and "over_form" not in f.extra)

    @cached_property
    def stored_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.stored)

    @cached_property
    def subtables(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.type == "subtable")

    @cached_property
    def uses_expressions(self) -> bool:
        """Whether saving a record evaluates any expression (formulas, conditions, defaults, validations)."""
        def has(f: FieldSpec) -> bool:
            return any(x is not None for x in (f.expr, f.visible_if, f.required_if, f.readonly_if, f.default_expr)) or any(
                has(s) for s in f.fields)

        return bool(self.validations) or any(has(f) for f in self.fields)

    @cached_property
    def related_paths(self) -> Mapping[str, Any]:
        """The relations its expressions and lookups reach through, as a tree: ``customer.team.lead`` read by a
        formula gives ``{"customer": {"team": {}}}`` (the customer and its team are loaded when saving)."""
        tree: dict[str, Any] = {}

        def add(path: str) -> None:
            node = tree
            for part in path.split(".")[:-1]:
                node = node.setdefault(part, {})

        def walk(f: FieldSpec) -> None:
            for expr in (f.expr, f.visible_if, f.required_if, f.default_expr, f.readonly_if):
                for name in getattr(expr, "reads", ()):
                    add(name)
            if f.type == "lookup":
                tree.setdefault(f.extra["relation"], {})

        for f in self.fields:
            walk(f)
        for v in self.validations:
            for name in getattr(v.expr, "reads", ()):
                add(name)
        return tree

    @cached_property
    def masked(self) -> frozenset[str]:
        """Fields shown masked to roles without the ``unmask`` right: marked ``mask: true``, or looking one up."""
        out = set()
        for f in self.fields:
            target = f.extra.get("target_field") if f.type == "lookup" else None
            if f.extra.get("mask") or (target is not None and target.extra.get("mask")):
                out.add(f.key)
        return frozenset(out)
