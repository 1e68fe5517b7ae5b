"""Export of list views to .xlsx and .csv on both databases: the records list's filters, sort, search and read
scope; labels in the caller's language; formula-looking text neutralised; sub-table sheets that import back."""
from __future__ import annotations

from tests.forms.io_helpers import (DELIVERIES, SUPPLIERS, read_csv, read_xlsx, run, set_locale, upload, wh,
                                    xlsx_bytes)

__all__ = ["wh"]


def _make(wh, user: str, code: str, **values: object) -> dict:  # type: ignore[no-untyped-def]
    response = wh.as_(user).post(SUPPLIERS + "/records", json={"code": code, "name": f"n{code}"} | values)
    assert response.status_code == 201, response.text
    return response.json()


def test_export_uses_the_list_filters_sort_search_and_read_scope(wh) -> None:  # type: ignore[no-untyped-def]
    for i in range(6):
        _make(wh, "ann" if i % 2 else "bob", f"S{i}", grade="a" if i < 4 else "b", limit=str(100 * i))
    _make(wh, "max", "M1", grade="a", limit="999")
    params = "grade=a&limit__gte=100&sort=-limit"
    listed = wh.as_("max").get(f"{SUPPLIERS}/records?{params}").json()["items"]
    exported = wh.as_("max").get(f"{SUPPLIERS}/export?format=csv&{params}")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = read_csv(exported.content)
    assert [int(r[0]) for r in rows[1:]] == [r["id"] for r in listed] and len(listed) == 4
    # ann's read scope is her own records: the export shows exactly what her list shows
    mine = wh.as_("ann").get(f"{SUPPLIERS}/export?format=xlsx").content
    sheet = read_xlsx(mine)["供应商"]
    assert sorted(r[1] for r in sheet[1:]) == ["S1", "S3", "S5"]
    searched = read_csv(wh.as_("max").get(f"{SUPPLIERS}/export?format=csv&q=M1").content)
    assert [r[1] for r in searched[1:]] == ["M1"]
    assert wh.as_("max").get(f"{SUPPLIERS}/export?format=csv&nope=1").status_code == 422
    assert wh.as_("max").get(f"{SUPPLIERS}/export?format=pdf").status_code == 400
    assert wh.as_(None).get(f"{SUPPLIERS}/export").status_code == 401


def test_headers_and_labels_in_the_callers_language_with_typed_cells(wh) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    _make(wh, "max", "S1", grade="a", tags=["fast", "cheap"], active=True, since="2025-03-01", limit="1200.50",
          region="530102")
    zh = read_xlsx(wh.as_("max").get(f"{SUPPLIERS}/export").content)["供应商"]
    assert zh[0][:4] == ["ID", "编号", "名称", "等级"]
    row = dict(zip(zh[0], zh[1]))
    assert row["等级"] == "优" and row["标签"] == "快、廉" and row["启用"] == "是" and row["地区"] == "云南省/昆明市/五华区"
    assert row["合作日期"] == datetime(2025, 3, 1) and row["额度"] == 1200.5  # a date cell and a number cell
    set_locale(wh, "max", "en")
    en = read_xlsx(wh.as_("max").get(f"{SUPPLIERS}/export").content)["Supplier"]
    row = dict(zip(en[0], en[1]))
    assert row["Grade"] == "Good" and row["Tags"] == "Fast, Cheap" and row["Active"] == "yes"


def test_formula_injection_is_neutralised_in_both_formats(wh) -> None:  # type: ignore[no-untyped-def]
    evil = ["=HYPERLINK(\"http://x.invalid\",\"click\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\r=1"]
    for i, text in enumerate(evil):
        _make(wh, "max", f"E{i}", note=text, limit="5")
    csv_rows = read_csv(wh.as_("max").get(f"{SUPPLIERS}/export?format=csv&sort=code").content)
    note = csv_rows[0].index("备注")
    assert [r[note] for r in csv_rows[1:]] == ["'" + t for t in evil]
    sheet = read_xlsx(wh.as_("max").get(f"{SUPPLIERS}/export?sort=code").content)["供应商"]
    note = sheet[0].index("备注")
    assert [r[note] for r in sheet[1:]] == ["'" + t for t in evil]
    # plain numbers are not touched, and an import of the export gives the original text back
    _make(wh, "max", "N1", limit="0", note="-5")
    exported = wh.as_("max").get(f"{SUPPLIERS}/export?format=csv&code__in=E0,N1&sort=code").content
    assert read_csv(exported)[2][note] == "-5"
    job = upload(wh, "max", SUPPLIERS, "back.csv", exported)
    done = run(wh, "max", SUPPLIERS, job["id"], "commit", duplicates="update")
    assert done["status"] == "done" and done["counts"]["skipped"] == 2  # unchanged rows are not rewritten
    got = wh.as_("max").get(f"{SUPPLIERS}/records?code=E0").json()["items"][0]
    assert got["note"] == evil[0] and got["row_version"] == 1


def test_subtables_export_to_their_own_sheet_and_import_back(wh) -> None:  # type: ignore[no-untyped-def]
    s1 = _make(wh, "max", "S1")
    wh.as_("max").post(DELIVERIES + "/records", json={"ref": "R1", "supplier": s1["id"], "lines": [
        {"sku": "bolt", "qty": 2, "price": "1.50"}, {"sku": "=cmd", "qty": 1, "price": "2"}]})
    data = wh.as_("max").get(f"{DELIVERIES}/export").content
    book = read_xlsx(data)
    main, lines = book["到货单"], book["明细"]
    assert main[0][:4] == ["ID", "单号", "外部单号", "供应商"] and main[1][3] == "S1"  # the relation by its key
    assert lines[0] == ["ID", "货号", "数量", "单价", "金额"]
    assert [r[1] for r in lines[1:]] == ["bolt", "'=cmd"]
    # delete and import the exported workbook: lines found through the ID column, relation by supplier code
    job = upload(wh, "max", DELIVERIES, "export.xlsx", data)
    done = run(wh, "max", DELIVERIES, job["id"], "commit", duplicates="update")
    assert done["status"] == "done" and done["counts"]["updated"] == 1, done
    got = wh.as_("max").get(DELIVERIES + "/records").json()["items"][0]
    assert [ln["sku"] for ln in got["lines"]] == ["bolt", "=cmd"] and got["total"] == "5.00"


def test_large_export_streams_every_row(wh) -> None:  # type: ignore[no-untyped-def]
    rows = [["编号", "名称"]] + [[f"B{i:05d}", "x"] for i in range(2300)]
    job = upload(wh, "max", SUPPLIERS, "big.xlsx", xlsx_bytes(("s", rows)))
    assert run(wh, "max", SUPPLIERS, job["id"], "commit")["counts"]["created"] == 2300
    with wh.as_("max").api.client.stream("GET", f"{SUPPLIERS}/export?format=csv&sort=code",
                                         headers={"Authorization": f"Bearer {wh.token('max')}"}) as response:
        chunks = list(response.iter_bytes())
    text = b"".join(chunks).decode("utf-8-sig")
    assert text.count("\r\n") == 2301 and len(chunks) > 1
    assert read_xlsx(wh.as_("max").get(f"{SUPPLIERS}/export?sort=code").content)["供应商"][-1][1] == "B02299"
