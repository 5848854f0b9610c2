"""Links mentions of glossary terms in an HTML page to their glossary entries.

One Aho–Corasick automaton (pyahocorasick) holds every term and alias with its plural and
possessive forms; linking a page is one pass of it over the page's linkable text, so the
time grows with the page, not with the number of terms.

The HTML is tokenized, not rebuilt: the output is the input with ``<a>`` elements inserted
around matched words, byte for byte otherwise, so entities, non-ASCII text and markup the
linker does not touch are left exactly as MkDocs wrote them, and the page's text content
never changes. Linking is a function of (HTML, glossary, glossary URL): the site, the PDF
and the email call it with relative or absolute URLs.
"""

from __future__ import annotations

import html as htmllib
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

import ahocorasick

from newsdesk.glossary import (
    Glossary,
    clean_term,
    definition_head,
    is_acronym,
    split_dt,
)

#: The class of every link the linker adds.
LINK_CLASS = "nd-term"
MODES = ("first", "all")

#: Never link inside these: code, existing links, headings, form controls and the like.
EXCLUDED = frozenset(
    {
        *("a", "abbr", "button", "code", "dt", "iframe", "kbd", "label", "math", "noscript"),
        *("object", "option", "pre", "samp", "script", "select", "style", "svg", "template"),
        *("textarea", "title", "var", "h1", "h2", "h3", "h4", "h5", "h6"),
    }
)
#: Elements whose content is raw text, not markup.
RAW_TEXT = frozenset(
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "plaintext"}
)
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"}
    | {"source", "track", "wbr"}
)

