"""Test data for the loan app: valid Chinese ID numbers, credit codes and bank cards, a PNG and a PDF to upload,
and a ``LoanApi`` that signs in as any demo user of app_definitions/loan/org.yaml."""
from __future__ import annotations

import struct
import zlib
from datetime import date
from pathlib import Path
from typing import Any

from forms_engine.validators.cards import luhn_check_digit
from forms_engine.validators.identity import credit_code_check_char, idcard_check_digit

ROOT = Path(__file__).resolve().parents[2]
APPS_DIR = ROOT / "app_definitions"
LOAN_DIR = APPS_DIR / "loan"
BASE = "/api/apps/loan/forms"


def url(form: str, record_id: int | None = None) -> str:
    return f"{BASE}/{form}/records" + (f"/{record_id}" if record_id is not None else "")


def id_card(birth: date, seq: int = 123, region: str = "530102") -> str:
    """A valid 18-digit resident ID number (GB 11643) for a birth date; ``seq`` odd is male, even is female."""
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + idcard_check_digit(first17)


def credit_code(serial: int, region: str = "530100") -> str:
    """A valid unified social credit code (GB 32100) of a company registered in ``region``."""
    first17 = f"91{region}MA{serial:07d}"
    return first17 + credit_code_check_char(first17)


def bank_card(serial: int) -> str:
    partial = f"62220240{serial:010d}"
    return partial + luhn_check_digit(partial)


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = zlib.compress(b"\x00\xff\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def pdf_bytes(text: str = "loan document") -> bytes:
    body = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>endobj\n"
            b"4 0 obj<</Length " + str(len(body)).encode() + b">>stream\n" + body + b"\nendstream endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


class Loan:
    """Acting on the loan app through the HTTP API as named demo users."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.platform = api.platform

    def create(self, user: str, form: str, **values: Any) -> dict[str, Any]:
        response = self.api.as_(user).post(url(form), json=values)
        assert response.status_code == 201, f"{form} as {user}: {response.status_code} {response.text}"
        return response.json()

    def get(self, user: str, form: str, record_id: int) -> dict[str, Any]:
        response = self.api.as_(user).get(url(form, record_id))
        assert response.status_code == 200, f"{form} {record_id} as {user}: {response.status_code} {response.text}"
        return response.json()

    def update(self, user: str, form: str, record: dict[str, Any], **values: Any) -> dict[str, Any]:
        response = self.api.as_(user).patch(url(form, record["id"]), json=values,
                                            headers={"If-Match": f'"{record["row_version"]}"'})
        assert response.status_code == 200, f"{form} {record['id']} as {user}: {response.status_code} {response.text}"
        return response.json()

    def fresh(self, user: str, form: str, record: dict[str, Any]) -> dict[str, Any]:
        """The record as it is now (related records' changes recalculate rollups and bump its row_version)."""
        return self.get(user, form, record["id"])

    def upload(self, user: str, form: str, field: str, name: str = "scan.pdf") -> dict[str, Any]:
        data = png_bytes() if name.endswith(".png") else pdf_bytes(name)
        response = self.api.as_(user).post(f"/api/files?app=loan&form={form}&field={field}",
                                           files={"file": (name, data)})
        assert response.status_code == 201, response.text
        return {"id": response.json()["id"]}

    def user_id(self, username: str) -> int:
        from sqlalchemy import select

        from engine.tables import users

        with self.platform.db.connect() as conn:
            return int(conn.execute(select(users.c.id).where(users.c.username == username)).scalar_one())
