"""An SMTP sink for the sending benchmark: aiosmtpd on 127.0.0.1 in a process of its own,
counting the messages it accepts and when the first and last arrived; optionally waiting
before each reply to MAIL, RCPT and the end of DATA, like a slow remote server.

Also the floor the sender is compared with: ``python -m benchmarks.sink floor`` sends one
pre-built message N times with a plain ``smtplib`` loop over one reused connection.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import smtplib
import socket
import time
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

MAIL_FROM = "letter@example.org"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (aiosmtpd's Controller cannot take port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(
        self, delay: float, count: Synchronized, first: Synchronized, last: Synchronized
    ) -> None:
        self.delay = delay
        self.count = count
        self.first = first
        self.last = last

    async def _wait(self) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        await self._wait()
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        await self._wait()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await self._wait()
        now = time.monotonic()
        with self.count.get_lock():
            if self.count.value == 0:
                self.first.value = now
            self.count.value += 1
            self.last.value = now
        return "250 Message accepted for delivery"


def _serve(
    port: int,
    delay: float,
    count: Synchronized,
    first: Synchronized,
    last: Synchronized,
    ready: Any,
    stop: Any,
) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(_Handler(delay, count, first, last), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


class Sink:
    """``with Sink(delay=0.01) as sink:`` – an SMTP server in its own process."""

    def __init__(self, delay: float = 0.0) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.delay = delay
        self.port = free_port()
        self._count = ctx.Value("q", 0)
        self._first = ctx.Value("d", 0.0)
        self._last = ctx.Value("d", 0.0)
        self._ready = ctx.Event()
        self._stop = ctx.Event()
        self._process = ctx.Process(
            target=_serve,
            args=(self.port, delay, self._count, self._first, self._last, self._ready, self._stop),
            daemon=True,
        )

    def __enter__(self) -> Sink:
        self._process.start()
        if not self._ready.wait(30):
            raise RuntimeError("the SMTP sink did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()

    def reset(self) -> None:
        with self._count.get_lock():
            self._count.value = 0
            self._first.value = 0.0
            self._last.value = 0.0

    @property
    def count(self) -> int:
        return self._count.value

    def rate(self) -> float:
        """Messages per second between the first and the last message received."""
        n = self._count.value
        span = self._last.value - self._first.value
        return (n - 1) / span if n > 1 and span > 0 else 0.0


def floor(port: int, count: int, message: Path) -> None:
    """Send the same pre-built message ``count`` times over one connection."""
    data = message.read_bytes()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.ehlo()
        for i in range(count):
            smtp.sendmail(MAIL_FROM, [f"reader{i:06d}@example.net"], data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("floor", help="the smtplib loop")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--message", type=Path, required=True)
    args = parser.parse_args()
    floor(args.port, args.count, args.message)


if __name__ == "__main__":
    main()
