"""Build tests for what hangs on the issue model: glossary, cross-links, ports, PDFs."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from pypdf import PdfReader

from tests.conftest import MKDOCS, Project


@pytest.fixture(scope="module")
def seed_site(tmp_path_factory):
    """The repository's own issues and glossary, built once for this module."""
    import shutil

    from tests.conftest import REPO

    root = tmp_path_factory.mktemp("seed") / "letter"
    project = Project(root, plugin_extra="pdf: {enabled: false}")
    shutil.rmtree(root / "newsletters")
    shutil.copytree(REPO / "newsletters", root / "newsletters")
    project.page("about.md", "# About\n\nWe write about SMTP and IMAP.\n")
    result = project.build()
    assert result.ok, result.log
    return result


def test_seed_terms_are_glossary_entries_with_backlinks(seed_site) -> None:
    page = seed_site.html("glossary/index.html")
    for slug, expansion, words in (
        ("pop", "Post Office Protocol", "This protocol delivers your mail from a server at once."),
        ("imap", "Internet Message Access Protocol", "This protocol is a two-way mail management."),
        ("smtp", "Simple Mail Transfer Protocol", "A standard protocol for email services"),
    ):
        heading = page.select_one(f"h2#{slug}")
        assert heading is not None, slug
        entry = heading.find_next("div", class_="nd-glossary-entry")
        text = entry.get_text(" ", strip=True)
        assert expansion in text and words in text
        mentioned = entry.select_one(".nd-glossary-mentions a")
        assert mentioned.get_text() == "Email Servers"
        assert mentioned["href"] == "../issues/2026/email-servers/"
        ports = [a.get_text() for a in entry.select(".nd-glossary-ports a[href^='../ports/']")]
        assert ports and all(p.isdigit() for p in ports)
    assert "POP3" in page.select_one("h2#pop").find_next("div").get_text()


def test_seed_issue_links_terms_with_tooltips(seed_site) -> None:
    page = seed_site.html("issues/2026/email-servers/index.html")
    links = {a.get_text(): a for a in page.select("article a.nd-term")}
    for term in ("POP", "IMAP", "SMTP"):
        assert links[term]["href"] == f"../../../glossary/#{term.lower()}"
    assert links["POP"]["title"].startswith("Post Office Protocol")
    # The defining paragraphs themselves are not linked, and headings never are.
    for strong in page.select("article p > strong"):
        assert strong.find_parent("a") is None
    assert not page.select("article h2 a.nd-term, article h3 a.nd-term")


def test_home_and_about_pages_are_cross_linked(seed_site) -> None:
    about = seed_site.html("about/index.html")
    links = {a.get_text(): a["href"] for a in about.select("article a.nd-term")}
    assert links == {"SMTP": "../glossary/#smtp", "IMAP": "../glossary/#imap"}
    index = json.loads((seed_site.site / "search/search_index.json").read_text())
    blob = json.dumps(index)
    # Linked words stay plain, searchable text; nothing temporary reaches the index.
    assert "nd-term" not in blob
    assert not any(marker in blob for marker in ("\\u0002", "\\u0003", "newsdesk:", "{{"))
    issue_text = " ".join(
        d["text"] for d in index["docs"] if d["location"].startswith("issues/2026")
    )
    assert "POP is a one-way ticket" in issue_text
    # Backlink lists are left out of search (a term's result is its definition) and the
    # internal mark that places them never reaches the output.
    assert "Mentioned in" not in blob and "newsdesk-mentions" not in blob
    glossary_html = (seed_site.site / "glossary/index.html").read_text()
    assert "newsdesk-mentions" not in glossary_html and "Mentioned in" in glossary_html
    glossary_docs = {d["location"] for d in index["docs"] if d["location"].startswith("glossary/")}
    assert {"glossary/#pop", "glossary/#imap", "glossary/#smtp"} <= glossary_docs


def test_ports_page_and_issue_table(seed_site) -> None:
    page = seed_site.html("ports/index.html")
    for port in (25, 465, 587, 110, 995, 143, 993, 4190):
        row = page.select_one(f"tr#port-{port}")
        assert row is not None, port
        assert row.select_one("a[href^='https://www.rfc-editor.org/rfc/rfc']")
    glossary = seed_site.html("glossary/index.html")
    for heading in page.select("article h2"):
        link = heading.select_one("a:not(.headerlink)")
        assert link is not None, f"{heading.get_text()} has no glossary link"
        slug = link["href"].split("#")[1]
        assert glossary.select_one(f"h2#{slug}") is not None, slug
    issue = seed_site.html("issues/2026/email-servers/index.html")
    table = issue.select_one("#port-reference").find_next("table")
    ports = {int(a.get_text()) for a in table.select("a[href*='#port-']") if a.get_text().isdigit()}
    assert {25, 465, 587, 110, 995, 143, 993} <= ports
    # The author's marker put the table before the sign-off, not at the very end.
    text = issue.select_one("article").get_text()
    assert text.index("Port reference") < text.index("Until next time")


