"""Zensical, Material's successor, runs the ``newsdesk.markdown`` extension.

Zensical runs Python-Markdown extensions but no MkDocs plugins (it skips ``newsdesk`` under
``plugins:`` without a word), so what works there is what the extension does: term links
with their explanation, port links and "Port reference" tables. The glossary and ports
pages, the archive, feeds, PDFs and email come from the plugin and are not made. Zensical
lives in ``.venv-zensical`` (the Makefile's ``.venv-zensical/.installed``), reused between
runs; when it cannot be installed the test is skipped and the note says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.conftest import REPO, separate_venv

# The first run makes the virtual environment (pip, about a minute): more than the usual 300 s.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# Zensical's own configuration file; the same works as markdown_extensions in mkdocs.yml.
CONFIG = """\
[project]
site_name = "Test Letter"
site_url = "https://letter.example.org/"

[project.markdown_extensions.attr_list]
[project.markdown_extensions.def_list]
[project.markdown_extensions.tables]
[project.markdown_extensions."newsdesk.markdown"]
glossary_file = "glossary.yml"
newsletters_dir = "docs/issues"
glossary_url = "/glossary/"
ports_url = "/ports/"
"""

ISSUE = """\
---
title: Resolvers
date: 2026-12-03
---

**Stub resolver** – The small part of a computer that asks a DNS server for names.

Your mail program fetches mail over IMAP on port 993 and sends it with SMTP.
"""


@pytest.fixture(scope="module")
def zensical() -> Path:
    return separate_venv(".venv-zensical", "zensical and newsdesk") / "zensical"


def build(zensical: Path, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(zensical), "build", "--strict", "--clean", "-f", "zensical.toml"],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=300,
    )


def test_zensical_links_terms_and_ports_with_the_extension(zensical: Path, tmp_path: Path) -> None:
    root = tmp_path / "letter"
    (root / "docs" / "issues").mkdir(parents=True)
    (root / "zensical.toml").write_text(CONFIG, encoding="utf-8")
    shutil.copy(REPO / "newsletters" / "glossary.yml", root / "glossary.yml")
    (root / "docs" / "issues" / "2026-12-03-resolvers.md").write_text(ISSUE, encoding="utf-8")
    (root / "docs" / "index.md").write_text(
        "# Home\n\nWhat a stub resolver asks for, and how POP differs.\n", encoding="utf-8"
    )
    proc = build(zensical, root)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    def page(path: str) -> BeautifulSoup:
        text = (root / "site" / path).read_text(encoding="utf-8")
        return BeautifulSoup(text, "html.parser")

    issue = page("issues/2026-12-03-resolvers/index.html")
    terms = {a.get_text(): a for a in issue.select("a.nd-term")}
    assert terms["IMAP"]["href"] == "/glossary/#imap"
    assert terms["IMAP"]["title"].startswith("Internet Message Access Protocol")
    assert "Stub resolver" not in terms, "a term is not linked in its own definition"
    assert issue.select_one('a[href="/ports/#port-993"]').get_text() == "port 993"
    table = issue.find(string="Port reference").find_parent().find_next("table")
    assert "993" in table.get_text() and "IMAP" in table.get_text()

    # A term an issue defines links from every page (newsletters_dir), curated ones too.
    home = {a.get_text(): a["href"] for a in page("index.html").select("a.nd-term")}
    assert home == {"stub resolver": "/glossary/#stub-resolver", "POP": "/glossary/#pop"}

    # What the plugin makes is not there.
    for missing in ("glossary/index.html", "ports/index.html", "feed.xml", "atom.xml"):
        assert not (root / "site" / missing).exists(), missing

    # A broken glossary stops the build with the file and line.
    with (root / "glossary.yml").open("a", encoding="utf-8") as f:
        f.write("- term: [oops\n")
    proc = build(zensical, root)
    assert proc.returncode != 0
    assert "NewsdeskError: glossary.yml:" in proc.stderr, proc.stderr
