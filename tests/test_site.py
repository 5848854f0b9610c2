"""Build tests: a real ``mkdocs build`` of temporary projects, output parsed and checked."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import Project

TODAY = dt.date.today()
FUTURE = TODAY + dt.timedelta(days=30)
ATOM = "{http://www.w3.org/2005/Atom}"


def three_years(project: Project) -> None:
    project.issue(
        "2024-05-01-dns.md",
        "The **Domain Name System** explained. See [the next one](2025-02-03-tls.md).\n\n"
        "## Resolvers\n\nThey resolve.\n",
        title="DNS Basics",
        date="2024-05-01",
        author="Ada",
        summary="How names become addresses.",
        tags=["dns", "network"],
    )
    project.issue(
        "2025-02-03-tls.md",
        "Encryption. ![diagram](images/tls.png)\n",
        title="TLS & You",
        date="2025-02-03",
        summary="Why the padlock matters.",
    )
    (project.root / "newsletters" / "images").mkdir()
    (project.root / "newsletters" / "images" / "tls.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (project.root / "newsletters" / "subscribers.csv").write_text("email,name\n")
    project.issue(
        "2026-01-10-imap.md",
        "Folders on the server. Back to [DNS](2024-05-01-dns.md#resolvers).\n",
        title="IMAP Folders",
        date="2026-01-10",
        author="Ada",
        summary="Where your mail lives.",
    )
    project.issue(
        "2026-01-20-wip.md",
        "Unfinished secretword.\n",
        title="Work in progress",
        date="2026-01-20",
        draft=True,
    )
    project.issue(
        "later.md", "Not yet secretword.\n", title="From the future", date=FUTURE.isoformat()
    )


@pytest.fixture
def built(project: Project):
    three_years(project)
    result = project.build()
    assert result.ok, result.log
    return result


def test_issue_pages_show_metadata_and_neighbours(built) -> None:
    page = built.html("issues/2025/tls/index.html")
    header = page.select_one(".nd-issue-header")
    assert header.select_one("h1").get_text() == "TLS & You"
    assert "Issue 2" in header.select_one(".nd-kicker").get_text()
    assert header.select_one("time")["datetime"] == "2025-02-03"
    assert "min read" in header.select_one(".nd-reading-time").get_text()
    assert len(page.select("article h1")) == 1, "Material must not add a second title"
    nav = page.select_one(".nd-issue-nav")
    assert nav.select_one("a[rel=prev]")["href"] == "../../2024/dns/"
    assert nav.select_one("a[rel=next]")["href"] == "../../2026/imap/"
    tags = [li.get_text() for li in built.html("issues/2024/dns/index.html").select(".nd-tags li")]
    assert tags == ["dns", "network"]
    assert "by Ada" in built.html("issues/2024/dns/index.html").select_one(".nd-meta").get_text()


def test_links_from_issues_resolve(built) -> None:
    dns = built.html("issues/2024/dns/index.html")
    assert dns.find("a", string="the next one")["href"] == "../../2025/tls/"
    tls = built.html("issues/2025/tls/index.html")
    img = tls.select_one("article img")
    assert (built.site / "issues/2025/tls" / img["src"]).resolve() == (
        built.site / "newsletters/images/tls.png"
    ).resolve()
    assert (built.site / "newsletters/images/tls.png").exists()
    assert not (built.site / "newsletters/subscribers.csv").exists(), "only media is published"
    imap = built.html("issues/2026/imap/index.html")
    assert imap.find("a", string="DNS")["href"] == "../../2024/dns/#resolvers"


def test_drafts_and_future_issues_are_left_out(built) -> None:
    assert not (built.site / "issues/2026/wip").exists()
    assert not list(built.site.glob(f"issues/{FUTURE.year}/later"))
    archive = built.html("issues/index.html").get_text()
    assert "Work in progress" not in archive and "From the future" not in archive
    index = json.loads((built.site / "search/search_index.json").read_text())
    assert "secretword" not in json.dumps(index)
    assert "wip" not in (built.site / "sitemap.xml").read_text()
    assert "From the future" not in (built.site / "feed.xml").read_text()


def test_archive_groups_by_year_newest_first(built) -> None:
    page = built.html("issues/index.html")
    years = [h.get("id") for h in page.select("article h2")]
    assert years == ["year-2026", "year-2025", "year-2024"]
    titles = [a.get_text() for a in page.select("article li strong a")]
    assert titles == ["IMAP Folders", "TLS & You", "DNS Basics"]
    assert "Why the padlock matters." in page.get_text()
    assert page.select_one("article li strong a")["href"] == "2026/imap/"


def test_home_shows_latest_and_recent(built) -> None:
    page = built.html("index.html")
    latest = page.select_one(".nd-latest")
    assert latest.select_one("h2 a").get_text() == "IMAP Folders"
    assert latest.select_one("h2 a")["href"] == "issues/2026/imap/"
    assert "Where your mail lives." in latest.get_text()
    recent = [a.get_text() for a in page.select("article ul li a")]
    assert recent[:2] == ["TLS & You", "DNS Basics"]


def test_navigation_stays_small(built) -> None:
    page = built.html("issues/2025/tls/index.html")
    nav = page.select_one("nav.md-nav--primary")
    labels = [a.get_text(" ", strip=True) for a in nav.select("a.md-nav__link")]
    for label in ("Home", "Issues", "Glossary", "Ports", "About"):
        assert label in labels
    assert not any("DNS Basics" in x or "IMAP Folders" in x for x in labels)


def test_search_index_has_issues(built) -> None:
    index = json.loads((built.site / "search/search_index.json").read_text())
    locations = {doc["location"] for doc in index["docs"]}
    assert "issues/2024/dns/" in locations
    assert any("Folders on the server" in doc["text"] for doc in index["docs"])


def test_feeds_are_valid_with_full_content_and_absolute_urls(built) -> None:
    rss = ET.parse(built.site / "feed.xml").getroot()
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    assert rss.findtext("channel/link") == "https://letter.example.org/news/"
    self_links = [el.get("href") for el in rss.iter(f"{ATOM}link") if el.get("rel") == "self"]
    assert self_links == ["https://letter.example.org/news/feed.xml"]
    items = rss.findall("channel/item")
    assert [i.findtext("title") for i in items] == [
        "#3: IMAP Folders",
        "#2: TLS & You",
        "#1: DNS Basics",
    ]
    assert items[0].findtext("link") == "https://letter.example.org/news/issues/2026/imap/"
    content = items[0].findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
    assert 'href="https://letter.example.org/news/issues/2024/dns/#resolvers"' in content
    assert "Folders on the server" in content
    tls = items[1].findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
    assert 'src="https://letter.example.org/news/newsletters/images/tls.png"' in tls
    atom = ET.parse(built.site / "atom.xml").getroot()
    assert [el.get("href") for el in atom.findall(f"{ATOM}link") if el.get("rel") == "self"] == [
        "https://letter.example.org/news/atom.xml"
    ]
    entries = atom.findall(f"{ATOM}entry")
    assert len(entries) == 3
    assert entries[0].find(f"{ATOM}content").get("type") == "html"
    assert "Folders on the server" in entries[0].findtext(f"{ATOM}content")
    head = built.html("about/index.html").head
    links = {link["type"]: link["href"] for link in head.select("link[rel=alternate]")}
    assert links["application/rss+xml"] == "https://letter.example.org/news/feed.xml"
    assert links["application/atom+xml"] == "https://letter.example.org/news/atom.xml"


def test_serve_shows_drafts_and_scheduled(project: Project) -> None:
    """The preview build (as `mkdocs serve` does it) includes drafts, marked."""
    three_years(project)
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    config = load_config(str(project.root / "mkdocs.yml"))
    config.plugins.on_startup(command="serve", dirty=False)
    build(config, serve_url="http://127.0.0.1:8000/news/")
    from bs4 import BeautifulSoup

    page = BeautifulSoup(
        (project.root / "site/issues/2026/wip/index.html").read_text(), "html.parser"
    )
    assert "Draft" in page.select_one(".nd-status--draft").get_text()
    later = project.root / f"site/issues/{FUTURE.year}/later/index.html"
    assert (
        "Scheduled"
        in BeautifulSoup(later.read_text(), "html.parser").select_one(".nd-status").get_text()
    )


@pytest.mark.parametrize(
    ("filename", "text", "message"),
    [
        (
            "a.md",
            "---\ndate: 2026-01-01\n---\nx\n",
            "newsletters/a.md:1: missing required field 'title'",
        ),
        ("b.md", "---\ntitle: B\n---\nx\n", "newsletters/b.md:1: missing required field 'date'"),
        (
            "c.md",
            "---\ntitle: C\ndate: 2026-02-31\n---\n",
            "newsletters/c.md:3: invalid date '2026-02-31'",
        ),
        ("d.md", "---\ntitle: D\ndate: 2026-01-01\ntags: [a, b\n---\n", "newsletters/d.md:"),
    ],
)
def test_bad_input_stops_the_build_with_a_clear_message(
    project: Project, filename: str, text: str, message: str
) -> None:
    project.issue("2025-01-01-fine.md", title="Fine", date="2025-01-01")
    project.raw_issue(filename, text)
    result = project.build()
    assert not result.ok
    assert message in result.log
    assert "Traceback" not in result.log


def test_duplicate_slugs_stop_the_build(project: Project) -> None:
    project.issue("2025-01-01-dns.md", title="A", date="2025-01-01")
    project.issue("2025-06-01-x.md", title="B", date="2025-06-01", slug="dns")
    result = project.build()
    assert not result.ok
    assert (
        "newsletters/2025-06-01-x.md: duplicate slug 'dns': newsletters/2025-01-01-dns.md"
        in result.log
    )
    assert "Traceback" not in result.log


def test_broken_link_warning_names_the_authors_file(project: Project) -> None:
    project.issue("2025-01-01-a.md", "See [gone](missing.md).\n", title="A", date="2025-01-01")
    result = project.build()
    assert not result.ok
    assert "newsletters/2025-01-01-a.md" in result.log and "missing.md" in result.log


def test_unknown_option_is_an_error(project: Project) -> None:
    project.config("newsletter_nmae: Typo")
    result = project.build()
    assert not result.ok
    assert "newsletter_nmae" in result.log


def test_site_url_is_required(project: Project) -> None:
    project.config(**{"site_url: https://letter.example.org/news/\n": ""})
    result = project.build()
    assert not result.ok
    assert "site_url" in result.log and "Traceback" not in result.log


def test_link_to_the_issues_pdf_resolves(tmp_path) -> None:
    project = Project(tmp_path / "letter")
    project.issue("2025-02-03-tls.md", "[PDF](tls.pdf).\n", title="TLS", date="2025-02-03")
    result = project.build()
    assert result.ok, result.log
    page = result.html("issues/2025/tls/index.html")
    assert page.find("a", string="PDF")["href"] == "tls.pdf"
    assert page.select_one(".nd-pdf a")["href"] == "tls.pdf"


def test_a_front_matter_typo_warns_once_and_strict_fails(project: Project) -> None:
    project.issue("2025-01-01-a.md", title="A", date="2025-01-01", sumary="typo")
    result = project.build(strict=False)
    assert result.ok, result.log
    assert result.log.count("unknown front-matter field 'sumary'") == 1
    assert "newsletters/2025-01-01-a.md:4:" in result.log
    strict = project.build()
    assert not strict.ok and "Aborted with 1 warnings" in strict.log


def test_issues_in_subfolders_are_published(project: Project) -> None:
    project.issue("2024/2024-05-05-nested.md", "Nested.\n", title="Nested", date="2024-05-05")
    project.issue(
        "2025-01-01-top.md", "[older](2024/2024-05-05-nested.md)\n", title="Top", date="2025-01-01"
    )
    result = project.build()
    assert result.ok, result.log
    page = result.html("issues/2024/nested/index.html")
    assert page.select_one(".nd-issue-header h1").get_text() == "Nested"
    top = result.html("issues/2025/top/index.html")
    assert top.find("a", string="older")["href"] == "../../2024/nested/"


def test_front_matter_cannot_inject_html(project: Project) -> None:
    project.raw_issue(
        "2025-01-01-x.md",
        '---\ntitle: "A & B </title><script>alert(7)</script>"\ndate: 2025-01-01\n'
        "author: 'Eve\"><script>alert(8)</script>'\n---\n\nText.\n",
    )
    result = project.build()
    assert result.ok, result.log
    page = result.html("issues/2025/x/index.html")
    assert not page.find_all("script", string=lambda s: s and "alert" in s)
    assert page.title.get_text().startswith("A & B </title><script>alert(7)</script>")
    assert page.select_one("meta[name=author]")["content"] == 'Eve"><script>alert(8)</script>'
    assert page.select_one(".nd-issue-header h1").get_text() == (
        "A & B </title><script>alert(7)</script>"
    )