UNSEEN = """\
**MTA** (Mail Transfer Agent) – The server software that relays mail to the
next server.

Term
:   A definition-list entry. It comes from a def_list.

Your MTA talks to other MTAs. `MTA in code` stays. A [link about MTA](https://example.org/)
stays too.

```
MTA in a fence
```

| Column |
| --- |
| An MTA in a table |

!!! note
    An MTA in an admonition.
"""


def test_unseen_issue_terms_exclusions_and_backlinks(project: Project) -> None:
    project.issue("2025-01-01-mta.md", UNSEEN, title="Relays", date="2025-01-01")
    project.issue(
        "2025-02-01-more.md", "More about the MTA and its Term.\n", title="More", date="2025-02-01"
    )
    project.config("pdf: {enabled: false}\nglossary: {link: all}")
    result = project.build()
    assert result.ok, result.log
    page = result.html("issues/2025/mta/index.html")
    linked = [a.find_parent(["p", "td", "div"]).name for a in page.select("a.nd-term")]
    assert ("td" in linked and "div" in linked) or "p" in linked
    assert page.select_one("td a.nd-term").get_text() == "MTA"
    assert page.select_one(".admonition a.nd-term").get_text() == "MTA"
    assert any(a.get_text() == "MTAs" for a in page.select("a.nd-term"))
    assert not page.select("code a, pre a.nd-term")
    assert page.find("a", string="link about MTA").find("a") is None
    defining = page.find("strong", string="MTA").find_parent("p")
    assert not defining.select("a.nd-term")
    glossary = result.html("glossary/index.html")
    entry = glossary.select_one("h2#mta").find_next("div", class_="nd-glossary-entry")
    assert "The server software that relays mail" in entry.get_text()
    backlinks = [a.get_text() for a in entry.select(".nd-glossary-mentions a")]
    assert backlinks == ["More", "Relays"]
    assert glossary.select_one("h2#term") is not None


def test_wrong_port_claim_is_a_warning_with_file_and_line(project: Project) -> None:
    project.issue(
        "2025-01-01-pop.md",
        "Intro.\n\n### POP Port Numbers\n\n- 110 – plain\n- 993 – secure\n",
        title="POP",
        date="2025-01-01",
    )
    result = project.build()
    assert not result.ok
    assert "newsletters/2025-01-01-pop.md:11:" in result.log
    assert "'993' is listed under the POP heading" in result.log
    assert "Traceback" not in result.log
    relaxed = project.build(strict=False)
    assert relaxed.ok and "WARNING" in relaxed.log


def test_port_claims_can_be_silenced_per_block_and_everywhere(project: Project) -> None:
    wrong = "Intro.\n\n### POP Port Numbers\n\n- 110 – plain\n- 993 – secure\n"
    project.issue(
        "2025-01-01-pop.md",
        wrong.replace("### POP", "<!-- ports: nocheck -->\n### POP"),
        title="POP",
        date="2025-01-01",
    )
    result = project.build()
    assert result.ok, result.log
    page = result.html("issues/2025/pop/index.html")
    assert len(page.select("#port-reference")) == 1  # the comment is no table marker
    project.issue("2025-01-01-pop.md", wrong, title="POP", date="2025-01-01")
    failed = project.build()
    assert not failed.ok and "<!-- ports: nocheck -->" in failed.log
    assert "ports.check: off" in failed.log
    project.config("pdf: {enabled: false}\nports: {check: off}")
    assert project.build().ok
    project.config("pdf: {enabled: false}\nports: {check: yes}")  # YAML true: on
    assert "'993' is listed under the POP heading" in project.build().log


DNS_ISSUE = """\
When your server sends a message, it asks DNS on port 53 for the MX records of
example.org and then connects to the server those records name on port 25.[^mx]

Let's Encrypt gives one HTTPS certificate to Dovecot on port 993 and Postfix on port 465.
If lookups time out, let DNS through, and port 587 too. Unlike POP, nothing is
downloaded here.

## DNS troubleshooting

- port 25 blocked by your ISP?
- MX record pointing at a CNAME?

## HTTPS checklist

- 80 – only to redirect to HTTPS
- 443 – the webmail

[^mx]: RFC 5321, section 5.
"""


