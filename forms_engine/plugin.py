"""Plugs the forms engine into the platform: the ``form`` definition kind, record tables, services and routes."""
from __future__ import annotations

from pathlib import Path

from engine.kinds import DefinitionKind
from engine.metaschema import register_schema_file
from engine.plugins import Hooks

from .loader import build_form
from .storage import table_specs


def register(hooks: Hooks) -> None:
    from .fields import field_types

    register_schema_file("form", Path(__file__).parent / "schemas" / "form.json")
    hooks.kinds.register(DefinitionKind(name="form", folder="forms", schema="form", build=build_form, order=10,
                                        description="A form: fields, layout, validations and record rights."))
    hooks.table_specs.append(table_specs)

    def start(platform):  # type: ignore[no-untyped-def]
        from .records import Records

        platform.services["records"] = Records(platform)

    def routers(platform):  # type: ignore[no-untyped-def]
        from .api import build_router

        return [build_router()]

    def openapi(app, platform):  # type: ignore[no-untyped-def]
        from .api import install_openapi

        install_openapi(app, platform)

    hooks.on_start.append(start)
    hooks.routers.append(routers)
    hooks.openapi.append(openapi)
    field_types.close()
