"""The issue model: front matter, defaults, validation with file and line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from newsdesk.errors import NewsdeskError, NewsdeskErrors
from newsdesk.issues import default_slug, load_issues, parse_issue, split_front_matter


def issue_text(meta: str, body: str = "Hello.\n") -> str:
    return f"---\n{meta}\n---\n\n{body}"


def test_defaults_from_file_name() -> None:
    issue, warnings = parse_issue(
        issue_text("title: Email Servers\ndate: 2026-11-26"),
        "newsletters/2026-11-26-email-servers.md",
    )
    assert issue.slug == "email-servers"
    assert issue.date == dt.date(2026, 11, 26)
    assert issue.url == "issues/2026/email-servers/"
    assert issue.draft is False and issue.tags == () and issue.number is None
    assert warnings == []


def test_body_line_counts_front_matter() -> None:
    yaml_text, body, line = split_front_matter("---\ntitle: A\ndate: 2026-01-01\n---\nFirst\n")
    assert yaml_text == "title: A\ndate: 2026-01-01\n"
    assert body == "First\n"
    assert line == 5


@pytest.mark.parametrize(
    ("filename", "slug"),
    [
        ("2026-11-26-email-servers.md", "email-servers"),
        ("dns.md", "dns"),
        ("2026-1-1-x.md", "2026-1-1-x"),
    ],
)
def test_default_slug(filename: str, slug: str) -> None:
    assert default_slug(filename) == slug


@pytest.mark.parametrize(
    ("meta", "message", "line"),
    [
        ("date: 2026-11-26", "missing required field 'title'", 1),
        ("title: T", "missing required field 'date'", 1),
        ("title: T\ndate: 2026-13-01", "invalid date '2026-13-01'", 3),
        ("title: T\ndate: next week", "invalid date 'next week'", 3),
        ("title: T\ndate: 2026-01-01\nslug: Not A Slug", "invalid slug", 4),
        ("title: T\ndate: 2026-01-01\nnumber: -2", "'number' must be a whole number", 4),
        ("title: T\ndate: 2026-01-01\ndraft: maybe", "'draft' must be true or false", 4),
        ("title: T\ndate: 2026-01-01\ntags: {a: 1}", "'tags' must be a list", 4),
    ],
)
def test_invalid_fields_name_file_and_line(meta: str, message: str, line: int) -> None:
    with pytest.raises(NewsdeskError) as info:
        parse_issue(issue_text(meta), "newsletters/x.md")
    assert message in str(info.value)
    assert info.value.path == "newsletters/x.md"
    assert info.value.line == line
    assert str(info.value).startswith(f"newsletters/x.md:{line}: ")


def test_unparseable_yaml_gives_the_line() -> None:
    text = "---\ntitle: T\ndate: 2026-01-01\nsummary: [unclosed\nauthor: A\n---\nbody\n"
    with pytest.raises(NewsdeskError) as info:
        parse_issue(text, "newsletters/bad.md")
    assert "not valid YAML" in str(info.value)
    assert info.value.line in (4, 5)


def test_missing_front_matter() -> None:
    with pytest.raises(NewsdeskError, match="no front matter"):
        parse_issue("# Just a heading\n", "newsletters/x.md")


def test_unknown_field_warns_with_line() -> None:
    _, warnings = parse_issue(issue_text("title: T\ndate: 2026-01-01\nsumary: typo"), "n/x.md")
    assert warnings == [
        "n/x.md:4: unknown front-matter field 'sumary' "
        "(known: title, date, summary, author, tags, number, draft, slug)"
    ]


def test_several_errors_reported_together(tmp_path: Path) -> None:
    folder = tmp_path / "newsletters"
    folder.mkdir()
    (folder / "a.md").write_text(issue_text("date: 2026-01-01"))
    (folder / "b.md").write_text(issue_text("title: B\ndate: 2026-02-30"))
    (folder / "c.md").write_text(issue_text("title: C\ndate: 2026-01-01"))
    with pytest.raises(NewsdeskErrors) as info:
        load_issues(folder, tmp_path)
    text = str(info.value)
    assert "newsletters/a.md:1: missing required field 'title'" in text
    assert "newsletters/b.md:3: invalid date '2026-02-30'" in text
    assert "c.md" not in text


def test_numbers_follow_date_order_and_skip_drafts(tmp_path: Path) -> None:
    folder = tmp_path / "newsletters"
    folder.mkdir()
    (folder / "2025-03-01-b.md").write_text(issue_text("title: B\ndate: 2025-03-01"))
    (folder / "2025-01-01-a.md").write_text(issue_text("title: A\ndate: 2025-01-01"))
    (folder / "2025-02-01-d.md").write_text(issue_text("title: D\ndate: 2025-02-01\ndraft: true"))
    (folder / "2026-01-01-c.md").write_text(issue_text("title: C\ndate: 2026-01-01"))
    issues, _ = load_issues(folder, tmp_path)
    assert [(i.slug, i.number) for i in issues] == [("a", 1), ("d", None), ("b", 2), ("c", 3)]
    assert issues[0].source == "newsletters/2025-01-01-a.md"


def test_duplicate_slug_names_both_files(tmp_path: Path) -> None:
    folder = tmp_path / "newsletters"
    folder.mkdir()
    (folder / "2025-01-01-dns.md").write_text(issue_text("title: A\ndate: 2025-01-01"))
    (folder / "2026-01-01-dns.md").write_text(issue_text("title: B\ndate: 2026-01-01"))
    with pytest.raises(NewsdeskErrors) as info:
        load_issues(folder, tmp_path)
    assert (
        "newsletters/2026-01-01-dns.md: duplicate slug 'dns': newsletters/2025-01-01-dns.md"
        in str(info.value)
    )


def test_status_and_reading_time() -> None:
    issue, _ = parse_issue(issue_text("title: T\ndate: 2026-06-01", "word " * 500), "n/x.md")
    assert issue.status(dt.date(2026, 5, 31)) == "scheduled"
    assert issue.status(dt.date(2026, 6, 1)) == "published"
    assert issue.reading_minutes == 3


def test_seed_issue_loads() -> None:
    repo = Path(__file__).resolve().parent.parent
    issues, warnings = load_issues(repo / "newsletters", repo)
    seed = next(i for i in issues if i.slug == "email-servers")
    assert (seed.title, seed.number, seed.date, seed.author) == (
        "Email Servers",
        1,
        dt.date(2026, 11, 26),
        "Michael DeFlorio",
    )
    assert "\u00a0" not in seed.body
    assert "### SMTP Port Numbers" in seed.body
    assert "**POP** (Post Office Protocol) – " in seed.body
    assert warnings == []
