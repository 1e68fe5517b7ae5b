"""Administrative divisions."""

import json
import sys
from pathlib import Path

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # the package may not be installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pytest  # noqa: E402

from forms_engine.validators import InvalidValue  # noqa: E402
from forms_engine.validators import regions  # noqa: E402
from forms_engine.validators.regions import (  # noqa: E402
    Region,
    children,
    is_valid,
    lookup,
    normalise_region,
    path,
    search,
)


def test_data_file_is_small_and_complete() -> None:
    assert regions.DATA_FILE.stat().st_size < 150_000
    data = json.loads(regions.DATA_FILE.read_text(encoding="utf-8"))
    assert len([code for code in data if code.endswith("0000")]) == 31
    assert all(len(code) == 6 and code.isdigit() for code in data)


@pytest.mark.parametrize(
    ("code", "name", "level", "parent"),
    [
        ("110000", "北京市", "province", None),
        ("11", "北京市", "province", None),
        (11, "北京市", "province", None),
        ("530100", "昆明市", "city", "530000"),
        ("5301", "昆明市", "city", "530000"),
        ("530102", "五华区", "district", "530100"),
        ("110105", "朝阳区", "district", "110100"),
        ("441900", "东莞市", "city", "440000"),
    ],
)
def test_lookup(code: str, name: str, level: str, parent: str | None) -> None:
    region = lookup(code)
    assert region is not None
    assert (region.name, region.level, region.parent) == (name, level, parent)


@pytest.mark.parametrize("code", ["999999", "110199", "1", "11010", "abcdef", "", "１１００００", "110101 1"])
def test_unknown_codes(code: str) -> None:
    assert lookup(code) is None
    assert not is_valid(code)
    with pytest.raises(InvalidValue) as caught:
        normalise_region(code)
    assert caught.value.code == "region.unknown"


def test_path() -> None:
    assert [r.name for r in path("530102")] == ["云南省", "昆明市", "五华区"]
    assert [r.code for r in path("5301")] == ["530000", "530100"]
    assert [r.name for r in path("11")] == ["北京市"]
    with pytest.raises(InvalidValue):
        path("999999")


def test_children() -> None:
    provinces = children()
    assert len(provinces) == 31 and all(r.level == "province" for r in provinces)
    assert "昆明市" in [r.name for r in children("530000")]
    assert "五华区" in [r.name for r in children("5301")]
    assert children("441900") == []  # 东莞市 has no districts
    assert children("530102") == []
    assert children("999999") == []


def test_children_are_copies() -> None:
    children("530000").clear()
    assert children("530000")


def test_search() -> None:
    found = search("昆明")
    assert found[0] == Region("530100", "昆明市", "city", "530000")
    assert {r.code for r in search("朝阳区")} >= {"110105", "220104"}
    assert search("朝阳")[0].level == "city"  # 朝阳市 (Liaoning) before the districts
    assert search("  ") == []
    assert search("不存在的地方") == []
    assert len(search("区", limit=5)) == 5
