"""Notification mails: off unless ``LOOMWORK_SMTP_URL`` is set; then a notification to a user with an email address
also writes a ``mail`` message to the outbox (same transaction), which the ``outbox`` job sends with retries,
backoff and dead letters like a webhook.

The message is rendered when it is queued, from ``engine/templates/mail/notification.{subject,txt,html}`` (Jinja2,
the HTML part autoescaped), with a link to the item in the portal (``LOOMWORK_PUBLIC_URL`` + the notification's
path). Settings: ``smtp_url`` (``smtp://user:password@host:port``, ``smtps://`` for TLS from the first byte),
``smtp_security`` (starttls | ssl | none), ``smtp_timeout``, ``mail_from``, ``public_url``.
"""
from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .i18n import DEFAULT_LOCALE, Text

TEMPLATES = Path(__file__).parent / "templates" / "mail"
#: The mail's own words, in the recipient's language (their ``locale``; zh-CN when unset). ``{app}`` is the app's label.
TEXTS = {
    "open": Text.of({"zh-CN": "在门户中打开", "en": "Open it in the portal"}),
    "open_text": Text.of({"zh-CN": "打开：", "en": "Open it:"}),
    "sent_by": Text.of({"zh-CN": "由 Loomwork 发送。", "en": "Sent by Loomwork."}),
    "sent_by_app": Text.of({"zh-CN": "由 Loomwork（{app}）发送。", "en": "Sent by Loomwork for {app}."}),
    "why": Text.of({"zh-CN": "您收到此邮件，是因为门户中有一条给您的通知；它在门户中同样可见。",
                    "en": "You get this mail because you have a notification in the portal; it is marked there too."}),
}
SECURITY = ("starttls", "ssl", "none")
#: Longest subject line sent (longer titles are cut with an ellipsis).
MAX_SUBJECT = 200

_env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                   autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
                   keep_trailing_newline=False)
# the subject and the plain-text part are not HTML: they are rendered without escaping
_plain = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined, autoescape=False)


class MailSettingsError(ValueError):
    """``LOOMWORK_SMTP_URL`` / ``LOOMWORK_MAIL_FROM`` / ``LOOMWORK_SMTP_SECURITY`` that cannot work."""


class PermanentFailure(Exception):
    """The SMTP server refused the message for good (a 5xx answer): retrying cannot help."""


@dataclass(frozen=True)
class MailConfig:
    host: str
    port: int
    user: str | None
    password: str | None
    security: str
    sender: str
    timeout: float

    @classmethod
    def from_settings(cls, settings: Any) -> "MailConfig | None":
        """None when mail is off (no SMTP URL); ``MailSettingsError`` naming the setting when it is unusable."""
        url = str(settings.smtp_url or "").strip()
        if not url:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise MailSettingsError("LOOMWORK_SMTP_URL is smtp://user:password@host:port or smtps://… (got scheme "
                                    f"{parts.scheme or '(none)'!r}{'' if parts.hostname else ', no host'})")
        security = str(settings.smtp_security or "starttls").strip().lower()
        if security not in SECURITY:
            raise MailSettingsError(f"LOOMWORK_SMTP_SECURITY is one of {', '.join(SECURITY)} (got {security!r})")
        if parts.scheme == "smtps":
            security = "ssl"
        try:
            port = parts.port or (465 if security == "ssl" else 587)
        except ValueError:
            raise MailSettingsError("LOOMWORK_SMTP_URL has a port that is not a number 1..65535") from None
        sender = str(settings.mail_from or "").strip()
        name, address = parseaddr(sender)
        if not sender or "@" not in address or "\n" in sender or "\r" in sender:
            raise MailSettingsError("LOOMWORK_MAIL_FROM is required when LOOMWORK_SMTP_URL is set, as "
                                    "loomwork@example.com or 'Loomwork <loomwork@example.com>'")
        return cls(host=parts.hostname, port=port,
                   user=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password is not None else None,
                   security=security, sender=sender, timeout=float(settings.smtp_timeout))

    @property
    def where(self) -> str:
        """host:port for messages (never the password)."""
        return f"{self.host}:{self.port}"


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def render(*, title: str, body: str | None, link: str | None, app_label: str | None,
           public_url: str, locale: str = DEFAULT_LOCALE) -> dict[str, str]:
    """The subject, plain text and HTML of one notification mail, in ``locale`` (the recipient's language)."""
    url = None
    if link:
        url = (public_url.rstrip("/") + link) if public_url and link.startswith("/") else link
    words = {key: text.get(locale) for key, text in TEXTS.items()}
    sent_by = words["sent_by_app"].replace("{app}", app_label) if app_label else words["sent_by"]
    values = {"title": _one_line(title), "body": body or "", "url": url, "app_label": app_label, "t": words,
              "sent_by": sent_by, "lang": locale}
    subject = _one_line(_plain.get_template("notification.subject").render(values))
    if len(subject) > MAX_SUBJECT:
        subject = subject[: MAX_SUBJECT - 1] + "…"
    text = _plain.get_template("notification.txt").render(values)
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    html = _env.get_template("notification.html").render(values)
    return {"subject": subject, "text": text, "html": html}


def build_message(config: MailConfig, payload: Mapping[str, Any], *, date: Any, message_id: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = str(payload["to"])
    message["Subject"] = str(payload["subject"])
    message["Date"] = format_datetime(date)
    domain = parseaddr(config.sender)[1].rsplit("@", 1)[-1] or None
    message["Message-ID"] = make_msgid(idstring=f"lw{message_id}", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(str(payload["text"]))
    message.add_alternative(str(payload["html"]), subtype="html")
    return message


def valid_address(address: str | None) -> bool:
    """A plain address an SMTP server can take (one @, no spaces or line breaks)."""
    if not address or any(c in address for c in " \t\r\n<>,;"):
        return False
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):
        return False
    return address.count("@") == 1


def send(config: MailConfig, message: EmailMessage) -> None:
    """Hand one message to the SMTP server; ``PermanentFailure`` on a 5xx refusal, other exceptions to retry."""
    context = ssl.create_default_context()
    try:
        if config.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                                    context=context)
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        with client:
            client.ehlo()
            if config.security == "starttls":
                if not client.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError(
                        f"{config.where} does not offer STARTTLS (LOOMWORK_SMTP_SECURITY=starttls refuses to send "
                        "in plain text)")
                client.starttls(context=context)
                client.ehlo()
            if config.user:
                client.login(config.user, config.password or "")
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{rcpt}: {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
                           for rcpt, (code, msg) in exc.recipients.items())
        if codes and all(code >= 500 for code in codes):
            raise PermanentFailure(f"recipient refused: {detail}") from None
        raise
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        if exc.smtp_code >= 500:
            raise PermanentFailure(f"{config.where} answered {exc.smtp_code} {text}") from None
        raise
