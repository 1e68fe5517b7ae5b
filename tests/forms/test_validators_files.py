"""Attachments: content sniffing, size, safe names and spreadsheet guards."""

import io
import zipfile
import sys
from pathlib import Path

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # the package may not be installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import openpyxl  # noqa: E402
import pytest  # noqa: E402

from forms_engine.validators import InvalidValue  # noqa: E402
from forms_engine.validators.files import (  # noqa: E402
    check_upload,
    check_xlsx_safe,
    safe_display_name,
    sniff_kind,
    storage_name,
)

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
CSV_TEXT = "姓名,金额\n张三,100\n".encode("gb18030")
UTF8_TEXT = "说明：第一行\n第二行\n".encode()


def make_xlsx() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["name", "amount"])
    book.active.append(["a", 1])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def make_office(folder: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}/document.xml", "<doc/>")
    return out.getvalue()


def make_zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


XLSX = make_xlsx()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PNG, "png"),
        (JPEG, "jpeg"),
        (GIF, "gif"),
        (WEBP, "webp"),
        (PDF, "pdf"),
        (XLSX, "xlsx"),
        (make_office("word"), "docx"),
        (make_office("ppt"), "pptx"),
        (make_zip({"a.txt": b"x"}), "zip"),
        (CSV_TEXT, "text"),
        (UTF8_TEXT, "text"),
        (EXE, None),
        (b"\x00\x01\x02binary", None),
    ],
)
def test_sniff_kind(data: bytes, kind: str | None) -> None:
    assert sniff_kind(data[:8192], io.BytesIO(data)) == kind


