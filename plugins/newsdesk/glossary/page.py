"""The glossary page: its Markdown, an A–Z jump bar, one section per term with the
issues that mention it."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from markupsafe import Markup

from newsdesk.glossary.terms import Glossary, Term, sort_key
from newsdesk.glossary.text import term_key
from newsdesk.i18n import ENGLISH, Strings


def _md_text(text: str) -> str:
    """Text for a Markdown heading: every character that Markdown or HTML could read as
    syntax is written as a character reference, so it shows as typed."""
    return "".join(c if c.isalnum() or c == " " else f"&#{ord(c)};" for c in text)


def _letter(term: Term) -> str:
    first = sort_key(term)[0][:1].upper()
    return first if "A" <= first <= "Z" else "#"


class Mention(NamedTuple):
    """An issue that mentions a term, as the glossary page links it."""

    title: str
    url: str
    """The issue's URL relative to the glossary page."""
    label: str
    """A short name for long lists: ``No. 12``."""


def mentions_html(mentions: Sequence[Mention], shown: int = 10, t: Strings = ENGLISH) -> str:
    """The "Mentioned in" block of a glossary entry, newest issues first.

    The ``shown`` newest are listed by title; the rest, all still linked, fold away under
    their short names. Search leaves the block out: a term's result is its definition.
    """
    if not mentions:
        return ""
    esc = html.escape
    first = ", ".join(f'<a href="{esc(m.url)}">{esc(m.title)}</a>' for m in mentions[:shown])
    out = [
        '<div class="nd-glossary-mentions" data-search-exclude>',
        f"<p>{esc(t('Mentioned in:'))} {first}</p>",
    ]
    rest = mentions[shown:]
    if rest:
        more = ", ".join(
            f'<a href="{esc(m.url)}" title="{esc(m.title)}">{esc(m.label)}</a>' for m in rest
        )
        out.append(
            f"<details><summary>"
            f"{esc(t.count('{count} earlier issue', '{count} earlier issues', len(rest)))}"
            f"</summary><p>{more}</p></details>"
        )
    out.append("</div>")
    return "\n".join(out)


def glossary_page_markdown(
    glossary: Glossary,
    mentions: Mapping[str, Sequence[tuple[str, str]]],
    source_link: Callable[[str], tuple[str, str] | None],
    extra: Callable[[Term], str] | None = None,
    title: str | None = "Glossary",
    t: Strings = ENGLISH,
) -> str:
    """The glossary page as Markdown: an A–Z jump bar and one section per term.

    ``mentions`` maps a slug to ``(issue title, url relative to the glossary page)`` pairs;
    ``source_link(source)`` gives ``(title, url)`` of the page that defined a term, or None;
    ``extra(term)`` may add HTML to a term's entry (the ports block). Each term is a
    ``## Term {#slug}`` section, so it is its own search result and ``#slug`` its anchor.
    Each entry's body is wrapped in ``data-glossary-term="slug"`` so the linker does not
    link a term inside its own entry. ``title`` is the page's ``#`` heading (None: none).
    """
    out: list[str] = [f"# {_md_text(t(title))}", ""] if title else []
    if not glossary.terms:
        out += [t("No terms yet."), ""]
        return "\n".join(out)
    out += [_az_bar(glossary, t), ""]
    for term in glossary:
        out += [f"## {_md_text(term.term)} {{#{term.slug} .nd-glossary-term}}", ""]
        pages = [
            m if isinstance(m, Mention) else Mention(*m, m[0])
            for m in mentions.get(term.slug) or ()
        ]
        out += [*_entry_html(term, glossary, pages, source_link, extra, t), ""]
    return "\n".join(out)


def _az_bar(glossary: Glossary, t: Strings) -> str:
    """The A–Z bar: each letter links to its first term; a letter without terms is grey."""
    first_of: dict[str, str] = {}
    for term in glossary:
        first_of.setdefault(_letter(term), term.slug)
    letters = ["#"] if "#" in first_of else []
    letters += [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    bar = [
        f'<a href="#{first_of[x]}">{html.escape(x)}</a>'
        if x in first_of
        else f'<span class="nd-glossary-az-empty">{html.escape(x)}</span>'
        for x in letters
    ]
    return f'<nav class="nd-glossary-az" aria-label="{t("A–Z")}">{" ".join(bar)}</nav>'


def _entry_html(
    term: Term,
    glossary: Glossary,
    pages: Sequence[Mention],
    source_link: Callable[[str], tuple[str, str] | None],
    extra: Callable[[Term], str] | None,
    t: Strings,
) -> list[str]:
    """The lines of one term's entry below its heading, wrapped in its ``data-glossary-term``."""
    esc = html.escape
    body = [f'<div class="nd-glossary-entry" data-glossary-term="{esc(term.slug)}">']
    if term.expansion:
        body.append(f'<p class="nd-glossary-expansion"><em>{esc(term.expansion)}</em></p>')
    aliases = [a for a in term.aliases if term_key(a) != term_key(term.expansion)]
    if aliases:
        names = ", ".join(f"<span>{esc(a)}</span>" for a in aliases)
        body.append(f'<p class="nd-glossary-aliases">{esc(t("Also:"))} {names}</p>')
    body.append(f'<div class="nd-glossary-definition">\n{term.definition_html}\n</div>')
    link = source_link(term.source) if term.source else None
    if link is not None:
        defined = t.html(
            "Defined in {link}", link=Markup(f'<a href="{esc(link[1])}">{esc(link[0])}</a>')
        )
        body.append(f'<p class="nd-glossary-source">{defined}</p>')
    related = [glossary.get(s) for s in term.related]
    if any(related):
        items = ", ".join(f'<a href="#{r.slug}">{esc(r.term)}</a>' for r in related if r)
        body.append(f'<p class="nd-glossary-related">{esc(t("Related:"))} {items}</p>')
    if pages:
        body.append(mentions_html(pages, t=t))
    added = extra(term) if extra is not None else ""
    if added:
        body.append(added)
    body.append("</div>")
    return body
