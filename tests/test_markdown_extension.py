"""The glossary linker and port tables as a plain Python-Markdown extension give an issue
the same term links and port table as the MkDocs plugin."""

from __future__ import annotations

import shutil

import markdown
import pytest
from bs4 import BeautifulSoup

from newsdesk.markdown import NewsdeskExtension
from tests.conftest import REPO, Project

SEED = "2026-11-26-email-servers.md"
EXTENSIONS = ["abbr", "admonition", "attr_list", "def_list", "footnotes", "md_in_html", "tables"]


def _body(text: str) -> str:
    """The issue's text without its front matter."""
    return text.split("---\n", 2)[2]


def _terms(soup: BeautifulSoup) -> list[tuple[str, str, str]]:
    return [(a.get_text(), a["href"], a["title"]) for a in soup.select("a.nd-term")]


def _port_table(soup: BeautifulSoup) -> list[list[str]]:
    table = soup.select_one("section.newsdesk-port-reference table")
    assert table is not None
    return [
        [" ".join(cell.get_text(" ", strip=True).split()) for cell in row.select("th, td")]
        + [a["href"] for a in row.select("a")]
        for row in table.select("tr")
    ]


@pytest.mark.slow
def test_plain_markdown_links_terms_and_adds_the_port_table_like_the_plugin(
    seed_project: Project,
) -> None:
    result = seed_project.build()
    assert result.ok, result.log
    page = result.html("issues/2026/email-servers/index.html")
    article = page.select_one("article")

    text = (REPO / "newsletters" / SEED).read_text(encoding="utf-8")
    html = markdown.markdown(
        _body(text),
        extensions=[
            *EXTENSIONS,
            NewsdeskExtension(
                glossary_file=str(REPO / "newsletters" / "glossary.yml"),
                root=str(REPO),
                source=f"newsletters/{SEED}",
                glossary_url="../../../glossary/",
                ports_url="../../../ports/",
            ),
        ],
    )
    converted = BeautifulSoup(html, "html.parser")

    assert _terms(converted) == _terms(article)
    assert len(_terms(converted)) >= 5
    assert _port_table(converted) == _port_table(article)
    port_links = [a["href"] for a in converted.select("a.newsdesk-port")]
    assert port_links == [a["href"] for a in article.select("a.newsdesk-port")]
    assert "../../../ports/#port-993" in port_links


def test_by_name_with_extension_configs(tmp_path) -> None:
    text = (
        "**MTA** (Mail Transfer Agent) – The server software that relays mail.\n\n"
        "Every MTA talks SMTP on port 25.\n\n<!-- ports: SMTP -->\n\nThe end.\n"
    )
    md = markdown.Markdown(
        extensions=["tables", "newsdesk.markdown"],
        extension_configs={
            "newsdesk.markdown": {"glossary_url": "/glossary/", "ports_url": "/ports/"}
        },
    )
    soup = BeautifulSoup(md.convert(text), "html.parser")
    (term,) = soup.select("a.nd-term")
    assert (term.get_text(), term["href"]) == ("MTA", "/glossary/#mta")
    assert term["title"] == "Mail Transfer Agent – The server software that relays mail."
    heading = soup.select_one("section.newsdesk-port-reference h2")
    assert heading.get_text() == "Port reference"
    assert soup.select_one("section.newsdesk-port-reference").find_next("p").get_text() == (
        "The end."
    )
    assert soup.select_one('a.newsdesk-port[href="/ports/#port-25"]') is not None


def test_german_words_and_another_issues_terms(tmp_path) -> None:
    folder = tmp_path / "newsletters"
    folder.mkdir()
    shutil.copy(REPO / "newsletters" / SEED, folder / SEED)
    html = markdown.markdown(
        # Two mentions: a protocol the text is about gets a port table (one passing mention
        # does not).
        "We fetch mail over IMAP. IMAP keeps it on the server.\n",
        extensions=[
            NewsdeskExtension(newsletters_dir=str(folder), root=str(tmp_path), language="de")
        ],
    )
    soup = BeautifulSoup(html, "html.parser")
    assert [a.get_text() for a in soup.select("a.nd-term")] == ["IMAP"]  # link: first
    assert soup.select_one("section.newsdesk-port-reference h2").get_text() == "Port-Übersicht"
