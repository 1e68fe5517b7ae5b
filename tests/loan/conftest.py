"""Fixtures of the loan app tests: the app published from app_definitions/loan with its demo organisation, on
SQLite and PostgreSQL (the ``database`` fixture of tests/conftest.py), and a ``Loan`` client acting as demo users.

Loading the loan folder (23 YAML files) takes about a second, nearly all of it YAML parsing and schema checks, so the
loaded ``AppSpec`` — an immutable value — is built once per test process and reused by every platform; each test
still publishes it into its own empty database (tables, version row, organisation).
"""
from __future__ import annotations

from typing import Any, Mapping

import pytest

from engine.identity import sync_org
from engine.loader import content_hash
from tests.conftest import Api, make_platform
from tests.loan.loan_data import APPS_DIR, LOAN_DIR, Loan

_SPECS: dict[str, Any] = {}


def share_loaded_specs(platform: Any) -> None:
    """Let ``platform`` reuse app specs already loaded from the same files in this process."""
    load = platform.load_files

    def load_once(files: Mapping[str, str], pre_errors: list[Any] | None = None) -> Any:
        if pre_errors:
            return load(files, pre_errors)
        key = content_hash(files)
        if key not in _SPECS:
            _SPECS[key] = load(files)
        return _SPECS[key]

    platform.load_files = load_once


def loan_platform(database: Any, tmp_path: Any, clock: Any) -> Any:
    platform = make_platform(database, tmp_path, clock, apps_dir=APPS_DIR)
    share_loaded_specs(platform)
    platform.publish_folder(LOAN_DIR, "tester", "loan app")
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps["loan"].spec.org, clock.now(), with_users=True)
    return platform


@pytest.fixture
def loan(database, tmp_path, clock) -> Loan:  # type: ignore[no-untyped-def]
    return Loan(Api(loan_platform(database, tmp_path, clock)))
