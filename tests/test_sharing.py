"""Sharing metadata on built pages: one description per page, Open Graph and Twitter card."""

from __future__ import annotations

import pytest

from tests.conftest import Project

SITE = "https://letter.example.org/news/"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("share") / "letter", "pdf: {enabled: false}")
    project.config(
        "pdf: {enabled: false}", **{"site_url:": 'site_description: "Mail, DNS & more"\nsite_url:'}
    )
    project.issue(
        "2025-01-01-dns.md",
        "Names become addresses.\n",
        title="DNS & You",
        date="2025-01-01",
        summary='How names become "addresses" <quickly>.',
        tags=["dns", "network"],
    )
    project.issue("2025-02-01-imap.md", "Folders.\n", title="IMAP Folders", date="2025-02-01")
    result = project.build()
    assert result.ok, result.log
    return result


def meta(page, name: str | None = None, property: str | None = None) -> list[str]:
    attrs = {"name": name} if name else {"property": property}
    return [m["content"] for m in page.find_all("meta", attrs=attrs)]


def test_issue_page_describes_itself_as_an_article(built):
    page = built.html("issues/2025/dns/index.html")
    summary = 'How names become "addresses" <quickly>.'
    assert meta(page, name="description") == [summary]
    assert meta(page, property="og:title") == ["DNS & You"]
    assert meta(page, property="og:description") == [summary]
    assert meta(page, property="og:url") == [SITE + "issues/2025/dns/"]
    assert meta(page, property="og:type") == ["article"]
    assert meta(page, property="og:site_name") == ["Test Letter"]
    assert meta(page, property="article:published_time") == ["2025-01-01"]
    assert meta(page, property="article:tag") == ["dns", "network"]
    assert meta(page, name="twitter:card") == ["summary"]
    assert meta(page, name="twitter:title") == ["DNS & You"]
    assert meta(page, name="twitter:description") == [summary]


def test_issue_without_summary_falls_back_to_the_site_description(built):
    page = built.html("issues/2025/imap/index.html")
    assert meta(page, name="description") == ["Mail, DNS & more"]
    assert meta(page, property="og:title") == ["IMAP Folders"]


def test_home_and_archive_have_their_own(built):
    home = built.html("index.html")
    [description] = meta(home, name="description")
    assert description == "Mail, DNS & more. Latest issue: IMAP Folders (1 February 2025)."
    assert meta(home, property="og:type") == ["website"]
    assert meta(home, property="og:url") == [SITE]
    assert meta(home, property="og:title") == ["Test Letter"]
    archive = built.html("issues/index.html")
    assert meta(archive, name="description") == [
        "Every issue of Test Letter, newest first: 2 issues so far."
    ]
    assert meta(archive, property="og:url") == [SITE + "issues/"]
    assert meta(archive, property="article:published_time") == []


def test_every_page_has_exactly_one_description(built):
    for path in ("index.html", "about/index.html", "glossary/index.html", "ports/index.html"):
        page = built.html(path)
        assert len(page.find_all("meta", attrs={"name": "description"})) == 1, path
        assert len(page.find_all("meta", property="og:title")) == 1, path
    about = built.html("about/index.html")
    assert meta(about, name="description") == ["Mail, DNS & more"]
    assert meta(about, property="og:url") == [SITE + "about/"]
