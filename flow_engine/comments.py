"""Files attached to a flow comment: checked, then attached to the instance's record.

A comment's ``attachments`` are files the commenter uploaded through ``POST /api/files`` (checked for size and
content there), given by id (``12`` or ``{"id": 12, ...}`` as the upload answered). Each must exist, have been
uploaded by the commenter, and not belong to another record; it is then attached to the record the flow runs on, so
whoever may read that record may download it, like a file field's files. The history keeps the ids; the pages show
the files' names from the file table.
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import Connection

from engine import files as file_store
from engine.permissions import Principal

from .errors import InvalidPayload

#: Most files one comment may carry.
MAX_FILES = 10


def _refused(message: str, index: int | None = None) -> InvalidPayload:
    field = "attachments" if index is None else f"attachments[{index}]"
    return InvalidPayload(message, details=[{"field": field, "message": message}])


def attach_comment_files(conn: Connection, raw: Any, who: Principal, app: str, form: str,
                         record_id: int) -> list[str]:
    """The ids of ``raw`` (as strings, for the history) once checked and attached to the record; ``InvalidPayload``
    naming ``attachments[i]`` otherwise (the caller's transaction then rolls back, nothing attached)."""
    if raw is None or raw == []:
        return []
    if not isinstance(raw, list):
        raise _refused("attachments must be a list of uploaded files (their ids)")
    if len(raw) > MAX_FILES:
        raise _refused(f"at most {MAX_FILES} files per comment")
    ids: list[int] = []
    for i, item in enumerate(raw):
        value = item.get("id") if isinstance(item, Mapping) else item
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
            raise _refused("not a file id: upload the file to /api/files first and send the id it answers", i)
        ids.append(int(value))
    found = file_store.describe(conn, ids)
    for i, file_id in enumerate(ids):
        row = found.get(file_id)
        if row is None or row["uploaded_by"] != who.id:
            raise _refused(f"no file {file_id} uploaded by you", i)
        if row["record_id"] is not None and (row["app"], row["form"], row["record_id"]) != (app, form, record_id):
            raise _refused(f"file {file_id} already belongs to another record", i)
    file_store.attach(conn, ids, app, form, record_id)
    return [str(i) for i in dict.fromkeys(ids)]


def file_names(conn: Connection, history: list[dict[str, Any]]) -> None:
    """Give each history entry that carries attachments a ``files`` list of ``{id, name}`` (in place)."""
    wanted = {int(a) for h in history for a in ((h.get("detail") or {}).get("attachments") or []) if str(a).isdigit()}
    if not wanted:
        return
    names = {i: row["display_name"] for i, row in file_store.describe(conn, sorted(wanted)).items()}
    for h in history:
        ids = [int(a) for a in ((h.get("detail") or {}).get("attachments") or []) if str(a).isdigit()]
        if ids:
            h["files"] = [{"id": i, "name": names[i]} for i in ids if i in names]


#: ``@name`` in a comment: a username (letters, digits, ``_ . -``) or a display name (any characters but spaces and
#: punctuation that ends a mention)
_MENTION_END = ".,;:!?，。；：！？、)）]」』\"'"


def mentioned(text: str) -> list[str]:
    """The names a comment mentions with ``@`` (in order, once each); an address like a@b.c mentions nobody."""
    import re

    out: list[str] = []
    for name in re.findall(r"(?<![A-Za-z0-9_.])@([^\s@]+)", text):
        name = name.rstrip(_MENTION_END)
        for stop in "，。；：！？、":  # a CJK sentence goes on without a space after the name
            name = name.split(stop, 1)[0]
        if name and name[:64] not in out:
            out.append(name[:64])
    return out


def notify_mentions(conn: Connection, platform: Any, *, text: str, who: Principal, app: str, form: Any,
                    row: Mapping[str, Any], title: str, link: str) -> list[int]:
    """Tell the people a comment mentions (``@username``, or ``@display name`` when one active user has it), kind
    ``mention``, if they may read the flow's record; returns their ids. The commenter is not told."""
    from sqlalchemy import or_, select

    from engine.identity import load_principal
    from engine.permissions import effective, in_scope
    from engine.tables import users

    names = mentioned(text)
    service = platform.services.get("notifications")
    if not names or service is None:
        return []
    rows = conn.execute(select(users.c.id, users.c.username, users.c.display_name).where(
        users.c.is_active.is_(True), or_(users.c.username.in_(names), users.c.display_name.in_(names)))).all()
    by_display: dict[str, list[int]] = {}
    for r in rows:
        by_display.setdefault(r.display_name, []).append(r.id)
    ids: list[int] = []
    for name in names:
        found = [r.id for r in rows if r.username == name] or (by_display.get(name, []) if len(by_display.get(name, [])) == 1
                                                                 else [])
        ids.extend(i for i in found if i not in ids and i != who.id)
    allowed = []
    for user_id in ids:
        person = load_principal(conn, user_id)
        if person is not None and (person.is_admin or in_scope(effective(form.permissions, person).read, row, person)):
            allowed.append(user_id)
    if allowed:
        service.send(conn, users=allowed, kind="mention", title=f"{who.display_name or who.username} mentioned you: "
                     f"{title}", body=text[:500], link=link, app=app)
    return allowed
