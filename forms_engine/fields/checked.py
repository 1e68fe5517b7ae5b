"""Built-in types whose values are checked beyond their shape: contacts, identity numbers, rich text, places."""
from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from sqlalchemy import Text

from ..validators import contact, identity, regions, richtext
from ..validators.cards import normalise_bank_card
from .base import FieldType, InvalidField, register
from .basic import TextField, _generic, cell_text, check_length, to_decimal
from .columns import JsonColumn


def _string(value: Any, what: str) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InvalidField(f"expected {what} as text", "type")
    return str(value).strip()


class _Checked(TextField):
    """Text normalised by a check function; the stored value is the normalised form."""

    what = "text"
    check = staticmethod(lambda value: value)
    options = ("unique", "placeholder")

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        return self.check(_string(value, self.what))

    def fast(self, f):  # type: ignore[no-untyped-def]
        slow, normalise, common = _generic(self, f), self.check, self.common

        def check(value: Any) -> Any:
            if value.__class__ is str and value:
                if common is not None:
                    found = common(value)
                    if found is not None:
                        return found
                return normalise(value.strip())
            return slow(value)

        return check

    #: text → what ``check`` returns for it, for the common shape of the value only (None: use ``check``)
    common: Any = None


_MOBILE = re.compile(r"1[3-9][0-9]{9}").fullmatch


@register
class EmailField(_Checked):
    name, label, widget, what = "email", "邮箱", "email", "an email address"
    check = staticmethod(contact.normalise_email)

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "string", "format": "email"}


@register
class PhoneField(_Checked):
    """Mainland mobile or landline numbers, with or without +86; stored as ``+86 13812345678`` / ``0871-65123456``."""

    name, label, widget, what = "phone", "电话", "phone", "a phone number"
    check = staticmethod(contact.normalise_phone)
    common = staticmethod(lambda text: "+86 " + text if _MOBILE(text) else None)  # a bare mobile number


@register
class UrlField(_Checked):
    name, label, widget, what = "url", "网址", "url", "a web address"
    check = staticmethod(contact.normalise_url)
    common = staticmethod(lambda text: text if len(text) <= contact.MAX_URL_LENGTH and contact.PLAIN_URL.fullmatch(text)
                          else None)

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "string", "format": "uri"}


@register
class IdCardField(_Checked):
    """18-digit PRC resident identity number with checksum. Formulas derive birth date, age and sex from it."""

    name, label, widget, what = "id_card", "身份证号", "id_card", "an ID card number"
    check = staticmethod(identity.normalise_idcard)

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "string", "pattern": r"^\d{17}[\dXx]$"}


@register
class CreditCodeField(_Checked):
    """18-character unified social credit code of an organisation, with checksum (GB 32100-2015)."""

    name, label, widget, what = "credit_code", "统一社会信用代码", "credit_code", "a unified social credit code"
    check = staticmethod(identity.normalise_credit_code)

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "string", "pattern": "^[0-9A-HJ-NPQRTUWXY]{18}$"}


@register
class BankCardField(_Checked):
    name, label, widget, what = "bank_card", "银行卡号", "bank_card", "a bank card number"
    check = staticmethod(normalise_bank_card)

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "string", "pattern": r"^[\d ]{12,23}$"}


@register
class RichTextField(FieldType):
    """HTML from the rich-text editor, sanitised on save: scripts, event handlers and javascript: links removed."""

    name, label, widget = "rich_text", "富文本", "rich_text"
    options = ("max_length",)

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return Text()

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "string", "contentMediaType": "text/html"}

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        if not isinstance(value, str):
            raise InvalidField("expected HTML text", "type")
        return check_length(richtext.sanitise_html(value), f)


@register
class RegionField(FieldType):
    """A province, city or district by its GB/T 2260 code; ``levels`` sets how deep the picker goes."""

    name, label, widget = "region", "省市区", "region"
    options = ("levels",)
    _depth = {"province": 1, "city": 2, "district": 3}

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return Text()

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "string", "pattern": r"^\d{6}$"}

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        code = regions.normalise_region(_string(value, "a region code"))
        wanted = self._depth[f.extra.get("levels", "district")]
        if len(regions.path(code)) > wanted:
            raise InvalidField(f"choose a region down to the {f.extra.get('levels')} level only", "level")
        return code

    def from_cell(self, value, f):  # type: ignore[no-untyped-def]
        text = str(cell_text(value)).strip()
        if text.isdigit():
            return self.coerce(text, f)
        parts = [p for p in text.replace("/", " ").replace("-", " ").split() if p]
        for candidate in regions.search(parts[-1] if parts else text, limit=50):
            names = [r.name for r in regions.path(candidate.code)]
            if all(any(p in n or n in p for n in names) for p in parts):
                return self.coerce(candidate.code, f)
        raise InvalidField(f"unknown region {text!r}", "region")

    def to_cell(self, value, f, locale="zh-CN"):  # type: ignore[no-untyped-def]
        return "/".join(r.name for r in regions.path(value)) if value else None