def test_the_outside_authors_dns_issue_builds_strictly_with_a_dns_table(project: Project) -> None:
    project.issue("2025-03-01-dns.md", DNS_ISSUE, title="DNS", date="2025-03-01")
    result = project.build()
    assert result.ok, result.log
    assert "WARNING" not in result.log
    page = result.html("issues/2025/dns/index.html")
    [section] = page.select("section.newsdesk-port-reference")
    protocols = {tr.td.get_text() for tr in section.select("tbody tr")}
    assert "DNS" in protocols and not protocols & {"POP", "IMAP"}
    assert section.find_next("div", class_="footnote") is not None


@pytest.mark.parametrize(("mode", "expect"), [("auto", 1), ("off", 0), ("marker", 0)])
def test_port_table_modes(project: Project, mode: str, expect: int) -> None:
    project.issue(
        "2025-01-01-imap.md",
        "IMAP keeps mail on the server. IMAP clients sync it.\n",
        title="I",
        date="2025-01-01",
    )
    project.config(f"pdf: {{enabled: false}}\nports: {{tables: {mode}}}")
    result = project.build()
    assert result.ok, result.log
    assert len(result.html("issues/2025/imap/index.html").select("#port-reference")) == expect


def test_port_marker_chooses_protocols(project: Project) -> None:
    project.issue(
        "2025-01-01-x.md",
        "Text about IMAP.\n\n<!-- ports: SMTP -->\n\nEnd.\n",
        title="X",
        date="2025-01-01",
    )
    result = project.build()
    assert result.ok, result.log
    table = result.html("issues/2025/x/index.html").select_one("#port-reference").find_next("table")
    ports = {a.get_text() for a in table.select("a[href*='#port-']")}
    assert {"25", "465", "587"} <= ports and "993" not in ports


def test_pdfs_are_built_linked_and_cached(tmp_path) -> None:
    project = Project(tmp_path / "letter")
    project.issue(
        "2025-01-01-imap.md",
        "**IMAP** (Internet Message Access Protocol) – Mail stays on the server.\n\nUse IMAP. "
        "See [RFC 9051](https://www.rfc-editor.org/rfc/rfc9051).\n",
        title="IMAP Folders",
        date="2025-01-01",
        author="Ada",
    )
    first = project.build()
    assert first.ok, first.log
    assert "newsdesk: PDFs: 1 rendered, 0 reused" in first.log
    pdf = first.site / "issues/2025/imap/imap.pdf"
    reader = PdfReader(pdf)
    assert reader.metadata.title == "IMAP Folders" and reader.metadata.author == "Ada"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    assert "IMAP Folders" in flat and "1 January 2025" in flat
    assert "Terms in this issue" in flat
    assert "https://www.rfc-editor.org/rfc/rfc9051" in "".join(text.split())
    assert first.html("issues/2025/imap/index.html").select_one(".nd-pdf a")["href"] == "imap.pdf"
    assert first.html("issues/index.html").find("a", string="PDF")["href"] == "2025/imap/imap.pdf"
    second = project.build()
    assert second.ok, second.log
    assert "newsdesk: PDFs: 0 rendered, 1 reused" in second.log
    assert (second.site / "issues/2025/imap/imap.pdf").stat().st_size > 1000


def test_send_on_build_delivers_to_the_outbox_once(project: Project) -> None:
    import mailbox
    import sys
    from pathlib import Path

    newsdesk = str(Path(sys.executable).with_name("newsdesk"))
    project.issue("2025-01-01-imap.md", "IMAP keeps mail.\n", title="IMAP", date="2025-01-01")
    project.config(
        "pdf: {enabled: false}\n"
        "email: {send_on_build: true, service_url: 'https://letter.example.org/list',"
        " unsubscribe_mailto: unsubscribe@example.org}"
    )
    config = str(project.root / "mkdocs.yml")
    subprocess.run(
        [newsdesk, "-f", config, "subscribers", "add", "reader@example.org"],
        check=True,
        capture_output=True,
    )
    first = project.build()
    assert first.ok, first.log
    assert "newsdesk: written 1 message to the outbox .newsdesk/outbox/" in first.log
    outbox = mailbox.Maildir(project.root / ".newsdesk/outbox", create=False)
    [message] = list(outbox)
    assert message["To"] == "reader@example.org" and "IMAP" in message["Subject"]
    second = project.build()
    assert second.ok, second.log
    assert "newsdesk: written 0 messages to the outbox" in second.log
    assert len(list(outbox)) == 1


def test_an_image_from_another_host_does_not_fail_the_build(tmp_path) -> None:
    project = Project(tmp_path / "letter")
    project.issue(
        "2025-01-01-pic.md",
        "Look: ![A rack of servers](https://images.example.net/rack.png) there.\n",
        title="Pictures",
        date="2025-01-01",
    )
    result = project.build()
    assert result.ok, result.log
    assert "newsdesk: PDFs: 1 rendered, 0 reused" in result.log
    pdf = result.site / "issues/2025/pic/pic.pdf"
    text = " ".join(
        subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split()
    )
    assert "[Image: A rack of servers – https://images.example.net/rack.png]" in text


