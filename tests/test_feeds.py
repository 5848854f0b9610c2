"""The RSS 2.0 and Atom feeds, read back with feedparser and checked against the RSS
validator's rules (channel link, atom:link rel="self", permalink GUIDs, RFC 822 dates)."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest

from newsdesk import feeds
from newsdesk.rendering import IssueRendering

SITE = "https://letter.example.org/news/"
ATOM_NS = "{http://www.w3.org/2005/Atom}"
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$"
)


def rendering(number: int, date: dt.date, slug: str, **extra: object) -> IssueRendering:
    return IssueRendering(
        slug=slug,
        number=number,
        title=f"Issue {slug} & more",
        date=date,
        author="Ada",
        summary=f"About {slug}.",
        tags=("mail",),
        source=f"newsletters/{slug}.md",
        url=f"{SITE}issues/{date.year}/{slug}/",
        pdf_url=None,
        html=f"<p>Body of {slug}.</p>",
        **extra,
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    fg = feeds.build_feed(
        [rendering(1, dt.date(2025, 1, 2), "dns"), rendering(2, dt.date(2025, 3, 4), "imap")],
        site_url=SITE,
        title="Test Letter",
        description="A letter about mail.",
    )
    feeds.write_feeds(fg, site)
    return site


def test_rss_channel_links_to_the_site_and_to_itself(written):
    parsed = feedparser.parse((written / "feed.xml").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    channel = ET.parse(written / "feed.xml").getroot().find("channel")
    assert channel.findtext("link") == SITE
    [self_link] = [el for el in channel.findall(f"{ATOM_NS}link") if el.get("rel") == "self"]
    assert self_link.get("href") == SITE + "feed.xml"
    assert self_link.get("type") == "application/rss+xml"
    assert channel.findtext("title") and channel.findtext("description")


def test_atom_links_to_itself_and_the_site(written):
    parsed = feedparser.parse((written / "atom.xml").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links == {"self": SITE + "atom.xml", "alternate": SITE}
    assert [e.link for e in parsed.entries] == [
        SITE + "issues/2025/imap/",
        SITE + "issues/2025/dns/",
    ]


def test_rss_items_follow_the_validator_rules(written):
    channel = ET.parse(written / "feed.xml").getroot().find("channel")
    items = channel.findall("item")
    assert [i.findtext("title") for i in items] == ["#2: Issue imap & more", "#1: Issue dns & more"]
    assert RFC822.match(channel.findtext("lastBuildDate"))
    for item in items:
        guid = item.find("guid")
        # isPermaLink="true" (the default) requires the GUID to be the item's URL
        assert guid.get("isPermaLink") == "true"
        assert guid.text == item.findtext("link")
        assert guid.text.startswith("https://")
        date = item.findtext("pubDate")
        assert RFC822.match(date), date
        assert email.utils.parsedate_to_datetime(date).tzinfo is not None
    parsed = feedparser.parse((written / "feed.xml").read_bytes())
    first = parsed.entries[0]
    assert first.id == first.link == SITE + "issues/2025/imap/"
    assert first.published_parsed[:3] == (2025, 3, 4)
    assert first.author == "Ada" and first.summary == "About imap."
    assert first.content[0].value == "<p>Body of imap.</p>"
