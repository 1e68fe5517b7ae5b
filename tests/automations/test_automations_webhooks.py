"""Webhooks through the outbox: written in the triggering transaction, signed, retried with backoff, dead after N
attempts, replayed by admins (API and CLI); the SSRF guard at load and at delivery. A real HTTP receiver on 127.0.0.1."""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from automation_support import APP, create, publish
from engine.errors import DefinitionErrors
from engine.outbox import Outbox, UnsafeAddress, app_secret, check_destination, outbox
from engine.platform import Platform
from engine.scheduler import run_jobs
from engine.settings import Settings
from rules_engine.automations import AutomationFailed
from tests.conftest import Api


class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and answers with ``status``."""

    def __init__(self, port: int = 0, status: int = 200) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = status
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(owner.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def platform_with(database, tmp_path, clock, **overrides) -> Platform:  # type: ignore[no-untyped-def]
    url, engine = database
    settings = Settings.from_env({"database_url": url, "var_dir": str(tmp_path / "var"),
                                  "attachments_dir": str(tmp_path / "var" / "files"),
                                  "apps_dir": str(tmp_path / "apps"), "secret_key": "test-secret-key",
                                  "webhook_backoff": 30.0, "webhook_max_attempts": 3, **overrides})
    p = Platform(settings, clock=clock, engine=engine)
    p.upgrade_db()
    return p


def hook(url: str, extra: str = "") -> dict[str, str]:
    return {"automations/hook.yaml": f"""
