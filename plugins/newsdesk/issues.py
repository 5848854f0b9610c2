"""The issue model: one Markdown file with YAML front matter per newsletter issue.

Loading validates every file and reports all problems at once, each with its file and line.
Nothing here imports MkDocs.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsdesk.checks import fence_warning
from newsdesk.errors import NewsdeskError, NewsdeskErrors
from newsdesk.fields import Field, Invalid, check, key_lines, load_yaml

FIELDS = ("title", "date", "summary", "author", "tags", "number", "draft", "slug")
"""Front-matter fields an issue understands; anything else is reported as a likely typo."""

#: Front-matter keys MkDocs itself understands; passed through without a warning.
MKDOCS_FIELDS = ("template", "description", "hide", "search", "status", "icon", "subtitle")

_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}-")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
WORDS_PER_MINUTE = 220


@dataclass(frozen=True)
class Issue:
    """One newsletter issue as the author wrote it.

    ``source`` is the path relative to the project root (``newsletters/…``), the name
    used in every message; ``path`` is the absolute file.
    """

    source: str
    path: Path
    title: str
    date: dt.date
    slug: str
    body: str
    body_line: int
    summary: str = ""
    author: str = ""
    tags: tuple[str, ...] = ()
    number: int | None = None
    draft: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def year(self) -> int:
        return self.date.year

    @property
    def url(self) -> str:
        """The issue page's URL relative to the site root, with a trailing slash."""
        return f"issues/{self.year}/{self.slug}/"

    @functools.cached_property
    def words(self) -> int:
        return len(re.findall(r"\w+", self.body))

    @property
    def reading_minutes(self) -> int:
        """Reading time in whole minutes, at least one."""
        return max(1, math.ceil(self.words / WORDS_PER_MINUTE))

    def status(self, today: dt.date) -> str:
        """``draft``, ``scheduled`` (dated after ``today``) or ``published``."""
        if self.draft:
            return "draft"
        if self.date > today:
            return "scheduled"
        return "published"

    def is_published(self, today: dt.date) -> bool:
        return self.status(today) == "published"


