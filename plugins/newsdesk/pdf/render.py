"""One PDF made by WeasyPrint, and WeasyPrint's messages told apart: those about the issue
(kept as its warnings) and advice about the machine (fonts, subsetting libraries),
reported once per build and never against an issue."""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsdesk.pdf.body import STYLESHEET, print_html
from newsdesk.pdf.site import site_file
from newsdesk.rendering import IssueRendering

PAPERS = {"A4": "A4", "Letter": "letter"}
PDF_VARIANT = "pdf/ua-1"
"""Tagged PDF that declares PDF/UA-1 conformance: structure tree, language, title."""

ADVICE = re.compile(
    r"instead of HarfBuzz|HarfBuzz-Subset|harfbuzz-vector|with HarfBuzz\b|(?:^|PDF: )Fontconfig "
    r"(?:error|warning)|\bfontconfig\b.*\b(?:cache|config file)",
    re.IGNORECASE,
)
"""WeasyPrint's messages about the machine (fonts, subsetting libraries), not the issue."""
SUBSET_ADVICE = (
    "fonts are subset with fontTools because HarfBuzz-Subset is missing; install it "
    "(Debian: libharfbuzz-subset0, which `make setup` installs)"
)


def is_environment_advice(message: str) -> bool:
    """Whether a renderer message is advice about the machine rather than about an issue.

    Such advice (WeasyPrint's "Using fontTools instead of HarfBuzz-Subset", Fontconfig
    warnings) is reported once per build, never as a warning against an issue, and never
    kept in the PDF cache.
    """
    return ADVICE.search(message) is not None


def advice_text(message: str) -> str:
    """One wording per kind of advice, so one message per font becomes one line."""
    if "HarfBuzz-Subset" in message and "fontTools" in message:
        return SUBSET_ADVICE
    return message


@dataclass(frozen=True)
class Job:
    """One PDF to render: the issue, its cache key, and where its PDF goes."""

    rendering: IssueRendering
    key: str
    site_dir: Path
    site_url: str
    paper: str
    newsletter_name: str
    target: Path
    overrides: str = ""


class Collect(logging.Handler):
    """WeasyPrint's warnings: about the issue (``messages``) or the machine (``advice``)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.advice: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().strip()
        if message.endswith(":"):  # WeasyPrint gives no reason for a broken SVG
            message += " not a valid image"
        found = self.advice if is_environment_advice(message) else self.messages
        if message not in found:
            found.append(message)

    def take_advice(self) -> list[str]:
        """The advice collected since the last call."""
        advice, self.advice = self.advice, []
        return advice

    @contextlib.contextmanager
    def listening(self) -> Iterator[Collect]:
        """Collect from WeasyPrint's logger (and keep its messages off the console)."""
        logger = logging.getLogger("weasyprint")
        logger.addHandler(self)
        logger.propagate = False
        try:
            yield self
        finally:
            logger.removeHandler(self)


def write_pdf(job: Job, collect: Collect | None = None) -> list[str]:
    """Render one issue to ``job.target``; return WeasyPrint's warnings about it.

    Advice about the machine goes to ``collect.advice`` when a collector is given (a
    worker keeps one for its life), and is dropped otherwise.
    """
    if collect is None:
        with Collect().listening() as own:
            return write_pdf(job, own)
    from weasyprint import CSS, HTML

    collect.messages = []
    try:
        fetcher = _site_fetcher(job.site_dir, job.site_url)
        r = job.rendering
        document = HTML(
            string=print_html(
                r, newsletter_name=job.newsletter_name, overrides=job.overrides or None
            ),
            base_url=r.url or job.site_url,
            url_fetcher=fetcher,
        )
        stylesheets = [
            CSS(filename=str(STYLESHEET), url_fetcher=fetcher),
            CSS(string=f"@page {{ size: {PAPERS[job.paper]}; }}"),
        ]
        part = job.target.with_name(job.target.name + ".part")
        document.write_pdf(
            part, stylesheets=stylesheets, pdf_variant=PDF_VARIANT, presentational_hints=True
        )
        part.replace(job.target)
    finally:
        messages, collect.messages = collect.messages, []
    return messages


def warm_up() -> None:
    """Load fonts and Pango once per worker, so the time limit measures the issue alone."""
    from weasyprint import CSS, HTML

    css = CSS(filename=str(STYLESHEET))
    HTML(string="<p>newsdesk <b>print</b> <code>edition</code></p>").write_pdf(stylesheets=[css])


def _site_fetcher(site_dir: Path, site_url: str) -> Any:
    """A WeasyPrint URL fetcher that reads the site's files and data: URIs, nothing else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SiteFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            path = site_file(url, site_url, site_dir)
            if path is None:
                raise ValueError("not part of the site, and PDFs fetch nothing from the network")
            if not path.is_file():
                raise FileNotFoundError("no such file in the built site")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})

    return SiteFetcher()
