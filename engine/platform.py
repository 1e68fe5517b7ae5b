"""The platform: settings, database, the loaded engines, and the live (published) version of every app.

Publishing validates an app, migrates its tables additively and stores an immutable content-hashed snapshot of its
definition files, all in one transaction: an invalid app or a failed migration changes nothing.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import Connection, Engine, Table, func, insert, select

from . import audit
from .appspec import AppSpec
from .clock import Clock
from .db import make_engine
from .errors import DefinitionErrors, NotFound
from .loader import load_app, read_app_folder
from .plugins import Hooks, load_builtin
from .settings import Settings
from .storage import ColumnMap, MigrationReport, TableSpec, migrate
from .tables import app_versions


@dataclass(frozen=True)
class VersionInfo:
    app: str
    number: int
    hash: str
    author: str
    message: str
    created_at: str
    changed: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"app": self.app, "number": self.number, "hash": self.hash, "author": self.author,
                "message": self.message, "created_at": self.created_at}


@dataclass
class LiveApp:
    """An app version being served: its spec and the tables holding its data."""

    spec: AppSpec
    tables: dict[str, Table]
    column_map: ColumnMap
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def version(self) -> int:
        return int(self.spec.version or 0)


class Platform:
    def __init__(self, settings: Settings | None = None, *, clock: Clock | None = None,
                 engine: Engine | None = None, plugins: tuple[str, ...] | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.clock = clock or Clock()
        self.db = engine or make_engine(self.settings.database_url, pool_size=int(self.settings.db_pool_size),
                                         max_overflow=int(self.settings.db_max_overflow))
        self.hooks = Hooks()
        load_builtin(self.hooks, plugins) if plugins is not None else load_builtin(self.hooks)
        self.apps: dict[str, LiveApp] = {}
        #: (app, version) published versions that do not load under this code: not tried again by refresh_published
        self._unloadable: set[tuple[str, int]] = set()
        #: services the engines offer each other (e.g. "records"), filled by the engines' on_start hooks
        self.services: dict[str, Any] = {}
        for hook in self.hooks.on_start:
            hook(self)

    # -- database ----------------------------------------------------------------------------------------------

    def upgrade_db(self) -> None:
        """Bring the platform's own tables to the newest migration (Alembic)."""
        from .migrate import upgrade

        upgrade(self.db)

    # -- definitions --------------------------------------------------------------------------------------------

    def load_files(self, files: Mapping[str, str], pre_errors: list[Any] | None = None) -> AppSpec:
        return load_app(files, self.hooks.kinds, pre_errors=pre_errors, services=self.hooks.services)

    def check_folder(self, folder: Path) -> AppSpec:
        files, errors = read_app_folder(folder)
        return self.load_files(files, errors)

    def app_folders(self) -> list[Path]:
        root = Path(self.settings.apps_dir)
        return sorted(p for p in root.iterdir() if (p / "app.yaml").exists()) if root.is_dir() else []

    # -- versions -----------------------------------------------------------------------------------------------

    def publish_folder(self, folder: Path, author: str, message: str) -> VersionInfo:
        files, errors = read_app_folder(folder)
        return self.publish_files(files, author, message, pre_errors=errors)

    def publish_files(self, files: Mapping[str, str], author: str, message: str,
                      pre_errors: list[Any] | None = None) -> VersionInfo:
        """Validate and publish; a no-op when the content equals the newest version."""
        spec = self.load_files(files, pre_errors)
        with self.db.begin() as conn:
            latest = self._latest_row(conn, spec.key)
            if latest is not None and latest["hash"] == spec.hash:
                info = _info(latest, changed=False)
                if spec.key not in self.apps or self.apps[spec.key].version != info.number:
                    self._activate(conn, spec.with_version(info.number), latest["column_map"])
                return info
            number = (latest["number"] if latest else 0) + 1
            versioned = spec.with_version(number)
            column_map, _report = self._migrate(conn, versioned, latest["column_map"] if latest else {})
            now = self.clock.now()
            conn.execute(insert(app_versions).values(app=spec.key, number=number, hash=spec.hash, files=dict(files),
                                                     column_map=column_map, author=author, message=message,
                                                     created_at=now))
            audit.record(conn, at=now, user_id=None, app=spec.key, action="publish",
                         extra={"version": number, "author": author, "message": message})
            row = self._latest_row(conn, spec.key)
        assert row is not None
        with self.db.connect() as conn:
            self._activate(conn, versioned, column_map)
        return _info(row)

    def rollback(self, app: str, number: int, author: str, message: str | None = None) -> VersionInfo:
        """Publish the files of an older version as a new version."""
        row = self.version_row(app, number)
        return self.publish_files(row["files"], author, message or f"roll back to version {number}")

    def versions(self, app: str) -> list[VersionInfo]:
        with self.db.connect() as conn:
            rows = conn.execute(select(app_versions).where(app_versions.c.app == app)
                                .order_by(app_versions.c.number.desc())).mappings().all()
        return [_info(r) for r in rows]

    def version_row(self, app: str, number: int) -> Mapping[str, Any]:
        with self.db.connect() as conn:
            row = conn.execute(select(app_versions).where(app_versions.c.app == app, app_versions.c.number == number)
                               ).mappings().first()
        if row is None:
            raise NotFound(f"app '{app}' has no version {number}")
        return row

    def diff(self, app: str, old: int, new: int) -> str:
        """Per-file unified diff between two versions."""
        a, b = self.version_row(app, old)["files"], self.version_row(app, new)["files"]
        chunks: list[str] = []
        for name in sorted(set(a) | set(b)):
            left, right = a.get(name, ""), b.get(name, "")
            if left != right:
                chunks.extend(difflib.unified_diff(left.splitlines(keepends=True), right.splitlines(keepends=True),
                                                   fromfile=f"v{old}/{name}" if name in a else "/dev/null",
                                                   tofile=f"v{new}/{name}" if name in b else "/dev/null"))
        return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)

    def _latest_row(self, conn: Connection, app: str) -> Mapping[str, Any] | None:
        return conn.execute(select(app_versions).where(app_versions.c.app == app)
                            .order_by(app_versions.c.number.desc()).limit(1)).mappings().first()

    def _table_specs(self, spec: AppSpec) -> list[TableSpec]:
        out: list[TableSpec] = []
        for provider in self.hooks.table_specs:
            out.extend(provider(spec))
        return out

    def _migrate(self, conn: Connection, spec: AppSpec, previous: ColumnMap) -> tuple[ColumnMap, MigrationReport]:
        _tables, column_map, report = migrate(conn, self._table_specs(spec), previous)
        return column_map, report

    def _activate(self, conn: Connection, spec: AppSpec, column_map: ColumnMap) -> None:
        from sqlalchemy import MetaData

        from .storage import build_table, _flatten

        metadata = MetaData()
        tables: dict[str, Table] = {}
        for table_spec in _flatten(self._table_specs(spec)):
            mapping = column_map.get(table_spec.name, {})
            renamed = {k: v["column"] for k, v in mapping.items() if v["column"] != k}
            tables[table_spec.name] = build_table(table_spec, metadata, renamed)
        live = LiveApp(spec=spec, tables=tables, column_map=column_map)
        self.apps[spec.key] = live
        for hook in self.hooks.on_activate:
            hook(self, live)

    def activate_published(self) -> None:
        """Serve the newest published version of every app in the database."""
        with self.db.connect() as conn:
            latest = conn.execute(select(app_versions.c.app, func.max(app_versions.c.number))
                                  .group_by(app_versions.c.app)).all()
            for app, number in latest:
                row = conn.execute(select(app_versions).where(app_versions.c.app == app,
                                                              app_versions.c.number == number)).mappings().one()
                try:
                    spec = self.load_files(row["files"]).with_version(number)
                except DefinitionErrors:
                    continue  # a version valid when published but not under this code: kept out of service
                self._activate(conn, spec, row["column_map"])

    def refresh_published(self) -> int:
        """Serve the versions published since this process last looked (by another server process, the reload
        job of another process, ``loomwork publish``): one grouped query, and a load only for an app whose newest
        number is above the one served here. Returns how many apps were activated."""
        with self.db.connect() as conn:
            latest = conn.execute(select(app_versions.c.app, func.max(app_versions.c.number))
                                  .group_by(app_versions.c.app)).all()
            activated = 0
            for app, number in latest:
                live = self.apps.get(app)
                if (live is not None and live.version >= number) or (app, number) in self._unloadable:
                    continue
                row = conn.execute(select(app_versions).where(app_versions.c.app == app,
                                                              app_versions.c.number == number)).mappings().one()
                try:
                    spec = self.load_files(row["files"]).with_version(number)
                except DefinitionErrors:
                    self._unloadable.add((app, number))
                    continue
                self._activate(conn, spec, row["column_map"])
                activated += 1
        return activated

    def sync_apps_dir(self, author: str = "system", problems: list[str] | None = None) -> list[VersionInfo]:
        """Publish every app folder whose content changed since its newest version.

        A folder that does not check (a draft saved with problems) is skipped: its last published version keeps
        serving. Its errors go to ``problems`` when given, else they are raised."""
        out = []
        for folder in self.app_folders():
            try:
                out.append(self.publish_folder(folder, author, "published from the apps folder at start-up"))
            except DefinitionErrors as exc:
                if problems is None:
                    raise
                problems.extend(f"{folder.name}/{error}" for error in exc.errors)
        return out

    def app(self, key: str) -> LiveApp:
        try:
            return self.apps[key]
        except KeyError:
            raise NotFound(f"no app '{key}'") from None


def _info(row: Mapping[str, Any], changed: bool = True) -> VersionInfo:
    return VersionInfo(app=row["app"], number=row["number"], hash=row["hash"], author=row["author"],
                       message=row["message"], created_at=row["created_at"].isoformat(), changed=changed)
