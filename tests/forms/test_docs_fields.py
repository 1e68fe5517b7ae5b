"""docs/field-types.md documents every registered field type and every option it takes."""
from __future__ import annotations

import re
from pathlib import Path

from forms_engine.fields import field_types

DOC = Path(__file__).resolve().parents[2] / "docs" / "field-types.md"


def sections() -> dict[str, str]:
    text = DOC.read_text()
    parts = re.split(r"^### (\w+)\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_every_field_type_has_a_section_naming_its_options() -> None:
    documented = sections()
    missing = [t.name for t in field_types.all() if t.name not in documented]
    assert not missing, f"undocumented field types: {missing}"
    for ftype in field_types.all():
        body = documented[ftype.name]
        for option in ftype.options:
            generic = option in ("unique", "placeholder", "min", "max", "min_length", "max_length", "pattern")
            assert f"`{option}`" in body or (generic and f"`{option}`" in DOC.read_text()), (ftype.name, option)


def test_no_section_for_a_type_that_does_not_exist() -> None:
    assert set(sections()) <= set(field_types.names())
