"""`make run` on a fresh machine: `loomwork demo load` publishes the loan app from app_definitions/, creates its
demo organisation (every user signs in with the one demo password) and fills the forms its `demo` setting names."""
from __future__ import annotations

from engine.demo import load_demo
from tests.conftest import make_platform
from tests.loan.conftest import share_loaded_specs
from tests.loan.loan_data import APPS_DIR


def test_demo_load_publishes_the_app_with_users_and_data(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    platform = make_platform(database, tmp_path, clock, apps_dir=APPS_DIR)
    share_loaded_specs(platform)
    lines = list(load_demo(platform, rows=5))           # five records per form keeps the test quick
    assert "loan: version 1 (published now)" in lines
    assert "loan: 20 demo users (password: Loomwork-2026)" in lines
    assert [line for line in lines if line.endswith("records")] == [
        "loan: 5 lead records", "loan: 5 customer records", "loan: 5 follow_up records",
        "loan: 5 due_diligence records"]
    response = platform_client(platform).post("/login", data={"username": "zhao_min", "password": "Loomwork-2026",
                                                              "next": "/"})
    assert response.status_code == 303
    assert list(load_demo(platform, rows=5))[-1] == "loan: demo data already there"


def platform_client(platform):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from engine.web.app import create_app

    return TestClient(create_app(platform), follow_redirects=False)
