"""What the tests of the subscription service share: a real SMTP server's inbox, the
service on uvicorn (:class:`Running`), settings, and a few page and issue helpers."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urljoin

import httpx
import uvicorn
from bs4 import BeautifulSoup

from newsdesk.mail.store import Store
from newsdesk.rendering import IssueRendering
from newsdesk.service.limits import Limits
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


def messages_of(inbox: Inbox, address: str, slug: str) -> list[EmailMessage]:
    """The copies of issue ``slug`` that ``address`` received."""
    return [m for m in inbox.to(address) if m["X-Newsdesk-Issue"] == slug]


def publish(svc: Running, *renderings: IssueRendering) -> None:
    """Renderings of the last build, as ``mkdocs build`` leaves them for the service."""
    from newsdesk.rendering import write_renderings

    write_renderings(svc.settings.state_dir, list(renderings))
