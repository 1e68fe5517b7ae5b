"""User-supplied regular expressions, refused when prone to catastrophic backtracking.

A pattern written in the designer may run on the server (Python ``re``) and in the browser (JavaScript), and
both engines backtrack. Patterns are therefore checked on their source text, before compiling, for the shapes
that make backtracking exponential: a quantifier around something that itself has a variable quantifier
(``(a+)+``, ``(.*)*``), a quantifier around alternatives that can match the same text (``(a|a)*``,
``(a|ab)*``) or an empty string, and backreferences. Inputs are capped in length as well, which bounds the
remaining polynomial cases such as ``.*.*x``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from forms_engine.validators import InvalidValue

__all__ = ["MAX_INPUT_LENGTH", "MAX_PATTERN_LENGTH", "check_pattern", "compile_pattern", "match_pattern"]

MAX_PATTERN_LENGTH = 200
MAX_INPUT_LENGTH = 1000
_UNBOUNDED = -1

# A character set: a tuple of inclusive (low, high) code point ranges, or None for "may be anything".
CharSet = tuple[tuple[int, int], ...] | None
_ANY: CharSet = None
_MAX_CHAR = 0x10FFFF
_NON_ASCII = ((0x80, _MAX_CHAR),)


def _complement(ranges: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """Return the ranges not covered within 0..0x10FFFF."""
    result: list[tuple[int, int]] = []
    start = 0
    for low, high in sorted(ranges):
        if low > start:
            result.append((start, low - 1))
        start = max(start, high + 1)
    if start <= _MAX_CHAR:
        result.append((start, _MAX_CHAR))
    return tuple(result)


_ASCII_DIGIT = ((48, 57),)
_ASCII_WORD = ((48, 57), (65, 90), (95, 95), (97, 122))
_ASCII_SPACE = ((9, 13), (32, 32))
# Supersets of what the escapes match: every non-ASCII character is assumed to be possible.
_ESCAPE_SETS: dict[str, tuple[tuple[int, int], ...]] = {
    "d": _ASCII_DIGIT + _NON_ASCII,
    "w": _ASCII_WORD + _NON_ASCII,
    "s": _ASCII_SPACE + _NON_ASCII,
    "D": _complement(_ASCII_DIGIT),
    "W": _complement(_ASCII_WORD),
    "S": _complement(_ASCII_SPACE),
}


@dataclass(frozen=True, slots=True)
class _Atom:
    chars: CharSet


@dataclass(frozen=True, slots=True)
class _Empty:
    """A zero-width item: anchors, word boundaries, lookarounds, inline flags, comments."""


@dataclass(frozen=True, slots=True)
class _Seq:
    items: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Alt:
    branches: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Repeat:
    body: _Node
    low: int
    high: int  # _UNBOUNDED for no upper limit


_Node = _Atom | _Empty | _Seq | _Alt | _Repeat


def _refuse(reason: str, reason_zh: str, code: str = "pattern.unsafe") -> InvalidValue:
    return InvalidValue(f"Pattern refused: {reason}", code, f"正则表达式不被接受：{reason_zh}")


class _Parser:
    """A small recursive-descent reader of the regex syntax shared by Python and JavaScript."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0
        self.ignore_case = re.search(r"\(\?[aLmsux]*i", source) is not None

    def atom(self, ranges: tuple[tuple[int, int], ...]) -> _Atom:
        """Make an atom, adding the other letter case when the pattern ignores case."""
        if not self.ignore_case:
            return _Atom(ranges)
        folded = list(ranges)
        for low, high in ranges:
            for first, last, shift in ((65, 90, 32), (97, 122, -32)):
                if low <= last and first <= high:
                    folded.append((max(low, first) + shift, min(high, last) + shift))
        return _Atom(tuple(folded) + _NON_ASCII)

    def peek(self) -> str:
        return self.source[self.pos] if self.pos < len(self.source) else ""

    def take(self) -> str:
        char = self.peek()
        self.pos += 1
        return char

    def parse_alt(self) -> _Node:
        branches = [self.parse_seq()]
        while self.peek() == "|":
            self.take()
            branches.append(self.parse_seq())
        return branches[0] if len(branches) == 1 else _Alt(tuple(branches))

    def parse_seq(self) -> _Node:
        items: list[_Node] = []
        while self.peek() not in ("", "|", ")"):
            items.append(self.parse_quantified(self.parse_atom()))
        return _Seq(tuple(items))

    def parse_quantified(self, node: _Node) -> _Node:
        char = self.peek()
        if char in ("*", "+", "?"):
            self.take()
            low, high = {"*": (0, _UNBOUNDED), "+": (1, _UNBOUNDED), "?": (0, 1)}[char]
        elif char == "{" and (bounds := re.match(r"\{([0-9]*)(,?)([0-9]*)\}", self.source[self.pos :])):
            self.pos += bounds.end()
            low = int(bounds[1] or 0)
            high = int(bounds[3]) if bounds[3] else (_UNBOUNDED if bounds[2] else low)
        else:
            return node
        if self.peek() in ("?", "+"):  # lazy or possessive
            self.take()
        return self.parse_quantified(_Repeat(node, low, high))

    def parse_atom(self) -> _Node:
        char = self.take()
        if char == "(":
            return self.parse_group()
        if char == "[":
            chars = self.parse_class()
            return _Atom(_ANY) if chars is None else self.atom(chars)
        if char == "\\":
            return self.parse_escape()
        if char in ("^", "$"):
            return _Empty()
        if char == ".":
            return _Atom(_ANY)
        return self.atom(((ord(char), ord(char)),))

    def parse_group(self) -> _Node:
        rest = self.source[self.pos :]
        if rest.startswith("?P="):
            raise _refuse("backreferences are not allowed", "不允许使用反向引用")
        if rest.startswith("?("):
            raise _refuse("conditional groups are not allowed", "不允许使用条件分组")
        if rest.startswith("?#"):
            self.pos = self.source.index(")", self.pos) + 1
            return _Empty()
        zero_width = False
        if flags := re.match(r"\?[aiLmsux-]*\)", rest):  # inline flags such as (?i)
            self.pos += flags.end()
            return _Empty()
        if prefix := re.match(r"\?(?:P?<[A-Za-z_]\w*>|[aiLmsux-]*:|>)", rest):
            self.pos += prefix.end()
        elif prefix := re.match(r"\?(?:=|!|<=|<!)", rest):
            self.pos += prefix.end()
            zero_width = True
        body = self.parse_alt()
        self.take()  # the closing ")"; the pattern already compiled, so it is there
        return _Empty() if zero_width else body

    def parse_class(self) -> CharSet:
        ranges: list[tuple[int, int]] = []
        negated = self.peek() == "^"
        if negated:
            self.take()
        first = True
        anything = False
        while first or self.peek() != "]":
            first = False
            char = self.take()
            if char == "":
                raise ValueError("unterminated character class")
            if char == "[" or (char in "-&~|" and self.peek() == char):
                # Python warns about these (future set operations); JavaScript's v flag reads them as such.
                raise _refuse(
                    "inside [...], escape '[' and doubled '-', '&', '~', '|'",
                    "在 [...] 中请转义 '[' 以及连续的 '-'、'&'、'~'、'|'",
                    "pattern.syntax",
                )
            if char == "\\":
                escaped = self.take()
                if escaped in _ESCAPE_SETS:
                    ranges.extend(_ESCAPE_SETS[escaped])
                    continue
                if escaped.isalpha() and escaped not in "tnrfvx0u":
                    anything = True
                    continue
                char = escaped
            if self.peek() == "-" and self.source[self.pos + 1 : self.pos + 2] not in ("]", ""):
                self.take()
                end = self.take()
                if end == "-":
                    raise _refuse(
                        "inside [...], escape '[' and doubled '-', '&', '~', '|'",
                        "在 [...] 中请转义 '[' 以及连续的 '-'、'&'、'~'、'|'",
                        "pattern.syntax",
                    )
                if end == "\\":
                    end = self.take()
                ranges.append((ord(char), max(ord(char), ord(end))))
            else:
                ranges.append((ord(char), ord(char)))
        self.take()
        if anything:
            return _ANY
        # A negated class is widened to every non-ASCII character, since the escapes inside it are supersets.
        return _complement(tuple(ranges)) + _NON_ASCII if negated else tuple(ranges)

    def parse_escape(self) -> _Node:
        char = self.take()
        if char.isdigit() and char != "0":
            raise _refuse("backreferences are not allowed", "不允许使用反向引用")
        if char == "k":
            raise _refuse("backreferences are not allowed", "不允许使用反向引用")
        if char in "bBAZz":
            return _Empty()
        if char in _ESCAPE_SETS:
            return _Atom(_ESCAPE_SETS[char])
        if char.isalpha() and char not in "tnrfv":
            return _Atom(_ANY)  # \x.., \u...., \N{...}: treated as "could be anything"
        return self.atom(((ord(char), ord(char)),))


