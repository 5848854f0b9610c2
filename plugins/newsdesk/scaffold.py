"""``newsdesk new``: a new issue file with its front matter, ready to write in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from newsdesk.errors import NewsdeskError
from newsdesk.glossary.text import ascii_slug
from newsdesk.issues import default_slug, parse_issue

TEMPLATE = """\
---
{front_matter}---

<!--
Write the issue here, in Markdown. A term for the glossary is a paragraph that starts with
the term in bold and its expansion in parentheses, then a dash and its definition, e.g.
**MX** (Mail Exchanger) – the DNS record that names a domain's mail servers.
Remove `draft: true` above when the issue is ready: the next build publishes it and the
next `newsdesk send` mails it.
-->
"""


def slug_for(title: str) -> str:
    """A URL slug from a title: ASCII letters and digits joined by single hyphens."""
    return ascii_slug(title)[:60].strip("-") or "issue"


def new_issue(
    newsletters_dir: Path,
    title: str,
    *,
    date: dt.date | None = None,
    author: str | None = None,
    root: Path | None = None,
) -> Path:
    """Write ``newsletters_dir/DATE-slug.md`` as a draft and return its path.

    Refuses a blank title and a slug another issue already has (the file is never
    overwritten).
    """
    title = " ".join((title or "").split())
    if not title:
        raise NewsdeskError('the new issue needs a title: newsdesk new "Title"')
    day = date or dt.date.today()
    slug = slug_for(title)
    taken = {
        default_slug(p.name): p
        for p in newsletters_dir.rglob("*.md")
        if p.is_file() and p.name[:4].isdigit()
    }
    if slug in taken:
        shown = taken[slug].relative_to(root) if root else taken[slug]
        raise NewsdeskError(
            f"an issue with the slug '{slug}' exists already ({shown}); choose another title"
        )
    meta: dict[str, object] = {"title": title, "date": day, "summary": ""}
    if author:
        meta["author"] = author
    meta["draft"] = True
    front_matter = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    text = TEMPLATE.format(front_matter=front_matter)
    path = newsletters_dir / f"{day.isoformat()}-{slug}.md"
    source = str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)
    parse_issue(text, source, path)  # the issue rules in one place: what we write must pass
    newsletters_dir.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as fh:
        fh.write(text)
    return path
