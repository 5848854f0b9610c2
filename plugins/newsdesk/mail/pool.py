"""The delivery pool: worker threads, each owning one transport (one SMTP connection reused
for many messages), retries with back-off, and one rate limit across them all. The caller's
thread owns the database; workers only report outcomes."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from newsdesk.mail.transports import DeliveryError, Transport


class RateLimiter:
    """At most ``rate`` messages per second across all connections (0 = unlimited)."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self.lock = threading.Lock()
        self.next = time.monotonic()

    def wait(self, stop: threading.Event) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            slot = max(self.next, now)
            self.next = slot + self.interval
        if slot > now:
            stop.wait(slot - now)


@dataclass(frozen=True)
class Job:
    subscriber_id: int
    email: str
    envelope_from: str
    data: bytes


@dataclass(frozen=True)
class Outcome:
    job: Job
    state: str  # sent, failed, pending, fatal
    error: str = ""
    bounce: bool = False
    connect: bool = False


def worker(
    make: Callable[[], Transport],
    jobs: queue.Queue[Job | None],
    results: queue.Queue[Outcome],
    stop: threading.Event,
    limiter: RateLimiter,
    delays: Sequence[float],
) -> None:
    transport: Transport | None = None
    try:
        while True:
            job = jobs.get()
            if job is None:
                return
            attempt = 0
            while True:
                try:
                    if transport is None:
                        transport = make()
                    limiter.wait(stop)
                    transport.send(job.envelope_from, job.email, job.data)
                    results.put(Outcome(job, "sent"))
                    break
                except DeliveryError as exc:
                    if exc.kind == "permanent":
                        results.put(Outcome(job, "failed", exc.message, bounce=exc.bounce))
                        break
                    if exc.kind == "fatal":
                        results.put(Outcome(job, "fatal", exc.message))
                        break
                    if attempt >= len(delays) or stop.is_set():
                        results.put(Outcome(job, "pending", exc.message, connect=exc.connect))
                        break
                    stop.wait(delays[attempt])
                    attempt += 1
                    if stop.is_set():
                        results.put(Outcome(job, "pending", exc.message))
                        break
                except Exception as exc:  # a bug or an odd failure: keep the job pending
                    results.put(Outcome(job, "pending", f"{type(exc).__name__}: {exc}"))
                    if transport is not None:
                        transport.close()
                        transport = None
                    break
    finally:
        if transport is not None:
            transport.close()


class WorkerPool:
    """``size`` :func:`worker` threads sharing one job queue, one result queue, one rate
    limit and one ``abort`` event (set: stop retrying). Use as a context manager: the
    threads start on entry; on exit each is told to end and is waited for, and an
    exception on the way out (a second Ctrl+C, a crash) sets ``abort`` first."""

    def __init__(
        self,
        make: Callable[[], Transport],
        size: int,
        *,
        rate: float = 0,
        delays: Sequence[float] = (),
    ):
        self.size = size
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.results: queue.Queue[Outcome] = queue.Queue()
        self.abort = threading.Event()
        limiter = RateLimiter(rate)
        self.threads = [
            threading.Thread(
                target=worker,
                args=(make, self.jobs, self.results, self.abort, limiter, delays),
                name=f"newsdesk-smtp-{i}",
                daemon=True,
            )
            for i in range(size)
        ]

    def __enter__(self) -> WorkerPool:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None:
            self.abort.set()
        for _ in self.threads:
            self.jobs.put(None)
        for t in self.threads:
            t.join(timeout=60)

    def next_outcome(self, timeout: float) -> Outcome | None:
        """The next job's outcome, or ``None`` when none came within ``timeout`` seconds."""
        try:
            return self.results.get(timeout=timeout)
        except queue.Empty:
            return None
