"""Helpers for the mail tests: real SMTP servers (aiosmtpd) on 127.0.0.1, a test CA
(trustme), a fault-injecting handler, and sample issues and settings."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from newsdesk.rendering import IssueRendering, TermNote
from newsdesk.settings import EmailSettings, Settings, SmtpSettings

SITE = "https://newsletter.example.org/"
USER, PASSWORD = "sender", "correct horse battery staple"


def free_port() -> int:
    """A port that was free a moment ago (aiosmtpd's Controller cannot use port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def sink_process() -> Iterator[int]:
    """aiosmtpd's discarding handler in a process of its own, so that the server and the
    sender do not share one interpreter lock while they are measured; yields its port."""
    port = free_port()
    listen = f"127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", listen],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass
class Faults:
    """What the server does wrong; counters go down as faults are used."""

    refuse_connections: int = 0
    """Answer this many connections with 421 instead of the greeting."""
    reject: set[str] = field(default_factory=set)
    """Addresses refused at RCPT with 550."""
    tempfail_once: set[str] = field(default_factory=set)
    """Addresses answered 451 at DATA the first time."""
    tempfail_always: set[str] = field(default_factory=set)
    drop_once: set[str] = field(default_factory=set)
    """Addresses whose first DATA is answered by closing the connection."""
    reject_senders: bool = False
    """Refuse every MAIL FROM with 553."""
    delay: float = 0.0
    """Seconds before each DATA reply."""


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


class RecordingHandler:
    """Stores every accepted message; injects the configured faults."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.connections = 0
        self.logins: list[str] = []

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.faults.reject_senders:
            return "553 5.7.1 sender not allowed"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.faults.reject:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        faults = self.faults
        if faults.delay:
            await asyncio.sleep(faults.delay)
        rcpt = envelope.rcpt_tos[0]
        if rcpt in faults.drop_once:
            faults.drop_once.discard(rcpt)
            server.transport.close()
            return "421 closing"
        if rcpt in faults.tempfail_always:
            return "451 4.3.0 try again later"
        if rcpt in faults.tempfail_once:
            faults.tempfail_once.discard(rcpt)
            return "451 4.7.1 greylisted, try again later"
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 2.0.0 queued"

    def counts(self) -> Counter[str]:
        return Counter(r.rcpt_tos[0] for r in self.received)


class FaultySMTP(SMTP):
    async def _handle_client(self):
        handler = self.event_handler
        handler.connections += 1
        if handler.faults.refuse_connections > 0:
            handler.faults.refuse_connections -= 1
            await self.push("421 4.3.2 too busy, try again later")
            self.transport.close()
            return
        await super()._handle_client()


class FaultyController(Controller):
    def factory(self):
        return FaultySMTP(self.handler, **self.SMTP_kwargs)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
    )
    if ok:
        server.event_handler.logins.append(USER)
    return AuthResult(success=ok, handled=False)


@dataclass
class Server:
    """A running test server and what it received."""

    controller: Controller
    handler: RecordingHandler
    port: int
    security: str
    ca_file: str | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def smtp(self, **overrides) -> SmtpSettings:
        values = dict(
            host="127.0.0.1",
            port=self.port,
            security=self.security,
            ca_file=self.ca_file,
            timeout=5,
            connections=1,
        )
        values.update(overrides)
        return SmtpSettings(**values)


def start_server(
    security: str = "none",
    *,
    ca: trustme.CA | None = None,
    tmp_path: Path | None = None,
    auth: bool = False,
) -> Server:
    """Start aiosmtpd on 127.0.0.1 with ``security`` ``none``, ``starttls`` or ``tls``."""
    handler = RecordingHandler()
    kwargs: dict = {"hostname": "127.0.0.1", "ready_timeout": 5}
    ca_file = None
    if security != "none":
        assert ca is not None and tmp_path is not None
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
        ca_path = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_path))
        ca_file = str(ca_path)
        if security == "tls":
            kwargs["ssl_context"] = server_ctx
        else:
            kwargs["tls_context"] = server_ctx
            kwargs["require_starttls"] = True
    if auth:
        kwargs["authenticator"] = authenticator
        kwargs["auth_require_tls"] = security == "starttls"
        kwargs["auth_exclude_mechanism"] = ["CRAM-MD5", "LOGIN"]
    last: Exception | None = None
    for _ in range(5):
        port = free_port()
        controller = FaultyController(handler, port=port, **kwargs)
        try:
            controller.start()
        except Exception as exc:  # the port was taken meanwhile
            last = exc
            continue
        return Server(controller, handler, port, security, ca_file)
    raise RuntimeError(f"cannot start aiosmtpd: {last}")


def rendering(slug: str = "email-servers", number: int | None = 1, **changes) -> IssueRendering:
    """A realistic issue rendering, with a glossary link and a port table."""
    date = changes.pop("date", dt.date(2026, 11, 26))
    url = f"{SITE}issues/{date.year}/{slug}/"
    values = dict(
        slug=slug,
        number=number,
        title="Email Servers",
        date=date,
        author="Michael DeFlorio",
        summary="How email servers work – POP, IMAP and SMTP.",
        tags=("email",),
        source=f"newsletters/{date}-{slug}.md",
        url=url,
        pdf_url=f"{url}{slug}.pdf",
        html=(
            '<h2 id="terms">The terms<a class="headerlink" href="#terms">¶</a></h2>'
            '<p><strong>POP</strong> – see <a href="../../../glossary/#pop" class="nd-term">'
            'POP</a>, and <a href="https://www.rfc-editor.org/rfc/rfc1939">RFC 1939</a>.</p>'
            '<p><img src="diagram.png" alt="How mail flows"></p>'
            "<table><thead><tr><th>Port</th><th>Protocol</th></tr></thead>"
            "<tbody><tr><td>110</td><td>POP3</td></tr><tr><td>995</td><td>POP3S</td></tr>"
            "</tbody></table><p>Until next time… Happy Computing!</p>"
        ),
        terms=(TermNote("POP", "Post Office Protocol", "Fetches mail.", f"{SITE}glossary/#pop"),),
        newsletter_name="Happy Computing",
        site_url=SITE,
    )
    values.update(changes)
    return IssueRendering(**values)


def email_settings(**changes) -> EmailSettings:
    values = dict(
        from_="Happy Computing <newsletter@example.org>",
        reply_to="Michael DeFlorio <michael@example.org>",
        list_id="Happy Computing <happy-computing.newsletter.example.org>",
        service_url="https://newsletter.example.org/list",
        unsubscribe_mailto="unsubscribe@example.org",
        postal_address="Happy Computing, 1 Example Street, Springfield",
    )
    values.update(changes)
    return EmailSettings(**values)


def settings(root: Path, smtp: SmtpSettings | None = None, **email_changes) -> Settings:
    email_changes.setdefault("database", root / ".newsdesk" / "newsdesk.sqlite3")
    email_changes.setdefault("outbox", root / ".newsdesk" / "outbox")
    email_changes.setdefault("live_check", False)
    return Settings(
        root=root,
        site_url=SITE,
        site_name="Happy Computing",
        newsletter_name="Happy Computing",
        email=email_settings(smtp=smtp or SmtpSettings(), **email_changes),
    )
