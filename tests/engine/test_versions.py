"""Publishing versions: content-hashed snapshots, additive migrations that never lose data, diff and roll back."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from engine.errors import DefinitionErrors
from engine.identity import sync_org
from engine.permissions import SYSTEM
from engine.tables import app_versions

from tests.conftest import APPS, make_platform

FORM = "forms/purchase_request.yaml"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "apps" / "purchasing"
    shutil.copytree(APPS / "purchasing", target, ignore=shutil.ignore_patterns("reports"))
    return target


@pytest.fixture
def plat(database, tmp_path, clock, folder):  # type: ignore[no-untyped-def]
    p = make_platform(database, tmp_path, clock, apps_dir=folder.parent)
    p.publish_folder(folder, "ann", "first")
    with p.db.begin() as conn:
        sync_org(conn, p.apps["purchasing"].spec.org, clock.now(), with_users=True)
    return p


def _create(plat, values):  # type: ignore[no-untyped-def]
    records = plat.services["records"]
    with plat.db.begin() as conn:
        return records.create(conn, plat.apps["purchasing"], "purchase_request", values, SYSTEM)


def _edit(folder: Path, old: str, new: str) -> None:
    path = folder / FORM
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_publish_is_content_hashed_and_idempotent(plat, folder) -> None:  # type: ignore[no-untyped-def]
    again = plat.publish_folder(folder, "bob", "same files")
    assert (again.number, again.changed) == (1, False)
    _edit(folder, "label: 标题", "label: 主题")
    second = plat.publish_folder(folder, "bob", "rename title")
    assert (second.number, second.changed, second.author, second.message) == (2, True, "bob", "rename title")
    assert second.hash != again.hash
    assert [v.number for v in plat.versions("purchasing")] == [2, 1]
    assert plat.apps["purchasing"].version == 2


def test_invalid_app_is_refused_and_nothing_changes(plat, folder) -> None:  # type: ignore[no-untyped-def]
    _edit(folder, "type: money", "type: mony")
    with pytest.raises(DefinitionErrors) as info:
        plat.publish_folder(folder, "bob", "broken")
    assert "unknown field type 'mony' (did you mean 'money'?)" in str(info.value.errors[0])
    with plat.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(app_versions)).scalar_one() == 1
    assert plat.apps["purchasing"].version == 1


def test_added_removed_and_retyped_fields_keep_every_value(plat, folder) -> None:  # type: ignore[no-untyped-def]
    first = _create(plat, {"title": "chairs", "amount": "1500.25", "quantity": 3, "note": "blue ones"})
    _edit(folder, "  - {key: note, type: textarea, max_length: 2000}\n",
          "  - {key: vendor_ref, type: text}\n")                      # note removed, vendor_ref added
    _edit(folder, "{key: quantity, type: integer, min: 1}", "{key: quantity, type: text}")  # integer → text
    _edit(folder, "search_fields: [title, note]", "search_fields: [title]")
    info = plat.publish_folder(folder, "bob", "reshape")
    assert info.number == 2
    table = "f_purchasing__purchase_request"
    with plat.db.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns(table)}
        assert {"note", "vendor_ref", "quantity", "quantity__v2"} <= columns
        row = conn.execute(select(plat.apps["purchasing"].tables[table]).where(
            plat.apps["purchasing"].tables[table].c.id == first["id"])).mappings().one()
        kept = conn.exec_driver_sql(f'SELECT note, quantity FROM "{table}" WHERE id = {first["id"]}').one()
    assert tuple(kept) == ("blue ones", 3)          # the old data is still there, in the old columns
    assert row["quantity"] is None                  # the retyped field starts empty in its new column
    second = _create(plat, {"title": "desks", "amount": 10, "quantity": "a few", "vendor_ref": "V-9"})
    assert second["quantity"] == "a few" and second["vendor_ref"] == "V-9" and second["def_version"] == 2
    assert first["def_version"] == 1


def test_diff_and_rollback(plat, folder) -> None:  # type: ignore[no-untyped-def]
    _edit(folder, "label: 标题", "label: 主题")
    plat.publish_folder(folder, "bob", "rename")
    diff = plat.diff("purchasing", 1, 2)
    assert diff.startswith("--- v1/forms/purchase_request.yaml\n+++ v2/forms/purchase_request.yaml\n")
    assert "-  - {key: title, type: text, label: 标题" in diff and "+  - {key: title, type: text, label: 主题" in diff
    back = plat.rollback("purchasing", 1, "carol")
    assert back.number == 3 and back.message == "roll back to version 1"
    assert plat.diff("purchasing", 1, 3) == ""
    assert plat.apps["purchasing"].spec.forms["purchase_request"].field("title").label.get() == "标题"


def test_restart_serves_the_newest_published_version(plat, folder, database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    _edit(folder, "label: 标题", "label: 主题")
    plat.publish_folder(folder, "bob", "rename")
    fresh = make_platform(database, tmp_path, clock, apps_dir=folder.parent)
    fresh.activate_published()
    assert fresh.apps["purchasing"].version == 2
    assert fresh.apps["purchasing"].spec.forms["purchase_request"].field("title").label.get() == "主题"


def test_start_up_skips_a_folder_that_does_not_check(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from tests.conftest import APPS, make_platform

    apps = tmp_path / "apps"
    shutil.copytree(APPS / "purchasing", apps / "purchasing")
    platform = make_platform(database, tmp_path, clock, apps_dir=apps)
    assert [v.number for v in platform.sync_apps_dir()] == [1]
    form = apps / "purchasing" / "forms" / "supplier.yaml"
    form.write_text(form.read_text().replace("type: text", "type: txet", 1))  # a draft saved with a problem
    problems: list[str] = []
    assert platform.sync_apps_dir(problems=problems) == []
    assert any("txet" in p and p.startswith("purchasing/forms/supplier.yaml:") for p in problems)
    assert platform.apps["purchasing"].version == 1  # the last published version keeps serving


def test_republishing_unchanged_forms_keeps_their_columns(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from sqlalchemy import inspect

    apps = tmp_path / "apps"
    shutil.copytree(APPS / "purchasing", apps / "purchasing")
    platform = make_platform(database, tmp_path, clock, apps_dir=apps)
    platform.publish_folder(apps / "purchasing", "t", "one")
    (apps / "purchasing" / "app.yaml").write_text((apps / "purchasing" / "app.yaml").read_text() + "# touched\n")
    assert platform.publish_folder(apps / "purchasing", "t", "two").number == 2
    with platform.db.connect() as conn:
        columns = [c["name"] for c in inspect(conn).get_columns("f_purchasing__purchase_request")]
    assert not [c for c in columns if "__v" in c], columns
