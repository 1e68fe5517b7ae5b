"""Reloading app definitions while the platform runs.

- **Git**: when ``LOOMWORK_APPS_DIR`` is the top of a git repository, the ``apps`` job (every
  ``LOOMWORK_APPS_RELOAD_SECONDS``) notices that HEAD moved (a pull, a push into the checked-out branch, a commit by
  hand) and publishes each app folder the new commits touched whose *committed* content differs from its newest
  version, with the author and message of the newest commit touching the folder. The files are read from the commit
  (``git ls-tree`` / ``git cat-file``), never from the working tree, so uncommitted drafts do not go live. A commit
  whose definitions do not check is not published (the last version keeps serving); its located errors are kept in
  ``var/apps-reload.json`` (``GET /api/admin/apps/reload-status``), logged and sent to the administrators as a
  notification. The commit is remembered as seen, so it is not tried again on every tick.
- **Explicit reload** (``loomwork apps reload``, ``POST /api/admin/apps/reload``): publishes changed app folders —
  from HEAD when the apps folder is a git repository, else from the working tree as start-up does — and reports
  the problems of each folder with file and line.
- **Other processes**: every process's ``apps`` job also serves any newer version another process published
  (``Platform.refresh_published``: one grouped query per tick).
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

from fastapi import APIRouter, Depends, Request

from .errors import DefinitionError, DefinitionErrors
from .permissions import Principal
from .loader import APP_FILE, DEFINITION_SUFFIXES
from .source import MAX_FILE_BYTES

log = logging.getLogger("loomwork.apps")

STATE_FILE = "apps-reload.json"
_SEP = "\x1f"


# -- git ------------------------------------------------------------------------------------------------------------

def _git(root: Path, *args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(root), *args], input=data, capture_output=True, timeout=60,
                          env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})


def is_repo(root: Path) -> bool:
    """True when ``root`` is the top level of a git work tree (not merely inside another project's repository)."""
    if shutil.which("git") is None or not (root / ".git").exists():
        return False
    top = _git(root, "rev-parse", "--show-toplevel")
    return top.returncode == 0 and Path(top.stdout.decode().strip()).resolve() == root.resolve()


def head(root: Path) -> str | None:
    out = _git(root, "rev-parse", "--verify", "-q", "HEAD^{commit}")
    return out.stdout.decode().strip() if out.returncode == 0 else None


@dataclass(frozen=True)
class _Blob:
    path: str
    sha: str
    size: int


def _tree(root: Path, rev: str) -> list[_Blob]:
    out = _git(root, "ls-tree", "-r", "-l", "-z", "--full-tree", rev)
    if out.returncode != 0:
        raise RuntimeError(f"git ls-tree {rev}: {out.stderr.decode().strip()}")
    blobs = []
    for entry in out.stdout.decode("utf-8", "surrogateescape").split("\0"):
        if not entry:
            continue
        meta, path = entry.split("\t", 1)
        _mode, kind, sha, size = meta.split()
        if kind == "blob":
            blobs.append(_Blob(path, sha, int(size)))
    return blobs


def _cat(root: Path, shas: list[str]) -> dict[str, bytes]:
    """The contents of several blobs with one ``git cat-file --batch``."""
    if not shas:
        return {}
    out = _git(root, "cat-file", "--batch", data="".join(f"{s}\n" for s in shas).encode())
    if out.returncode != 0:
        raise RuntimeError(f"git cat-file: {out.stderr.decode().strip()}")
    raw, pos, contents = out.stdout, 0, {}
    for sha in shas:
        eol = raw.index(b"\n", pos)
        header = raw[pos:eol].decode().split()
        size = int(header[2])
        contents[sha] = raw[eol + 1: eol + 1 + size]
        pos = eol + 1 + size + 1
    return contents


def committed_folders(root: Path, rev: str) -> dict[str, tuple[dict[str, str], list[DefinitionError]]]:
    """Every app folder (a top-level folder with ``app.yaml``) as committed at ``rev``: its definition files as
    ``{relative path: text}`` and unreadable-file problems, exactly as ``loader.read_app_folder`` reads a folder."""
    blobs = _tree(root, rev)
    folders = sorted({PurePosixPath(b.path).parts[0] for b in blobs
                      if len(PurePosixPath(b.path).parts) == 2 and PurePosixPath(b.path).name == APP_FILE})
    wanted: dict[str, list[_Blob]] = {f: [] for f in folders}
    for blob in blobs:
        parts = PurePosixPath(blob.path).parts
        if len(parts) < 2 or parts[0] not in wanted or PurePosixPath(blob.path).suffix not in DEFINITION_SUFFIXES:
            continue
        if any(part.startswith(".") for part in parts[1:]):
            continue
        wanted[parts[0]].append(blob)
    small = [b.sha for blobs_ in wanted.values() for b in blobs_ if b.size <= MAX_FILE_BYTES]
    contents = _cat(root, list(dict.fromkeys(small)))
    out: dict[str, tuple[dict[str, str], list[DefinitionError]]] = {}
    for folder, blobs_ in wanted.items():
        files: dict[str, str] = {}
        errors: list[DefinitionError] = []
        for blob in sorted(blobs_, key=lambda b: b.path):
            rel = PurePosixPath(*PurePosixPath(blob.path).parts[1:]).as_posix()
            if blob.size > MAX_FILE_BYTES:
                errors.append(DefinitionError(rel, 1, 1, "", f"file is larger than {MAX_FILE_BYTES // 1000} KB "
                                              f"({blob.size} bytes)", "split the definition into several files"))
                continue
            raw = contents[blob.sha]
            try:
                files[rel] = raw.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                errors.append(DefinitionError(rel, raw[: exc.start].count(b"\n") + 1, 1, "", "file is not valid UTF-8 text"))
        out[folder] = (files, errors)
    return out


def changed_folders(root: Path, old: str, new: str) -> set[str] | None:
    """Top-level folders with a change between two commits; None when ``old`` is unknown (a force push, a new clone)."""
    if _git(root, "cat-file", "-e", f"{old}^{{commit}}").returncode != 0:
        return None
    out = _git(root, "diff", "--name-only", "-z", old, new)
    if out.returncode != 0:
        return None
    return {PurePosixPath(p).parts[0] for p in out.stdout.decode("utf-8", "surrogateescape").split("\0") if p}


def last_commit(root: Path, rev: str, folder: str) -> dict[str, str]:
    """Author and message of the newest commit up to ``rev`` that touched ``folder``."""
    fmt = _SEP.join(["%H", "%an", "%ae", "%B"])
    out = _git(root, "log", "-1", f"--format={fmt}", rev, "--", folder)
    parts = out.stdout.decode("utf-8", "replace").split(_SEP, 3) if out.returncode == 0 else []
    if len(parts) != 4:
        return {"commit": rev, "author": "git", "email": "", "message": f"published from git commit {rev[:12]}"}
    return {"commit": parts[0], "author": parts[1], "email": parts[2], "message": parts[3].strip() or parts[0][:12]}


def commit_info(root: Path, rev: str) -> dict[str, str]:
    """Author, e-mail, time (ISO 8601) and message of commit ``rev``; empty when git cannot read it."""
    fmt = _SEP.join(["%H", "%an", "%ae", "%aI", "%B"])
    out = _git(root, "log", "-1", f"--format={fmt}", rev)
    parts = out.stdout.decode("utf-8", "replace").split(_SEP, 4) if out.returncode == 0 else []
    if len(parts) != 5:
        return {}
    return {"commit": parts[0], "author": parts[1], "email": parts[2], "committed_at": parts[3],
            "message": parts[4].strip()}


# -- state (shared by the processes of one host through a file under the var folder) -------------------------------

def _state_path(platform: Any) -> Path:
    return Path(platform.settings.var_dir) / STATE_FILE


@contextmanager
def _locked(platform: Any, wait: bool) -> Iterator[bool]:
    path = Path(platform.settings.var_dir) / "apps-reload.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False  # another process is reloading right now
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_state(platform: Any) -> dict[str, Any]:
    try:
        return json.loads(_state_path(platform).read_text("utf-8"))  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return {}


def _write_state(platform: Any, state: dict[str, Any]) -> None:
    path = _state_path(platform)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1), "utf-8")
    tmp.replace(path)


