"""`loomwork demo load` (what `make run` calls): demo users and generated demo records, once."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.demo import load_demo
from tests.conftest import APPS, make_platform
from tests.engine.test_loader import errors_of, kinds  # noqa: F401 - fixture


def test_demo_load_fills_an_empty_app_once(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    platform = make_platform(database, tmp_path, clock, apps_dir=APPS)
    lines = list(load_demo(platform))
    assert "purchasing: 40 purchase_request records" in lines and "purchasing: 12 supplier records" in lines
    records = platform.services["records"]
    live = platform.apps["purchasing"]
    table = records.table(live, records.form(live, "purchase_request"))
    with platform.db.connect() as conn:
        count = conn.execute(select(func.count()).select_from(table)).scalar_one()
        suppliers = conn.execute(select(func.count(func.distinct(table.c.supplier)))).scalar_one()
    assert count == 40 and suppliers > 1  # relations point at the generated suppliers
    again = list(load_demo(platform))
    assert "purchasing: demo data already there" in again
    with platform.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 40


def test_demo_rows_name_real_forms(kinds) -> None:  # type: ignore[no-untyped-def]
    app = "key: demo\nlabel: Demo\ndemo:\n  rows:\n    - {form: nope, count: 3}\n"
    form = "key: thing\nlabel: Thing\nfields:\n  - {key: name, type: text}\n"
    assert errors_of(kinds, {"app.yaml": app, "forms/thing.yaml": form}) == [
        "app.yaml:5:14: demo.rows[0].form: unknown form 'nope'"]
