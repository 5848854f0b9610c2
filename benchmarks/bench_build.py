"""Build cost: ``mkdocs build`` with the newsdesk plugin (PDFs off) against the same Markdown
as plain pages of a plain Material site with the same Markdown extensions.

Each build is a fresh ``mkdocs build`` process, as an author runs it; the two sides
alternate. Targets (issue 16), at 1,000 issues: a rebuild with newsdesk's page cache warm
≤ 1.0× a plain Material build, a rebuild after one issue was edited (as each save in
``mkdocs serve`` rebuilds the site) ≤ 0.7×, and a cold build (empty ``.newsdesk/``) ≤ 1.15×;
on two corpora (``generate.SHAPES``): the synthetic issues and real-shaped weekly link
digests. Each build's peak memory (maximum resident set size) is measured with its time.
"""

from __future__ import annotations

import argparse
import itertools
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from benchmarks.common import MKDOCS, Section, Target, fmt, median, run_measured, side_by_side
from benchmarks.generate import WORK, generate_project, plain_project

#: Issue 16's limits, newsdesk/plain: a cold build (empty cache), a rebuild with nothing
#: changed (the goal is 0.7), and a rebuild after one issue was edited.
TARGET = 1.15
REBUILD_TARGET = 1.0
EDIT_TARGET = 0.7
#: (issues, terms, runs): medians at the smaller sizes (cache warm, nothing changed).
FULL = [(100, 300, 3), (300, 300, 3)]
QUICK = [(3, 12, 1)]
CORPUS_LABELS = {"synthetic": "synthetic issues", "newsletter": "real-shaped link digests"}
_WARNING = re.compile(r"^WARNING\b", re.M)
_PAGES = re.compile(r"newsdesk: pages: (\d+) converted, (\d+) from the cache")


def build(
    root: Path, pages: list[tuple[int, int]] | None = None, cpu: list[float] | None = None
) -> tuple[float, int, int]:
    """Build the site at ``root``; return (seconds, peak memory in KiB, number of warnings
    logged).

    With ``pages``, the build logs at INFO and newsdesk's (converted, from the cache) count
    is appended to it; with ``cpu``, its CPU seconds (worker processes included)."""
    quiet = [] if pages is not None else ["--quiet"]
    seconds, rss, proc = run_measured(
        [MKDOCS, "build", *quiet, "-f", root / "mkdocs.yml", "-d", root / "site"], cpu=cpu
    )
    log = proc.stdout + proc.stderr
    if pages is not None:
        found = _PAGES.search(log)
        pages.append((int(found.group(1)), int(found.group(2))) if found else (-1, -1))
    return seconds, rss, len(_WARNING.findall(log))


