"""Shared fixtures: temporary newsletter projects built with the real ``mkdocs``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

REPO = Path(__file__).resolve().parent.parent
MKDOCS = Path(sys.executable).with_name("mkdocs")

BASE_CONFIG = """\
site_name: Test Letter
site_url: https://letter.example.org/news/
nav:
  - Home: index.md
  - Issues: issues/index.md
  - Glossary: glossary/index.md
  - Ports: ports/index.md
  - About: about.md
theme:
  name: material
  features: [content.tooltips]
markdown_extensions:
  - admonition
  - attr_list
  - def_list
  - footnotes
  - md_in_html
  - tables
  - toc:
      permalink: true
  - pymdownx.superfences
plugins:
  - search
  - newsdesk:
      newsletter_name: Test Letter
{plugin_extra}
"""


@dataclass
class Built:
    """The result of one ``mkdocs build``."""

    proc: subprocess.CompletedProcess[str]
    site: Path

    @property
    def ok(self) -> bool:
        return self.proc.returncode == 0

    @property
    def log(self) -> str:
        return self.proc.stdout + self.proc.stderr

    def html(self, path: str) -> BeautifulSoup:
        return BeautifulSoup((self.site / path).read_text(encoding="utf-8"), "html.parser")


class Project:
    """A temporary newsletter project: write issues and pages, then build it."""

    def __init__(self, root: Path, plugin_extra: str = ""):
        self.root = root
        (root / "docs").mkdir(parents=True)
        (root / "newsletters").mkdir()
        self.config(plugin_extra)
        self.page(
            "index.md",
            "# Home\n\n<!-- newsdesk:latest -->\n\n## Recent\n\n<!-- newsdesk:recent -->\n",
        )
        self.page("about.md", "# About\n\nAbout this letter.\n")

    def config(self, plugin_extra: str = "", **replace: str) -> None:
        text = BASE_CONFIG.format(plugin_extra=textwrap.indent(plugin_extra, " " * 6))
        for old, new in replace.items():
            text = text.replace(old, new)
        (self.root / "mkdocs.yml").write_text(text, encoding="utf-8")

    def page(self, name: str, text: str) -> Path:
        path = self.root / "docs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def issue(self, filename: str, body: str = "Some text.\n", **meta: object) -> Path:
        """Write ``newsletters/<filename>`` with front matter from ``meta``."""
        lines = ["---"]
        for key, value in meta.items():
            if isinstance(value, list | tuple):
                value = "[" + ", ".join(str(v) for v in value) + "]"
            elif isinstance(value, bool):
                value = "true" if value else "false"
            lines.append(f"{key}: {value}")
        lines += ["---", "", body]
        return self.raw_issue(filename, "\n".join(lines))

    def raw_issue(self, filename: str, text: str) -> Path:
        path = self.root / "newsletters" / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def build(self, *args: str, strict: bool = True, env: dict[str, str] | None = None) -> Built:
        cmd = [str(MKDOCS), "build", "-f", str(self.root / "mkdocs.yml")]
        if strict:
            cmd.append("--strict")
        proc = subprocess.run(
            [*cmd, *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})},
            timeout=300,
        )
        return Built(proc, self.root / "site")


def separate_venv(name: str, what: str) -> Path:
    """The ``bin`` folder of the virtual environment ``name`` (``.venv-properdocs``…), made
    by the Makefile's ``name/.installed`` and reused while ``pyproject.toml`` is unchanged.
    When it cannot be installed (no way to PyPI, say) the test is skipped with pip's reason."""
    proc = subprocess.run(
        ["make", "--no-print-directory", f"{name}/.installed"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        lines = [line.strip() for line in (proc.stdout + proc.stderr).splitlines()]
        # pip's own reasons ("ERROR: Could not find a version that satisfies…"), else the end.
        errors = [line for line in lines if line.startswith("ERROR:")] or lines[-3:]
        pytest.skip(f"cannot install {what} into {name}: " + " / ".join(dict.fromkeys(errors)))
    return REPO / name / "bin"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """An empty project with home and about pages; PDFs off unless a test turns them on."""
    return Project(tmp_path / "letter", plugin_extra="pdf: {enabled: false}")


@pytest.fixture
def seed_project(tmp_path: Path) -> Project:
    """A project holding the repository's own issues and glossary."""
    p = Project(tmp_path / "letter", plugin_extra="pdf: {enabled: false}")
    shutil.rmtree(p.root / "newsletters")
    shutil.copytree(REPO / "newsletters", p.root / "newsletters")
    return p


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (Playwright's own browsers are not used)."""
    if not CHROMIUM.exists():
        pytest.fail("chromium is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def serve_dir():
    """Serve a folder over HTTP on 127.0.0.1 on a free port; returns the base URL."""
    import functools
    import http.server
    import threading

    servers = []

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    def start(folder: Path) -> str:
        handler = functools.partial(Quiet, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by what they need, from the fixtures they use: ``dovecot`` (a Dovecot
    server started by the test) and ``browser`` (Debian's chromium), so ``make test-quick``
    can leave them out."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "dovecot" in names:
            item.add_marker(pytest.mark.dovecot)
        if "browser" in names:
            item.add_marker(pytest.mark.browser)
