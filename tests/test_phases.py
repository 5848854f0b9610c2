"""The build's phases called directly, without MkDocs: sources → index → finished pages →
late pages → renderings (ARCHITECTURE.md). Each is a function of plain values."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import markdown
import pytest
from bs4 import BeautifulSoup

from newsdesk import pages
from newsdesk.editions import issue_renderings
from newsdesk.errors import NewsdeskError, NewsdeskErrors
from newsdesk.finishing import finish_page, finish_pages
from newsdesk.latepages import finish_late_page, late_pages, stand_in_markdown
from newsdesk.pagecache import PageCache
from newsdesk.settings import EmailSettings, GlossarySettings, Settings
from newsdesk.siteindex import RenderedPage, index_site
from newsdesk.sources import Site, read_sources

TODAY = dt.date(2026, 12, 1)
SITE_URL = "https://news.example.org/"

FIRST = """\
---
title: Mail basics
date: 2026-11-01
---

**SMTP** (Simple Mail Transfer Protocol) – The protocol servers use to pass mail on.

Relays talk to each other on port 25.
"""

SECOND = """\
---
title: Reading mail
date: 2026-11-15
---

Your program fetches what SMTP delivered. IMAP over implicit TLS uses port 993.

## IMAP ports

- 995 – the secure port.
"""

DRAFT = """\
---
title: Not yet
date: 2026-11-20
draft: true
---

SMTP again.
"""


def project(tmp_path: Path, **issues: str) -> Settings:
    folder = tmp_path / "newsletters"
    folder.mkdir()
    for name, text in issues.items():
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
    (folder / "logo.png").write_bytes(b"\x89PNG")
    (folder / "subscribers.csv").write_text("a@example.org\n", encoding="utf-8")
    return Settings(
        root=tmp_path,
        site_url=SITE_URL,
        newsletters_dir=folder,
        glossary=GlossarySettings(folder / "glossary.yml"),
        email=EmailSettings(database=tmp_path / ".newsdesk" / "db.sqlite3"),
    )


def site(settings: Settings, **changes) -> Site:
    return Site(settings, today=TODAY, **changes)


def rendered(sources) -> dict[str, RenderedPage]:
    """What a site generator hands over: each shown issue's body as HTML."""
    out = {}
    for issue in sources.issues:
        html = markdown.markdown(issue.body, extensions=["attr_list"])
        out[issue.source] = RenderedPage(issue.source, sources.site.issue_url(issue), html)
    out["about.md"] = RenderedPage("about.md", "about/", "<p>We write about SMTP.</p>")
    return out


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return project(
        tmp_path,
        **{"2026-11-01-basics": FIRST, "2026-11-15-reading": SECOND, "2026-11-20-draft": DRAFT},
    )


def test_sources_show_published_issues_and_a_preview_shows_drafts(settings):
    sources = read_sources(site(settings))
    assert [i.title for i in sources.issues] == ["Mail basics", "Reading mail"]
    assert [i.number for i in sources.issues] == [1, 2]
    first, second = sources.issues
    assert sources.neighbours(second) == (first, None)
    assert sources.issue_for_source("newsletters/2026-11-20-draft.md") is None
    assert [src for src, _ in sources.assets()] == ["newsletters/logo.png"]  # not the CSV

    preview = read_sources(site(settings, preview=True))
    assert [i.title for i in preview.issues] == ["Mail basics", "Reading mail", "Not yet"]
    assert preview.published == list(sources.issues)


def test_sources_raise_every_error_with_file_and_line_but_a_preview_keeps_them(tmp_path):
    broken = "---\ntitle: Broken\ndate: 2026-02-30\n---\n\nText.\n"
    nameless = "---\ndate: 2026-11-02\n---\n\nText.\n"
    settings = project(tmp_path, **{"a": broken, "b": nameless, "c": FIRST})
    with pytest.raises(NewsdeskErrors) as caught:
        read_sources(site(settings))
    messages = [str(e) for e in caught.value.errors]
    assert any(m.startswith("newsletters/a.md:3:") for m in messages), messages
    assert any(m.startswith("newsletters/b.md") for m in messages), messages

    preview = read_sources(site(settings, preview=True))
    assert len(preview.errors) == 2
    assert [i.title for i in preview.issues] == ["Mail basics"]


def test_index_holds_the_defined_terms_and_the_claims_the_registry_contradicts(settings):
    sources = read_sources(site(settings))
    index = index_site(sources, rendered(sources))
    smtp = index.glossary.lookup("SMTP")
    assert smtp is not None and smtp.source == "newsletters/2026-11-01-basics.md"
    assert smtp.line == 6  # counted in the file, front matter included
    assert index.defined_by(sources.issues[0]) == {smtp.slug}
    assert index.protocol_names["Simple Mail Transfer Protocol"] == "SMTP"
    # 995 under the IMAP heading is POP3S: the one wrong claim, with its line.
    assert len(index.warnings) == 1, index.warnings
    assert index.warnings[0].startswith("newsletters/2026-11-15-reading.md:10:")
    assert "995" in index.warnings[0]


