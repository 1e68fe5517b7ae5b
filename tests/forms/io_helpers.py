"""Shared helpers of the import/export tests: the warehouse test app, spreadsheet builders, job runners."""
from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, update

from engine.identity import sync_org
from engine.tables import audit_log, files, users
from tests.conftest import APPS, Api, make_platform

SUPPLIERS = "/api/apps/warehouse/forms/supplier"
DELIVERIES = "/api/apps/warehouse/forms/delivery"


@pytest.fixture
def wh(database, tmp_path, clock) -> Api:  # type: ignore[no-untyped-def]
    platform = make_platform(database, tmp_path, clock)
    platform.publish_folder(APPS / "warehouse", "tester", "first")
    with platform.db.begin() as conn:
        sync_org(conn, platform.apps["warehouse"].spec.org, clock.now(), with_users=True)
    return Api(platform)


def xlsx_bytes(*sheets: tuple[str, list[list[Any]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets:
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def read_xlsx(data: bytes) -> dict[str, list[list[Any]]]:
    book = load_workbook(io.BytesIO(data))
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets}


def read_csv(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def upload(api: Api, user: str, base: str, name: str, data: bytes, status: int = 201) -> dict[str, Any]:
    response = api.as_(user).post(base + "/imports", files={"file": (name, data)})
    assert response.status_code == status, response.text
    return response.json()


def run(api: Api, user: str, base: str, job: int, step: str, status: int = 200, **options: Any) -> dict[str, Any]:
    response = api.as_(user).post(f"{base}/imports/{job}/{step}?wait=1", json=options)
    assert response.status_code == status, response.text
    return response.json()


def count(api: Api, table_name: str) -> int:
    table = api.platform.apps["warehouse"].tables[table_name]
    with api.platform.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def audit_count(api: Api, form: str, action: str | None = None) -> int:
    query = select(func.count()).select_from(audit_log).where(audit_log.c.form == form)
    if action:
        query = query.where(audit_log.c.action == action)
    with api.platform.db.connect() as conn:
        return conn.execute(query).scalar_one()


def file_count(api: Api) -> int:
    with api.platform.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(files)).scalar_one()


def set_locale(api: Api, username: str, locale: str) -> None:
    with api.platform.db.begin() as conn:
        conn.execute(update(users).where(users.c.username == username).values(locale=locale))
