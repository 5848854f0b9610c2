"""The print edition: one PDF per published issue, made with WeasyPrint.

Each issue's :class:`~newsdesk.rendering.IssueRendering` is laid into the project's own
print template (``templates/print.html`` with ``assets/print.css``), never Material's
screen page. PDFs are cached under ``cache_dir`` by a key of everything that shapes them,
so a rebuild with nothing changed renders none. The rest run in worker processes, one
per PDF and at most ``jobs`` at a time; a worker that passes the time limit is killed and
its PDF skipped with a warning. Nothing is fetched from the network: the site's own
files are read from ``site_dir``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import mimetypes
import multiprocessing
import os
import re
import shutil
import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jinja2
from lxml import html as lxml_html
from markupsafe import Markup

from newsdesk.i18n import Strings
from newsdesk.rendering import IssueRendering

PACKAGE = Path(__file__).parent
TEMPLATE = PACKAGE / "templates" / "print.html"
STYLESHEET = PACKAGE / "assets" / "print.css"
PAPERS = {"A4": "A4", "Letter": "letter"}
PDF_VARIANT = "pdf/ua-1"
"""Tagged PDF that declares PDF/UA-1 conformance: structure tree, language, title."""
CACHE_VERSION = 1
PLAIN_LINKS = {"nd-term", "newsdesk-port"}
"""Classes of links printed as plain text: glossary terms and port numbers."""
PORT_TABLES = (
    "//table[ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' newsdesk-port')]]"
)
"""The port tables (``newsdesk-port-reference`` in issues, ``newsdesk-ports``)."""
WIDE = 8
"""Tables with more columns than this get fixed, equal columns on paper."""
MONTHS = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)

log = logging.getLogger("newsdesk.pdf")

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


def _advice_text(message: str) -> str:
    """One wording per kind of advice, so one message per font becomes one line."""
    if "HarfBuzz-Subset" in message and "fontTools" in message:
        return SUBSET_ADVICE
    return message


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
            text = _advice_text(message)
            if text not in self.advice:
                self.advice.append(text)


def pdf_path(rendering: IssueRendering) -> str:
    """Where the issue's PDF lives, relative to the site root.

    ``issues/<year>/<slug>/<slug>.pdf``, or the path of ``rendering.pdf_url`` when the
    build gave one under the site's address.
    """
    site_url = _with_slash(rendering.site_url) if rendering.site_url else ""
    if rendering.pdf_url and site_url and rendering.pdf_url.startswith(site_url):
        return unquote(urlsplit(rendering.pdf_url[len(site_url) :]).path)
    return f"issues/{rendering.date.year}/{rendering.slug}/{rendering.slug}.pdf"


def template_loader(overrides: Path | str | None) -> jinja2.BaseLoader:
    """newsdesk's templates, each replaced by a file of the same name in ``overrides``."""
    folders = [str(overrides)] if overrides and Path(overrides).is_dir() else []
    return jinja2.FileSystemLoader([*folders, str(TEMPLATE.parent)])


def _overridden(overrides: Path | str | None, name: str) -> Path | None:
    path = Path(overrides) / name if overrides else None
    return path if path is not None and path.is_file() else None


def _page_numbers_css(t: Strings) -> str:
    """The footer's "page 3 of 7" in the issue's language."""
    words = t("page {page} of {pages}").replace('"', "")
    content = '"' + words.replace("{page}", '" counter(page) "').replace(
        "{pages}", '" counter(pages) "'
    )
    return f'@page {{ @bottom-center {{ content: {content}"; }} }}'


