"""Git, when the apps folder is a git repository of its own (``git init`` in ``LOOMWORK_APPS_DIR``).

Publishing from the designer then commits the app's folder with the designer as author and the publish message;
the designer shows the folder's log. Only a repository whose top level *is* the apps folder counts: an apps folder
that merely sits inside another project's repository (as ``app_definitions/`` does in the source tree) is left alone.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SEP = "\x1f"


@dataclass(frozen=True)
class CommitResult:
    committed: bool
    commit: str | None = None
    message: str = ""


def _git(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})})


def is_repo(root: Path) -> bool:
    if shutil.which("git") is None or not (root / ".git").exists():
        return False
    top = _git(root, "rev-parse", "--show-toplevel")
    return top.returncode == 0 and Path(top.stdout.strip()).resolve() == root.resolve()


def commit(root: Path, folder: Path, author_name: str, author_email: str, message: str) -> CommitResult:
    """Commit every change under ``folder`` (an app folder inside ``root``); nothing to commit is not an error."""
    rel = folder.resolve().relative_to(root.resolve()).as_posix()
    added = _git(root, "add", "--all", "--", rel)
    if added.returncode != 0:
        return CommitResult(False, message=added.stderr.strip())
    if _git(root, "diff", "--cached", "--quiet", "--", rel).returncode == 0:
        return CommitResult(False, message="nothing to commit")
    env = {"GIT_AUTHOR_NAME": author_name, "GIT_AUTHOR_EMAIL": author_email,
           "GIT_COMMITTER_NAME": "Loomwork designer", "GIT_COMMITTER_EMAIL": "designer@loomwork.invalid"}
    done = _git(root, "commit", "--quiet", "--no-verify", "-m", message, "--", rel, env=env)
    if done.returncode != 0:
        return CommitResult(False, message=(done.stderr or done.stdout).strip())
    head = _git(root, "rev-parse", "HEAD").stdout.strip()
    return CommitResult(True, commit=head, message="committed")


def log(root: Path, folder: Path, limit: int = 50) -> list[dict[str, Any]]:
    rel = folder.resolve().relative_to(root.resolve()).as_posix()
    fmt = _SEP.join(["%H", "%an", "%ae", "%aI", "%s"])
    out = _git(root, "log", f"-n{limit}", f"--format={fmt}", "--", rel)
    if out.returncode != 0:
        return []
    entries = []
    for line in out.stdout.splitlines():
        parts = line.split(_SEP)
        if len(parts) == 5:
            entries.append({"commit": parts[0], "author": parts[1], "email": parts[2], "date": parts[3],
                            "message": parts[4]})
    return entries
