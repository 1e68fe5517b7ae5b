"""Value checks for form fields.

Every check returns a normalised value or raises :class:`InvalidValue`. The modules are pure: they read
nothing but the shipped data file (``forms_engine/data/regions.json``) and keep no mutable state.

Modules: ``identity`` (resident ID card, unified social credit code), ``cards`` (bank cards), ``contact``
(phone, email, URL), ``patterns`` (user-supplied regular expressions), ``richtext`` (HTML sanitising),
``files`` (attachments and spreadsheet guards), ``regions`` (administrative divisions), ``serials``
(serial-number patterns).
"""

from __future__ import annotations

__all__ = ["InvalidValue"]


class InvalidValue(Exception):
    """A value failed a check.

    Attributes:
        message: Short English message naming what is wrong.
        code: Stable machine-readable code, e.g. ``"idcard.checksum"``.
        message_zh: The same message in Chinese.
    """

    def __init__(self, message: str, code: str, message_zh: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.message_zh = message_zh if message_zh is not None else message

    def __repr__(self) -> str:
        return f"InvalidValue({self.message!r}, {self.code!r})"