key: tell_erp
when: {{record: created, form: order}}
then:
  - webhook:
      url: {url}
{extra}"""}


def messages(platform) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    with platform.db.connect() as conn:
        return [dict(r) for r in conn.execute(select(outbox).order_by(outbox.c.id)).mappings()]


def deliver(platform) -> int:  # type: ignore[no-untyped-def]
    (result,) = run_jobs(platform, "outbox")
    assert result.error is None, result.error
    return result.handled


def test_a_webhook_is_written_with_its_change_and_delivered_signed(database, tmp_path, clock, receiver) -> None:  # type: ignore[no-untyped-def]
    plat = platform_with(database, tmp_path, clock, webhook_allow_hosts="127.0.0.1")
    publish(plat, tmp_path, hook(f"http://127.0.0.1:{receiver.port}/orders?src=lw",
                                 "      body: {order: id, title: title, amount: amount}\n"))
    order = create(plat, "order", {"title": "erp", "amount": "12.50"})
    assert [m["status"] for m in messages(plat)] == ["pending"] and receiver.requests == []
    assert deliver(plat) == 1 and deliver(plat) == 0
    (request,) = receiver.requests
    assert request["path"] == "/orders?src=lw"
    assert json.loads(request["body"]) == {"order": order["id"], "title": "erp", "amount": "12.50"}
    stamp = request["headers"]["X-Loomwork-Timestamp"]
    expected = hmac.new(app_secret(plat, APP).encode(), stamp.encode() + b"." + request["body"],
                        hashlib.sha256).hexdigest()
    assert request["headers"]["X-Loomwork-Signature"] == f"sha256={expected}"
    assert stamp == str(int(clock.now().timestamp()))
    assert messages(plat)[0]["status"] == "delivered" and messages(plat)[0]["attempts"] == 1


def test_no_message_when_the_change_rolls_back(database, tmp_path, clock, receiver) -> None:  # type: ignore[no-untyped-def]
    plat = platform_with(database, tmp_path, clock, webhook_allow_hosts="127.0.0.1")
    publish(plat, tmp_path, hook(f"http://127.0.0.1:{receiver.port}/", "  - set: {months: 0}\n"))
    with pytest.raises(AutomationFailed):
        create(plat, "order", {"title": "nope"})
    assert messages(plat) == []


def test_a_down_receiver_gets_retries_with_backoff_then_dead_letter_then_replay(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    plat = platform_with(database, tmp_path, clock, webhook_allow_hosts="127.0.0.1", webhook_timeout=2.0)
    publish(plat, tmp_path, hook(f"http://127.0.0.1:{port}/in"))
    create(plat, "order", {"title": "retry"})
    assert deliver(plat) == 1  # attempt 1: connection refused
    first = messages(plat)[0]
    assert first["status"] == "pending" and first["attempts"] == 1 and "Connect" in first["last_error"]
    assert (first["next_attempt_at"] - clock.now()).total_seconds() == 30
    assert deliver(plat) == 0  # not due yet
    clock.advance(seconds=30)
    assert deliver(plat) == 1  # attempt 2
    assert (messages(plat)[0]["next_attempt_at"] - clock.now()).total_seconds() == 60
    clock.advance(seconds=59)
    assert deliver(plat) == 0
    clock.advance(seconds=1)
    assert deliver(plat) == 1  # attempt 3: the last
    dead = messages(plat)[0]
    assert dead["status"] == "dead" and dead["attempts"] == 3
    clock.advance(days=1)
    assert deliver(plat) == 0  # dead messages wait for a person

    api = Api(plat)
    from engine.identity import sync_org

    with plat.db.begin() as conn:
        sync_org(conn, plat.apps[APP].spec.org, clock.now(), with_users=True)
    assert api.as_("carol").get("/api/admin/outbox").status_code == 403
    listed = api.as_("admin").get("/api/admin/outbox?status=dead").json()["items"]
    assert [(m["id"], m["status"], m["attempts"]) for m in listed] == [(dead["id"], "dead", 3)]
    receiver = Receiver(port=port)
    try:
        replayed = api.as_("admin").post(f"/api/admin/outbox/{dead['id']}/replay")
        assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
        assert api.as_("admin").post(f"/api/admin/outbox/{dead['id']}/replay").status_code == 400  # still pending
        assert deliver(plat) == 1 and deliver(plat) == 0
        assert len(receiver.requests) == 1 and messages(plat)[0]["status"] == "delivered"
    finally:
        receiver.close()


def test_the_cli_lists_and_replays_dead_messages(database, tmp_path, clock, backend, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    if backend != "sqlite":
        pytest.skip("the command line reaches the database by URL; the SQLite file is enough to show it")
    from engine.cli import main

    plat = platform_with(database, tmp_path, clock, webhook_allow_hosts="127.0.0.1", webhook_max_attempts=1)
    publish(plat, tmp_path, hook(f"http://127.0.0.1:{free_port()}/in"))
    create(plat, "order", {"title": "cli"})
    deliver(plat)
    message_id = messages(plat)[0]["id"]
    monkeypatch.setenv("LOOMWORK_DATABASE_URL", str(plat.db.url))
    monkeypatch.setenv("LOOMWORK_VAR_DIR", str(plat.settings.var_dir))
    monkeypatch.setenv("LOOMWORK_APPS_DIR", str(tmp_path / "apps"))
    assert main(["outbox", "list", "--status", "dead"]) == 0
    out = capsys.readouterr().out
    assert f"{message_id}" in out and "dead" in out
    assert main(["outbox", "replay", str(message_id)]) == 0
    assert messages(plat)[0]["status"] == "pending"


def test_private_address_literals_are_definition_errors_unless_allow_listed(database, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    plat = platform_with(database, tmp_path, clock)
    for url in ("http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest", "http://[::1]/x",
                "http://localhost:8080/x", "ftp://example.com/x"):
        with pytest.raises(DefinitionErrors) as caught:
            publish(plat, tmp_path, hook(url))
        (error,) = caught.value.errors
        assert error.file == "automations/hook.yaml" and error.line == 6 and error.path == "then[0].webhook.url"
    allowed = platform_with(database, tmp_path, clock, webhook_allow_hosts="10.1.2.3")
    publish(allowed, tmp_path, hook("http://10.1.2.3/x"))  # allow-listed: accepted


@pytest.mark.parametrize("address, why", [
    ("127.0.0.1", "loopback"), ("10.0.0.7", "private"), ("192.168.1.1", "private"), ("172.16.5.5", "private"),
    ("169.254.169.254", "link-local"), ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified"),
    ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"), ("fe80::1", "link-local"), ("100.64.0.1", "shared"),
    ("240.0.0.1", "reserved"),
])
def test_the_guard_refuses_internal_addresses_a_name_resolves_to(address: str, why: str) -> None:
    with pytest.raises(UnsafeAddress) as caught:
        check_destination("https://hooks.example.com/x", frozenset(), lambda host, port: [address])
    assert why in str(caught.value) and "hooks.example.com" in str(caught.value)
    assert check_destination("https://hooks.example.com/x", frozenset({"hooks.example.com"}),
                             lambda host, port: [address]) == address
    assert check_destination("https://hooks.example.com/x", frozenset(), lambda h, p: ["93.184.216.34"]) == \
        "93.184.216.34"


def test_delivery_checks_the_resolved_address_and_connects_to_it(database, tmp_path, clock, receiver) -> None:  # type: ignore[no-untyped-def]
    plat = platform_with(database, tmp_path, clock, webhook_allow_hosts="erp.internal")
    publish(plat, tmp_path, hook(f"http://erp.internal:{receiver.port}/in"))
    answers = {"erp.internal": ["127.0.0.1"], "evil.example": ["127.0.0.1"]}
    plat.services["outbox"] = Outbox(plat, resolve=lambda host, port: answers[host])
    create(plat, "order", {"title": "pinned"})
    assert deliver(plat) == 1
    (request,) = receiver.requests  # erp.internal is no real name: the request went to the checked address
    assert request["headers"]["Host"] == f"erp.internal:{receiver.port}"
    # a name that is not allow-listed and resolves (or re-resolves) to an internal address is refused at delivery
    with plat.db.begin() as conn:
        plat.services["outbox"].enqueue(conn, app=APP, source="test", url=f"http://evil.example:{receiver.port}/",
                                        payload={"x": 1})
    assert deliver(plat) == 1
    refused = messages(plat)[-1]
    assert refused["status"] == "pending" and "refused" in refused["last_error"] and len(receiver.requests) == 1

