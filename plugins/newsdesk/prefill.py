"""Per-page steps of a build done on every core when many pages miss the page cache.

A build does some steps once per page, in the order the site generator hands the pages
over, and remembers each page's result in the page cache (:mod:`newsdesk.pagecache`): the
Markdown conversion, the glossary links and port tables, the search entries. In a cold
build every page misses, and the build would do them all on one core.

:class:`Prefill` forks worker processes that run the same step, on a copy of the build's
state, for the pages from the far end of the list, a chunk at a time, and remember what
they make. The build process goes on from the front; before it does a page's step itself
it calls :meth:`Prefill.take`. A chunk no worker has started is claimed (the build does
those pages itself); a started one is waited for, and what the worker remembered joins the
build's cache, where the step then finds it. The two ends meet in the middle.

Correct by construction: a worker runs the very code the build runs, and its results reach
the build only through the cache, keyed on everything the step reads. Where a worker saw
different input (another plugin's state, say), its key differs and the build process does
the page itself; a worker that fails or dies costs time, never a wrong page.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newsdesk.pagecache import PageCache

#: Fewer pages than this to do: one process is as quick as forking workers.
MINIMUM = 32
#: Pages a worker does per chunk: small enough that the build waits little where the two
#: ends meet, large enough that handing a chunk over is a small part of its cost.
CHUNK = 8

_jobs: dict[int, tuple[Callable[[str], object], PageCache, Any]] = {}
_tokens = itertools.count()


def workers_for(jobs: int) -> int:
    """How many worker processes to fork for the ``jobs`` setting (0: one per core besides
    the build's own), or 0 where forking is not known to be safe: not on Linux."""
    forks = "fork" in multiprocessing.get_all_start_methods()
    if not sys.platform.startswith("linux") or not forks:
        return 0
    cores = len(os.sched_getaffinity(0))
    return max(0, (jobs or cores) - 1)


class Prefill:
    """Workers doing ``work(item)`` for ``items`` from the end, remembering into ``memo``.

    ``work`` is the step as the build runs it for one item; in a worker it remembers its
    result through ``memo``, which hands the entries back. Start it with :meth:`start`
    (after which no other thread may be started before :meth:`close`), call :meth:`take`
    before the build does an item itself, and :meth:`close` when the step is done.
    """

    def __init__(
        self,
        items: Sequence[str] = (),
        work: Callable[[str], object] | None = None,
        memo: PageCache | None = None,
        workers: int = 0,
    ) -> None:
        self.items = list(items)
        self.work = work
        self.memo = memo
        self.workers = workers
        self.done_ahead = 0
        """Items whose chunk a worker did (what it remembered joined the cache)."""
        self._pid = os.getpid()
        self._token = next(_tokens)
        self._pool: ProcessPoolExecutor | None = None
        self._chunk_of: dict[str, int] = {}
        self._futures: list[Future[list[tuple[str, str]]]] = []
        self._sizes: list[int] = []
        self._claims: Any = None
        """One byte per chunk, shared with the workers: 0 free, 1 the build's, 2 a
        worker's. Not a lock: when both claim a chunk at once, both do it (and the build
        uses its own), which costs a worker's time, never a result. (A cancelled future
        would do, but Python 3.11's pool hangs on one when a worker dies.)"""

    def start(self) -> Prefill:
        """Fork the workers and hand them the chunks, the last items first; nothing is
        started for too few items or no workers."""
        if self.work is None or self.memo is None:
            return self
        if self.workers < 1 or len(self.items) < MINIMUM:
            return self
        # A process forked while another thread holds a lock can hang: the cache's writer
        # thread is joined, and with any other thread running (a live preview's server)
        # nothing is forked.
        self.memo.flush()
        if threading.active_count() > 1:
            return self
        context = multiprocessing.get_context("fork")
        ends = range(len(self.items), 0, -CHUNK)
        self._claims = context.RawArray("b", len(ends))
        _jobs[self._token] = (self.work, self.memo, self._claims)
        try:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(self._token,),
            )
            for number, end in enumerate(ends):
                chunk = self.items[max(0, end - CHUNK) : end]
                self._futures.append(self._pool.submit(_run_chunk, self._token, number, chunk))
                self._sizes.append(len(chunk))
                for item in chunk:
                    self._chunk_of[item] = number
        except OSError:  # no fork (a limit on processes): the build does every item
            self.close()
        return self

    def take(self, item: str) -> None:
        """The build is about to do ``item``: claim its chunk if no worker started it,
        else wait for the chunk and add what the worker remembered to the cache."""
        if os.getpid() != self._pid:  # in a worker: it does its items itself
            return
        number = self._chunk_of.pop(item, None)
        if number is None or self._claims[number] == 1:
            return
        if self._claims[number] == 0:
            self._claims[number] = 1
            return
        self._claims[number] = 1  # waited for once
        try:
            entries = self._futures[number].result()
        except Exception:  # a worker died (BrokenProcessPool) or failed: the build does these
            return
        self.memo.adopt(entries)
        self.done_ahead += self._sizes[number]

    def close(self) -> None:
        """Stop the workers: the chunks they have not started are the build's (a chunk
        still running is waited for)."""
        _jobs.pop(self._token, None)
        if self._pool is not None:
            for number in range(len(self._futures)):
                if self._claims[number] == 0:
                    self._claims[number] = 1
            self._pool.shutdown(wait=True)
            self._pool = None
        self._chunk_of.clear()

    def __enter__(self) -> Prefill:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _start_worker(token: int) -> None:
    """In a new worker: what it logs is the build's business only when the build does the
    page itself, so nothing is printed; remembered entries are collected, not queued for a
    writer thread the fork did not copy."""
    devnull = open(os.devnull, "w")  # noqa: SIM115 - the worker's whole life
    sys.stdout = sys.stderr = devnull
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        if isinstance(logger, logging.Logger):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
    logging.lastResort = logging.NullHandler()
    _jobs[token][1].work_in_worker()


def _run_chunk(token: int, number: int, items: list[str]) -> list[tuple[str, str]]:
    """In a worker: unless the build claimed chunk ``number``, do its ``items`` and return
    what was remembered meanwhile."""
    work, memo, claims = _jobs[token]
    if claims[number]:
        return []
    claims[number] = 2
    for item in items:
        try:
            work(item)
        except Exception:  # the build does this item itself and reports it
            continue
    return memo.collected()
