"""ProperDocs, the continuation of MkDocs 1.x, builds this repository's site.

ProperDocs lives in a virtual environment of its own, ``.venv-properdocs`` (the Makefile's
``.venv-properdocs/.installed``: properdocs, mkdocs-material and this project, editable),
so that it and the MkDocs in ``.venv`` never meet. Creating it takes about half a minute
the first time; later runs reuse it. When it cannot be installed (no way to PyPI, say) the
test is skipped and the note says why; once installed, a failed build is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.conftest import MKDOCS, REPO, separate_venv

# The first run makes the virtual environment (pip, about a minute): more than the usual 300 s.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ISSUE = "issues/2026/email-servers/index.html"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def properdocs() -> Path:
    return (
        separate_venv(".venv-properdocs", "properdocs, mkdocs-material and newsdesk") / "properdocs"
    )


def copy_site(tmp_path: Path, name: str) -> Path:
    """A copy of this repository's site: ``mkdocs.yml``, ``docs/``, ``newsletters/``."""
    root = tmp_path / name
    root.mkdir()
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(REPO / "docs", root / "docs")
    shutil.copytree(REPO / "newsletters", root / "newsletters")
    return root


def run(command: Path, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(command), "build", "-f", "mkdocs.yml", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "NEWSDESK_LIVE_CHECK": "false"},
        timeout=300,
    )


def build(command: Path, tmp_path: Path, name: str) -> Path:
    """Build a copy of this repository's site strict; its ``site/`` folder."""
    root = copy_site(tmp_path, name)
    proc = run(command, root, "--strict")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    return root / "site"


def html(site: Path, path: str) -> BeautifulSoup:
    return BeautifulSoup((site / path).read_text(encoding="utf-8"), "html.parser")


def test_properdocs_builds_the_site_strict_with_material_and_newsdesk(
    properdocs: Path, tmp_path: Path
) -> None:
    site = build(properdocs, tmp_path, "properdocs")
    generator = html(site, "index.html").select_one('meta[name="generator"]')["content"]
    assert "ProperDocs" in generator and "mkdocs-material" in generator, generator

    issue = html(site, ISSUE)
    assert issue.select_one(".nd-issue-header h1").get_text() == "Email Servers"
    terms = {a.get_text(): a["href"] for a in issue.select("a.nd-term")}
    assert terms["POP"] == "../../../glossary/#pop"
    assert terms["SMTP"] == "../../../glossary/#smtp"
    assert issue.select_one('a.nd-term[href$="#pop"]')["title"].startswith("Post Office Protocol")
    table = issue.find(string="Port reference").find_parent().find_next("table")
    assert "993" in table.get_text() and "IMAP" in table.get_text()
    assert (site / "issues/2026/email-servers/email-servers.pdf").read_bytes()[:5] == b"%PDF-"

    glossary = html(site, "glossary/index.html")
    for slug in ("pop", "imap", "smtp"):
        assert glossary.find(id=slug) is not None, slug
    assert html(site, "ports/index.html").find(id="port-993") is not None

    rss = ET.parse(site / "feed.xml").getroot()
    assert [i.findtext("title") for i in rss.iter("item")] == ["#1: Email Servers"]
    atom = ET.parse(site / "atom.xml").getroot()
    entries = atom.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["#1: Email Servers"]

    # The same pages as MkDocs 1.6 makes, with the same text.
    reference = build(MKDOCS, tmp_path, "mkdocs")
    files = {p.relative_to(site) for p in site.rglob("*") if p.is_file()}
    assert files == {p.relative_to(reference) for p in reference.rglob("*") if p.is_file()}
    for page in (ISSUE, "glossary/index.html", "ports/index.html", "issues/index.html"):
        assert str(html(site, page).article) == str(html(reference, page).article), page


def test_properdocs_link_warnings_name_the_line_and_hold_the_issue_back(
    properdocs: Path, tmp_path: Path
) -> None:
    """ProperDocs logs as ``properdocs.…``: newsdesk still gives its link warnings the file
    and line, and records them in the issue's rendering (``newsdesk send`` holds it back)."""
    root = copy_site(tmp_path, "letter")
    config = root / "mkdocs.yml"
    config.write_text(config.read_text().replace("enabled: true", "enabled: false"))
    issue = root / "newsletters" / "2026-11-26-email-servers.md"
    text = issue.read_text(encoding="utf-8") + "\nSee [gone](missing.md).\n"
    issue.write_text(text, encoding="utf-8")
    line = text.count("\n")
    expected = f"newsletters/2026-11-26-email-servers.md:{line}: link to 'missing.md'"

    proc = run(properdocs, root, "--strict")
    assert proc.returncode != 0
    assert expected in proc.stderr, proc.stderr

    proc = run(properdocs, root)
    assert proc.returncode == 0, proc.stderr
    rendering = json.loads((root / ".newsdesk/renderings/email-servers.json").read_text())
    assert [p for p in rendering["problems"] if p.startswith(expected)], rendering["problems"]
