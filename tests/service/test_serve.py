"""The commands as installed: ``newsdesk serve`` (``newsdesk.service.serve``) with
``newsdesk send`` and ``newsdesk subscribers``, the whole loop over real processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.service.support import (
    FORM,
    ONE_CLICK_BODY,
    free_port,
    press_confirm,
    wait_until,
)

NEWSDESK = Path(sys.executable).with_name("newsdesk")

CLI_OPTIONS = """\
pdf: {{enabled: false}}
email:
  from: "Test Letter <letter@example.org>"
  list_id: "Test Letter <test-letter.example.org>"
  service_url: "{service_url}"
  unsubscribe_mailto: "unsubscribe@example.org"
  postal_address: "1 Example Street"
  live_check: false
  smtp:
    host: 127.0.0.1
    port: {smtp_port}
    security: none
"""


@pytest.mark.slow
def test_the_loop_with_the_installed_commands(project, smtpd, tmp_path: Path) -> None:
    inbox, smtp_port = smtpd
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    project.config(CLI_OPTIONS.format(service_url=url, smtp_port=smtp_port))
    project.issue("2026-01-05-first.md", "The first issue.\n", title="First", date="2026-01-05")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")},
        "NEWSDESK_SECRET": "loop-secret-of-at-least-32-characters",
        "NO_MKDOCS_2_WARNING": "1",
    }

    def newsdesk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(NEWSDESK), *args],
            cwd=project.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [str(NEWSDESK), "serve", "--port", str(port)],
        cwd=project.root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=1).text == "ok\n"
            except httpx.TransportError:
                return False

        wait_until(healthy, timeout=30)
        reader = "loop.reader@example.org"
        with httpx.Client(timeout=10) as client:
            response = client.post(
                f"{url}/subscribe", data={"email": reader, "name": "Loop", "website": ""}
            )
            assert response.status_code == 200
            body = inbox.wait_for(reader).get_body(("plain",)).get_content()
            link = re.search(r"http://\S+/confirm/\S+", body)
            assert link
            assert press_confirm(client, link.group(0), origin=url).status_code == 200
            # The issue was never mailed: the welcome is a note; `send` mails the issue.
            assert inbox.wait_for(reader, 2)["Subject"].startswith("Welcome to ")

        sent = newsdesk("send")
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert "sent 1, failed 0, pending 0" in sent.stdout
        issue = inbox.wait_for(reader, 3)
        assert issue["Subject"].endswith(": First")
        targets = re.findall(r"<([^>]+)>", str(issue["List-Unsubscribe"]))
        one_click = next(t for t in targets if t.startswith(f"{url}/unsubscribe/"))

        with httpx.Client(timeout=10) as bare:
            assert bare.get(one_click).status_code == 200
            listed = newsdesk("subscribers", "list", "--status", "active")
            assert reader in listed.stdout
            response = bare.post(one_click, content=ONE_CLICK_BODY, headers=FORM)
            assert response.status_code == 200
            assert bare.get(one_click).status_code == 200
        listed = newsdesk("subscribers", "list", "--status", "unsubscribed")
        assert reader in listed.stdout

        # Someone new, behind the proxy: the welcome is the first issue (mailed already),
        # their consent is on record, and `send` does not mail them the first issue again.
        late = "late.reader@example.org"
        with httpx.Client(timeout=10) as client:
            response = client.post(
                f"{url}/subscribe",
                data={"email": late, "website": "", "page": "site:subscribe.md", "consent": "1"},
                headers={"User-Agent": "Late/1.0", "X-Forwarded-For": "192.0.2.7"},
            )
            assert response.status_code == 200
            link = re.search(
                r"http://\S+/confirm/\S+", inbox.wait_for(late).get_body(("plain",)).get_content()
            )
            assert link
            response = press_confirm(
                client, link.group(0), origin=url, **{"X-Forwarded-For": "192.0.2.8"}
            )
            assert response.status_code == 200
        welcomed = inbox.wait_for(late, 2)
        assert welcomed["Subject"].endswith(": First")
        assert welcomed.get_body(("plain",)).get_content().startswith("Welcome to ")
        shown = newsdesk("subscribers", "show", late)
        assert shown.returncode == 0, shown.stderr
        assert (
            "signup  (source web, client 192.0.2.7, user_agent Late/1.0, page site:subscribe.md"
            in shown.stdout
        )
        assert "confirm  (source web, client 192.0.2.8" in shown.stdout
        assert "text_version 1" in shown.stdout and "text_hash " in shown.stdout

        assert newsdesk("subscribers", "add", "other@example.net").returncode == 0
        project.issue(
            "2026-02-05-second.md", "The second issue.\n", title="Second", date="2026-02-05"
        )
        sent = newsdesk("send")
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert "sent 2, failed 0, pending 0" in sent.stdout
        inbox.wait_for("other@example.net")
        inbox.wait_for(late, 3)
        assert len(inbox.to(reader)) == 3  # the confirmation, the welcome, the first issue
        assert [m["Subject"].rsplit(": ", 1)[1] for m in inbox.to(late)[1:]] == ["First", "Second"]
        received = len(inbox.messages)
        assert newsdesk("send").returncode == 0
        time.sleep(0.3)
        assert len(inbox.messages) == received
    finally:
        server.terminate()
        server.wait(10)
        log.close()
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
