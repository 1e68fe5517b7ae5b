"""Rich text sanitising."""

import sys
from pathlib import Path

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # the package may not be installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pytest  # noqa: E402

from forms_engine.validators import InvalidValue  # noqa: E402
from forms_engine.validators.richtext import sanitise_html  # noqa: E402


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Hello <b>world</b></p>", "<p>Hello <b>world</b></p>"),
        ("<h2>Title</h2><ul><li>one</li></ul>", "<h2>Title</h2><ul><li>one</li></ul>"),
        ('<a href="https://example.com">x</a>', '<a href="https://example.com" rel="noopener noreferrer">x</a>'),
        ('<a href="mailto:a@example.com">m</a>', '<a href="mailto:a@example.com" rel="noopener noreferrer">m</a>'),
        ('<img src="https://example.com/a.png" alt="a">', '<img src="https://example.com/a.png" alt="a">'),
        (
            '<table><tr><td colspan="2">1</td></tr></table>',
            '<table><tbody><tr><td colspan="2">1</td></tr></tbody></table>',
        ),
        ("中文 &amp; text", "中文 &amp; text"),
    ],
)
def test_allowed_markup_is_kept(html: str, expected: str) -> None:
    assert sanitise_html(html) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>a<script>alert(1)</script>b</p>", "<p>ab</p>"),
        ("<style>p{color:red}</style><p>x</p>", "<p>x</p>"),
        ('<p onclick="alert(1)">x</p>', "<p>x</p>"),
        ('<img src="x.png" onerror="alert(1)">', '<img src="x.png">'),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
        ('<a href=" JaVaScRiPt:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
        ('<img src="data:image/svg+xml;base64,PHN2Zz4=">', "<img>"),
        ('<p style="background:url(javascript:alert(1))">x</p>', "<p>x</p>"),
        ('<iframe src="https://example.com"></iframe>', ""),
        ("<!-- secret --><p>x</p>", "<p>x</p>"),
        ('<svg><script>alert(1)</script></svg>', ""),
        ('<a href="https://e.com" target="_blank">x</a>', '<a href="https://e.com" rel="noopener noreferrer">x</a>'),
    ],
)
def test_dangerous_markup_is_removed(html: str, expected: str) -> None:
    assert sanitise_html(html) == expected


def test_length_is_capped() -> None:
    with pytest.raises(InvalidValue) as caught:
        sanitise_html("<p>" + "x" * 100 + "</p>", max_length=50)
    assert caught.value.code == "richtext.too_long"
