"""Links mentions of glossary terms in an HTML page to their glossary entries.

One Aho–Corasick automaton (pyahocorasick) holds every term, alias and expansion with its
plural and possessive forms; linking a page is one pass of it over the page's linkable text, so the
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
from dataclasses import dataclass, field
from functools import lru_cache

import ahocorasick

from newsdesk.glossary import (
    LABELS,
    Glossary,
    clean_term,
    definition_head,
    is_acronym,
    split_dt,
    term_key,
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
        *("nav", "header", "footer"),  # site chrome, should a whole page be linked
    }
)
#: Elements whose content is raw text, not markup.
RAW_TEXT = frozenset(
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "plaintext"}
)
#: Excluded elements that do not nest: the linker skips straight to their end tag.
SKIPPED = RAW_TEXT | {
    *("a", "abbr", "code", "kbd", "pre", "samp", "var", "svg", "math"),
    *("h1", "h2", "h3", "h4", "h5", "h6"),
}
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
_NON_WORD = re.compile(r"[^\w ]")
_DOTTED = re.compile(r"\w\.\w")
_SPACES = str.maketrans(dict.fromkeys("\t\n\r\f\v\xa0\u2007\u202f\u2009", " "))
_EMPTY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LinkResult:
    """The linked HTML and the slugs of the terms it mentions (linked at least once)."""

    html: str
    mentions: frozenset[str]


@lru_cache(maxsize=64)
def _tags_named(name: str) -> re.Pattern[str]:
    return re.compile(rf"<(/?){re.escape(name)}\b[^>]*>", re.I)


def _skip(page: str, pos: int, name: str) -> int:
    """Where the element ``name`` opened just before ``pos`` ends (at its end tag)."""
    depth = 1
    for m in _tags_named(name).finditer(page, pos):
        if m.group(1):
            depth -= 1
            if depth == 0 or name in RAW_TEXT:
                return m.start()
        elif name not in RAW_TEXT and not m.group().endswith("/>"):
            depth += 1
    return len(page)


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


def _same(text: str, form: str) -> bool:
    return text == form or text.translate(_SPACES) == form


def _url_like(text: str, start: int, end: int) -> bool:
    """True if ``text[start:end]`` is part of a URL, an e-mail address or a host name."""
    size = len(text)
    before = text[start - 1] if start else " "
    after = text[end] if end < size else " "
    if (before.isspace() or before == "\0") and (after.isspace() or after == "\0"):
        return False
    if before == "." and start >= 2 and _is_word(text[start - 2]):
        return True
    if after == "." and end + 1 < size and _is_word(text[end + 1]):
        return True
    left, right = start, end
    while left and not text[left - 1].isspace() and text[left - 1] != "\0":
        left -= 1
    while right < size and not text[right].isspace() and text[right] != "\0":
        right += 1
    token = text[left:right]
    if "://" in token or "@" in token or token[:4].lower() == "www.":
        return True
    return "/" in token and _DOTTED.search(token) is not None


def _references(raw: str) -> list[tuple[int, int, int, int]]:
    """Where ``raw`` holds character references: (decoded start, decoded length, raw start,
    raw length) for each, in order."""
    refs: list[tuple[int, int, int, int]] = []
    shift = 0  # decoded position minus raw position so far
    for m in _ENTITY.finditer(raw):
        ref = m.group()
        decoded = htmllib.unescape(ref)
        if decoded != ref:
            refs.append((m.start() + shift, len(decoded), m.start(), len(ref)))
            shift += len(decoded) - len(ref)
    return refs


def _raw_offset(refs: list[tuple[int, int, int, int]], starts: list[int], pos: int) -> int:
    """The raw offset of decoded position ``pos``; -1 inside a multi-character decoding.

    A reference is one unit, so no link ever starts or ends inside ``&amp;``.
    """
    i = bisect_right(starts, pos) - 1
    if i < 0:
        return pos
    start, length, raw_start, raw_length = refs[i]
    if pos == start:
        return raw_start
    if pos < start + length:
        return -1
    return raw_start + raw_length + (pos - start - length)


def _unescape_ref(match: re.Match[str]) -> str:
    return htmllib.unescape(match.group())


def _decode_text(raw: str) -> str:
    """``raw`` with each character reference decoded as :func:`_references` sees them."""
    return _ENTITY.sub(_unescape_ref, raw)


def _plain(fragment: str) -> str:
    return clean_term(htmllib.unescape(_TAG.sub("", fragment)))


@dataclass
class _DefinitionList:
    """Where :meth:`Linker._segments` is in a ``<dl>``: the slugs its last ``<dt>`` names."""

    dt_slugs: set[str] = field(default_factory=set)
    after_dd: bool = False


#: Start tags whose content may hold a definition's own term (see ``Linker._own_within``).
_OWNING = frozenset({"p", "dl", "dt", "dd"})


def _joined_text(
    page: str, segments: list[tuple[int, int, frozenset[str]]]
) -> tuple[str, list[int], set[int]]:
    """The decoded text of the segments joined by NUL characters, where each starts in
    it, and which segments hold character references."""
    texts: list[str] = []
    starts: list[int] = []
    has_refs: set[int] = set()
    at = 0
    for index, (raw_start, raw_end, _own) in enumerate(segments):
        text = page[raw_start:raw_end]
        if "&" in text:
            text = _decode_text(text)
            has_refs.add(index)
        texts.append(text)
        starts.append(at)
        at += len(text) + 1
    return "\0".join(texts), starts, has_refs


def expansion_names(glossary: Glossary) -> Iterator[tuple[str, str, bool]]:
    """Each term's expansion as one more name: (slug, expansion, match only as written).

    ``Pre-Shared Key`` links to PSK in any case; an expansion of one word only as written
    (``Mailer``, never ``mailer``). An expansion that two terms share links to neither,
    and one that is a term's or alias's own spelling stays theirs (the caller keeps
    names first).
    """
    owners: dict[str, set[str]] = {}
    for term in glossary:
        expansion = clean_term(term.expansion)
        if expansion and any(c.isalpha() for c in expansion):
            owners.setdefault(term_key(expansion), set()).add(term.slug)
    for term in glossary:
        expansion = clean_term(term.expansion)
        if not expansion or len(owners.get(term_key(expansion), ())) != 1:
            continue
        if any(term_key(name) == term_key(expansion) for name in term.names):
            continue  # already a name of the term
        yield term.slug, expansion, is_acronym(expansion) or len(expansion.split()) == 1


class Linker:
    """Links glossary terms in HTML; build once per glossary, call :meth:`link` per page."""

    def __init__(self, glossary: Glossary, labels: frozenset[str] = LABELS):
        self.glossary = glossary
        self._labels = labels
        # Real keys: lower-case forms with plain spaces, each with its (slug, exact form)
        # candidates; an exact form is set for capitals-only names, which match only so.
        real: dict[str, list[tuple[str, str | None]]] = {}
        for term in glossary:
            for name in term.names:
                exact = is_acronym(name)
                for form in term_forms(name):
                    form = form.translate(_SPACES)
                    candidates = real.setdefault(_lower_same_length(form), [])
                    entry = (term.slug, form if exact else None)
                    if entry not in candidates:
                        candidates.append(entry)
        named = set(real)
        for slug, name, exact in expansion_names(glossary):
            for form in term_forms(name):
                form = form.translate(_SPACES)
                key = _lower_same_length(form)
                if key not in named:  # a term or alias spelled so wins
                    real.setdefault(key, []).append((slug, form if exact else None))
        # The automaton sees the text with every non-word character as a space, and each
        # key between spaces: it reports whole words only, never "pop" inside "popular".
        # Keys that differ only in punctuation ("SMTP's", "SMTP’s") share an entry.
        groups: dict[str, list[tuple[str, bool, tuple[tuple[str, str | None], ...]]]] = {}
        for key, candidates in real.items():
            candidates.sort(key=lambda c: c[1] is None)  # exact forms first
            plain = _NON_WORD.search(key) is None
            groups.setdefault(f" {_NON_WORD.sub(' ', key)} ", []).append(
                (key, plain, tuple(candidates))
            )
        self._automaton = ahocorasick.Automaton()
        for spaced, group in groups.items():
            # Most keys are one word of one term: their slug (and exact form) is kept
            # apart so a match costs one comparison at most.
            slug = exact = None
            if len(group) == 1 and group[0][1] and len(group[0][2]) == 1:
                slug, exact = group[0][2][0]
            self._automaton.add_word(spaced, (len(spaced) - 2, slug, exact, tuple(group)))
        self._empty = not groups
        self._titles: dict[str, str] = {}
        self._tags: dict[str, dict[str, str]] = {}
        if groups:
            self._automaton.make_automaton()

    # --- Matching on plain text ----------------------------------------------------------

    def _matches(self, text: str) -> Iterator[tuple[int, int, str]]:
        """Non-overlapping (start, end, slug) matches in ``text``; the longest match wins.

        ``text`` may hold NUL characters between runs of text: no match spans one.
        """
        if self._empty or not text:
            return
        low = _lower_same_length(text)
        search = f" {_NON_WORD.sub(' ', low)} "
        found: list[tuple[int, int, str]] = []
        for last, (size, slug, exact, group) in self._automaton.iter(search):
            end = last - 1  # in ``text``: the search string has one leading space more
            start = end - size
            if slug is not None:
                if exact is None or text[start:end] == exact:
                    found.append((start, -end, slug))
                continue
            for key, plain, candidates in group:
                if not plain and low[start:end].translate(_SPACES) != key:
                    continue
                for slug, exact in candidates:
                    if exact is None or _same(text[start:end], exact):
                        found.append((start, -end, slug))
                        break
                break
        if not found:
            return
        found.sort()
        reach = 0
        for start, neg_end, slug in found:
            if start >= reach:
                reach = -neg_end
                if not _url_like(text, start, reach):
                    yield start, reach, slug

    def find_terms(self, text: str) -> list[tuple[int, int, str]]:
        """Every mention in plain ``text`` as (start, end, slug), for plain-text editions."""
        return list(self._matches(text))

    # --- Linking HTML --------------------------------------------------------------------

    def _own_slugs(self, *names: str) -> frozenset[str]:
        """The terms that ``names`` (a bold term, a ``<dt>`` and its expansion) name: as
        written, or as any form the linker matches (a plural, an alias, the expansion)."""
        slugs: set[str] = set()
        for name in names:
            if not name:
                continue
            term = self.glossary.lookup(name)
            if term is not None:
                slugs.add(term.slug)
                continue
            slugs.update(
                slug for start, end, slug in self._matches(name) if (start, end) == (0, len(name))
            )
        return frozenset(slugs)

    def _segments(self, page: str) -> list[tuple[int, int, frozenset[str]]]:
        """The linkable text runs of ``page``: (raw start, raw end, slugs not to link there)."""
        segments: list[tuple[int, int, frozenset[str]]] = []
        stack: list[tuple[str, int, frozenset[str]]] = []
        excluded = 0
        own: frozenset[str] = _EMPTY
        lists = _DefinitionList()
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
            if name in SKIPPED:
                # Nothing inside is linked: jump to the end tag (the tag itself is then
                # unmatched and ignored). Raw text must be skipped so anyway.
                pos = _skip(page, pos, name)
                continue
            if name in VOID or attrs.endswith("/"):
                continue
            stack.append((name, excluded, own))
            if name in _OWNING or "data-glossary-term" in attrs:
                own = self._own_within(page, pos, name, attrs, own, lists)
            if name in EXCLUDED:
                excluded += 1
        return segments

    def _own_within(
        self,
        page: str,
        pos: int,
        name: str,
        attrs: str,
        own: frozenset[str],
        lists: _DefinitionList,
    ) -> frozenset[str]:
        """The slugs not to link inside the element ``name`` that opens before ``pos``: a
        definition's own term (a bold head, a ``<dd>``'s ``<dt>``, ``data-glossary-term``)
        is not linked within it."""
        new_own = own
        if name == "p":
            head = _BOLD_HEAD.match(page, pos)
            if head is not None:
                bold = _plain(head.group(2))
                if definition_head(bold, htmllib.unescape(head.group(3)), self._labels):
                    new_own = own | self._own_slugs(bold)
        elif name == "dl":
            lists.dt_slugs, lists.after_dd = set(), False
        elif name == "dt":
            if lists.after_dd:
                lists.dt_slugs, lists.after_dd = set(), False
            body = _DT_TEXT.match(page, pos)
            if body is not None:
                text = _plain(body.group(1))
                lists.dt_slugs.update(self._own_slugs(text, *split_dt(text)))
        elif name == "dd":
            lists.after_dd = True
            if lists.dt_slugs:
                new_own = own | lists.dt_slugs
        if "data-glossary-term" in attrs:
            attr = _GLOSSARY_ATTR.search(attrs)
            if attr is not None:
                value = htmllib.unescape(next(g for g in attr.groups() if g is not None))
                new_own = new_own | {value}
        return new_own

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
        joined, starts, has_refs = _joined_text(page, segments)
        tables: dict[int, tuple[list[tuple[int, int, int, int]], list[int]]] = {}
        pieces: list[str] = []
        linked: set[str] = set()
        if glossary_url not in self._tags and len(self._tags) >= 64:
            self._tags.clear()  # many distinct URLs: keep the cache small
        tags = self._tags.setdefault(glossary_url, {})
        done = 0
        for start, end, slug in self._matches(joined):
            if mode == "first" and slug in linked:
                continue
            index = bisect_right(starts, start) - 1
            raw_start, raw_end, own = segments[index]
            if slug in own:
                continue
            local_start, local_end = start - starts[index], end - starts[index]
            if index in has_refs:
                table = tables.get(index)
                if table is None:
                    refs = _references(page[raw_start:raw_end])
                    table = tables[index] = (refs, [r[0] for r in refs])
                local_start = _raw_offset(*table, local_start)
                local_end = _raw_offset(*table, local_end)
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
