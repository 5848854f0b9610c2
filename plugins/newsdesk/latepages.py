"""Phase 4 of a build: the pages made from every other page – the glossary and the ports.

:func:`late_pages` gives their Markdown once every other page is finished (the glossary
lists, for each term, the issues that link it); the site generator renders that Markdown
like any page, and :func:`finish_late_page` then links the result and puts the lists of
mentions in. Thousands of backlinks need neither Markdown nor the linker: the Markdown
holds a marker per term (:data:`MENTIONS_MARK`) that becomes HTML at the end.

::

    SiteIndex + finished pages ──late_pages──► LatePages ──(render)──► finish_late_page
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from newsdesk import pages
from newsdesk.finishing import FinishedPage
from newsdesk.glossary import Mention, Term, glossary_page_markdown, mentions_html
from newsdesk.i18n import Strings
from newsdesk.ports import glossary_ports_markdown, ports_page_markdown
from newsdesk.siteindex import GLOSSARY_URL, PORTS_URL, SiteIndex
from newsdesk.urls import relative_url

MENTIONS_MARK = "<!-- newsdesk-mentions {slug} -->"
_MENTIONS_MARK = re.compile(r"<!-- newsdesk-mentions ([^ ]+) -->")


@dataclass(frozen=True)
class LatePages:
    """The Markdown of the late pages, and what their finishing needs."""

    markdown: Mapping[str, str]
    """By source: the glossary's and the ports page's Markdown."""
    mentions: Mapping[str, list[Mention]] = field(default_factory=dict)
    """The issues that link each term, newest first, by the term's slug."""
    warnings: tuple[str, ...] = ()


def stand_in_markdown(source: str, t: Strings) -> str:
    """The Markdown a late page starts as, before :func:`late_pages` gives its text: its
    title, so the site's navigation and search know it from the start."""
    if source == pages.GLOSSARY_PATH:
        title = t("Glossary")
        return f"---\ntitle: {title}\nsearch:\n  boost: 2\n---\n\n# {title}\n"
    title = t("Ports")
    return f"---\ntitle: {title}\n---\n\n# {title}\n"


def late_pages(index: SiteIndex, finished: Mapping[str, FinishedPage]) -> LatePages:
    """The glossary and ports pages' Markdown, from the index and every finished page."""
    glossary_url = _url(index, pages.GLOSSARY_PATH, GLOSSARY_URL)
    ports_url = _url(index, pages.PORTS_PATH, PORTS_URL)
    warnings: list[str] = []
    glossary = glossary_page_markdown(
        index.glossary,
        {},
        lambda source: _source_link(index, glossary_url, source),
        extra=lambda term: (
            _ports_block(index, term, relative_url(glossary_url, ports_url))
            + MENTIONS_MARK.format(slug=term.slug)
        ),
        t=index.site.strings,
    )
    # A protocol the site adds to the registry should be explained like the others.
    added = {str(row.get("protocol", "")).strip() for row in index.site.settings.ports.extra}
    ports = ports_page_markdown(
        index.registry,
        lambda protocol: _glossary_link(index, protocol, protocol in added, warnings),
        t=index.site.strings,
    )
    return LatePages(
        {pages.GLOSSARY_PATH: glossary, pages.PORTS_PATH: ports.split("---\n", 2)[-1]},
        _mentions(index, finished, glossary_url),
        tuple(warnings),
    )


def finish_late_page(source: str, url: str, html: str, index: SiteIndex, late: LatePages) -> str:
    """A late page's rendered content, linked like every other page; the glossary also gets
    its lists of mentions."""
    linked = index.linker.link(
        html,
        glossary_url=relative_url(url, GLOSSARY_URL),
        mode=index.site.settings.glossary.link,
    ).html
    if source != pages.GLOSSARY_PATH:
        return linked
    strings = index.site.strings
    return _MENTIONS_MARK.sub(
        lambda m: mentions_html(late.mentions.get(m.group(1), []), t=strings), linked
    )


def _url(index: SiteIndex, source: str, default: str) -> str:
    return index.urls.get(source, default)


def _mentions(
    index: SiteIndex, finished: Mapping[str, FinishedPage], glossary_url: str
) -> dict[str, list[Mention]]:
    site = index.site
    mentions: dict[str, list[Mention]] = {}
    for issue in sorted(index.sources.issues, key=lambda i: (i.date, i.source), reverse=True):
        page = finished.get(issue.source)
        if page is None:
            continue
        url = relative_url(glossary_url, site.issue_url(issue))
        label = (
            site.strings("No. {number}", number=issue.number)
            if issue.number is not None
            else issue.title
        )
        # Its own definition is not a mention: the entry says "Defined in" already.
        for slug in page.mentions:
            mentions.setdefault(slug, []).append(Mention(issue.title, url, label))
    return mentions


def _source_link(index: SiteIndex, glossary_url: str, source: str) -> tuple[str, str] | None:
    """The title and URL (from the glossary page) of the issue that defines a term."""
    issue = index.sources.issue_for_source(source)
    if issue is None:
        return None
    return issue.title, relative_url(glossary_url, index.site.issue_url(issue))


def _ports_block(index: SiteIndex, term: Term, ports_url: str) -> str:
    """A glossary entry's line of ports, as HTML."""
    protocol = index.registry.protocol(term.term)
    if protocol is None:
        return ""
    md = glossary_ports_markdown(index.registry, protocol, ports_url, index.site.strings)
    if not md:
        return ""
    html = index.site.markdown_to_html(md).strip()
    return html.replace("<p>", '<p class="nd-glossary-ports">', 1)


def _glossary_link(index: SiteIndex, protocol: str, added: bool, warnings: list[str]) -> str | None:
    """The ports page's link to a protocol's glossary entry; a protocol the site adds to the
    registry (``ports.extra``: ``added``) without an entry is a warning: it should be explained like
    the others."""
    term = index.glossary.lookup(protocol)
    if term is not None:
        return "../" + pages.GLOSSARY_PATH + "#" + term.slug
    settings = index.site.settings
    if added:
        warnings.append(
            f"{settings.relative(settings.glossary.file)}: the port registry shows the "
            f"protocol {protocol!r} (from ports.extra), which has no glossary entry; add one"
        )
    return None
