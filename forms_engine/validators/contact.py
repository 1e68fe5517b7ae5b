"""Phone numbers (mainland China), email addresses and web addresses."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from forms_engine.validators import InvalidValue

__all__ = ["normalise_email", "normalise_mobile", "normalise_phone", "normalise_url"]

MAX_EMAIL_LENGTH = 254
MAX_URL_LENGTH = 2048

_COUNTRY_PREFIX = re.compile(r"^(?:\+86|0086)")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# Area code: 010 and 020-029 have two digits after the 0, all others three. Local numbers have 7-8 digits
# and never start with 0. An extension follows "-", "#", "ext", "x" or "转".
_LANDLINE = re.compile(r"(?P<area>0(?:10|2[0-9]|[3-9][0-9][0-9]))(?P<local>[1-9][0-9]{6,7})")
_EXTENSION_MARK = re.compile(r"(?:转|ext\.?|x|#)([0-9]{1,6})$", re.IGNORECASE)
_HYPHEN_EXTENSION = re.compile(r"-([0-9]{1,6})$")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_TOP_LEVEL = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
#: two or more labels, the last a top-level domain: ``all(_DOMAIN_LABEL…) and _TOP_LEVEL`` in one match
_DOMAIN = re.compile(r"(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+(?=(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})\Z)(?!-)[a-z0-9-]{1,63}(?<!-)")


def _phone_error() -> InvalidValue:
    return InvalidValue(
        "Not a mainland China mobile or landline number",
        "phone.format",
        "不是有效的中国大陆手机号或固定电话号码",
    )


def _strip_phone(value: str) -> tuple[str, str | None, bool]:
    """Split a typed number into (digits, extension, whether +86/0086 was given)."""
    text = "".join(str(value).split())
    for bracket in "()（）":
        text = text.replace(bracket, "")
    international = bool(_COUNTRY_PREFIX.match(text))
    text = _COUNTRY_PREFIX.sub("", text)
    marked = _EXTENSION_MARK.search(text)
    if marked:
        return text[: marked.start()].replace("-", ""), marked[1], international
    compact = text.replace("-", "")
    national = international and not compact.startswith("0") and not _MOBILE.fullmatch(compact)
    whole = "0" + compact if national else compact
    hyphen = _HYPHEN_EXTENSION.search(text)
    if hyphen and not (_MOBILE.fullmatch(compact) or _LANDLINE.fullmatch(whole)):
        return text[: hyphen.start()].replace("-", ""), hyphen[1], international
    return compact, None, international


def normalise_mobile(value: str) -> str:
    """Check a mainland mobile number and return it as ``+86 13812345678``."""
    text, extension, _ = _strip_phone(value)
    if extension is not None or not _MOBILE.fullmatch(text):
        raise InvalidValue("Not a mainland China mobile number", "phone.mobile", "不是有效的中国大陆手机号码")
    return f"+86 {text}"


def normalise_phone(value: str) -> str:
    """Check a mainland mobile or landline number and return its canonical form.

    Mobiles become ``+86 13812345678``; landlines ``0871-65123456`` (with ``-123`` for an extension).
    An optional ``+86`` or ``0086`` prefix is accepted; after it a landline may omit the leading 0.

    Raises:
        InvalidValue: When the value is neither form.
    """
    text, extension, international = _strip_phone(value)
    if extension is None and _MOBILE.fullmatch(text):
        return f"+86 {text}"
    if international and not text.startswith("0"):  # "+86 871 65123456" drops the trunk 0
        text = "0" + text
    match = _LANDLINE.fullmatch(text)
    if match is None:
        raise _phone_error()
    result = f"{match['area']}-{match['local']}"
    return f"{result}-{extension}" if extension else result


def normalise_email(value: str) -> str:
    """Check an email address (ASCII, dot-atom local part) and return it with the domain lower-cased.

    Raises:
        InvalidValue: On a missing ``@``, a bad local part or domain, or an address over 254 characters.
    """
    text = str(value).strip()
    local, at, domain = text.rpartition("@")
    domain = domain.lower()
    if (
        not at
        or len(text) > MAX_EMAIL_LENGTH
        or len(local) > 64
        or not _EMAIL_LOCAL.fullmatch(local)
        or not _DOMAIN.fullmatch(domain)
    ):
        raise InvalidValue(f"Not a valid email address: {text[:80]!r}", "email.format", "不是有效的电子邮件地址")
    return f"{local}@{domain}"


def _host_ok(host: str) -> bool:
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return False
    if re.fullmatch(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}", host):
        return all(int(part) <= 255 for part in host.split("."))
    if ":" in host:
        return False
    labels = host.split(".")
    return len(host) <= 253 and all(_DOMAIN_LABEL.fullmatch(label) for label in labels)


#: whitespace (``str.isspace``, Unicode included) and control characters
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
#: an address ``normalise_url`` gives back unchanged: http(s), a lower-case ASCII host name whose last label starts
#: with a letter (so no IPv4 address), no user, port or IPv6 literal, a non-empty query and fragment if any (an empty
#: ``?`` or ``#`` is dropped by ``normalise_url``), and no whitespace or control characters anywhere
PLAIN_URL = re.compile(
    r"https?://(?=[a-z0-9.-]{1,253}(?:[/?#]|\Z))(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)*[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:/[^?#\s\x00-\x1f\x7f]*)?(?:\?[^#\s\x00-\x1f\x7f]+)?(?:#[^\s\x00-\x1f\x7f]+)?")


def normalise_url(value: str) -> str:
    """Check an absolute http or https address and return it with scheme and host lower-cased.

    User names and passwords in the address are refused (``https://bank.example@evil.example``).

    Raises:
        InvalidValue: On another scheme, a missing or malformed host, a bad port, credentials,
            whitespace or control characters, or more than 2048 characters.
    """
    text = str(value).strip()

    def fail(reason: str, reason_zh: str) -> InvalidValue:
        return InvalidValue(f"Not a valid web address: {reason}", "url.format", f"不是有效的网址：{reason_zh}")

    if len(text) > MAX_URL_LENGTH:
        raise fail(f"longer than {MAX_URL_LENGTH} characters", f"超过{MAX_URL_LENGTH}个字符")
    if _SPACE_OR_CONTROL.search(text):
        raise fail("contains spaces or control characters", "包含空白或控制字符")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise fail("malformed host or port", "主机或端口格式错误") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise fail("only http and https are allowed", "只允许 http 和 https")
    if parts.username is not None or parts.password is not None:
        raise fail("user names and passwords are not allowed", "不允许包含用户名或密码")
    host = (parts.hostname or "").lower()
    ipv6 = parts.netloc.split("@")[-1].startswith("[")
    if not host or (not ipv6 and not _host_ok(host)):
        raise fail("missing or malformed host", "缺少主机名或主机名格式错误")
    netloc = f"[{host}]" if ipv6 else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))
