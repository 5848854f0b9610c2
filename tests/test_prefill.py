"""Worker processes doing a build's per-page steps ahead of it (newsdesk.prefill): the build
gets the same results whoever made them, and a worker that fails only costs time."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from newsdesk import prefill
from newsdesk.pagecache import PageCache

ITEMS = [f"page-{n:03}" for n in range(120)]


def _step(memo: PageCache, done_by: dict[str, int]):
    """A build step as the build runs it: recall the item's entry, else make and remember
    it (noting which process made it)."""

    def work(item: str) -> dict:
        key = memo.key(step="test", item=item)
        data = memo.recall(key)
        if data is None:
            time.sleep(0.003)  # a page's worth of work: the workers start meanwhile
            data = {"item": item.upper(), "pid": os.getpid()}
            memo.remember(key, data)
        done_by[item] = data["pid"]
        return data

    return work


def _run(memo: PageCache, workers: int, work_in_worker=None) -> tuple[dict[str, dict], int]:
    done_by: dict[str, int] = {}
    work = _step(memo, done_by)
    results = {}
    with prefill.Prefill(ITEMS, work_in_worker or work, memo, workers) as ahead:
        for item in ITEMS:
            ahead.take(item)
            results[item] = work(item)
        done_ahead = ahead.done_ahead
    memo.prune()
    return results, done_ahead


@pytest.mark.skipif(not prefill.workers_for(3), reason="no fork on this platform")
def test_workers_do_items_from_the_end_and_the_build_gets_them(tmp_path: Path) -> None:
    memo = PageCache(tmp_path / "cache", "salt")
    results, done_ahead = _run(memo, workers=2)
    assert [r["item"] for r in results.values()] == [i.upper() for i in ITEMS]
    made_elsewhere = [i for i, r in results.items() if r["pid"] != os.getpid()]
    assert made_elsewhere, "workers made some of the items"
    assert done_ahead >= len(made_elsewhere)
    assert made_elsewhere[-1] == ITEMS[-1], "workers start from the far end"
    assert results[ITEMS[0]]["pid"] == os.getpid(), "the build starts from the front"
    assert all(memo.made_ahead(memo.key(step="test", item=i)) for i in made_elsewhere)
    # Everything was saved, whoever made it: the next build recalls it all.
    again = PageCache(tmp_path / "cache", "salt")
    assert all(again.has(again.key(step="test", item=i)) for i in ITEMS)


def test_no_workers_for_few_items_or_none_asked(tmp_path: Path) -> None:
    memo = PageCache(tmp_path / "cache", "salt")
    results, done_ahead = _run(memo, workers=0)
    assert done_ahead == 0 and {r["pid"] for r in results.values()} == {os.getpid()}
    few = prefill.Prefill(ITEMS[: prefill.MINIMUM - 1], len, memo, 2).start()
    assert few._pool is None
    few.close()


@pytest.mark.skipif(not prefill.workers_for(3), reason="no fork on this platform")
def test_a_worker_that_dies_or_fails_costs_time_not_results(tmp_path: Path) -> None:
    memo = PageCache(tmp_path / "cache", "salt")
    done_by: dict[str, int] = {}
    good = _step(memo, done_by)

    def dies(item: str) -> object:
        if item == ITEMS[-3]:
            os._exit(1)  # a worker killed mid-chunk
        if item.endswith("7"):
            raise RuntimeError("a page the worker cannot do")
        return good(item)

    results, _ = _run(memo, workers=1, work_in_worker=dies)
    assert [r["item"] for r in results.values()] == [i.upper() for i in ITEMS]


def test_workers_for_follows_the_setting() -> None:
    if not prefill.workers_for(0):
        pytest.skip("one core, or no fork")
    assert prefill.workers_for(1) == 0, "jobs: 1 is the build's own process only"
    assert prefill.workers_for(3) == 2
    assert prefill.workers_for(0) == len(os.sched_getaffinity(0)) - 1