def run(
    quick: bool = False,
    sizes: list[tuple[int, int, int]] | None = None,
    corpora: list[Corpus] | None = None,
) -> Section:
    """Measure every size; return the section for RESULTS.md."""
    started = time.perf_counter()
    section = Section(
        name="build",
        title="1. Build cost: newsdesk plugin against a plain Material site",
        columns=[
            "Issues × terms",
            "Runs",
            "Plain Material",
            "newsdesk",
            "Ratio",
            "newsdesk per issue",
            "First build ratio",
            "Warnings",
        ],
        quick=quick,
    )
    sizes = sizes if sizes is not None else (QUICK if quick else FULL)
    for issues, terms, runs in sizes:
        root = WORK / f"build-{issues}x{terms}"
        project = generate_project(root / "newsdesk", issues, terms, pdf=False)
        plain = plain_project(project, root / "plain")
        warnings: list[int] = []
        every_nd: list[float] = []
        every_base: list[float] = []

        def newsdesk(
            _root: Path = project.root, _w: list[int] = warnings, _all: list[float] = every_nd
        ) -> float:
            seconds, _, count = build(_root)
            _w.append(count)
            _all.append(seconds)
            return seconds

        def baseline(_root: Path = plain, _all: list[float] = every_base) -> float:
            _all.append(build(_root)[0])
            return _all[-1]

        nd, base = side_by_side(newsdesk, baseline, runs=runs, warmup=not quick)
        ratios = [a / b for a, b in zip(nd, base, strict=True)]
        ratio = median(nd) / median(base)
        section.rows.append(
            [
                f"{issues + 1:,} × {terms + _project_terms()}",
                str(runs),
                fmt(median(base)),
                fmt(median(nd)),
                f"{ratio:.2f}"
                + (f" (pairs {min(ratios):.2f}–{max(ratios):.2f})" if runs > 1 else ""),
                f"{median(nd) / (issues + 1) * 1000:.0f} ms",
                # The warm-up: newsdesk's first build, its caches in .newsdesk/ empty.
                f"{every_nd[0] / every_base[0]:.2f}" if not quick else "",
                str(max(warnings)),
            ]
        )
        print(
            f"build {issues}x{terms}: plain {median(base):.2f} s, newsdesk {median(nd):.2f} s, "
            f"ratio {ratio:.2f}",
            flush=True,
        )
        section.figures[f"newsdesk_{issues}"] = median(nd)
        section.figures[f"plain_{issues}"] = median(base)
        section.figures[f"ratio_{issues}"] = ratio
    for corpus in corpora if corpora is not None else (CACHE_QUICK if quick else CACHE_FULL):
        cache_cases(section, corpus, quick=quick)
    section.notes.append(
        "Each figure is the wall-clock time of a fresh `mkdocs build` process (PDFs off); the "
        "two sides alternate, after a warm-up build of each (so newsdesk's caches in "
        "`.newsdesk/` are warm, as when an author rebuilds); medians. "
        "Issues are ~1,200 words with headings, lists, a table, code, an admonition and links, "
        "and mention ~15 distinct glossary terms each (~25 mentions); "
        "the plain site has the same Markdown files as plain pages with the same short "
        "navigation (issues `not_in_nav`) and the same Markdown extensions and search plugin. "
        "Since the page cache (`.newsdesk/page-cache`), these rows are rebuilds with "
        "nothing changed: every page comes from the cache."
    )
    section.notes.append(
        "The next tables: the page cache's cases at 1,000 issues, one table per corpus, each "
        "on one project, in rounds; each round measures every case as a pair (newsdesk, then "
        "plain; the other way round in odd rounds): *nothing changed* (the cache warm), *one "
        "issue edited* (a line appended to the same issue on both sides, a new line each "
        "round: one page converted, as after a save in `mkdocs serve`, which rebuilds the "
        "whole site), *cold* (`.newsdesk/` deleted first: every page converted and the cache "
        "written). *First build* is the very first build of each side after the project was "
        "written, once. Times are medians of the rounds; the ratio is the median of the "
        "pairs' ratios (range in brackets), the targets' figure; the ratio of the two medians "
        "beside it. *Peak memory* is the median over the rounds of each `mkdocs build` "
        "process's maximum resident set size (`os.wait4`), ratio newsdesk/plain in brackets. "
        "*Pages* is newsdesk's own count (converted / from the cache) in the last round. "
        "newsdesk's builds use worker processes (one per core besides the build's own: one "
        "here; `newsdesk.prefill`), plain MkDocs one process: *CPU time* is user + system "
        "seconds of each build, its workers included (`os.wait4`), so it shows the whole "
        "work; peak memory is the largest single process (a worker is a fork of the build "
        "and shares its unchanged pages). *Cold, one process* is a cold build with `jobs: 1` "
        "each round, against that round's cold plain build: what a one-core machine gets."
    )
    section.notes.append(
        "The corpora: *synthetic issues* as above; *real-shaped link digests* are modelled on "
        "weekly technical newsletters (This Week in Rust, LWN's weekly edition): mostly link "
        "lists – 100 to 250 bullets an issue, each a linked title and usually a one-sentence "
        "note – under 6–12 `##` sections, some split by `###`, 1–4 code blocks, 1–3 quotes, "
        "a table in about every third issue; ~3,000 words an issue (about 1,500 to 4,500), "
        "about 2.5× the synthetic issues, and sparser glossary mentions. Their text is "
        "generated, not copied. The synthetic corpus runs "
        f"{CACHE_FULL[0].rounds} rounds, the real-shaped one {CACHE_FULL[1].rounds}: its "
        "builds take ~3× as long and `make bench` has to stay within ~30 minutes."
    )
    section.seconds = time.perf_counter() - started
    return section


