"""`mkdocs serve`: a mistake in an issue is shown, and the server keeps running."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

from tests.conftest import MKDOCS, Project


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def test_serve_survives_a_bad_issue_and_shows_the_error(seed_project: Project, tmp_path) -> None:
    """With the project's own glossary, so that a broken issue cannot cascade."""
    project = seed_project
    project.issue("2025-01-01-ok.md", "Fine text.\n", title="Fine", date="2025-01-01", number=7)
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(MKDOCS), "serve", "-a", f"127.0.0.1:{port}"],
            cwd=project.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        )
    base = f"http://127.0.0.1:{port}/news/"
    try:
        assert wait_for(lambda: "Fine" in fetch(base + "issues/2025/ok/")), log_path.read_text()
        project.raw_issue("2025-02-01-bad.md", "---\ntitle: Bad\ndate: 2025-02-30\n---\ntext\n")
        message = "newsletters/2025-02-01-bad.md:3: invalid date '2025-02-30'"
        assert wait_for(lambda: message in fetch(base)), log_path.read_text()
        assert message in log_path.read_text()
        assert "Traceback" not in log_path.read_text()
        # Only the real error is shown, and the valid issues are still served, linked.
        banner = fetch(base).split('class="nd-build-error"')[1].split("</div>")[0]
        assert banner.count("newsletters/") == 1, banner
        seed = fetch(base + "issues/2026/email-servers/")
        assert 'class="nd-term"' in seed and "Port reference" in seed
        assert server.poll() is None, "the server must keep running"
        project.raw_issue(
            "2025-02-01-bad.md", "---\ntitle: Repaired\ndate: 2025-02-28\n---\ntext\n"
        )
        assert wait_for(lambda: "Repaired" in fetch(base + "issues/2025/bad/"))
        assert message not in fetch(base)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_serve_shows_warnings_too_and_an_issue_that_failed_to_load(
    project: Project, tmp_path
) -> None:
    project.issue("2025-01-01-ok.md", "Fine text.\n", title="Fine", date="2025-01-01")
    project.issue(
        "2025-01-08-links.md",
        "Intro.\n\nSee [the missing one](missing.md).\n",
        title="Links",
        date="2025-01-08",
    )
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(MKDOCS), "serve", "-a", f"127.0.0.1:{port}"],
            cwd=project.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        )
    base = f"http://127.0.0.1:{port}/news/"
    warning = "newsletters/2025-01-08-links.md:8: link to 'missing.md'"
    try:
        assert wait_for(lambda: warning in fetch(base + "issues/2025/ok/")), log_path.read_text()
        page = fetch(base)
        banner = page.split("<!-- newsdesk-banner -->")[1].split("<!-- /newsdesk-banner -->")[0]
        assert "nd-build-warning" in banner and "1 warning" in banner and " error" not in banner
        assert warning in log_path.read_text()

        # An issue that fails to load has no page: its address shows the 404 page, with
        # the reason on it, rather than a bare 404.
        project.raw_issue("2025-02-01-bad.md", "---\ntitle: Bad\ndate: 2025-02-30\n---\ntext\n")
        message = "newsletters/2025-02-01-bad.md:3: invalid date '2025-02-30'"
        assert wait_for(lambda: message in fetch(base)), log_path.read_text()
        try:
            fetch(base + "issues/2025/bad/")
            raise AssertionError("a page that failed to load is not served")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
            missing = exc.read().decode()
        assert message in missing and warning in missing
        assert 'class="nd-build-error"' in missing and "1 error" in missing
        assert server.poll() is None, "the server must keep running"
    finally:
        server.terminate()
        server.wait(timeout=10)
