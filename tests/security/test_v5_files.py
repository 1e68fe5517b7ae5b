"""ASVS V5 (file handling) over HTTP: path traversal in upload names and downloads, content-type spoofing, oversized
files. (Zip bombs and oversized sheets in .xlsx imports: ``tests/forms/test_import_bad_input.py``; the content
sniffing table: ``tests/forms/test_validators_files.py``; files of records out of scope: ``test_v8``.)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from engine.clock import FrozenClock
from engine.tables import files
from tests.conftest import Api
from tests.security.seclib import MEMBERS, build_platform

LIMIT = 8192
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
EXE = b"MZ\x90\x00" + b"\x00" * 200


@pytest.fixture(scope="module")
def files_api(sec_database, tmp_path_factory) -> Api:  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    clock = FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc))
    platform = build_platform(sec_database, tmp_path_factory.mktemp("files"), clock, max_upload_bytes=LIMIT)
    return Api(platform)


def root_of(api: Api) -> Path:
    return Path(api.platform.settings.attachments_dir).resolve()


def stored_count(api: Api) -> int:
    with api.platform.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(files)).scalar_one())


def upload(api: Api, name: str, data: bytes, content_type: str = "application/octet-stream", **params: str) -> Any:
    return api.as_("dora").post("/api/files", params=params or None, files={"file": (name, data, content_type)})


@pytest.mark.parametrize("name", ["../../../../tmp/evil.png", "..\\..\\windows\\evil.png", "/etc/cron.d/evil.png",
                                  "a/../../b/evil.png", "%2e%2e%2f%2e%2e%2fevil.png", "evil.png\x00.sh",
                                  "....//....//evil.png", "CON.png", "  .png"])
def test_upload_names_never_choose_where_the_file_goes(files_api, name, tmp_path) -> None:  # type: ignore[no-untyped-def]
    before = set(root_of(files_api).parent.rglob("*")) if root_of(files_api).exists() else set()
    response = upload(files_api, name, PNG, "image/png")
    if response.status_code != 201:  # a name that leaves no usable extension is refused, never stored
        assert response.status_code == 400, response.text
        return
    stored = response.json()
    assert "/" not in stored["name"] and "\\" not in stored["name"] and "\x00" not in stored["name"]
    assert ".." not in stored["name"].replace("....", "")  # no parent reference survives
    with files_api.platform.db.connect() as conn:
        storage = conn.execute(select(files.c.storage_name).where(files.c.id == stored["id"])).scalar_one()
    on_disk = (root_of(files_api) / storage).resolve()
    assert on_disk.parent == root_of(files_api) and on_disk.read_bytes() == PNG
    created = set(root_of(files_api).parent.rglob("*")) - before
    assert all(p.resolve().parent == root_of(files_api) or p.resolve() == root_of(files_api) for p in created)
    download = files_api.as_("dora").get(f"/api/files/{stored['id']}")
    assert download.status_code == 200 and download.content == PNG
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment") and "/" not in disposition.split("filename", 1)[1]


@pytest.mark.parametrize("path", ["/api/files/..%2f..%2fetc%2fpasswd", "/api/files/../../etc/passwd",
                                  "/api/files/-1", "/api/files/0", "/api/files/99999999999999999999",
                                  "/api/files/1%00", "/api/files/%2e%2e"])
def test_downloads_take_ids_not_paths(files_api, path) -> None:  # type: ignore[no-untyped-def]
    response = files_api.as_("dora").get(path)
    assert response.status_code in (400, 404, 422), (path, response.status_code)
    assert b"root:" not in response.content


def test_a_tampered_storage_name_cannot_reach_outside_the_folder(files_api) -> None:  # type: ignore[no-untyped-def]
    stored = upload(files_api, "ok.png", PNG, "image/png").json()  # creates the attachments folder
    secret = root_of(files_api).parent / "outside-secret.txt"
    secret.write_text("top secret")
    with files_api.platform.db.begin() as conn:
        conn.execute(update(files).where(files.c.id == stored["id"]).values(storage_name="../outside-secret.txt"))
    response = files_api.as_("dora").get(f"/api/files/{stored['id']}")
    assert response.status_code == 404 and b"top secret" not in response.content


@pytest.mark.parametrize(("name", "data", "claimed"), [
    ("photo.png", HTML, "image/png"),          # HTML dressed as an image
    ("logo.png", SVG, "image/png"),            # SVG with a script
    ("invoice.pdf", EXE, "application/pdf"),   # a Windows executable renamed
    ("report.pdf", PNG, "application/pdf"),    # the wrong real kind
    ("page.html", HTML, "text/html"),          # a kind no field accepts
    ("noextension", PNG, "image/png"),
])
def test_content_decides_not_the_name_or_the_header(files_api, name, data, claimed) -> None:  # type: ignore[no-untyped-def]
    before = stored_count(files_api)
    response = upload(files_api, name, data, claimed, app="club", form="member", field="docs")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"][0]["field"] == "file"
    assert stored_count(files_api) == before


def test_the_clients_content_type_is_ignored_and_downloads_cannot_run(files_api) -> None:  # type: ignore[no-untyped-def]
    stored = upload(files_api, "scan.png", PNG, "text/html").json()
    assert stored["type"] == "image/png"
    download = files_api.as_("dora").get(f"/api/files/{stored['id']}")
    assert download.headers["content-type"] == "image/png"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-security-policy"] == "sandbox"
    assert download.headers["content-disposition"].startswith("attachment")


@pytest.mark.parametrize("size", [LIMIT + 1, 4 * LIMIT])
def test_oversized_files_are_refused_and_nothing_is_kept(files_api, size) -> None:  # type: ignore[no-untyped-def]
    before_rows = stored_count(files_api)
    before_files = set(root_of(files_api).iterdir()) if root_of(files_api).exists() else set()
    response = upload(files_api, "big.png", PNG + b"\x00" * (size - len(PNG)), "image/png")
    assert response.status_code in (400, 413), response.text
    assert response.json()["error"]["status"] == response.status_code
    assert stored_count(files_api) == before_rows
    assert (set(root_of(files_api).iterdir()) if root_of(files_api).exists() else set()) == before_files


def test_a_file_at_the_limit_is_accepted(files_api) -> None:  # type: ignore[no-untyped-def]
    response = upload(files_api, "exact.png", PNG + b"\x00" * (LIMIT - len(PNG)), "image/png")
    assert response.status_code == 201, response.text
    assert response.json()["size"] == LIMIT


def test_files_attach_only_through_a_field_that_accepts_them(files_api) -> None:  # type: ignore[no-untyped-def]
    pdf = upload(files_api, "contract.pdf", PDF, "application/pdf", app="club", form="member", field="docs")
    assert pdf.status_code == 201, pdf.text
    member = files_api.as_("dora").post(MEMBERS, json={"name": "with file", "docs": [{"id": pdf.json()["id"]}]})
    assert member.status_code == 201, member.text
    not_a_file_field = upload(files_api, "x.png", PNG, "image/png", app="club", form="member", field="name")
    assert not_a_file_field.status_code == 400
