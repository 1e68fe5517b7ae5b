"""Notification mails through the outbox: off unless an SMTP server is configured; then a notification to a user
with an email address writes a mail in the same transaction, sent by the outbox job to a real SMTP server on
127.0.0.1 (aiosmtpd), retried with backoff while the server is down, dead after the last attempt, replayed."""
from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any, Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select, update

from automation_support import APP, create, publish, user_id
from engine.mail import TEXTS, MailConfig, MailSettingsError, render
from engine.outbox import outbox
from engine.scheduler import run_jobs
from engine.settings import Settings
from engine.tables import users
from rules_engine.automations import AutomationFailed
from tests.conftest import Api
from test_automations_webhooks import free_port, platform_with

EMAILS = {"boss": "boss@example.com", "fin_wang": "wang@example.com", "carol": "carol@example.com"}
# fin_wang has an address; boss too (both finance); dan has none


class Inbox:
    """aiosmtpd handler: keeps each message, refuses recipients listed in ``refuse`` with 550."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": message,
                              "login": getattr(session, "authenticated", False) and session.auth_data})
        return "250 OK"


class Server:
    def __init__(self, port: int | None = None, login: tuple[str, str] | None = None) -> None:
        self.inbox = Inbox()
        self.port = port or free_port()
        kwargs: dict[str, Any] = {}
        if login is not None:
            def check(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
                ok = isinstance(auth_data, LoginPassword) and \
                    (auth_data.login.decode(), auth_data.password.decode()) == login
                return AuthResult(success=ok, handled=False)
            kwargs = {"authenticator": check, "auth_require_tls": False}
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp() -> Iterator[Server]:
    server = Server()
    yield server
    server.stop()


NOTIFY = {"automations/tell.yaml": """
key: tell_finance
when: {record: created, form: order}
then:
  - notify:
      to: {roles: [finance], users: [dan]}
      title: "New order {{title}}"
      body: "Amount {{amount}}"
"""}


def mail_platform(database, tmp_path, clock, port: int, **overrides):  # type: ignore[no-untyped-def]
    settings = {"smtp_url": f"smtp://127.0.0.1:{port}", "smtp_security": "none",
                "mail_from": "Loomwork <loomwork@example.com>", "public_url": "https://lw.example.com/", **overrides}
    return platform_with(database, tmp_path, clock, **settings)


def with_addresses(plat) -> None:  # type: ignore[no-untyped-def]
    with plat.db.begin() as conn:
        for name, address in EMAILS.items():
            conn.execute(update(users).where(users.c.username == name).values(email=address))


def mails(plat) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    with plat.db.connect() as conn:
        return [dict(r) for r in conn.execute(select(outbox).where(outbox.c.kind == "mail")
                                              .order_by(outbox.c.id)).mappings()]


def deliver(plat) -> int:  # type: ignore[no-untyped-def]
    (result,) = run_jobs(plat, "outbox")
    assert result.error is None, result.error
    return result.handled


def test_mail_is_off_unless_an_smtp_server_is_configured(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    plat = platform_with(database, tmp_path, clock)
    assert plat.services["outbox"].mail is None
    publish(plat, tmp_path, NOTIFY)
    with_addresses(plat)
    create(plat, "order", {"title": "quiet", "amount": "5"})
    with plat.db.connect() as conn:
        assert conn.execute(select(outbox)).first() is None
    api = Api(plat)
    assert api.as_("fin_wang").get("/api/notifications").json()["unread"] == 1  # in-app is always on


def test_a_notification_mails_users_with_an_address_and_the_outbox_job_sends_it(database, tmp_path, clock, smtp) -> None:  # type: ignore[no-untyped-def]
    plat = mail_platform(database, tmp_path, clock, smtp.port)
    publish(plat, tmp_path, NOTIFY)
    with_addresses(plat)
    with plat.db.begin() as conn:  # boss reads English; wang keeps the default, Chinese
        conn.execute(update(users).where(users.c.username == "boss").values(locale="en"))
    order = create(plat, "order", {"title": "<script>alert(1)</script> & co", "amount": "12.50"})
    queued = mails(plat)
    # boss and fin_wang (finance) have addresses; dan (named) has none: in-app only
    assert sorted(m["url"] for m in queued) == ["mailto:boss@example.com", "mailto:wang@example.com"]
    assert {m["status"] for m in queued} == {"pending"} and smtp.inbox.messages == []
    assert Api(plat).as_("dan").get("/api/notifications").json()["unread"] == 1
    assert deliver(plat) == 2 and deliver(plat) == 0
    assert {m["status"] for m in mails(plat)} == {"delivered"}
    by_to = {m["to"][0]: m for m in smtp.inbox.messages}
    assert set(by_to) == {"boss@example.com", "wang@example.com"}
    got = by_to["wang@example.com"]
    message: EmailMessage = got["message"]
    assert got["from"] == "loomwork@example.com" and message["From"] == "Loomwork <loomwork@example.com>"
    assert message["To"] == "wang@example.com" and message["Auto-Submitted"] == "auto-generated"
    label = str(plat.apps[APP].spec.label)
    assert message["Subject"] == f"[{label}] New order <script>alert(1)</script> & co"
    link = f"https://lw.example.com/apps/{APP}/forms/order/{order['id']}"
    text = message.get_body(("plain",)).get_content()
    assert "New order <script>alert(1)</script> & co" in text and "Amount 12.50" in text and f"打开： {link}" in text
    assert f"由 Loomwork（{label}）发送。" in text and "Open it" not in text
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert f'href="{link}" style="color: #1565c0;">在门户中打开</a>' in html and 'lang="zh-CN"' in html
    # the same notification to a reader of English: the mail's own words in English, the app's label too
    english = by_to["boss@example.com"]["message"]
    en_label = plat.apps[APP].spec.label.get("en")
    assert english["Subject"] == f"[{en_label}] New order <script>alert(1)</script> & co"
    en_text = english.get_body(("plain",)).get_content()
    assert f"Open it: {link}" in en_text and f"Sent by Loomwork for {en_label}." in en_text and "打开" not in en_text
    assert ">Open it in the portal</a>" in english.get_body(("html",)).get_content()


def test_no_mail_when_the_change_rolls_back(database, tmp_path, clock, smtp) -> None:  # type: ignore[no-untyped-def]
    plat = mail_platform(database, tmp_path, clock, smtp.port)
    publish(plat, tmp_path, {**NOTIFY, "automations/fail.yaml": """
