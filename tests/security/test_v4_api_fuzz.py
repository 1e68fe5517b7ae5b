"""ASVS V4 (API and web service): schemathesis generates requests from the platform's own OpenAPI document — with
the security suite's three apps published, so every form's JSON Schema is in it — and no generated input may get a
5xx. A few examples per operation keep the run under a minute; a failure prints the request to replay.

The app runs on PostgreSQL when it answers (it refuses more values than SQLite: NUL bytes, 64-bit overflow), else
on SQLite.
"""
from __future__ import annotations

import os
import uuid
import zlib
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from engine.clock import FrozenClock  # noqa: E402
from engine.db import make_engine  # noqa: E402
from engine.identity import create_token  # noqa: E402
from engine.tables import users  # noqa: E402
from engine.web.app import create_app  # noqa: E402
from tests.conftest import PG_URL, pg_available  # noqa: E402
from tests.security.seclib import build_platform  # noqa: E402

EXAMPLES = int(os.environ.get("LOOMWORK_FUZZ_EXAMPLES", "4"))
#: operations left out: revoking tokens and signing out would end the fuzzer's own credentials
LEFT_OUT = ("/api/tokens/{token_id}", "/api/auth/logout")


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    clock = FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc))
    schema_name = None
    if pg_available():
        schema_name = "z_" + uuid.uuid4().hex[:12]
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema_name}"'))
        database = (PG_URL, make_engine(PG_URL, schema=schema_name))
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
        database = (url, make_engine(url))
    platform = build_platform(database, tmp_path_factory.mktemp("fuzzvar"), clock)
    with platform.db.begin() as conn:
        admin_id = conn.execute(select(users.c.id).where(users.c.is_admin.is_(True)).limit(1)).scalar_one()
        token = create_token(conn, admin_id, "fuzz", clock.now())[1]
    try:
        yield {"app": create_app(platform), "token": token, "platform": platform}
    finally:
        platform.db.dispose()
        if schema_name:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema_name}" CASCADE'))
            admin.dispose()


KINDS = {"form": "form", "flow": "flow", "report": "report", "dashboard": "dashboard"}


def _pick(value: Any, n: int) -> int:
    return zlib.crc32(str(value).encode()) % n  # stable across runs, unlike hash()


def aim(case: Any, platform: Any) -> None:
    """Point most generated path parameters at things that exist (an app, its forms, flows, reports; small ids),
    so the requests reach the handlers' real work instead of stopping at 404; the rest stay as generated."""
    params = case.path_parameters or {}
    if _pick(repr(sorted(params.items(), key=str)), 4) == 0:
        return  # a quarter keep their generated values (unknown names, huge numbers)
    apps = sorted(platform.apps)
    if "app" in params:
        params["app"] = apps[_pick(params["app"], len(apps))]
    live = platform.apps.get(params.get("app", "purchasing"))
    for key, kind in KINDS.items():
        if key in params and live is not None:
            names = sorted(live.spec.forms) if kind == "form" else sorted(live.spec.of_kind(kind))
            if names:
                params[key] = names[_pick(params[key], len(names))]
    for key, value in params.items():
        if isinstance(value, int) and not isinstance(value, bool):
            params[key] = value % 6 + 1


def test_no_generated_request_gets_a_server_error(fuzz_target: dict[str, Any]) -> None:
    """Every operation, a few generated requests each (positive data: valid by the schema), as an administrator."""
    from hypothesis import given

    schema = schemathesis.openapi.from_asgi("/api/openapi.json", fuzz_target["app"])
    headers = {"Authorization": f"Bearer {fuzz_target['token']}"}
    failures: list[str] = []
    statuses: dict[int, int] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in LEFT_OUT:
            continue
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def probe(case: Any) -> None:
            aim(case, fuzz_target["platform"])
            response = case.call(headers=headers)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500 and len(failures) < 20:
                failures.append(f"{case.method} {case.formatted_path} query={case.query} body={case.body!r:.200} "
                                f"→ {response.status_code}")

        probe()
    assert operations > 50  # the forms, flows, reports and platform operations are all in the document
    assert failures == []
    answered = sum(statuses.values())
    assert statuses.get(401, 0) < answered / 10, statuses  # the requests really were signed in
    assert sum(n for code, n in statuses.items() if code < 300) > answered / 5, statuses  # many got through
    print(f"{operations} operations, {answered} requests: {dict(sorted(statuses.items()))}")
