"""Attachments: real content type from magic bytes, size limits, safe names, spreadsheet guards."""

from __future__ import annotations

import io
import os
import re
import secrets
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from forms_engine.validators import InvalidValue

__all__ = [
    "FILE_KINDS",
    "UploadCheck",
    "check_upload",
    "check_xlsx_safe",
    "safe_display_name",
    "sniff_kind",
    "storage_name",
]

HEAD_BYTES = 8192
MAX_DISPLAY_NAME_BYTES = 200
XLSX_MAX_UNCOMPRESSED = 200 * 1024 * 1024
XLSX_MAX_RATIO = 100
XLSX_MAX_CELLS = 5_000_000
XLSX_MAX_ENTRIES = 10_000
XLSX_RATIO_FLOOR = 1024 * 1024  # entries smaller than this are not held to the ratio limit

# kind -> (MIME type, extensions)
FILE_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "png": ("image/png", ("png",)),
    "jpeg": ("image/jpeg", ("jpg", "jpeg")),
    "gif": ("image/gif", ("gif",)),
    "webp": ("image/webp", ("webp",)),
    "pdf": ("application/pdf", ("pdf",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",)),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", ("pptx",)),
    "text": ("text/plain", ("txt", "csv")),
}
_KIND_BY_EXTENSION = {ext: kind for kind, (_, exts) in FILE_KINDS.items() for ext in exts}
_MIME_BY_EXTENSION = {"csv": "text/csv"}
_OFFICE_FOLDERS = {"word/": "docx", "xl/": "xlsx", "ppt/": "pptx"}
# Recognised only to name them in error messages.
_OTHER_SIGNATURES = (
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "a Linux executable"),
    (b"#!", "a script"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Office (OLE) document"),
)
_WINDOWS_RESERVED = re.compile(r"(?i)(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?\"")


@dataclass(frozen=True, slots=True)
class UploadCheck:
    """The outcome of :func:`check_upload`."""

    display_name: str
    storage_name: str
    extension: str
    kind: str
    content_type: str
    size: int


def _zip_kind(data: BinaryIO) -> str | None:
    try:
        with zipfile.ZipFile(data) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError):
        return None
    if "[Content_Types].xml" not in names:
        return "zip"
    for folder, kind in _OFFICE_FOLDERS.items():
        if any(name.startswith(folder) for name in names):
            return kind
    return "zip"


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = head.decode(encoding)
        except UnicodeDecodeError as error:
            if error.start < len(head) - 4:  # a multi-byte character may be cut at the end of the head
                continue
            text = head[: error.start].decode(encoding)
        return not any(ord(ch) < 32 and ch not in "\t\n\r\f" for ch in text)
    return False


def sniff_kind(head: bytes, whole: BinaryIO | None = None) -> str | None:
    """Return the file kind the content shows (a key of ``FILE_KINDS``, or ``"zip"``), or None.

    Args:
        head: The first bytes of the file (at least 16; 8 KB for text detection).
        whole: The whole file, seekable, needed to tell the zip-based office formats apart.
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(whole) if whole is not None else "zip"
    if any(head.startswith(signature) for signature, _ in _OTHER_SIGNATURES):
        return None
    return "text" if _looks_like_text(head) else None


def _describe(head: bytes, kind: str | None) -> str:
    if kind is not None:
        return f"a {kind.upper()} file" if kind != "text" else "plain text"
    for signature, label in _OTHER_SIGNATURES:
        if head.startswith(signature):
            return label
    return "an unrecognised format"


def safe_display_name(filename: str, *, default: str = "file") -> str:
    """Return a name fit to show and to offer on download: no folders, ``..``, NUL or control characters.

    The result is never used as a storage path; see :func:`storage_name`.
    """
    name = unicodedata.normalize("NFC", str(filename))
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".").rstrip(". ")
    if not name:
        return default
    if _WINDOWS_RESERVED.fullmatch(name):
        name = "_" + name
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    while len(name.encode("utf-8")) > MAX_DISPLAY_NAME_BYTES:
        stem = stem[:-1]
        name = f"{stem}.{extension}" if dot else stem
    return name or default


def storage_name(extension: str, *, token: str | None = None) -> str:
    """Return a server-side file name: a random token plus the checked extension, never the client's name."""
    if not re.fullmatch(r"[a-z0-9]{1,10}", extension):
        raise InvalidValue(f"Bad file extension {extension!r}", "file.extension", f"文件扩展名无效：{extension!r}")
    token = token if token is not None else secrets.token_hex(16)
    if not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", token):
        raise InvalidValue("Bad storage token", "file.token", "存储标识无效")
    return f"{token}.{extension}"


