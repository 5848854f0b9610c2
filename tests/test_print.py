"""Printing an issue page from the browser gives the issue alone (Chromium --print-to-pdf)."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, Project

pytestmark = pytest.mark.browser


def test_browser_print_shows_only_the_issue(project: Project, serve_dir, tmp_path) -> None:
    project.issue(
        "2025-03-01-dns.md",
        "Resolvers turn names into addresses. Read [RFC 1034](https://www.rfc-editor.org/rfc/rfc1034)"
        " for the details.\n\n## Caching\n\nAnswers are kept for their TTL.\n",
        title="DNS Basics",
        date="2025-03-01",
        author="Ada Lovelace",
    )
    project.issue("2025-04-01-next.md", "More.\n", title="Next Issue", date="2025-04-01")
    result = project.build()
    assert result.ok, result.log
    base = serve_dir(result.site)
    pdf = tmp_path / "print.pdf"
    subprocess.run(
        [
            str(CHROMIUM),
            *CHROMIUM_ARGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            base + "issues/2025/dns/",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    assert "DNS Basics" in flat
    assert "1 March 2025" in flat and "by Ada Lovelace" in flat
    assert "Resolvers turn names into addresses" in flat and "Answers are kept" in flat
    # The external link's URL is printed after it.
    assert "RFC1034(https://www.rfc-editor.org/rfc/rfc1034)" in "".join(text.split())
    # Site chrome is gone: navigation, search, header, footer, previous/next links.
    for chrome in ("Search", "Glossary", "About", "Made with", "Material for MkDocs", "Next Issue"):
        assert chrome not in flat, chrome
