"""Fixtures of the service tests: an aiosmtpd server (``smtpd``) and the service on
uvicorn on 127.0.0.1 (``start`` with options, ``svc`` with the defaults)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from newsdesk.mail.store import Store
from newsdesk.service.app import create_app
from newsdesk.service.limits import Limits
from tests.service.support import (
    SECRET,
    Inbox,
    Running,
    free_port,
    make_settings,
    start_server,
)


@pytest.fixture
def smtpd() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


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