@register
class AddressField(FieldType):
    """A postal address: ``{"region": "530102", "detail": "..."}``."""

    name, label, widget = "address", "地址", "address"

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return JsonColumn

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "object", "properties": {"region": {"type": "string"}, "detail": {"type": "string", "maxLength": 500}},
                "additionalProperties": False}

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        if isinstance(value, str):
            value = {"detail": value}
        if not isinstance(value, dict) or set(value) - {"region", "detail"}:
            raise InvalidField("expected {region, detail}", "type")
        out: dict[str, Any] = {}
        if value.get("region"):
            out["region"] = regions.normalise_region(_string(value["region"], "a region code"))
        detail = value.get("detail")
        if detail is not None:
            detail = _string(detail, "an address")
            if len(detail) > 500:
                raise InvalidField("address longer than 500 characters", "max_length")
            out["detail"] = detail
        return out

    def fast(self, f):  # type: ignore[no-untyped-def]
        slow, known = _generic(self, f), regions.is_code

        def check(value: Any) -> Any:
            if value.__class__ is dict and len(value) == 2:
                region, detail = value.get("region"), value.get("detail")
                if region.__class__ is str and detail.__class__ is str and len(region) == 6 and known(region):
                    detail = detail.strip()
                    if len(detail) <= 500:
                        return {"region": region, "detail": detail}
            return slow(value)

        return check

    def from_cell(self, value, f):  # type: ignore[no-untyped-def]
        """``省/市/区 detail`` (as exported) or just the detail."""
        if isinstance(value, str):
            head, _, rest = value.strip().partition(" ")
            if "/" in head:
                try:
                    return self.coerce({"region": RegionField().from_cell(head, f), "detail": rest.strip()}, f)
                except InvalidField:
                    pass
            return self.coerce({"detail": value.strip()}, f)
        return self.coerce(value, f)

    def to_cell(self, value, f, locale="zh-CN"):  # type: ignore[no-untyped-def]
        if not value:
            return None
        region = "/".join(r.name for r in regions.path(value["region"])) if value.get("region") else ""
        return f"{region} {value.get('detail', '')}".strip()


@register
class LocationField(FieldType):
    """A point on the map: ``{"lat": 25.04, "lng": 102.71}`` (WGS-84 degrees)."""

    name, label, widget = "location", "定位", "location"

    def column_type(self, f):  # type: ignore[no-untyped-def]
        return JsonColumn

    def json_schema(self, f):  # type: ignore[no-untyped-def]
        return {"type": "object", "required": ["lat", "lng"], "properties": {
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lng": {"type": "number", "minimum": -180, "maximum": 180}}}

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        if isinstance(value, str) and "," in value:
            lat_text, lng_text = value.split(",", 1)
            value = {"lat": lat_text, "lng": lng_text}
        if not isinstance(value, dict) or set(value) != {"lat", "lng"}:
            raise InvalidField("expected {lat, lng}", "type")
        lat, lng = to_decimal(value["lat"]), to_decimal(value["lng"])
        if not (Decimal(-90) <= lat <= 90 and Decimal(-180) <= lng <= 180):
            raise InvalidField("latitude must be within ±90 and longitude within ±180", "range")
        return {"lat": float(lat), "lng": float(lng)}

    def fast(self, f):  # type: ignore[no-untyped-def]
        blank, coerce, finite = self.is_blank, self.coerce, math.isfinite

        def check(value: Any) -> Any:
            if value.__class__ is dict and len(value) == 2:
                lat, lng = value.get("lat"), value.get("lng")
                # plain finite floats (as JSON gives them): the same result as coerce's exact decimal comparison
                if lat.__class__ is float and lng.__class__ is float and finite(lat) and finite(lng) and (
                        -90 <= lat <= 90 and -180 <= lng <= 180):
                    return {"lat": lat, "lng": lng}
            return None if blank(value) else coerce(value, f)

        return check

    def to_cell(self, value, f, locale="zh-CN"):  # type: ignore[no-untyped-def]
        return f"{value['lat']},{value['lng']}" if value else None


@register
class RollupField(FieldType):
    """count / sum / min / max / avg over a sub-table's rows (``over: items``) or over the records of another form
    whose relation points here (``over: order.party``, optionally ``where: "status == 'open'"``); stored, and
    refreshed when a related record changes."""

    name, label, widget, group, expr_type = "rollup", "汇总", "readonly", "computed", "number"
    computed = True
    options = ("over", "agg", "field", "scale", "where")

    def column_type(self, f):  # type: ignore[no-untyped-def]
        from .columns import ExactDecimal

        return ExactDecimal(scale=f.scale if f.scale is not None else 2)

    def coerce(self, value, f):  # type: ignore[no-untyped-def]
        return to_decimal(value)

    def to_json(self, value, f):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        return int(value) if f.extra.get("agg") == "count" else str(value)

    def to_cell(self, value, f, locale="zh-CN"):  # type: ignore[no-untyped-def]
        return int(value) if f.extra.get("agg") == "count" else value
