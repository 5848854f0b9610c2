"""The issue model: one Markdown file with YAML front matter per newsletter issue.

Loading validates every file and reports all problems at once, each with its file and line.
Nothing here imports MkDocs.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from newsdesk.checks import fence_warning
from newsdesk.errors import NewsdeskError, NewsdeskErrors

FIELDS = ("title", "date", "summary", "author", "tags", "number", "draft", "slug")
"""Front-matter fields an issue understands; anything else is reported as a likely typo."""

#: Front-matter keys MkDocs itself understands; passed through without a warning.
MKDOCS_FIELDS = ("template", "description", "hide", "search", "status", "icon", "subtitle")

_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}-")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
WORDS_PER_MINUTE = 220


#: libyaml's parser where PyYAML was built with it: front matter is read for every issue.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc, valid-type]
    """Safe YAML, with dates left as text so an impossible date is our message, not YAML's."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


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


def _key_lines(yaml_text: str, first_line: int) -> dict[str, int]:
    """The line of each top-level key, to point messages at the right place."""
    try:
        node = yaml.compose(yaml_text, Loader=_SafeLoader)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {
        str(k.value): first_line + k.start_mark.line
        for k, _ in node.value
        if isinstance(k, yaml.ScalarNode)
    }


def parse_issue(text: str, source: str, path: Path | None = None) -> tuple[Issue, list[str]]:
    """Parse one issue file. Returns the issue and warnings; raises on invalid input.

    Every invalid field is collected, so the author sees all problems of a file at once.
    """
    path = path or Path(source)
    yaml_text, body, body_line = split_front_matter(text)
    if yaml_text is None:
        raise NewsdeskError(
            "no front matter: an issue starts with '---', then 'title:' and 'date:', then '---'",
            source,
            1,
        )
    try:
        meta = yaml.load(yaml_text, Loader=_Loader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = 2 + mark.line if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise NewsdeskError(f"front matter is not valid YAML: {problem}", source, line) from None
    if not isinstance(meta, dict):
        raise NewsdeskError("front matter must be a mapping of 'field: value' lines", source, 2)

    lines = _key_lines(yaml_text, 2)
    errors: list[NewsdeskError] = []
    warnings: list[str] = []

    def error(message: str, key: str | None = None) -> None:
        errors.append(NewsdeskError(message, source, lines.get(key or "", 1 if key is None else 2)))

    title = meta.get("title")
    if title is None or (isinstance(title, str) and not title.strip()):
        error("missing required field 'title'")
    elif not isinstance(title, str | int | float):
        error("'title' must be text", "title")
    title = str(title).strip() if title is not None else ""

    raw_date = meta.get("date")
    date: dt.date | None = None
    if raw_date is None:
        error("missing required field 'date' (an ISO date such as 2026-11-26)")
    elif isinstance(raw_date, dt.datetime):
        date = raw_date.date()
    elif isinstance(raw_date, dt.date):
        date = raw_date
    else:
        text = str(raw_date).strip()
        try:
            date = dt.date.fromisoformat(text)
        except ValueError:
            try:
                date = dt.datetime.fromisoformat(text).date()
            except ValueError:
                error(f"invalid date {raw_date!r}: use an ISO date such as 2026-11-26", "date")

    slug = meta.get("slug", default_slug(Path(source).name))
    if not isinstance(slug, str) or not _SLUG.match(slug):
        error(
            f"invalid slug {slug!r}: use lower-case letters, digits and single hyphens",
            "slug" if "slug" in meta else None,
        )
        slug = str(slug)

    number = meta.get("number")
    bad_number = isinstance(number, bool) or not isinstance(number, int) or number < 1
    if number is not None and bad_number:
        error(f"'number' must be a whole number from 1 up, not {number!r}", "number")
        number = None

    draft = meta.get("draft", False)
    if not isinstance(draft, bool):
        error(f"'draft' must be true or false, not {draft!r}", "draft")
        draft = False

    tags = meta.get("tags", [])
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list) or not all(isinstance(t, str | int) for t in tags):
        error("'tags' must be a list of words", "tags")
        tags = []

    summary = meta.get("summary") or ""
    author = meta.get("author") or ""
    for key, value in (("summary", summary), ("author", author)):
        if not isinstance(value, str):
            error(f"'{key}' must be text", key)

    for key in meta:
        if key not in FIELDS and key not in MKDOCS_FIELDS:
            warnings.append(
                f"{source}:{lines.get(str(key), 2)}: unknown front-matter field {key!r} "
                f"(known: {', '.join(FIELDS)})"
            )

    fence = fence_warning(body, source, body_line)
    if fence:
        warnings.append(fence)

    if errors:
        raise NewsdeskErrors(errors) if len(errors) > 1 else errors[0]
    assert date is not None
    issue = Issue(
        source=source,
        path=path,
        title=title,
        date=date,
        slug=slug,
        body=body,
        body_line=body_line,
        summary=str(summary).strip(),
        author=str(author).strip(),
        tags=tuple(str(t) for t in tags),
        number=number,
        draft=draft,
        extra={k: v for k, v in meta.items() if k not in FIELDS},
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
    root = root or directory.parent
    issues: list[Issue] = []
    found: list[NewsdeskError] = []
    warnings: list[str] = []
    for path in issue_files(directory):
        source = _relative(path, root)
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
    sent = sent or {}
    ordered = sorted(issues, key=lambda i: (i.date, i.slug))
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

    # Fixed numbers first: explicit, then mailed; each taken once.
    fixed: dict[str, int] = {}
    by_number: dict[int, Issue] = {}
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


def _number_line(issue: Issue) -> int | None:
    """The line of ``number:`` in the issue's front matter, for messages about it."""
    try:
        yaml_text, _, _ = split_front_matter(issue.path.read_text(encoding="utf-8-sig"))
    except OSError:
        return None
    return _key_lines(yaml_text or "", 2).get("number")


def published(issues: Sequence[Issue], today: dt.date) -> list[Issue]:
    """The issues a reader may see on ``today``: not drafts and not dated later."""
    return [i for i in issues if i.is_published(today)]


def _replace(issue: Issue, **changes: Any) -> Issue:
    from dataclasses import replace

    return replace(issue, **changes)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
