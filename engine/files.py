"""Uploaded files: checked for size and real content type, stored under the attachments folder (outside the web
root) by a random name, never the client's; served only to callers who may read the record they belong to.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterable

from sqlalchemy import Connection, insert, select, update

from .errors import BadRequest, NotFound, PayloadTooLarge
from .tables import files

#: content kinds accepted when a field does not narrow them
DEFAULT_KINDS = ("png", "jpeg", "gif", "webp", "pdf", "docx", "xlsx", "pptx", "txt", "csv")


@dataclass(frozen=True)
class StoredFile:
    id: int
    name: str
    kind: str
    content_type: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "type": self.content_type, "size": self.size}


def save_upload(conn: Connection, root: Path, filename: str, data: bytes | BinaryIO, *, allowed: Iterable[str],
                max_bytes: int, user_id: int | None, now: Any) -> StoredFile:
    from forms_engine.validators import InvalidValue
    from forms_engine.validators.files import check_upload

    try:
        checked = check_upload(filename, data, tuple(allowed), max_bytes)
    except InvalidValue as exc:
        if exc.code.endswith("too_large") or "large" in exc.code:
            raise PayloadTooLarge(exc.message) from None
        raise BadRequest(exc.message, details=[{"field": "file", "message": exc.message, "code": exc.code}]) from None
    raw = data if isinstance(data, bytes) else data.read()
    root.mkdir(parents=True, exist_ok=True)
    target = root / checked.storage_name
    target.write_bytes(raw)
    target.chmod(0o600)
    file_id = conn.execute(insert(files).values(
        storage_name=checked.storage_name, display_name=checked.display_name, kind=checked.kind or "bin",
        content_type=checked.content_type, size=checked.size, sha256=hashlib.sha256(raw).hexdigest(),
        uploaded_by=user_id, created_at=now)).inserted_primary_key[0]
    return StoredFile(int(file_id), checked.display_name, checked.kind or "bin", checked.content_type, checked.size)


def describe(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = conn.execute(select(files).where(files.c.id.in_(ids))).mappings()
    return {r["id"]: dict(r) for r in rows}


def attach(conn: Connection, ids: list[int], app: str, form: str, record_id: int) -> None:
    if ids:
        conn.execute(update(files).where(files.c.id.in_(ids)).values(app=app, form=form, record_id=record_id))


def open_file(conn: Connection, root: Path, file_id: int) -> tuple[dict[str, Any], Path]:
    row = conn.execute(select(files).where(files.c.id == file_id)).mappings().first()
    if row is None:
        raise NotFound(f"no file {file_id}")
    path = (root / row["storage_name"]).resolve()
    if root.resolve() not in path.parents or not path.is_file():
        raise NotFound(f"no file {file_id}")
    return dict(row), path
