"""A reader in a real browser: home page, archive, Material's search."""

from __future__ import annotations

import pytest

from tests.conftest import Project

pytestmark = pytest.mark.browser


@pytest.fixture
def site(project: Project, serve_dir) -> str:
    project.issue(
        "2025-03-01-dns.md",
        "Names become addresses through resolvers.\n",
        title="DNS Basics",
        date="2025-03-01",
        summary="How names become addresses.",
    )
    project.issue(
        "2026-01-10-imap.md",
        "Your folders live on the server; mailboxes synchronise with zebrafinch precision.\n",
        title="IMAP Folders",
        date="2026-01-10",
        summary="Where your mail lives.",
    )
    result = project.build()
    assert result.ok, result.log
    return serve_dir(result.site)


def test_home_archive_and_search(browser, site: str) -> None:
    page = browser.new_page()
    page.goto(site)
    latest = page.locator(".nd-latest")
    assert latest.locator("h2 a").first.inner_text().strip() == "IMAP Folders"
    assert latest.is_visible()

    page.locator("nav.md-nav--primary a", has_text="Issues").first.click()
    page.wait_for_url("**/issues/")
    titles = page.locator("article li strong a").all_inner_texts()
    assert titles == ["IMAP Folders", "DNS Basics"]

    page.locator("label.md-search__icon, .md-search__input").first.click()
    page.locator("input.md-search__input").press_sequentially("zebrafinch", delay=20)
    result = page.locator(".md-search-result__item").first
    result.wait_for(timeout=15000)
    assert "IMAP Folders" in result.inner_text()
    result.locator("a").first.click()
    page.wait_for_url("**/issues/2026/imap/**")
    assert page.locator(".nd-issue-header h1").inner_text() == "IMAP Folders"
    page.close()
