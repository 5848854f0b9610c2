"""One build of the newsletter: which issues are shown, and what each page becomes.

A :class:`Publication` is created per build by a front end (the MkDocs plugin today). The
front end hands it each issue's rendered content HTML and asks it for the generated pages
and the final content of every page; the publication keeps no MkDocs objects.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from newsdesk import pages
from newsdesk.issues import Issue, load_issues
from newsdesk.rendering import IssueRendering, TermNote
from newsdesk.settings import Settings
from newsdesk.urls import absolute_url, absolutize, page_url, relative_url

log = logging.getLogger("mkdocs.plugins.newsdesk")

GLOSSARY_URL = "glossary/"
PORTS_URL = "ports/"


@dataclass
class PageContent:
    """A page's rendered content as handed over by the front end."""

    source: str
    url: str
    html: str
    issue: Issue | None = None


@dataclass
class Publication:
    """The issues of one build and everything derived from them.

    ``preview`` (a live-preview server) also shows drafts and scheduled issues.
    """

    settings: Settings
    today: dt.date = field(default_factory=dt.date.today)
    preview: bool = False
    pdfs: bool = True
    all_issues: list[Issue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _content: dict[str, PageContent] = field(default_factory=dict)

    def load(self) -> None:
        """Read and validate the issues; raises :class:`~newsdesk.errors.NewsdeskErrors`."""
        self.all_issues, self.warnings = load_issues(
            self.settings.newsletters_dir, self.settings.root
        )

    @property
    def issues(self) -> list[Issue]:
        """The issues this build shows, oldest first."""
        if self.preview:
            return list(self.all_issues)
        return [i for i in self.all_issues if i.is_published(self.today)]

    @property
    def published(self) -> list[Issue]:
        return [i for i in self.all_issues if i.is_published(self.today)]

    def issue_for_source(self, source: str) -> Issue | None:
        return self._by_source.get(source)

    @property
    def _by_source(self) -> dict[str, Issue]:
        return {i.source: i for i in self.issues}

    def newsletters_prefix(self) -> str:
        """The newsletters folder relative to the project root, with a trailing slash."""
        return self.settings.relative(self.settings.newsletters_dir).rstrip("/") + "/"

    def issue_url(self, issue: Issue) -> str:
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

    # Generated pages -------------------------------------------------------------------

    def archive_markdown(self) -> str:
        return pages.archive_markdown(
            self.issues, today=self.today, pdf_href=lambda i: self._pdf_link(pages.ARCHIVE_PATH, i)
        )

    def glossary_markdown(self) -> str:
        return "---\ntitle: Glossary\n---\n\n# Glossary\n"

    def ports_markdown(self) -> str:
        return "---\ntitle: Ports\n---\n\n# Ports\n"

    def expand_markers(self, markdown: str, source: str) -> str:
        """Fill the home-page markers (latest issue, recent issues) in a hand-written page."""
        if pages.LATEST_MARKER in markdown:
            block = pages.latest_markdown(
                self.issues,
                from_src=source,
                today=self.today,
                pdf_href=lambda i: self._pdf_link(source, i),
            )
            markdown = markdown.replace(pages.LATEST_MARKER, block)
        if pages.RECENT_MARKER in markdown:
            block = pages.recent_markdown(
                self.issues,
                from_src=source,
                today=self.today,
                count=self.settings.recent,
                archive_src=pages.ARCHIVE_PATH,
            )
            markdown = markdown.replace(pages.RECENT_MARKER, block)
        return markdown

    def _pdf_link(self, from_src: str, issue: Issue) -> str | None:
        if not self.pdf_path(issue):
            return None
        import posixpath

        return posixpath.relpath(self.pdf_source(issue), posixpath.dirname(from_src) or ".")

    # Page content ------------------------------------------------------------------------

    def record(self, source: str, url: str, html: str) -> None:
        """Keep a page's rendered content until every page is rendered."""
        self._content[source] = PageContent(source, url, html, self.issue_for_source(source))

    def finish(self) -> dict[str, str]:
        """The final content of every recorded page, by source path."""
        out: dict[str, str] = {}
        for source, page in self._content.items():
            if page.issue is None:
                out[source] = page.html
                continue
            out[source] = self._issue_page(page)
        return out

    def _issue_page(self, page: PageContent) -> str:
        issue = page.issue
        assert issue is not None
        pdf = self.pdf_path(issue)
        header = pages.issue_header_html(
            issue,
            newsletter_name=self.settings.newsletter_name,
            status=issue.status(self.today),
            pdf_url=relative_url(page.url, pdf) if pdf else None,
        )
        previous, following = self.neighbours(issue)
        footer = pages.issue_footer_html(
            (previous, relative_url(page.url, self.issue_url(previous))) if previous else None,
            (following, relative_url(page.url, self.issue_url(following))) if following else None,
        )
        return f"{header}\n{page.html}\n{footer}"

    def neighbours(self, issue: Issue) -> tuple[Issue | None, Issue | None]:
        """The issues before and after ``issue`` in date order, among those shown."""
        shown = self.issues
        for index, candidate in enumerate(shown):
            if candidate.source == issue.source:
                before = shown[index - 1] if index > 0 else None
                after = shown[index + 1] if index + 1 < len(shown) else None
                return before, after
        return None, None

    def renderings(
        self, terms: dict[str, Sequence[TermNote]] | None = None
    ) -> list[IssueRendering]:
        """Each published issue's content with absolute links, for feeds, PDF and email."""
        out = []
        for page in self._content.values():
            issue = page.issue
            if issue is None or not issue.is_published(self.today):
                continue
            url = absolute_url(self.settings.site_url, self.issue_url(issue))
            pdf = self.pdf_path(issue)
            out.append(
                IssueRendering(
                    slug=issue.slug,
                    number=issue.number,
                    title=issue.title,
                    date=issue.date,
                    author=issue.author,
                    summary=issue.summary,
                    tags=issue.tags,
                    source=issue.source,
                    url=url,
                    pdf_url=absolute_url(self.settings.site_url, pdf) if pdf else None,
                    html=absolutize(page.html, url),
                    terms=tuple((terms or {}).get(issue.source, ())),
                    newsletter_name=self.settings.newsletter_name,
                    site_url=self.settings.site_url,
                )
            )
        return sorted(out, key=lambda r: (r.date, r.number or 0))
