"""A reader signs up on the built site in Chromium with JavaScript off, confirms from the
email, and leaves with the button on the unsubscribe page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsdesk.mail.store import Store
from newsdesk.mail.tokens import make_token
from newsdesk.service import subscribe_form_html
from newsdesk.service.app import create_app
from tests.conftest import Project
from tests.service.support import SECRET, SITE_URL, free_port, make_settings, start_server

pytestmark = pytest.mark.browser


def test_sign_up_on_the_site_without_javascript(
    browser, serve_dir, project: Project, tmp_path: Path, smtpd
) -> None:
    inbox, smtp_port = smtpd  # the SMTP server of conftest.py
    site = serve_dir(project.root / "site")
    service_port = free_port()
    service_url = f"http://127.0.0.1:{service_port}"
    # The site is served from its real address, so the form's Origin is the site's.
    project.config("pdf: {enabled: false}", **{SITE_URL: site})
    project.page(
        "subscribe.md",
        "# Subscribe\n\nOne message per issue.\n\n" + subscribe_form_html(service_url) + "\n",
    )
    built = project.build()
    assert built.ok, built.log

    settings = make_settings(tmp_path / "service", service_url, smtp_port, site_url=site)
    Store.open(settings.email.database).close()  # as `newsdesk serve` does first
    stop = start_server(create_app(settings, secret=SECRET), service_port)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{site}subscribe/")
        email_box = page.locator("input[name=email]")
        border = email_box.evaluate("e => getComputedStyle(e).borderTopWidth")
        assert border == "1px"  # the form's own stylesheet reached the page
        honeypot = page.locator("input[name=website]").bounding_box()
        assert honeypot is not None and honeypot["x"] + honeypot["width"] < 0
        page.fill("input[name=email]", "Browser.Reader@example.org")
        page.fill("input[name=name]", "Browser Reader")
        page.click("form.nd-subscribe button[type=submit]")
        page.wait_for_url(f"{service_url}/subscribe")
        assert page.locator("h1").inner_text() == "Check your inbox"
        # The page's own stylesheet is allowed by the CSP (its hash matches).
        background = page.locator("main").evaluate("e => getComputedStyle(e).backgroundColor")
        assert background in ("rgb(255, 255, 255)", "rgb(30, 30, 30)")

        mail = inbox.wait_for("browser.reader@example.org")
        link = re.search(r"http://\S+/confirm/\S+", mail.get_body(("plain",)).get_content())
        assert link
        page.goto(link.group(0))
        # Opening the link changes nothing; the button confirms (and the browser's POST
        # carries the service's own Origin, which the service accepts).
        assert page.locator("h1").inner_text() == "Confirm your subscription"
        with Store.open(settings.email.database) as store:
            pending = store.get("browser.reader@example.org")
            assert pending is not None and pending.status == "pending"
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "You are subscribed"
        with Store.open(settings.email.database) as store:
            sub = store.get("browser.reader@example.org")
            assert sub is not None and sub.status == "active"
            assert sub.name == "Browser Reader"

        page.goto(f"{service_url}/unsubscribe/{make_token(SECRET, 'unsubscribe', sub.id)}")
        assert page.locator("h1").inner_text() == "Unsubscribe"
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "You are unsubscribed"
        with Store.open(settings.email.database) as store:
            events = store.events(sub.id)
        assert (events[-1].new_status, events[-1].source) == ("unsubscribed", "web")

        # Coming back, on the service's own form: double opt-in again.
        page.goto(f"{service_url}/subscribe")
        page.fill("input[name=email]", "browser.reader@example.org")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Check your inbox"
        mail = inbox.wait_for("browser.reader@example.org", 3)  # confirmation, welcome
        link = re.search(r"http://\S+/confirm/\S+", mail.get_body(("plain",)).get_content())
        assert link
        page.goto(link.group(0))
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "You are subscribed"
        with Store.open(settings.email.database) as store:
            back = store.get(sub.id)
            assert back is not None and back.status == "active"
            kinds = [c.kind for c in store.consents(sub.id)]
        assert kinds == ["signup", "confirm", "signup", "confirm"]
    finally:
        context.close()
        stop()
