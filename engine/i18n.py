"""Texts in several languages: a label is a plain string (zh-CN) or a mapping of locale → text; and the platform's
catalog of its own words (``add_messages`` / ``message``), used by pages, mails and notifications alike."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

DEFAULT_LOCALE = "zh-CN"
LOCALES = ("zh-CN", "en")


@dataclass(frozen=True, eq=False)
class Text:
    """A translatable text. ``Text.of("名称")`` or ``Text.of({"zh-CN": "名称", "en": "Name"})``.

    Two texts are equal when they say the same in the same languages, in whatever order they were written."""

    values: tuple[tuple[str, str], ...]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Text):
            return NotImplemented
        return dict(self.values) == dict(other.values)

    def __hash__(self) -> int:
        return hash(frozenset(self.values))

    @classmethod
    def of(cls, raw: Any, fallback: str = "") -> "Text":
        if raw is None:
            return cls(((DEFAULT_LOCALE, fallback),)) if fallback else cls(())
        if isinstance(raw, Mapping):
            return cls(tuple((str(k), str(v)) for k, v in raw.items()))
        return cls(((DEFAULT_LOCALE, str(raw)),))

    def get(self, locale: str = DEFAULT_LOCALE) -> str:
        table = dict(self.values)
        if locale in table:
            return table[locale]
        short = locale.split("-")[0]
        for key, value in self.values:
            if key.split("-")[0] == short:
                return value
        return table.get(DEFAULT_LOCALE) or (self.values[0][1] if self.values else "")

    def __str__(self) -> str:
        return self.get()

    def to_json(self) -> Any:
        return dict(self.values)


# -- the catalog of the platform's own words ---------------------------------------------------------------------

#: UI strings: key → {locale: text}. Engines add theirs with ``add_messages`` at import or start-up.
MESSAGES: dict[str, dict[str, str]] = {}


def add_messages(table: Mapping[str, Mapping[str, str]]) -> None:
    """Add UI strings (``{"inbox": {"zh-CN": "待办", "en": "Inbox"}}``); a key given twice must agree."""
    for key, texts in table.items():
        if key in MESSAGES and MESSAGES[key] != dict(texts):
            raise RuntimeError(f"UI message {key!r} defined twice with different texts")
        MESSAGES[key] = dict(texts)


def message(key: str, locale: str, **values: Any) -> str:
    """The text of ``key`` in ``locale`` (its language, then zh-CN, then the key itself), filled with ``values``."""
    texts = MESSAGES.get(key)
    if texts is None:
        return key
    text = texts.get(locale) or texts.get(locale.split("-")[0]) or texts.get(DEFAULT_LOCALE) or key
    return text.format(**values) if values else text
