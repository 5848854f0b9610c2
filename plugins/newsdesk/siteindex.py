"""Phase 2 of a build: the site index, made once every page is rendered.

:func:`index_site` takes the :class:`~newsdesk.sources.Sources` and each page's rendered
HTML, and returns a :class:`SiteIndex`: the glossary (the terms the issues define merged
with the curated entries), the linker built from it, the protocol names the port tables and
claims know, and what each issue defines. It also checks the port claims in the issues'
prose. Everything a page's finishing (:mod:`newsdesk.finishing`) depends on besides the
page itself is in this value.

::

    Sources + rendered pages ──index_site──► SiteIndex
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

from newsdesk.claims import check_claims, default_names
from newsdesk.errors import NewsdeskError
from newsdesk.glossary import Glossary, Term, build_glossary, definition_line, extract_terms
from newsdesk.issues import Issue
from newsdesk.linker import Linker
from newsdesk.ports import Registry
from newsdesk.prefill import remembered_map
from newsdesk.rendering import TermNote
from newsdesk.sources import Site, Sources, raise_unless_preview
from newsdesk.urls import absolute_url

if TYPE_CHECKING:
    from newsdesk.pagecache import PageCache

GLOSSARY_URL = "glossary/"
PORTS_URL = "ports/"


@dataclass(frozen=True)
class RenderedPage:
    """A page's content as the site generator rendered it from Markdown.

    ``source`` is its file relative to the docs or project folder (an issue's is its
    ``newsletters/…`` path); ``url`` its URL relative to the site root.
    """

    source: str
    url: str
    html: str


@dataclass(frozen=True, eq=False)
class SiteIndex:
    """What every page's finishing needs to know about the whole site."""

    sources: Sources
    glossary: Glossary
    urls: Mapping[str, str]
    """Every page's URL, by source (the pages' HTML is not kept: the next phase is handed
    the pages)."""
    defined: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """The slugs of the terms each issue defines, by the issue's source."""
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    """What the build says at INFO level (a curated definition replacing an issue's)."""
    errors: tuple[NewsdeskError, ...] = ()
    """Problems a preview shows (a build raises them)."""

    @property
    def site(self) -> Site:
        return self.sources.site

    @property
    def registry(self) -> Registry:
        return self.sources.registry

    @cached_property
    def linker(self) -> Linker:
        """Links mentions of the glossary's terms."""
        return Linker(self.glossary, self.site.settings.glossary.all_labels)

    @cached_property
    def protocol_names(self) -> dict[str, str]:
        """Every spelling of a protocol the glossary knows (term, aliases, expansion)."""
        names = default_names(self.registry)
        for term in self.glossary:
            protocol = self.registry.protocol(term.term)
            if protocol is None:
                continue
            for name in (term.term, *term.aliases, term.expansion):
                if name:
                    names.setdefault(name, protocol)
        return names

    @cached_property
    def unglossed(self) -> bool:
        """Whether a protocol of the registry has no glossary entry to find it by."""
        return any(self.glossary.lookup(p) is None for p in self.registry.protocols())

    @cached_property
    def term_notes(self) -> dict[str, TermNote]:
        """Each term as the print and plain-text editions explain it, by slug."""
        glossary_url = absolute_url(self.site.settings.site_url, GLOSSARY_URL)
        return {
            term.slug: TermNote(
                term=term.term,
                expansion=term.expansion,
                definition=term.definition_text,
                url=f"{glossary_url}#{term.slug}",
            )
            for term in self.glossary
        }

    @cached_property
    def linking_salt(self) -> str:
        """Everything besides the page that its links and port tables depend on: the whole
        glossary and registry, the names of protocols, the settings that shape them."""
        settings = self.site.settings
        return _digest(
            (
                self.glossary.terms,
                self.registry.rows,
                sorted(self.protocol_names.items()),
                self.unglossed,
                settings.glossary.link,
                settings.ports.tables,
                settings.site_url,
                settings.use_directory_urls,
            )
        )

    def defined_by(self, issue: Issue) -> frozenset[str]:
        """The slugs of the terms ``issue`` defines."""
        return self.defined.get(issue.source, frozenset())