@pytest.mark.parametrize(
    ("filename", "data", "kind", "content_type"),
    [
        ("photo.PNG", PNG, "png", "image/png"),
        ("photo.jpg", JPEG, "jpeg", "image/jpeg"),
        ("scan.pdf", PDF, "pdf", "application/pdf"),
        ("客户.xlsx", XLSX, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("data.csv", CSV_TEXT, "text", "text/csv"),
        ("note.txt", UTF8_TEXT, "text", "text/plain"),
    ],
)
def test_check_upload_accepts_matching_content(filename: str, data: bytes, kind: str, content_type: str) -> None:
    allowed = {"png", "jpg", "pdf", "xlsx", "csv", "txt"}
    result = check_upload(filename, data, allowed, 1_000_000)
    assert (result.kind, result.content_type, result.size) == (kind, content_type, len(data))
    assert result.display_name == filename
    assert result.storage_name.endswith("." + filename.rsplit(".", 1)[1].lower())
    assert filename not in result.storage_name


def test_check_upload_reads_streams_and_keeps_their_position() -> None:
    stream = io.BytesIO(b"prefix" + XLSX)
    stream.seek(6)
    result = check_upload("book.xlsx", stream, ["xlsx"], 1_000_000)
    assert (result.kind, result.size) == ("xlsx", len(XLSX))
    assert stream.tell() == 6


@pytest.mark.parametrize(
    ("filename", "data", "allowed", "max_bytes", "code"),
    [
        ("picture.png", PDF, ["png"], 10_000, "file.content_mismatch"),
        ("invoice.pdf", EXE, ["pdf"], 10_000, "file.content_mismatch"),
        ("book.xlsx", make_office("word"), ["xlsx"], 10_000, "file.content_mismatch"),
        ("notes.txt", PNG, ["txt"], 10_000, "file.content_mismatch"),
        ("big.pdf", PDF, ["pdf"], 10, "file.too_large"),
        ("empty.pdf", b"", ["pdf"], 10_000, "file.empty"),
        ("tool.exe", EXE, ["pdf"], 10_000, "file.type_not_allowed"),
        ("noextension", PDF, ["pdf"], 10_000, "file.type_not_allowed"),
        ("archive.zip", make_zip({"a": b"x"}), ["zip"], 10_000, "file.type_not_allowed"),
    ],
)
def test_check_upload_refuses(filename: str, data: bytes, allowed: list[str], max_bytes: int, code: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        check_upload(filename, data, allowed, max_bytes)
    assert caught.value.code == code


def test_renamed_executable_is_named_in_message() -> None:
    with pytest.raises(InvalidValue, match=r"does not match '\.pdf' \(it looks like a Windows executable\)"):
        check_upload("invoice.pdf", EXE, ["pdf"], 10_000)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\a.dll", "a.dll"),
        ("C:\\Users\\me\\报告.pdf", "报告.pdf"),
        ("a\x00b.pdf", "ab.pdf"),
        ("line\nbreak\r.txt", "linebreak.txt"),
        ("..", "file"),
        ("", "file"),
        (".hidden", "hidden"),
        ("trailing. . ", "trailing"),
        ("CON.txt", "_CON.txt"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_safe_display_name(filename: str, expected: str) -> None:
    assert safe_display_name(filename) == expected


def test_storage_name_is_random_and_checked() -> None:
    assert storage_name("pdf") != storage_name("pdf")
    assert storage_name("pdf", token="abcdef0123456789") == "abcdef0123456789.pdf"
    with pytest.raises(InvalidValue):
        storage_name("../pdf")
    with pytest.raises(InvalidValue):
        storage_name("pdf", token="../../x")


def test_xlsx_made_by_openpyxl_is_safe(tmp_path: Path) -> None:
    check_xlsx_safe(XLSX)
    check_xlsx_safe(io.BytesIO(XLSX))
    (tmp_path / "book.xlsx").write_bytes(XLSX)
    check_xlsx_safe(tmp_path / "book.xlsx")
    check_xlsx_safe(str(tmp_path / "book.xlsx"))


def xlsx_with_sheet(sheet_xml: bytes) -> bytes:
    """Replace the first worksheet of a real workbook."""
    source = zipfile.ZipFile(io.BytesIO(XLSX))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in source.infolist():
            data = sheet_xml if entry.filename == "xl/worksheets/sheet1.xml" else source.read(entry)
            archive.writestr(entry.filename, data)
    return out.getvalue()


HUGE_DIMENSION = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<dimension ref="A1:XFD1048576"/><sheetData/></worksheet>'
)
DTD_SHEET = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><worksheet/>'


@pytest.mark.parametrize(
    ("data", "limits", "code"),
    [
        (make_zip({"xl/worksheets/sheet1.xml": b"\x00" * 50_000_000}), {}, "xlsx.ratio"),
        (make_zip({f"xl/part{i}.bin": b"\x00" * 2_000_000 for i in range(3)}), {"max_uncompressed": 5_000_000}, "xlsx.too_large"),
        (xlsx_with_sheet(HUGE_DIMENSION), {}, "xlsx.too_many_cells"),
        (xlsx_with_sheet(DTD_SHEET), {}, "xlsx.dtd"),
        (XLSX, {"max_entries": 3}, "xlsx.too_many_parts"),
        (PDF, {}, "xlsx.not_zip"),
        (XLSX[:200], {}, "xlsx.not_zip"),
    ],
)
def test_dangerous_xlsx_is_refused(data: bytes, limits: dict[str, int], code: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        check_xlsx_safe(data, **limits)
    assert caught.value.code == code


def test_huge_dimension_message_counts_cells() -> None:
    with pytest.raises(InvalidValue, match="declares 17179869184 cells"):
        check_xlsx_safe(xlsx_with_sheet(HUGE_DIMENSION))


def test_dimension_within_limit_is_accepted() -> None:
    sheet = HUGE_DIMENSION.replace(b"A1:XFD1048576", b"A1:Z1000")
    check_xlsx_safe(xlsx_with_sheet(sheet))
    with pytest.raises(InvalidValue):
        check_xlsx_safe(xlsx_with_sheet(sheet), max_cells=25_999)