def _overlaps(left: CharSet, right: CharSet) -> bool:
    if left is None or right is None:
        return True
    return any(a <= d and c <= b for a, b in left for c, d in right)


def _union(left: CharSet, right: CharSet) -> CharSet:
    return None if left is None or right is None else left + right


def _first(node: _Node) -> tuple[CharSet, bool]:
    """Return the characters a node can start with and whether it can match the empty string."""
    if isinstance(node, _Atom):
        return node.chars, False
    if isinstance(node, _Empty):
        return (), True
    if isinstance(node, _Repeat):
        chars, nullable = _first(node.body)
        return chars, nullable or node.low == 0
    if isinstance(node, _Alt):
        chars: CharSet = ()
        nullable = False
        for branch in node.branches:
            branch_chars, branch_nullable = _first(branch)
            chars, nullable = _union(chars, branch_chars), nullable or branch_nullable
        return chars, nullable
    chars = ()
    for item in node.items:
        item_chars, item_nullable = _first(item)
        chars = _union(chars, item_chars)
        if not item_nullable:
            return chars, False
    return chars, True


def _has_variable_repeat(node: _Node) -> bool:
    if isinstance(node, _Repeat):
        return node.low != node.high or _has_variable_repeat(node.body)
    if isinstance(node, _Seq):
        return any(_has_variable_repeat(item) for item in node.items)
    if isinstance(node, _Alt):
        return any(_has_variable_repeat(branch) for branch in node.branches)
    return False


