"""uvicorn as ``newsdesk serve`` runs it (``newsdesk.service.server``): the file limit, and
idle, slow and surplus connections closed."""

from __future__ import annotations

import contextlib
import select
import socket
import time

import httpx

from newsdesk.service.limits import Limits
from tests.service.support import (
    Running,
    wait_until,
)


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