key: zero_months
when: {record: created, form: order}
then:
  - set: {months: 0}
"""})
    with_addresses(plat)
    with pytest.raises(AutomationFailed):
        create(plat, "order", {"title": "rolled back", "amount": "5", "months": 3})
    assert mails(plat) == []


def test_a_flow_style_batch_of_notifications_mails_too(database, tmp_path, clock, smtp) -> None:  # type: ignore[no-untyped-def]
    """Flows (task assigned, reminders, escalations) send through ``send_many``: the same mail path."""
    plat = mail_platform(database, tmp_path, clock, smtp.port)
    publish(plat, tmp_path, {})
    with_addresses(plat)
    carol, dan = user_id(plat, "carol"), user_id(plat, "dan")
    with plat.db.begin() as conn:
        plat.services["notifications"].send_many(conn, [
            {"user_id": carol, "kind": "reminder", "title": "Reminder · Approve: order 7",
             "link": "/api/flows/instances/3", "app": APP},
            {"user_id": dan, "kind": "task", "title": "Approve: order 8", "link": "/tasks/4", "app": APP}])
    assert [(m["url"], m["source"]) for m in mails(plat)] == [("mailto:carol@example.com", "notification:reminder")]
    assert deliver(plat) == 1
    (got,) = smtp.inbox.messages
    # the flow's API link becomes its page in the portal
    assert "https://lw.example.com/flows/instances/3" in got["message"].get_body(("plain",)).get_content()


def test_a_down_server_gets_retries_with_backoff_then_dead_letter_then_replay(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    port = free_port()  # nothing listens yet
    plat = mail_platform(database, tmp_path, clock, port, smtp_timeout=2.0)
    publish(plat, tmp_path, NOTIFY)
    with plat.db.begin() as conn:
        conn.execute(update(users).where(users.c.username == "boss").values(email="boss@example.com"))
    create(plat, "order", {"title": "retry me", "amount": "5"})
    assert deliver(plat) == 1
    (first,) = mails(plat)
    assert first["status"] == "pending" and first["attempts"] == 1
    assert "ConnectionRefusedError" in first["last_error"]
    assert (first["next_attempt_at"] - clock.now()).total_seconds() == 30
    assert deliver(plat) == 0  # not due yet
    clock.advance(seconds=30)
    assert deliver(plat) == 1 and mails(plat)[0]["attempts"] == 2
    assert (mails(plat)[0]["next_attempt_at"] - clock.now()).total_seconds() == 60
    clock.advance(seconds=60)
    assert deliver(plat) == 1
    dead = mails(plat)[0]
    assert dead["status"] == "dead" and dead["attempts"] == 3
    clock.advance(days=1)
    assert deliver(plat) == 0
    server = Server(port)
    try:
        api = Api(plat)
        listed = api.as_("admin").get("/api/admin/outbox", params={"status": "dead"}).json()["items"]
        assert [(m["id"], m["kind"], m["url"]) for m in listed] == [(dead["id"], "mail", "mailto:boss@example.com")]
        assert api.as_("boss").post(f"/api/admin/outbox/{dead['id']}/replay").status_code == 403
        assert api.as_("admin").post(f"/api/admin/outbox/{dead['id']}/replay").json()["status"] == "pending"
        assert deliver(plat) == 1
        assert mails(plat)[0]["status"] == "delivered" and mails(plat)[0]["attempts"] == 1
        (got,) = server.inbox.messages
        assert got["to"] == ["boss@example.com"] and got["message"]["Subject"].endswith("New order retry me")
    finally:
        server.stop()


def test_a_refused_recipient_is_dead_at_once(database, tmp_path, clock, smtp) -> None:  # type: ignore[no-untyped-def]
    plat = mail_platform(database, tmp_path, clock, smtp.port)
    publish(plat, tmp_path, NOTIFY)
    with_addresses(plat)
    smtp.inbox.refuse = {"boss@example.com"}
    create(plat, "order", {"title": "one refused", "amount": "5"})
    assert deliver(plat) == 2
    status = {m["url"]: (m["status"], m["attempts"], m["last_error"]) for m in mails(plat)}
    assert status["mailto:wang@example.com"] == ("delivered", 1, None)
    assert status["mailto:boss@example.com"][:2] == ("dead", 1)
    assert "550" in status["mailto:boss@example.com"][2] and "no such mailbox" in status["mailto:boss@example.com"][2]


def test_login_with_a_percent_encoded_password(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    server = Server(login=("lw@example.com", "p@ss:w/rd"))
    try:
        plat = mail_platform(database, tmp_path, clock, server.port,
                             smtp_url=f"smtp://lw%40example.com:p%40ss%3Aw%2Frd@127.0.0.1:{server.port}")
        publish(plat, tmp_path, NOTIFY)
        with_addresses(plat)
        create(plat, "order", {"title": "authenticated", "amount": "5"})
        assert deliver(plat) == 2
        assert {m["status"] for m in mails(plat)} == {"delivered"} and len(server.inbox.messages) == 2
        # a wrong password is a 535 refusal: dead at once, the error names the server but never the password
        plat.services["outbox"].mail = MailConfig.from_settings(Settings.from_env({
            "smtp_url": f"smtp://lw%40example.com:wrong@127.0.0.1:{server.port}", "smtp_security": "none",
            "mail_from": "loomwork@example.com"}, environ={}))
        create(plat, "order", {"title": "wrong password", "amount": "5"})
        deliver(plat)
        failed = [m for m in mails(plat) if m["status"] == "dead"]
        assert len(failed) == 2 and all("535" in m["last_error"] and "wrong" not in m["last_error"] for m in failed)
    finally:
        server.stop()


def test_starttls_is_required_by_default(database, tmp_path, clock, smtp) -> None:  # type: ignore[no-untyped-def]
    """The default security is starttls: a server that offers no STARTTLS gets no plain-text mail."""
    plat = mail_platform(database, tmp_path, clock, smtp.port, smtp_security="starttls")
    publish(plat, tmp_path, NOTIFY)
    with_addresses(plat)
    create(plat, "order", {"title": "secret", "amount": "5"})
    assert deliver(plat) == 2
    assert all(m["status"] == "pending" and "does not offer STARTTLS" in m["last_error"] for m in mails(plat))
    assert smtp.inbox.messages == []


@pytest.mark.parametrize(("settings", "message"), [
    ({"smtp_url": "http://mail.example.com", "mail_from": "a@example.com"}, "LOOMWORK_SMTP_URL is smtp://"),
    ({"smtp_url": "smtp://mail.example.com"}, "LOOMWORK_MAIL_FROM is required"),
    ({"smtp_url": "smtp://mail.example.com", "mail_from": "nobody"}, "LOOMWORK_MAIL_FROM is required"),
    ({"smtp_url": "smtp://mail.example.com", "mail_from": "a@example.com", "smtp_security": "tls"},
     "LOOMWORK_SMTP_SECURITY is one of starttls, ssl, none"),
    ({"smtp_url": "smtp://mail.example.com:99999", "mail_from": "a@example.com"}, "port"),
])
def test_unusable_mail_settings_stop_the_start_with_a_clear_message(database, tmp_path, clock, settings,
                                                                     message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MailSettingsError, match=message.replace("(", r"\(")):
        platform_with(database, tmp_path, clock, **settings)


def test_smtps_and_default_ports() -> None:
    def config(**values: Any) -> MailConfig:
        found = MailConfig.from_settings(Settings.from_env({"mail_from": "a@example.com", **values}, environ={}))
        assert found is not None
        return found

    assert (config(smtp_url="smtps://mail.example.com").security, config(smtp_url="smtps://mail.example.com").port) \
        == ("ssl", 465)
    assert (config(smtp_url="smtp://mail.example.com").security, config(smtp_url="smtp://mail.example.com").port) \
        == ("starttls", 587)
    assert config(smtp_url="smtp://u:p@mail.example.com:25", smtp_security="none").where == "mail.example.com:25"


def test_the_template_cuts_long_subjects_and_keeps_header_lines_single() -> None:
    rendered = render(title="line one\r\nBcc: victim@example.com " + "x" * 300, body=None, link=None,
                      app_label=None, public_url="")
    assert "\n" not in rendered["subject"] and "\r" not in rendered["subject"]
    assert len(rendered["subject"]) == 200 and rendered["subject"].endswith("…")
    assert "打开" not in rendered["text"] and "href" not in rendered["html"]  # no link, no "open it" line
    assert rendered["text"].rstrip().endswith(TEXTS["why"].get("zh-CN"))