# -- reloading ------------------------------------------------------------------------------------------------------

@dataclass
class ReloadReport:
    source: str  # "git" or "folder"
    commit: str | None = None
    #: the commit's author, email, committed_at and message (git), or the reloading user (folder)
    info: dict[str, str] = field(default_factory=dict)
    published: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    skipped: bool = False  # nothing new (HEAD did not move), or another process holds the lock

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "commit": self.commit, "ok": self.ok, "published": self.published,
                "problems": self.problems}


def _publish(platform: Any, report: ReloadReport, folder: str, files: dict[str, str],
             pre: list[DefinitionError], author: str, message: str) -> None:
    try:
        info = platform.publish_files(files, author, message, pre_errors=pre)
    except DefinitionErrors as exc:
        report.problems.append({"folder": folder, "errors": [
            e.to_dict() | {"text": f"{folder}/{e}"} for e in exc.errors]})
        return
    report.published.append({"folder": folder, "app": info.app, "version": info.number, "changed": info.changed})


def reload_from_git(platform: Any, *, force: bool = False, wait: bool = True) -> ReloadReport | None:
    """Publish what HEAD holds when it moved since the last look (``force``: every app folder, even if not).
    None when the apps folder is not a git repository (or has no commit yet)."""
    root = Path(platform.settings.apps_dir)
    if not root.is_dir() or not is_repo(root):
        return None
    commit = head(root)
    if commit is None:
        return None
    with _locked(platform, wait) as got:
        if not got:
            return ReloadReport("git", commit, skipped=True)
        state = read_state(platform)
        if state.get("source") == "git" and state.get("commit") == commit and not force:
            return ReloadReport("git", commit, skipped=True)
        touched = changed_folders(root, state["commit"], commit) if state.get("commit") and not force else None
        report = ReloadReport("git", commit, info=commit_info(root, commit))
        for folder, (files, pre) in committed_folders(root, commit).items():
            if touched is not None and folder not in touched:
                continue  # untouched since the last look: never undo a designer's publish with older content
            who = last_commit(root, commit, folder)
            _publish(platform, report, folder, files, pre, who["author"], who["message"])
        _finish(platform, report, state)
    return report


