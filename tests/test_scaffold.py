"""``newsdesk new``: the slug from a title and the draft file it writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from newsdesk.errors import NewsdeskError
from newsdesk.issues import parse_issue
from newsdesk.scaffold import new_issue, slug_for


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Wi-Fi Security: WPA3 & Passkeys", "wi-fi-security-wpa3-passkeys"),
        ("Über SMTP — und POP!", "uber-smtp-und-pop"),
        ("   ", "issue"),
        ("日本語", "issue"),
        ("a" * 59 + " b", "a" * 59),
    ],
)
def test_slug_for(title: str, slug: str) -> None:
    assert slug_for(title) == slug


def test_new_issue_writes_a_draft_that_parses(tmp_path: Path) -> None:
    folder = tmp_path / "newsletters"
    path = new_issue(
        folder, " DNS  for mail ", date=dt.date(2026, 3, 10), author="Ann", root=tmp_path
    )
    assert path == folder / "2026-03-10-dns-for-mail.md"
    issue, _ = parse_issue(path.read_text(encoding="utf-8"), path.name, path)
    assert (issue.title, issue.date, issue.author, issue.draft, issue.slug) == (
        "DNS for mail",
        dt.date(2026, 3, 10),
        "Ann",
        True,
        "dns-for-mail",
    )
    with pytest.raises(NewsdeskError, match="exists already"):
        new_issue(folder, "DNS for Mail!", root=tmp_path)
    with pytest.raises(NewsdeskError, match="needs a title"):
        new_issue(folder, "  ")