@dataclass
class Corpus:
    """One corpus of the page cache's cases: its shape, size and rounds."""

    shape: str
    issues: int
    terms: int
    rounds: int

    @property
    def label(self) -> str:
        return CORPUS_LABELS[self.shape]

    @property
    def prefix(self) -> str:
        """Prefix of its figures' names: none for the synthetic corpus (as before)."""
        return "" if self.shape == "synthetic" else f"{self.shape}_"


@dataclass
class Sides:
    """One case's measurements: seconds and peak memory (KiB) of each side, per round."""

    newsdesk: list[float] = field(default_factory=list)
    plain: list[float] = field(default_factory=list)
    newsdesk_rss: list[int] = field(default_factory=list)
    plain_rss: list[int] = field(default_factory=list)
    newsdesk_cpu: list[float] = field(default_factory=list)
    plain_cpu: list[float] = field(default_factory=list)

    def ratios(self) -> list[float]:
        return [a / b for a, b in zip(self.newsdesk, self.plain, strict=True)]

    def cpu(self) -> str:
        """Median CPU seconds of both sides (workers included): "plain / newsdesk s (×)"."""
        nd, base = median(self.newsdesk_cpu), median(self.plain_cpu)
        return f"{base:.1f} / {nd:.1f} s ({nd / base:.2f}×)"

    def memory(self) -> str:
        """Median peak memory of both sides: "plain / newsdesk MB (ratio×)"."""
        nd, base = median(self.newsdesk_rss) / 1024, median(self.plain_rss) / 1024
        return f"{base:.0f} / {nd:.0f} MB ({nd / base:.2f}×)"


#: The page cache's cases, each round alternating sides. The real-shaped corpus is ~2.5×
#: the synthetic one's words (a plain build ~3×), so it runs fewer rounds to keep
#: ``make bench`` within ~30 minutes on 2 cores.
CACHE_FULL = [Corpus("synthetic", 1000, 300, 5), Corpus("newsletter", 1000, 300, 3)]
CACHE_QUICK = [Corpus("synthetic", 3, 12, 1), Corpus("newsletter", 3, 12, 1)]
#: The case of a cold build without worker processes.
ONE_PROCESS = "cold, one process (jobs: 1)"


