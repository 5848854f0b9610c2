"""Worker processes doing a build's per-page steps ahead of it (newsdesk.prefill): the build
gets the same results whoever made them, and a worker that fails only costs time."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from newsdesk import prefill
from newsdesk.pagecache import PageCache

ITEMS = [f"page-{n:03}" for n in range(120)]


def _alone(check, tmp_path: Path) -> None:
    """Run ``check(tmp_path)`` in a new process with one thread, as ``mkdocs build`` is:
    nothing is forked while another thread runs (pytest-xdist runs one here)."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        pool.submit(check, tmp_path).result()


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


def _check_workers_do_items_from_the_end_and_the_build_gets_them(tmp_path: Path) -> None:
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
    assert not few._readers, "no worker forked"
    few.close()
    # Another thread running (a live preview's server): nothing is forked.
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        busy = prefill.Prefill(ITEMS, len, memo, 2).start()
        assert not busy._readers, "no worker forked"
        busy.close()
    finally:
        stop.set()
        thread.join()


def _check_a_worker_that_dies_or_fails_costs_time_not_results(tmp_path: Path) -> None:
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


def _check_results_and_the_head_start_come_from_the_workers(tmp_path: Path) -> None:
    memo = PageCache(tmp_path / "cache", "salt")
    marker = tmp_path / "head-start"

    def work(item: str) -> str:
        time.sleep(0.003)
        return f"<html>{item}</html>"

    got, made = {}, set()
    with prefill.Prefill(ITEMS, work, memo, 1, before=marker.touch) as ahead:
        for item in ITEMS:
            html = ahead.take(item)
            if html is not None:
                made.add(item)
            got[item] = html or work(item)
    assert marker.exists(), "the first worker did the head start"
    assert got == {item: f"<html>{item}</html>" for item in ITEMS}
    assert ITEMS[-1] in made and ITEMS[0] not in made


def _check_remembered_map_gives_every_item_in_order(tmp_path: Path) -> None:
    memo = PageCache(tmp_path / "cache", "salt")
    keys = {item: memo.key(item=item) for item in ITEMS}

    def made(item: str) -> dict:
        data = memo.recall(keys[item])
        if data is None:
            time.sleep(0.002)
            data = {"upper": item.upper()}
            memo.remember(keys[item], data)
        return data

    out = prefill.remembered_map(keys, made, memo, jobs=3)
    assert list(out) == ITEMS and [d["upper"] for d in out.values()] == [i.upper() for i in ITEMS]
    memo.prune()
    again = PageCache(tmp_path / "cache", "salt")
    assert prefill.remembered_map(keys, made, again, jobs=3) == out


@pytest.mark.skipif(not prefill.workers_for(3), reason="no fork on this platform")
def test_workers_do_items_from_the_end_and_the_build_gets_them(tmp_path: Path) -> None:
    _alone(_check_workers_do_items_from_the_end_and_the_build_gets_them, tmp_path)


@pytest.mark.skipif(not prefill.workers_for(3), reason="no fork on this platform")
def test_a_worker_that_dies_or_fails_costs_time_not_results(tmp_path: Path) -> None:
    _alone(_check_a_worker_that_dies_or_fails_costs_time_not_results, tmp_path)


@pytest.mark.skipif(not prefill.workers_for(3), reason="no fork on this platform")
def test_results_and_the_head_start_come_from_the_workers(tmp_path: Path) -> None:
    _alone(_check_results_and_the_head_start_come_from_the_workers, tmp_path)


@pytest.mark.skipif(not prefill.workers_for(3), reason="no fork on this platform")
def test_remembered_map_gives_every_item_in_order(tmp_path: Path) -> None:
    _alone(_check_remembered_map_gives_every_item_in_order, tmp_path)
