"""Helpers of the flow runtime tests: purchasing records, flows started and driven through the API."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.tables import users

APPS = Path(__file__).resolve().parents[1] / "apps"
RECORDS = "/api/apps/purchasing/forms/purchase_request/records"
START = "/api/apps/purchasing/flows/{flow}/instances"


def record(api: Any, user: str = "alice", **values: Any) -> int:
    body = {"title": "laptops", "amount": "80000"} | values
    response = api.as_(user).post(RECORDS, json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def start(api: Any, record_id: int, user: str = "alice", flow: str = "purchase_approval") -> int:
    response = api.as_(user).post(START.format(flow=flow), json={"record_id": record_id})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def todo(api: Any, user: str, **params: Any) -> list[dict[str, Any]]:
    response = api.as_(user).get("/api/flows/inbox/todo", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def task_of(api: Any, user: str, instance: int) -> int:
    found = [t["id"] for t in todo(api, user) if t["instance"] == instance]
    assert found, f"{user} has no open task in instance {instance}"
    return int(found[0])


def act(api: Any, user: str, instance: int, action: str = "approve", **body: Any) -> Any:
    return api.as_(user).post(f"/api/flows/tasks/{task_of(api, user, instance)}/{action}", json=body)


def instance(api: Any, instance_id: int, user: str = "alice") -> dict[str, Any]:
    response = api.as_(user).get(f"/api/flows/instances/{instance_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def user_id(platform: Any, username: str) -> int:
    with platform.db.connect() as conn:
        return int(conn.execute(select(users.c.id).where(users.c.username == username)).scalar_one())


def app_copy(tmp_path: Path, flows: dict[str, str] | None = None) -> Path:
    """A copy of the purchasing app with extra (or replaced) flow files."""
    folder = tmp_path / "apps" / "purchasing"
    shutil.copytree(APPS / "purchasing", folder)
    for name, text in (flows or {}).items():
        (folder / "flows" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder
