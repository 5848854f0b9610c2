"""The subscription service over real HTTP: uvicorn on 127.0.0.1, httpx, and an aiosmtpd
server receiving the confirmation emails and the issues."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email
import email.policy
import hashlib
import logging
import mailbox
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from bs4 import BeautifulSoup

from newsdesk.mail.send import send_issues
from newsdesk.mail.store import Store
from newsdesk.mail.tokens import make_token
from newsdesk.rendering import IssueRendering
from newsdesk.service import SUBSCRIBE_MARKER, expand_subscribe_form, subscribe_form_html
from newsdesk.service.app import create_app
from newsdesk.service.limits import Limits, RateLimiter
from newsdesk.service.pages import STYLE
from newsdesk.service.server import server_config
from newsdesk.settings import EmailSettings, Settings, SmtpSettings

SECRET = b"test-secret-for-the-service"
SITE_URL = "https://letter.example.org/news/"
SITE_ORIGIN = "https://letter.example.org"
ONE_CLICK_BODY = b"List-Unsubscribe=One-Click"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


# -- a real SMTP server ---------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpts, m in self.messages if address in rcpts]

    def wait_for(self, address: str, count: int = 1) -> EmailMessage:
        wait_until(lambda: len(self.to(address)) >= count)
        return self.to(address)[count - 1]


@pytest.fixture
def smtpd() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


# -- the service on uvicorn -----------------------------------------------------------------


@dataclass
class Running:
    url: str
    port: int
    settings: Settings
    inbox: Inbox
    client: httpx.Client
    stop: Callable[[], None] = field(repr=False)

    def store(self) -> Store:
        return Store.open(self.settings.email.database)

    def status(self, address: str) -> str | None:
        with self.store() as store:
            sub = store.get(address)
            return sub.status if sub else None

    def sources(self, address: str) -> list[tuple[str | None, str, str]]:
        with self.store() as store:
            return [(e.old_status, e.new_status, e.source) for e in store.events(address)]

    def subscribe(
        self, address: str, name: str = "", *, origin: str | None = SITE_ORIGIN, **extra: str
    ) -> httpx.Response:
        headers = {"Origin": origin} if origin else {}
        data = {"email": address, "name": name, "website": "", **extra}
        return self.client.post(f"{self.url}/subscribe", data=data, headers=headers)

    def confirmation_link(self, address: str, count: int = 1) -> str:
        msg = self.inbox.wait_for(address, count)
        body = msg.get_body(("plain",)).get_content()
        match = re.search(r"(http://\S+/confirm/\S+)", body)
        assert match, body
        return match.group(1)

    def confirm(self, link: str, *, origin: str | None = "self", **headers: str) -> httpx.Response:
        """Follow a confirmation link as a person does: open the page, press its button
        (the form's fields, posted where its ``action`` says, from the service's origin)."""
        return press_confirm(
            self.client, link, origin=self.url if origin == "self" else origin, **headers
        )


def start_server(app, port: int, limits: Limits | None = None) -> Callable[[], None]:
    """Run ``app`` on uvicorn on 127.0.0.1:``port`` in a thread, configured as
    ``newsdesk serve`` runs it; returns a stop function."""
    config = server_config(app, limits or Limits(), port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)

    return stop


def make_settings(
    root: Path,
    service_url: str,
    smtp_port: int | None,
    *,
    site_url: str = SITE_URL,
    **email: object,
) -> Settings:
    smtp = SmtpSettings(host="127.0.0.1", port=smtp_port, security="none") if smtp_port else None
    return Settings(
        root=root,
        site_url=site_url,
        newsletter_name="Test Letter",
        email=EmailSettings(
            from_="Test Letter <letter@example.org>",
            service_url=service_url,
            unsubscribe_mailto="unsubscribe@example.org",
            list_id="Test Letter <test-letter.example.org>",
            database=root / ".newsdesk" / "newsdesk.sqlite3",
            outbox=root / ".newsdesk" / "outbox",
            live_check=False,
            smtp=smtp or SmtpSettings(),
            **email,  # type: ignore[arg-type]
        ),
    )


@pytest.fixture
def start(tmp_path: Path, smtpd) -> Iterator[Callable[..., Running]]:
    """Start the service (with the given limits, or over SMTP=False into the outbox)."""
    inbox, smtp_port = smtpd
    running: list[Running] = []

    def _start(
        limits: Limits | None = None,
        *,
        smtp: bool = True,
        smtp_at: int | None = None,
        **email_options: object,
    ) -> Running:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        smtp_port_used = (smtp_at or smtp_port) if smtp else None
        settings = make_settings(tmp_path, url, smtp_port_used, **email_options)
        Store.open(settings.email.database).close()  # as `newsdesk serve` does first
        app = create_app(settings, limits=limits, secret=SECRET)
        stop_server = start_server(app, port, limits)
        client = httpx.Client(timeout=10)

        def stop() -> None:
            client.close()
            stop_server()

        r = Running(url, port, settings, inbox, client, stop)
        running.append(r)
        return r

    yield _start
    for r in running:
        r.stop()


@pytest.fixture
def svc(start) -> Running:
    return start()


def page_text(response: httpx.Response) -> str:
    return " ".join(BeautifulSoup(response.text, "html.parser").get_text().split())


def press_confirm(
    client: httpx.Client, link: str, *, origin: str | None, **headers: str
) -> httpx.Response:
    """Open the confirmation page at ``link`` and press its one button."""
    page = client.get(link)
    assert page.status_code == 200, page.text
    form = BeautifulSoup(page.text, "html.parser").form
    assert form is not None and form["method"] == "post", page.text
    fields = {i["name"]: i.get("value", "") for i in form.find_all("input")}
    if origin:
        headers["Origin"] = origin
    return client.post(urljoin(link, form["action"]), data=fields, headers=headers)


def rendering(slug: str, title: str, day: int) -> IssueRendering:
    return IssueRendering(
        slug=slug,
        number=day,
        title=title,
        date=dt.date(2026, 1, day),
        author="",
        summary="",
        tags=(),
        source=f"newsletters/{slug}.md",
        url=f"{SITE_URL}issues/{slug}/",
        pdf_url=None,
        html=f"<p>{title} text.</p>",
        newsletter_name="Test Letter",
        site_url=SITE_URL,
    )


# -- the whole loop -------------------------------------------------------------------------


def test_subscribe_confirm_send_one_click_unsubscribe_loop(svc: Running) -> None:
    reader = "reader@example.org"
    response = svc.subscribe("Reader@Example.org", "Ada Reader")
    assert response.status_code == 200
    assert "Check your inbox" in page_text(response)
    wait_until(lambda: svc.status(reader) == "pending")  # recorded after the answer

    confirm = svc.inbox.wait_for(reader)
    assert confirm["Subject"] == "Confirm your subscription to Test Letter"
    assert confirm["To"].addresses[0].display_name == "Ada Reader"
    assert confirm["Auto-Submitted"] == "auto-generated"
    link = svc.confirmation_link(reader)
    assert link.startswith(f"{svc.url}/confirm/")

    response = svc.confirm(link)
    assert response.status_code == 200
    assert "You are subscribed" in page_text(response)
    assert svc.status(reader) == "active"
    assert svc.sources(reader) == [(None, "pending", "web"), ("pending", "active", "web")]
    # No issue was mailed yet: the welcome is a note.
    assert svc.inbox.wait_for(reader, 2)["Subject"] == "Welcome to Test Letter"
    # Following the link again changes nothing.
    response = svc.client.get(link)
    assert response.status_code == 200 and "already confirmed" in page_text(response)
    assert len(svc.sources(reader)) == 2

    # The sender mails an issue to the same SMTP server; someone else is subscribed too.
    with svc.store() as store:
        store.add("other@example.net", "Other", status="active", source="cli")
        report = send_issues(svc.settings, store, [rendering("first", "First", 1)], secret=SECRET)
    assert (report.sent, report.failed, report.pending) == (2, 0, 0)
    issue = svc.inbox.wait_for(reader, 3)
    assert issue["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    targets = re.findall(r"<([^>]+)>", str(issue["List-Unsubscribe"]))
    web = [t for t in targets if t.startswith("http")]
    assert len(web) == 1 and web[0].startswith(f"{svc.url}/unsubscribe/"), targets

    # A GET (a mail scanner following the link) changes nothing.
    response = svc.client.get(web[0])
    assert response.status_code == 200
    assert "Unsubscribe" in page_text(response)
    assert svc.status(reader) == "active"

    # Exactly RFC 8058's request: a POST with that body, no cookies, nothing else.
    with httpx.Client(timeout=10) as bare:
        response = bare.post(web[0], content=ONE_CLICK_BODY, headers=FORM)
        assert response.status_code == 200
        assert "set-cookie" not in response.headers
        assert svc.status(reader) == "unsubscribed"
        assert svc.sources(reader)[-1] == ("active", "unsubscribed", "one-click")
        # Idempotent: again 200, and nothing more recorded.
        assert bare.post(web[0], content=ONE_CLICK_BODY, headers=FORM).status_code == 200
        assert len(svc.sources(reader)) == 3
    # And a GET of the same URL afterwards still changes nothing.
    assert svc.client.get(web[0]).status_code == 200
    assert svc.status(reader) == "unsubscribed"
    assert len(svc.sources(reader)) == 3

    # The next issue skips them.
    with svc.store() as store:
        report = send_issues(
            svc.settings, store, [rendering("second", "Second", 2)], secret=SECRET, only="second"
        )
    assert report.sent == 1
    svc.inbox.wait_for("other@example.net", 2)
    assert len(svc.inbox.to(reader)) == 3  # the confirmation, the welcome, the first issue


def test_same_answer_whatever_the_status(svc: Running) -> None:
    with svc.store() as store:
        store.add("active@example.org", status="active", source="cli")
        store.add("pending@example.org", status="pending", source="web")
        store.add("gone@example.org", status="unsubscribed", source="cli")
        store.add("bounced@example.org", status="bounced", source="bounce")
    texts = set()
    for address in (
        "new@example.org",
        "active@example.org",
        "pending@example.org",
        "gone@example.org",
        "bounced@example.org",
    ):
        response = svc.subscribe(address)
        assert response.status_code == 200
        texts.add(page_text(response))
    assert len(texts) == 1
    for address in ("new", "pending", "gone", "bounced"):
        svc.inbox.wait_for(f"{address}@example.org")
    time.sleep(0.3)
    assert svc.inbox.to("active@example.org") == []
    # Who left stays away until they confirm.
    assert svc.status("gone@example.org") == "unsubscribed"
    assert svc.status("bounced@example.org") == "bounced"
    response = svc.confirm(svc.confirmation_link("gone@example.org"))
    assert response.status_code == 200
    assert svc.status("gone@example.org") == "active"
    assert svc.sources("gone@example.org")[-1] == ("unsubscribed", "active", "web")


def test_the_answer_does_not_wait_for_what_depends_on_the_address(svc: Running) -> None:
    """A new address and a known one get their answer after the same work: what differs
    (recording a new subscriber, the confirmation email) happens after the answer. Here
    the database is locked for writing, and still both answers come at once."""
    with svc.store() as store:
        store.add("known@example.org", status="active", source="cli")
    with svc.store() as locker:
        locker.conn.execute("BEGIN IMMEDIATE")
        elapsed = {}
        for address in ("known@example.org", "fresh@example.org"):
            started = time.monotonic()
            response = svc.subscribe(address)
            elapsed[address] = time.monotonic() - started
            assert response.status_code == 200
            assert "Check your inbox" in page_text(response)
        assert svc.status("fresh@example.org") is None  # not recorded yet: still locked
        locker.conn.execute("ROLLBACK")
    assert max(elapsed.values()) < 1.0, elapsed
    svc.inbox.wait_for("fresh@example.org")
    assert svc.status("fresh@example.org") == "pending"
    assert svc.inbox.to("known@example.org") == []


def test_an_old_confirmation_link_cannot_undo_an_unsubscribe(svc: Running) -> None:
    address = "fickle@example.org"
    svc.subscribe(address)
    link = svc.confirmation_link(address)
    assert svc.confirm(link).status_code == 200
    with svc.store() as store:
        store.set_status(address, "unsubscribed", "one-click")
    response = svc.client.get(link)
    assert response.status_code == 400
    assert "no longer valid" in page_text(response)
    response = svc.client.post(link, data={"action": "confirm"}, headers={"Origin": svc.url})
    assert response.status_code == 400
    assert "no longer valid" in page_text(response)
    assert svc.status(address) == "unsubscribed"


def test_the_unsubscribe_button_records_web(svc: Running) -> None:
    with svc.store() as store:
        sub = store.add("button@example.org", status="active", source="cli")
    url = f"{svc.url}/unsubscribe/{make_token(SECRET, 'unsubscribe', sub.id)}"
    page = BeautifulSoup(svc.client.get(url).text, "html.parser")
    forms = page.find_all("form")
    assert len(forms) == 1 and forms[0]["method"] == "post"
    assert len(forms[0].find_all("button")) == 1
    data = {i["name"]: i["value"] for i in forms[0].find_all("input")}
    response = svc.client.post(url, data=data, headers={"Origin": svc.url})
    assert response.status_code == 200
    assert "You are unsubscribed" in page_text(response)
    assert svc.sources("button@example.org")[-1] == ("active", "unsubscribed", "web")


def test_an_unsubscribe_post_without_a_known_body_changes_nothing(svc: Running) -> None:
    with svc.store() as store:
        sub = store.add("keep@example.org", status="active", source="cli")
    url = f"{svc.url}/unsubscribe/{make_token(SECRET, 'unsubscribe', sub.id)}"
    for body in (b"", b"List-Unsubscribe=Yes", b"other=1"):
        response = svc.client.post(url, content=body, headers=FORM)
        assert response.status_code == 400, body
    assert svc.status("keep@example.org") == "active"


# -- abuse ----------------------------------------------------------------------------------


def test_the_honeypot_answers_as_usual_and_does_nothing(svc: Running) -> None:
    response = svc.subscribe("bot@example.org", website="https://spam.example.net/")
    assert response.status_code == 200
    assert page_text(response) == page_text(svc.subscribe("human@example.org"))
    svc.inbox.wait_for("human@example.org")
    time.sleep(0.2)
    assert svc.status("bot@example.org") is None
    assert svc.inbox.to("bot@example.org") == []


def test_rate_limit_per_client_address(start) -> None:
    svc = start(Limits(per_client=(3, 60)))
    codes = [svc.subscribe(f"r{i}@example.org").status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    response = svc.subscribe("r9@example.org")
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "Too many requests" in page_text(response)
    assert svc.status("r3@example.org") is None
    assert svc.status("r9@example.org") is None


def test_rate_limit_per_email_address(start) -> None:
    svc = start(Limits(per_email=(2, 60)))
    assert svc.subscribe("twice@example.org").status_code == 200
    assert svc.subscribe("Twice@example.org").status_code == 200
    assert svc.subscribe("TWICE@EXAMPLE.ORG").status_code == 429
    # A +tag reaches the same mailbox: it gets no more confirmations.
    assert svc.subscribe("twice+1@example.org").status_code == 429
    assert svc.subscribe("Twice+other@Example.org").status_code == 429
    assert svc.status("twice+1@example.org") is None
    assert svc.subscribe("someone.else@example.org").status_code == 200
    svc.inbox.wait_for("twice@example.org", 2)
    time.sleep(0.2)
    assert len(svc.inbox.to("twice@example.org")) == 2


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("victim@example.org", "victim@example.org"),
        ("victim+1@example.org", "victim@example.org"),
        ("Victim+a+b@Example.ORG", "victim@example.org"),
        ("+only@example.org", "+only@example.org"),
    ],
)
def test_per_address_limits_count_the_mailbox(address: str, key: str) -> None:
    from newsdesk.service.limits import mailbox_key

    assert mailbox_key(address) == key


def test_rate_limiter_window_slides() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 10, clock=lambda: now[0])
    assert limiter.hit("a") == 0 and limiter.hit("a") == 0
    assert limiter.hit("a") == pytest.approx(10)
    assert limiter.hit("b") == 0
    now[0] = 5
    assert limiter.hit("a") == pytest.approx(5)
    now[0] = 10.5  # both hits at 0 left the window; refused hits were not counted
    assert limiter.hit("a") == 0 and limiter.hit("a") == 0
    assert limiter.hit("a") == pytest.approx(10)


def test_rate_limiter_memory_is_bounded() -> None:
    now = [0.0]
    limiter = RateLimiter(1, 10, max_keys=100, clock=lambda: now[0])
    for i in range(1000):
        limiter.hit(str(i))
    assert len(limiter._hits) <= 100
    assert limiter.hit("999") > 0  # the most recent keys are kept


def test_oversize_bodies_are_refused_and_store_nothing(svc: Running) -> None:
    big = {"email": "big@example.org", "name": "x" * 10_000, "website": ""}
    response = svc.client.post(f"{svc.url}/subscribe", data=big)
    assert response.status_code == 413
    assert "too large" in page_text(response).lower()

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        yield b"email=chunked%40example.org&name="
        for _ in range(20):
            yield b"y" * 1000

    response = svc.client.post(f"{svc.url}/subscribe", content=chunks(), headers=FORM)
    assert response.status_code == 413
    with svc.store() as store:
        assert store.subscribers() == []


def test_bad_content_length_is_refused(svc: Running) -> None:
    with socket.create_connection(("127.0.0.1", int(svc.url.rsplit(":", 1)[1]))) as s:
        s.sendall(
            b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Type: application/"
            b"x-www-form-urlencoded\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n"
        )
        reply = s.recv(200)
    assert reply.startswith(b"HTTP/1.1 413"), reply


@pytest.mark.parametrize(
    ("body", "ctype", "status"),
    [
        (b"name=Ada&website=", "application/x-www-form-urlencoded", 400),  # no email field
        (b"email=&name=Ada&website=", "application/x-www-form-urlencoded", 400),
        (b"email=not-an-address&website=", "application/x-www-form-urlencoded", 400),
        (b"email=a%40example.org&name=A%0d%0aBcc:x&website=", FORM["Content-Type"], 400),
        (b"email=a%40example.org&email=b%40example.org", FORM["Content-Type"], 400),
        (b"email=a%40example.org&name=%ff%fe", FORM["Content-Type"], 400),
        (b"email=a%40example.org&&&&=&%%%", FORM["Content-Type"], 400),
        (b'{"email": "a@example.org"}', "application/json", 415),
        (b"email=a@example.org", "text/plain", 415),
    ],
)
def test_malformed_sign_ups_get_4xx_and_store_nothing(
    svc: Running, body: bytes, ctype: str, status: int
) -> None:
    response = svc.client.post(
        f"{svc.url}/subscribe", content=body, headers={"Content-Type": ctype}
    )
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert BeautifulSoup(response.text, "html.parser").h1.get_text()
    with svc.store() as store:
        assert store.subscribers() == []


def test_an_invalid_address_shows_the_form_again(svc: Running) -> None:
    response = svc.subscribe("nobody@@example.org", "Ada")
    assert response.status_code == 400
    page = BeautifulSoup(response.text, "html.parser")
    assert page.find("input", {"name": "email"})["value"] == "nobody@@example.org"
    assert page.find("input", {"name": "name"})["value"] == "Ada"
    assert page.find("form")["action"] == "subscribe"


ENCODED_WORD_NAME = (
    "=?utf-8?q?x=0D=0ASubject:_Your_account_is_locked=0D=0AContent-Type:_text/html"
    "=0D=0A=0D=0A<a_href=3Dhttps://evil.example/>verify_now</a>?="
)


def test_a_name_with_an_encoded_word_is_refused_and_nothing_is_mailed(svc: Running) -> None:
    """The security review's attack: a sign-up name that decodes to CR LF and headers. It is
    refused with a message saying why; nothing is stored and no email goes out."""
    response = svc.subscribe("victim@example.org", ENCODED_WORD_NAME)
    assert response.status_code == 400
    assert "encoded word" in page_text(response)
    time.sleep(0.5)
    assert svc.status("victim@example.org") is None
    assert svc.inbox.to("victim@example.org") == []


CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]")


@pytest.mark.parametrize(
    "body",
    [
        "email=a%1b%5b31m%07%40example.org&name=Ann%00%0d%0aX-Evil%3a+1&website=",
        "email=ok%40example.org&name=%e2%80%aeevil%c2%9b&website=",  # bidi, C1
        "email=x%40example.org&e%07=1&e%07=2",  # a field name is echoed
        "email=" + "%01" * 10 + "&name=",
    ],
)
def test_pages_never_echo_control_characters(svc: Running, body: str) -> None:
    response = svc.client.post(
        f"{svc.url}/subscribe", content=body.encode(), headers={**FORM, "Origin": SITE_ORIGIN}
    )
    assert response.status_code in (200, 400)
    assert not CONTROL.search(response.text), repr(response.text)
    soup = BeautifulSoup(response.text, "html.parser")
    shown = soup.get_text() + "".join(str(i.get("value", "")) for i in soup.find_all("input"))
    assert not CONTROL.search(shown)
    # The stylesheet still matches the hash the Content-Security-Policy allows.
    assert soup.style is not None and soup.style.string == STYLE


def test_foreign_origins_are_refused(svc: Running) -> None:
    for origin in ("https://evil.example.net", "null", "https://letter.example.org.example.net"):
        response = svc.subscribe("victim@example.org", origin=origin)
        assert response.status_code == 403, origin
    assert svc.status("victim@example.org") is None
    # The site's origin, the service's own, and non-browser clients (no Origin) may.
    assert svc.subscribe("a@example.org", origin=SITE_ORIGIN).status_code == 200
    assert svc.subscribe("b@example.org", origin=svc.url).status_code == 200
    assert svc.subscribe("c@example.org", origin=None).status_code == 200


def test_bad_tokens_get_a_clear_400(svc: Running) -> None:
    svc.subscribe("tok@example.org")
    link = svc.confirmation_link("tok@example.org")
    token = link.rsplit("/", 1)[1]
    payload, mac = token.split(".")
    tampered = f"{payload}.{'b' if mac[0] == 'a' else 'a'}{mac[1:]}"
    with svc.store() as store:
        sub = store.get("tok@example.org")
        assert sub is not None
    expired = make_token(SECRET, "confirm", f"{sub.id}:1", expires_at=time.time() - 1)
    foreign = make_token(b"another secret", "confirm", f"{sub.id}:1", expires_at=time.time() + 99)
    wrong_purpose = make_token(SECRET, "unsubscribe", sub.id)
    for bad in (tampered, expired, foreign, wrong_purpose, "x", "a.b.c", "z" * 5000):
        response = svc.client.get(f"{svc.url}/confirm/{bad}")
        assert response.status_code == 400, bad
        assert "not valid" in page_text(response)
    assert svc.status("tok@example.org") == "pending"

    with svc.store() as store:
        active = store.add("stay@example.org", status="active", source="cli")
    good = make_token(SECRET, "unsubscribe", active.id)
    payload, mac = good.split(".")
    for bad in (
        f"{payload}.{mac[::-1]}",
        make_token(SECRET, "confirm", active.id),
        make_token(SECRET, "bounce", active.id),
    ):
        assert svc.client.get(f"{svc.url}/unsubscribe/{bad}").status_code == 400
        response = svc.client.post(
            f"{svc.url}/unsubscribe/{bad}", content=ONE_CLICK_BODY, headers=FORM
        )
        assert response.status_code == 400
    assert svc.status("stay@example.org") == "active"
    # The token's case does not matter (mail systems may change it).
    response = svc.client.post(
        f"{svc.url}/unsubscribe/{good.upper()}", content=ONE_CLICK_BODY, headers=FORM
    )
    assert response.status_code == 200
    assert svc.status("stay@example.org") == "unsubscribed"


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("PUT", "/subscribe", 405, "GET, HEAD, POST"),
        ("DELETE", "/subscribe", 405, "GET, HEAD, POST"),
        ("PUT", "/confirm/abc", 405, "GET, HEAD, POST"),
        ("DELETE", "/unsubscribe/abc", 405, "GET, HEAD, POST"),
        ("POST", "/healthz", 405, "GET, HEAD"),
        ("GET", "/nothing-here", 404, None),
        ("GET", "/subscribe/", 404, None),  # no redirect, wherever Host points
        ("POST", "/healthz/", 404, None),
    ],
)
def test_wrong_methods_and_paths(
    svc: Running, method: str, path: str, status: int, allow: str | None
) -> None:
    response = svc.client.request(method, f"{svc.url}{path}", headers={"Host": "evil.example.net"})
    assert response.status_code == status
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    allowed = response.headers.get("allow")
    assert (set(allowed.split(", ")) if allowed else None) == (
        set(allow.split(", ")) if allow else None
    )
    if status == 405:
        assert "Method not allowed" in page_text(response)


def test_security_headers_on_every_answer(svc: Running) -> None:
    responses = [
        svc.client.get(f"{svc.url}/subscribe"),
        svc.client.get(f"{svc.url}/healthz"),
        svc.client.get(f"{svc.url}/confirm/bad"),
        svc.client.put(f"{svc.url}/subscribe"),
        svc.client.post(f"{svc.url}/subscribe", content=b"x" * 20_000, headers=FORM),
    ]
    assert [r.status_code for r in responses] == [200, 200, 400, 405, 413]
    # The sign-up form's page: same-origin, else browsers post it with `Origin: null`.
    policies = ["same-origin", "no-referrer", "no-referrer", "no-referrer", "no-referrer"]
    for r, policy in zip(responses, policies, strict=True):
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == policy
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["cache-control"] == "no-store"
        assert "set-cookie" not in r.headers


def test_healthz(svc: Running) -> None:
    response = svc.client.get(f"{svc.url}/healthz")
    assert (response.status_code, response.text) == (200, "ok\n")


def test_the_file_limit_fits_the_connections() -> None:
    import resource

    from newsdesk.service.server import ensure_file_limit

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        assert ensure_file_limit(10) == 10
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == soft  # high enough already
        if hard != resource.RLIM_INFINITY:
            fits = ensure_file_limit(hard * 2)
            assert fits < hard * 2
            assert fits + 64 <= resource.getrlimit(resource.RLIMIT_NOFILE)[0] <= hard
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# -- the database: never replaced, never guessed ---------------------------------------------


def test_a_database_moved_away_is_not_replaced_and_nobody_is_told_they_left(
    svc: Running, caplog: pytest.LogCaptureFixture
) -> None:
    database = svc.settings.email.database
    with svc.store() as store:
        sub = store.add("kept@example.org", status="active", source="cli")
    unsubscribe = f"{svc.url}/unsubscribe/{make_token(SECRET, 'unsubscribe', sub.id)}"
    confirm = make_token(SECRET, "confirm", f"{sub.id}:1", expires_at=time.time() + 99)
    assert svc.client.get(f"{svc.url}/healthz").status_code == 200

    moved = database.with_name("moved.sqlite3")
    database.rename(moved)
    caplog.set_level(logging.ERROR, logger="newsdesk.service")
    health = svc.client.get(f"{svc.url}/healthz")
    assert (health.status_code, health.text) == (503, "database unavailable\n")
    answers = [
        svc.client.get(unsubscribe),
        svc.client.post(unsubscribe, content=ONE_CLICK_BODY, headers=FORM),
        svc.client.post(unsubscribe, data={"action": "unsubscribe"}),
        svc.subscribe("new@example.org"),
        svc.client.get(f"{svc.url}/confirm/{confirm}"),
        svc.client.post(f"{svc.url}/confirm/{confirm}", data={"action": "confirm"}),
    ]
    for response in answers:
        assert response.status_code == 503
        assert response.headers["retry-after"] == "60"
        text = page_text(response)
        assert "Temporarily unavailable" in text and "nothing was changed" in text
        assert "Not on the list" not in text and "unsubscribed" not in text
    assert not database.exists()  # no empty database took its place
    assert svc.inbox.messages == []
    # Logged, once a minute rather than once a request.
    assert caplog.text.count("database unavailable, answering 503") == 1
    assert "no database file" in caplog.text

    moved.rename(database)
    assert svc.client.get(f"{svc.url}/healthz").status_code == 200
    response = svc.client.post(unsubscribe, content=ONE_CLICK_BODY, headers=FORM)
    assert response.status_code == 200
    assert "You are unsubscribed" in page_text(response)
    assert svc.sources("kept@example.org") == [
        (None, "active", "cli"),
        ("active", "unsubscribed", "one-click"),
    ]


def test_healthz_fails_for_a_damaged_or_empty_database(svc: Running) -> None:
    database = svc.settings.email.database
    with svc.store() as store:
        for n in range(200):
            store.add(f"reader{n}@example.org", status="active", source="cli")
    assert svc.client.get(f"{svc.url}/healthz").status_code == 200
    good = database.read_bytes()
    page_size = int.from_bytes(good[16:18], "big")
    # Keep the header and the schema (page 1); scramble the pages after it.
    damaged = good[:page_size] + bytes(range(256)) * ((len(good) - page_size) // 256)
    database.write_bytes(damaged)
    health = svc.client.get(f"{svc.url}/healthz")
    assert health.status_code == 503
    assert health.text in ("database damaged\n", "database unavailable\n")
    assert svc.subscribe("while.damaged@example.org").status_code == 503

    database.write_bytes(b"")  # an empty file is not a newsdesk database either
    assert svc.client.get(f"{svc.url}/healthz").status_code == 503
    assert database.stat().st_size == 0  # and the service did not fill it in

    database.write_bytes(good)
    assert svc.client.get(f"{svc.url}/healthz").status_code == 200


def test_the_app_never_creates_the_database(tmp_path: Path) -> None:
    from newsdesk.errors import NewsdeskError

    settings = make_settings(tmp_path, "https://s.example.org", None)
    with pytest.raises(NewsdeskError, match="no database file") as info:
        create_app(settings, secret=SECRET)
    assert info.value.path == ".newsdesk/newsdesk.sqlite3"
    assert not settings.email.database.exists()


# -- connections: idle and slow clients --------------------------------------------------


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed ``sock`` (reading whatever answer it sent first)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        while data := sock.recv(65536, socket.MSG_DONTWAIT):
            del data
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def test_idle_sockets_do_not_lock_out_healthz_or_sign_ups(svc: Running) -> None:
    sockets = [socket.create_connection(("127.0.0.1", svc.port)) for _ in range(250)]
    try:
        started = time.monotonic()
        with httpx.Client(timeout=2) as fresh:
            response = fresh.get(f"{svc.url}/healthz")
            elapsed = time.monotonic() - started
            assert (response.status_code, response.text) == (200, "ok\n")
            assert elapsed < 2
            assert fresh.get(f"{svc.url}/subscribe").status_code == 200
        assert svc.subscribe("busy@example.org").status_code == 200
        wait_until(lambda: svc.status("busy@example.org") == "pending")
    finally:
        for s in sockets:
            s.close()


def test_silent_and_trickling_connections_are_closed(start) -> None:
    svc = start(Limits(idle_timeout=0.5, request_timeout=1.5))
    head = (
        b"POST /subscribe HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 40\r\n\r\n"
    )

    def connect() -> socket.socket:
        return socket.create_connection(("127.0.0.1", svc.port))

    silent, trickle_head, trickle_body, kept_alive = (connect() for _ in range(4))
    trickle_body.sendall(head)
    kept_alive.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"200 OK" in kept_alive.recv(65536)
    started = time.monotonic()
    closed_at: dict[str, float] = {}
    names = {
        "silent": silent,
        "trickle_head": trickle_head,
        "trickle_body": trickle_body,
        "kept_alive": kept_alive,
    }
    try:
        while len(closed_at) < len(names) and time.monotonic() - started < 5:
            for sock in (trickle_head, trickle_body):  # one byte every 0.1 s
                with contextlib.suppress(OSError):
                    sock.sendall(b"X")
            for name, sock in names.items():
                if name not in closed_at and closed_by_server(sock):
                    closed_at[name] = time.monotonic() - started
            time.sleep(0.1)
    finally:
        for sock in names.values():
            sock.close()
    assert set(closed_at) == set(names), closed_at
    # Silence ends a connection after the idle timeout, before and between requests...
    assert closed_at["silent"] < 1.4
    assert closed_at["kept_alive"] < 1.4
    # ...and a request that trickles in, a byte at a time, after the request timeout.
    for name in ("trickle_head", "trickle_body"):
        assert 1.0 < closed_at[name] < 2.6, closed_at
    # The service still answers, and the half-sent sign-up stored nothing.
    assert svc.client.get(f"{svc.url}/healthz").status_code == 200
    with svc.store() as store:
        assert store.subscribers() == []


def test_at_the_connection_limit_the_longest_waiting_are_closed(start) -> None:
    svc = start(Limits(max_connections=20))
    sockets = [socket.create_connection(("127.0.0.1", svc.port)) for _ in range(30)]
    try:
        with httpx.Client(timeout=2) as fresh:
            assert fresh.get(f"{svc.url}/healthz").status_code == 200
        wait_until(lambda: all(closed_by_server(s) for s in sockets[:10]), timeout=2)
        assert not any(closed_by_server(s) for s in sockets[-10:])
    finally:
        for s in sockets:
            s.close()


def test_without_smtp_the_confirmation_goes_to_the_outbox(start) -> None:
    svc = start(smtp=False)
    assert svc.subscribe("outbox@example.org").status_code == 200
    outbox = svc.settings.email.outbox
    wait_until(lambda: any((outbox / "new").glob("*")))
    box = mailbox.Maildir(outbox, create=False)
    assert len(box) == 1
    msg = email.message_from_bytes(box.get_bytes(box.keys()[0]), policy=email.policy.default)
    assert msg["To"] == "outbox@example.org"
    assert f"{svc.url}/confirm/" in msg.get_body(("plain",)).get_content()


def test_a_failed_confirmation_is_logged_and_the_answer_is_the_same(
    start, caplog: pytest.LogCaptureFixture
) -> None:
    svc = start(smtp_at=free_port())  # nothing listens there
    with caplog.at_level(logging.ERROR, logger="newsdesk.service"):
        response = svc.subscribe("unlucky@example.org")
        assert response.status_code == 200
        assert "Check your inbox" in page_text(response)
        wait_until(lambda: "not delivered" in caplog.text)
    assert "cannot connect" in caplog.text
    assert "unlucky@example.org" not in caplog.text  # no addresses in the log
    assert svc.status("unlucky@example.org") == "pending"


def test_configuration_errors_are_reported_at_start(tmp_path: Path) -> None:
    from newsdesk.errors import NewsdeskError

    settings = make_settings(tmp_path, "", None)
    with pytest.raises(NewsdeskError, match="service_url"):
        create_app(settings, secret=SECRET)
    (tmp_path / "file").write_text("not a folder")
    settings = make_settings(tmp_path, "https://s.example.org", None)
    settings = dataclasses.replace(
        settings,
        email=dataclasses.replace(settings.email, database=tmp_path / "file" / "db.sqlite3"),
    )
    with pytest.raises(NewsdeskError, match="cannot open the database") as info:
        create_app(settings, secret=SECRET)
    assert info.value.path == "file/db.sqlite3"


# -- a subscriber's whole life: confirmation, welcome, consent, coming back -----------------


def messages_of(inbox: Inbox, address: str, slug: str) -> list[EmailMessage]:
    """The copies of issue ``slug`` that ``address`` received."""
    return [m for m in inbox.to(address) if m["X-Newsdesk-Issue"] == slug]


def publish(svc: Running, *renderings: IssueRendering) -> None:
    """Renderings of the last build, as ``mkdocs build`` leaves them for the service."""
    from newsdesk.rendering import write_renderings

    write_renderings(svc.settings.state_dir, list(renderings))


def test_a_get_of_the_confirmation_link_changes_nothing(svc: Running) -> None:
    address = "scanned@example.org"
    svc.subscribe(address)
    link = svc.confirmation_link(address)
    for _ in range(3):  # a link scanner, a preview, the person: GET and HEAD only show
        page = svc.client.get(link)
        assert page.status_code == 200
        assert "Confirm your subscription" in page_text(page)
        assert svc.client.head(link).status_code == 200
    form = BeautifulSoup(page.text, "html.parser").form
    assert form["method"] == "post" and form["action"] == link.rsplit("/", 1)[1]
    assert not BeautifulSoup(page.text, "html.parser").find("script")
    assert page.headers["referrer-policy"] == "same-origin"
    assert BeautifulSoup(page.text, "html.parser").footer.a["rel"] == ["noreferrer"]
    time.sleep(0.3)
    assert svc.status(address) == "pending"
    assert len(svc.sources(address)) == 1
    assert len(svc.inbox.to(address)) == 1  # the confirmation; no welcome
    # A POST without the button's field changes nothing either.
    response = svc.client.post(link, data={"consent": "1"}, headers={"Origin": svc.url})
    assert response.status_code == 400
    assert svc.status(address) == "pending"
    # The button confirms, once.
    response = svc.confirm(link)
    assert response.status_code == 200 and "You are subscribed" in page_text(response)
    assert svc.status(address) == "active"
    assert svc.inbox.wait_for(address, 2)["Subject"] == "Welcome to Test Letter"
    assert "already confirmed" in page_text(svc.client.get(link))
    again = svc.client.post(link, data={"action": "confirm"}, headers={"Origin": svc.url})
    assert "already confirmed" in page_text(again)
    time.sleep(0.3)
    assert len(svc.inbox.to(address)) == 2  # one welcome
    assert len(svc.sources(address)) == 2


def test_a_cross_origin_confirmation_is_refused(svc: Running) -> None:
    address = "victim@example.org"
    svc.subscribe(address)
    link = svc.confirmation_link(address)
    body = {"action": "confirm", "consent": "1"}
    for headers in (
        {"Origin": "https://evil.example.net"},
        {"Origin": "null"},
        {"Origin": "https://letter.example.org.example.net"},
        {"Referer": "https://evil.example.net/page"},  # no Origin: the Referer's counts
    ):
        response = svc.client.post(link, data=body, headers=headers)
        assert response.status_code == 403, headers
        assert "Forbidden" in page_text(response)
    assert svc.status(address) == "pending"
    # From the service's own page (Origin, or only a Referer) it is accepted.
    response = svc.client.post(link, data=body, headers={"Referer": link})
    assert response.status_code == 200
    assert svc.status(address) == "active"


def test_welcome_latest_then_send_one_copy_of_each_issue(svc: Running) -> None:
    first, second = rendering("first", "First", 1), rendering("second", "Second", 2)
    with svc.store() as store:
        store.add("early@example.net", status="active", source="cli")
        assert send_issues(svc.settings, store, [first], secret=SECRET).issues[0].sent == 1
    # The second issue is built but not mailed yet: the welcome sends the newest one that
    # was mailed, and leaves the second to `send`.
    publish(svc, first, second)
    reader = "new.reader@example.org"
    svc.subscribe(reader, "New Reader")
    assert svc.confirm(svc.confirmation_link(reader)).status_code == 200
    welcome = svc.inbox.wait_for(reader, 2)
    assert welcome["X-Newsdesk-Issue"] == "first"
    assert welcome["Subject"] == "Test Letter #1: First"
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain = welcome.get_body(("plain",)).get_content()
    assert plain.startswith("Welcome to Test Letter! Your subscription is confirmed.")
    html = welcome.get_body(("html",)).get_content()
    assert "Welcome to Test Letter!" in html and html.index("Welcome") < html.index("First text")
    with svc.store() as store:
        sub = store.get(reader)
        assert sub is not None

        def welcome_row() -> tuple[str, str]:
            return tuple(
                store.conn.execute(
                    "SELECT state, error FROM deliveries WHERE issue_slug = 'first'"
                    " AND subscriber_id = ?",
                    (sub.id,),
                ).fetchone()
            )

        wait_until(lambda: welcome_row()[0] != "sending")  # recorded once the server took it
        assert welcome_row() == ("sent", "")
        report = send_issues(svc.settings, store, [first, second], secret=SECRET)
        assert [(i.slug, i.sent) for i in report.issues] == [("second", 2)]
        again = send_issues(svc.settings, store, [first, second], secret=SECRET)
        assert again.issues == []
        assert (
            "already sent"
            in send_issues(svc.settings, store, [first, second], secret=SECRET, only="first").notes[
                0
            ]
        )
    svc.inbox.wait_for(reader, 3)
    time.sleep(0.2)
    for address in (reader, "early@example.net"):
        assert len(messages_of(svc.inbox, address, "first")) == 1, address
        assert len(messages_of(svc.inbox, address, "second")) == 1, address


def test_welcome_note_and_off(start) -> None:
    svc = start(welcome="note")
    publish(svc, rendering("first", "First", 1))
    with svc.store() as store:
        store.add("early@example.net", status="active", source="cli")
        send_issues(svc.settings, store, [rendering("first", "First", 1)], secret=SECRET)
    svc.subscribe("noted@example.org")
    svc.confirm(svc.confirmation_link("noted@example.org"))
    note = svc.inbox.wait_for("noted@example.org", 2)
    assert note["Subject"] == "Welcome to Test Letter" and note["X-Newsdesk-Issue"] is None
    text = note.get_body(("plain",)).get_content()
    assert f"{SITE_URL}issues/" in text and f"{svc.url}/unsubscribe/" in text
    assert note["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    svc.stop()

    quiet = start(welcome="off")
    quiet.subscribe("quiet@example.org")
    quiet.confirm(quiet.confirmation_link("quiet@example.org"))
    time.sleep(0.5)
    assert quiet.status("quiet@example.org") == "active"
    assert len(quiet.inbox.to("quiet@example.org")) == 1  # the confirmation only


class DropAfterData(Inbox):
    """Keeps each issue it receives, then drops the connection instead of answering: the
    sender cannot know that the message arrived."""

    async def handle_DATA(self, server, session, envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if b"X-Newsdesk-Issue" in envelope.content:
            server.transport.close()
        return answer


def interrupted_issue(svc: Running, issue: IssueRendering) -> None:
    """``issue`` was started for the active subscribers and the run stopped before any
    delivery: the next `send` continues it."""
    with svc.store() as store:
        store.add("early@example.net", status="active", source="cli")
        store.start_issue(issue.slug, issue.number, issue.title, issue.date.isoformat(), issue.url)


def test_a_welcome_the_server_may_have_taken_is_never_sent_again(
    start, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = DropAfterData()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        svc = start(smtp_at=port)
        svc.inbox = inbox
        first = rendering("first", "First", 1)
        publish(svc, first)
        interrupted_issue(svc, first)
        reader = "dropped@example.org"
        with caplog.at_level(logging.ERROR, logger="newsdesk.service"):
            svc.subscribe(reader)
            svc.confirm(svc.confirmation_link(reader))
            wait_until(lambda: "welcome for subscriber" in caplog.text)
        assert len(messages_of(inbox, reader, "first")) == 1  # it did arrive
        with svc.store() as store:
            sub = store.get(reader)
            assert sub is not None
            state, error = store.conn.execute(
                "SELECT state, error FROM deliveries WHERE subscriber_id = ?", (sub.id,)
            ).fetchone()
            assert state == "failed" and "not sent again" in error
        controller.stop()
        controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
        controller.start()
        svc.inbox = controller.handler
        with svc.store() as store:
            report = send_issues(svc.settings, store, [first], secret=SECRET)
        assert [(i.slug, i.sent) for i in report.issues] == [("first", 1)]
        assert svc.inbox.to(reader) == []  # the continued issue went to the other only
        assert len(svc.inbox.to("early@example.net")) == 1
    finally:
        controller.stop()


class Crash(BaseException):
    """The process dies (kill -9, power cut) right after the server took the message."""


def test_a_welcome_interrupted_by_a_crash_is_never_sent_twice(svc: Running) -> None:
    from newsdesk.mail.send import SmtpTransport
    from newsdesk.service.welcome import welcome

    first = rendering("first", "First", 1)
    interrupted_issue(svc, first)
    with svc.store() as store:
        sub = store.add("crash@example.org", status="active", source="web")

    class CrashAfterSending(SmtpTransport):
        def send(self, envelope_from: str, recipient: str, data: bytes) -> None:
            super().send(envelope_from, recipient, data)
            with svc.store() as store:  # 'sending' was committed before the hand-over
                row = store.conn.execute(
                    "SELECT state, error FROM deliveries WHERE subscriber_id = ?", (sub.id,)
                ).fetchone()
                assert tuple(row) == ("sending", "welcome in flight")
            raise Crash

    with pytest.raises(Crash):
        welcome(
            svc.settings,
            SECRET,
            sub.id,
            renderings=[first],
            make_transport=lambda: CrashAfterSending(svc.settings.email.smtp),
        )
    assert len(messages_of(svc.inbox, sub.email, "first")) == 1
    # The next run continues the issue, and does not send the welcomed copy again.
    with svc.store() as store:
        report = send_issues(svc.settings, store, [first], secret=SECRET)
        assert [(i.slug, i.sent) for i in report.issues] == [("first", 1)]
        state, error = store.conn.execute(
            "SELECT state, error FROM deliveries WHERE subscriber_id = ?", (sub.id,)
        ).fetchone()
        assert state == "failed" and "may have arrived" in error
        assert store.issue("first").state == "sent"
    svc.inbox.wait_for("early@example.net")
    time.sleep(0.2)
    assert len(messages_of(svc.inbox, sub.email, "first")) == 1
    # A second welcome (say the link's POST was replayed) does not send it either.
    assert welcome(svc.settings, SECRET, sub.id, renderings=[first]) == "note"
    assert len(messages_of(svc.inbox, sub.email, "first")) == 1


def test_without_smtp_the_welcome_is_a_rehearsal_in_the_outbox(start) -> None:
    svc = start(smtp=False)
    first = rendering("first", "First", 1)
    publish(svc, first)
    with svc.store() as store:
        store.add("early@example.net", status="active", source="cli")
        assert send_issues(svc.settings, store, [first], secret=SECRET).issues[0].outbox == 1
    outbox = svc.settings.email.outbox
    svc.subscribe("rehearsed@example.org")
    wait_until(lambda: len(list((outbox / "new").glob("*"))) == 2)
    box = mailbox.Maildir(outbox, create=False)
    confirm_mail = next(
        email.message_from_bytes(box.get_bytes(k), policy=email.policy.default)
        for k in box.iterkeys()
        if b"/confirm/" in box.get_bytes(k)
    )
    link = re.search(r"http://\S+/confirm/\S+", confirm_mail.get_body(("plain",)).get_content())
    assert link
    svc.confirm(link.group(0))
    wait_until(lambda: len(list((outbox / "new").glob("*"))) == 3)
    with svc.store() as store:
        wait_until(lambda: store.outbox_counts() == {"first": 2})  # recorded after writing
        assert store.conn.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0
        assert store.issues() == []
        report = send_issues(svc.settings, store, [first], secret=SECRET)
        assert report.issues[0].outbox == 0  # every active subscriber has a copy
    assert len(list((outbox / "new").glob("*"))) == 3


def test_consent_is_recorded_at_sign_up_and_confirmation(svc: Running) -> None:
    from newsdesk.service.pages import CONSENT_TEXT

    address = "consenting@example.org"
    agent = "Mozilla/5.0 (X11; Linux) " + "x" * 500
    response = svc.client.post(
        f"{svc.url}/subscribe",
        data={"email": address, "website": "", "page": "site:subscribe.md", "consent": "1"},
        headers={"Origin": SITE_ORIGIN, "User-Agent": agent, "X-Forwarded-For": "192.0.2.7"},
    )
    assert response.status_code == 200
    link = svc.confirmation_link(address)
    svc.confirm(link, **{"User-Agent": "Reader/1.0", "X-Forwarded-For": "2001:db8::7"})
    with svc.store() as store:
        consents = store.consents(address)
    digest = hashlib.sha256(CONSENT_TEXT.encode()).hexdigest()
    assert [c.kind for c in consents] == ["signup", "confirm"]
    signup, confirmed = consents
    assert (signup.source, signup.client, signup.page) == ("web", "192.0.2.7", "site:subscribe.md")
    assert signup.user_agent == agent[:300]
    assert (signup.text_version, signup.text_hash) == ("1", digest)
    assert (confirmed.client, confirmed.user_agent) == ("2001:db8::7", "Reader/1.0")
    assert (confirmed.page, confirmed.text_version, confirmed.text_hash) == (
        "service:/confirm",
        "1",
        digest,
    )
    assert confirmed.at >= signup.at
    # A form that names no consent text (an old cached page) records none; a page field
    # with control characters is stored without them, and cut short.
    svc.client.post(
        f"{svc.url}/subscribe",
        data={"email": "old@example.org", "website": "", "page": "p\x1b[31m" + "y" * 900},
        headers={"Referer": f"{SITE_URL}subscribe/"},
    )
    wait_until(lambda: svc.status("old@example.org") == "pending")
    with svc.store() as store:
        (old,) = store.consents("old@example.org")
    assert (old.text_version, old.text_hash) == ("", "")
    assert old.page.startswith("p\N{REPLACEMENT CHARACTER}[31m") and len(old.page) == 300
    # Without the hidden field, the Referer names the page.
    svc.client.post(
        f"{svc.url}/subscribe",
        data={"email": "ref@example.org"},
        headers={"Referer": f"{SITE_URL}subscribe/"},
    )
    wait_until(lambda: svc.status("ref@example.org") == "pending")
    with svc.store() as store:
        assert store.consents("ref@example.org")[0].page == f"{SITE_URL}subscribe/"


def test_coming_back_after_unsubscribing_forgetting_or_bouncing(svc: Running) -> None:
    with svc.store() as store:
        left = store.add("left@example.org", status="active", source="cli")
        store.add("bounced@example.org", status="bounced", source="bounce")
        store.add("forgotten@example.org", status="active", source="cli")
        store.forget("forgotten@example.org", SECRET)
        assert store.is_suppressed("forgotten@example.org", SECRET)
    unsubscribe = f"{svc.url}/unsubscribe/{make_token(SECRET, 'unsubscribe', left.id)}"
    svc.client.post(unsubscribe, content=ONE_CLICK_BODY, headers=FORM)
    assert svc.status("left@example.org") == "unsubscribed"

    for address, before in (
        ("left@example.org", "unsubscribed"),
        ("bounced@example.org", "bounced"),
        ("forgotten@example.org", None),
    ):
        assert svc.subscribe(address).status_code == 200
        link = svc.confirmation_link(address)
        # Until the person confirms, nothing changes (a forgotten address is pending).
        assert svc.client.get(link).status_code == 200
        assert svc.status(address) == (before or "pending")
        assert svc.confirm(link).status_code == 200
        assert svc.status(address) == "active", address
        with svc.store() as store:
            kinds = [c.kind for c in store.consents(address)]
            assert kinds[-2:] == ["signup", "confirm"], address
            assert not store.is_suppressed(address, SECRET)
    assert svc.sources("left@example.org")[-2:] == [
        ("active", "unsubscribed", "one-click"),
        ("unsubscribed", "active", "web"),
    ]
    assert svc.sources("forgotten@example.org") == [
        (None, "pending", "web"),
        ("pending", "active", "web"),
    ]


def test_a_forgotten_address_stays_suppressed_until_it_confirms(svc: Running) -> None:
    with svc.store() as store:
        store.forget("someone@example.org", SECRET)
    svc.subscribe("someone@example.org")  # anyone can type an address into the form
    svc.confirmation_link("someone@example.org")
    with svc.store() as store:
        assert store.is_suppressed("someone@example.org", SECRET)
    assert svc.status("someone@example.org") == "pending"


# -- the form on the static site -------------------------------------------------------------


def test_subscribe_form_html() -> None:
    html = subscribe_form_html("https://news.example.org/list/")
    form = BeautifulSoup(html, "html.parser").form
    assert form["action"] == "https://news.example.org/list/subscribe"
    assert form["method"] == "post"
    names = [i["name"] for i in form.find_all("input")]
    assert names == ["email", "name", "website", "page", "consent"]
    assert form.find("input", {"name": "email"}).has_attr("required")
    honeypot = form.find("input", {"name": "website"})
    assert honeypot["tabindex"] == "-1"
    assert "left:-10000px" in honeypot.parent["style"]
    assert "\n\n" not in html  # one Markdown block
    assert not form.find("script")


def test_expand_subscribe_form() -> None:
    page = f"# Subscribe\n\nText.\n\n{SUBSCRIBE_MARKER}\n"
    assert 'action="https://s.example.org/subscribe"' in expand_subscribe_form(
        page, "https://s.example.org"
    )
    assert "not configured" in expand_subscribe_form(page, None)
    assert expand_subscribe_form("# Other\n", "https://s.example.org") == "# Other\n"


@pytest.mark.parametrize(
    "headers_body",
    [
        ({"Content-Type": "application/x-www-form-urlencoded"}, ONE_CLICK_BODY),
        ({}, ONE_CLICK_BODY),
        (
            {"Content-Type": "multipart/form-data; boundary=XyZ"},
            b'--XyZ\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
            b"One-Click\r\n--XyZ--\r\n",
        ),
    ],
    ids=["urlencoded", "no-content-type", "multipart"],
)
def test_one_click_in_either_form_encoding(svc: Running, headers_body) -> None:
    headers, body = headers_body
    with svc.store() as store:
        sub = store.add("enc@example.org", status="active", source="cli")
    url = f"{svc.url}/unsubscribe/{make_token(SECRET, 'unsubscribe', sub.id)}"
    response = svc.client.post(url, content=body, headers=headers)
    assert response.status_code == 200
    assert svc.sources("enc@example.org")[-1] == ("active", "unsubscribed", "one-click")


# -- the commands, as installed: `newsdesk serve` and `newsdesk send` ------------------------

NEWSDESK = Path(sys.executable).with_name("newsdesk")

CLI_OPTIONS = """\
pdf: {{enabled: false}}
email:
  from: "Test Letter <letter@example.org>"
  list_id: "Test Letter <test-letter.example.org>"
  service_url: "{service_url}"
  unsubscribe_mailto: "unsubscribe@example.org"
  postal_address: "1 Example Street"
  live_check: false
  smtp:
    host: 127.0.0.1
    port: {smtp_port}
    security: none
"""


@pytest.mark.slow
def test_the_loop_with_the_installed_commands(project, smtpd, tmp_path: Path) -> None:
    inbox, smtp_port = smtpd
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    project.config(CLI_OPTIONS.format(service_url=url, smtp_port=smtp_port))
    project.issue("2026-01-05-first.md", "The first issue.\n", title="First", date="2026-01-05")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")},
        "NEWSDESK_SECRET": "loop-secret-of-at-least-32-characters",
        "NO_MKDOCS_2_WARNING": "1",
    }

    def newsdesk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(NEWSDESK), *args],
            cwd=project.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [str(NEWSDESK), "serve", "--port", str(port)],
        cwd=project.root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=1).text == "ok\n"
            except httpx.TransportError:
                return False

        wait_until(healthy, timeout=30)
        reader = "loop.reader@example.org"
        with httpx.Client(timeout=10) as client:
            response = client.post(
                f"{url}/subscribe", data={"email": reader, "name": "Loop", "website": ""}
            )
            assert response.status_code == 200
            body = inbox.wait_for(reader).get_body(("plain",)).get_content()
            link = re.search(r"http://\S+/confirm/\S+", body)
            assert link
            assert press_confirm(client, link.group(0), origin=url).status_code == 200
            # The issue was never mailed: the welcome is a note; `send` mails the issue.
            assert inbox.wait_for(reader, 2)["Subject"].startswith("Welcome to ")

        sent = newsdesk("send")
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert "sent 1, failed 0, pending 0" in sent.stdout
        issue = inbox.wait_for(reader, 3)
        assert issue["Subject"].endswith(": First")
        targets = re.findall(r"<([^>]+)>", str(issue["List-Unsubscribe"]))
        one_click = next(t for t in targets if t.startswith(f"{url}/unsubscribe/"))

        with httpx.Client(timeout=10) as bare:
            assert bare.get(one_click).status_code == 200
            listed = newsdesk("subscribers", "list", "--status", "active")
            assert reader in listed.stdout
            response = bare.post(one_click, content=ONE_CLICK_BODY, headers=FORM)
            assert response.status_code == 200
            assert bare.get(one_click).status_code == 200
        listed = newsdesk("subscribers", "list", "--status", "unsubscribed")
        assert reader in listed.stdout

        # Someone new, behind the proxy: the welcome is the first issue (mailed already),
        # their consent is on record, and `send` does not mail them the first issue again.
        late = "late.reader@example.org"
        with httpx.Client(timeout=10) as client:
            response = client.post(
                f"{url}/subscribe",
                data={"email": late, "website": "", "page": "site:subscribe.md", "consent": "1"},
                headers={"User-Agent": "Late/1.0", "X-Forwarded-For": "192.0.2.7"},
            )
            assert response.status_code == 200
            link = re.search(
                r"http://\S+/confirm/\S+", inbox.wait_for(late).get_body(("plain",)).get_content()
            )
            assert link
            response = press_confirm(
                client, link.group(0), origin=url, **{"X-Forwarded-For": "192.0.2.8"}
            )
            assert response.status_code == 200
        welcomed = inbox.wait_for(late, 2)
        assert welcomed["Subject"].endswith(": First")
        assert welcomed.get_body(("plain",)).get_content().startswith("Welcome to ")
        shown = newsdesk("subscribers", "show", late)
        assert shown.returncode == 0, shown.stderr
        assert (
            "signup  (source web, client 192.0.2.7, user_agent Late/1.0, page site:subscribe.md"
            in shown.stdout
        )
        assert "confirm  (source web, client 192.0.2.8" in shown.stdout
        assert "text_version 1" in shown.stdout and "text_hash " in shown.stdout

        assert newsdesk("subscribers", "add", "other@example.net").returncode == 0
        project.issue(
            "2026-02-05-second.md", "The second issue.\n", title="Second", date="2026-02-05"
        )
        sent = newsdesk("send")
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert "sent 2, failed 0, pending 0" in sent.stdout
        inbox.wait_for("other@example.net")
        inbox.wait_for(late, 3)
        assert len(inbox.to(reader)) == 3  # the confirmation, the welcome, the first issue
        assert [m["Subject"].rsplit(": ", 1)[1] for m in inbox.to(late)[1:]] == ["First", "Second"]
        received = len(inbox.messages)
        assert newsdesk("send").returncode == 0
        time.sleep(0.3)
        assert len(inbox.messages) == received
    finally:
        server.terminate()
        server.wait(10)
        log.close()
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("", "unknown"),
    ],
)
def test_rate_limit_key_per_client(host: str, key: str) -> None:
    from starlette.requests import Request

    from newsdesk.service.app import client_key

    scope = {"type": "http", "client": (host, 1234) if host else None, "headers": []}
    assert client_key(Request(scope)) == key
