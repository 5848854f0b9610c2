"""Phase 3 of a build: finishing each page, a pure function of the page and the index.

:func:`finish_page` takes a page as the site generator rendered it and the
:class:`~newsdesk.siteindex.SiteIndex`, and returns its final content: glossary links, for
an issue its port tables, links to port rows, header and footer, and its HTML with
absolute links for the renderings. Like mkdocs-autorefs' ``fix_refs(html, url_mapper)``,
it reads nothing but its arguments, so a page's result can be remembered across builds:
:func:`finish_pages` does that with a :class:`~newsdesk.pagecache.PageCache`, keyed on the
page and on :attr:`SiteIndex.linking_salt`.

::

    rendered page + SiteIndex ──finish_page──► FinishedPage
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from newsdesk import pages
from newsdesk.claims import named_protocols
from newsdesk.issues import Issue
from newsdesk.ports import link_port_mentions, place_port_tables
from newsdesk.prefill import remembered_map
from newsdesk.siteindex import GLOSSARY_URL, PORTS_URL, RenderedPage, SiteIndex
from newsdesk.urls import absolute_url, absolutize, relative_url

if TYPE_CHECKING:
    from newsdesk.pagecache import PageCache

#: Pages made from every other page (:mod:`newsdesk.latepages`): finished there.
LATE = (pages.GLOSSARY_PATH, pages.PORTS_PATH)


@dataclass(frozen=True)
class FinishedPage:
    """A page's final content and what the later phases need to know of it."""

    source: str
    url: str
    content: str
    """What the page shows: the rendered content with glossary links (and, for an issue,
    port tables), framed by the issue header and footer for an issue."""
    mentions: frozenset[str] = frozenset()
    """The slugs of the glossary terms the page links."""
    absolute: str | None = None
    """For an issue, its linked content (without the frame) with absolute links, for the
    renderings. The linked content itself is not kept: at 1,000 issues each copy of the
    issues' HTML is tens of megabytes."""


def finish_page(page: RenderedPage, index: SiteIndex) -> FinishedPage:
    """The final content of ``page``, a pure function of the page and the index."""
    issue = index.sources.issue_for_source(page.source)
    absolute_to = _absolute_url(index, issue) if issue else ""
    return _framed(page, index, issue, *_linked(page, index, issue, absolute_to))


def finish_pages(
    rendered: Mapping[str, RenderedPage], index: SiteIndex, memo: PageCache | None = None
) -> dict[str, FinishedPage]:
    """:func:`finish_page` for every page but the late ones, by source.

    With ``memo``, a page whose content and index are the same as in an earlier build is
    recalled instead of linked again; when many pages are new, worker processes link the
    pages from the end while this one goes on from the front (:mod:`newsdesk.prefill`).
    """
    pages = {source: page for source, page in rendered.items() if source not in LATE}
    if memo is None:
        return {source: finish_page(page, index) for source, page in pages.items()}
    keys = {source: _link_key(page, index, memo) for source, page in pages.items()}
    index.linker  # noqa: B018 - made once, before worker processes are forked

    def linked(source: str) -> tuple[str, frozenset[str], str | None]:
        return _remembered(pages[source], index, memo, keys[source])

    made = remembered_map(keys, linked, memo, index.site.settings.jobs)
    return {
        source: _framed(page, index, index.sources.issue_for_source(source), *made[source])
        for source, page in pages.items()
    }


def _link_key(page: RenderedPage, index: SiteIndex, memo: PageCache) -> str:
    """The page cache's key of a page's linking: the page and every argument of
    :func:`finish_page` it reads, through :attr:`SiteIndex.linking_salt`."""
    issue = index.sources.issue_for_source(page.source)
    return memo.key(
        step="link",
        salt=index.linking_salt,
        source=page.source,
        url=page.url,
        html=page.html,
        absolute_to=_absolute_url(index, issue) if issue else "",
        issue=issue.source if issue else "",
        defined=" ".join(sorted(index.defined_by(issue))) if issue else "",
        body=issue.body if issue and index.unglossed else "",
    )


