"""Malicious and broken uploads: each refused with a 4xx that names the problem, and nothing stored — no file, no
import job, no record. Zip bombs and huge declared sheets are refused from the zip directory before parsing."""
from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from forms_engine.io import reading
from forms_engine.io.jobs import import_jobs
from tests.forms.io_helpers import SUPPLIERS, count, csv_bytes, file_count, run, upload, wh, xlsx_bytes

__all__ = ["wh"]


def jobs_count(wh) -> int:  # type: ignore[no-untyped-def]
    with wh.platform.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(import_jobs)).scalar_one()


def refused(wh, name: str, data: bytes, status: int, *words: str) -> dict:  # type: ignore[no-untyped-def]
    before = (file_count(wh), jobs_count(wh))
    response = wh.as_("ann").post(SUPPLIERS + "/imports", files={"file": (name, data)})
    assert response.status_code == status, response.text
    message = response.json()["error"]["message"]
    for word in words:
        assert word in message, message
    assert (file_count(wh), jobs_count(wh)) == before and count(wh, "f_warehouse__supplier") == 0
    return response.json()


def _patched(data: bytes, part: str, change) -> bytes:  # type: ignore[no-untyped-def]
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            body = source.read(item.filename)
            target.writestr(item.filename, change(body) if item.filename == part else body)
    return out.getvalue()


def test_zip_bomb_is_refused_before_parsing(wh) -> None:  # type: ignore[no-untyped-def]
    base = xlsx_bytes(("s", [["编号"], ["S1"]]))
    padding = b"<!-- " + b"0" * (60 * 1024 * 1024) + b" -->"
    bomb = _patched(base, "xl/worksheets/sheet1.xml", lambda body: body.replace(b"<sheetData>", padding + b"<sheetData>"))
    assert len(bomb) < 1024 * 1024
    refused(wh, "bomb.xlsx", bomb, 413, "compressed", "to 1")


def test_huge_sheet_dimensions_are_refused(wh) -> None:  # type: ignore[no-untyped-def]
    base = xlsx_bytes(("s", [["编号"], ["S1"]]))
    huge = _patched(base, "xl/worksheets/sheet1.xml",
                    lambda body: body.replace(b'<dimension ref="A1:A2"/>', b'<dimension ref="A1:XFD1048576"/>'))
    refused(wh, "huge.xlsx", huge, 413, "declares", "cells")
    wide = _patched(base, "xl/worksheets/sheet1.xml",
                    lambda body: body.replace(b'<dimension ref="A1:A2"/>', b'<dimension ref="A1:ZZ2"/>'))
    refused(wh, "wide.xlsx", wide, 413, "columns")


def test_too_many_rows_or_columns(wh, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(reading.LIMITS, "max_rows", 5)
    monkeypatch.setattr(reading.LIMITS, "max_columns", 4)
    rows = [["编号", "名称"]] + [[f"S{i}", "x"] for i in range(6)]
    refused(wh, "rows.csv", csv_bytes(rows), 413, "more than 5 data rows")
    refused(wh, "rows.xlsx", xlsx_bytes(("s", rows)), 413, "rows")
    refused(wh, "cols.csv", csv_bytes([["a", "b", "c", "d", "e"], ["1", "2", "3", "4", "5"]]), 413, "5 columns")
    monkeypatch.setattr(reading.LIMITS, "max_bytes", 100)
    refused(wh, "big.csv", csv_bytes([["编号"]] + [["S1"]] * 40), 413, "larger than")


@pytest.mark.parametrize("name, data, status, words", [
    ("s.xlsx", "编号,名称\nS1,a\n".encode(), 415, ("does not match",)),
    ("s.csv", xlsx_bytes(("s", [["编号"], ["S1"]])), 415, ("XLSX",)),
    ("s.exe", b"MZ\x90\x00binary", 415, (".xlsx or .csv",)),
    ("s.xlsx", b"MZ\x90\x00 an executable renamed", 415, ("does not match",)),
    ("s.csv", b"", 400, ("empty",)),
    ("s.xlsx", b"PK\x03\x04 broken zip", 415, ("does not match",)),
])
def test_wrong_content_type(wh, name, data, status, words) -> None:  # type: ignore[no-untyped-def]
    refused(wh, name, data, status, *words)


def test_not_multipart_is_refused(wh) -> None:  # type: ignore[no-untyped-def]
    response = wh.as_("ann").post(SUPPLIERS + "/imports", content=b"a,b\n1,2\n", headers={"content-type": "text/csv"})
    assert response.status_code == 415 and "multipart" in response.json()["error"]["message"]


@pytest.mark.parametrize("encoding, prefix", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gb18030", b""), ("gbk", b"")])
def test_csv_encodings(wh, encoding, prefix) -> None:  # type: ignore[no-untyped-def]
    data = prefix + csv_bytes([["编号", "名称", "备注"], ["S1", "云南供应商", "昆明市五华区"]], encoding)
    job = upload(wh, "ann", SUPPLIERS, "s.csv", data)
    assert job["encoding"] == ("utf-8-sig" if prefix else "utf-8" if encoding == "utf-8" else "gb18030")
    assert [c["field"] for c in job["columns"]] == ["code", "name", "note"]
    assert run(wh, "ann", SUPPLIERS, job["id"], "commit")["status"] == "done"
    got = wh.as_("ann").get(SUPPLIERS + "/records").json()["items"][0]
    assert (got["name"], got["note"]) == ("云南供应商", "昆明市五华区")


def test_undecodable_csv_is_refused_naming_the_encoding(wh) -> None:  # type: ignore[no-untyped-def]
    data = "code,name\nS1,Caf\xe9 \xff\xfe\n".encode("latin-1")
    refused(wh, "s.csv", data, 400, "neither UTF-8 nor GB18030", "offset")


def test_binary_csv_is_refused(wh) -> None:  # type: ignore[no-untyped-def]
    refused(wh, "s.csv", b"code,name\nS1,a\x00b\n", 400)
