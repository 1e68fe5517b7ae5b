"""``loomwork doctor``: each configuration mistake a deployment can make is named, and a failure exits non-zero."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import insert

from engine import doctor
from engine.cli import main
from engine.migrate import upgrade
from engine.settings import Settings
from engine.tables import app_versions

from tests.conftest import APPS, make_platform

STRONG = "k3Y-" + "x9Qm2vLr8TzP4wNc7bHd6fJs5gKa1eYu0"


def settings_for(tmp_path: Path, url: str, **overrides: object) -> Settings:
    files = tmp_path / "files"
    files.mkdir(mode=0o700, exist_ok=True)
    files.chmod(0o700)
    values = {"database_url": url, "var_dir": str(tmp_path / "var"), "attachments_dir": str(files),
              "secret_key": STRONG, "cookie_secure": True} | overrides
    return Settings.from_env(values, environ={})


def by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {c.name: c for c in checks}


def test_a_sound_deployment_passes(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    platform = make_platform(database, tmp_path, clock)
    platform.publish_folder(APPS / "purchasing", "tester", "first")
    url, engine = database
    checks = doctor.run_checks(settings_for(tmp_path, url), engine=engine)
    found = by_name(checks)
    assert found["database reachable"].status == "ok"
    assert found["migrations"].status == "ok" and all(h in found["migrations"].message for h in doctor_heads())
    assert found["apps"].status == "ok" and "purchasing v1" in found["apps"].message
    assert found["secret key"].status == found["debug"].status == found["attachments"].status == "ok"
    expected_kind = "warn" if url.startswith("sqlite") else "ok"  # SQLite is warned about, never failed
    assert found["database kind"].status == expected_kind
    assert doctor.exit_code(checks) == 0
    assert doctor.exit_code(checks, strict=True) == (1 if expected_kind == "warn" else 0)


def doctor_heads() -> tuple[str, ...]:
    from engine.migrate import heads

    return heads()


def test_migrations_behind_a_head_fail(database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, engine = database
    upgrade(engine, "0001")
    found = by_name(doctor.run_checks(settings_for(tmp_path, url), engine=engine))
    assert found["migrations"].status == "fail"
    assert all(h in found["migrations"].message for h in doctor_heads())
    assert "loomwork db upgrade" in found["migrations"].message
    assert "apps" not in found  # not checked on tables that are not there yet


def test_empty_database_fails_migrations(database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, engine = database
    checks = doctor.run_checks(settings_for(tmp_path, url), engine=engine)
    assert by_name(checks)["migrations"].status == "fail" and doctor.exit_code(checks) == 1


def test_a_published_app_that_no_longer_loads_fails(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    platform = make_platform(database, tmp_path, clock)
    with platform.db.begin() as conn:
        conn.execute(insert(app_versions).values(app="broken", number=1, hash="0" * 64, author="x", message="m",
                                                 files={"app.yaml": "format: 1\nkey: broken\nnot_an_option: 1\n"},
                                                 column_map={}, created_at=clock.now()))
    url, engine = database
    found = by_name(doctor.run_checks(settings_for(tmp_path, url), engine=engine))
    assert found["apps"].status == "fail" and "broken" in found["apps"].message


@pytest.mark.parametrize("key, status", [
    ("", "warn"),                      # SQLite: a generated key works for one process on one host
    ("test-secret-key", "fail"),       # a well-known default
    ("short-but-random-Q7", "fail"),   # too short
    ("a" * 64, "fail"),                # long but no entropy
    (STRONG, "ok"),
])
def test_secret_key(tmp_path, key, status) -> None:  # type: ignore[no-untyped-def]
    check = doctor.check_secret_key(settings_for(tmp_path, f"sqlite:///{tmp_path}/x.db", secret_key=key))
    assert check.status == status, check.message
    assert not (tmp_path / "var" / "secret_key").exists()  # the doctor never generates one


def test_unset_secret_key_fails_on_postgresql(tmp_path) -> None:  # type: ignore[no-untyped-def]
    check = doctor.check_secret_key(settings_for(tmp_path, "postgresql+psycopg://u@db/x", secret_key=""))
    assert check.status == "fail" and "LOOMWORK_SECRET_KEY" in check.message


def test_debug_on_fails(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert doctor.check_debug(settings_for(tmp_path, "sqlite://", debug=True)).status == "fail"
    assert doctor.check_debug(settings_for(tmp_path, "sqlite://")).status == "ok"


def test_attachments_inside_a_web_root_fail(tmp_path) -> None:  # type: ignore[no-untyped-def]
    www = tmp_path / "www"
    (www / "uploads").mkdir(parents=True)
    settings = settings_for(tmp_path, "sqlite://", attachments_dir=str(www / "uploads"))
    check = doctor.check_attachments(settings, [str(www)])
    assert check.status == "fail" and "web root" in check.message
    assert doctor.check_attachments(settings_for(tmp_path, "sqlite://"), [str(www)]).status == "ok"


def test_attachments_inside_a_package_static_folder_fail(tmp_path) -> None:  # type: ignore[no-untyped-def]
    static = Path(doctor.__file__).resolve().parent / "static"
    created = not static.exists()
    static.mkdir(exist_ok=True)
    try:
        check = doctor.check_attachments(settings_for(tmp_path, "sqlite://", attachments_dir=str(static / "f")))
        assert check.status == "fail"
    finally:
        if created:
            static.rmdir()


def test_attachments_problems(tmp_path) -> None:  # type: ignore[no-untyped-def]
    not_a_folder = tmp_path / "plain-file"
    not_a_folder.write_text("x")
    assert doctor.check_attachments(settings_for(tmp_path, "sqlite://", attachments_dir=str(not_a_folder / "sub"))).status == "fail"
    missing = doctor.check_attachments(settings_for(tmp_path, "sqlite://", attachments_dir=str(tmp_path / "later")))
    assert missing.status == "warn" and "does not exist" in missing.message
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o777)
    open_dir.chmod(0o777)
    assert doctor.check_attachments(settings_for(tmp_path, "sqlite://", attachments_dir=str(open_dir))).status == "warn"
    assert list(open_dir.iterdir()) == []  # the write probe cleaned up


def test_cli_exit_codes_and_json(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    files = tmp_path / "files"
    files.mkdir(mode=0o700)
    monkeypatch.setenv("LOOMWORK_DATABASE_URL", f"sqlite:///{tmp_path}/db.sqlite")
    monkeypatch.setenv("LOOMWORK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LOOMWORK_ATTACHMENTS_DIR", str(files))
    monkeypatch.setenv("LOOMWORK_SECRET_KEY", STRONG)
    monkeypatch.setenv("LOOMWORK_APPS_DIR", str(APPS))
    monkeypatch.delenv("LOOMWORK_DEBUG", raising=False)
    assert main(["doctor"]) == 1  # no database yet
    out = capsys.readouterr().out
    assert "FAIL  database reachable" in out and "loomwork db upgrade" in out
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "OK    migrations" in out and "WARN  database kind" in out
    assert main(["doctor", "--strict"]) == 1
    capsys.readouterr()
    monkeypatch.setenv("LOOMWORK_DEBUG", "1")
    assert main(["doctor", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and {"name": "debug", "status": "fail"}.items() <= next(
        c for c in report["checks"] if c["name"] == "debug").items()


def test_cli_unreachable_postgresql_fails(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LOOMWORK_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    monkeypatch.setenv("LOOMWORK_SECRET_KEY", STRONG)
    monkeypatch.setenv("LOOMWORK_VAR_DIR", str(tmp_path / "var"))
    assert main(["doctor"]) == 1
    assert "FAIL  database reachable  cannot connect" in capsys.readouterr().out
