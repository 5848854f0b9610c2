"""RSS 2.0 and Atom feeds of the newest issues, with full content and absolute URLs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape
from pathlib import Path

from feedgen.feed import FeedGenerator

from newsdesk.rendering import IssueRendering
from newsdesk.urls import absolute_url

RSS_PATH = "feed.xml"
ATOM_PATH = "atom.xml"
_TYPES = {RSS_PATH: "application/rss+xml", ATOM_PATH: "application/atom+xml"}


def build_feed(
    renderings: Sequence[IssueRendering],
    *,
    site_url: str,
    title: str,
    description: str,
    limit: int = 20,
    language: str = "en",
) -> FeedGenerator:
    """A feed of the ``limit`` newest issues (their full HTML), newest first."""
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.id(site_url)
    fg.title(title)
    fg.subtitle(description or title)
    _set_links(fg, site_url, RSS_PATH)
    fg.language(language)
    fg.generator("newsdesk")
    newest = sorted(renderings, key=lambda r: (r.date, r.number or 0), reverse=True)[:limit]
    if newest:
        fg.updated(_midnight(newest[0].date))
    # feedgen writes entries in reverse order of addition; add oldest first.
    for r in reversed(newest):
        fe = fg.add_entry()
        fe.id(r.url)
        fe.guid(r.url, permalink=True)
        fe.title(f"{r.title}" if r.number is None else f"#{r.number}: {r.title}")
        fe.link(href=r.url, rel="alternate")
        published = _midnight(r.date)
        fe.published(published)
        fe.updated(published)
        if r.author:
            fe.author(name=r.author)
            fe.dc.dc_creator(r.author)
        if r.summary:
            fe.description(r.summary)
        fe.content(r.html, type="html")
        for tag in r.tags:
            fe.category(term=tag)
    return fg


def write_feeds(fg: FeedGenerator, site_dir: Path) -> list[Path]:
    """Write ``feed.xml`` (RSS 2.0) and ``atom.xml`` into the built site."""
    rss, atom = site_dir / RSS_PATH, site_dir / ATOM_PATH
    site_url = fg.id()
    # One generator, two documents: each carries its own URL as rel="self".
    _set_links(fg, site_url, RSS_PATH)
    fg.rss_file(str(rss), pretty=False)
    _set_links(fg, site_url, ATOM_PATH)
    fg.atom_file(str(atom), pretty=False)
    return [rss, atom]


def _set_links(fg: FeedGenerator, site_url: str, feed_path: str) -> None:
    """The feed's links: ``rel="self"`` is the feed document at ``feed_path``, the
    alternate (RSS ``<channel><link>``) the site. feedgen takes the RSS channel link from
    the last link given, so the site comes last."""
    fg.link(
        [
            {"href": absolute_url(site_url, feed_path), "rel": "self", "type": _TYPES[feed_path]},
            {"href": site_url, "rel": "alternate"},
        ],
        replace=True,
    )


def head_links(site_url: str, title: str) -> str:
    """``<link rel="alternate">`` tags announcing both feeds, for every page's head."""
    t = escape(title, quote=True)
    return (
        f'<link rel="alternate" type="application/rss+xml" title="{t} (RSS)" '
        f'href="{escape(absolute_url(site_url, RSS_PATH))}">'
        f'<link rel="alternate" type="application/atom+xml" title="{t} (Atom)" '
        f'href="{escape(absolute_url(site_url, ATOM_PATH))}">'
    )


def _midnight(date: dt.date) -> dt.datetime:
    return dt.datetime.combine(date, dt.time(0, 0), tzinfo=dt.UTC)
