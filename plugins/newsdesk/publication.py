"""One build of the newsletter: which issues are shown, and what each page becomes.

A :class:`Publication` is created per build by a front end (the MkDocs plugin today). The
front end hands it each issue's rendered content HTML and asks it for the generated pages
and the final content of every page; the publication keeps no MkDocs objects.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from newsdesk import pages
from newsdesk.cache import RenderCache
from newsdesk.claims import check_claims, default_names, named_protocols
from newsdesk.errors import NewsdeskError, NewsdeskErrors
from newsdesk.glossary import (
    Entry,
    Glossary,
    Mention,
    Term,
    build_glossary,
    default_markdown_to_html,
    definition_line,
    extract_terms,
    glossary_page_markdown,
    load_glossary_file,
    mentions_html,
)
from newsdesk.i18n import Strings
from newsdesk.issues import Issue, load_issues
from newsdesk.linker import Linker
from newsdesk.mail.store import ledger_numbers
from newsdesk.ports import (
    Registry,
    glossary_ports_markdown,
    link_port_mentions,
    load_registry,
    place_port_tables,
    ports_page_markdown,
)
from newsdesk.rendering import IssueRendering, TermNote
from newsdesk.settings import Settings
from newsdesk.urls import absolute_url, absolutize, page_url, relative_url

GLOSSARY_URL = "glossary/"
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
PORTS_URL = "ports/"
MENTIONS_MARK = "<!-- newsdesk-mentions {slug} -->"
_MENTIONS_MARK = re.compile(r"<!-- newsdesk-mentions ([^ ]+) -->")


@dataclass
class PageContent:
    """A page's rendered content as handed over by the front end."""

    source: str
    url: str
    html: str
    issue: Issue | None = None
    mentions: frozenset[str] = frozenset()
    absolute: str | None = None
    """``html`` with absolute links, for the renderings, once :meth:`Publication.finish`
    made (or recalled) it."""


