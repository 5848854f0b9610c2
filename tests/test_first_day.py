"""An author's first day: a fresh machine, their own issues, their own mistakes.

Real ``mkdocs build --strict`` runs of temporary projects (see ``conftest.py``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from newsdesk.mail.store import Store
from tests.conftest import MKDOCS, REPO, Project

NO_HARFBUZZ_SUBSET = """\
# Written by tests/test_first_day.py: every Python process of the build behaves as on a
# machine without libharfbuzz-subset0, so WeasyPrint logs its fontTools warning.
try:
    import weasyprint.pdf.fonts
except Exception:
    pass
else:
    weasyprint.pdf.fonts.harfbuzz_subset = None
"""


@pytest.mark.slow
def test_font_advice_is_one_info_line_and_a_strict_build_passes(
    project: Project, tmp_path: Path
) -> None:
    project.config("pdf: {enabled: true, jobs: 1}")
    project.issue(
        "2026-01-05-hello.md", "Hello **bold** and `code`.\n", title="Hello", date="2026-01-05"
    )
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(NO_HARFBUZZ_SUBSET, encoding="utf-8")
    env = {"PYTHONPATH": str(hooks)}

    first = project.build(env=env)
    assert first.ok, first.log
    advice = [line for line in first.log.splitlines() if "HarfBuzz" in line]
    assert len(advice) == 1, first.log
    assert advice[0].startswith("INFO") and "libharfbuzz-subset0" in advice[0]
    assert "WARNING" not in first.log
    assert (first.site / "issues/2026/hello/hello.pdf").read_bytes().startswith(b"%PDF-")
    entry = json.loads((project.root / ".newsdesk/pdf-cache/hello.json").read_text("utf-8"))
    assert entry["warnings"] == []

    again = project.build(env=env)
    assert again.ok, again.log
    assert "PDFs: 0 rendered, 1 reused" in again.log
    assert not re.search("harfbuzz|fonttools", again.log, re.IGNORECASE)


def shipped_validation() -> str:
    """The ``validation:`` block of the project's own mkdocs.yml, as authors get it."""
    text = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    match = re.search(r"^validation:\n(?:[ #].*\n)+", text, re.MULTILINE)
    assert match is not None, "mkdocs.yml sets MkDocs' link validation"
    return match.group(0)


def with_shipped_validation(project: Project, plugin_extra: str = "pdf: {enabled: false}") -> None:
    project.config(
        plugin_extra, **{"markdown_extensions:": shipped_validation() + "markdown_extensions:"}
    )


def test_broken_links_in_every_form_are_warnings_with_file_and_line(project: Project) -> None:
    with_shipped_validation(project)
    project.issue("2026-01-05-dns.md", "## Resolvers\n\nText.\n", title="DNS", date="2026-01-05")
    body = (
        "Intro with a [good link](2026-01-05-dns.md#resolvers) and [about](../about.md).\n"
        "\n"
        "See [the DNS issue](../dns-email/) for more.\n"  # body line 3
        "\n"
        "And [a missing file](missing.md).\n"  # 5
        "\n"
        "And [a missing anchor](2026-01-05-dns.md#nowhere).\n"  # 7
        "\n"
        "And [an absolute one](/gone.md).\n"  # 9
    )
    project.issue("2026-01-12-links.md", body, title="Links", date="2026-01-12")
    built = project.build()
    assert not built.ok
    assert "Aborted with 4 warnings in strict mode" in built.log, built.log
    # Front matter: 4 lines; the body starts on line 6 (after an empty line).
    src = "newsletters/2026-01-12-links.md"
    assert f"{src}:8: link to '../dns-email/' names no page of the site" in built.log
    assert (
        f"{src}:10: link to 'missing.md': the target 'newsletters/missing.md' is not found"
        in built.log
    )
    assert f"{src}:12: link to '2026-01-05-dns.md#nowhere': the doc" in built.log
    assert f"{src}:14: link to '/gone.md'" in built.log
    # The good links are not among them.
    assert built.log.count("WARNING") == 4 and "#resolvers" not in built.log


def test_an_unclosed_code_fence_is_a_warning_at_the_opening_line(project: Project) -> None:
    body = (
        "Some text.\n"
        "\n"
        "```sh\n"
        "dig example.org\n"
        "```\n"
        "\n"
        "~~~python\n"  # line 12 of the file
        "print('never closed')\n"
        "\n"
        "More prose that now shows as code.\n"
    )
    project.issue("2026-01-12-fence.md", body, title="Fence", date="2026-01-12")
    project.page("about.md", "# About\n\n````\nnested ``` is code\n")
    built = project.build()
    assert not built.ok
    assert (
        "newsletters/2026-01-12-fence.md:12: code block opened with ~~~ is never closed"
        in built.log
    ), built.log
    assert "docs/about.md:3: code block opened with ```` is never closed" in built.log
    assert built.log.count("never closed") == 2


def test_the_project_builds_strict_without_the_example_issue(tmp_path: Path) -> None:
    """An author's first step: delete the example issue; the site still builds."""
    root = tmp_path / "letter"
    root.mkdir()
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(REPO / "docs", root / "docs")
    shutil.copytree(REPO / "newsletters", root / "newsletters")
    (root / "newsletters" / "2026-11-26-email-servers.md").unlink()
    proc = subprocess.run(
        [str(MKDOCS), "build", "--strict"],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "NEWSDESK_LIVE_CHECK": "false"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WARNING" not in proc.stderr
    glossary = (root / "site" / "glossary" / "index.html").read_text(encoding="utf-8")
    # The curated POP entry stands alone on its fallback definition.
    assert 'id="pop"' in glossary and "downloads the messages" in glossary
    assert not (root / "site" / "issues" / "2026" / "email-servers").exists()


def test_a_mailed_issue_keeps_its_number_in_the_built_site(project: Project) -> None:
    project.issue("2026-01-08-smtp.md", "About SMTP.\n", title="SMTP", date="2026-01-08")
    project.issue("2026-01-01-dns.md", "About DNS.\n", title="DNS", date="2026-01-01")
    # Mailed as No. 1 and No. 2 (the ledger of `newsdesk send`).
    with Store.open(project.root / ".newsdesk" / "newsdesk.sqlite3") as store:
        store.archive_issue("dns", 1, "DNS", "2026-01-01")
        store.archive_issue("smtp", 2, "SMTP", "2026-01-08")
    # A new file on SMTP's date that sorts before it by name and by slug.
    project.issue("2026-01-08-imap.md", "About IMAP.\n", title="IMAP", date="2026-01-08")
    built = project.build()
    assert built.ok, built.log

    def number(slug: str) -> str:
        kicker = built.html(f"issues/2026/{slug}/index.html").select_one(".nd-kicker")
        assert kicker is not None
        return kicker.get_text(" ", strip=True)

    assert number("dns").endswith("Issue 1")
    assert number("smtp").endswith("Issue 2")
    assert number("imap").endswith("Issue 3")
