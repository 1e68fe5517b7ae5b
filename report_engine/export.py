"""A report's data as .csv or .xlsx, with spreadsheet formula injection neutralised.

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be read as a formula by
Excel, LibreOffice or Google Sheets (CSV injection); such cells are written with a leading apostrophe so they stay
text. Numbers stay numbers (a negative amount is a number, not text).
"""
from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def to_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise("" if v is None else format(v, "f") if isinstance(v, Decimal) else v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM lets Excel read UTF-8


def to_xlsx(title: str, header: list[str], rows: list[list[Any]], formats: list[str | None] | None = None) -> bytes:
    """``formats``: a number format per column (``0.00%``) applied to its numeric cells, so a spreadsheet shows a
    fraction as the same percentage as the page while the cell keeps the number."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    safe = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31] or "report"
    sheet = book.create_sheet(safe)
    sheet.append([neutralise(h) for h in header])
    formats = formats or []
    for row in rows:
        cells: list[Any] = []
        for i, v in enumerate(row):
            if isinstance(v, Decimal):
                v = float(v) if v == v.to_integral_value() or abs(v) < Decimal(10) ** 15 else str(v)
            v = neutralise(v)
            fmt = formats[i] if i < len(formats) else None
            if fmt and isinstance(v, (int, float)) and not isinstance(v, bool):
                cell = WriteOnlyCell(sheet, value=v)
                cell.number_format = fmt
                v = cell
            cells.append(v)
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