def _repeated_chars(node: _Node, inside: bool = False) -> CharSet:
    """Return the characters that variable quantifiers within a node can consume."""
    if isinstance(node, _Atom):
        return node.chars if inside else ()
    if isinstance(node, _Repeat):
        return _repeated_chars(node.body, inside or node.low != node.high)
    children = node.items if isinstance(node, _Seq) else node.branches if isinstance(node, _Alt) else ()
    chars: CharSet = ()
    for child in children:
        chars = _union(chars, _repeated_chars(child, inside))
    return chars


def _delimited(body: _Node) -> bool:
    """Whether each repetition of ``body`` starts with a character its inner quantifiers cannot consume.

    ``(,[^,]+)*`` and ``(\\.\\w+)*`` are delimited: the split between repetitions is never ambiguous.
    """
    while isinstance(body, _Seq) and len(body.items) == 1:
        body = body.items[0]
    if not isinstance(body, _Seq) or not body.items or not isinstance(body.items[0], _Atom):
        return False
    head = body.items[0].chars
    return head is not None and not _overlaps(head, _repeated_chars(body))


def _ambiguous_alternation(node: _Node) -> bool:
    """Whether a node holds alternatives that can start alike or match nothing."""
    if isinstance(node, _Alt):
        firsts = [_first(branch) for branch in node.branches]
        if any(nullable for _, nullable in firsts):
            return True
        for index, (chars, _) in enumerate(firsts):
            if any(_overlaps(chars, other) for other, _ in firsts[index + 1 :]):
                return True
        return any(_ambiguous_alternation(branch) for branch in node.branches)
    if isinstance(node, _Seq):
        return any(_ambiguous_alternation(item) for item in node.items)
    if isinstance(node, _Repeat):
        return _ambiguous_alternation(node.body)
    return False


