"""The designer's working copy: the app folders on disk, read and written safely.

A definition file is read together with a *version token*, the SHA-256 of its bytes on disk. A save names the
token it started from; if the file on disk has any other content by then (another designer saved, an admin edited
it by hand, a ``git pull`` changed it) the save is refused with 409 and nothing is written. The check and the
write happen under a lock file, so two processes cannot both pass the check; the write itself is atomic
(temporary file + rename), so a reader never sees half a file.

Drafts are the files on disk; publishing turns the folder into a new immutable version (``engine.platform``).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Iterator, Mapping

import yaml

from engine.errors import BadRequest, Conflict, DefinitionError, DefinitionErrors, NotFound
from engine.loader import APP_FILE, DEFINITION_SUFFIXES, ORG_FILE, read_app_folder
from engine.metaschema import BASE_URI, load_schema

from . import yamlio

log = logging.getLogger("loomwork.designer")

#: token of a file that does not exist (a save with it creates the file, and fails if it appeared meanwhile)
NEW_FILE = "new"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-.]*$")


def token_of(raw: bytes | None) -> str:
    return NEW_FILE if raw is None else hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class AppFolder:
    key: str
    folder: Path
    label: Any


class Workspace:
    """The app folders under the platform's apps directory."""

    def __init__(self, platform: Any) -> None:
        self.platform = platform

    @property
    def root(self) -> Path:
        return Path(self.platform.settings.apps_dir)

    def apps(self) -> list[AppFolder]:
        out: list[AppFolder] = []
        for folder in self.platform.app_folders():
            try:
                data = yaml.safe_load((folder / APP_FILE).read_text("utf-8-sig")) or {}
            except (OSError, yaml.YAMLError):
                data = {}
            key = data.get("key") if isinstance(data, dict) and isinstance(data.get("key"), str) else folder.name
            out.append(AppFolder(key=key, folder=folder, label=data.get("label", key) if isinstance(data, dict) else key))
        return out

    def app(self, key: str) -> AppFolder:
        for app in self.apps():
            if app.key == key:
                return app
        raise NotFound(f"no app folder for '{key}' under {self.root}")

    # -- files --------------------------------------------------------------------------------------------------

    def kinds_by_folder(self) -> dict[str, list[Any]]:
        return self.platform.hooks.kinds.folders()

    def kind_of(self, rel: str, data: Any = None) -> str:
        if rel == APP_FILE:
            return "app"
        if rel == ORG_FILE:
            return "org"
        folder = rel.split("/", 1)[0] if "/" in rel else ""
        candidates = self.kinds_by_folder().get(folder, [])
        if not candidates:
            return {"flows": "flow"}.get(folder, "unknown")
        if isinstance(data, Mapping) and isinstance(data.get("kind"), str):
            for k in candidates:
                if k.name == data["kind"]:
                    return k.name
        return str(candidates[0].name)

    def safe_path(self, app: AppFolder, rel: str) -> Path:
        """``rel`` inside the app folder, refused if it escapes it, is hidden, or is not a definition file."""
        if not isinstance(rel, str) or not rel or len(rel) > 300 or "\\" in rel or "\0" in rel:
            raise BadRequest("give the file as a relative path such as forms/customer.yaml")
        parts = PurePosixPath(rel).parts
        if PurePosixPath(rel).is_absolute() or any(p in ("..", ".") or not _NAME.match(p) for p in parts):
            raise BadRequest(f"'{rel}' is not a usable file name", details=[{"field": "path"}])
        if not rel.endswith(DEFINITION_SUFFIXES):
            raise BadRequest(f"'{rel}' is not a definition file (.yaml, .yml or .json)")
        if len(parts) > 2 or (len(parts) == 1 and rel not in (APP_FILE, ORG_FILE)):
            raise BadRequest(f"'{rel}': definitions live in app.yaml, org.yaml or one level down (forms/x.yaml)")
        if len(parts) == 2 and parts[0] not in self.kinds_by_folder() and parts[0] != "flows":
            raise BadRequest(f"unknown definition folder '{parts[0]}'",
                             details=[{"known": sorted(self.kinds_by_folder())}])
        path = app.folder / rel
        if not path.resolve().is_relative_to(app.folder.resolve()):
            raise BadRequest(f"'{rel}' is outside the app folder")
        return path

    def files(self, app: AppFolder) -> list[dict[str, Any]]:
        files, _errors = read_app_folder(app.folder)
        out = []
        for rel, text in sorted(files.items()):
            data = _quiet_load(rel, text)
            out.append({"path": rel, "kind": self.kind_of(rel, data),
                        "key": data.get("key") if isinstance(data, dict) else None,
                        "label": data.get("label") if isinstance(data, dict) else None,
                        "dataset": data.get("dataset") if isinstance(data, dict) else None,
                        "token": token_of((app.folder / rel).read_bytes())})
        return out

    def read(self, app: AppFolder, rel: str) -> dict[str, Any]:
        path = self.safe_path(app, rel)
        if not path.is_file():
            raise NotFound(f"no file {rel} in app '{app.key}'")
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig", errors="replace")
        data = _quiet_load(rel, text)
        return {"path": rel, "kind": self.kind_of(rel, data), "content": text, "data": data, "token": token_of(raw)}

    def render(self, app: AppFolder, rel: str, data: Any) -> str:
        """The file text after writing ``data`` over the file as it is now on disk."""
        path = self.safe_path(app, rel)
        old = path.read_text("utf-8-sig") if path.is_file() else ""
        if rel.endswith(".json"):
            return yamlio.merge_json_text(old, data)
        kind = self.kind_of(rel, data)
        order = None
        try:
            schema = load_schema(kind)
            order = lambda d: yamlio.order_by_schema(d, schema, lambda ref: _resolve(kind, ref))  # noqa: E731
        except KeyError:
            pass
        text = yamlio.merge_text(old, data, order=order)
        if _quiet_load(rel, text) != _plain(data):  # never write what would read back differently
            log.warning("designer: round-trip of %s did not read back equal; writing it plainly", rel)
            text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=4096)
        return text

    @contextmanager
    def _locked(self, app: AppFolder) -> Iterator[None]:
        lock_dir = Path(self.platform.settings.var_dir) / "designer-locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with open(lock_dir / f"{app.key}.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def write(self, app: AppFolder, rel: str, text: str | None, token: str) -> str:
        """Write (or with ``text=None`` delete) ``rel`` if it still has version ``token``; return the new token."""
        path = self.safe_path(app, rel)
        if text is not None and len(text.encode()) > 1_000_000:
            raise BadRequest("a definition file may hold at most 1 MB")
        with self._locked(app):
            current = token_of(path.read_bytes() if path.is_file() else None)
            if current != token:
                what = ("was created by someone else" if token == NEW_FILE else
                        "was deleted" if current == NEW_FILE else "was changed by someone else")
                raise Conflict(f"{rel} {what} since you opened it; reload it and apply your change again",
                               details=[{"file": rel, "current_token": current, "your_token": token}])
            if text is None:
                if path.exists():
                    path.unlink()
                return NEW_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            raw = text.encode("utf-8")
            fd, tmp = tempfile.mkstemp(prefix=".designer-", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(raw)
                if path.exists():
                    os.chmod(tmp, path.stat().st_mode & 0o777)
                else:
                    os.chmod(tmp, 0o644)
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
            return token_of(raw)

    def replace_all(self, app: AppFolder, files: Mapping[str, str]) -> None:
        """Make the folder's definition files exactly ``files`` (used by roll back)."""
        with self._locked(app):
            current, _ = read_app_folder(app.folder)
            for rel in current:
                if rel not in files:
                    (app.folder / rel).unlink()
            for rel, text in files.items():
                path = app.folder / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                if not path.is_file() or path.read_text("utf-8-sig") != text:
                    path.write_text(text, "utf-8")

    # -- checking -----------------------------------------------------------------------------------------------

    def check(self, app: AppFolder, overrides: Mapping[str, str | None] | None = None) -> tuple[Any, list[DefinitionError]]:
        """Load the whole app as it would be published (with ``overrides`` in place of files on disk).

        Returns the AppSpec (or None) and every problem: JSON Schema, references between definitions, expressions.
        """
        files, errors = read_app_folder(app.folder)
        for rel, text in (overrides or {}).items():
            if text is None:
                files.pop(rel, None)
            else:
                files[rel] = text
        flow_files: dict[str, str] = {}
        if "flows" not in self.kinds_by_folder():  # no flow engine plugged in: check flows on their own
            flow_files = {k: files.pop(k) for k in list(files) if k.startswith("flows/")}
        try:
            spec, problems = self.platform.load_files(files, errors), []
        except DefinitionErrors as exc:
            spec, problems = None, list(exc.errors)
        if flow_files:
            from .flows import load_draft_flow

            for rel, text in flow_files.items():
                problems.extend(load_draft_flow(self, None, rel, text, app_files=files)[2])
        return (spec if not problems else None), problems


def _plain(data: Any) -> Any:
    return json.loads(json.dumps(data))


def _quiet_load(rel: str, text: str) -> Any:
    try:
        return json.loads(text) if rel.endswith(".json") else yaml.load(text, Loader=_Loader)
    except (ValueError, yaml.YAMLError):
        return None


class _Loader(yaml.SafeLoader):
    """Safe loading as the designer shows it: dates stay text, as the platform keeps them."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def _resolve(kind: str, ref: str) -> Mapping[str, Any]:
    """A ``$ref`` of a meta-schema (``#/$defs/x`` or ``app.json#/$defs/text``) → the schema node."""
    base, _, pointer = ref.partition("#")
    name = base[:-5] if base.endswith(".json") else kind
    if base.startswith(BASE_URI):
        name = base[len(BASE_URI):-5]
    node: Any = load_schema(name)
    for part in [p for p in pointer.split("/") if p]:
        node = node.get(part, {}) if isinstance(node, Mapping) else {}
    return node if isinstance(node, Mapping) else {}
