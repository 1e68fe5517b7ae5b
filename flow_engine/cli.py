"""``loomwork export-bpmn APP FLOW``: a flow of a published app (or of its folder) as BPMN 2.0 XML."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_commands(sub: Any) -> None:
    p = sub.add_parser("export-bpmn", help="write a flow as BPMN 2.0 XML (opens in bpmn.io / Camunda Modeler)")
    p.add_argument("app", help="app key (published, or a folder under the apps folder) or an app folder")
    p.add_argument("flow", help="flow key")
    p.add_argument("-o", "--output", help="file to write (default: standard output)")
    p.set_defaults(func=cmd_export_bpmn)


def cmd_export_bpmn(args: argparse.Namespace) -> int:
    from engine.cli import platform_from_args
    from engine.errors import NotFound

    from .bpmn import to_bpmn

    platform = platform_from_args(args)
    folder = Path(args.app)
    if not (folder / "app.yaml").exists():
        folder = Path(platform.settings.apps_dir) / args.app
    if (folder / "app.yaml").exists():
        spec = platform.check_folder(folder)
    else:
        platform.activate_published()
        spec = platform.app(args.app).spec
    flows = spec.of_kind("flow")
    if args.flow not in flows:
        raise NotFound(f"app '{spec.key}' has no flow '{args.flow}'"
                       + (f" (flows: {', '.join(sorted(flows))})" if flows else ""))
    xml = to_bpmn(flows[args.flow])
    if args.output:
        Path(args.output).write_text(xml, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(xml if xml.endswith("\n") else xml + "\n")
    return 0
