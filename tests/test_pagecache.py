"""The page cache: a site built with a warm cache is the site built with none, byte for byte,
after every kind of change an author makes; warnings come back from the cache."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from benchmarks.generate import generate_project

from newsdesk import pagecache, prefill
from newsdesk.cli import main as newsdesk_main

MKDOCS = Path(sys.executable).with_name("mkdocs")
_PROBLEM = re.compile(r"^(WARNING|ERROR)\s+-\s+(.*)$", re.M)
_SUMMARY = re.compile(r"newsdesk: pages: (\d+) converted, (\d+) from the cache")
_LINKS = re.compile(r"links and port tables: (\d+) made, (\d+) from the cache")
LINKS: list[tuple[int, int]] = []
"""(made, from the cache) of the glossary links and port tables, one per build."""


def _build(root: Path, site: Path) -> tuple[list[str], tuple[int, int] | None]:
    """``mkdocs build`` (verbose enough for newsdesk's summary); the warnings and errors
    logged, and (converted, from the cache)."""
    proc = subprocess.run(
        [str(MKDOCS), "build", "-f", str(root / "mkdocs.yml"), "-d", str(site)],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    found = _SUMMARY.search(out)
    links = _LINKS.search(out)
    if links:
        LINKS.append((int(links.group(1)), int(links.group(2))))
    counts = (int(found.group(1)), int(found.group(2))) if found else None
    return sorted(m.group(2).strip() for m in _PROBLEM.finditer(out)), counts


def _tree(folder: Path) -> dict[str, bytes]:
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":  # sitemap.xml.gz: gzip's header carries a time
                data = gzip.decompress(data)
            out[path.relative_to(folder).as_posix()] = data
    return out


def _assert_same(warm: Path, cold: Path) -> None:
    a, b = _tree(warm), _tree(cold)
    assert sorted(a) == sorted(b)
    different = [name for name in a if a[name] != b[name]]
    assert different == [], f"warm and cold builds differ in {different[:10]}"


class Pair:
    """One project built twice per step: with the cache of the previous builds (warm)
    and with no ``.newsdesk/`` at all (cold)."""

    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root
        self.tmp = tmp
        self.step = 0

    def check(self) -> tuple[list[str], tuple[int, int] | None]:
        self.step += 1
        warm_site, cold_site = self.tmp / f"warm{self.step}", self.tmp / f"cold{self.step}"
        state = self.root / ".newsdesk"
        warnings, counts = _build(self.root, warm_site)
        warm_renderings = _tree(state / "renderings")
        kept = self.tmp / "kept-state"
        shutil.move(state, kept)
        try:
            cold_warnings, cold_counts = _build(self.root, cold_site)
            cold_renderings = _tree(state / "renderings")
        finally:
            shutil.rmtree(state, ignore_errors=True)
            shutil.move(kept, state)
        assert warnings == cold_warnings, "the cache gives back every warning"
        assert cold_counts is not None and cold_counts[1] == 0
        _assert_same(warm_site, cold_site)
        assert warm_renderings == cold_renderings, "renderings (and their problems) alike"
        return warnings, counts


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cached") / "letter"
    generate_project(root, 12, 40, pdf=False)
    return root


@pytest.mark.slow
def test_warm_builds_are_byte_identical_after_every_kind_of_change(
    project: Path, tmp_path: Path
) -> None:
    pair = Pair(project, tmp_path)
    warnings, counts = pair.check()  # first build: everything converted
    assert warnings == []
    assert counts is not None and counts[1] == 0
    pages = counts[0]

    warnings, counts = pair.check()  # nothing changed
    assert counts == (0, pages)
    assert LINKS[-2][0] == 0, "links and port tables all from the cache (the warm build)"

    news = project / "newsletters"
    issues = sorted(news.glob("2*.md"))

    # One issue edited: that issue alone is converted again.
    edited = issues[3]
    edited.write_text(
        edited.read_text(encoding="utf-8") + "\nA new closing line.\n", encoding="utf-8"
    )
    warnings, counts = pair.check()
    assert counts == (1, pages - 1)

    # A term added to the glossary: the glossary changes, the issues' HTML does not.
    glossary = news / "glossary.yml"
    glossary.write_text(
        glossary.read_text(encoding="utf-8")
        + "- term: spool\n  definition: Where mail waits for its turn.\n",
        encoding="utf-8",
    )
    pair.check()
    assert LINKS[-2][1] == 0, "a new glossary term: every page linked again"

    # An issue renamed (file and slug): the pages linking to it by file name are
    # converted again (and so is the archive that lists it).
    old = issues[1]
    linkers = [p for p in issues if f"]({old.name})" in p.read_text(encoding="utf-8")]
    assert linkers, "the generator links issues to earlier ones"
    text = old.read_text(encoding="utf-8").replace("slug: issue-0002", "slug: renamed-two")
    new = old.with_name(old.name.replace("issue-0002", "renamed-two"))
    new.write_text(text, encoding="utf-8")
    old.unlink()
    warnings, counts = pair.check()
    assert len(warnings) >= len(linkers), "broken links are reported from the cache too"
    assert all(old.name in w for w in warnings)
    assert counts is not None and counts[0] >= len(linkers) + 1
    warnings, counts = pair.check()  # the same again, all from the cache, warnings too
    assert len(warnings) >= len(linkers)
    assert counts is not None and counts[0] == 0

    # A page deleted that others link to.
    issues = sorted(news.glob("2*.md"))
    target = issues[5]
    assert any(f"]({target.name})" in p.read_text(encoding="utf-8") for p in issues if p != target)
    target.unlink()
    warnings, _ = pair.check()
    assert any(target.name in w for w in warnings)

    # A Markdown extension added: every page converted again.
    config = project / "mkdocs.yml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "markdown_extensions:\n", "markdown_extensions:\n  - smarty\n", 1
        ),
        encoding="utf-8",
    )
    warnings, counts = pair.check()
    assert counts is not None and counts[1] == 0


def test_cache_off_builds_the_same_site_and_keeps_no_cache(project: Path, tmp_path: Path) -> None:
    root = tmp_path / "letter"
    shutil.copytree(project, root, ignore=shutil.ignore_patterns(".newsdesk", "site"))
    _, counts = _build(root, tmp_path / "on")
    assert counts is not None
    config = root / "mkdocs.yml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "      newsletter_name:", "      cache: false\n      newsletter_name:", 1
        ),
        encoding="utf-8",
    )
    shutil.rmtree(root / ".newsdesk")
    _, counts = _build(root, tmp_path / "off")
    assert counts is None, "no cache, no summary"
    assert not (root / ".newsdesk" / pagecache.FOLDER).exists()
    _assert_same(tmp_path / "on", tmp_path / "off")


def test_newsdesk_cache_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "letter"
    generate_project(root, 2, 6, pdf=False)
    _build(root, tmp_path / "site")
    folder = root / ".newsdesk" / pagecache.FOLDER
    entries = _rows(folder)
    assert entries > 0
    assert newsdesk_main(["cache", "clear", "-f", str(root / "mkdocs.yml")]) == 0
    assert not folder.exists()
    assert f"({entries} entries)" in capsys.readouterr().out
    assert (root / ".newsdesk" / "renderings").is_dir(), "only the page cache goes"
    _, counts = _build(root, tmp_path / "site")
    assert counts is not None and counts[0] > 0 and counts[1] == 0


def test_stable_repr_names_functions_and_refuses_addresses() -> None:
    assert pagecache.stable_repr({"b": [1, "x"], "a": None}) == pagecache.stable_repr(
        {"a": None, "b": [1, "x"]}
    )
    assert pagecache.stable_repr(os.path.join) == "<posixpath.join>"
    with pytest.raises(pagecache.Unstable):
        pagecache.stable_repr(object())
    with pytest.raises(pagecache.Unstable, match="reads other files"):
        pagecache.environment_salt({"markdown_extensions": ["toc", "pymdownx.snippets"]})
    assert pagecache.environment_salt({"markdown_extensions": ["toc"]})


def test_a_damaged_entry_is_converted_again(tmp_path: Path) -> None:
    cache = pagecache.PageCache(tmp_path, "salt")
    key = cache.key(markdown="# x")
    cache.put(key, pagecache.PageEntry("<p>x</p>", [], None, [], {}, {"a.md": None}))
    assert cache.get(key, lambda uri: None) is not None
    assert cache.get(key, lambda uri: ["a/", "INCLUDED"]) is None, "a link's target changed"
    cache.flush()
    with closing(sqlite3.connect(tmp_path / pagecache.DATABASE)) as db, db:
        db.execute("UPDATE entries SET data = '{broken' WHERE key = ?", (key,))
    again = pagecache.PageCache(tmp_path, "salt")
    assert again.get(key, lambda uri: None) is None
    assert (cache.hits, cache.misses, again.misses) == (1, 1, 1)


def test_a_damaged_database_is_made_anew(tmp_path: Path) -> None:
    (tmp_path / pagecache.DATABASE).write_bytes(b"not a database at all" * 100)
    cache = pagecache.PageCache(tmp_path, "salt")
    key = cache.key(page="a")
    assert cache.recall(key) is None
    cache.remember(key, {"n": 1})
    cache.prune()
    assert pagecache.PageCache(tmp_path, "salt").recall(key) == {"n": 1}
    assert _rows(tmp_path) == 1


def test_a_folder_that_cannot_be_written_is_no_cache_and_no_error(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder would be")
    cache = pagecache.PageCache(blocked / "cache", "salt")
    key = cache.key(page="a")
    cache.remember(key, {"n": 1})
    cache.prune()
    assert pagecache.PageCache(blocked / "cache", "salt").recall(key) is None
    assert pagecache.clear(blocked) == 0


def test_entries_are_written_in_the_background_and_read_back_at_once(tmp_path: Path) -> None:
    cache = pagecache.PageCache(tmp_path / "cache", "salt")
    assert cache.recall(cache.key(page="a")) is None  # the folder does not exist yet
    keys = [cache.key(page=str(n)) for n in range(200)]
    for n, key in enumerate(keys):
        cache.remember(key, {"n": n})
    # Before the writer is done, this instance recalls what it was given.
    assert [cache.recall(key) for key in keys] == [{"n": n} for n in range(200)]
    cache.prune()
    assert _rows(tmp_path / "cache") == 200
    again = pagecache.PageCache(tmp_path / "cache", "salt")
    assert [again.recall(key) for key in keys[:100]] == [{"n": n} for n in range(100)]
    again.prune()
    assert _rows(tmp_path / "cache") == 100, "entries this build did not use are deleted"


def _rows(folder: Path) -> int:
    """How many entries the page cache's database in ``folder`` holds."""
    with closing(sqlite3.connect(folder / pagecache.DATABASE)) as db:
        return db.execute("SELECT count(*) FROM entries").fetchone()[0]


_WORKERS = re.compile(
    r"worker processes: (\d+) pages converted, (\d+) made from the theme's template"
)


def _build_with_jobs(
    root: Path, site: Path, jobs: int, extra: str = "", *, ok: bool = True
) -> tuple[str, dict[str, bytes]]:
    """A cold build of ``root`` with ``jobs`` (and ``extra`` lines at the end of
    mkdocs.yml); its log and its renderings (the stamp left out unless the build failed)."""
    config = root / "mkdocs.yml"
    original = config.read_text(encoding="utf-8")
    option = f"      jobs: {jobs}\n      newsletter_name:"
    config.write_text(original.replace("      newsletter_name:", option, 1) + extra, "utf-8")
    shutil.rmtree(root / ".newsdesk", ignore_errors=True)
    try:
        proc = subprocess.run(
            [str(MKDOCS), "build", "-f", str(config), "-d", str(site)],
            capture_output=True,
            text=True,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        )
    finally:
        config.write_text(original, encoding="utf-8")
    assert (proc.returncode == 0) == ok, proc.stderr[-3000:]
    made = _tree(root / ".newsdesk" / "renderings")
    if ok:
        made.pop(".built")  # the stamp names mkdocs.yml's time, edited for each build
    return proc.stdout + proc.stderr, made


@pytest.fixture(scope="module")
def forty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with enough pages for worker processes (40 issues), with broken links
    late in the list, where workers convert the pages: warnings."""
    root = tmp_path_factory.mktemp("forty") / "letter"
    generate_project(root, 40, 40, pdf=False)
    for page in sorted((root / "newsletters").glob("2*.md"))[-8:]:
        with page.open("a", encoding="utf-8") as f:
            f.write("\nSee [the lost issue](2001-01-01-lost.md).\n")
    return root


@pytest.mark.slow
@pytest.mark.skipif(not prefill.workers_for(3), reason="no fork on this platform")
def test_pages_made_by_worker_processes_are_the_pages_one_process_makes(
    forty: Path, tmp_path: Path
) -> None:
    """A cold build with worker processes (``jobs: 3``) against one without (``jobs: 1``):
    the same site, renderings and warnings, those of pages a worker converted included."""
    log, renderings = _build_with_jobs(forty, tmp_path / "site3", 3)
    alone, renderings_alone = _build_with_jobs(forty, tmp_path / "site1", 1)
    ahead = _WORKERS.search(log)
    assert ahead and int(ahead.group(1)) > 0 and int(ahead.group(2)) > 0, log[-2000:]
    assert "worker processes" not in alone
    warnings = [sorted(m.group(2).strip() for m in _PROBLEM.finditer(x)) for x in (log, alone)]
    assert warnings[0] == warnings[1]
    assert sum("2001-01-01-lost.md" in w for w in warnings[0]) == 8
    _assert_same(tmp_path / "site3", tmp_path / "site1")
    assert renderings == renderings_alone


LATE_ENV = """
from mkdocs.plugins import event_priority


@event_priority(-50)  # after newsdesk's, as mkdocs-autorefs' fixes pages' links
def on_env(env, config, files):
    for file in files.documentation_pages():
        if file.page is not None and file.page.content:
            file.page.content = file.page.content.replace("<p>", '<p data-late="1">', 1)
    return env
"""


@pytest.mark.slow
@pytest.mark.skipif(not prefill.workers_for(3), reason="no fork on this platform")
def test_a_page_changed_after_the_workers_started_is_made_by_the_build(
    forty: Path, tmp_path: Path
) -> None:
    """Another plugin's ``on_env`` that runs after newsdesk's changes every page: the
    workers' HTML is not used, and the site is the site one process makes."""
    (forty / "late_env.py").write_text(LATE_ENV, encoding="utf-8")
    hooks = "\nhooks:\n  - late_env.py\n"
    log, _ = _build_with_jobs(forty, tmp_path / "site3", 3, hooks)
    _build_with_jobs(forty, tmp_path / "site1", 1, hooks)
    ahead = _WORKERS.search(log)
    assert ahead and int(ahead.group(2)) == 0, "no page from a worker's template"
    page = next((tmp_path / "site3" / "issues").rglob("index.html")).read_text("utf-8")
    assert 'data-late="1"' in page
    _assert_same(tmp_path / "site3", tmp_path / "site1")


FAILS = """
def on_post_page(output, page, config):
    if page.file.src_uri.endswith("about.md"):
        raise RuntimeError("a plugin fails late in the build")
    return output
"""


@pytest.mark.slow
@pytest.mark.skipif(not prefill.workers_for(3), reason="no fork on this platform")
def test_a_failed_build_leaves_no_renderings_that_look_current(forty: Path, tmp_path: Path) -> None:
    """The workers write the renderings ahead; when the build then fails, the stamp says
    the sources are unknown, so ``newsdesk send`` builds again instead of trusting them."""
    (forty / "fails.py").write_text(FAILS, encoding="utf-8")
    _, renderings = _build_with_jobs(
        forty, tmp_path / "site", 3, "\nhooks:\n  - fails.py\n", ok=False
    )
    assert len(renderings) > 30, "the head start was written"
    assert json.loads(renderings[".built"]) == {}, "and stamped as of unknown sources"


def test_a_locked_database_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = pagecache.PageCache(tmp_path, "salt")
    key = cache.key(page="a")
    cache.remember(key, {"n": 1})
    cache.prune()
    monkeypatch.setattr(pagecache, "LOCK_WAIT", 0.1)
    with closing(sqlite3.connect(tmp_path / pagecache.DATABASE)) as other:
        other.execute("BEGIN EXCLUSIVE")  # another build writing, for longer than we wait
        busy = pagecache.PageCache(tmp_path, "salt")
        assert busy.recall(key) is None, "no cache this time, and no error"
        busy.remember(busy.key(page="b"), {"n": 2})
        busy.prune()
        other.rollback()
    assert pagecache.PageCache(tmp_path, "salt").recall(key) == {"n": 1}, "not made anew"
