"""The ``loomwork`` command line."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from .errors import DefinitionErrors, LoomworkError


def platform_from_args(args: argparse.Namespace | None = None) -> Any:
    from .platform import Platform
    from .settings import Settings

    overrides = {}
    if args is not None and getattr(args, "apps_dir", None):
        overrides["apps_dir"] = args.apps_dir
    return Platform(Settings.from_env(overrides))


def _app_folders(paths: Sequence[str]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if (path / "app.yaml").exists() or not path.is_dir():
            out.append(path)
        else:
            found = sorted(p for p in path.iterdir() if (p / "app.yaml").exists())
            out.extend(found or [path])
    return out


def cmd_check(args: argparse.Namespace) -> int:
    from .plugins import Hooks, load_builtin
    from .loader import load_app, read_app_folder

    hooks = load_builtin(Hooks())
    report: list[dict[str, Any]] = []
    failed = 0
    test_totals = [0, 0]
    for folder in _app_folders(args.paths or ["app_definitions"]):
        if not folder.is_dir():
            report.append({"app": str(folder), "errors": [{"text": f"{folder}: not a folder"}]})
            failed += 1
            continue
        files, pre = read_app_folder(folder)
        try:
            app = load_app(files, hooks.kinds, pre_errors=pre, services=hooks.services)
        except DefinitionErrors as exc:
            failed += len(exc.errors)
            report.append({"app": str(folder), "errors": [
                e.to_dict() | {"text": f"{folder.as_posix()}/{e}"} for e in exc.errors]})
            continue
        entry: dict[str, Any] = {"app": str(folder), "errors": []}
        if args.test:
            runner = hooks.services.get("rule_tests")
            if runner is not None:
                passed, failures, lines = runner(app)
                test_totals[0] += passed
                test_totals[1] += failures
                entry["tests"] = {"passed": passed, "failed": failures, "failures": lines}
        report.append(entry)
    if args.format == "json":
        print(json.dumps({"ok": failed == 0 and test_totals[1] == 0, "apps": report}, ensure_ascii=False, indent=2))
    else:
        for entry in report:
            for error in entry["errors"]:
                print(error["text"])
            for line in entry.get("tests", {}).get("failures", []):
                print(line)
        if args.test:
            print(f"{test_totals[0]} rule tests passed, {test_totals[1]} failed")
        print(f"{failed} problem{'s' if failed != 1 else ''} in {len(report)} app{'s' if len(report) != 1 else ''}",
              file=sys.stderr)
    return 1 if failed or test_totals[1] else 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    platform_from_args(args).upgrade_db()
    print("database is up to date")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    platform = platform_from_args(args)
    folder = Path(args.app)
    if not (folder / "app.yaml").exists():
        folder = Path(platform.settings.apps_dir) / args.app
    info = platform.publish_folder(folder, args.author or os.environ.get("USER", "admin"), args.message)
    print(f"{info.app} version {info.number} ({info.hash[:12]})" + ("" if info.changed else " — unchanged"))
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    for v in platform_from_args(args).versions(args.app):
        print(f"{v.number:>4}  {v.created_at}  {v.author:<12} {v.hash[:12]}  {v.message}")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    sys.stdout.write(platform_from_args(args).diff(args.app, args.old, args.new))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    info = platform_from_args(args).rollback(args.app, args.version, args.author or "admin", args.message)
    print(f"{info.app} version {info.number} = files of version {args.version}")
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    import getpass

    from .identity import NewUser, create_user

    platform = platform_from_args(args)
    password = args.password or os.environ.get("LOOMWORK_NEW_PASSWORD") or getpass.getpass("password: ")
    with platform.db.begin() as conn:
        user_id = create_user(conn, NewUser(args.username, args.name or args.username, password, args.email,
                                            args.department, tuple(args.role or ()), args.admin), platform.clock.now())
    print(f"user {args.username} created (id {user_id})")
    return 0


def cmd_demo_load(args: argparse.Namespace) -> int:
    from .demo import load_demo

    platform = platform_from_args(args)
    for line in load_demo(platform, rows=args.rows):
        print(line)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    platform = platform_from_args(args)
    platform.upgrade_db()
    from .apps_reload import publish_at_start

    lines, problems = publish_at_start(platform)
    for line in lines:
        print(line)
    for line in problems:  # a folder that does not check keeps serving its last published version
        print(f"warning: not published: {line}", file=sys.stderr)
    if args.apps_dir:
        os.environ["LOOMWORK_APPS_DIR"] = args.apps_dir
    uvicorn.run("engine.web.main:app_from_env", factory=True, host=args.host, port=args.port,
                workers=args.workers, proxy_headers=True, log_level="info")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loomwork", description="Loomwork: forms, flows, rules and reports from app definitions.")
    parser.add_argument("--apps-dir", help="folder of app folders (default: $LOOMWORK_APPS_DIR or app_definitions)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="publish changed apps and serve them")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="db_command", required=True)
    p = db.add_parser("upgrade", help="apply the platform's migrations")
    p.set_defaults(func=cmd_db_upgrade)

    p = sub.add_parser("check", help="validate app folders; exit 1 when there are problems")
    p.add_argument("paths", nargs="*", help="app folders, or folders of app folders")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--test", action="store_true", help="also run the rule test cases")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("publish", help="publish an app folder as a new version")
    p.add_argument("app", help="app key (under the apps folder) or a path")
    p.add_argument("-m", "--message", required=True)
    p.add_argument("--author")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("versions", help="list an app's versions")
    p.add_argument("app")
    p.set_defaults(func=cmd_versions)

    p = sub.add_parser("diff", help="unified diff between two versions")
    p.add_argument("app")
    p.add_argument("old", type=int)
    p.add_argument("new", type=int)
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("rollback", help="publish an older version's files as a new version")
    p.add_argument("app")
    p.add_argument("version", type=int)
    p.add_argument("-m", "--message")
    p.add_argument("--author")
    p.set_defaults(func=cmd_rollback)

    users = sub.add_parser("user", help="users").add_subparsers(dest="user_command", required=True)
    p = users.add_parser("create", help="create a user")
    p.add_argument("username")
    p.add_argument("--name")
    p.add_argument("--email")
    p.add_argument("--password", help="or $LOOMWORK_NEW_PASSWORD, or asked")
    p.add_argument("--department")
    p.add_argument("--role", action="append")
    p.add_argument("--admin", action="store_true")
    p.set_defaults(func=cmd_user_create)

    demo = sub.add_parser("demo", help="demo organisation and data").add_subparsers(dest="demo_command", required=True)
    p = demo.add_parser("load", help="publish the apps, create their demo users and demo data")
    p.add_argument("--rows", type=int, default=None, help="records per form (default: each app's demo settings)")
    p.set_defaults(func=cmd_demo_load)

    from .doctor import add_command as add_doctor

    add_doctor(sub)
    from .plugins import Hooks, load_builtin

    for add_commands in load_builtin(Hooks()).cli:
        add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DefinitionErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    except LoomworkError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
