"""How uvicorn runs the service: connections that idle or trickle are closed in time.

uvicorn's own keep-alive timer starts only after a first response and restarts with every
byte received, and its ``limit_concurrency`` counts open connections: a few hundred idle
sockets (or a client sending one header byte a second) kept every real request out.
:class:`GuardedH11Protocol` (uvicorn's h11 protocol with stricter timers) instead:

- closes a connection on which no byte arrives within ``idle_timeout`` seconds, before
  the first request as between requests;
- closes it when a request (head and body) is not complete ``request_timeout`` seconds
  after the connection started waiting for it, however slowly the bytes trickle in;
- closes it when the client has not read the answer ``request_timeout`` seconds later;
- at ``max_connections`` open connections, makes room for a new one by closing the
  connection that has waited longest for its client, so idle sockets never lock out
  real requests or ``/healthz``.

There is no limit on concurrent requests: each is short and the database work runs in
a bounded thread pool.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from newsdesk.service.limits import Limits

log = logging.getLogger("newsdesk.service")

# What the client may still owe us: nothing received yet, or the rest of the request.
_WAITING = (h11.IDLE, h11.SEND_BODY)
_RESERVED_FILES = 64
"""File descriptors kept free for the database, logs and outgoing SMTP connections."""
WARN_EVERY = 60.0
"""Seconds between two warnings that the connection limit was reached."""
_last_warning = -WARN_EVERY


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with idle, request and connection-count limits.

    Use :func:`protocol_for` for a subclass carrying the limits.
    """

    idle_timeout: float = 5.0
    request_timeout: float = 10.0
    max_connections: int = 1000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout_keep_alive = self.idle_timeout  # uvicorn's timer between requests
        self._deadline: asyncio.TimerHandle | None = None
        self.waiting_since = 0.0

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wait_for_request()
        if len(self.connections) > self.max_connections:
            self._make_room()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._owed_by_client():
            self._watch_answer()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._cancel_deadline()
        self._unset_keepalive_if_required()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if self.conn.their_state in _WAITING:
            self._wait_for_request()
        else:  # a pipelined request, already complete
            self._watch_answer()

    def _unsupported_upgrade_warning(self) -> None:
        # uvicorn logs two warnings per `Upgrade:` request; anyone could fill the log.
        log.debug("an Upgrade request answered as plain HTTP")

    # -- the timers ----------------------------------------------------------------------

    def _wait_for_request(self) -> None:
        """Start waiting for the next request: its first byte, and all of it."""
        self.waiting_since = self.loop.time()
        self._unset_keepalive_if_required()
        self.timeout_keep_alive_task = self.loop.call_later(
            self.idle_timeout, self.timeout_keep_alive_handler
        )
        self._cancel_deadline()
        self._deadline = self.loop.call_later(self.request_timeout, self._deadline_passed)

    def _watch_answer(self) -> None:
        """The whole request is here and the app answers it: from now on, check that the
        client reads the answer."""
        self._cancel_deadline()
        self._deadline = self.loop.call_later(self.request_timeout, self._deadline_passed)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _owed_by_client(self) -> bool:
        """Whether the connection waits for the client: for (the rest of) a request, or
        for it to read the answer."""
        if self.conn.their_state in _WAITING:
            return True
        return bool(self.flow is not None and self.flow.write_paused)

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._owed_by_client():
            log.debug("closing a connection: the client is too slow")
            self.transport.abort()
        else:
            # The app is still working on the answer; look again later.
            self._deadline = self.loop.call_later(self.request_timeout, self._deadline_passed)

    def _make_room(self) -> None:
        """Close the connection that has waited longest for its client (this one last)."""
        waiting = [
            p
            for p in self.connections
            if isinstance(p, GuardedH11Protocol)
            and p is not self
            and not p.transport.is_closing()
            and p._owed_by_client()
        ]
        victim = min(waiting, key=lambda p: p.waiting_since, default=self)
        victim.transport.abort()
        global _last_warning
        now = self.loop.time()
        if now - _last_warning >= WARN_EVERY:  # one line a minute, not one per connection
            _last_warning = now
            log.warning(
                "%d connections open (limit %d): closing those that wait longest for their client",
                len(self.connections),
                self.max_connections,
            )


def protocol_for(limits: Limits) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` class with the connection limits of ``limits``."""
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {
            "idle_timeout": limits.idle_timeout,
            "request_timeout": limits.request_timeout,
            "max_connections": limits.max_connections,
        },
    )


def server_config(
    app: ASGIApp,
    limits: Limits,
    host: str = "127.0.0.1",
    port: int = 8025,
    *,
    forwarded_allow_ips: str = "127.0.0.1",
    log_level: str = "info",
) -> uvicorn.Config:
    """The uvicorn configuration the service runs with (``newsdesk serve`` and the tests).

    The access log is off: its lines would carry the tokens of the links.
    """
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol_for(limits),
        ws="none",  # no WebSocket routes: an upgrade request is answered as plain HTTP
        lifespan="off",
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        access_log=False,
        server_header=False,
        log_level=log_level,
        timeout_keep_alive=max(1, round(limits.idle_timeout)),
        timeout_graceful_shutdown=5,
    )


def ensure_file_limit(max_connections: int) -> int:
    """Raise the soft limit on open files so ``max_connections`` sockets fit; the number
    of connections that fit (fewer than asked when the hard limit is lower)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + _RESERVED_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return max_connections
    return max(1, min(max_connections, soft - _RESERVED_FILES))