def print_html(
    rendering: IssueRendering, *, newsletter_name: str = "", overrides: Path | str | None = None
) -> str:
    """The print document of an issue: the template filled in, ready for WeasyPrint.

    ``overrides`` is a folder whose ``print.html``, if any, replaces newsdesk's.
    """
    env = jinja2.Environment(
        loader=template_loader(overrides),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    date: dt.date = rendering.date
    t = Strings(rendering.language)
    return env.get_template(TEMPLATE.name).render(
        t=t,
        page_css=Markup(_page_numbers_css(t)),
        language=rendering.language or "en",
        newsletter_name=newsletter_name or rendering.newsletter_name or "Newsletter",
        number=rendering.number,
        title=rendering.title,
        date_iso=date.isoformat(),
        date_text=t.date(date),
        author=rendering.author,
        summary=rendering.summary,
        tags=rendering.tags,
        url=rendering.url,
        body=Markup(
            print_body(rendering.html, page_url=rendering.url, site_url=rendering.site_url, t=t)
        ),
        terms=rendering.terms,
    )


def print_body(
    html: str, *, page_url: str = "", site_url: str = "", t: Strings | None = None
) -> str:
    """The content HTML made for paper.

    An image from another host is not fetched (a PDF build needs no network and gives
    the same PDF every time): it is printed as its description and address instead.

    Heading permalinks go. Glossary and port links become plain text: the appendix
    explains the terms, and a line under each port table gives the address of the ports
    page once rather than a footnote per cell. Links within the issue page become links
    within the PDF; every other link gets its address printed in a footnote, unless the
    link text already is that address.
    """
    if not html.strip():
        return html
    root = lxml_html.fragment_fromstring(html, create_parent="div")
    page = page_url.split("#", 1)[0]
    for table in root.iter("table"):
        if max((len(row.xpath("./th | ./td")) for row in table.iter("tr")), default=0) > WIDE:
            table.set("class", " ".join(filter(None, (table.get("class"), "nd-wide"))))
    if site_url:
        for img in list(root.iter("img")):
            src = (img.get("src") or "").strip()
            if not src or src.startswith(("data:", _with_slash(site_url))):
                continue
            alt = " ".join((img.get("alt") or "").split())
            stand_in = lxml_html.Element("span", {"class": "nd-remote-image"})
            image = (t or Strings())("Image")
            stand_in.text = f"[{image}{': ' + alt if alt else ''} – {src}]"
            stand_in.tail = img.tail
            img.getparent().replace(img, stand_in)
    for table in root.xpath(PORT_TABLES):
        hrefs = [_plain(a) for a in list(table.iter("a"))]
        pages = Counter(h.split("#", 1)[0] for h in hrefs if "#" in h)
        if pages:
            ports_page = pages.most_common(1)[0][0]
            note = lxml_html.Element("p", {"class": "nd-ports-note"})
            note.text = f"{(t or Strings())('Every port in detail:')} {ports_page}"
            table.addnext(note)
    for a in list(root.iter("a")):
        classes = (a.get("class") or "").split()
        if "headerlink" in classes:  # the ¶ permalinks of headings
            a.drop_tree()
            continue
        if PLAIN_LINKS.intersection(classes):
            _plain(a)
            continue
        href = (a.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        if page and href.startswith(page + "#"):
            a.set("href", href[len(page) :])
            continue
        shown = href.removeprefix("mailto:")
        text = " ".join(a.text_content().split())
        if text in (shown, href, shown.split("://", 1)[-1].rstrip("/")) or _in_heading(a):
            continue
        note = lxml_html.Element("span", {"class": "nd-fn"})
        note.text = shown
        note.tail, a.tail = a.tail, None
        a.addnext(note)
    return (root.text or "") + "".join(
        lxml_html.tostring(child, encoding="unicode") for child in root
    )


def _plain(a: Any) -> str:
    """Turn a link into plain text (a span keeping its classes); return where it went."""
    href = a.get("href") or ""
    a.tag = "span"
    for attr in ("href", "title", "target", "rel"):
        a.attrib.pop(attr, None)
    return href


def _in_heading(element: Any) -> bool:
    return any(p.tag in ("h1", "h2", "h3", "h4", "h5", "h6") for p in element.iterancestors())


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
    site_url = _with_slash(site_url)
    site_dir = Path(site_dir)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    report = PdfReport()
    setup = _setup_fingerprint(paper, newsletter_name, overrides)
    todo: list[_Job] = []
    for r in renderings:
        key = _cache_key(r, setup, site_dir, site_url)
        entry = _read_entry(cache_dir, r.slug)
        cached = cache_dir / f"{r.slug}.pdf"
        if entry.get("key") == key and cached.is_file():
            _publish(cached, site_dir / pdf_path(r))
            report.reused += 1
            report.written.append(pdf_path(r))
            # Entries written before advice was told apart may hold it: it is not replayed.
            replayed = entry.get("warnings", [])
            report.warnings.extend(w for w in replayed if not is_environment_advice(str(w)))
            continue
        limit = entry.get("timed_out")
        if entry.get("key") == key and isinstance(limit, int | float) and limit >= timeout:
            # A runaway issue would cost the whole limit on every build; remember it.
            report.skipped += 1
            _unpublish(site_dir, r)
            report.warnings.append(
                f"{_name(r)}: PDF skipped: rendering took longer than {limit:g} s on an "
                "earlier build and the issue has not changed since (raise pdf.timeout to "
                "try again); the issue has no PDF"
            )
            continue
        todo.append(
            _Job(
                rendering=r,
                key=key,
                site_dir=site_dir,
                site_url=site_url,
                paper=paper,
                newsletter_name=newsletter_name,
                target=cached,
                overrides=str(overrides or ""),
            )
        )

    workers = min(len(todo), _cpu_count() if jobs <= 0 else jobs)
    for job, outcome in _run(todo, workers, timeout, report):
        r = job.rendering
        name = _name(r)
        status, detail = outcome
        if status == "ok":
            messages, seconds, advice = detail
            report.add_advice(advice)
            report.timings[r.slug] = seconds
            warnings = [f"{name}: PDF: {w}" for w in messages]
            _write_entry(cache_dir, r.slug, {"key": job.key, "warnings": warnings})
            _publish(job.target, site_dir / pdf_path(r))
            report.rendered += 1
            report.written.append(pdf_path(r))
            report.warnings.extend(warnings)
            continue
        report.skipped += 1
        _forget(cache_dir, r.slug)
        _unpublish(site_dir, r)
        if status == "timeout":
            _write_entry(cache_dir, r.slug, {"key": job.key, "timed_out": timeout})
            report.warnings.append(
                f"{name}: PDF skipped: rendering took longer than {timeout:g} s "
                "(pdf.timeout); the issue has no PDF"
            )
        else:
            report.errors.append(f"{name}: PDF failed: {detail}")

    _prune(cache_dir, {r.slug for r in renderings})
    report.seconds = time.monotonic() - started
    return report


# --- cache -------------------------------------------------------------------------------


def _setup_fingerprint(
    paper: str, newsletter_name: str, overrides: Path | str | None = None
) -> str:
    """Everything besides the issue that shapes its PDF."""
    h = hashlib.sha256()
    for part in (
        str(CACHE_VERSION),
        _weasyprint_version(),
        paper,
        newsletter_name,
        PDF_VARIANT,
    ):
        h.update(part.encode() + b"\0")
    own = _overridden(overrides, TEMPLATE.name)
    for file in (own or TEMPLATE, STYLESHEET, Path(__file__), PACKAGE / "i18n.py"):
        h.update(file.read_bytes() + b"\0")
    return h.hexdigest()


def _weasyprint_version() -> str:
    try:
        return metadata.version("weasyprint")
    except metadata.PackageNotFoundError:  # pragma: no cover - it is a dependency
        return "?"


def _cache_key(r: IssueRendering, setup: str, site_dir: Path, site_url: str) -> str:
    """The issue's content hash, plus the bytes of the site's images it shows."""
    h = hashlib.sha256(f"{setup}\0{r.content_hash}\0{site_url}\0".encode())
    for url in sorted(_resource_urls(r.html)):
        path = _site_file(url, site_url, site_dir)
        h.update(url.encode() + b"\0")
        if path is not None and path.is_file():
            h.update(hashlib.sha256(path.read_bytes()).digest())
        else:
            h.update(b"missing")
    return h.hexdigest()


def _resource_urls(html: str) -> set[str]:
    if not html.strip():
        return set()
    root = lxml_html.fragment_fromstring(html, create_parent="div")
    found = root.xpath("//img/@src | //object/@data | //*[local-name()='image']/@href")
    return {str(u) for u in found}


def _read_entry(cache_dir: Path, slug: str) -> dict[str, Any]:
    try:
        data = json.loads((cache_dir / f"{slug}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_entry(cache_dir: Path, slug: str, entry: dict[str, Any]) -> None:
    tmp = cache_dir / f"{slug}.json.tmp"
    tmp.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
    tmp.replace(cache_dir / f"{slug}.json")


def _forget(cache_dir: Path, slug: str) -> None:
    for suffix in (".json", ".pdf", ".pdf.part"):
        (cache_dir / f"{slug}{suffix}").unlink(missing_ok=True)


def _prune(cache_dir: Path, slugs: set[str]) -> None:
    """Drop cached PDFs of issues no longer published, and leftovers of killed workers."""
    for path in cache_dir.iterdir():
        slug = path.name.split(".", 1)[0]
        if path.name.endswith((".part", ".tmp")) or (
            path.suffix in (".pdf", ".json") and slug not in slugs
        ):
            path.unlink(missing_ok=True)


def _publish(cached: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, dest)


# --- resources ---------------------------------------------------------------------------


def _unpublish(site_dir: Path, r: IssueRendering) -> None:
    """Remove an issue's PDF from the site: an old copy, or the empty stand-in the site
    generator may have written for link checking, is not to be published."""
    (site_dir / pdf_path(r)).unlink(missing_ok=True)


def _with_slash(url: str) -> str:
    return url.rstrip("/") + "/"


def _site_file(url: str, site_url: str, site_dir: Path) -> Path | None:
    """The file in ``site_dir`` that ``url`` names, or None when it is not the site's."""
    if not url.startswith(site_url):
        return None
    rel = unquote(urlsplit(url[len(site_url) :]).path)
    if not rel or rel.endswith("/"):
        rel += "index.html"
    root = site_dir.resolve()
    path = (root / rel).resolve()
    return path if path.is_relative_to(root) else None


def _site_fetcher(site_dir: Path, site_url: str) -> Any:
    """A WeasyPrint URL fetcher that reads the site's files and data: URIs, nothing else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SiteFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            path = _site_file(url, site_url, site_dir)
            if path is None:
                raise ValueError("not part of the site, and PDFs fetch nothing from the network")
            if not path.is_file():
                raise FileNotFoundError("no such file in the built site")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})

    return SiteFetcher()


# --- workers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    rendering: IssueRendering
    key: str
    site_dir: Path
    site_url: str
    paper: str
    newsletter_name: str
    target: Path
    overrides: str = ""


class _Collect(logging.Handler):
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
        advice, self.advice = self.advice, []
        return advice

    @contextlib.contextmanager
    def listening(self) -> Iterator[_Collect]:
        """Collect from WeasyPrint's logger (and keep its messages off the console)."""
        logger = logging.getLogger("weasyprint")
        logger.addHandler(self)
        logger.propagate = False
        try:
            yield self
        finally:
            logger.removeHandler(self)


def write_pdf(job: _Job, collect: _Collect | None = None) -> list[str]:
    """Render one issue to ``job.target``; return WeasyPrint's warnings about it.

    Advice about the machine goes to ``collect.advice`` when a collector is given (a
    worker keeps one for its life), and is dropped otherwise.
    """
    if collect is None:
        with _Collect().listening() as own:
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


def _serve(conn: Connection) -> None:
    """A worker process: render the jobs the parent sends until it sends None."""
    collect = _Collect()
    with collect.listening():
        _serve_jobs(conn, collect)


def _serve_jobs(conn: Connection, collect: _Collect) -> None:
    with contextlib.suppress(Exception):  # a real job then reports what is wrong
        _warm_up()
    conn.send(("ready", collect.take_advice()))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        started = time.monotonic()
        try:
            warnings = write_pdf(job, collect)
            seconds = time.monotonic() - started
            outcome: tuple[str, Any] = ("ok", (warnings, seconds, collect.take_advice()))
        except Exception as exc:
            outcome = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(outcome)


def _warm_up() -> None:
    """Load fonts and Pango once per worker, so the time limit measures the issue alone."""
    from weasyprint import CSS, HTML

    css = CSS(filename=str(STYLESHEET))
    HTML(string="<p>newsdesk <b>print</b> <code>edition</code></p>").write_pdf(stylesheets=[css])


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _context() -> multiprocessing.context.BaseContext:
    # A fork server with WeasyPrint loaded starts workers quickly and, unlike plain fork,
    # is safe when the caller runs threads (mkdocs serve does).
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["weasyprint", "newsdesk.pdf"])
        return ctx
    return multiprocessing.get_context("spawn")  # pragma: no cover - not POSIX


@dataclass
class _Worker:
    process: Any
    conn: Connection
    job: _Job | None = None
    deadline: float = 0.0
    ready: bool = False


BOOT_TIMEOUT = 60.0
"""Seconds a new worker may take to start (import WeasyPrint) before it counts as broken."""


def _run(
    todo: Sequence[_Job], workers: int, timeout: float, report: PdfReport
) -> Iterator[tuple[_Job, tuple[str, Any]]]:
    """Render the jobs in ``workers`` processes, yielding each job with its outcome.

    Outcomes: ``("ok", (warnings, seconds, advice))``, ``("error", message)`` or
    ``("timeout", None)``; advice a worker gives while starting goes to ``report``. A
    worker past its job's deadline is killed and, if jobs remain, replaced. The clock of
    a job starts when a started worker receives it.
    """
    if not todo:
        return
    ctx = _context()
    pending = deque(todo)
    pool: dict[Connection, _Worker] = {}
    try:
        while pending or any(w.job for w in pool.values()):
            while pending and len(pool) < workers:
                receiver, sender = ctx.Pipe()
                process = ctx.Process(target=_serve, args=(sender,), name="newsdesk-pdf")
                process.daemon = True
                process.start()
                sender.close()
                boot = time.monotonic() + BOOT_TIMEOUT
                pool[receiver] = _Worker(process, receiver, deadline=boot)
            for w in pool.values():
                if w.ready and w.job is None and pending:
                    w.job = pending.popleft()
                    w.deadline = time.monotonic() + timeout
                    w.conn.send(w.job)
            next_deadline = min(w.deadline for w in pool.values())
            ready = wait(list(pool), timeout=max(0.0, next_deadline - time.monotonic()))
            for conn in ready:
                w = pool[conn]  # type: ignore[index]
                try:
                    status, detail = w.conn.recv()
                except EOFError:
                    del pool[w.conn]
                    code = _stop(w, grace=5)
                    message = f"the PDF renderer stopped unexpectedly (exit code {code})"
                    if w.job is not None:
                        yield w.job, ("error", message)
                    elif not pool:
                        # Workers cannot even start: fail what is left rather than loop.
                        while pending:
                            yield pending.popleft(), ("error", message)
                    continue
                if status == "ready":
                    report.add_advice(detail or [])
                    w.ready = True
                    w.deadline = float("inf")
                    continue
                job, w.job, w.deadline = w.job, None, float("inf")
                if job is not None:
                    yield job, (status, detail)
            now = time.monotonic()
            for w in list(pool.values()):
                if now >= w.deadline:
                    del pool[w.conn]
                    _stop(w, grace=0)
                    if w.job is not None:
                        yield w.job, ("timeout", None)
                    elif not pool:
                        while pending:
                            yield pending.popleft(), ("error", "the PDF renderer did not start")
    finally:
        for w in pool.values():
            if w.job is None:
                with contextlib.suppress(OSError):
                    w.conn.send(None)
        for w in pool.values():
            _stop(w, grace=5 if w.job is None else 0)


def _stop(worker: _Worker, grace: float) -> int | None:
    """Wait ``grace`` seconds for a worker to end, then kill it; return its exit code."""
    worker.process.join(grace)
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join()
    code = worker.process.exitcode
    worker.conn.close()
    worker.process.close()
    return code


def _name(r: IssueRendering) -> str:
    return r.source or f"issue {r.slug!r}"
