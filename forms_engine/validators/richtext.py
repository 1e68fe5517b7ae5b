"""Rich text: HTML from the editor, sanitised with ``nh3`` (the ammonia library)."""

from __future__ import annotations

import nh3

from forms_engine.validators import InvalidValue

__all__ = ["ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "MAX_HTML_LENGTH", "sanitise_html"]

MAX_HTML_LENGTH = 200_000
ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "del", "div", "em",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "mark", "ol", "p", "pre", "s",
        "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "abbr": frozenset({"title"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "ol": frozenset({"start"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan", "scope"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})


def sanitise_html(html: str, *, max_length: int = MAX_HTML_LENGTH) -> str:
    """Return ``html`` with only the allowed tags and attributes kept.

    Scripts, styles and their content, event handlers, ``style`` attributes, comments and links to any
    scheme other than http, https, mailto and tel are removed; links get ``rel="noopener noreferrer"``.

    Raises:
        InvalidValue: When the input is longer than ``max_length`` characters.
    """
    if len(html) > max_length:
        raise InvalidValue(
            f"Rich text is longer than {max_length} characters",
            "richtext.too_long",
            f"富文本内容超过{max_length}个字符",
        )
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
