"""Hovering a linked term shows its definition (Material's content.tooltips) in Chromium."""

from __future__ import annotations

import pytest

from tests.conftest import Project

pytestmark = pytest.mark.browser


def test_hovering_a_term_shows_its_tooltip(project: Project, serve_dir, browser) -> None:
    project.issue(
        "2025-01-01-relays.md",
        "**MTA** (Mail Transfer Agent) – The server software that relays mail. It queues.\n\n"
        "Every MTA keeps a queue.\n",
        title="Relays",
        date="2025-01-01",
    )
    result = project.build()
    assert result.ok, result.log
    page = browser.new_page()
    page.goto(serve_dir(result.site) + "issues/2025/relays/")
    link = page.locator("article a.nd-term", has_text="MTA").first
    link.hover()
    tooltip = page.locator(".md-tooltip2, .md-tooltip").filter(has_text="Mail Transfer Agent")
    tooltip.first.wait_for(state="visible", timeout=10000)
    text = tooltip.first.inner_text()
    assert "The server software that relays mail." in text
    assert "It queues" not in text, "only the first sentence of the definition"
    link.click()
    page.wait_for_url("**/glossary/#mta")
    assert page.locator("h2#mta").is_visible()
    page.close()
