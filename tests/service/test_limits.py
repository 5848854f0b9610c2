"""Rate limits and body sizes (``newsdesk.service.limits``), alone and in the running service."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from newsdesk.service.limits import Limits, RateLimiter
from tests.service.support import (
    FORM,
    Running,
    page_text,
)


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
