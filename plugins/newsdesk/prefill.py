"""Per-page steps of a build done on every core when many pages miss the page cache.

A build does some steps once per page, in the order the site generator hands the pages
over, and remembers each page's result in the page cache (:mod:`newsdesk.pagecache`): the
Markdown conversion, the glossary links and port tables, the search entries. In a cold
build every page misses, and the build would do them all on one core.

:class:`Prefill` forks worker processes that run the same step, on a copy of the build's
state, for the pages from the far end of the list, a chunk at a time, and remember what
they make (or hand back what no cache holds: a page's HTML from the theme's template). The
build process goes on from the front; before it does a page's step itself it calls
:meth:`Prefill.take`. A chunk no worker has started is claimed (the build does those pages
itself); a started one is waited for, and what the worker remembered joins the build's
cache, where the step then finds it. The two ends meet in the middle.

Correct by construction: a worker runs the very code the build runs, and its results reach
the build only through the cache, keyed on everything the step reads. Where a worker saw
different input (another plugin's state, say), its key differs and the build process does
the page itself; a worker that fails or dies costs time, never a wrong page.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import pickle
import queue
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from multiprocessing import connection
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from newsdesk.pagecache import PageCache

#: Fewer pages than this to do: one process is as quick as forking workers.
MINIMUM = 32
#: Seconds between looks at whether the workers still run, while waiting for one.
POLL = 0.2
#: Seconds without a word from any worker after which they are taken to be stuck (a chunk
#: takes well under one).
SILENCE = 120.0
#: Workers at most when ``jobs`` is 0: each is a copy of the build's memory as it changes.
AUTO_MOST = 3
#: Pages a worker does per chunk: small enough that the build waits little where the two
#: ends meet, large enough that handing a chunk over is a small part of its cost.
CHUNK = 8

T = TypeVar("T")
_jobs: dict[int, tuple[Any, ...]] = {}
"""What each started :class:`Prefill` hands its workers (through the fork): ``work``, the
cache, the claims, the chunks, ``before``."""
_tokens = itertools.count()


def workers_for(jobs: int) -> int:
    """How many worker processes to fork for the ``jobs`` setting: ``jobs - 1``, or with 0
    one per core besides the build's own, at most :data:`AUTO_MOST`; 0 where forking is not
    known to be safe (not on Linux)."""
    forks = "fork" in multiprocessing.get_all_start_methods()
    if not sys.platform.startswith("linux") or not forks:
        return 0
    if jobs:
        return max(0, jobs - 1)
    return max(0, min(len(os.sched_getaffinity(0)) - 1, AUTO_MOST))


def alone() -> bool:
    """Whether this process runs one thread: a process forked while another thread holds
    a lock can hang (and Python 3.12 warns), so nothing is forked otherwise. Counts the
    threads the system knows, C libraries' included, not only Python's."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return threading.active_count() == 1


