"""Reading definition files: YAML (safe loader only) or JSON, with the line and column of every value.

A ``Document`` holds plain data (dicts, lists, str, int, float, bool, None) and a map from each path inside it
to where it was written, so any later check can point at ``file:line:col`` and the path (``fields[3].type``).
Hostile files are refused with a located error: tabs, duplicate keys, alias bombs, oversized files.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from .errors import DefinitionError

PathT = tuple[str | int, ...]

#: Largest definition file accepted, in bytes.
MAX_FILE_BYTES = 1_000_000
#: Largest number of values a document may expand to (aliases included): stops "billion laughs".
MAX_NODES = 200_000
#: Deepest nesting accepted.
MAX_DEPTH = 64


def format_path(path: Iterable[str | int]) -> str:
    """``("fields", 3, "type")`` → ``fields[3].type``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class Document:
    """One loaded definition file: its data and where each value stands in the text."""

    file: str
    data: Any
    text: str = ""
    positions: dict[PathT, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[PathT, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: PathT, *, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of the value at ``path``, or of its nearest written ancestor."""
        table = self.key_positions if key else self.positions
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if not key and p in self.key_positions:
                return self.key_positions[p]
            p = p[:-1]
        return self.positions.get((), (1, 1))

    def error(self, path: PathT, message: str, hint: str | None = None, *, key: bool = False) -> DefinitionError:
        line, col = self.locate(path, key=key)
        return DefinitionError(self.file, line, col, format_path(path), message, hint)


class DocumentError(Exception):
    """A file that cannot be read as a definition at all."""

    def __init__(self, error: DefinitionError) -> None:
        super().__init__(str(error))
        self.error = error


class _Composer(yaml.SafeLoader):
    """Safe loader resolving scalars the YAML 1.2 way: only true/false are booleans (``on``, ``no`` stay text)."""


_Composer.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Composer.add_implicit_resolver("tag:yaml.org,2002:bool", __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                list("tTfF"))

_ALLOWED_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp", "merge")}


def _fail(file: str, line: int, col: int, message: str, hint: str | None = None) -> DocumentError:
    return DocumentError(DefinitionError(file, line, col, "", message, hint))


def _to_data(doc_file: str, root: yaml.Node, doc: Document) -> Any:
    budget = [MAX_NODES]
    constructor = yaml.SafeLoader.__new__(yaml.SafeLoader)
    yaml.constructor.SafeConstructor.__init__(constructor)

    def walk(node: yaml.Node, path: PathT, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise _fail(doc_file, node.start_mark.line + 1, node.start_mark.column + 1,
                        f"document expands to more than {MAX_NODES} values",
                        "aliases that multiply content (a 'billion laughs' file) are refused")
        if depth > MAX_DEPTH:
            raise _fail(doc_file, node.start_mark.line + 1, node.start_mark.column + 1,
                        f"nesting deeper than {MAX_DEPTH} levels")
        doc.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if node.tag not in _ALLOWED_TAGS:
            raise _fail(doc_file, node.start_mark.line + 1, node.start_mark.column + 1,
                        f"unsupported YAML tag {node.tag}", "definitions hold plain data: text, numbers, lists, mappings")
        if isinstance(node, yaml.MappingNode):
            constructor.flatten_mapping(node)
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = constructor.construct_object(key_node, deep=True) if isinstance(key_node, yaml.ScalarNode) else None
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    raise _fail(doc_file, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                "mapping keys must be plain scalars")
                key = str(key) if not isinstance(key, str) else key
                if key in out:
                    first = doc.key_positions.get(path + (key,), (0, 0))
                    raise _fail(doc_file, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                f"{format_path(path + (key,))}: duplicate key '{key}'",
                                f"first given on line {first[0]}")
                doc.key_positions[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                out[key] = walk(value_node, path + (key,), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [walk(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # dates stay text (also one that is no real date, such as 2026-02-30: its checks say so)
        value = constructor.construct_object(node, deep=True)
        if not isinstance(value, (str, int, float, bool, type(None))):
            # dates and timestamps stay text: definitions never need native YAML dates
            value = node.value
        return value

    return walk(root, (), 0)


def parse_text(text: str, file: str) -> Document:
    """Parse definition text (YAML or JSON) into a located ``Document``; raise ``DocumentError`` if unreadable."""
    if len(text.encode("utf-8", errors="replace")) > MAX_FILE_BYTES:
        raise _fail(file, 1, 1, f"file is larger than {MAX_FILE_BYTES // 1000} KB",
                    "split the definition into several files")
    doc = Document(file=file, data=None, text=text)
    if file.endswith(".json"):
        try:
            json.loads(text, object_pairs_hook=_no_duplicate_pairs)
        except json.JSONDecodeError as exc:
            raise _fail(file, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}") from None
        except _DuplicateKey as exc:
            raise _fail(file, 1, 1, f"duplicate key '{exc.key}'") from None
    try:
        root = yaml.compose(text, Loader=_Composer)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or str(exc)
        hint = None
        if "\t" in problem or "'\\t'" in problem or _line_has_tab(text, line):
            problem, hint = "tab character in indentation or value position", "indent with spaces, not tabs"
        elif exc.context:
            problem = f"{exc.context}, {problem}"
        raise _fail(file, line, col, f"invalid YAML: {problem}", hint) from None
    except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        raise _fail(file, 1, 1, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise _fail(file, 1, 1, f"nesting deeper than {MAX_DEPTH} levels") from None
    if root is None:
        doc.data = None
        return doc
    try:
        doc.data = _to_data(file, root, doc)
    except RecursionError:
        raise _fail(file, 1, 1, f"nesting deeper than {MAX_DEPTH} levels") from None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise _fail(file, (mark.line + 1) if mark else 1, (mark.column + 1) if mark else 1,
                    f"invalid YAML: {exc.problem}") from None
    return doc


def load_file(path: Path, root: Path) -> Document:
    """Read ``path`` (relative names in errors are taken from ``root``)."""
    rel = path.relative_to(root).as_posix()
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _fail(rel, 1, 1, f"file is larger than {MAX_FILE_BYTES // 1000} KB ({size} bytes)",
                    "split the definition into several files")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _fail(rel, line, 1, "file is not valid UTF-8 text") from None
    return parse_text(text, rel)


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _no_duplicate_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


def _line_has_tab(text: str, line: int) -> bool:
    lines = text.splitlines()
    return 0 < line <= len(lines) and "\t" in lines[line - 1][: len(lines[line - 1]) - len(lines[line - 1].lstrip())]
