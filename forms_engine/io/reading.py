"""Reading an uploaded spreadsheet (.xlsx or .csv) into sheets of cells, refusing what could hurt the server.

Order of checks, all before anything is parsed or stored: size; the real content type from the bytes (not the name
or the client's Content-Type); for .xlsx the zip directory (entry count, declared uncompressed size, compression
ratio, DTDs, declared sheet dimensions) via ``validators.files.check_xlsx_safe``; then parsing with openpyxl in
read-only mode with ``data_only=True`` (a formula cell gives the value the spreadsheet program last computed, never
the formula); rows and columns are counted while reading and the read stops at the limit. CSV text is decoded as
UTF-8 (with or without BOM) or GB18030 (which covers GBK/GB2312), and nothing else.
"""
from __future__ import annotations

import codecs
import csv
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from engine.errors import BadRequest, LoomworkError, PayloadTooLarge

from ..validators import InvalidValue
from ..validators.files import HEAD_BYTES, check_upload, check_xlsx_safe, sniff_kind


class UnsupportedFile(LoomworkError):
    """The upload is not a spreadsheet we read (wrong content for its name, or an unknown kind)."""

    status, code = 415, "unsupported_media_type"


@dataclass
class Limits:
    """What one import may contain. Module-level ``LIMITS`` is used by the API; tests may lower it."""

    max_bytes: int = 50 * 1024 * 1024
    max_rows: int = 200_000
    max_columns: int = 500
    max_sheets: int = 20
    max_cell_chars: int = 32_767  # Excel's own limit for one cell
    max_uncompressed: int = 400 * 1024 * 1024
    max_ratio: float = 100.0
    max_cells: int = 20_000_000


LIMITS = Limits()

EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                          "#SPILL!", "#CALC!"})


@dataclass
class Sheet:
    name: str
    headers: list[str]
    #: (row number as the spreadsheet shows it, cells), blank rows left out
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)
    header_row: int = 1


@dataclass
class Workbook:
    kind: str  # "xlsx" | "csv"
    sheets: list[Sheet]
    encoding: str | None = None

    @property
    def main(self) -> Sheet:
        return self.sheets[0]


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


def read_upload(filename: str, data: bytes, limits: Limits | None = None) -> Workbook:
    """Check and read an upload. Raises a 4xx ``LoomworkError`` naming the problem."""
    limits = limits or LIMITS
    name = (filename or "").strip()
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension not in ("xlsx", "csv"):
        raise UnsupportedFile(f"'{name or 'the file'}' is not a .xlsx or .csv file; save the sheet as Excel "
                              "workbook (.xlsx) or CSV and upload it again",
                              details=[{"field": "file", "message": "only .xlsx and .csv files", "code": "file_type"}])
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(f"file larger than {limits.max_bytes} bytes",
                              details=[{"field": "file", "message": "file too large", "code": "too_large"}])
    if not data:
        raise BadRequest("the file is empty", details=[{"field": "file", "message": "empty file", "code": "empty"}])
    if extension == "xlsx":
        try:
            check_upload(name, data, (extension,), limits.max_bytes)
        except InvalidValue as exc:
            raise UnsupportedFile(exc.message, details=[{"field": "file", "message": exc.message,
                                                         "code": exc.code}]) from None
        return _read_xlsx(data, limits)
    kind = sniff_kind(data[:HEAD_BYTES], io.BytesIO(data) if data.startswith(b"PK\x03\x04") else None)
    if kind not in (None, "text"):
        message = f"File content does not match '.csv' (it looks like a {kind.upper()} file)"
        raise UnsupportedFile(message, details=[{"field": "file", "message": message, "code": "file.content_mismatch"}])
    return _read_csv(data, limits)


# -- xlsx -----------------------------------------------------------------------------------------------------------

def _xlsx_refused(exc: InvalidValue) -> LoomworkError:
    detail = [{"field": "file", "message": exc.message, "code": exc.code}]
    if exc.code in ("xlsx.not_zip",):
        return BadRequest(exc.message, details=detail)
    return PayloadTooLarge(f"refused: {exc.message}", details=detail)


def _read_xlsx(data: bytes, limits: Limits) -> Workbook:
    import openpyxl

    try:
        check_xlsx_safe(data, max_uncompressed=limits.max_uncompressed, max_ratio=limits.max_ratio,
                        max_cells=limits.max_cells)
    except InvalidValue as exc:
        raise _xlsx_refused(exc) from None
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        raise BadRequest(f"the .xlsx file cannot be read ({type(exc).__name__}: {str(exc)[:200]})",
                         details=[{"field": "file", "message": "unreadable workbook", "code": "unreadable"}]) from None
    try:
        worksheets = [ws for ws in book.worksheets if getattr(ws, "sheet_state", "visible") == "visible"
                      or len(book.worksheets) == 1]
        if len(worksheets) > limits.max_sheets:
            raise PayloadTooLarge(f"the workbook has {len(worksheets)} sheets (limit {limits.max_sheets})")
        sheets = [_read_worksheet(ws, limits) for ws in worksheets]
    finally:
        book.close()
    sheets = [s for s in sheets if s.headers]
    if not sheets:
        raise BadRequest("the workbook has no sheet with a header row",
                         details=[{"field": "file", "message": "empty workbook", "code": "empty"}])
    return Workbook("xlsx", sheets)


