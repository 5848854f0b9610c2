"""PDFs: seconds per issue, the parallel speed-up on this machine's cores against one
process, and a rebuild with nothing changed (it must render none).

The PDF step is measured directly (``newsdesk.pdf.render_pdfs`` on the renderings of a
built project, each run with an empty cache), alternating one worker and one worker per
core; then ``mkdocs build`` with PDFs on runs twice and the second build's log line must
say ``0 rendered``.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from benchmarks.common import (
    MKDOCS,
    Section,
    Target,
    fmt,
    main_for,
    median,
    run_timed,
    side_by_side,
)
from benchmarks.generate import SITE_URL, WORK, generate_project

_LOG = re.compile(r"PDFs: (\d+) rendered, (\d+) reused")


def _build(config: Path, site: Path) -> tuple[float, tuple[int, int] | None]:
    seconds, proc = run_timed([MKDOCS, "build", "-f", config, "-d", site])
    found = _LOG.search(proc.stdout + proc.stderr)
    return seconds, (int(found.group(1)), int(found.group(2))) if found else None


def run(quick: bool = False, issues: int = 11, runs: int = 5) -> Section:
    """Measure the PDF step; return the section for RESULTS.md."""
    from newsdesk.pdf import render_pdfs
    from newsdesk.rendering import read_renderings

    started = time.perf_counter()
    if quick:
        issues, runs = 1, 1
    cores = os.cpu_count() or 1
    section = Section(
        name="pdf",
        title="4. PDFs (WeasyPrint)",
        columns=["Measure", "Runs", "Figure"],
        quick=quick,
    )
    root = WORK / ("pdf-quick" if quick else "pdf")
    project = generate_project(root / "project", issues, 30, pdf=True)
    site = project.root / "site"
    shutil.rmtree(project.root / ".newsdesk", ignore_errors=True)
    first_build, first_log = _build(project.config, site)
    second_build, second_log = _build(project.config, site)
    renderings = read_renderings(project.root / ".newsdesk")
    if quick:
        renderings = renderings[:1]
    count = len(renderings)

    def step(jobs: int) -> float:
        cache = root / f"cache-{jobs}"
        shutil.rmtree(cache, ignore_errors=True)
        report = render_pdfs(
            renderings,
            site_dir=site,
            site_url=SITE_URL,
            cache_dir=cache,
            jobs=jobs,
            newsletter_name="Bench Letter",
        )
        if report.rendered != count:
            raise RuntimeError(f"{report.rendered} of {count} PDFs rendered: {report.errors}")
        return report.seconds

    one, many = side_by_side(lambda: step(1), lambda: step(cores), runs=runs, warmup=not quick)
    rerender = render_pdfs(
        renderings,
        site_dir=site,
        site_url=SITE_URL,
        cache_dir=root / f"cache-{cores}",
        jobs=cores,
        newsletter_name="Bench Letter",
    )
    speedup = median(one) / median(many)
    section.figures |= {
        "per_issue_1": median(one) / count,
        "per_issue_all": median(many) / count,
        "speedup": speedup,
        "cores": cores,
    }
    section.rows += [
        [f"PDF step, {count} issues, 1 process", str(runs), fmt(median(one))],
        [f"PDF step, {count} issues, {cores} processes", str(runs), fmt(median(many))],
        ["Seconds per issue (1 process)", str(runs), f"{median(one) / count:.2f} s"],
        ["Seconds per issue, wall clock (all cores)", str(runs), f"{median(many) / count:.2f} s"],
        [f"Parallel speed-up on {cores} cores", str(runs), f"{speedup:.2f}×"],
        [
            "PDF step again, nothing changed",
            "1",
            f"{rerender.rendered} rendered, {rerender.reused} reused, {fmt(rerender.seconds)}",
        ],
        [
            "`mkdocs build` with PDFs, empty cache",
            "1",
            f"{fmt(first_build)}; log: {_say(first_log)}",
        ],
        [
            "`mkdocs build` again, nothing changed",
            "1",
            f"{fmt(second_build)}; log: {_say(second_log)}",
        ],
    ]
    print(
        f"pdf: {median(one) / count:.2f} s/issue, speed-up {speedup:.2f}, rebuild "
        f"{_say(second_log)}",
        flush=True,
    )
    if not quick:
        rebuild_ok = second_log is not None and second_log[0] == 0 and rerender.rendered == 0
        section.targets.append(
            Target(
                "a rebuild with nothing changed renders", _say(second_log), "0 rendered", rebuild_ok
            )
        )
    section.notes.append(
        "Issues are the synthetic ~1,200-word issues (tables, code, lists, glossary links, "
        "port tables and the terms appendix) plus the seed issue. Each PDF runs in a worker "
        "process of its own (`newsdesk.pdf.render_pdfs`), so the step includes starting them."
    )
    section.seconds = time.perf_counter() - started
    return section


def _say(log: tuple[int, int] | None) -> str:
    return "no PDF log line" if log is None else f"{log[0]} rendered, {log[1]} reused"


def main() -> None:
    main_for(run, __doc__)


if __name__ == "__main__":
    main()
