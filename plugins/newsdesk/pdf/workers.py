"""The worker processes that render PDFs: at most ``workers`` at a time, one job each, and
a time limit per job; a worker past its limit is killed and, if jobs remain, replaced."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from newsdesk.pdf.render import Collect, Job, warm_up, write_pdf

if TYPE_CHECKING:
    from newsdesk.pdf.edition import PdfReport

BOOT_TIMEOUT = 60.0
"""Seconds a new worker may take to start (import WeasyPrint) before it counts as broken."""

Outcome = tuple[str, Any]
"""``("ok", (warnings, seconds, advice))``, ``("error", message)`` or ``("timeout", None)``."""


def _serve(conn: Connection) -> None:
    """A worker process: render the jobs the parent sends until it sends None."""
    collect = Collect()
    with collect.listening():
        _serve_jobs(conn, collect)


def _serve_jobs(conn: Connection, collect: Collect) -> None:
    with contextlib.suppress(Exception):  # a real job then reports what is wrong
        warm_up()
    conn.send(("ready", collect.take_advice()))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        started = time.monotonic()
        try:
            warnings = write_pdf(job, collect)
            seconds = time.monotonic() - started
            outcome: Outcome = ("ok", (warnings, seconds, collect.take_advice()))
        except Exception as exc:
            outcome = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(outcome)


def cpu_count() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _context() -> multiprocessing.context.BaseContext:
    # A fork server with WeasyPrint loaded starts workers quickly and, unlike plain fork,
    # is safe when the caller runs threads (mkdocs serve does).
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["weasyprint", "newsdesk.pdf"])
        return ctx
    return multiprocessing.get_context("spawn")  # pragma: no cover - not POSIX


@dataclass
class _Worker:
    process: Any
    conn: Connection
    job: Job | None = None
    deadline: float = 0.0
    ready: bool = False


def run(
    todo: Sequence[Job], workers: int, timeout: float, report: PdfReport
) -> Iterator[tuple[Job, Outcome]]:
    """Render the jobs in ``workers`` processes, yielding each job with its :data:`Outcome`.

    Advice a worker gives while starting goes to ``report``. A worker past its job's
    deadline is killed and, if jobs remain, replaced. The clock of a job starts when a
    started worker receives it.
    """
    if not todo:
        return
    ctx = _context()
    pending = deque(todo)
    pool: dict[Connection, _Worker] = {}
    try:
        while pending or any(w.job for w in pool.values()):
            while pending and len(pool) < workers:
                _start(ctx, pool)
            _hand_out(pool, pending, timeout)
            next_deadline = min(w.deadline for w in pool.values())
            ready = wait(list(pool), timeout=max(0.0, next_deadline - time.monotonic()))
            for conn in ready:
                yield from _receive(pool, pool[conn], pending, report)  # type: ignore[index]
            yield from _expire(pool, pending)
    finally:
        _shut_down(pool)


def _start(ctx: multiprocessing.context.BaseContext, pool: dict[Connection, _Worker]) -> None:
    receiver, sender = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(sender,), name="newsdesk-pdf")
    process.daemon = True
    process.start()
    sender.close()
    pool[receiver] = _Worker(process, receiver, deadline=time.monotonic() + BOOT_TIMEOUT)


def _hand_out(pool: dict[Connection, _Worker], pending: deque[Job], timeout: float) -> None:
    """Give each started, idle worker the next job, and start its clock."""
    for w in pool.values():
        if w.ready and w.job is None and pending:
            w.job = pending.popleft()
            w.deadline = time.monotonic() + timeout
            w.conn.send(w.job)


def _receive(
    pool: dict[Connection, _Worker], w: _Worker, pending: deque[Job], report: PdfReport
) -> Iterator[tuple[Job, Outcome]]:
    """Read what a worker sent: that it started, a job's outcome, or its end."""
    try:
        status, detail = w.conn.recv()
    except EOFError:
        del pool[w.conn]
        code = _stop(w, grace=5)
        message = f"the PDF renderer stopped unexpectedly (exit code {code})"
        if w.job is not None:
            yield w.job, ("error", message)
        elif not pool:
            # Workers cannot even start: fail what is left rather than loop.
            yield from _fail_all(pending, message)
        return
    if status == "ready":
        report.add_advice(detail or [])
        w.ready = True
        w.deadline = float("inf")
        return
    job, w.job, w.deadline = w.job, None, float("inf")
    if job is not None:
        yield job, (status, detail)


def _expire(pool: dict[Connection, _Worker], pending: deque[Job]) -> Iterator[tuple[Job, Outcome]]:
    """Kill the workers past their deadline: a job's time limit, or starting up."""
    now = time.monotonic()
    for w in list(pool.values()):
        if now >= w.deadline:
            del pool[w.conn]
            _stop(w, grace=0)
            if w.job is not None:
                yield w.job, ("timeout", None)
            elif not pool:
                yield from _fail_all(pending, "the PDF renderer did not start")


def _fail_all(pending: deque[Job], message: str) -> Iterator[tuple[Job, Outcome]]:
    while pending:
        yield pending.popleft(), ("error", message)


def _shut_down(pool: dict[Connection, _Worker]) -> None:
    """Ask the idle workers to end, give them a moment, and kill the busy ones."""
    for w in pool.values():
        if w.job is None:
            with contextlib.suppress(OSError):
                w.conn.send(None)
    for w in pool.values():
        _stop(w, grace=5 if w.job is None else 0)


def _stop(worker: _Worker, grace: float) -> int | None:
    """Wait ``grace`` seconds for a worker to end, then kill it; return its exit code."""
    worker.process.join(grace)
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join()
    code = worker.process.exitcode
    worker.conn.close()
    worker.process.close()
    return code