def _read_worksheet(ws: Any, limits: Limits) -> Sheet:
    declared_cols = ws.max_column if ws.max_column is not None else 0
    declared_rows = ws.max_row if ws.max_row is not None else 0
    if declared_cols > limits.max_columns:
        raise PayloadTooLarge(f"sheet '{ws.title}' declares {declared_cols} columns (limit {limits.max_columns})",
                              details=[{"field": "file", "message": "too many columns", "code": "too_many_columns"}])
    if declared_rows > limits.max_rows + 1:
        raise PayloadTooLarge(f"sheet '{ws.title}' declares {declared_rows} rows (limit {limits.max_rows} data rows)",
                              details=[{"field": "file", "message": "too many rows", "code": "too_many_rows"}])
    ws.reset_dimensions()  # read the rows that are there; never pad to a declared size
    return _collect(ws.title, ws.iter_rows(values_only=True), limits)


# -- csv ------------------------------------------------------------------------------------------------------------

def decode_text(data: bytes) -> tuple[str, str]:
    """Bytes of a CSV file → (text, encoding). UTF-8 with or without BOM, else GB18030 (GBK, GB2312)."""
    if data.startswith(codecs.BOM_UTF8):
        candidates = [("utf-8-sig", data)]
    else:
        candidates = [("utf-8", data), ("gb18030", data)]
    failure: UnicodeDecodeError | None = None
    for encoding, raw in candidates:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            failure = failure or exc
    assert failure is not None
    where = failure.start
    raise BadRequest(f"the CSV file is neither UTF-8 nor GB18030 text (bad byte 0x{data[where]:02x} at offset {where}); "
                     "save it as 'CSV UTF-8' and upload it again",
                     details=[{"field": "file", "message": "unknown text encoding", "code": "encoding"}])


def _read_csv(data: bytes, limits: Limits) -> Workbook:
    text, encoding = decode_text(data)
    if "\x00" in text:
        raise BadRequest("the CSV file contains NUL characters; it is not a text file",
                         details=[{"field": "file", "message": "binary content", "code": "encoding"}])
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=lambda d: first.count(d)) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous = csv.field_size_limit()
    csv.field_size_limit(limits.max_cell_chars + 1)
    try:
        sheet = _collect("csv", reader, limits)
    except csv.Error as exc:
        raise BadRequest(f"the CSV file cannot be read: {exc}",
                         details=[{"field": "file", "message": str(exc), "code": "unreadable"}]) from None
    finally:
        csv.field_size_limit(previous)
    if not sheet.headers:
        raise BadRequest("the CSV file has no header row", details=[{"field": "file", "message": "empty", "code": "empty"}])
    return Workbook("csv", [sheet], encoding=encoding)


# -- both -----------------------------------------------------------------------------------------------------------

def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _collect(name: str, rows: Any, limits: Limits) -> Sheet:
    sheet = Sheet(name, [])
    width = 0
    for number, raw in enumerate(rows, start=1):
        cells = list(raw)
        if len(cells) > limits.max_columns:
            # trailing empty cells do not count
            while cells and _blank(cells[-1]):
                cells.pop()
            if len(cells) > limits.max_columns:
                raise PayloadTooLarge(f"sheet '{name}' row {number} has {len(cells)} columns (limit {limits.max_columns})",
                                      details=[{"field": "file", "message": "too many columns", "code": "too_many_columns"}])
        if all(_blank(c) for c in cells):
            continue
        for c in cells:
            if isinstance(c, str) and len(c) > limits.max_cell_chars:
                raise PayloadTooLarge(f"sheet '{name}' row {number}: a cell holds more than {limits.max_cell_chars} "
                                      "characters", details=[{"field": "file", "message": "cell too long",
                                                              "code": "cell_too_long"}])
        if not sheet.headers:
            while cells and _blank(cells[-1]):
                cells.pop()
            sheet.headers = ["" if c is None else str(c).strip() for c in cells]
            sheet.header_row = number
            width = len(sheet.headers)
            continue
        if len(sheet.rows) >= limits.max_rows:
            raise PayloadTooLarge(f"sheet '{name}' has more than {limits.max_rows} data rows; split the file",
                                  details=[{"field": "file", "message": "too many rows", "code": "too_many_rows"}])
        if len(cells) < width:
            cells.extend([None] * (width - len(cells)))
        sheet.rows.append((number, cells[:width] if len(cells) > width and all(_blank(c) for c in cells[width:])
                           else cells))
    return sheet
