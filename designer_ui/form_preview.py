"""The form designer's live preview with the real form: the draft form (built by the same loader the designer's
checks use) rendered by the generated create page's own markup and driven by the page's own script
(``engine/static/forms/form.js``), whose conditions, formulas and validation come from the draft.

``POST /api/designer/apps/{app}/form-preview`` answers the page (HTML, autoescaped) the designer shows in an
iframe; its form posts its values with the draft to ``POST /api/designer/apps/{app}/form-preview/evaluate``, which
runs the records service's evaluation of a draft (``page_model.evaluate_draft``) on the draft form. Nothing is ever
saved: the page has no save address, its button only checks, file inputs upload nothing. Relation pickers search
the published records of the related form (with the designer's own rights) and region pickers read the shipped
region data, as on the real page.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse

from engine.errors import BadRequest, NotFound
from engine.permissions import Principal
from engine.platform import LiveApp

from .workspace import AppFolder, Workspace


def draft_form(ws: Workspace, folder: AppFolder, path: str, content: str) -> tuple[LiveApp | None, Any, list[Any]]:
    """The app as it would be with ``path`` replaced by ``content``, served over the published tables.

    Returns (live app, draft form, definition errors). The live app's spec holds the draft form and, for every
    other form, the published one (its table is the one records are read from); forms not published yet are left
    out, so a relation to one finds nothing rather than reading a table that does not exist.
    """
    spec, errors = ws.check(folder, {path: content})
    if spec is None:
        return None, None, errors
    key = next((k for k, f in spec.forms.items() if f.file == path), None)
    if key is None:
        raise BadRequest(f"{path} is not a form", details=[{"field": "path"}])
    try:
        published = ws.platform.app(folder.key)
    except NotFound:
        published = None
    forms: dict[str, Any] = {key: spec.forms[key]}
    if published is not None:
        forms |= {k: f for k, f in published.spec.forms.items() if k != key}
    specs = dict(spec.specs) | {"form": forms}
    live = LiveApp(spec=replace(spec, specs=specs), tables=dict(published.tables) if published else {},
                   column_map=published.column_map if published else {})  # type: ignore[arg-type]
    return live, spec.forms[key], []


def render_page(request: Request, live: LiveApp, form: Any, who: Principal, path: str,
                draft: Mapping[str, Any]) -> HTMLResponse:
    from engine.web.templating import locale_of, render, text_of
    from forms_engine import page_model as pm
    from forms_engine.pages import _uses

    platform = ws_platform(request)
    records = platform.services["records"]
    lang = locale_of(request)
    with platform.db.connect() as conn:
        state = evaluate(conn, records, live, form, {}, who, lang, full=True)
        refs = pm.load_refs(conn, records, live, form, [state["record"]], who)
        people = pm.people(conn) if _uses(form, "user") else []
        depts = pm.department_list(conn) if _uses(form, "department") else []
    tz = live.spec.settings.timezone
    return render(request, "designer/form_preview.html", title=text_of(form.label, lang), app=live, form=form,
                  layout=pm.layout(form), record=None, values=state["record"], flags=state, refs=refs, people=people,
                  departments=depts, tz=tz, tz_offset=pm.tz_offset(tz, platform.clock.now()), pm=pm,
                  related_forms=dict(live.spec.forms), preview=True,
                  evaluate_url=f"/api/designer/apps/{quote(live.key, safe='')}/form-preview/evaluate",
                  evaluate_with={"path": path} | dict(draft))


def evaluate(conn: Any, records: Any, live: LiveApp, form: Any, values: Any, who: Principal, lang: str,
             full: bool = False) -> dict[str, Any]:
    """The draft form's evaluation of ``values``: the one the real form's evaluate endpoint gives, nothing saved."""
    from forms_engine import page_model as pm

    return pm.evaluate_draft(conn, records, live, form, values, who, record_id=None, lang=lang, full=full)


def ws_platform(request: Request) -> Any:
    from engine.web.auth import platform_of

    return platform_of(request)