def test_a_protocol_added_without_a_glossary_entry_is_a_warning(project: Project) -> None:
    project.config(
        "pdf: {enabled: false}\n"
        "ports:\n"
        "  extra:\n"
        "    - {protocol: XMPP, port: 5222, transport: TCP, security: STARTTLS,\n"
        "       service: xmpp-client, purpose: Chat clients, rfc: RFC 6120,\n"
        "       rfc_url: 'https://www.rfc-editor.org/rfc/rfc6120'}"
    )
    result = project.build(strict=False)
    assert result.ok, result.log
    assert "shows the protocol 'XMPP' (from ports.extra), which has no glossary entry" in result.log
    assert result.log.count("which has no glossary entry") == 1
    assert result.html("ports/index.html").select_one("tr#port-5222") is not None


def test_an_issue_that_only_defines_a_term_is_not_listed_as_mentioning_it(
    project: Project,
) -> None:
    project.issue(
        "2025-01-01-grey.md",
        "Intro.\n\nGreylisting\n:   Greylisting delays mail from a stranger once.\n\n"
        "**PSK** (Pre-Shared Key) – A secret both sides know.\n",
        title="Grey",
        date="2025-01-01",
    )
    project.issue(
        "2025-02-01-more.md",
        "We turned on greylisting and changed the pre-shared key.\n",
        title="More",
        date="2025-02-01",
    )
    project.config("pdf: {enabled: false}")
    result = project.build()
    assert result.ok, result.log
    glossary = result.html("glossary/index.html")
    for slug in ("greylisting", "psk"):
        entry = glossary.select_one(f"h2#{slug}").find_next("div", class_="nd-glossary-entry")
        assert entry.select_one(".nd-glossary-source a").get_text() == "Grey"
        assert [a.get_text() for a in entry.select(".nd-glossary-mentions a")] == ["More"]
    grey = result.html("issues/2025/grey/index.html")
    assert not grey.select("dd a.nd-term, p a.nd-term")
    more = result.html("issues/2025/more/index.html")
    assert [a.get_text() for a in more.select("a.nd-term")] == ["greylisting", "pre-shared key"]


def test_a_curated_definition_replacing_an_issues_is_one_info_line(project: Project) -> None:
    project.issue(
        "2026-12-01-dns.md",
        "Intro.\n\n**MX record** – Names the servers that take mail.\n",
        title="DNS",
        date="2026-12-01",
    )
    (project.root / "newsletters" / "glossary.yml").write_text(
        "- term: MX record\n  definition: The DNS record for mail.\n", encoding="utf-8"
    )
    project.config("pdf: {enabled: false}")
    result = project.build()  # strict: an INFO line, not a warning
    assert result.ok, result.log
    lines = [line for line in result.log.splitlines() if "replaces the definition" in line]
    assert lines == [
        "INFO    -  newsletters/glossary.yml:2: 'MX record' replaces the definition in "
        "newsletters/2026-12-01-dns.md:8 (mode: add keeps both)"
    ]


def test_more_labels_can_be_configured(project: Project) -> None:
    project.issue(
        "2026-12-01-recap.md",
        "**Recap** – we moved the mail server.\n\n**snapshot** – a copy of a volume.\n",
        title="Recap",
        date="2026-12-01",
    )
    project.config("pdf: {enabled: false}\nglossary: {labels: [Recap]}")
    result = project.build()
    assert result.ok, result.log
    glossary = result.html("glossary/index.html")
    assert glossary.select_one("h2#snapshot") is not None
    assert glossary.select_one("h2#recap") is None


def test_a_bad_extra_port_row_names_the_config_file_given_with_f_and_its_line(
    project: Project,
) -> None:
    project.config(
        "pdf: {enabled: false}\n"
        "ports:\n"
        "  extra:\n"
        "    - {protocol: XMPP, port: 70000, transport: TCP, security: STARTTLS,\n"
        "       service: xmpp-client, purpose: Chat clients, rfc: RFC 6120}"
    )
    config = project.root / "mkdocs.yml"
    lines = config.read_text(encoding="utf-8").splitlines()
    row = next(n for n, line in enumerate(lines, 1) if "protocol: XMPP" in line)
    config.rename(project.root / "letter.yml")
    proc = subprocess.run(
        [str(MKDOCS), "build", "-f", "letter.yml"],
        cwd=project.root,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert proc.returncode != 0
    assert f"letter.yml:{row}: ports.extra[0] (XMPP): 'port' must be a number" in proc.stderr
    assert "mkdocs.yml" not in proc.stderr
    assert "Traceback" not in proc.stderr
