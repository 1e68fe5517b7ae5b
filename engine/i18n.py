"""Texts in several languages: a label is a plain string (zh-CN) or a mapping of locale → text."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

DEFAULT_LOCALE = "zh-CN"
LOCALES = ("zh-CN", "en")


@dataclass(frozen=True)
class Text:
    """A translatable text. ``Text.of("名称")`` or ``Text.of({"zh-CN": "名称", "en": "Name"})``."""

    values: tuple[tuple[str, str], ...]

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