def reload_folder(platform: Any, author: str = "system") -> ReloadReport:
    """Publish every app folder of the working tree that changed (drafts included, as at start-up)."""
    report = ReloadReport("folder", info={"author": author, "message": "published from the apps folder by a reload"})
    with _locked(platform, True):
        from .loader import read_app_folder

        for folder in platform.app_folders():
            files, pre = read_app_folder(folder)
            _publish(platform, report, folder.name, files, pre, author, "published from the apps folder by a reload")
        _finish(platform, report, read_state(platform))
    return report


def reload(platform: Any, author: str = "system") -> ReloadReport:
    """The explicit reload: from HEAD when the apps folder is a git repository, else from the working tree."""
    return reload_from_git(platform, force=True) or reload_folder(platform, author)


def publish_at_start(platform: Any) -> tuple[list[str], list[str]]:
    """What ``loomwork serve`` publishes before serving: HEAD of a git apps folder (never uncommitted drafts), else
    every changed folder of the working tree. Returns (one line per app, problems); a folder that does not check
    keeps serving its last published version."""
    report = reload_from_git(platform, force=True)
    if report is None:
        problems: list[str] = []
        lines = [f"{info.app}: version {info.number}" + (" (published now)" if info.changed else "")
                 for info in platform.sync_apps_dir(problems=problems)]
        return lines, problems
    return ([f"{e['app']}: version {e['version']}" + (" (published now)" if e["changed"] else "")
             for e in report.published], [e["text"] for p in report.problems for e in p["errors"]])


def _finish(platform: Any, report: ReloadReport, previous: dict[str, Any]) -> None:
    now = platform.clock.now().isoformat()
    state = report.to_json() | report.info | {"checked_at": now}
    # the last result that published (a refused commit keeps showing what is serving)
    state["last_published"] = ({k: v for k, v in state.items() if k not in ("problems", "ok")} if report.ok
                               else previous.get("last_published"))
    _write_state(platform, state)
    for entry in report.published:
        if entry["changed"]:
            log.info("published %s version %s from %s", entry["app"], entry["version"], report.commit or "the apps folder")
    if not report.problems:
        return
    for problem in report.problems:
        for error in problem["errors"]:
            log.warning("not published (%s): %s", report.commit or "apps folder", error["text"])
    _notify_admins(platform, report)