def _check_tree(node: _Node) -> None:
    if isinstance(node, _Repeat):
        if node.high == _UNBOUNDED or node.high > 1:
            if _has_variable_repeat(node.body) and not _delimited(node.body):
                raise _refuse(
                    "nested quantifiers such as (a+)+ can take exponential time",
                    "嵌套量词（如 (a+)+）可能导致指数级回溯",
                )
            if _ambiguous_alternation(node.body) or _first(node.body)[1]:
                raise _refuse(
                    "a repeated group whose alternatives can match the same text, such as (a|a)*, "
                    "can take exponential time; use a character class such as [ab]* instead",
                    "重复的分组中各分支可匹配相同文本（如 (a|a)*），可能导致指数级回溯；请改用字符类如 [ab]*",
                )
        _check_tree(node.body)
    elif isinstance(node, _Seq):
        for item in node.items:
            _check_tree(item)
    elif isinstance(node, _Alt):
        for branch in node.branches:
            _check_tree(branch)


def compile_pattern(pattern: str, *, max_length: int = MAX_PATTERN_LENGTH) -> re.Pattern[str]:
    """Check a user-supplied pattern and return it compiled.

    Raises:
        InvalidValue: When the pattern is too long, does not compile, uses backreferences or
            conditionals, or has a shape prone to catastrophic backtracking.
    """
    if len(pattern) > max_length:
        raise _refuse(
            f"longer than {max_length} characters", f"长度超过{max_length}个字符", "pattern.too_long"
        )
    try:
        tree = _Parser(pattern).parse_alt()
    except (IndexError, TypeError, ValueError):
        tree = None  # malformed: re.compile below names the problem
        if any(pair in pattern for pair in ("[[", "--", "&&", "~~", "||")):
            # Avoid the FutureWarning re.compile would emit before failing on these.
            raise InvalidValue(
                "Pattern is not a valid regular expression", "pattern.syntax", "正则表达式语法错误"
            ) from None
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise InvalidValue(
            f"Pattern is not a valid regular expression: {error}", "pattern.syntax", f"正则表达式语法错误：{error}"
        ) from None
    if tree is not None:
        _check_tree(tree)
    return compiled


def match_pattern(pattern: str, value: str, *, max_input: int = MAX_INPUT_LENGTH) -> bool:
    """Return whether the whole of ``value`` matches a checked pattern.

    Raises:
        InvalidValue: When the pattern is refused or ``value`` is longer than ``max_input``.
    """
    compiled = compile_pattern(pattern)
    if len(value) > max_input:
        raise InvalidValue(
            f"Value is longer than {max_input} characters", "pattern.input_too_long", f"输入超过{max_input}个字符"
        )
    return compiled.fullmatch(value) is not None


def check_pattern(
    value: str, pattern: str, *, message: str | None = None, message_zh: str | None = None
) -> str:
    """Return ``value`` when it wholly matches ``pattern``.

    Args:
        value: The value to check.
        pattern: A user-supplied pattern (checked with :func:`compile_pattern`).
        message: Message to raise on mismatch, e.g. the form designer's hint.
        message_zh: The same in Chinese.

    Raises:
        InvalidValue: On mismatch (code ``pattern.mismatch``), or when the pattern or value is refused.
    """
    if not match_pattern(pattern, value):
        raise InvalidValue(
            message or "Value does not match the required format",
            "pattern.mismatch",
            message_zh or message or "格式不正确",
        )
    return value
