"""Phase 1 of a build: read what the author wrote.

:func:`read_sources` reads and validates the issues, the curated glossary file and the port
registry, and returns them as one plain value, :class:`Sources`. Nothing here knows of a
site generator; the next phase (:mod:`newsdesk.siteindex`) adds what the rendered pages
tell (the terms the issues define).

::

    newsletters/*.md, glossary.yml, ports.yml ──read_sources──► Sources
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from newsdesk.cache import RenderCache
from newsdesk.errors import NewsdeskError, flatten, raise_all
from newsdesk.glossary import Entry, default_markdown_to_html, load_glossary_file
from newsdesk.i18n import Strings
from newsdesk.issues import Issue, load_issues
from newsdesk.mail.store import ledger_numbers
from newsdesk.ports import Registry, load_registry
from newsdesk.settings import Settings
from newsdesk.urls import page_url

#: Files beside the issues that are published with the site.
ASSET_SUFFIXES = frozenset(
    [
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".svg",
        ".webp",
        ".avif",
        ".ico",
        ".pdf",
        ".mp3",
        ".ogg",
        ".mp4",
        ".webm",
    ]
)


@dataclass(frozen=True)
class Site:
    """What one build is: its settings, its day, and what it shows and makes.

    ``preview`` (a live-preview server, ``newsdesk preview``) also shows drafts and
    scheduled issues and keeps going past errors; ``pdfs`` says whether this build makes
    the print edition. ``markdown_to_html`` converts the Markdown newsdesk writes itself
    (curated definitions, glossary port lines) with the site's extensions;
    ``markdown_salt`` names what shapes its output, for caching it.
    """

    settings: Settings
    today: dt.date = field(default_factory=dt.date.today)
    preview: bool = False
    pdfs: bool = True
    markdown_to_html: Callable[[str], str] = default_markdown_to_html
    markdown_salt: str = ""

    @property
    def strings(self) -> Strings:
        """The words newsdesk writes, in the site's language."""
        return Strings(self.settings.language)

    def newsletters_prefix(self) -> str:
        """The newsletters folder relative to the project root, with a trailing slash."""
        return self.settings.relative(self.settings.newsletters_dir).rstrip("/") + "/"

    def issue_url(self, issue: Issue) -> str:
        """The issue page's URL relative to the site root."""
        return page_url(issue.url, self.settings.use_directory_urls)

    def issue_dest(self, issue: Issue) -> str:
        """Where the issue page is written, relative to the site folder."""
        return issue.url + "index.html"

    def pdf_path(self, issue: Issue) -> str | None:
        """The PDF's path in the site, when this build makes PDFs for the issue."""
        if not self.pdfs or not issue.is_published(self.today):
            return None
        return f"{issue.url}{issue.slug}.pdf"

    def pdf_source(self, issue: Issue) -> str:
        """A name in the newsletters folder that stands for the PDF in authors' links."""
        return f"{self.newsletters_prefix()}{issue.slug}.pdf"


@dataclass(frozen=True)
class Sources:
    """The issues, curated glossary entries and port registry of one build, validated.

    ``errors`` are the problems a preview shows instead of stopping (a build raises them);
    ``warnings`` are what the author should hear about (an unknown front-matter field).
    """

    site: Site
    all_issues: tuple[Issue, ...] = ()
    registry: Registry = field(default_factory=lambda: Registry(()))
    curated: tuple[Entry, ...] = ()
    warnings: tuple[str, ...] = ()
    errors: tuple[NewsdeskError, ...] = ()
    issues: tuple[Issue, ...] = field(init=False)
    """The issues this build shows, oldest first."""
    _by_source: dict[str, Issue] = field(init=False, repr=False, compare=False)
    _position: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Asked for on every page: derived once.
        site = self.site
        shown = tuple(i for i in self.all_issues if site.preview or i.is_published(site.today))
        object.__setattr__(self, "issues", shown)
        object.__setattr__(self, "_by_source", {i.source: i for i in shown})
        object.__setattr__(self, "_position", {i.source: n for n, i in enumerate(shown)})

    @property
    def settings(self) -> Settings:
        return self.site.settings

    @property
    def published(self) -> list[Issue]:
        """The issues whose day has come and that are not drafts."""
        return [i for i in self.all_issues if i.is_published(self.site.today)]

    def issue_for_source(self, source: str) -> Issue | None:
        """The shown issue whose file is ``source`` (relative to the project root)."""
        return self._by_source.get(source)

    def neighbours(self, issue: Issue) -> tuple[Issue | None, Issue | None]:
        """The issues before and after ``issue`` in date order, among those shown."""
        shown = self.issues
        index = self._position.get(issue.source)
        if index is None:
            return None, None
        before = shown[index - 1] if index > 0 else None
        after = shown[index + 1] if index + 1 < len(shown) else None
        return before, after

    def assets(self) -> list[tuple[str, Path]]:
        """Images and other media beside the issues, published at the same path.

        Only media types: a subscriber list or notes kept in the folder stay private.
        """
        folder = self.settings.newsletters_dir
        if not folder.is_dir():
            return []
        prefix = self.site.newsletters_prefix()
        out = []
        for path in sorted(folder.rglob("*")):
            parts = path.relative_to(folder).parts
            if (
                path.is_file()
                and path.suffix.lower() in ASSET_SUFFIXES
                and not any(part.startswith(".") for part in parts)
            ):
                out.append((prefix + "/".join(parts), path))
        return out


def read_sources(site: Site) -> Sources:
    """Read and validate the issues, the glossary file and the port registry.

    Raises :class:`~newsdesk.errors.NewsdeskError` (or several) naming file and line. In a
    preview the problems are kept in :attr:`Sources.errors` instead, and what is valid is
    shown, so the author sees the site and the message at once.

    The curated definitions are converted with ``site.markdown_to_html`` through a cache
    under ``.newsdesk/cache/`` (this phase owns it).
    """
    settings = site.settings
    errors: list[NewsdeskError] = []
    try:
        sent = ledger_numbers(settings.email.database)
    except NewsdeskError as exc:
        errors.append(exc)
        sent = {}
    issues, warnings = load_issues(
        settings.newsletters_dir, settings.root, errors=errors, sent=sent
    )
    registry = Registry(())
    try:
        registry = load_registry(
            settings.ports.extra,
            settings.config_name,
            # Only read again for lines when there are rows to name.
            extra_file=settings.config_file if settings.ports.extra else None,
        )
    except NewsdeskError as exc:
        errors.append(exc)
    render = RenderCache(
        site.markdown_to_html,
        settings.state_dir / "cache" / "definitions.json",
        salt=site.markdown_salt,
    )
    curated: list[Entry] = []
    try:
        curated = load_glossary_file(settings.glossary.file, settings.root, render)
    except NewsdeskError as exc:
        errors.append(exc)
    render.save()
    return Sources(
        site,
        tuple(issues),
        registry,
        tuple(curated),
        tuple(warnings),
        tuple(raise_unless_preview(site, errors)),
    )


def raise_unless_preview(site: Site, errors: list[NewsdeskError]) -> list[NewsdeskError]:
    """Raise ``errors`` in a build; in a preview return them (flattened) to show."""
    errors = flatten(errors)
    if not site.preview:
        raise_all(errors)
    return errors