def _notify_admins(platform: Any, report: ReloadReport) -> None:
    from sqlalchemy import select

    from .tables import users

    service = platform.services.get("notifications")
    if service is None:
        return
    lines = [e["text"] for p in report.problems for e in p["errors"]]
    where = f"commit {report.commit[:12]}" if report.commit else "the apps folder"
    body = "\n".join(lines[:20]) + (f"\n… and {len(lines) - 20} more" if len(lines) > 20 else "")
    with platform.db.begin() as conn:
        admins = conn.execute(select(users.c.id).where(users.c.is_admin.is_(True), users.c.is_active.is_(True))
                              ).scalars().all()
        service.send(conn, users=admins, kind="apps_reload",
                     title=f"App definitions of {where} not published: {len(lines)} problem{'s' if len(lines) != 1 else ''}",
                     body=body, link="/api/admin/apps/reload-status")


# -- the job, routes and commands -----------------------------------------------------------------------------------

def job(platform: Any) -> int:
    """Publish a moved HEAD (git apps folders), then serve versions other processes published."""
    if float(platform.settings.apps_reload_seconds) <= 0:
        return 0
    handled = 0
    report = reload_from_git(platform, wait=False)
    if report is not None and not report.skipped:
        handled += sum(1 for p in report.published if p["changed"]) + len(report.problems)
    return handled + platform.refresh_published()


job.interval = lambda platform: float(platform.settings.apps_reload_seconds)  # type: ignore[attr-defined]


def build_router() -> Any:
    from fastapi.responses import JSONResponse

    from .web.auth import admin_user, platform_of
    from .web.errors import error_body

    router = APIRouter(tags=["apps"])

    @router.post("/api/admin/apps/reload")
    def reload_apps(request: Request, who: Principal = Depends(admin_user)) -> Any:
        report = reload(platform_of(request), author=who.username)
        if report.ok:
            return report.to_json()
        details = [e | {"folder": p["folder"]} for p in report.problems for e in p["errors"]]
        body = error_body(422, "definition_invalid",
                          f"{len(report.problems)} app folder(s) not published: their definitions do not check",
                          details)
        return JSONResponse(body | report.to_json(), status_code=422)

    @router.get("/api/admin/apps/reload-status")
    def reload_status(request: Request, who: Principal = Depends(admin_user)) -> dict[str, Any]:
        platform = platform_of(request)
        state = read_state(platform)
        return {"git": is_repo(Path(platform.settings.apps_dir)),
                "interval": float(platform.settings.apps_reload_seconds),
                "last": {k: v for k, v in state.items() if k != "last_published"} or None,
                "last_published": state.get("last_published")}

    return router


def _cmd_reload(args: Any) -> int:
    import sys

    from .cli import platform_from_args

    platform = platform_from_args(args)
    platform.activate_published()
    report = reload(platform, author=args.author or os.environ.get("USER", "admin"))
    for entry in report.published:
        print(f"{entry['app']}: version {entry['version']}" + (" (published now)" if entry["changed"] else ""))
    for problem in report.problems:
        for error in problem["errors"]:
            print(f"not published: {error['text']}", file=sys.stderr)
    return 0 if report.ok else 1


def add_commands(sub: Any) -> None:
    apps = sub.add_parser("apps", help="app definitions of the apps folder").add_subparsers(
        dest="apps_command", required=True)
    p = apps.add_parser("reload", help="publish changed app folders now (from HEAD when the apps folder is a git "
                                       "repository); exit 1 if one does not check")
    p.add_argument("--author", help="author of versions published from the working tree (default: $USER)")
    p.set_defaults(func=_cmd_reload)


def register(hooks: Any) -> None:
    """The ``apps`` job, the admin routes and ``loomwork apps reload`` (listed in ``engine.plugins.BUILTIN``)."""
    hooks.jobs.append(("apps", job))
    hooks.routers.append(lambda platform: [build_router()])
    hooks.cli.append(add_commands)
