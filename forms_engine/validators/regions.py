"""China's administrative divisions (GB/T 2260): provinces, prefecture-level cities, county-level districts.

The data is ``forms_engine/data/regions.json`` (source and date in ``forms_engine/data/README.md``), read
once when this module is imported and kept in read-only mappings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from forms_engine.validators import InvalidValue

__all__ = ["Region", "children", "is_valid", "lookup", "normalise_region", "path", "search"]

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "regions.json"
Level = Literal["province", "city", "district"]


@dataclass(frozen=True, slots=True)
class Region:
    """One division: its 6-digit code, name, level and the code of its parent (None for a province)."""

    code: str
    name: str
    level: Level
    parent: str | None


def _level(code: str) -> Level:
    if code.endswith("0000"):
        return "province"
    return "city" if code.endswith("00") else "district"


def _parent(code: str) -> str | None:
    level = _level(code)
    if level == "province":
        return None
    return code[:2] + "0000" if level == "city" else code[:4] + "00"


def _load() -> tuple[MappingProxyType[str, Region], MappingProxyType[str | None, tuple[Region, ...]]]:
    names: dict[str, str] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    regions = {code: Region(code, name, _level(code), _parent(code)) for code, name in names.items()}
    kids: dict[str | None, list[Region]] = {}
    for region in regions.values():
        kids.setdefault(region.parent, []).append(region)
    return MappingProxyType(regions), MappingProxyType({key: tuple(value) for key, value in kids.items()})


_REGIONS, _CHILDREN = _load()


def _expand(code: str | int) -> str:
    """Turn ``11``, ``1101`` or ``110101`` (str or int) into a 6-digit code; '' when malformed."""
    text = str(code).strip()
    if not re.fullmatch(r"[0-9]{2}|[0-9]{4}|[0-9]{6}", text):
        return ""
    return text.ljust(6, "0")


def lookup(code: str | int) -> Region | None:
    """Return the division with this code (2, 4 or 6 digits), or None."""
    return _REGIONS.get(_expand(code))


def is_code(text: str) -> bool:
    """Whether ``text`` is, exactly as given, the 6-digit code of a known division (``normalise_region`` returns it
    unchanged)."""
    return text in _REGIONS


def is_valid(code: str | int) -> bool:
    """Return whether the code names a known division."""
    return lookup(code) is not None


def normalise_region(code: str | int) -> str:
    """Return the 6-digit code of a known division.

    Raises:
        InvalidValue: When the code is malformed or unknown.
    """
    region = lookup(code)
    if region is None:
        raise InvalidValue(f"Unknown region code {str(code)[:20]!r}", "region.unknown", f"未知的行政区划代码 {str(code)[:20]!r}")
    return region.code


def children(code: str | int | None = None) -> list[Region]:
    """Return the divisions directly under ``code``, or the provinces when ``code`` is None."""
    key = None if code is None else _expand(code)
    return list(_CHILDREN.get(key, ()))


def path(code: str | int) -> list[Region]:
    """Return ``[province, city, district]`` down to the division (shorter for a province or city).

    Raises:
        InvalidValue: When the code is malformed or unknown.
    """
    region: Region | None = _REGIONS[normalise_region(code)]
    chain: list[Region] = []
    while region is not None:
        chain.append(region)
        region = _REGIONS.get(region.parent) if region.parent else None
    return chain[::-1]


def search(name: str, *, limit: int = 20) -> list[Region]:
    """Return divisions whose name contains ``name``, exact matches first, then by level and code."""
    needle = name.strip()
    if not needle:
        return []
    found = [region for region in _REGIONS.values() if needle in region.name]
    levels = {"province": 0, "city": 1, "district": 2}
    found.sort(key=lambda r: (r.name != needle, not r.name.startswith(needle), levels[r.level], r.code))
    return found[:limit]
