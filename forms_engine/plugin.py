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

    def form_scope(form, raw_forms):  # type: ignore[no-untyped-def]
        """The expression scope of a form's records, for other engines' definitions (automations)."""
        from .expressions import scope_for

        return scope_for(form.fields, raw_forms, None)

    hooks.services["form_scope"] = form_scope
    from .page_kind import build_page

    register_schema_file("page", Path(__file__).parent / "schemas" / "page.json")
    hooks.kinds.register(DefinitionKind(name="page", folder="pages", schema="page", build=build_page, order=60,
                                        description="A record page layout: sections, related lists and a timeline."))

    def start(platform):  # type: ignore[no-untyped-def]
        from .records import Records

        platform.services["records"] = Records(platform)
        from .rights_form import RightsForms

        platform.services["rights_form"] = RightsForms(platform)

        def demo_data(platform, live, rows):  # type: ignore[no-untyped-def]
            from .fake import demo_records

            return demo_records(platform, live, rows)

        platform.services["demo_data"] = demo_data

    def routers(platform):  # type: ignore[no-untyped-def]
        from .api import build_router
        from .api_io import build_router as build_io_router
        from .pages import build_api_router
        from .pages import build_router as build_pages

        from .pages_io import build_router as build_io_pages

        return [build_router(), build_api_router(), build_pages(), build_io_router(), build_io_pages()]

    def openapi(app, platform):  # type: ignore[no-untyped-def]
        from .api import install_openapi

        install_openapi(app, platform)

    hooks.on_start.append(start)
    hooks.routers.append(routers)
    hooks.openapi.append(openapi)
    field_types.close()
