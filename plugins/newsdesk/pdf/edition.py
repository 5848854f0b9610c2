"""The PDF step of a build: each issue's PDF reused from the cache or rendered, put in the
site, and one report of what happened."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsdesk.pdf import cache, workers
from newsdesk.pdf.render import PAPERS, Job, advice_text, is_environment_advice
from newsdesk.pdf.site import pdf_path, publish, unpublish, with_slash
from newsdesk.rendering import IssueRendering


@dataclass
class PdfReport:
    """What one PDF step did; warnings and errors each name the issue they concern."""

    rendered: int = 0
    reused: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: int = 0
    """PDFs not made: timed out or failed."""
    seconds: float = 0.0
    written: list[str] = field(default_factory=list)
    """The PDFs now in the site, relative to its root."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds WeasyPrint took for each PDF rendered, by slug."""
    advice: list[str] = field(default_factory=list)
    """The renderer's advice about the machine (see :func:`is_environment_advice`)."""

    @property
    def summary(self) -> str:
        """The build's one log line about PDFs."""
        return f"newsdesk: PDFs: {self.rendered} rendered, {self.reused} reused"

    @property
    def advice_line(self) -> str | None:
        """The build's one log line about the machine, or None when the renderer gave none."""
        if not self.advice:
            return None
        return "newsdesk: PDF renderer (about this machine, not your issues): " + "; ".join(
            self.advice
        )

    def add_advice(self, messages: Sequence[str]) -> None:
        """Record renderer advice, each kind once."""
        for message in messages:
            text = advice_text(message)
            if text not in self.advice:
                self.advice.append(text)


@dataclass(frozen=True)
class _Step:
    """What one :func:`render_pdfs` call renders with, besides the issues."""

    site_dir: Path
    site_url: str
    cache_dir: Path
    paper: str
    timeout: float
    newsletter_name: str
    overrides: Path | None
    setup: str
    """The fingerprint of all but the issue (:func:`cache.setup_fingerprint`)."""


def render_pdfs(
    renderings: Sequence[IssueRendering],
    *,
    site_dir: Path,
    site_url: str,
    cache_dir: Path,
    paper: str = "A4",
    timeout: float = 120,
    jobs: int = 0,
    newsletter_name: str = "",
    overrides: Path | None = None,
) -> PdfReport:
    """Write ``site_dir / pdf_path(r)`` for every rendering; return what happened.

    A PDF whose cache key (the issue's content hash, the images it uses, the template,
    stylesheet, paper and WeasyPrint version) is unchanged is copied from ``cache_dir``.
    The others are rendered in parallel (``jobs`` processes, ``0`` for one per CPU); one
    that takes longer than ``timeout`` seconds is stopped and skipped with a warning,
    and is not tried again until it changes or the limit is raised. A failure is an
    error naming the issue; the other PDFs are still made.
    """
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {', '.join(PAPERS)}, not {paper!r}")
    started = time.monotonic()
    step = _Step(
        site_dir=Path(site_dir),
        site_url=with_slash(site_url),
        cache_dir=Path(cache_dir),
        paper=paper,
        timeout=timeout,
        newsletter_name=newsletter_name,
        overrides=overrides,
        setup=cache.setup_fingerprint(paper, newsletter_name, overrides),
    )
    step.cache_dir.mkdir(parents=True, exist_ok=True)
    report = PdfReport()
    todo = [job for r in renderings if (job := _reuse_or_plan(step, r, report)) is not None]
    count = min(len(todo), workers.cpu_count() if jobs <= 0 else jobs)
    for job, outcome in workers.run(todo, count, timeout, report):
        _record(step, job, outcome, report)
    cache.prune(step.cache_dir, {r.slug for r in renderings})
    report.seconds = time.monotonic() - started
    return report


def _reuse_or_plan(step: _Step, r: IssueRendering, report: PdfReport) -> Job | None:
    """Publish the issue's cached PDF, or skip an issue that ran past this time limit
    before; else the job that renders it."""
    key = cache.cache_key(r, step.setup, step.site_dir, step.site_url)
    entry = cache.read_entry(step.cache_dir, r.slug)
    cached = step.cache_dir / f"{r.slug}.pdf"
    if entry.get("key") == key and cached.is_file():
        publish(cached, step.site_dir / pdf_path(r))
        report.reused += 1
        report.written.append(pdf_path(r))
        # Entries written before advice was told apart may hold it: it is not replayed.
        replayed = entry.get("warnings", [])
        report.warnings.extend(w for w in replayed if not is_environment_advice(str(w)))
        return None
    limit = entry.get("timed_out")
    if entry.get("key") == key and isinstance(limit, int | float) and limit >= step.timeout:
        # A runaway issue would cost the whole limit on every build; remember it.
        report.skipped += 1
        unpublish(step.site_dir, r)
        report.warnings.append(
            f"{_name(r)}: PDF skipped: rendering took longer than {limit:g} s on an "
            "earlier build and the issue has not changed since (raise pdf.timeout to "
            "try again); the issue has no PDF"
        )
        return None
    return Job(
        rendering=r,
        key=key,
        site_dir=step.site_dir,
        site_url=step.site_url,
        paper=step.paper,
        newsletter_name=step.newsletter_name,
        target=cached,
        overrides=str(step.overrides or ""),
    )


def _record(step: _Step, job: Job, outcome: workers.Outcome, report: PdfReport) -> None:
    """Publish and cache a rendered PDF, or report why the issue has none."""
    r = job.rendering
    name = _name(r)
    status, detail = outcome
    if status == "ok":
        messages, seconds, advice = detail
        report.add_advice(advice)
        report.timings[r.slug] = seconds
        warnings = [f"{name}: PDF: {w}" for w in messages]
        cache.write_entry(step.cache_dir, r.slug, {"key": job.key, "warnings": warnings})
        publish(job.target, step.site_dir / pdf_path(r))
        report.rendered += 1
        report.written.append(pdf_path(r))
        report.warnings.extend(warnings)
        return
    report.skipped += 1
    cache.forget(step.cache_dir, r.slug)
    unpublish(step.site_dir, r)
    if status == "timeout":
        cache.write_entry(step.cache_dir, r.slug, {"key": job.key, "timed_out": step.timeout})
        report.warnings.append(
            f"{name}: PDF skipped: rendering took longer than {step.timeout:g} s "
            "(pdf.timeout); the issue has no PDF"
        )
    else:
        report.errors.append(f"{name}: PDF failed: {detail}")


def _name(r: IssueRendering) -> str:
    return r.source or f"issue {r.slug!r}"
