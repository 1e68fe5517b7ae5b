"""Loading app folders: schema and cross-reference problems, all at once, each with file, line, column and path."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from engine.errors import DefinitionErrors
from engine.loader import load_app, read_app_folder
from engine.plugins import Hooks, load_builtin

APPS = Path(__file__).parent.parent / "apps"
APP = "key: demo\nlabel: Demo\n"
ORG = "roles:\n  - {key: clerk, label: Clerk}\n"


@pytest.fixture(scope="module")
def kinds():  # type: ignore[no-untyped-def]
    return load_builtin(Hooks()).kinds


def errors_of(kinds, files: dict[str, str]) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(DefinitionErrors) as info:
        load_app(files, kinds)
    return [str(e) for e in info.value.errors]


def test_purchasing_app_loads_into_frozen_specs(kinds) -> None:  # type: ignore[no-untyped-def]
    files, pre = read_app_folder(APPS / "purchasing")
    app = load_app(files, kinds, pre_errors=pre)
    form = app.forms["purchase_request"]
    assert app.key == "purchasing" and app.label.get("en") == "Purchasing"
    assert [f.key for f in form.fields][:3] == ["title", "supplier", "amount"]
    assert form.field("amount").required and str(form.field("amount").max) == "10000000"
    with pytest.raises(dataclasses.FrozenInstanceError):
        form.key = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        app.forms["other"] = form  # type: ignore[index]
    assert len(app.hash) == 64


def test_unknown_field_type_suggests_the_nearest(kinds) -> None:  # type: ignore[no-untyped-def]
    form = "key: customer\nlabel: C\nfields:\n  - {key: a, type: text}\n  - {key: b, type: integr}\n"
    assert errors_of(kinds, {"app.yaml": APP, "forms/customer.yaml": form}) == [
        "forms/customer.yaml:5:20: fields[1].type: unknown field type 'integr' (did you mean 'integer'?)"]


def test_all_errors_of_a_folder_are_reported_together(kinds) -> None:  # type: ignore[no-untyped-def]
    files = {
        "app.yaml": "key: demo\nlabel: Demo\nlabl: x\n",
        "org.yaml": ORG,
        "forms/a.yaml": "key: a\nlabel: A\nfields:\n  - {key: x, type: relation, to: nowhere}\n",
        "forms/b.yaml": "key: b\nlabel: B\nfields:\n  - {key: y, type: text}\n  - {key: y, type: text}\n"
                        "permissions:\n  clerc: {read: all}\n",
        "forms/c.yaml": "key: c\nfields: 3\n",
        "fomrs/r.yaml": "key: r\n",
    }
    assert errors_of(kinds, files) == [
        "app.yaml:3:1: labl: unknown key 'labl' (did you mean 'label'?)",
        "fomrs/r.yaml:1:1: unknown definition folder 'fomrs' (did you mean 'forms'?)",
        "forms/a.yaml:4:34: fields[0].to: unknown form 'nowhere'",
        "forms/b.yaml:5:11: fields[1].key: duplicate field key 'y' (first used at fields[0])",
        "forms/b.yaml:7:3: permissions.clerc: unknown role 'clerc' (did you mean 'clerk'?)",
        "forms/c.yaml:1:1: missing required key 'label'",
        "forms/c.yaml:2:9: fields: expected array, got integer",
    ]


def test_schema_errors_of_several_fields(kinds) -> None:  # type: ignore[no-untyped-def]
    form = ("key: a\nlabel: A\nfields:\n"
            "  - {key: s, type: select}\n"
            "  - {key: t, type: text, required: 'yes'}\n"
            "  - {key: Bad-Key, type: text}\n")
    assert errors_of(kinds, {"app.yaml": APP, "forms/a.yaml": form}) == [
        "forms/a.yaml:4:5: fields[0]: missing required key 'options'",
        "forms/a.yaml:5:36: fields[1].required: expected boolean, got string",
        "forms/a.yaml:6:11: fields[2].key: 'Bad-Key' does not have the required form (pattern ^[a-z][a-z0-9_]{0,39}$)",
    ]


def test_semantic_errors_of_several_fields(kinds) -> None:  # type: ignore[no-untyped-def]
    form = ("key: a\nlabel: A\nfields:\n"
            "  - {key: n, type: number, min: 10, max: 1}\n"
            "  - {key: u, type: date, to: a}\n"
            "  - {key: v, type: select, options: [a, b], default: c}\n"
            "  - {key: w, type: text, pattern: '(a+)+$'}\n")
    assert errors_of(kinds, {"app.yaml": APP, "forms/a.yaml": form}) == [
        "forms/a.yaml:4:33: fields[0].min: min is greater than max",
        "forms/a.yaml:5:26: fields[1].to: option 'to' does not apply to a date field (date takes: max, min)",
        "forms/a.yaml:6:54: fields[2].default: default is not a valid value: 'c' is not one of the options",
        "forms/a.yaml:7:35: fields[3].pattern: unusable pattern: Pattern refused: nested quantifiers such as (a+)+ can take exponential time",
    ]


def test_duplicate_form_keys_across_files(kinds) -> None:  # type: ignore[no-untyped-def]
    form = "key: a\nlabel: A\nfields:\n  - {key: x, type: text}\n"
    assert errors_of(kinds, {"app.yaml": APP, "forms/a.yaml": form, "forms/b.yaml": form}) == [
        "forms/b.yaml:1:6: key: duplicate form key 'a' (already defined in forms/a.yaml)"]


def test_org_cross_references(kinds) -> None:  # type: ignore[no-untyped-def]
    org = ("roles:\n  - {key: clerk, label: C}\ndepartments:\n  - {key: hq, label: HQ, manager: nobody}\n"
           "  - {key: b, label: B, parent: hx}\nusers:\n  - {username: ann, name: Ann, roles: [clark], department: hq}\n")
    assert errors_of(kinds, {"app.yaml": APP, "org.yaml": org}) == [
        "org.yaml:4:35: departments[0].manager: unknown user 'nobody'",
        "org.yaml:5:32: departments[1].parent: unknown department 'hx'",
        "org.yaml:7:40: users[0].roles[0]: unknown role 'clark' (did you mean 'clerk'?)",
    ]


def test_menu_points_at_existing_forms(kinds) -> None:  # type: ignore[no-untyped-def]
    app = APP + "menu:\n  - {label: X, form: orderz}\n"
    form = "key: orders\nlabel: O\nfields:\n  - {key: x, type: text}\n"
    assert errors_of(kinds, {"app.yaml": app, "forms/o.yaml": form}) == [
        "app.yaml:4:22: menu[0].form: unknown form 'orderz' (did you mean 'orders'?)"]


def test_missing_app_yaml_and_top_level_list(kinds) -> None:  # type: ignore[no-untyped-def]
    assert errors_of(kinds, {"forms/a.yaml": "- a\n- b\n"}) == [
        "app.yaml:1:1: missing app.yaml (every app folder needs an app.yaml with key and label)",
        "forms/a.yaml:1:1: a definition file must hold a mapping (key: value pairs) at the top",
    ]


def test_read_app_folder_refuses_big_and_binary_files(tmp_path: Path, kinds) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "forms").mkdir()
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / "forms" / "big.yaml").write_text("key: a\n" + "# padding\n" * 1_100_000)
    (tmp_path / "forms" / "bin.yaml").write_bytes(b"key: \xff\xfe\n")
    (tmp_path / "README.md").write_text("not a definition")
    files, pre = read_app_folder(tmp_path)
    assert sorted(files) == ["app.yaml"]
    assert [str(e) for e in pre] == [
        "forms/big.yaml:1:1: file is larger than 1000 KB (11000007 bytes) (split the definition into several files)",
        "forms/bin.yaml:1:1: file is not valid UTF-8 text",
    ]


def test_rollup_definitions_are_checked(kinds) -> None:  # type: ignore[no-untyped-def]
    parent = ("key: p\nlabel: P\nfields:\n"
              "  - {key: n, type: rollup, over: c.p, agg: sum, field: note}\n"
              "  - {key: m, type: rollup, over: c.other, agg: count}\n"
              "  - {key: k, type: rollup, over: c.p, agg: count, where: \"size >\"}\n"
              "  - {key: z, type: rollup, over: nowhere.p, agg: count}\n")
    child = ("key: c\nlabel: C\nfields:\n  - {key: p, type: relation, to: p}\n  - {key: other, type: text}\n"
             "  - {key: note, type: text}\n  - {key: size, type: integer}\n")
    errors = errors_of(kinds, {"app.yaml": APP, "forms/p.yaml": parent, "forms/c.yaml": child})
    assert errors[0].startswith("forms/p.yaml:4:") and "cannot sum a text field" in errors[0]
    assert errors[1].startswith("forms/p.yaml:5:") and "'other' is not a single relation of form 'c'" in errors[1]
    assert errors[2].startswith("forms/p.yaml:6:") and "fields[2].where" in errors[2]
    assert errors[3].startswith("forms/p.yaml:7:") and "unknown form 'nowhere'" in errors[3]


def test_rollups_aggregate_numbers_only(kinds) -> None:  # type: ignore[no-untyped-def]
    parent = ("key: p\nlabel: P\nfields:\n"
              "  - {key: latest, type: rollup, over: c.p, agg: max, field: due}\n"
              "  - key: rows\n    type: subtable\n    fields: [{key: day, type: date}]\n"
              "  - {key: last_day, type: rollup, over: rows, agg: max, field: day}\n")
    child = "key: c\nlabel: C\nfields:\n  - {key: p, type: relation, to: p}\n  - {key: due, type: date}\n"
    errors = errors_of(kinds, {"app.yaml": APP, "forms/p.yaml": parent, "forms/c.yaml": child})
    assert len(errors) == 2 and "cannot max a date field" in errors[0] and "cannot max a date field" in errors[1]
