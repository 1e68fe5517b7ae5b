"""The form meta-schema is generated from the field-type registry and kept in the repo for editors."""
from __future__ import annotations

import json

from forms_engine.fields import field_types
from forms_engine.schema_build import TARGET, build


def test_committed_form_schema_is_current() -> None:
    assert json.loads(TARGET.read_text()) == build(), "run: python -m forms_engine.schema_build"


def test_every_field_type_is_in_the_schema_with_its_options() -> None:
    text = TARGET.read_text()
    assert len(field_types.names()) >= 30
    for ftype in field_types.all():
        name = ftype.name
        assert f'"{name}"' in text, name
        for option in ftype.options:
            assert f'"{option}"' in text, (name, option)
