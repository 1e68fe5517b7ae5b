"""Reading definition files: hostile and malformed YAML/JSON gets one located, readable error."""
from __future__ import annotations

import pytest

from engine.source import MAX_FILE_BYTES, DocumentError, format_path, parse_text


def error_of(text: str, file: str = "forms/x.yaml") -> str:
    with pytest.raises(DocumentError) as info:
        parse_text(text, file)
    return str(info.value.error)


def test_positions_point_at_values_and_keys() -> None:
    doc = parse_text("key: a\nfields:\n  - key: name\n    type: text\n", "forms/a.yaml")
    assert doc.locate(("fields", 0, "type")) == (4, 11)
    assert doc.locate(("fields", 0, "type"), key=True) == (4, 5)
    assert str(doc.error(("fields", 0, "type"), "bad")) == "forms/a.yaml:4:11: fields[0].type: bad"


def test_missing_path_falls_back_to_nearest_ancestor() -> None:
    doc = parse_text("key: a\nfields:\n  - key: name\n", "f.yaml")
    assert doc.locate(("fields", 0, "missing")) == (3, 5)


@pytest.mark.parametrize("text, expected", [
    ("key: a\nfields:\n\t- key: b\n", "forms/x.yaml:3:1: invalid YAML: tab character in indentation or value position (indent with spaces, not tabs)"),
    ("key: a\nlabel: b\nkey: c\n", "forms/x.yaml:3:1: key: duplicate key 'key' (first given on line 1)"),
    ("key: a\n  label: b\n", "forms/x.yaml:2:8: invalid YAML: mapping values are not allowed here"),
    ("fields: [a, b\n", "forms/x.yaml:2:1: invalid YAML: while parsing a flow sequence, expected ',' or ']', but got '<stream end>'"),
])
def test_malformed_yaml_is_located(text: str, expected: str) -> None:
    assert error_of(text) == expected


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    message = error_of("\n".join(lines) + "\n")
    assert "expands to more than" in message and "billion laughs" in message


def test_oversized_file_is_refused() -> None:
    message = error_of("key: a\n" + "#" * (MAX_FILE_BYTES + 10) + "\n")
    assert message.startswith("forms/x.yaml:1:1: file is larger than")


def test_unsafe_tags_are_refused() -> None:
    assert error_of("key: !!python/object/apply:os.system ['ls']\n") == (
        "forms/x.yaml:1:6: unsupported YAML tag tag:yaml.org,2002:python/object/apply:os.system "
        "(definitions hold plain data: text, numbers, lists, mappings)")


def test_json_definitions_are_accepted_and_located() -> None:
    doc = parse_text('{\n  "key": "a",\n  "fields": [{"key": "b", "type": "text"}]\n}\n', "forms/a.json")
    assert doc.data["fields"][0]["type"] == "text"
    assert doc.locate(("fields", 0, "type"))[0] == 3


def test_json_duplicate_keys_and_syntax_errors() -> None:
    assert "duplicate key 'key'" in error_of('{"key": "a", "key": "b"}', "forms/a.json")
    assert error_of('{"key": "a",\n "x": }', "forms/a.json").startswith("forms/a.json:2:7: invalid JSON")


def test_dates_stay_text_and_only_true_false_are_booleans() -> None:
    assert parse_text("on: 2026-01-01\nno: yes\nflag: true\n", "a.yaml").data == {
        "on": "2026-01-01", "no": "yes", "flag": True}
    # a date that does not exist stays text too (the definition's checks name it), instead of failing the parse
    assert parse_text("from: 2026-02-30\nat: 2026-13-01 10:00:00\n", "a.yaml").data == {
        "from": "2026-02-30", "at": "2026-13-01 10:00:00"}


def test_format_path() -> None:
    assert format_path(("fields", 3, "type")) == "fields[3].type"
    assert format_path(()) == ""
