"""Built-in file types: attachments, images and drawn signatures. Values are lists of uploaded file ids.

Files are uploaded first (``POST /api/files``); the record then refers to them by id. On save the record service
checks that each file exists, was uploaded by the same user or already belongs to this record, and is of a kind
the field accepts.
"""
from __future__ import annotations

from typing import Any

from .base import FieldType, InvalidField, register
from .columns import JsonColumn

IMAGE_KINDS = ("png", "jpeg", "gif", "webp")


class _Files(FieldType):
    expr_type = "list"
    group = "files"
    options = ("accept", "max_files", "max_size")
    default_kinds: tuple[str, ...] = ()
    default_max = 10

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return JsonColumn

    def accepted(self, f) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
        from engine.files import DEFAULT_KINDS

        return tuple(f.extra.get("accept") or self.default_kinds or DEFAULT_KINDS)

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        item = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
        return {"type": "array", "items": item, "maxItems": int(f.extra.get("max_files", self.default_max))}

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        items = value if isinstance(value, list) else [value]
        ids: list[int] = []
        for item in items:
            file_id = item.get("id") if isinstance(item, dict) else item
            if isinstance(file_id, bool) or not isinstance(file_id, int) or file_id <= 0:
                raise InvalidField("expected uploaded file ids", "type")
            if file_id not in ids:
                ids.append(file_id)
        limit = int(f.extra.get("max_files", self.default_max))
        if len(ids) > limit:
            raise InvalidField(f"at most {limit} file{'s' if limit > 1 else ''}", "max_files")
        return [{"id": i} for i in ids]

    def to_cell(self, value, f, locale="zh-CN"):  # type: ignore[no-untyped-def]
        return "、".join(str(v.get("name", v["id"])) for v in value or [])


@register
class AttachmentField(_Files):
    name, label, widget = "attachment", "附件", "attachment"


@register
class ImageField(_Files):
    name, label, widget = "image", "图片", "image"
    default_kinds = IMAGE_KINDS


@register
class SignatureField(_Files):
    """A signature drawn in the browser and uploaded as a PNG."""

    name, label, widget = "signature", "手写签名", "signature"
    options = ()
    default_kinds = ("png",)
    default_max = 1

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        out = super().coerce(value, f)
        if len(out) > 1:
            raise InvalidField("one signature only", "max_files")
        return out


def kinds_of(f: Any) -> tuple[str, ...]:
    return f.ftype.accepted(f)