class Prefill:
    """Workers doing ``work(item)`` for ``items`` from the end, remembering into ``memo``.

    ``work`` is the step as the build runs it for one item; in a worker it remembers its
    result through ``memo``, which hands the entries back. What it returns, unless
    ``None``, is handed to the build by :meth:`take` (for results no cache holds).

    ``Prefill()`` does nothing. Start it with :meth:`start`, call :meth:`take` before the
    build does an item itself, and :meth:`close` when the step is done.
    """

    def __init__(
        self,
        items: Sequence[str] = (),
        work: Callable[[str], object] | None = None,
        memo: PageCache | None = None,
        workers: int = 0,
        before: Callable[[], object] | None = None,
    ) -> None:
        self.items = list(items)
        self.before = before
        """Work that only saves the build time later (files it would write, and then only
        rewrites where they differ): the first worker does it before its chunks, while the
        build goes on from the front. Without workers nobody does it."""
        self.work = work
        self.memo = memo
        self.workers = workers
        self.done_ahead = 0
        """Items whose chunk a worker did (what it remembered joined the cache)."""
        self._pid = os.getpid()
        self._token = next(_tokens)
        self._chunks: list[list[str]] = []
        self._chunk_of: dict[str, int] = {}
        self._claims: Any = None
        """One byte per chunk, shared with the workers: 0 free, 1 the build's, 2 a
        worker's. Not a lock: when two claim a chunk at once, both do it (and the build
        uses its own), which costs a worker's time, never a result."""
        self._readers: dict[Any, Any] = {}
        """Each running worker's end of its pipe → the worker: (chunk, entries, results)
        come through it, then the end of the file when the worker ends (or dies)."""
        self._received: dict[int, tuple[list[tuple[str, str]], dict[str, Any]]] = {}
        self._results: dict[str, Any] = {}

    def start(self) -> Prefill:
        """Fork the workers, which take the chunks from the last items on; nothing is
        started for too few items or no workers, or while another thread runs."""
        if self.work is None or self.memo is None:
            return self
        if self.workers < 1 or len(self.items) < MINIMUM or not alone():
            return self
        context = multiprocessing.get_context("fork")
        for end in range(len(self.items), 0, -CHUNK):
            self._chunks.append(self.items[max(0, end - CHUNK) : end])
            for item in self._chunks[-1]:
                self._chunk_of[item] = len(self._chunks) - 1
        self._claims = context.RawArray("b", len(self._chunks))
        # Not a process pool: its feeding thread needs the GIL, which the build's busy
        # thread holds 5 ms at a time, so workers sat idle between chunks. Each worker goes
        # through the chunks itself and sends what it made through a pipe of its own.
        _jobs[self._token] = (self.work, self.memo, self._claims, self._chunks, self.before)
        try:
            for number in range(self.workers):
                reader, writer = context.Pipe(duplex=False)
                process = context.Process(
                    target=_work_through, args=(self._token, number == 0, writer), daemon=True
                )
                process.start()
                writer.close()  # the worker's alone: its end of file when it ends or dies
                self._readers[reader] = process
        except Exception:  # no fork (a limit on processes, a daemonic parent): fewer workers
            pass
        return self

    def take(self, item: str) -> Any:
        """The build is about to do ``item``: claim its chunk if no worker started it,
        else wait for the chunk and add what the worker remembered to the cache. Returns
        what ``work`` returned for ``item`` in the worker when that was not ``None``."""
        if os.getpid() != self._pid:  # in a worker: it does its items itself
            return None
        number = self._chunk_of.pop(item, None)
        if number is None:
            return None
        claimed, self._claims[number] = self._claims[number], 1
        if claimed == 2 and self._wait_for(number):
            entries, results = self._received.pop(number)
            self.memo.adopt(entries)  # type: ignore[union-attr]
            self._results.update(results)
            self.done_ahead += len(self._chunks[number])
        return self._results.pop(item, None)

    def _wait_for(self, number: int) -> bool:
        """Read the workers' results until chunk ``number`` is among them; ``False`` when
        every worker has ended without it (one died, or failed)."""
        while number not in self._received:
            if not self._receive():
                return False
        return True

    def _receive(self) -> bool:
        """One chunk's results from the workers; ``False`` when none will come any more."""
        silent = 0.0
        while self._readers:
            ready = connection.wait(list(self._readers), timeout=POLL)
            if not ready:
                silent += POLL
                if silent >= SILENCE:  # stuck: the build does the rest itself
                    self._stop()
                continue
            for reader in ready:
                try:
                    number, entries, results = reader.recv()
                except (EOFError, OSError, ValueError, TypeError, pickle.UnpicklingError):
                    # The worker ended (or died mid-message): nothing more comes from it.
                    self._readers.pop(reader).join()
                    reader.close()
                    continue
                self._received[number] = (entries, results)
                return True
        return False

    def _stop(self) -> None:
        for reader, process in self._readers.items():
            process.kill()
            process.join()
            reader.close()
        self._readers.clear()

    def close(self) -> None:
        """Stop the workers: the chunks they have not started are the build's; what they
        are still making is read and dropped (a full pipe would keep them from ending)."""
        _jobs.pop(self._token, None)
        if self._claims is not None:
            for number in range(len(self._chunks)):
                if self._claims[number] == 0:
                    self._claims[number] = 1
        while self._receive():
            pass
        self._stop()
        self._received.clear()
        self._results.clear()
        self._chunk_of.clear()

    def __enter__(self) -> Prefill:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def remembered_map(
    keys: Mapping[str, str], made: Callable[[str], T], memo: PageCache, jobs: int
) -> dict[str, T]:
    """``made(item)`` for every item of ``keys`` (item → its key in ``memo``), in order,
    where ``made`` recalls the item's entry or makes and remembers it. The items whose
    entries are missing are made by worker processes too, from the last one on."""

    def work(item: str) -> None:
        made(item)

    missing = [item for item, key in keys.items() if not memo.has(key)]
    out: dict[str, T] = {}
    with Prefill(missing, work, memo, workers_for(jobs)) as ahead:
        for item in keys:
            ahead.take(item)
            out[item] = made(item)
    return out


def _start_worker(token: int) -> None:
    """In a new worker: what it logs is the build's business only when the build does the
    page itself, so nothing is printed; remembered entries are collected and handed back."""
    devnull = open(os.devnull, "w")  # noqa: SIM115 - the worker's whole life
    sys.stdout = sys.stderr = devnull
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        if isinstance(logger, logging.Logger):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
    logging.lastResort = logging.NullHandler()
    _jobs[token][1].work_in_worker()


def _work_through(token: int, first: bool, out: Any) -> None:
    """A worker: the build's head start (the first worker), then every chunk the build has
    not claimed, from the first (the last items) on; each chunk's remembered entries and
    results go to the build through ``out``, sent by a thread of the worker's so that a
    full pipe (the build reads when it needs a chunk) does not stop the work."""
    _start_worker(token)
    work, memo, claims, chunks, before = _jobs[token]
    outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def send() -> None:
        for message in iter(outbox.get, None):
            out.send(message)

    sender = threading.Thread(target=send)
    sender.start()
    if first and before is not None:
        with contextlib.suppress(Exception):
            before()
    for number, chunk in enumerate(chunks):
        if claims[number]:
            continue
        claims[number] = 2
        results = {}
        for item in chunk:
            try:
                result = work(item)
            except Exception:  # the build does this item itself and reports it
                continue
            if result is not None:
                results[item] = result
        outbox.put((number, memo.collected(), results))
    outbox.put(None)
    sender.join()
    out.close()
