"""Build cost: ``mkdocs build`` with the newsdesk plugin (PDFs off) against the same Markdown
as plain pages of a plain Material site with the same Markdown extensions.

Each build is a fresh ``mkdocs build`` process, as an author runs it; the two sides
alternate. Targets: an author's rebuild at 1,000 issues costs less than a plain Material
build (with newsdesk's page cache warm: nothing changed, or one issue edited, as each save
in ``mkdocs serve`` rebuilds the site), and a cold build (empty ``.newsdesk/``) ≤ 1.15×.
"""

from __future__ import annotations

import argparse
import itertools
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import MKDOCS, Section, Target, fmt, median, run_timed, side_by_side
from benchmarks.generate import WORK, generate_project, plain_project

TARGET = 1.15
#: A rebuild with the cache warm must cost less than the plain build.
REBUILD_TARGET = 1.0
#: (issues, terms, runs): medians at the smaller sizes (cache warm, nothing changed).
FULL = [(100, 300, 3), (300, 300, 5)]
QUICK = [(3, 12, 1)]
#: (issues, terms, rounds): the page cache's cases, each round alternating sides.
CACHE_FULL = (1000, 300, 5)
CACHE_QUICK = (3, 12, 1)
_WARNING = re.compile(r"^WARNING\b", re.M)
_PAGES = re.compile(r"newsdesk: pages: (\d+) converted, (\d+) from the cache")


def build(root: Path, pages: list[tuple[int, int]] | None = None) -> tuple[float, int]:
    """Build the site at ``root``; return (seconds, number of warnings logged).

    With ``pages``, the build logs at INFO and newsdesk's (converted, from the cache) count
    is appended to it."""
    quiet = [] if pages is not None else ["--quiet"]
    seconds, proc = run_timed(
        [MKDOCS, "build", *quiet, "-f", root / "mkdocs.yml", "-d", root / "site"]
    )
    log = proc.stdout + proc.stderr
    if pages is not None:
        found = _PAGES.search(log)
        pages.append((int(found.group(1)), int(found.group(2))) if found else (-1, -1))
    return seconds, len(_WARNING.findall(log))


def run(quick: bool = False, sizes: list[tuple[int, int, int]] | None = None) -> Section:
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
            seconds, count = build(_root)
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
    cache_cases(section, *(CACHE_QUICK if quick else CACHE_FULL), quick=quick)
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
        "The second table: the page cache's cases on one project, in rounds; each round "
        "measures every case as a pair (newsdesk, then plain; the other way round in odd "
        "rounds): *nothing changed* (the cache warm), *one issue edited* (a line appended "
        "to the same issue on both sides, a new line each round: one page converted, "
        "as after a save in `mkdocs serve`, which rebuilds the whole site), *cold* "
        "(`.newsdesk/` deleted first: every page converted and the cache written). *First "
        "build* is the very first build of each side after the project was written, once. "
        "Times are medians of the rounds; the ratio is the median of the pairs' ratios "
        "(range in brackets), the targets' figure; the ratio of the two medians beside it. "
        "*Pages* is newsdesk's own count (converted / from the cache) in the last round."
    )
    section.seconds = time.perf_counter() - started
    return section


