"""Phase 5 of a build: the renderings the feeds, the PDFs and the emails are made from.

:func:`issue_renderings` turns each finished issue page into an
:class:`~newsdesk.rendering.IssueRendering` – its content with absolute links, the terms it
links, its metadata – which :mod:`newsdesk.rendering` writes under
``.newsdesk/renderings/``. The PDF and the email never read Markdown, so all three
editions say the same thing.

::

    SiteIndex + finished pages ──issue_renderings──► IssueRendering (site, PDF, email)
"""

from __future__ import annotations

from collections.abc import Mapping

from newsdesk.finishing import FinishedPage
from newsdesk.issues import Issue
from newsdesk.rendering import IssueRendering
from newsdesk.siteindex import SiteIndex
from newsdesk.urls import absolute_url


def issue_renderings(
    index: SiteIndex, finished: Mapping[str, FinishedPage], *, unpublished: bool = False
) -> list[IssueRendering]:
    """Each published issue's rendering, oldest first.

    ``unpublished`` adds the drafts and scheduled issues a preview shows, marked as such
    (:attr:`IssueRendering.draft`), for ``newsdesk preview`` and ``send --test``.
    """
    today = index.site.today
    out = []
    for page in finished.values():
        issue = index.sources.issue_for_source(page.source)
        if issue is None or not (unpublished or issue.is_published(today)):
            continue
        out.append(issue_rendering(index, issue, page))
    return sorted(out, key=lambda r: (r.date, r.number or 0))


def issue_rendering(index: SiteIndex, issue: Issue, page: FinishedPage) -> IssueRendering:
    """The rendering of ``issue`` from its finished page."""
    site = index.site
    settings = site.settings
    status = issue.status(site.today)
    url = absolute_url(settings.site_url, site.issue_url(issue))
    pdf = site.pdf_path(issue)
    notes = index.term_notes
    return IssueRendering(
        slug=issue.slug,
        number=issue.number,
        title=issue.title,
        date=issue.date,
        author=issue.author,
        summary=issue.summary,
        tags=issue.tags,
        source=issue.source,
        url=url,
        pdf_url=absolute_url(settings.site_url, pdf) if pdf else None,
        html=page.absolute or "",
        terms=tuple(note for slug, note in notes.items() if slug in page.mentions),
        newsletter_name=settings.newsletter_name,
        site_url=settings.site_url,
        language=settings.language,
        draft="" if status == "published" else status,
    )