def cache_cases(section: Section, corpus: Corpus, *, quick: bool) -> None:
    """The page cache's cases for one corpus: a table of their own, and the targets."""
    issues, terms, rounds = corpus.issues, corpus.terms, corpus.rounds
    started = time.perf_counter()
    root = WORK / f"cache-{corpus.shape}-{issues}x{terms}"
    project = generate_project(root / "newsdesk", issues, terms, pdf=False, shape=corpus.shape)
    plain = plain_project(project, root / "plain")
    edited = project.issues[len(project.issues) // 2]
    edited_plain = plain / "docs" / "issues" / edited.name
    counter = itertools.count(1)
    pages: list[tuple[int, int]] = []

    def measure(sides: Sides, newsdesk_first: bool) -> None:
        for newsdesk in (newsdesk_first, not newsdesk_first):
            if newsdesk:
                seconds, rss, _ = build(project.root, pages, sides.newsdesk_cpu)
                sides.newsdesk.append(seconds)
                sides.newsdesk_rss.append(rss)
            else:
                seconds, rss, _ = build(plain, cpu=sides.plain_cpu)
                sides.plain.append(seconds)
                sides.plain_rss.append(rss)

    config = project.root / "mkdocs.yml"
    settings = config.read_text(encoding="utf-8")

    def one_process(sides: Sides, cold: Sides) -> None:
        """A cold build with ``jobs: 1`` (no worker processes), against the plain build of
        the same round's cold pair: what a one-core machine would see."""
        empty_cache()
        config.write_text(
            settings.replace("  - newsdesk:\n", "  - newsdesk:\n      jobs: 1\n", 1),
            encoding="utf-8",
        )
        try:
            seconds, rss, _ = build(project.root, pages, sides.newsdesk_cpu)
        finally:
            config.write_text(settings, encoding="utf-8")
        sides.newsdesk.append(seconds)
        sides.newsdesk_rss.append(rss)
        sides.plain.append(cold.plain[-1])
        sides.plain_rss.append(cold.plain_rss[-1])
        sides.plain_cpu.append(cold.plain_cpu[-1])

    def edit() -> None:
        line = f"\nAn edited line, number {next(counter)}.\n"
        for path in (edited, edited_plain):
            path.write_text(path.read_text(encoding="utf-8") + line, encoding="utf-8")

    def empty_cache() -> None:
        shutil.rmtree(project.root / ".newsdesk", ignore_errors=True)

    first = Sides()
    measure(first, newsdesk_first=True)
    first_pages = pages[-1]
    cases: dict[str, Callable[[], None] | None] = {
        "nothing changed": None,
        "one issue edited": edit,
        "cold (empty cache)": empty_cache,
    }
    times = {case: Sides() for case in cases}
    last_pages: dict[str, tuple[int, int]] = {}
    alone = ONE_PROCESS
    times[alone] = Sides()
    for i in range(rounds):
        for case, before in cases.items():
            if before is not None:
                before()
            measure(times[case], newsdesk_first=i % 2 == 0)
            last_pages[case] = pages[-1]
        one_process(times[alone], times["cold (empty cache)"])
        last_pages[alone] = pages[-1]
    times["first build"] = first
    last_pages["first build"] = first_pages
    report_cases(section, corpus, times, last_pages, quick=quick)
    section.figures[f"{corpus.prefix}seconds_{issues}"] = time.perf_counter() - started


def report_cases(
    section: Section,
    corpus: Corpus,
    times: dict[str, Sides],
    last_pages: dict[str, tuple[int, int]],
    *,
    quick: bool,
) -> None:
    """The cases' table, figures and targets for one corpus."""
    issues, terms = corpus.issues, corpus.terms
    n = f"{issues + 1:,}"
    header = [f"{corpus.label}: {n} issues × {terms + _project_terms()} terms", "Runs"]
    header += [
        "Plain Material",
        "newsdesk",
        "Ratio (median of pairs)",
        "Ratio of medians",
        "Peak memory (plain / newsdesk)",
        "CPU time (plain / newsdesk)",
        "Pages (converted / cached)",
    ]
    table = [header]
    ratios: dict[str, float] = {}
    for case, sides in times.items():
        pair = sides.ratios()
        # The pairs' median: each pair ran back to back, so a load that comes and goes on
        # the shared machine hits both sides of a pair more alike than the two medians.
        ratios[case] = median(pair)
        spread = f" ({min(pair):.2f}–{max(pair):.2f})" if len(pair) > 1 else ""
        converted, cached = last_pages[case]
        table.append(
            [
                case,
                str(len(pair)),
                fmt(median(sides.plain)),
                fmt(median(sides.newsdesk)),
                f"{ratios[case]:.2f}{spread}",
                f"{median(sides.newsdesk) / median(sides.plain):.2f}",
                sides.memory(),
                sides.cpu(),
                f"{converted:,} / {cached:,}",
            ]
        )
        print(
            f"cache {corpus.shape} {issues}: {case}: ratio {ratios[case]:.2f}, memory "
            f"{sides.memory()}; pairs (newsdesk/plain s): "
            + ", ".join(
                f"{a:.1f}/{b:.1f}" for a, b in zip(sides.newsdesk, sides.plain, strict=True)
            ),
            flush=True,
        )
    section.tables.append(table)
    key = {"nothing changed": "warm", "one issue edited": "edit", "cold (empty cache)": "cold"}
    key["first build"] = "first"
    key[ONE_PROCESS] = "one_process"
    cold = times["cold (empty cache)"]
    figures = {f"{name}_ratio_{issues}": ratios[case] for case, name in key.items()}
    figures |= {f"{name}_newsdesk_{issues}": median(times[c].newsdesk) for c, name in key.items()}
    figures |= {
        f"newsdesk_{issues}": median(cold.newsdesk),
        f"plain_{issues}": median(cold.plain),
        f"ratio_{issues}": ratios["cold (empty cache)"],
        f"peak_mb_{issues}": median(cold.newsdesk_rss) / 1024,
        f"plain_peak_mb_{issues}": median(cold.plain_rss) / 1024,
    }
    section.figures |= {corpus.prefix + name: value for name, value in figures.items()}
    if quick:
        return
    where = f"{n} issues, {corpus.label}"
    for what, case, limit in (
        (f"rebuild, nothing changed: {where}", "nothing changed", REBUILD_TARGET),
        (f"rebuild, one issue edited: {where}", "one issue edited", EDIT_TARGET),
        (f"cold build (empty cache): {where}", "cold (empty cache)", TARGET),
    ):
        ratio = ratios[case]
        section.targets.append(Target(what, f"{ratio:.2f}", f"≤ {limit}", ratio <= limit))
    section.targets.append(
        Target(
            f"cold build with one process (`jobs: 1`): {where}",
            f"{ratios[ONE_PROCESS]:.2f}",
            "reported",
            None,
            figure_only=True,
        )
    )
    section.targets.append(
        Target(
            f"CPU time (plain / newsdesk), cold build: {where}",
            cold.cpu(),
            "reported",
            None,
            figure_only=True,
        )
    )
    section.targets.append(
        Target(
            f"first build: {where}",
            f"{ratios['first build']:.2f}",
            "reported",
            None,
            figure_only=True,
        )
    )
    section.targets.append(
        Target(
            f"peak memory (plain / newsdesk), cold build: {where}",
            cold.memory(),
            "reported",
            None,
            figure_only=True,
        )
    )


def _project_terms() -> int:
    """Terms the project's own glossary adds to the synthetic ones."""
    from benchmarks.generate import SEED_GLOSSARY

    return SEED_GLOSSARY.read_text(encoding="utf-8").count("\n- term:")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--size", action="append", help="ISSUESxTERMSxRUNS, e.g. 300x300x5")
    parser.add_argument(
        "--cache-only", action="store_true", help="only the page cache's cases at 1,000 issues"
    )
    parser.add_argument(
        "--corpus",
        action="append",
        choices=CORPUS_LABELS,
        help="the page cache's cases for this corpus only (repeatable)",
    )
    parser.add_argument("--rounds", type=int, help="rounds of the page cache's cases")
    args = parser.parse_args()
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.size] if args.size else None
    if args.cache_only:
        sizes = []
    corpora = CACHE_QUICK if args.quick else CACHE_FULL
    if args.corpus:
        corpora = [c for c in corpora if c.shape in args.corpus]
    if args.rounds:
        corpora = [replace(c, rounds=args.rounds) for c in corpora]
    section = run(args.quick, sizes, corpora)  # type: ignore[arg-type]
    print(section.markdown())
    section.save()


if __name__ == "__main__":
    main()