def _read_source(data: bytes | BinaryIO, max_bytes: int) -> tuple[BinaryIO, int]:
    """Return a seekable view of the upload and its size, reading at most ``max_bytes + 1`` bytes."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(data)), len(data)
    if data.seekable():
        start = data.tell()
        size = data.seek(0, os.SEEK_END) - start
        data.seek(start)
        return data, size
    buffered = data.read(max_bytes + 1)
    return io.BytesIO(buffered), len(buffered)


def check_upload(
    filename: str, data: bytes | BinaryIO, allowed_types: Iterable[str], max_bytes: int
) -> UploadCheck:
    """Check an uploaded file and return its display name, storage name, kind and size.

    Args:
        filename: The name the client sent; only its extension and a cleaned display name are kept.
        data: The content, as bytes or a binary stream (left at its position when seekable).
        allowed_types: Allowed extensions without the dot, e.g. ``{"png", "jpg", "pdf"}``.
        max_bytes: The largest size accepted.

    Raises:
        InvalidValue: When the extension is missing or not allowed, the file is empty or too large, or the
            content is not what the extension says.
    """
    display = safe_display_name(filename)
    _, dot, extension = display.rpartition(".")
    extension = extension.lower() if dot else ""
    allowed = {ext.lower().lstrip(".") for ext in allowed_types}
    if not extension or extension not in allowed or extension not in _KIND_BY_EXTENSION:
        shown = ", ".join(sorted(allowed))
        raise InvalidValue(
            f"File type '.{extension}' is not allowed (allowed: {shown})",
            "file.type_not_allowed",
            f"不允许的文件类型 '.{extension}'（允许：{shown}）",
        )
    stream, size = _read_source(data, max_bytes)
    if size == 0:
        raise InvalidValue("File is empty", "file.empty", "文件为空")
    if size > max_bytes:
        raise InvalidValue(
            f"File is larger than {max_bytes} bytes", "file.too_large", f"文件大小超过 {max_bytes} 字节"
        )
    start = stream.tell()
    head = stream.read(HEAD_BYTES)
    stream.seek(start)
    expected = _KIND_BY_EXTENSION[extension]
    actual = sniff_kind(head, _Window(stream, start) if head.startswith(b"PK\x03\x04") else None)
    stream.seek(start)
    if actual != expected:
        raise InvalidValue(
            f"File content does not match '.{extension}' (it looks like {_describe(head, actual)})",
            "file.content_mismatch",
            f"文件内容与扩展名 '.{extension}' 不符",
        )
    content_type = _MIME_BY_EXTENSION.get(extension, FILE_KINDS[expected][0])
    return UploadCheck(display, storage_name(extension), extension, expected, content_type, size)


class _Window(io.RawIOBase):
    """A read-only view of a seekable stream starting at ``offset`` (so zipfile sees position 0)."""

    def __init__(self, stream: BinaryIO, offset: int) -> None:
        super().__init__()
        self._stream = stream
        self._offset = offset

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._stream.tell() - self._offset

    def seek(self, position: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            position += self._offset
        return self._stream.seek(position, whence) - self._offset

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self._stream.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _declared_cells(head: bytes) -> int | None:
    match = _DIMENSION.search(head)
    if match is None:
        return None
    first_col, first_row, last_col, last_row = match.groups()
    if last_col is None:
        return 1
    columns = _column_number(last_col.decode()) - _column_number((first_col or b"A").decode()) + 1
    rows = int(last_row) - int(first_row or 1) + 1
    return max(columns, 1) * max(rows, 1)


def _xlsx_error(message: str, code: str, message_zh: str) -> InvalidValue:
    return InvalidValue(message, f"xlsx.{code}", message_zh)


def check_xlsx_safe(
    source: str | os.PathLike[str] | bytes | BinaryIO,
    *,
    max_uncompressed: int = XLSX_MAX_UNCOMPRESSED,
    max_ratio: float = XLSX_MAX_RATIO,
    max_cells: int = XLSX_MAX_CELLS,
    max_entries: int = XLSX_MAX_ENTRIES,
) -> None:
    """Refuse a spreadsheet that would exhaust memory when opened with openpyxl.

    Checks, without decompressing the parts: the number of zip entries, the sum of declared uncompressed
    sizes, the compression ratio (overall, and for each part over 1 MB), and the ``<dimension ref>``
    each worksheet declares. Also refuses DTDs in XML parts (entity expansion). Python's zipfile never
    inflates a part beyond its declared size, so the declared sizes bound what openpyxl can read.

    Raises:
        InvalidValue: When the file is not a zip archive or a limit is exceeded.
    """
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(bytes(source))
    try:
        with zipfile.ZipFile(source) as archive:
            entries = archive.infolist()
            if len(entries) > max_entries:
                raise _xlsx_error(
                    f"Spreadsheet has too many parts ({len(entries)})", "too_many_parts", f"表格文件包含的部件过多（{len(entries)}）"
                )
            _check_sizes(entries, max_uncompressed, max_ratio)
            for entry in entries:
                if entry.filename.endswith((".xml", ".rels")):
                    _check_part(archive, entry, max_cells)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError):
        raise _xlsx_error("File is not a readable .xlsx (zip) archive", "not_zip", "文件不是有效的 .xlsx 压缩包") from None


def _check_sizes(entries: list[zipfile.ZipInfo], max_uncompressed: int, max_ratio: float) -> None:
    total = sum(entry.file_size for entry in entries)
    packed = sum(entry.compress_size for entry in entries)
    if total > max_uncompressed:
        raise _xlsx_error(
            f"Spreadsheet expands to {total} bytes (limit {max_uncompressed})",
            "too_large",
            f"表格文件解压后为 {total} 字节（上限 {max_uncompressed}）",
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > XLSX_RATIO_FLOOR and ratio > max_ratio:
            raise _xlsx_error(
                f"Spreadsheet part {entry.filename!r} is compressed {ratio:.0f} to 1 (limit {max_ratio:g})",
                "ratio",
                f"表格文件部件 {entry.filename!r} 压缩比为 {ratio:.0f}:1（上限 {max_ratio:g}）",
            )
    if total > XLSX_RATIO_FLOOR and total / max(packed, 1) > max_ratio:
        raise _xlsx_error(
            f"Spreadsheet is compressed {total / max(packed, 1):.0f} to 1 (limit {max_ratio:g})",
            "ratio",
            f"表格文件压缩比为 {total / max(packed, 1):.0f}:1（上限 {max_ratio:g}）",
        )


def _check_part(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, max_cells: int) -> None:
    with archive.open(entry) as part:
        head = part.read(HEAD_BYTES)
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise _xlsx_error(
            f"Spreadsheet part {entry.filename!r} declares a DTD", "dtd", f"表格文件部件 {entry.filename!r} 含有 DTD 声明"
        )
    if entry.filename.startswith("xl/worksheets/"):
        cells = _declared_cells(head)
        if cells is not None and cells > max_cells:
            raise _xlsx_error(
                f"Worksheet {entry.filename!r} declares {cells} cells (limit {max_cells})",
                "too_many_cells",
                f"工作表 {entry.filename!r} 声明了 {cells} 个单元格（上限 {max_cells}）",
            )