_TOKEN = re.compile(
    r"<(?:!--.*?(?:-->|\Z)"
    r"|!\[CDATA\[.*?(?:\]\]>|\Z)"
    r"|[!?][^>]*>?"
    r"|/([A-Za-z][^\s/>]*)[^>]*>"
    r"|([A-Za-z][^\s/>]*)((?:\"[^\"]*\"|'[^']*'|[^'\">])*)>)",
    re.S,
)
_ENTITY = re.compile(r"&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*;?)")
_TAG = re.compile(r"<[^>]*>")
_BOLD_HEAD = re.compile(r"\s*<(strong|b)\b[^>]*>(.*?)</\1\s*>([^<]*)", re.S | re.I)
_DT_TEXT = re.compile(r"(.*?)</dt\s*>", re.S | re.I)
_GLOSSARY_ATTR = re.compile(r"""\bdata-glossary-term\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
# URLs, e-mail addresses and host names are never linked inside.
_URLISH = re.compile(
    r"(?:\b[a-z][a-z0-9+.-]*://|\bmailto:|\bwww\.)[^\s<>\"']*"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|\b[\w-]+(?:\.[\w-]+)+\b",
    re.I,
)
_SPACES = str.maketrans(dict.fromkeys("\t\n\r\f\v\xa0\u2007\u202f\u2009", " "))
_EMPTY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LinkResult:
    """The linked HTML and the slugs of the terms it mentions (linked at least once)."""

    html: str
    mentions: frozenset[str]


def _plurals(name: str, acronym: bool) -> list[str]:
    forms = [name + "s"]
    if not acronym:
        low = name.lower()
        if low.endswith(("s", "x", "z", "ch", "sh")):
            forms.append(name + "es")
        if len(low) > 1 and low.endswith("y") and low[-2] not in "aeiou":
            forms.append(name[:-1] + "ies")
    return forms


def term_forms(name: str) -> list[str]:
    """A name with its plural and possessive forms: ``MTA`` → ``MTAs``, ``MTA's`` …"""
    name = clean_term(name)
    acronym = is_acronym(name)
    plurals = _plurals(name, acronym)
    forms = [name, *plurals]
    for apostrophe in ("'", "’"):
        forms.append(f"{name}{apostrophe}s")
        forms.extend(p + apostrophe for p in plurals)
    return forms


def _lower_same_length(text: str) -> str:
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    # A few characters (such as "İ") grow when lowered; keep offsets aligned.
    return "".join(c if len(low := c.lower()) != 1 else low for c in text)


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _decode(raw: str) -> tuple[str, list[int]]:
    """Text with character references decoded, and the raw offset of each character.

    A reference is one unit: characters inside a multi-character decoding get -1, so no
    link ever starts or ends inside ``&amp;``.
    """
    parts: list[str] = []
    offsets: list[int] = []
    pos = 0
    for m in _ENTITY.finditer(raw):
        start, ref = m.start(), m.group()
        if start > pos:
            parts.append(raw[pos:start])
            offsets.extend(range(pos, start))
        decoded = htmllib.unescape(ref)
        if decoded == ref:
            parts.append(ref)
            offsets.extend(range(start, m.end()))
        else:
            parts.append(decoded)
            offsets.append(start)
            offsets.extend([-1] * (len(decoded) - 1))
        pos = m.end()
    parts.append(raw[pos:])
    offsets.extend(range(pos, len(raw) + 1))
    return "".join(parts), offsets


def _plain(fragment: str) -> str:
    return clean_term(htmllib.unescape(_TAG.sub("", fragment)))


class Linker:
    """Links glossary terms in HTML; build once per glossary, call :meth:`link` per page."""

    def __init__(self, glossary: Glossary):
        self.glossary = glossary
        self._automaton = ahocorasick.Automaton()
        keys: dict[str, list[tuple[str, str | None]]] = {}
        for term in glossary:
            for name in term.names:
                exact = is_acronym(name)
                for form in term_forms(name):
                    key = _lower_same_length(form.translate(_SPACES))
                    candidates = keys.setdefault(key, [])
                    entry = (term.slug, form if exact else None)
                    if entry not in candidates:
                        candidates.append(entry)
        for key, candidates in keys.items():
            # Exact (capitals-only) forms are tried before case-insensitive ones.
            candidates.sort(key=lambda c: c[1] is None)
            self._automaton.add_word(key, (len(key), tuple(candidates)))
        self._empty = not keys
        self._titles: dict[str, str] = {}
        if keys:
            self._automaton.make_automaton()

    # --- Matching on plain text ----------------------------------------------------------

    def _matches(self, text: str) -> Iterator[tuple[int, int, str]]:
        """Non-overlapping (start, end, slug) matches in ``text``; the longest match wins."""
        if self._empty or not text:
            return
        norm = _URLISH.sub(lambda m: "\0" * len(m.group()), text.translate(_SPACES))
        search = _lower_same_length(norm)
        limit = len(search)
        found: list[tuple[int, int, str]] = []
        for last, (size, candidates) in self._automaton.iter(search):
            start, end = last - size + 1, last + 1
            if start > 0 and _is_word(search[start - 1]):
                continue
            if end < limit and _is_word(search[end]):
                continue
            for slug, exact in candidates:
                if exact is None or norm[start:end] == exact:
                    found.append((start, -end, slug))
                    break
        found.sort()
        reach = 0
        for start, neg_end, slug in found:
            if start >= reach:
                reach = -neg_end
                yield start, reach, slug

    def find_terms(self, text: str) -> list[tuple[int, int, str]]:
        """Every mention in plain ``text`` as (start, end, slug), for plain-text editions."""
        return list(self._matches(text))

    # --- Linking HTML --------------------------------------------------------------------

    def _own_slug(self, name: str) -> str | None:
        term = self.glossary.lookup(name)
        return term.slug if term is not None else None

    def _segments(self, page: str) -> list[tuple[int, int, frozenset[str]]]:
        """The linkable text runs of ``page``: (raw start, raw end, slugs not to link there)."""
        segments: list[tuple[int, int, frozenset[str]]] = []
        stack: list[tuple[str, int, frozenset[str]]] = []
        excluded = 0
        own: frozenset[str] = _EMPTY
        dt_slugs: set[str] = set()
        after_dd = False
        pos = 0
        size = len(page)
        search = _TOKEN.search
        while pos < size:
            m = search(page, pos)
            text_end = m.start() if m else size
            if text_end > pos and not excluded:
                segments.append((pos, text_end, own))
            if m is None:
                break
            pos = m.end()
            start_name = m.group(2)
            if start_name is None:
                end_name = m.group(1)
                if end_name is None:
                    continue  # comment, doctype, CDATA, processing instruction
                end_name = end_name.lower()
                for i in range(len(stack) - 1, -1, -1):
                    if stack[i][0] == end_name:
                        _, excluded, own = stack[i]
                        del stack[i:]
                        break
                continue
            name = start_name.lower()
            attrs = m.group(3)
            if name in RAW_TEXT:
                close = re.compile(rf"</{re.escape(name)}\b", re.I).search(page, pos)
                pos = close.start() if close else size
                continue
            if name in VOID or attrs.endswith("/"):
                continue
            new_own = own
            if name == "p":
                head = _BOLD_HEAD.match(page, pos)
                if head is not None and definition_head(htmllib.unescape(head.group(3))):
                    slug = self._own_slug(_plain(head.group(2)))
                    if slug is not None:
                        new_own = own | {slug}
            elif name == "dl":
                dt_slugs, after_dd = set(), False
            elif name == "dt":
                if after_dd:
                    dt_slugs, after_dd = set(), False
                body = _DT_TEXT.match(page, pos)
                if body is not None:
                    slug = self._own_slug(split_dt(_plain(body.group(1)))[0])
                    if slug is not None:
                        dt_slugs.add(slug)
            elif name == "dd":
                after_dd = True
                if dt_slugs:
                    new_own = own | dt_slugs
            if "data-glossary-term" in attrs:
                attr = _GLOSSARY_ATTR.search(attrs)
                if attr is not None:
                    value = htmllib.unescape(next(g for g in attr.groups() if g is not None))
                    new_own = new_own | {value}
            stack.append((name, excluded, own))
            if name in EXCLUDED:
                excluded += 1
            own = new_own
        return segments

    def link(self, page: str, *, glossary_url: str, mode: str = "first") -> LinkResult:
        """Link mentions of glossary terms in ``page`` (an HTML fragment or document).

        ``glossary_url`` is the glossary page's URL as seen from this page (relative for the
        site, absolute for email and PDF; ``""`` on the glossary page itself). ``mode`` is
        ``first`` (link a term's first mention on the page) or ``all``.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if self._empty or not page:
            return LinkResult(page, _EMPTY)
        segments = self._segments(page)
        texts: list[str] = []
        offsets: list[list[int] | None] = []
        starts: list[int] = []
        at = 0
        for raw_start, raw_end, _own in segments:
            raw = page[raw_start:raw_end]
            if "&" in raw:
                text, table = _decode(raw)
            else:
                text, table = raw, None
            texts.append(text)
            offsets.append(table)
            starts.append(at)
            at += len(text) + 1
        joined = "\0".join(texts)

        pieces: list[str] = []
        linked: set[str] = set()
        tags: dict[str, str] = {}
        done = 0
        for start, end, slug in self._matches(joined):
            if mode == "first" and slug in linked:
                continue
            index = bisect_right(starts, start) - 1
            raw_start, _raw_end, own = segments[index]
            if slug in own:
                continue
            local_start, local_end = start - starts[index], end - starts[index]
            table = offsets[index]
            if table is not None:
                local_start, local_end = table[local_start], table[local_end]
                if local_start < 0 or local_end < 0:
                    continue
            a, b = raw_start + local_start, raw_start + local_end
            tag = tags.get(slug)
            if tag is None:
                tag = tags[slug] = self._open_tag(slug, glossary_url)
            pieces += [page[done:a], tag, page[a:b], "</a>"]
            done = b
            linked.add(slug)
        if not pieces:
            return LinkResult(page, _EMPTY)
        pieces.append(page[done:])
        return LinkResult("".join(pieces), frozenset(linked))

    def _open_tag(self, slug: str, glossary_url: str) -> str:
        title = self._titles.get(slug)
        if title is None:
            term = self.glossary.get(slug)
            title = self._titles[slug] = term.summary if term is not None else ""
        href = htmllib.escape(f"{glossary_url}#{slug}", quote=True)
        return f'<a class="{LINK_CLASS}" href="{href}" title="{htmllib.escape(title, quote=True)}">'
