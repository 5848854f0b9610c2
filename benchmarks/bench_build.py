"""Build cost: ``mkdocs build`` with the newsdesk plugin (PDFs off) against the same Markdown
as plain pages of a plain Material site with the same Markdown extensions.

Each build is a fresh ``mkdocs build`` process, as an author runs it; the two sides
alternate. Target (issue 9): ratio ≤ 1.15 at 1,000 issues × 300 terms.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from benchmarks.common import MKDOCS, Section, Target, fmt, median, run_timed, side_by_side
from benchmarks.generate import WORK, generate_project, plain_project

TARGET = 1.15
#: (issues, terms, runs): medians at the middle size, the largest once.
FULL = [(100, 300, 3), (300, 300, 5), (1000, 300, 1)]
QUICK = [(3, 12, 1)]
_WARNING = re.compile(r"^WARNING\b", re.M)


def build(root: Path) -> tuple[float, int]:
    """Build the site at ``root``; return (seconds, number of warnings logged)."""
    seconds, proc = run_timed(
        [MKDOCS, "build", "--quiet", "-f", root / "mkdocs.yml", "-d", root / "site"]
    )
    return seconds, len(_WARNING.findall(proc.stdout + proc.stderr))


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
    sizes = sizes or (QUICK if quick else FULL)
    largest: tuple[int, float] | None = None
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
        largest = (issues, ratio)
    if largest is not None and not quick:
        issues, ratio = largest
        section.targets.append(
            Target(
                f"build ratio at {issues + 1:,} issues",
                f"{ratio:.2f}",
                f"≤ {TARGET}",
                ratio <= TARGET,
            )
        )
    section.notes.append(
        "Each figure is the wall-clock time of a fresh `mkdocs build` process (PDFs off); the "
        "two sides alternate, after a warm-up build of each (so newsdesk's caches in "
        "`.newsdesk/` are warm, as when an author rebuilds); medians, the largest size once. "
        "Issues are ~1,200 words with headings, lists, a table, code, an admonition and links, "
        "and mention ~15 distinct glossary terms each (~25 mentions); "
        "the plain site has the same Markdown files as plain pages with the same short "
        "navigation (issues `not_in_nav`) and the same Markdown extensions and search plugin."
    )
    section.seconds = time.perf_counter() - started
    return section


def _project_terms() -> int:
    """Terms the project's own glossary adds to the synthetic ones."""
    from benchmarks.generate import SEED_GLOSSARY

    return SEED_GLOSSARY.read_text(encoding="utf-8").count("\n- term:")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--size", action="append", help="ISSUESxTERMSxRUNS, e.g. 300x300x5")
    args = parser.parse_args()
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.size] if args.size else None
    section = run(args.quick, sizes)  # type: ignore[arg-type]
    print(section.markdown())
    section.save()


if __name__ == "__main__":
    main()
