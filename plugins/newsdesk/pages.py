"""The pages and page parts newsdesk generates: archive, home-page blocks, issue header.

Markdown is returned where the site generator should render it (so headings reach the
table of contents and search); HTML where it wraps already rendered content. Links to
issues in Markdown point at the issue's source file, so the site generator checks and
rewrites them like any author's link.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from collections.abc import Callable, Sequence
from html import escape
from itertools import groupby
from typing import TYPE_CHECKING

from markupsafe import Markup

from newsdesk.i18n import ENGLISH, Strings
from newsdesk.issues import Issue
from newsdesk.signup import SUBSCRIBE_MARKER, expand_subscribe_form

if TYPE_CHECKING:
    from newsdesk.sources import Sources

ARCHIVE_PATH = "issues/index.md"
GLOSSARY_PATH = "glossary/index.md"
PORTS_PATH = "ports/index.md"
LATEST_MARKER = "<!-- newsdesk:latest -->"
RECENT_MARKER = "<!-- newsdesk:recent -->"


def long_date(date: dt.date, t: Strings = ENGLISH) -> str:
    """``26 November 2026``: unambiguous for readers everywhere (in ``t``'s language)."""
    return t.date(date)


def link_between(from_src: str, to_src: str) -> str:
    """A Markdown link target from the source file ``from_src`` to the source ``to_src``."""
    return posixpath.relpath(to_src, posixpath.dirname(from_src) or ".")


def source_link(from_src: str, issue: Issue) -> str:
    """A Markdown link target from the page whose source is ``from_src`` to ``issue``."""
    return link_between(from_src, issue.source)


def _label(issue: Issue, status: str, t: Strings = ENGLISH) -> str:
    parts = []
    if issue.number is not None:
        parts.append(t("No. {number}", number=issue.number))
    parts.append(long_date(issue.date, t))
    if status != "published":
        parts.append(t(status))
    return " · ".join(parts)


def archive_markdown(
    issues: Sequence[Issue],
    *,
    today: dt.date,
    pdf_href: Callable[[Issue], str | None],
    title: str | None = None,
    t: Strings = ENGLISH,
) -> str:
    """The archive: every issue grouped by year, newest first, with its summary.

    ``pdf_href`` gives a link target (relative to the archive's source) for an issue's PDF,
    or None when there is none.
    """
    title = title or t("Issues")
    lines = [
        "---",
        f"title: {title}",
        "---",
        "",
        f"# {title}",
        "",
    ]
    if not issues:
        lines.append(t("No issues have been published yet."))
        return "\n".join(lines) + "\n"
    newest_first = sorted(issues, key=lambda i: (i.date, i.number or 0), reverse=True)
    feeds = t.html(
        "New issues also arrive by {rss} and {atom} feed.",
        rss=Markup('<a href="../feed.xml">RSS</a>'),
        atom=Markup('<a href="../atom.xml">Atom</a>'),
    )
    count = t.count(
        "{count} issue, newest first.", "{count} issues, newest first.", len(newest_first)
    )
    lines.append(f"{_md_text(count)} {feeds}")
    for year, group in groupby(newest_first, key=lambda i: i.year):
        lines += ["", f"## {year} {{#year-{year}}}", ""]
        for issue in group:
            status = issue.status(today)
            entry = f"- **[{_md_text(issue.title)}]({source_link(ARCHIVE_PATH, issue)})**"
            entry += f" · {_md_text(_label(issue, status, t))}"
            pdf = pdf_href(issue)
            if pdf:
                entry += f" · [PDF]({pdf})"
            lines.append(entry)
            if issue.summary:
                lines.append(f"  <br>{_md_text(issue.summary)}")
    return "\n".join(lines) + "\n"


def archive_page(sources: Sources) -> str:
    """The archive page's Markdown for the issues ``sources`` shows."""
    site = sources.site
    return archive_markdown(
        sources.issues,
        today=site.today,
        pdf_href=lambda i: _pdf_link(sources, ARCHIVE_PATH, i),
        t=site.strings,
    )


def expand_markers(markdown: str, source: str, sources: Sources) -> str:
    """Fill the markers of a hand-written page (``source``): the sign-up form, the latest
    issue and the recent issues."""
    site = sources.site
    if SUBSCRIBE_MARKER in markdown:
        markdown = expand_subscribe_form(
            markdown, site.settings.email.service_url, site.strings, page=f"site:{source}"
        )
    if LATEST_MARKER in markdown:
        block = latest_markdown(
            sources.issues,
            from_src=source,
            today=site.today,
            pdf_href=lambda i: _pdf_link(sources, source, i),
            t=site.strings,
        )
        markdown = markdown.replace(LATEST_MARKER, block)
    if RECENT_MARKER in markdown:
        block = recent_markdown(
            sources.issues,
            from_src=source,
            today=site.today,
            count=site.settings.recent,
            archive_src=ARCHIVE_PATH,
            t=site.strings,
        )
        markdown = markdown.replace(RECENT_MARKER, block)
    return markdown


def _pdf_link(sources: Sources, from_src: str, issue: Issue) -> str | None:
    """A link target from the page ``from_src`` to ``issue``'s PDF, if the build makes one."""
    if not sources.site.pdf_path(issue):
        return None
    return link_between(from_src, sources.site.pdf_source(issue))


def latest_markdown(
    issues: Sequence[Issue],
    *,
    from_src: str,
    today: dt.date,
    pdf_href: Callable[[Issue], str | None],
    t: Strings = ENGLISH,
) -> str:
    """The home page's block for the newest issue."""
    if not issues:
        return f"*{_md_text(t('No issue has been published yet.'))}*"
    issue = max(issues, key=lambda i: (i.date, i.number or 0))
    link = source_link(from_src, issue)
    parts = [
        '<div class="nd-latest" markdown>',
        f'<p class="nd-kicker">{escape(t("Latest issue"))} · '
        f"{escape(_label(issue, issue.status(today), t))}</p>",
        "",
        f"## [{_md_text(issue.title)}]({link}) {{#latest-issue}}",
        "",
    ]
    if issue.summary:
        parts += [_md_text(issue.summary), ""]
    buttons = f"[{_md_text(t('Read the issue'))}]({link}){{ .md-button .md-button--primary }}"
    pdf = pdf_href(issue)
    if pdf:
        buttons += f" [{_md_text(t('Download PDF'))}]({pdf}){{ .md-button }}"
    parts += [buttons, "", "</div>"]
    return "\n".join(parts)


def recent_markdown(
    issues: Sequence[Issue],
    *,
    from_src: str,
    today: dt.date,
    count: int,
    archive_src: str,
    t: Strings = ENGLISH,
) -> str:
    """The home page's list of recent issues after the newest one, with a link to all."""
    newest_first = sorted(issues, key=lambda i: (i.date, i.number or 0), reverse=True)[1:]
    archive = link_between(from_src, archive_src)
    if not newest_first:
        return f"[{_md_text(t('All issues'))}]({archive})"
    lines = []
    for issue in newest_first[:count]:
        lines.append(
            f"- [{_md_text(issue.title)}]({source_link(from_src, issue)})"
            f" · {_md_text(_label(issue, issue.status(today), t))}"
        )
    every = t("All {count} issues", count=len(newest_first) + 1)
    lines += ["", f"[{_md_text(every)}]({archive})"]
    return "\n".join(lines)


def issue_header_html(
    issue: Issue,
    *,
    newsletter_name: str,
    status: str,
    pdf_url: str | None,
    t: Strings = ENGLISH,
) -> str:
    """The block above an issue's text: kicker, title, date, author, reading time, tags."""
    kicker = escape(newsletter_name)
    if issue.number is not None:
        kicker += " · " + escape(t("Issue {number}", number=issue.number))
    meta = [
        f'<time class="nd-date" datetime="{issue.date.isoformat()}">'
        f"{escape(long_date(issue.date, t))}</time>"
    ]
    if issue.author:
        by = t("by {author}", author=issue.author)
        meta.append(f'<span class="nd-author">{escape(by)}</span>')
    minutes = t("{minutes} min read", minutes=issue.reading_minutes)
    meta.append(f'<span class="nd-reading-time">{escape(minutes)}</span>')
    out = ['<header class="nd-issue-header">']
    if status != "published":
        what = (
            t("Draft: not published, shown only in preview")
            if status == "draft"
            else t("Scheduled for {date}: shown only in preview", date=long_date(issue.date, t))
        )
        out.append(f'<p class="nd-status nd-status--{status}">{escape(what)}</p>')
    out.append(f'<p class="nd-kicker">{kicker}</p>')
    out.append(f'<h1 id="issue-title">{escape(issue.title)}</h1>')
    out.append(f'<p class="nd-meta">{" · ".join(meta)}</p>')
    if issue.tags:
        tags = "".join(f"<li>{escape(t)}</li>" for t in issue.tags)
        out.append(f'<ul class="nd-tags" aria-label="{escape(t("Tags"))}">{tags}</ul>')
    if pdf_url:
        out.append(
            f'<p class="nd-pdf"><a href="{escape(pdf_url)}" download>'
            f"{escape(t('Download PDF'))}</a></p>"
        )
    out.append("</header>")
    return "\n".join(out)


def issue_footer_html(
    previous: tuple[Issue, str] | None,
    following: tuple[Issue, str] | None,
    t: Strings = ENGLISH,
) -> str:
    """Links to the previous and next issue (each given with its URL from this page)."""
    if not previous and not following:
        return ""
    out = [f'<nav class="nd-issue-nav" aria-label="{escape(t("Previous and next issue"))}">']
    if previous:
        issue, url = previous
        out.append(
            f'<a class="nd-prev" rel="prev" href="{escape(url)}">'
            f'<span class="nd-dir">{escape(t("Previous issue"))}</span> {escape(issue.title)}</a>'
        )
    if following:
        issue, url = following
        out.append(
            f'<a class="nd-next" rel="next" href="{escape(url)}">'
            f'<span class="nd-dir">{escape(t("Next issue"))}</span> {escape(issue.title)}</a>'
        )
    out.append("</nav>")
    return "\n".join(out)


def _md_text(text: str) -> str:
    """Text safe inside Markdown link text or a list item: no markup, no raw HTML."""
    text = escape(text, quote=False)
    for ch in "\\`*_[]<>|":
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", " ")
