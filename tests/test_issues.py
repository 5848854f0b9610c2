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


def test_every_problem_of_one_front_matter_is_reported_at_once() -> None:
    meta = "title: [T]\ndate: 2026-02-30\ndraft: maybe\ntags: {a: 1}\nsumary: typo"
    with pytest.raises(NewsdeskErrors) as info:
        parse_issue(issue_text(meta), "newsletters/x.md")
    assert [(e.line, e.message.split(":")[0]) for e in info.value.errors] == [
        (2, "'title' must be text"),
        (3, "invalid date '2026-02-30'"),
        (4, "'draft' must be true or false, not 'maybe'"),
        (5, "'tags' must be a list of words"),
    ]
    # An invalid slug from the file name points at line 1, where 'slug:' would go.
    with pytest.raises(NewsdeskError) as slug:
        parse_issue(issue_text("title: T\ndate: 2026-01-01"), "newsletters/Bad Name.md")
    assert (slug.value.line, slug.value.message.split(":")[0]) == (1, "invalid slug 'Bad Name'")


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


# --- numbers never move --------------------------------------------------------------------


def write(folder: Path, name: str, meta: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(issue_text(meta), encoding="utf-8")


def numbers(folder: Path, tmp_path: Path, sent: dict[str, int] | None = None) -> dict[str, int]:
    issues, _ = load_issues(folder, tmp_path, sent=sent)
    return {i.slug: i.number for i in issues if i.number is not None}


def test_a_new_file_on_the_same_date_does_not_renumber_a_mailed_issue(tmp_path: Path) -> None:
    folder = tmp_path / "newsletters"
    write(folder, "2026-01-08-smtp.md", "title: SMTP\ndate: 2026-01-08")
    write(folder, "2026-01-01-dns.md", "title: DNS\ndate: 2026-01-01")
    assert numbers(folder, tmp_path) == {"dns": 1, "smtp": 2}
    # Mailed as 1 and 2; then a file sorting first on SMTP's date appears.
    sent = {"dns": 1, "smtp": 2}
    write(folder, "2026-01-08-imap.md", "title: IMAP\ndate: 2026-01-08")
    assert numbers(folder, tmp_path) == {"dns": 1, "imap": 2, "smtp": 3}  # no ledger: moves
    assert numbers(folder, tmp_path, sent) == {"dns": 1, "smtp": 2, "imap": 3}


def test_a_back_dated_issue_gets_a_free_number(tmp_path: Path) -> None:
    folder = tmp_path / "newsletters"
    write(folder, "2026-01-01-dns.md", "title: DNS\ndate: 2026-01-01")
    write(folder, "2026-01-08-smtp.md", "title: SMTP\ndate: 2026-01-08")
    write(folder, "2025-06-01-history.md", "title: History\ndate: 2025-06-01")  # before No. 1
    got = numbers(folder, tmp_path, {"dns": 1, "smtp": 2})
    assert got == {"dns": 1, "smtp": 2, "history": 3}
    # The next new issue takes the next free number.
    write(folder, "2026-01-15-pop.md", "title: POP\ndate: 2026-01-15")
    assert numbers(folder, tmp_path, {"dns": 1, "smtp": 2})["pop"] == 4


def test_explicit_numbers_win_and_the_others_never_collide_with_them(tmp_path: Path) -> None:
    folder = tmp_path / "newsletters"
    write(folder, "2026-01-01-first.md", "title: First\ndate: 2026-01-01\nnumber: 41")
    write(folder, "2026-01-08-second.md", "title: Second\ndate: 2026-01-08")
    write(folder, "2026-01-15-third.md", "title: Third\ndate: 2026-01-15\nnumber: 43")
    write(folder, "2026-01-22-fourth.md", "title: Fourth\ndate: 2026-01-22")
    # A letter carried over from elsewhere: numbering continues after the explicit one.
    assert numbers(folder, tmp_path) == {"first": 41, "second": 42, "third": 43, "fourth": 44}
    # Explicit beats the ledger; a mailed number stays even if it breaks date order.
    sent = {"first": 1, "second": 50}
    assert numbers(folder, tmp_path, sent) == {"first": 41, "second": 50, "third": 43, "fourth": 51}


def test_a_number_taken_twice_is_an_error_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "newsletters"
    write(folder, "2026-01-01-a.md", "title: A\ndate: 2026-01-01\nnumber: 2")
    write(folder, "2026-01-08-b.md", "title: B\ndate: 2026-01-08\nnumber: 2")
    with pytest.raises(NewsdeskErrors) as info:
        load_issues(folder, tmp_path)
    assert (
        "newsletters/2026-01-08-b.md:4: duplicate issue number 2: newsletters/2026-01-01-a.md"
        in str(info.value)
    )
    # An explicit number that a mailed issue already has.
    (folder / "2026-01-08-b.md").unlink()
    write(folder, "2026-01-08-c.md", "title: C\ndate: 2026-01-08")
    with pytest.raises(NewsdeskErrors) as info:
        load_issues(folder, tmp_path, sent={"c": 2})
    assert str(info.value) == (
        "newsletters/2026-01-01-a.md:4: issue number 2 is taken: 'c' was mailed as No. 2 "
        "(email ledger); set another 'number:' here"
    )
