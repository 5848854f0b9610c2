"""Accessibility, checked in Chromium: axe-core on every page type and on the email, and a
glossary term's explanation reached by keyboard and announced to screen readers.

axe-core (MPL-2.0, Deque Systems) comes from the ``axe-playwright-python`` test
dependency, which ships ``axe.min.js``; only that file is used, injected into the page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import MKDOCS, REPO

pytestmark = pytest.mark.browser

PAGES = {
    "home": "",
    "archive": "issues/",
    "issue": "issues/2026/email-servers/",
    "glossary": "glossary/",
    "ports": "ports/",
    "subscribe": "subscribe/",
    "404": "404.html",
}
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
BLOCKING = ("serious", "critical")


def axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


def run_axe(page) -> list[dict]:
    """axe's violations on ``page`` (WCAG 2.x A and AA and best practices)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return result["violations"]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {node['target']}: {summary[:240]}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def seed_site(tmp_path_factory) -> Path:
    """The repository's own project (mkdocs.yml, docs, the seed issue) built strictly."""
    root = tmp_path_factory.mktemp("a11y") / "letter"
    root.mkdir()
    for name in ("docs", "newsletters"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    proc = subprocess.run(
        [str(MKDOCS), "build", "--strict", "-f", str(root / "mkdocs.yml")],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


@pytest.fixture(scope="module")
def site_url(seed_site: Path):
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(seed_site / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_axe_violations_on_any_page(browser, site_url, scheme, viewport) -> None:
    context = browser.new_context(color_scheme=scheme, viewport=VIEWPORTS[viewport])
    failures = {}
    try:
        for kind, path in PAGES.items():
            page = context.new_page()
            page.goto(site_url + path)
            page.wait_for_load_state("networkidle")
            expected = "slate" if scheme == "dark" else "default"
            assert page.get_attribute("body", "data-md-color-scheme") == expected
            bad = [v for v in run_axe(page) if v["impact"] in BLOCKING]
            if bad:
                failures[kind] = describe(bad)
            page.close()
    finally:
        context.close()
    assert not failures, "\n".join(f"[{k}]\n{v}" for k, v in failures.items())


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_axe_violations_in_the_email(browser, seed_site, scheme) -> None:
    from newsdesk.adapter.engine import load_settings
    from newsdesk.mail.render import Recipient, prepare_message
    from newsdesk.rendering import read_renderings

    settings = load_settings(seed_site / "mkdocs.yml")
    (rendering,) = read_renderings(settings.state_dir)
    message = prepare_message(rendering, settings.email, newsletter_name="Happy Computing")
    html = message.html_for(Recipient(1, "ada@example.org", "Ada"), "token123")
    for viewport in VIEWPORTS.values():
        context = browser.new_context(color_scheme=scheme, viewport=viewport)
        page = context.new_page()
        page.set_content(html)
        bad = [v for v in run_axe(page) if v["impact"] in BLOCKING]
        context.close()
        assert not bad, describe(bad)


def _ax_link(page, name: str) -> dict:
    """The accessibility-tree node of the focused link (Chrome's own computation)."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    for node in nodes:
        props = {p["name"]: p.get("value", {}).get("value") for p in node.get("properties", [])}
        if (
            node.get("role", {}).get("value") == "link"
            and node.get("name", {}).get("value") == name
            and props.get("focused")
        ):
            return node
    raise AssertionError(f"no focused link named {name!r} in the accessibility tree")


def _visible_tooltips(page) -> list[str]:
    """The text of every tooltip shown now (Material's tooltips fade, so wait for that)."""
    page.wait_for_timeout(400)
    return page.evaluate(
        """() => [...document.querySelectorAll('.md-tooltip2, .md-tooltip')]
          .filter(t => {
            const s = getComputedStyle(t);
            return s.visibility !== 'hidden' && s.opacity !== '0' && t.innerText.trim();
          })
          .map(t => t.innerText.trim())"""
    )


def test_a_term_explained_by_keyboard_and_to_screen_readers(browser, site_url) -> None:
    page = browser.new_page()
    page.goto(site_url + PAGES["issue"])
    page.wait_for_load_state("networkidle")
    # Tab from the top of the page until the first mention of POP has the focus.
    for _ in range(120):
        page.keyboard.press("Tab")
        if page.evaluate(
            "document.activeElement.matches('a.nd-term') && "
            "document.activeElement.textContent === 'POP'"
        ):
            break
    else:
        pytest.fail("Tab never reached the glossary link of POP")
    explanation = "Post Office Protocol – This protocol delivers your mail from a server at once."

    # Focus shows the explanation, as hovering does.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.md-tooltip2--active')]"
        ".some(t => t.innerText.includes('Post Office Protocol'))",
        timeout=10000,
    )
    assert explanation in _visible_tooltips(page)

    # Screen readers: the link is named by its text and described by the explanation.
    node = _ax_link(page, "POP")
    assert node["description"]["value"] == explanation

    # Escape hides it and leaves the focus where it was.
    page.keyboard.press("Escape")
    page.wait_for_function(
        "() => document.documentElement.classList.contains('nd-tooltips-dismissed')"
    )
    assert _visible_tooltips(page) == []
    assert page.evaluate("document.activeElement.textContent") == "POP"
    # Still described after the tooltip is gone.
    assert _ax_link(page, "POP")["description"]["value"] == explanation

    # The next term that takes the focus shows its own explanation again.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('a.nd-term')"):
            break
    page.wait_for_function(
        "() => !document.documentElement.classList.contains('nd-tooltips-dismissed')"
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('.md-tooltip2--active')].length > 0", timeout=10000
    )
    assert _visible_tooltips(page)
    page.close()


def test_without_material_tooltips_focus_still_explains_a_term(project, serve_dir, browser) -> None:
    """A site without ``content.tooltips``: newsdesk.js shows the explanation on focus."""
    project.config(**{"features: [content.tooltips]": "features: []"})
    project.issue(
        "2025-01-01-relays.md",
        "**MTA** (Mail Transfer Agent) – The server software that relays mail. It queues.\n\n"
        "Every MTA keeps a queue, and so does every [other](https://example.org/) one.\n",
        title="Relays",
        date="2025-01-01",
    )
    result = project.build()
    assert result.ok, result.log
    page = browser.new_page()
    page.goto(serve_dir(result.site) + "issues/2025/relays/")
    page.wait_for_load_state("networkidle")
    explanation = "Mail Transfer Agent – The server software that relays mail."
    # Described before any focus (its title), as browsers do for a title.
    link = page.locator("article a.nd-term", has_text="MTA").first
    assert link.get_attribute("title") == explanation
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('a.nd-term')"):
            break
    else:
        pytest.fail("Tab never reached the glossary link of MTA")
    tip = page.locator(".nd-tooltip[role=tooltip]")
    assert tip.is_visible()
    assert tip.inner_text() == explanation
    assert _ax_link(page, "MTA")["description"]["value"] == explanation
    assert page.evaluate("document.activeElement.getAttribute('aria-describedby')") == (
        "nd-tooltip"
    )
    page.screenshot(path=str(project.root / "focus.png"))

    page.keyboard.press("Escape")
    assert tip.count() == 0
    assert page.evaluate("document.activeElement.textContent") == "MTA"
    assert _ax_link(page, "MTA")["description"]["value"] == explanation  # its title again

    # Moving on hides it; coming back shows it again.
    page.keyboard.press("Tab")
    assert tip.count() == 0
    page.keyboard.press("Shift+Tab")
    assert tip.is_visible()
    page.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_axe_violations_on_the_services_pages(browser, scheme) -> None:
    """The pages ``newsdesk serve`` answers with: the sign-up form, a message, an error
    and the unsubscribe button."""
    from newsdesk.service.pages import Pages

    pages = Pages("Happy Computing", "https://newsletter.example.org/")
    responses = {
        "subscribe": pages.message("Subscribe", "Get each new issue by email.", form=True),
        "confirmed": pages.message("Subscribed", "You will receive the next issue."),
        "error": pages.message("Link expired", "Sign up again.", status=400, error=True),
        "unsubscribe": pages.unsubscribe("ada@example.org", "/unsubscribe/tok"),
    }
    failures = {}
    for viewport in VIEWPORTS.values():
        context = browser.new_context(color_scheme=scheme, viewport=viewport)
        for kind, response in responses.items():
            page = context.new_page()
            page.set_content(response.body.decode("utf-8"))
            bad = [v for v in run_axe(page) if v["impact"] in BLOCKING]
            if bad:
                failures[kind] = describe(bad)
            page.close()
        context.close()
    assert not failures, "\n".join(f"[{k}]\n{v}" for k, v in failures.items())