def cache_cases(section: Section, issues: int, terms: int, rounds: int, *, quick: bool) -> None:
    """The page cache's cases at ``issues``: rows of a second table, and the targets."""
    root = WORK / f"cache-{issues}x{terms}"
    project = generate_project(root / "newsdesk", issues, terms, pdf=False)
    plain = plain_project(project, root / "plain")
    edited = project.issues[len(project.issues) // 2]
    edited_plain = plain / "docs" / "issues" / edited.name
    counter = itertools.count(1)
    pages: list[tuple[int, int]] = []

    def newsdesk() -> float:
        return build(project.root, pages)[0]

    def baseline() -> float:
        return build(plain)[0]

    def edit() -> None:
        line = f"\nAn edited line, number {next(counter)}.\n"
        for path in (edited, edited_plain):
            path.write_text(path.read_text(encoding="utf-8") + line, encoding="utf-8")

    def empty_cache() -> None:
        shutil.rmtree(project.root / ".newsdesk", ignore_errors=True)

    first_nd, first_base = newsdesk(), baseline()
    first_pages = pages[-1]
    cases: dict[str, Callable[[], None] | None] = {
        "nothing changed": None,
        "one issue edited": edit,
        "cold (empty cache)": empty_cache,
    }
    times: dict[str, tuple[list[float], list[float]]] = {c: ([], []) for c in cases}
    last_pages: dict[str, tuple[int, int]] = {}
    for i in range(rounds):
        for case, before in cases.items():
            if before is not None:
                before()
            nd, base = times[case]
            if i % 2 == 0:
                nd.append(newsdesk())
                base.append(baseline())
            else:
                base.append(baseline())
                nd.append(newsdesk())
            last_pages[case] = pages[-1]
    header = ["At " + f"{issues + 1:,} issues × {terms + _project_terms()} terms", "Runs"]
    header += [
        "Plain Material",
        "newsdesk",
        "Ratio (median of pairs)",
        "Ratio of medians",
        "Pages (converted / cached)",
    ]
    table = [header]
    ratios: dict[str, float] = {}
    for case, (nd, base) in times.items():
        pair = [a / b for a, b in zip(nd, base, strict=True)]
        # The pairs' median: each pair ran back to back, so a load that comes and goes on
        # the shared machine hits both sides of a pair more alike than the two medians.
        ratios[case] = median(pair)
        spread = f" ({min(pair):.2f}–{max(pair):.2f})" if rounds > 1 else ""
        converted, cached = last_pages[case]
        table.append(
            [
                case,
                str(rounds),
                fmt(median(base)),
                fmt(median(nd)),
                f"{ratios[case]:.2f}{spread}",
                f"{median(nd) / median(base):.2f}",
                f"{converted:,} / {cached:,}",
            ]
        )
        print(
            f"cache {issues}: {case}: ratio {ratios[case]:.2f}; pairs (newsdesk/plain s): "
            + ", ".join(f"{a:.1f}/{b:.1f}" for a, b in zip(nd, base, strict=True)),
            flush=True,
        )
    ratios["first build"] = first_nd / first_base
    table.append(
        [
            "first build",
            "1",
            fmt(first_base),
            fmt(first_nd),
            f"{ratios['first build']:.2f}",
            f"{ratios['first build']:.2f}",
            f"{first_pages[0]:,} / {first_pages[1]:,}",
        ]
    )
    section.tables.append(table)
    key = {"nothing changed": "warm", "one issue edited": "edit", "cold (empty cache)": "cold"}
    for case, name in key.items():
        section.figures[f"{name}_ratio_{issues}"] = ratios[case]
        section.figures[f"{name}_newsdesk_{issues}"] = median(times[case][0])
    section.figures[f"newsdesk_{issues}"] = median(times["cold (empty cache)"][0])
    section.figures[f"plain_{issues}"] = median(times["cold (empty cache)"][1])
    section.figures[f"ratio_{issues}"] = ratios["cold (empty cache)"]
    if quick:
        return
    n = f"{issues + 1:,}"
    for what, case, wanted, limit in (
        (f"rebuild at {n} issues, nothing changed", "nothing changed", "< 1", REBUILD_TARGET),
        (f"rebuild at {n} issues, one issue edited", "one issue edited", "< 1", REBUILD_TARGET),
        (f"cold build at {n} issues (empty cache)", "cold (empty cache)", f"≤ {TARGET}", TARGET),
    ):
        ratio = ratios[case]
        met = ratio < limit if wanted.startswith("<") else ratio <= limit
        section.targets.append(Target(what, f"{ratio:.2f}", wanted, met))


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
    args = parser.parse_args()
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.size] if args.size else None
    if args.cache_only:
        sizes = []
    section = run(args.quick, sizes)  # type: ignore[arg-type]
    print(section.markdown())
    section.save()


if __name__ == "__main__":
    main()