def index_site(
    sources: Sources, pages: Mapping[str, RenderedPage], memo: PageCache | None = None
) -> SiteIndex:
    """The site index of ``sources`` once ``pages`` (every page, by source) are rendered.

    Raises the glossary's errors in a build; a preview keeps them in
    :attr:`SiteIndex.errors` and goes on with what is known. With ``memo``, an issue's claim
    check is recalled when its text, the registry and the protocol names are unchanged.
    """
    site = sources.site
    extracted = _extracted_terms(sources, pages)
    notes: list[str] = []
    warnings: list[str] = []
    errors: list[NewsdeskError] = []
    try:
        glossary, found = build_glossary(
            extracted,
            list(sources.curated),
            site.settings.relative(site.settings.glossary.file),
            notes=notes,
        )
        warnings += found
    except NewsdeskError as exc:
        # In a preview whose issues failed to load, glossary errors are mostly echoes of
        # them (a term no valid issue defines): show the cause, link what is known.
        if not sources.errors:
            errors = raise_unless_preview(site, [exc])
        glossary, _ = build_glossary(extracted)
    defined: dict[str, set[str]] = {}
    for term in glossary:
        if term.source:
            defined.setdefault(term.source, set()).add(term.slug)
    index = SiteIndex(
        sources,
        glossary,
        {source: page.url for source, page in pages.items()},
        {source: frozenset(slugs) for source, slugs in defined.items()},
        notes=tuple(notes),
        errors=tuple(errors),
    )
    return replace(index, warnings=tuple(warnings) + tuple(claim_warnings(index, memo)))


def _extracted_terms(sources: Sources, pages: Mapping[str, RenderedPage]) -> list[Term]:
    """The terms the published issues define (all shown ones in a preview), in order, each
    with the line of its definition in the issue's file."""
    extracted: list[Term] = []
    labels = sources.settings.glossary.all_labels
    for issue in sources.published or sources.issues:
        page = pages.get(issue.source)
        if page is None:
            continue
        for term in extract_terms(page.html, issue.source, labels):
            line = definition_line(issue.body, term.term)
            if line is not None:
                term = replace(term, line=issue.body_line + line - 1)
            extracted.append(term)
    return extracted


def claim_warnings(index: SiteIndex, memo: PageCache | None = None) -> list[str]:
    """Port claims in the shown issues' prose that the registry contradicts; with ``memo``,
    an issue's are recalled when its text, the registry and the protocol names are the
    same as in an earlier build."""
    if not index.site.settings.ports.check:  # ports.check: off
        return []
    names = index.protocol_names
    issues = {issue.source: issue for issue in index.sources.issues}

    def checked(source: str) -> list[str]:
        issue = issues[source]
        found = check_claims(issue.body, issue.source, issue.body_line, index.registry, names)
        return [str(problem) for problem in found]

    if memo is None:
        return [warning for source in issues for warning in checked(source)]
    salt = _digest((index.registry.rows, sorted(names.items())))
    keys = {
        issue.source: memo.key(
            step="claims",
            salt=salt,
            source=issue.source,
            line=str(issue.body_line),
            body=issue.body,
        )
        for issue in issues.values()
    }

    def remembered(source: str) -> list[str]:
        data = memo.recall(keys[source])
        if data is not None and isinstance(data.get("warnings"), list):
            return data["warnings"]
        found = checked(source)
        memo.remember(keys[source], {"warnings": found})
        return found

    made = remembered_map(keys, remembered, memo, index.site.settings.jobs)
    return [warning for found in made.values() for warning in found]


def _digest(value: object) -> str:
    return hashlib.sha256(repr(value).encode("utf-8", "surrogatepass")).hexdigest()
