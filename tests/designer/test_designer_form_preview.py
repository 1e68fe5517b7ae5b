"""The form designer's preview with the real form: the draft rendered by the generated create page's markup (HTML,
autoescaped, designer rights), evaluated by the draft form's own rules, never saving a record."""
from __future__ import annotations

import pytest
import yaml
from sqlalchemy import func, select

from designer_support import dapi, folder, plat  # noqa: F401  (fixtures)

FORM = "forms/purchase_request.yaml"
URL = "/api/designer/apps/purchasing"
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _draft(folder):  # type: ignore[no-untyped-def]
    data = yaml.safe_load((folder / FORM).read_text())
    data["fields"] += [{"key": "reason", "type": "text", "label": "<b>Why</b>", "visible_if": "amount > 1000"},
                       {"key": "price", "type": "money"}, {"key": "pieces", "type": "integer"},
                       {"key": "total", "type": "formula", "expr": "price * pieces", "result": "money"},
                       {"key": "place", "type": "region", "levels": "city"}]
    return data


def _count(plat):  # type: ignore[no-untyped-def]
    live = plat.apps["purchasing"]
    with plat.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(plat.services["records"].table(live, live.spec.forms["purchase_request"]))).scalar_one()


def test_the_preview_page_is_the_real_form_of_the_draft(dapi, folder, plat) -> None:  # type: ignore[no-untyped-def]
    res = dapi.as_("admin").post(f"{URL}/form-preview", json={"path": FORM, "data": _draft(folder)})
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    html = res.text
    assert "data-lw-form" in html and 'data-preview="1"' in html and 'data-save=""' in html
    assert 'data-key="supplier"' in html and "data-relation" in html  # the real relation picker
    assert "data-region" in html and 'data-levels="city"' in html  # the real region cascade
    assert f'{URL}/form-preview/evaluate' in html
    assert "<b>Why</b>" not in html and "&lt;b&gt;Why&lt;/b&gt;" in html  # autoescaped
    assert "/static/forms/form.js" in html


def test_the_draft_evaluation_runs_conditions_and_formulas_and_saves_nothing(dapi, folder, plat) -> None:  # type: ignore[no-untyped-def]
    before = _count(plat)
    body = {"path": FORM, "data": _draft(folder), "values": {"amount": "5000", "price": "2.5", "pieces": "4"}}
    out = dapi.as_("admin").post(f"{URL}/form-preview/evaluate", json=body).json()
    assert out["fields"]["reason"]["visible"] is True
    assert out["display"]["total"] and "10" in out["display"]["total"]
    out = dapi.as_("admin").post(f"{URL}/form-preview/evaluate", json=body | {"values": {"amount": "10"}}).json()
    assert out["fields"]["reason"]["visible"] is False
    assert any(e["field"] == "title" for e in out["errors"])  # required, as on the real form
    assert _count(plat) == before


def test_the_preview_needs_designer_rights_and_a_form(dapi, folder) -> None:  # type: ignore[no-untyped-def]
    assert dapi.as_("alice").post(f"{URL}/form-preview", json={"path": FORM, "data": _draft(folder)}).status_code == 403
    res = dapi.as_("admin").post(f"{URL}/form-preview", json={"path": "org.yaml", "content": (folder / "org.yaml").read_text()})
    assert res.status_code == 400 and "not a form" in res.text
    broken = _draft(folder)
    broken["fields"].append({"key": "oops", "type": "formula", "expr": "nowhere + 1"})
    res = dapi.as_("admin").post(f"{URL}/form-preview", json={"path": FORM, "data": broken})
    assert res.status_code == 422 and "nowhere" in res.text
    out = dapi.as_("admin").post(f"{URL}/form-preview/evaluate", json={"path": FORM, "data": broken, "values": {}}).json()
    assert out["definition_errors"] and out["fields"] == {}