def test_finish_page_is_a_pure_function_of_page_and_index(settings):
    sources = read_sources(site(settings))
    pages_by_source = rendered(sources)
    index = index_site(sources, pages_by_source)
    page = pages_by_source["newsletters/2026-11-15-reading.md"]
    before = page.html
    first, again = finish_page(page, index), finish_page(page, index)
    assert first == again and page.html == before

    soup = BeautifulSoup(first.content, "html.parser")
    term = soup.select_one("a.nd-term")
    assert term is not None and term.get_text() == "SMTP"
    assert term["href"] == "../../../glossary/#smtp"
    assert first.mentions == {"smtp"}
    assert soup.select_one('a[href$="ports/#port-993"]') is not None
    # The port table of the protocols the issue talks about, and the issue frame.
    assert "Port reference" in first.content
    assert 'href="../basics/"' in first.content  # the previous issue
    assert first.content.index("Port reference") < first.content.index('href="../basics/"')
    assert 'href="https://news.example.org/glossary/#smtp"' in first.absolute

    about = finish_page(pages_by_source["about.md"], index)
    assert about.absolute is None
    assert "nd-term" in about.content


def test_finished_pages_are_remembered_and_a_glossary_change_finishes_them_again(
    settings, tmp_path
):
    sources = read_sources(site(settings))
    pages_by_source = rendered(sources)
    index = index_site(sources, pages_by_source)
    fresh = finish_pages(pages_by_source, index)

    memo = PageCache(tmp_path / "memo", "salt")
    assert finish_pages(pages_by_source, index, memo) == fresh
    assert (memo.linked, memo.relinked) == (3, 0)
    memo.prune()  # the end of a build: entries written, unused ones deleted
    memo = PageCache(tmp_path / "memo", "salt")
    assert finish_pages(pages_by_source, index, memo) == fresh
    assert (memo.linked, memo.relinked) == (0, 3)

    # link: all instead of first changes every page's links: nothing is recalled.
    linking_all = replace(settings, glossary=replace(settings.glossary, link="all"))
    sources = replace(sources, site=site(linking_all))
    memo = PageCache(tmp_path / "memo", "salt")
    finish_pages(pages_by_source, index_site(sources, pages_by_source), memo)
    assert (memo.linked, memo.relinked) == (3, 0)


def test_late_pages_list_the_issues_that_mention_each_term(settings):
    sources = read_sources(site(settings))
    pages_by_source = rendered(sources)
    index = index_site(sources, pages_by_source)
    finished = finish_pages(pages_by_source, index)
    late = late_pages(index, finished)
    glossary = late.markdown[pages.GLOSSARY_PATH]
    assert "## SMTP" in glossary and "Simple Mail Transfer Protocol" in glossary
    assert "SMTP" in late.markdown[pages.PORTS_PATH]
    assert [m.title for m in late.mentions["smtp"]] == ["Reading mail"]

    html = markdown.markdown(glossary, extensions=["attr_list", "md_in_html"])
    done = finish_late_page(pages.GLOSSARY_PATH, "glossary/", html, index, late)
    mentioned = BeautifulSoup(done, "html.parser").select(".nd-glossary-mentions a")
    assert [(a.get_text(), a["href"]) for a in mentioned] == [
        ("Reading mail", "../issues/2026/reading/")
    ]
    assert stand_in_markdown(pages.PORTS_PATH, sources.site.strings).endswith("# Ports\n")


def test_renderings_carry_absolute_links_and_the_terms_each_issue_links(settings):
    sources = read_sources(site(settings, preview=True))
    pages_by_source = rendered(sources)
    index = index_site(sources, pages_by_source)
    finished = finish_pages(pages_by_source, index)
    published = issue_renderings(index, finished)
    assert [r.title for r in published] == ["Mail basics", "Reading mail"]
    reading = published[1]
    assert reading.url == "https://news.example.org/issues/2026/reading/"
    assert reading.pdf_url == "https://news.example.org/issues/2026/reading/reading.pdf"
    assert [t.term for t in reading.terms] == ["SMTP"]
    assert 'href="https://news.example.org/glossary/#smtp"' in reading.html
    everything = issue_renderings(index, finished, unpublished=True)
    assert [(r.title, r.draft) for r in everything][-1] == ("Not yet", "draft")


def test_a_glossary_error_stops_a_build_and_a_preview_shows_it(tmp_path):
    settings = project(tmp_path, **{"2026-11-01-basics": FIRST})
    settings.glossary.file.write_text("- term: SMTP\n  related: [Nothing]\n", encoding="utf-8")
    sources = read_sources(site(settings))
    with pytest.raises(NewsdeskError, match=r"glossary\.yml"):
        index_site(sources, rendered(sources))
    sources = read_sources(site(settings, preview=True))
    index = index_site(sources, rendered(sources))
    assert len(index.errors) == 1 and "Nothing" in str(index.errors[0])
    assert index.glossary.lookup("SMTP") is not None  # linked from what is known


def test_claim_checks_are_remembered_per_issue_text(settings, tmp_path):
    sources = read_sources(site(settings))
    fresh = index_site(sources, rendered(sources)).warnings
    memo = PageCache(tmp_path / "memo", "salt")
    assert index_site(sources, rendered(sources), memo).warnings == fresh
    memo.flush()
    recalled = PageCache(tmp_path / "memo", "salt")
    recalled.remember = None  # nothing may be checked (and so stored) again
    assert index_site(sources, rendered(sources), recalled).warnings == fresh

    # The wrong claim mended: that issue is checked again, and says nothing.
    path = settings.newsletters_dir / "2026-11-15-reading.md"
    path.write_text(SECOND.replace("- 995 –", "- 993 –"), encoding="utf-8")
    sources = read_sources(site(settings))
    assert index_site(sources, rendered(sources), memo).warnings == ()