def _remembered(
    page: RenderedPage, index: SiteIndex, memo: PageCache, key: str
) -> tuple[str, frozenset[str], str | None]:
    """:func:`_linked` for ``page``, or what an earlier build (or a worker) remembered."""
    issue = index.sources.issue_for_source(page.source)
    data = memo.recall(key)
    if data is not None and {"html", "mentions", "absolute"} <= set(data):
        if memo.made_ahead(key):
            memo.linked += 1
        else:
            memo.relinked += 1
        return data["html"], frozenset(data["mentions"]), data["absolute"]
    absolute_to = _absolute_url(index, issue) if issue else ""
    linked, mentions, absolute = _linked(page, index, issue, absolute_to)
    memo.linked += 1
    memo.remember(key, {"html": linked, "mentions": sorted(mentions), "absolute": absolute})
    return linked, mentions, absolute


def _linked(
    page: RenderedPage, index: SiteIndex, issue: Issue | None, absolute_to: str
) -> tuple[str, frozenset[str], str | None]:
    """The page linked (:func:`link_page`), its mentions, and for an issue the linked HTML
    with absolute links."""
    linked, mentions = link_page(page, index, issue)
    return linked, mentions, absolutize(linked, absolute_to) if issue else None


def _absolute_url(index: SiteIndex, issue: Issue) -> str:
    return absolute_url(index.site.settings.site_url, index.site.issue_url(issue))


def _framed(
    page: RenderedPage,
    index: SiteIndex,
    issue: Issue | None,
    linked: str,
    mentions: frozenset[str],
    absolute: str | None,
) -> FinishedPage:
    content = issue_frame(page.url, issue, index, linked) if issue else linked
    return FinishedPage(page.source, page.url, content, mentions, absolute)


def link_page(
    page: RenderedPage, index: SiteIndex, issue: Issue | None = None
) -> tuple[str, frozenset[str]]:
    """``page``'s HTML with glossary links, and for an issue its port tables and links to
    port rows; and the slugs of the terms it links."""
    settings = index.site.settings
    result = index.linker.link(
        page.html,
        glossary_url=relative_url(page.url, GLOSSARY_URL),
        mode=settings.glossary.link,
    )
    if issue is None:
        return result.html, result.mentions
    ports_url = relative_url(page.url, PORTS_URL)
    html = link_port_mentions(result.html, index.registry, ports_url)
    html = place_port_tables(
        html,
        _protocols(issue, index, result.mentions),
        index.registry,
        settings.ports.tables,
        ports_url,
        source=issue.source,
        names=index.protocol_names,
        t=index.site.strings,
    )
    return html, result.mentions


def _protocols(issue: Issue, index: SiteIndex, mentions: frozenset[str]) -> list[str]:
    """The protocols an issue talks about: those of the terms it links or defines, and
    (where the glossary lacks a protocol) the registry's names in its text."""
    protocols = (
        named_protocols(issue.body, index.registry, index.protocol_names) if index.unglossed else []
    )
    for slug in sorted(set(mentions) | index.defined_by(issue)):
        term = index.glossary.get(slug)
        protocol = index.registry.protocol(term.term) if term else None
        if protocol and protocol not in protocols:
            protocols.append(protocol)
    return protocols


def issue_frame(url: str, issue: Issue, index: SiteIndex, html: str) -> str:
    """An issue's content between its header (number, date, PDF) and its footer (the
    issues before and after it)."""
    site = index.site
    pdf = site.pdf_path(issue)
    header = pages.issue_header_html(
        issue,
        newsletter_name=site.settings.newsletter_name,
        status=issue.status(site.today),
        pdf_url=relative_url(url, pdf) if pdf else None,
        t=site.strings,
    )
    previous, following = index.sources.neighbours(issue)
    footer = pages.issue_footer_html(
        (previous, relative_url(url, site.issue_url(previous))) if previous else None,
        (following, relative_url(url, site.issue_url(following))) if following else None,
        t=site.strings,
    )
    return f"{header}\n{html}\n{footer}"