@dataclass
class Publication:
    """The issues of one build and everything derived from them.

    ``preview`` (a live-preview server) also shows drafts and scheduled issues.
    """

    settings: Settings
    today: dt.date = field(default_factory=dt.date.today)
    preview: bool = False
    pdfs: bool = True
    markdown_to_html: Callable[[str], str] = default_markdown_to_html
    markdown_salt: str = ""
    """What shapes ``markdown_to_html``'s output (its extensions), for caching it."""
    all_issues: list[Issue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the build says at INFO level (a curated definition replacing an issue's)."""
    registry: Registry = field(default_factory=lambda: Registry(()))
    glossary: Glossary = field(default_factory=lambda: Glossary(()))
    curated: list[Entry] = field(default_factory=list)
    errors: list[NewsdeskError] = field(default_factory=list)
    """Problems a preview shows instead of stopping (see :meth:`load`)."""
    _content: dict[str, PageContent] = field(default_factory=dict)
    _linker: Linker | None = None
    _names: dict[str, str] | None = None
    _notes: dict[str, TermNote] | None = None
    _mentions: dict[str, list[Mention]] = field(default_factory=dict)
    _shown: list[Issue] = field(default_factory=list)
    _by_source: dict[str, Issue] = field(default_factory=dict)
    _position: dict[str, int] = field(default_factory=dict)
    _defined: dict[str, set[str]] = field(default_factory=dict)
    """The slugs of the terms each issue defines, by the issue's source."""
    _unglossed: bool = False
    """Whether a protocol of the registry has no glossary entry to find it by."""
    memo: Any = None
    """A :class:`newsdesk.pagecache.PageCache` remembering each page's glossary links, port
    tables and absolute-link HTML across builds, or ``None``."""
    _link_salt: str = ""

    @property
    def strings(self) -> Strings:
        """The words newsdesk writes, in the site's language."""
        return Strings(self.settings.language)

    def load(self) -> None:
        """Read and validate the issues, the glossary file and the port registry.

        Raises :class:`~newsdesk.errors.NewsdeskError` (or several) naming file and line.
        In a preview the problems are kept in :attr:`errors` instead, and what is valid is
        shown, so the author sees the site and the message at once.
        """
        self._content = {}
        self.all_issues, self.warnings, self.registry, self.curated = [], [], Registry(()), []
        self.errors = []
        errors: list[NewsdeskError] = []
        try:
            sent = ledger_numbers(self.settings.email.database)
        except NewsdeskError as exc:
            errors.append(exc)
            sent = {}
        self.all_issues, self.warnings = load_issues(
            self.settings.newsletters_dir, self.settings.root, errors=errors, sent=sent
        )
        # Asked for on every page: derived once per load.
        self._shown = [i for i in self.all_issues if self.preview or i.is_published(self.today)]
        self._by_source = {i.source: i for i in self._shown}
        self._position = {i.source: n for n, i in enumerate(self._shown)}
        try:
            self.registry = load_registry(self.settings.ports.extra)
        except NewsdeskError as exc:
            errors.append(exc)
        render = RenderCache(
            self.markdown_to_html,
            self.settings.state_dir / "cache" / "definitions.json",
            salt=self.markdown_salt,
        )
        try:
            self.curated = load_glossary_file(
                self.settings.glossary.file, self.settings.root, render
            )
        except NewsdeskError as exc:
            errors.append(exc)
        render.save()
        self._fail(errors)

    def _fail(self, errors: list[NewsdeskError]) -> None:
        """Raise ``errors``, or in a preview keep them to show."""
        errors = _flatten(errors)
        if not errors:
            return
        if self.preview:
            self.errors += errors
            return
        raise errors[0] if len(errors) == 1 else NewsdeskErrors(errors)

    @property
    def issues(self) -> list[Issue]:
        """The issues this build shows, oldest first."""
        return self._shown

    @property
    def published(self) -> list[Issue]:
        return [i for i in self.all_issues if i.is_published(self.today)]

    def issue_for_source(self, source: str) -> Issue | None:
        return self._by_source.get(source)

    def newsletters_prefix(self) -> str:
        """The newsletters folder relative to the project root, with a trailing slash."""
        return self.settings.relative(self.settings.newsletters_dir).rstrip("/") + "/"

    def assets(self) -> list[tuple[str, Path]]:
        """Images and other media beside the issues, published at the same path.

        Only media types: a subscriber list or notes kept in the folder stay private.
        """
        folder = self.settings.newsletters_dir
        if not folder.is_dir():
            return []
        prefix = self.newsletters_prefix()
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
            self.issues,
            today=self.today,
            pdf_href=lambda i: self._pdf_link(pages.ARCHIVE_PATH, i),
            t=self.strings,
        )

    def glossary_markdown(self) -> str:
        """The glossary page's stand-in; its text is made once every issue is rendered."""
        title = self.strings("Glossary")
        return f"---\ntitle: {title}\nsearch:\n  boost: 2\n---\n\n# {title}\n"

    def ports_markdown(self) -> str:
        """The ports page's stand-in; its text is made with the glossary."""
        title = self.strings("Ports")
        return f"---\ntitle: {title}\n---\n\n# {title}\n"

    def expand_markers(self, markdown: str, source: str) -> str:
        """Fill the home-page markers (latest issue, recent issues) in a hand-written page."""
        if pages.SUBSCRIBE_MARKER in markdown:
            from newsdesk.service.pages import expand_subscribe_form

            markdown = expand_subscribe_form(
                markdown, self.settings.email.service_url, self.strings, page=f"site:{source}"
            )
        if pages.LATEST_MARKER in markdown:
            block = pages.latest_markdown(
                self.issues,
                from_src=source,
                today=self.today,
                pdf_href=lambda i: self._pdf_link(source, i),
                t=self.strings,
            )
            markdown = markdown.replace(pages.LATEST_MARKER, block)
        if pages.RECENT_MARKER in markdown:
            block = pages.recent_markdown(
                self.issues,
                from_src=source,
                today=self.today,
                count=self.settings.recent,
                archive_src=pages.ARCHIVE_PATH,
                t=self.strings,
            )
            markdown = markdown.replace(pages.RECENT_MARKER, block)
        return markdown

    def _pdf_link(self, from_src: str, issue: Issue) -> str | None:
        if not self.pdf_path(issue):
            return None
        return pages.link_between(from_src, self.pdf_source(issue))

    # Page content ------------------------------------------------------------------------

    def record(self, source: str, url: str, html: str) -> None:
        """Keep a page's rendered content until every page is rendered."""
        self._content[source] = PageContent(source, url, html, self.issue_for_source(source))

    def finish(self) -> dict[str, str]:
        """Build the glossary, link every page and add port tables and issue frames.

        Returns the final content of every recorded page, by source path, except the
        glossary and ports pages: see :meth:`late_pages`.
        """
        self._build_glossary()
        self._check_claims()
        self._link_salt = self._linking_salt() if self.memo is not None else ""
        out: dict[str, str] = {}
        for source, page in self._content.items():
            if source in (pages.GLOSSARY_PATH, pages.PORTS_PATH):
                continue
            self._link_page(page)
            out[source] = self._issue_page(page) if page.issue else page.html
        return out

    def _linking_salt(self) -> str:
        """Everything besides the page that its links and port tables depend on: the whole
        glossary and registry, the names of protocols, the settings that shape them."""
        text = repr(
            (
                self.glossary.terms,
                self.registry.rows,
                sorted(self.protocol_names().items()),
                self._unglossed,
                self.settings.glossary.link,
                self.settings.ports.tables,
                self.settings.site_url,
                self.settings.use_directory_urls,
            )
        )
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def _link_page(self, page: PageContent) -> None:
        """Link ``page`` (:meth:`_link`) and, for an issue, make its absolute-link HTML;
        both from :attr:`memo` when the page and everything it depends on are the same."""
        issue = page.issue
        absolute_to = absolute_url(self.settings.site_url, self.issue_url(issue)) if issue else ""
        memo, key = self.memo, ""
        if memo is not None:
            key = memo.key(
                step="link",
                salt=self._link_salt,
                source=page.source,
                url=page.url,
                html=page.html,
                absolute_to=absolute_to,
                issue=issue.source if issue else "",
                defined=" ".join(sorted(self._defined.get(issue.source, ()))) if issue else "",
                body=issue.body if issue and self._unglossed else "",
            )
            data = memo.recall(key)
            if data is not None and {"html", "mentions", "absolute"} <= set(data):
                page.html, page.mentions = data["html"], frozenset(data["mentions"])
                page.absolute = data["absolute"]
                memo.relinked += 1
                return
        page.html, page.mentions = self._link(page)
        page.absolute = absolutize(page.html, absolute_to) if issue else None
        if memo is not None:
            memo.linked += 1
            memo.remember(
                key,
                {"html": page.html, "mentions": sorted(page.mentions), "absolute": page.absolute},
            )

    def _build_glossary(self) -> None:
        extracted: list[Term] = []
        labels = self.settings.glossary.all_labels
        for issue in self.published or self.issues:
            page = self._content.get(issue.source)
            if page is not None:
                for term in extract_terms(page.html, issue.source, labels):
                    line = definition_line(issue.body, term.term)
                    if line is not None:
                        term = replace(term, line=issue.body_line + line - 1)
                    extracted.append(term)
        self.notes = []
        try:
            self.glossary, warnings = build_glossary(
                extracted,
                self.curated,
                self.settings.relative(self.settings.glossary.file),
                notes=self.notes,
            )
            self.warnings += warnings
        except NewsdeskError as exc:
            # In a preview whose issues failed to load, glossary errors are mostly echoes
            # of them (a term no valid issue defines): show the cause, link what is known.
            if not self.errors:
                self._fail([exc])
            self.glossary, _ = build_glossary(extracted)
        self._linker = Linker(self.glossary, labels)
        self._names = self._notes = None
        self._defined = {}
        for term in self.glossary:
            if term.source:
                self._defined.setdefault(term.source, set()).add(term.slug)
        self._unglossed = any(self.glossary.lookup(p) is None for p in self.registry.protocols())

    def protocol_names(self) -> dict[str, str]:
        """Every spelling of a protocol the glossary knows (term, aliases, expansion)."""
        if self._names is None:
            self._names = self._find_protocol_names()
        return self._names

    def _find_protocol_names(self) -> dict[str, str]:
        names = default_names(self.registry)
        for term in self.glossary:
            protocol = self.registry.protocol(term.term)
            if protocol is None:
                continue
            for name in (term.term, *term.aliases, term.expansion):
                if name:
                    names.setdefault(name, protocol)
        return names

    def _check_claims(self) -> None:
        if not self.settings.ports.check:  # ports.check: off
            return
        names = self.protocol_names()
        for issue in self.issues:
            for problem in check_claims(
                issue.body, issue.source, issue.body_line, self.registry, names
            ):
                self.warnings.append(str(problem))

    def _link(self, page: PageContent) -> tuple[str, frozenset[str]]:
        assert self._linker is not None
        result = self._linker.link(
            page.html,
            glossary_url=relative_url(page.url, GLOSSARY_URL),
            mode=self.settings.glossary.link,
        )
        html = result.html
        if page.issue is not None:
            ports_url = relative_url(page.url, PORTS_URL)
            html = link_port_mentions(html, self.registry, ports_url)
            talked_about = set(result.mentions) | self._defined.get(page.issue.source, set())
            # Protocols named in the issue count even where the glossary has no entry.
            protocols = (
                named_protocols(page.issue.body, self.registry, self.protocol_names())
                if self._unglossed
                else []
            )
            for slug in sorted(talked_about):
                term = self.glossary.get(slug)
                protocol = self.registry.protocol(term.term) if term else None
                if protocol and protocol not in protocols:
                    protocols.append(protocol)
            html = place_port_tables(
                html,
                protocols,
                self.registry,
                self.settings.ports.tables,
                ports_url,
                source=page.issue.source,
                names=self.protocol_names(),
                t=self.strings,
            )
        return html, result.mentions

    def late_pages(self) -> dict[str, str]:
        """Markdown of the pages made from every other page: glossary and ports."""
        glossary_page = self._content.get(pages.GLOSSARY_PATH)
        glossary_url = glossary_page.url if glossary_page else GLOSSARY_URL
        ports_page = self._content.get(pages.PORTS_PATH)
        ports_url = ports_page.url if ports_page else PORTS_URL

        self._mentions = {}
        for issue in sorted(self.issues, key=lambda i: (i.date, i.source), reverse=True):
            page = self._content.get(issue.source)
            if page is None:
                continue
            url = relative_url(glossary_url, self.issue_url(issue))
            label = (
                self.strings("No. {number}", number=issue.number)
                if issue.number is not None
                else issue.title
            )
            # Its own definition is not a mention: the entry says "Defined in" already.
            for slug in page.mentions:
                self._mentions.setdefault(slug, []).append(Mention(issue.title, url, label))

        def source_link(source: str) -> tuple[str, str] | None:
            issue = self._by_source.get(source)
            if issue is None:
                return None
            return issue.title, relative_url(glossary_url, self.issue_url(issue))

        registry = self.registry

        def entry_extra(term: Term) -> str:
            # The backlinks join the page once it is rendered and linked (finish_late_page):
            # thousands of links need neither Markdown nor the linker.
            return ports_block(term) + MENTIONS_MARK.format(slug=term.slug)

        def ports_block(term: Term) -> str:
            protocol = registry.protocol(term.term)
            if protocol is None:
                return ""
            md = glossary_ports_markdown(
                registry, protocol, relative_url(glossary_url, ports_url), self.strings
            )
            if not md:
                return ""
            html = self.markdown_to_html(md).strip()
            return html.replace("<p>", '<p class="nd-glossary-ports">', 1)

        # A protocol the site adds to the registry should be explained like the others.
        added = {str(row.get("protocol", "")).strip() for row in self.settings.ports.extra}

        def glossary_url_for(protocol: str) -> str | None:
            term = self.glossary.lookup(protocol)
            if term is None:
                if protocol in added:
                    self.warnings.append(
                        f"{self.settings.relative(self.settings.glossary.file)}: the port registry "
                        f"shows the protocol {protocol!r} (from ports.extra), which has no "
                        "glossary entry; add one"
                    )
                return None
            return "../" + pages.GLOSSARY_PATH + "#" + term.slug

        return {
            pages.GLOSSARY_PATH: glossary_page_markdown(
                self.glossary, {}, source_link, extra=entry_extra, t=self.strings
            ),
            pages.PORTS_PATH: ports_page_markdown(registry, glossary_url_for, t=self.strings).split(
                "---\n", 2
            )[-1],
        }

    def finish_late_page(self, source: str, html: str) -> str:
        """Link a late page (rendered from :meth:`late_pages`) like every other page."""
        page = self._content.get(source)
        if page is None or self._linker is None:
            return html
        page.html = html
        linked = self._linker.link(
            html,
            glossary_url=relative_url(page.url, GLOSSARY_URL),
            mode=self.settings.glossary.link,
        ).html
        if source != pages.GLOSSARY_PATH:
            return linked
        return _MENTIONS_MARK.sub(
            lambda m: mentions_html(self._mentions.get(m.group(1), []), t=self.strings), linked
        )

    def _issue_page(self, page: PageContent) -> str:
        issue = page.issue
        assert issue is not None
        pdf = self.pdf_path(issue)
        header = pages.issue_header_html(
            issue,
            newsletter_name=self.settings.newsletter_name,
            status=issue.status(self.today),
            pdf_url=relative_url(page.url, pdf) if pdf else None,
            t=self.strings,
        )
        previous, following = self.neighbours(issue)
        footer = pages.issue_footer_html(
            (previous, relative_url(page.url, self.issue_url(previous))) if previous else None,
            (following, relative_url(page.url, self.issue_url(following))) if following else None,
            t=self.strings,
        )
        return f"{header}\n{page.html}\n{footer}"

    def neighbours(self, issue: Issue) -> tuple[Issue | None, Issue | None]:
        """The issues before and after ``issue`` in date order, among those shown."""
        shown = self.issues
        index = self._position.get(issue.source)
        if index is None:
            return None, None
        before = shown[index - 1] if index > 0 else None
        after = shown[index + 1] if index + 1 < len(shown) else None
        return before, after

    def term_notes(self, page: PageContent) -> tuple[TermNote, ...]:
        """The glossary terms an issue links, for the print and plain-text editions."""
        if self._notes is None:
            glossary_url = absolute_url(self.settings.site_url, GLOSSARY_URL)
            self._notes = {
                term.slug: TermNote(
                    term=term.term,
                    expansion=term.expansion,
                    definition=term.definition_text,
                    url=f"{glossary_url}#{term.slug}",
                )
                for term in self.glossary
            }
        return tuple(note for slug, note in self._notes.items() if slug in page.mentions)

    def renderings(self, *, unpublished: bool = False) -> list[IssueRendering]:
        """Each published issue's content with absolute links, for feeds, PDF and email.

        ``unpublished`` adds the drafts and scheduled issues a preview shows, marked as such
        (:attr:`IssueRendering.draft`), for ``newsdesk preview`` and ``send --test``.
        """
        out = []
        for page in self._content.values():
            issue = page.issue
            if issue is None or not (unpublished or issue.is_published(self.today)):
                continue
            status = issue.status(self.today)
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
                    html=page.absolute if page.absolute is not None else absolutize(page.html, url),
                    terms=self.term_notes(page),
                    newsletter_name=self.settings.newsletter_name,
                    site_url=self.settings.site_url,
                    language=self.settings.language,
                    draft="" if status == "published" else status,
                )
            )
        return sorted(out, key=lambda r: (r.date, r.number or 0))


def _flatten(errors: list[NewsdeskError]) -> list[NewsdeskError]:
    out: list[NewsdeskError] = []
    for e in errors:
        out.extend(e.errors if isinstance(e, NewsdeskErrors) else [e])
    return out
