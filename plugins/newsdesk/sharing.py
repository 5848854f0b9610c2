"""What a page says about itself when it is shared or indexed: ``<meta name="description">``,
Open Graph (``og:*``, ``article:*``) and Twitter card metadata.

Each issue page describes itself with its summary, as an ``article`` with its date; the
home page and the archive have descriptions of their own; other pages keep the site's
description. The theme (Material) prints a ``<meta name="description">`` of its own from
``site_description``: :func:`add_share_meta` replaces it, so a page has exactly one.
Nothing here imports MkDocs.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from html import escape, unescape

from newsdesk import pages
from newsdesk.sources import Sources
from newsdesk.urls import absolute_url

HOME_PATH = "index.md"
_DESCRIPTION = re.compile(r'<meta\s+name="description"[^>]*>\s*', re.I)


@dataclass(frozen=True)
class ShareMeta:
    """The metadata of one page."""

    title: str
    description: str
    url: str
    """Absolute URL of the page."""
    site_name: str
    type: str = "website"
    """``article`` for an issue, ``website`` for every other page."""
    published: dt.date | None = None
    tags: tuple[str, ...] = ()

    def html(self) -> str:
        """The ``<meta>`` tags, description first, text escaped."""

        def meta(attr: str, key: str, value: str) -> str:
            return f'<meta {attr}="{key}" content="{escape(value, quote=True)}">'

        tags = []
        if self.description:
            tags.append(meta("name", "description", self.description))
        tags += [
            meta("property", "og:type", self.type),
            meta("property", "og:title", self.title),
            meta("property", "og:url", self.url),
            meta("property", "og:site_name", self.site_name),
        ]
        if self.description:
            tags.append(meta("property", "og:description", self.description))
        if self.published is not None:
            tags.append(meta("property", "article:published_time", self.published.isoformat()))
        tags += [meta("property", "article:tag", tag) for tag in self.tags]
        tags += [
            meta("name", "twitter:card", "summary"),
            meta("name", "twitter:title", self.title),
        ]
        if self.description:
            tags.append(meta("name", "twitter:description", self.description))
        return "\n".join(tags)


def _plain(text: str) -> str:
    """One line of text; themes hand titles over HTML-escaped, so unescape first."""
    return " ".join(unescape(text or "").split())


def page_share_meta(
    sources: Sources, source: str, url: str, title: str, site_description: str = ""
) -> ShareMeta:
    """The metadata of the page built from ``source`` (``issues/index.md``, an issue's
    ``newsletters/…`` path, …) at ``url`` (relative to the site root), titled ``title``."""
    settings = sources.settings
    site_name = settings.site_name
    description = _plain(site_description)
    common = {"url": absolute_url(settings.site_url, url), "site_name": site_name}
    issue = sources.issue_for_source(source)
    if issue is not None:
        return ShareMeta(
            title=_plain(issue.title),
            description=_plain(issue.summary) or description,
            type="article",
            published=issue.date,
            tags=tuple(issue.tags),
            **common,
        )
    issues = sources.issues
    name = settings.newsletter_name
    if source == HOME_PATH:
        latest = issues[-1] if issues else None
        about = description or f"{name}, a technical newsletter."
        if not about.endswith((".", "!", "?", "…")):
            about += "."
        if latest is not None:
            about += f" Latest issue: {_plain(latest.title)} ({pages.long_date(latest.date)})."
        return ShareMeta(title=site_name, description=about, **common)
    if source == pages.ARCHIVE_PATH:
        count = f"{len(issues)} issue{'s' if len(issues) != 1 else ''}"
        return ShareMeta(
            title=_plain(title) or "Issues",
            description=f"Every issue of {name}, newest first: {count} so far.",
            **common,
        )
    return ShareMeta(title=_plain(title) or site_name, description=description, **common)


def add_share_meta(page_html: str, meta: ShareMeta) -> str:
    """``page_html`` with ``meta``'s tags in its head, replacing any description the theme
    wrote, so that the page has one ``<meta name="description">``."""
    head_end = page_html.find("</head>")
    if head_end < 0:
        return page_html
    head = _DESCRIPTION.sub("", page_html[:head_end])
    return head + meta.html() + "\n" + page_html[head_end:]
