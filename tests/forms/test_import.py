"""Excel/CSV import through the API on both databases: columns matched by label in any language or key, the user's
mapping, a dry run listing every problem by row and column, all-or-nothing or valid-only commits with a file of the
rejected rows, relations found by a key field, sub-table sheets, duplicates skipped or updated, serial numbers,
audit entries, progress and rights."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from engine.tables import audit_log
from tests.forms.io_helpers import (DELIVERIES, SUPPLIERS, audit_count, count, csv_bytes, file_count, read_xlsx, run,
                                    upload, wh, xlsx_bytes)

__all__ = ["wh"]

HEAD = ["编号", "名称", "等级", "Tags", "地区", "Phone", "启用", "合作日期", "额度", "占比", "联系人", "部门", "note"]


def supplier_row(code: str, **over: object) -> list[object]:
    row = {"编号": code, "名称": f"Supplier {code}", "等级": "优", "Tags": "快、廉", "地区": "云南省/昆明市/五华区",
           "Phone": "13800138000", "启用": "是", "合作日期": "2025/3/1", "额度": "¥1,200.50", "占比": "12.5%",
           "联系人": "Ann", "部门": "北仓", "note": "first"} | over
    return [row[h] for h in HEAD]


def test_csv_import_matches_labels_in_any_language_and_stores_typed_values(wh) -> None:  # type: ignore[no-untyped-def]
    data = csv_bytes([HEAD, supplier_row("S1"), supplier_row("S2", 等级="Fair", 启用="否", Tags="")])
    job = upload(wh, "ann", SUPPLIERS, "suppliers.csv", data)
    assert job["status"] == "uploaded" and job["progress"]["total"] == 2 and job["encoding"] == "utf-8"
    assert {c["header"]: c["field"] for c in job["columns"]} == {
        "编号": "code", "名称": "name", "等级": "grade", "Tags": "tags", "地区": "region", "Phone": "phone",
        "启用": "active", "合作日期": "since", "额度": "limit", "占比": "share", "联系人": "contact", "部门": "team",
        "note": "note"}
    checked = run(wh, "ann", SUPPLIERS, job["id"], "dry-run")
    assert checked["status"] == "checked" and checked["problem_count"] == 0, checked["problems"]
    assert checked["counts"]["created"] == 2 and count(wh, "f_warehouse__supplier") == 0  # a dry run writes nothing
    done = run(wh, "ann", SUPPLIERS, job["id"], "commit")
    assert done["status"] == "done" and done["counts"] == {"created": 2, "updated": 0, "skipped": 0, "rejected": 0}
    items = wh.as_("ann").get(SUPPLIERS + "/records?sort=code").json()["items"]
    first, second = items
    assert first["code"] == "S1" and first["grade"] == "a" and sorted(first["tags"]) == ["cheap", "fast"]
    assert first["region"] == "530102" and first["phone"] == "+86 13800138000" and first["active"] is True
    assert first["since"] == "2025-03-01" and Decimal(first["limit"]) == Decimal("1200.50")
    assert Decimal(first["share"]) == Decimal("0.125") and first["note"] == "first"
    assert first["contact"] is not None and first["team"] is not None
    assert second["grade"] == "b" and second["active"] is False and second["tags"] is None
    # audit entries as for API saves, plus one entry for the import itself
    with wh.platform.db.connect() as conn:
        entries = conn.execute(select(audit_log).where(audit_log.c.form == "supplier")
                               .order_by(audit_log.c.id)).mappings().all()
    assert [e["action"] for e in entries] == ["create", "create", "import"]
    assert entries[0]["changes"]["code"] == [None, "S1"] and entries[0]["extra"] == {"import": job["id"]}
    # a finished job cannot run again
    again = wh.as_("ann").post(f"{SUPPLIERS}/imports/{job['id']}/commit?wait=1", json={})
    assert again.status_code == 409


def test_half_invalid_rows_all_or_nothing_writes_none_valid_only_writes_the_rest(wh) -> None:  # type: ignore[no-untyped-def]
    rows = [HEAD]
    for i in range(10):
        bad = i % 2 == 1
        rows.append(supplier_row(f"S{i}", 额度="-5" if bad else "10", 地区="Atlantis" if i == 3 else "530102"))
    job = upload(wh, "ann", SUPPLIERS, "half.xlsx", xlsx_bytes(("Sheet1", rows)))
    checked = run(wh, "ann", SUPPLIERS, job["id"], "dry-run")
    assert checked["counts"]["rejected"] == 5 and checked["counts"]["created"] == 5
    by_row = {}
    for p in checked["problems"]:
        by_row.setdefault(p["row"], []).append(p)
    assert sorted(by_row) == [3, 5, 7, 9, 11]  # spreadsheet rows (header is row 1)
    limit = next(p for p in by_row[3] if p["field"] == "limit")
    assert limit["column"] == "I" and limit["header"] == "额度" and "at least 0" in limit["message"]
    assert {p["field"] for p in by_row[5]} == {"limit", "region"}  # every problem of a row is listed
    failed = run(wh, "ann", SUPPLIERS, job["id"], "commit", mode="all_or_nothing")
    assert failed["status"] == "failed" and "nothing was imported" in failed["message"]
    assert count(wh, "f_warehouse__supplier") == 0 and audit_count(wh, "supplier") == 0
    done = run(wh, "ann", SUPPLIERS, job["id"], "commit", mode="valid_only")
    assert done["status"] == "done" and done["counts"]["created"] == 5 and done["counts"]["rejected"] == 5
    assert count(wh, "f_warehouse__supplier") == 5
    rejected = wh.as_("ann").get(f"{SUPPLIERS}/imports/{job['id']}/rejected?format=xlsx")
    assert rejected.status_code == 200
    sheet = read_xlsx(rejected.content)["Sheet1"]
    assert sheet[0][-1] == "问题" and [r[0] for r in sheet[1:]] == ["S1", "S3", "S5", "S7", "S9"]
    assert "must be at least 0" in sheet[1][-1] and "Atlantis" in sheet[2][-1]
    as_csv = wh.as_("ann").get(f"{SUPPLIERS}/imports/{job['id']}/rejected?format=csv")
    assert as_csv.status_code == 200 and as_csv.content.decode("utf-8-sig").count("\r\n") == 6


def test_mapping_can_be_changed_and_bad_mappings_are_refused(wh) -> None:  # type: ignore[no-untyped-def]
    data = csv_bytes([["Supplier no.", "Title", "Remarks"], ["X1", "Xeno", "hello"]])
    job = upload(wh, "ann", SUPPLIERS, "x.csv", data)
    assert [c["field"] for c in job["columns"]] == [None, None, None]
    bad = wh.as_("ann").post(f"{SUPPLIERS}/imports/{job['id']}/dry-run?wait=1",
                             json={"mapping": {"A": "code", "B": "code", "Z": "name", "C": "nope"}})
    assert bad.status_code == 422
    fields = {d["field"] for d in bad.json()["error"]["details"]}
    assert {"mapping.Z", "mapping.C", "mapping.B"} <= fields
    computed = wh.as_("ann").post(f"{DELIVERIES}/imports", files={"file": ("d.csv", csv_bytes([["x"], ["1"]]))}).json()
    refused = wh.as_("ann").post(f"{DELIVERIES}/imports/{computed['id']}/dry-run?wait=1", json={"mapping": {"A": "total"}})
    assert refused.status_code == 422 and "cannot be imported" in refused.text
    done = run(wh, "ann", SUPPLIERS, job["id"], "commit", mapping={"A": "code", "Title": "name", "Remarks": "note"})
    assert done["status"] == "done", done
    got = wh.as_("ann").get(SUPPLIERS + "/records").json()["items"][0]
    assert (got["code"], got["name"], got["note"]) == ("X1", "Xeno", "hello")


def _suppliers(wh, *codes: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    out = {}
    for code in codes:
        response = wh.as_("max").post(SUPPLIERS + "/records", json={"code": code, "name": f"n{code}", "grade": "a"})
        assert response.status_code == 201, response.text
        out[code] = response.json()["id"]
    return out


def test_relations_by_key_subtable_sheet_serials_and_formulas(wh) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    ids = _suppliers(wh, "S1", "S2")
    main = [["外部单号", "供应商", "到货时间"], ["R1", "S1", datetime(2026, 3, 2, 9, 30)], ["R2", "S2", None],
            ["R3", "S9", None]]
    lines = [["外部单号", "货号", "数量", "单价"], ["R1", "bolt", 2, 1.5], ["R1", "nut", 10, 0.1], ["R2", "gear", 1, 99],
             ["R3", "x", 1, 1]]
    job = upload(wh, "ann", DELIVERIES, "deliveries.xlsx", xlsx_bytes(("到货单", main), ("明细", lines)))
    assert job["subtables"] == [{"sheet": "明细", "subtable": "lines", "rows": 4, "parent_column": "A",
                                 "parent_header": "外部单号", "columns": [
                                     {"column": "A", "header": "外部单号", "field": None},
                                     {"column": "B", "header": "货号", "field": "sku"},
                                     {"column": "C", "header": "数量", "field": "qty"},
                                     {"column": "D", "header": "单价", "field": "price"}]}]
    checked = run(wh, "ann", DELIVERIES, job["id"], "dry-run")
    [problem] = checked["problems"]
    assert (problem["row"], problem["column"], problem["field"]) == (4, "B", "supplier")
    assert "no 供应商 with 编号 'S9'" in problem["message"]
    done = run(wh, "ann", DELIVERIES, job["id"], "commit", mode="valid_only")
    assert done["counts"]["created"] == 2
    items = {r["ref"]: r for r in wh.as_("ann").get(DELIVERIES + "/records").json()["items"]}
    r1, r2 = items["R1"], items["R2"]
    assert r1["supplier"] == ids["S1"] and r1["supplier_grade"] == "a"
    assert [(ln["sku"], ln["qty"], ln["line_total"]) for ln in r1["lines"]] == [("bolt", 2, "3.00"), ("nut", 10, "1.00")]
    assert r1["total"] == "4.00" and r2["total"] == "99.00"
    assert r1["received_at"] == "2026-03-02T01:30:00+00:00"  # the app's time zone (Shanghai) applied to the cell
    assert sorted([r1["number"], r2["number"]]) == ["DL-202603-0001", "DL-202603-0002"]
    after = wh.as_("ann").post(DELIVERIES + "/records", json={"ref": "R9", "supplier": ids["S1"]}).json()
    assert after["number"] == "DL-202603-0003"  # the counter moved by the imported count, no gap


def test_subtable_row_problems_point_at_the_line_sheet(wh) -> None:  # type: ignore[no-untyped-def]
    _suppliers(wh, "S1")
    main = [["外部单号", "供应商"], ["R1", "S1"]]
    lines = [["外部单号", "货号", "数量", "单价"], ["R1", "bolt", 0, 1], ["R1", "nut", 1, "#DIV/0!"]]
    job = upload(wh, "ann", DELIVERIES, "d.xlsx", xlsx_bytes(("到货单", main), ("Lines", lines)))
    checked = run(wh, "ann", DELIVERIES, job["id"], "dry-run")
    got = sorted((p["sheet"], p["row"], p["column"], p["field"]) for p in checked["problems"])
    assert got == [("Lines", 2, "C", "lines[0].qty"), ("Lines", 3, "D", "lines[1].price")]
    assert any("#DIV/0!" in p["message"] for p in checked["problems"])


def test_duplicates_error_skip_or_update(wh) -> None:  # type: ignore[no-untyped-def]
    _suppliers(wh, "S1")
    data = csv_bytes([["编号", "名称"], ["S1", "renamed"], ["S2", "new"], ["S2", "twice"]])
    job = upload(wh, "max", SUPPLIERS, "dup.csv", data)
    checked = run(wh, "max", SUPPLIERS, job["id"], "dry-run")
    assert sorted((p["row"], p["code"]) for p in checked["problems"]) == [(2, "unique"), (4, "duplicate")]
    assert "row 3" in next(p["message"] for p in checked["problems"] if p["code"] == "duplicate")
    skipped = run(wh, "max", SUPPLIERS, job["id"], "dry-run", duplicates="skip")
    assert skipped["counts"] == {"created": 1, "updated": 0, "skipped": 1, "rejected": 1}
    done = run(wh, "max", SUPPLIERS, job["id"], "commit", duplicates="update", mode="valid_only")
    assert done["counts"] == {"created": 1, "updated": 1, "skipped": 0, "rejected": 1}
    items = {r["code"]: r for r in wh.as_("max").get(SUPPLIERS + "/records").json()["items"]}
    assert items["S1"]["name"] == "renamed" and items["S1"]["row_version"] == 2 and items["S1"]["grade"] == "a"
    assert items["S2"]["name"] == "new"
    assert audit_count(wh, "supplier", "update") == 1


def test_update_needs_the_right_to_update_that_record(wh) -> None:  # type: ignore[no-untyped-def]
    _suppliers(wh, "S1")  # owned by max; ann (clerk) may update her own records only
    job = upload(wh, "ann", SUPPLIERS, "u.csv", csv_bytes([["编号", "名称"], ["S1", "mine now"]]))
    checked = run(wh, "ann", SUPPLIERS, job["id"], "dry-run", duplicates="update")
    [problem] = checked["problems"]
    assert problem["code"] == "forbidden" and problem["field"] == "code"


def test_only_creators_may_import_and_jobs_are_private(wh) -> None:  # type: ignore[no-untyped-def]
    before = file_count(wh)
    refused = wh.as_("vic").post(SUPPLIERS + "/imports", files={"file": ("s.csv", csv_bytes([["编号"], ["S1"]]))})
    assert refused.status_code == 403 and file_count(wh) == before
    job = upload(wh, "ann", SUPPLIERS, "s.csv", csv_bytes([["编号", "名称"], ["S1", "a"]]))
    assert wh.as_("bob").get(f"{SUPPLIERS}/imports/{job['id']}").status_code == 404
    assert wh.as_("bob").post(f"{SUPPLIERS}/imports/{job['id']}/commit", json={}).status_code == 404
    assert wh.as_("root").get(f"{SUPPLIERS}/imports/{job['id']}").status_code == 200
    assert wh.as_(None).get(f"{SUPPLIERS}/imports/{job['id']}").status_code == 401
    assert count(wh, "f_warehouse__supplier") == 0


def test_progress_is_reported_while_importing_and_polled(wh) -> None:  # type: ignore[no-untyped-def]
    from forms_engine.io import Importer, Options, read_upload

    rows = [["编号", "名称"]] + [[f"P{i:05d}", f"name {i}"] for i in range(2500)]
    data = csv_bytes(rows)
    platform = wh.platform
    app = platform.apps["warehouse"]
    seen: list[tuple[str, int, int]] = []
    from engine.identity import load_principal
    from engine.tables import users

    with platform.db.connect() as conn:
        who = load_principal(conn, conn.execute(select(users.c.id).where(users.c.username == "ann")).scalar_one())
    importer = Importer(platform, app, app.spec.forms["supplier"], who, read_upload("p.csv", data), Options(),
                        lambda phase, done, total: seen.append((phase, done, total)))
    with platform.db.begin() as conn:
        importer.commit(conn, importer.check(conn))
    writes = [done for phase, done, total in seen if phase == "importing"]
    assert writes == sorted(writes) and writes[0] == 0 and writes[-1] == 2500 and len(writes) >= 4
    assert {total for phase, _, total in seen if phase == "checking"} == {2500}
    job = upload(wh, "ann", SUPPLIERS, "p.csv", csv_bytes([["编号", "名称"]] + [[f"Q{i}", "x"] for i in range(1200)]))
    started = wh.as_("ann").post(f"{SUPPLIERS}/imports/{job['id']}/commit", json={})
    assert started.status_code == 202  # runs in the background; the page polls the job
    polled = wh.as_("ann").get(f"{SUPPLIERS}/imports/{job['id']}").json()
    assert polled["status"] == "done" and polled["progress"] == {"processed": 1200, "total": 1200, "percent": 100.0}
    assert count(wh, "f_warehouse__supplier") == 3700


def test_formula_cells_import_their_values_not_the_formulas(wh) -> None:  # type: ignore[no-untyped-def]
    import io
    import zipfile

    data = xlsx_bytes(("Sheet1", [["编号", "名称", "额度"], ["F1", "placeholder", 1]]))
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            part = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = part.decode()
                start = text.index('<c r="B2"')
                end = text.index("</c>", start) + 4
                text = text[:start] + '<c r="B2" t="str"><f>HYPERLINK("http://x.invalid","y")</f><v>computed</v></c>' + text[end:]
                start = text.index('<c r="C2"')
                end = text.index("</c>", start) + 4
                text = text[:start] + '<c r="C2"><f>40+2</f><v>42</v></c>' + text[end:]
                part = text.encode()
            target.writestr(item, part)
    job = upload(wh, "ann", SUPPLIERS, "f.xlsx", out.getvalue())
    assert run(wh, "ann", SUPPLIERS, job["id"], "commit")["status"] == "done"
    got = wh.as_("ann").get(SUPPLIERS + "/records").json()["items"][0]
    assert got["name"] == "computed" and Decimal(got["limit"]) == Decimal("42")