def split_front_matter(text: str) -> tuple[str | None, str, int]:
    """Split ``text`` into (front matter YAML or None, body, 1-based line of the body)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return None, text, 1
    yaml_text = match.group(1) or ""
    body = text[match.end() :]
    return yaml_text, body, text.count("\n", 0, match.end()) + 1


def default_slug(filename: str) -> str:
    """The slug from a file name: without a leading ``YYYY-MM-DD-`` and without ``.md``."""
    stem = filename[:-3] if filename.endswith(".md") else filename
    return _DATE_PREFIX.sub("", stem)


def _text(key: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        value = value or ""
        if not isinstance(value, str):
            raise Invalid(f"'{key}' must be text")
        return value.strip()

    return convert


def _title(value: Any) -> str:
    if not isinstance(value, str | int | float):
        raise Invalid("'title' must be text")
    return str(value).strip()


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text).date()
    except ValueError:
        raise Invalid(f"invalid date {value!r}: use an ISO date such as 2026-11-26") from None


def _slug(value: Any) -> str:
    if not isinstance(value, str) or not _SLUG.match(value):
        raise Invalid(f"invalid slug {value!r}: use lower-case letters, digits and single hyphens")
    return value


def _number(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise Invalid(f"'number' must be a whole number from 1 up, not {value!r}")
    return value


def _draft(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"'draft' must be true or false, not {value!r}")
    return value


def _tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [t.strip() for t in value.split(",") if t.strip()]
    if not isinstance(value, list) or not all(isinstance(t, str | int) for t in value):
        raise Invalid("'tags' must be a list of words")
    return tuple(str(t) for t in value)


def _blank_text(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


#: The front-matter fields in the order their problems are reported.
_TABLE = (
    Field(
        "title", _title, required=True, missing="missing required field 'title'", blank=_blank_text
    ),
    Field(
        "date",
        _date,
        required=True,
        missing="missing required field 'date' (an ISO date such as 2026-11-26)",
        blank=lambda value: value is None,
    ),
    Field("slug", _slug),
    Field("number", _number),
    Field("draft", _draft, default=False),
    Field("tags", _tags, default=()),
    Field("summary", _text("summary"), default=""),
    Field("author", _text("author"), default=""),
)


def read_front_matter(yaml_text: str, source: str) -> tuple[dict[Any, Any], dict[str, int]]:
    """The front matter (YAML that starts on line 2 of ``source``) as a mapping, with the
    line of each key. Raises :class:`NewsdeskError` when it is not a YAML mapping."""
    document = load_yaml(
        yaml_text,
        source,
        first_line=2,
        problem="front matter is not valid YAML",
        dates_as_text=True,
    )
    meta = document.data if document.data is not None else {}
    if not isinstance(meta, dict):
        raise NewsdeskError("front matter must be a mapping of 'field: value' lines", source, 2)
    return meta, key_lines(document.node, 2)


def parse_issue(text: str, source: str, path: Path | None = None) -> tuple[Issue, list[str]]:
    """Parse one issue file. Returns the issue and warnings; raises on invalid input.

    Every invalid field is collected, so the author sees all problems of a file at once.
    """
    yaml_text, body, body_line = split_front_matter(text)
    if yaml_text is None:
        raise NewsdeskError(
            "no front matter: an issue starts with '---', then 'title:' and 'date:', then '---'",
            source,
            1,
        )
    meta, lines = read_front_matter(yaml_text, source)
    # An invalid slug from the file name is reported on line 1, where 'slug:' would go.
    data = meta if "slug" in meta else {**meta, "slug": default_slug(Path(source).name)}
    checked = check(data, _TABLE, source=source, line=1, lines=lines, known=MKDOCS_FIELDS)
    warnings = [
        f"{source}:{lines.get(str(key), 2)}: unknown front-matter field {key!r} "
        f"(known: {', '.join(FIELDS)})"
        for key in checked.unknown
    ]
    fence = fence_warning(body, source, body_line)
    if fence:
        warnings.append(fence)
    checked.raise_errors()
    issue = Issue(
        source=source,
        path=path or Path(source),
        body=body,
        body_line=body_line,
        extra={k: v for k, v in meta.items() if k not in FIELDS},
        **checked.values,
    )
    return issue, warnings


def issue_files(directory: Path) -> list[Path]:
    """The issue files of a newsletters directory: every ``*.md`` in it or its subfolders
    (``newsletters/2025/…``), hidden files and folders left out."""
    if not directory.is_dir():
        return []
    return sorted(
        p
        for p in directory.rglob("*.md")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    )


def load_issues(
    directory: Path,
    root: Path | None = None,
    *,
    errors: list[NewsdeskError] | None = None,
    sent: Mapping[str, int] | None = None,
) -> tuple[list[Issue], list[str]]:
    """Load and validate every issue in ``directory``.

    Returns the issues in date order (oldest first) with numbers assigned (``sent``: the
    numbers issues were mailed with, by slug; see :func:`number_issues`), and warnings.
    Raises :class:`NewsdeskErrors` listing every problem in every file; when an ``errors``
    list is given (a live preview), the problems go there instead and the valid issues
    are returned (of two issues sharing a slug, the older).
    """
    resolved_root = (root or directory.parent).resolve()  # once: a build reads every issue
    issues: list[Issue] = []
    found: list[NewsdeskError] = []
    warnings: list[str] = []
    for path in issue_files(directory):
        source = _relative(path, resolved_root)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            found.append(NewsdeskError(f"not UTF-8 text ({exc.reason})", source))
            continue
        try:
            issue, file_warnings = parse_issue(text, source, path)
        except NewsdeskErrors as exc:
            found.extend(exc.errors)
            continue
        except NewsdeskError as exc:
            found.append(exc)
            continue
        issues.append(issue)
        warnings.extend(file_warnings)
    try:
        issues = number_issues(issues, sent)
    except NewsdeskErrors as exc:
        found.extend(exc.errors)
        bad = {e.path for e in exc.errors}
        issues = number_issues((i for i in issues if i.source not in bad), sent)
    if found and errors is None:
        raise NewsdeskErrors(found)
    if errors is not None:
        errors.extend(found)
    return issues, warnings


def number_issues(issues: Iterable[Issue], sent: Mapping[str, int] | None = None) -> list[Issue]:
    """Sort by date and number the issues; numbers never move once an issue is mailed.

    - ``number:`` in the front matter wins;
    - otherwise an issue in ``sent`` (the email ledger: slug → the number subscribers
      saw) keeps that number;
    - the other issues that are not drafts, in date order (ties by slug), each take the
      first number not taken that comes after the previous issue's number, so they never
      collide with explicit or mailed numbers. An issue dated before issue 1 thus gets the
      next free number.

    Raises when two issues share a slug or a number.
    """
    ordered = sorted(issues, key=lambda i: (i.date, i.slug))
    errors = _duplicate_slugs(ordered)
    by_number: dict[int, Issue] = {}
    fixed = _fixed_numbers(ordered, sent or {}, by_number, errors)
    numbered: list[Issue] = []
    following = 1
    for issue in ordered:
        number = fixed.get(issue.source)
        if number is None and not issue.draft:
            number = following
            while number in by_number:
                number += 1
            by_number[number] = issue
        if number is not None:
            following = max(following, number + 1)
            if number != issue.number:
                issue = _replace(issue, number=number)
        numbered.append(issue)
    if errors:
        raise NewsdeskErrors(errors)
    return numbered


def _duplicate_slugs(ordered: Sequence[Issue]) -> list[NewsdeskError]:
    """An error for each issue whose slug an earlier one has."""
    errors: list[NewsdeskError] = []
    by_slug: dict[str, Issue] = {}
    for issue in ordered:
        if issue.slug in by_slug:
            errors.append(
                NewsdeskError(
                    f"duplicate slug {issue.slug!r}: {by_slug[issue.slug].source} has it too; "
                    "set a different 'slug:' in one of them",
                    issue.source,
                )
            )
        else:
            by_slug[issue.slug] = issue
    return errors


def _fixed_numbers(
    ordered: Sequence[Issue],
    sent: Mapping[str, int],
    by_number: dict[int, Issue],
    errors: list[NewsdeskError],
) -> dict[str, int]:
    """The numbers that cannot move, by source: explicit ones, then mailed ones; each is
    taken once (``by_number``), a second claim is an error."""
    fixed: dict[str, int] = {}
    for issue in ordered:
        if issue.number is None:
            continue
        other = by_number.get(issue.number)
        if other is not None:
            errors.append(
                NewsdeskError(
                    f"duplicate issue number {issue.number}: {other.source} has it too",
                    issue.source,
                    _number_line(issue),
                )
            )
            continue
        by_number[issue.number] = issue
        fixed[issue.source] = issue.number
    for issue in ordered:
        number = sent.get(issue.slug)
        if issue.number is not None or number is None:
            continue
        other = by_number.get(number)
        if other is not None:
            errors.append(
                NewsdeskError(
                    f"issue number {number} is taken: {issue.slug!r} was mailed as No. {number} "
                    "(email ledger); set another 'number:' here",
                    other.source,
                    _number_line(other),
                )
            )
            continue
        by_number[number] = issue
        fixed[issue.source] = number
    return fixed


def _number_line(issue: Issue) -> int | None:
    """The line of ``number:`` in the issue's front matter, for messages about it."""
    try:
        yaml_text, _, _ = split_front_matter(issue.path.read_text(encoding="utf-8-sig"))
        _, lines = read_front_matter(yaml_text or "", issue.source)
    except (OSError, NewsdeskError):
        return None
    return lines.get("number")


def published(issues: Sequence[Issue], today: dt.date) -> list[Issue]:
    """The issues a reader may see on ``today``: not drafts and not dated later."""
    return [i for i in issues if i.is_published(today)]


def _replace(issue: Issue, **changes: Any) -> Issue:
    from dataclasses import replace

    return replace(issue, **changes)


def _relative(path: Path, resolved_root: Path) -> str:
    try:
        return path.resolve().relative_to(resolved_root).as_posix()
    except ValueError:
        return path.as_posix()
