"""Reading request bodies: size-limited, strict JSON, one clear error for each way a body can be wrong."""
from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from ..errors import BadRequest, PayloadTooLarge


async def read_json(request: Request) -> Any:
    limit = request.app.state.platform.settings.max_request_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body larger than {limit} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise PayloadTooLarge(f"request body larger than {limit} bytes")
    ctype = request.headers.get("content-type", "")
    if raw and "json" not in ctype:
        raise BadRequest("send the body as JSON (Content-Type: application/json)")
    try:
        value = json.loads(raw or b"null", parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"invalid JSON body: {exc}") from None
    if b"\\u0000" in raw and _has_nul(value):
        raise BadRequest("NUL characters (\\u0000) are not allowed in values")
    return value


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
