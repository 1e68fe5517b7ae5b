"""A record's form under per-field rights — ``hidden``, ``readonly``, ``editable`` or ``required`` — for pages where
someone works on a record under rights other than the form's own (a flow task shows its record under the node's
field rights).

Read-only fields are shown as the record page shows them (``forms/_value.html``), editable ones with the edit
page's widgets (``forms/widgets.html`` and ``form.js``), hidden ones not at all: they are left out of the page, of
the values it embeds and of every draft evaluation answer. The draft is evaluated by the same pipeline as the edit
page's (``page_model.evaluate_draft``), so conditions and formulas behave as there.

The platform service ``rights_form`` is a :class:`RightsForms`; the template macro is ``forms/_rights_form.html``.
Saving stays with the caller (whoever grants the rights checks them again when the values are sent).
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import Connection

from engine.errors import FieldProblem, ValidationFailed
from engine.permissions import Principal
from engine.platform import LiveApp

from . import page_model as pm
from .spec import FormSpec

#: the rights a field can have, from the least to the most
RIGHTS = ("hidden", "readonly", "editable", "required")
WRITABLE = ("editable", "required")


class RightsForms:
    """Builds the page context of a record's form under field rights, and evaluates drafts under them."""

    def __init__(self, platform: Any) -> None:
        self.platform = platform

    @property
    def records(self) -> Any:
        return self.platform.services["records"]

    def rights(self, form: FormSpec, given: Mapping[str, str], *, editable: bool = True) -> dict[str, str]:
        """Every data field's right (``readonly`` unless given); without ``editable`` nothing is writable."""
        out: dict[str, str] = {}
        for f in form.data_fields:
            right = given.get(f.key, "readonly")
            if right not in RIGHTS:
                raise ValueError(f"unknown field right '{right}' for {f.key} (one of {', '.join(RIGHTS)})")
            if not editable and right in WRITABLE:
                right = "readonly"
            out[f.key] = right
        return out

    def context(self, conn: Connection, live: LiveApp, form_key: str, record_id: int, given: Mapping[str, str],
                who: Principal, lang: str, *, editable: bool = True, evaluate_url: str = "") -> dict[str, Any]:
        """What ``forms/_rights_form.html`` renders: groups of fields (hidden ones left out), values, flags, names.

        The caller has checked that ``who`` may work on the record; values come masked as ``who`` sees them."""
        records = self.records
        form = records.form(live, form_key)
        rights = self.rights(form, given, editable=editable)
        row = records._row(conn, live, form, record_id)
        if row is None:
            from engine.errors import NotFound

            raise NotFound(f"no {form.key} record {record_id}")
        values = records.to_json(form, records.values_of(conn, live, form, row), who)
        hidden = {k for k, r in rights.items() if r == "hidden"}
        for key in hidden:
            values.pop(key, None)
        state = pm.evaluate_draft(conn, records, live, form, {}, who, record_id=record_id, lang=lang, full=True,
                                  check_read=False)
        flags = _flags(state["fields"], rights)
        groups = []
        lay = pm.layout(form)
        for g in lay.head + lay.groups:
            fields = [f for f in g.fields if rights.get(f.key) != "hidden"]
            if any(not f.ftype.layout_only for f in fields):
                groups.append({"key": g.key, "label": g.label, "help": g.help, "columns": g.columns if g.columns > 1 else 2,
                               "fields": fields})
        writable = [f for f in form.data_fields if rights[f.key] in WRITABLE]

        def uses(kind: str) -> bool:
            return any(f.type == kind or any(s.type == kind for s in f.fields) for f in writable)

        tz = live.spec.settings.timezone
        return {"app": live, "form": form, "record": {"id": record_id, "row_version": values.get("row_version")},
                "groups": groups, "data": values, "flags": flags, "rights": rights,
                "refs": pm.load_refs(conn, records, live, form, [values], who),
                "people": pm.people(conn) if uses("user") else [],
                "departments": pm.department_list(conn) if uses("department") else [],
                "tz": tz, "tz_offset": pm.tz_offset(tz, self.platform.clock.now()), "pm": pm,
                "related_forms": dict(live.spec.forms), "evaluate_url": evaluate_url,
                "writable": any(rights[f.key] in WRITABLE for f in form.data_fields)}

    def evaluate(self, conn: Connection, live: LiveApp, form_key: str, record_id: int, draft: Any,
                 given: Mapping[str, str], who: Principal, lang: str, *, editable: bool = True) -> dict[str, Any]:
        """The draft's computed values, flags and problems under the rights: values of fields that are not writable
        are ignored, hidden fields are absent from the answer, a required field left blank is a problem."""
        if not isinstance(draft, Mapping):
            raise ValidationFailed([FieldProblem("values", "expected an object of field values", "type")])
        records = self.records
        form = records.form(live, form_key)
        rights = self.rights(form, given, editable=editable)
        writable = {k: v for k, v in draft.items() if rights.get(k) in WRITABLE}
        state = pm.evaluate_draft(conn, records, live, form, writable, who, record_id=record_id, lang=lang,
                                  full=True, check_read=False)
        record = state.pop("record")
        hidden = {k for k, r in rights.items() if r == "hidden"}
        refs = pm.load_refs(conn, records, live, form, [record], who)
        tz = live.spec.settings.timezone
        shown: dict[str, Any] = {}
        for f in form.fields:
            if f.key in hidden:
                continue
            if f.ftype.computed:
                shown[f.key] = pm.display(f, record.get(f.key), lang, refs, tz)
            elif f.type == "subtable" and any(s.ftype.computed for s in f.fields):
                shown[f.key] = [{s.key: pm.display(s, r.get(s.key), lang, refs, tz) for s in f.fields
                                 if s.ftype.computed} for r in record.get(f.key) or []]
        errors = [e for e in state["errors"] if e["field"].split("[")[0].split(".")[0] not in hidden]
        flagged = {e["field"] for e in errors}
        for key, right in rights.items():
            if right == "required" and key not in flagged and form.by_key[key].ftype.is_blank(record.get(key)):
                errors.append(pm.localize(FieldProblem(key, "required", "required"), lang, form, writable))
        return {"display": shown,
                "values": {k: v for k, v in state["values"].items() if k not in hidden},
                "fields": _flags(state["fields"], rights),
                "rows": {k: v for k, v in state["rows"].items() if k not in hidden},
                "errors": errors}


def _flags(flags: Mapping[str, Mapping[str, bool]], rights: Mapping[str, str]) -> dict[str, dict[str, bool]]:
    """The form's visible/required/readonly flags with the rights laid over them (hidden fields left out)."""
    out: dict[str, dict[str, bool]] = {}
    for key, flag in flags.items():
        right = rights.get(key)
        if right == "hidden":
            continue
        flag = dict(flag)
        if right == "readonly":
            flag["readonly"] = True
        elif right == "required":
            flag["required"] = True
        out[key] = flag
    return out


__all__ = ["RightsForms", "RIGHTS"]
