"""The glossary: terms defined in the issues and in a curated file, and its page.

Terms come from two places:

* an issue's rendered HTML: a paragraph that opens with a bold term, optionally its
  expansion in parentheses, and a dash (``**POP** (Post Office Protocol) – This protocol
  …``, ``**snapshot** – a copy …``; not ``**Note** – …``), and Markdown definition lists
  (``<dl>``);
* the curated file (``newsletters/glossary.yml``): a list of entries with ``term`` and
  optional ``expansion``, ``aliases``, ``definition`` (Markdown) and ``related``.

:func:`build_glossary` merges both into a :class:`Glossary`; :func:`glossary_page_markdown`
writes the glossary page. Linking mentions is :mod:`newsdesk.linker`. No MkDocs here.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import lxml.html
import markdown
import yaml
from lxml import etree
from markupsafe import Markup

from newsdesk.errors import NewsdeskError, NewsdeskErrors
from newsdesk.i18n import ENGLISH, Strings

#: The keys a curated glossary entry may have.
ENTRY_KEYS = ("term", "expansion", "aliases", "definition", "fallback", "related", "mode")
#: What an entry's ``definition`` does to the definition of an issue that defines the term:
#: ``replace`` it (the default; the build says so in one INFO line) or ``add`` to it.
MODES = ("replace", "add")

#: Elements dropped from definitions: they could run code or break the glossary page.
_UNSAFE_TAGS = ("script", "style", "iframe", "object", "embed", "form", "link", "meta", "base")

# After the bold term: an optional "(Expansion)", then a dash (en dash, em dash or " - ")
# and the definition.
_DEFINITION_HEAD = re.compile(
    r"\s*(?:\((?P<exp>[^()]+?(?:\([^()]*\)[^()]*?)*)\)\s*)?(?:[–—]|-(?=\s))\s*"
)
#: Bold openings that label a paragraph rather than name a term: ``**Note** – …`` defines
#: nothing. Compared case-insensitively, without trailing punctuation.
LABELS = frozenset(
    {
        *("note", "notes", "nb", "n.b", "warning", "caution", "danger", "important", "tip"),
        *("tips", "hint", "info", "update", "updated", "edit", "edited", "correction"),
        *("errata", "erratum", "tl;dr", "tldr", "summary", "reminder", "heads up", "heads-up"),
        *("ps", "p.s", "pps", "disclaimer", "spoiler", "bonus", "news", "breaking"),
        *("breaking news", "new", "fixed", "deprecated", "security", "example", "examples"),
        *("question", "answer", "q", "a", "step", "todo", "to do", "fyi", "aside"),
        *("background", "context", "why", "how", "what", "when", "where", "result", "results"),
        *("verdict", "conclusion", "takeaway", "in short", "short version", "long story short"),
        *("good news", "bad news", "pro tip", "quick tip", "side note", "footnote", "source"),
        *("sources", "see also", "thanks", "credits", "availability", "status", "done"),
    }
)
#: At most this many words in a bold term defined without an expansion.
MAX_TERM_WORDS = 5
_LABEL_TRAIL = re.compile(r"[\s.:!?;,…]+$")
_DT_EXPANSION = re.compile(r"^(?P<term>.+?)\s*\((?P<exp>[^()]+)\)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]?\s+(?=[A-Z0-9\"“(])")
_SPACE = re.compile(r"\s+")
# "<" opening a tag or comment; autolinks such as <https://…> and <a@b.org> stay Markdown.
_RAW_TAG_START = re.compile(r"<(?=/?[A-Za-z][A-Za-z0-9-]*(?:[\s/>]|$)|[!?])")
SUMMARY_LIMIT = 300


@dataclass(frozen=True)
class Term:
    """One glossary entry.

    ``definition_html`` is safe HTML: text is escaped and unsafe elements are removed.
    ``source`` is the issue file (``newsletters/x.md``) or the glossary file that defined it.
    ``related`` holds the slugs of related terms.
    """

    term: str
    slug: str
    expansion: str = ""
    aliases: tuple[str, ...] = ()
    definition_html: str = ""
    source: str | None = None
    related: tuple[str, ...] = ()
    line: int | None = None
    """The line of ``source`` where the term is defined, when known."""

    @property
    def definition_text(self) -> str:
        """The definition as plain text (for tooltips, email and print)."""
        return html_to_text(self.definition_html)

    @property
    def summary(self) -> str:
        """Tooltip text: the expansion and the first sentence of the definition."""
        sentence = first_sentence(self.definition_text)
        if self.expansion and sentence:
            return f"{self.expansion} – {sentence}"
        return self.expansion or sentence or self.term

    @property
    def names(self) -> tuple[str, ...]:
        """The term and its aliases."""
        return (self.term, *self.aliases)


@dataclass(frozen=True)
class Entry:
    """One entry of the curated glossary file, validated but not yet merged."""

    term: str
    line: int
    expansion: str = ""
    aliases: tuple[str, ...] = ()
    definition_html: str = ""
    related: tuple[str, ...] = ()
    fallback_html: str = ""
    """A definition shown only while no issue defines the term (``fallback:``)."""
    mode: str = "replace"
    """``replace`` or ``add``: what ``definition`` does to an issue's (see :data:`MODES`)."""
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, hash=False)

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


# --- Small text helpers ------------------------------------------------------------------


def clean_term(text: str) -> str:
    """A term as written, with runs of whitespace collapsed."""
    return _SPACE.sub(" ", text).strip()


def term_key(text: str) -> str:
    """The key terms and aliases are compared by: case-folded, whitespace collapsed."""
    return clean_term(text).casefold()


def is_acronym(text: str) -> bool:
    """True for terms written in capitals (``SMTP``, ``POP3``): they match only so."""
    return any(c.isalpha() for c in text) and text == text.upper()


def slugify(text: str) -> str:
    """The HTML id of a term: ``POP`` → ``pop``, ``port number`` → ``port-number``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if not slug:
        slug = re.sub(r"[^\w]+", "-", text.lower()).strip("-")
    return slug or "term"


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, whitespace collapsed."""
    if not fragment.strip():
        return ""
    if "<" not in fragment and "&" not in fragment:
        return clean_term(fragment)
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    return clean_term(root.text_content())


def first_sentence(text: str) -> str:
    """The first sentence of ``text``, cut to a tooltip's length."""
    text = clean_term(text)
    parts = _SENTENCE_END.split(text, maxsplit=1)
    sentence = parts[0] if parts else ""
    if len(sentence) > SUMMARY_LIMIT:
        sentence = sentence[: SUMMARY_LIMIT - 1].rsplit(" ", 1)[0] + "…"
    return sentence


def label_key(name: str) -> str:
    """A label as :data:`LABELS` holds it: ``Warning:`` → ``warning``."""
    return _LABEL_TRAIL.sub("", clean_term(name)).casefold()


def is_label(name: str, labels: frozenset[str] = LABELS) -> bool:
    """Whether a bold opening is a label (``Note``, ``Warning:``, ``TL;DR``), not a term."""
    return label_key(name) in labels


def definition_head(name: str, tail: str, labels: frozenset[str] = LABELS) -> re.Match[str] | None:
    """Match ``(Expansion) – `` or ``– `` at the start of ``tail``, the text right after
    the bold ``name`` that opens a paragraph, if the paragraph defines ``name``.

    The dash must follow the bold term (or its expansion) at once. A label (see
    :data:`LABELS`) defines nothing; without an expansion, neither does bold text with a
    comma or ending in punctuation (``**Note:**``, ``**Why?**``, ``**Update, 3 May**``)
    or of more than :data:`MAX_TERM_WORDS` words. Shared by extraction and the linker so
    both agree on what a defining paragraph is.
    """
    name = clean_term(name)
    if not name or not any(c.isalpha() for c in name) or is_label(name, labels):
        return None
    match = _DEFINITION_HEAD.match(tail)
    if match is None or match["exp"] is not None:
        return match
    if name[-1] in ".:!?;,…" or "," in name or len(name.split()) > MAX_TERM_WORDS:
        return None
    return match


def split_dt(text: str) -> tuple[str, str]:
    """A definition-list term ``Term (Expansion)`` as (term, expansion)."""
    text = clean_term(text)
    match = _DT_EXPANSION.match(text)
    if match:
        return match["term"], clean_term(match["exp"])
    return text, ""


def _serialize(node: etree._Element) -> str:
    return lxml.html.tostring(node, encoding="unicode", with_tail=True)


def _inner_html(node: etree._Element) -> str:
    text = html.escape(node.text or "", quote=False)
    return text + "".join(_serialize(child) for child in node)


def sanitize_html(fragment: str) -> str:
    """Remove elements and attributes that could run code or break the page."""
    if "<" not in fragment:
        return fragment.strip()
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    changed = False
    for node in list(root.iter()):
        if not isinstance(node.tag, str):  # comments and processing instructions
            node.drop_tree()
            changed = True
            continue
        if node.tag in _UNSAFE_TAGS:
            node.drop_tree()
            changed = True
            continue
        for name, value in list(node.attrib.items()):
            lowered = value.strip().lower()
            if name.lower().startswith("on") or (
                name.lower() in ("href", "src", "action", "formaction")
                and lowered.startswith(("javascript:", "vbscript:", "data:text/html"))
            ):
                del node.attrib[name]
                changed = True
    if not changed:
        return fragment.strip()
    return _inner_html(root).strip()


# --- Extraction from an issue's HTML -------------------------------------------------------


def extract_terms(content_html: str, source: str, labels: frozenset[str] = LABELS) -> list[Term]:
    """The terms one issue defines, from its rendered content HTML.

    A paragraph opening with ``<strong>Term</strong> (Expansion) – …`` or
    ``<strong>Term</strong> – …`` defines ``Term`` with the rest of the paragraph as its
    definition (see :func:`definition_head` for what does not); each ``<dt>`` of a
    definition list defines a term (``Term (Expansion)`` gives an expansion) with its
    ``<dd>`` as definition.
    """
    if "<strong" not in content_html and "<b" not in content_html and "<dl" not in content_html:
        return []
    root = lxml.html.fragment_fromstring(content_html, create_parent="div")
    terms: list[Term] = []
    for node in root.iter("p", "dl"):
        if node.tag == "p":
            term = _paragraph_term(node, source, labels)
            if term is not None:
                terms.append(term)
        else:
            terms.extend(_definition_list_terms(node, source))
    return terms


def _paragraph_term(p: etree._Element, source: str, labels: frozenset[str]) -> Term | None:
    if (p.text or "").strip() or len(p) == 0:
        return None
    bold = p[0]
    if bold.tag not in ("strong", "b"):
        return None
    name = clean_term(bold.text_content())
    match = definition_head(name, bold.tail or "", labels)
    if match is None:
        return None
    rest = html.escape((bold.tail or "")[match.end() :], quote=False)
    rest += "".join(_serialize(child) for child in p[1:])
    if not html_to_text(rest):
        return None  # "**Term** –" and nothing after it
    return Term(
        term=name,
        slug=slugify(name),
        expansion=clean_term(match["exp"] or ""),
        definition_html=f"<p>{sanitize_html(rest)}</p>",
        source=source,
    )


def _definition_list_terms(dl: etree._Element, source: str) -> Iterator[Term]:
    pending: list[tuple[str, str]] = []
    definitions: list[str] = []

    def flush() -> Iterator[Term]:
        if pending and definitions:
            body = sanitize_html("\n".join(definitions))
            for name, expansion in pending:
                yield Term(name, slugify(name), expansion, definition_html=body, source=source)

    for child in dl:
        if child.tag == "dt":
            if definitions:
                yield from flush()
                pending, definitions = [], []
            name, expansion = split_dt(child.text_content())
            if name:
                pending.append((name, expansion))
        elif child.tag == "dd":
            inner = _inner_html(child).strip()
            if "<p" not in inner and inner:
                inner = f"<p>{inner}</p>"
            definitions.append(inner)
    yield from flush()


_MD_BOLD_OPEN = re.compile(r"\s{0,3}(?:\*\*|__)(?P<name>.+?)(?:\*\*|__)")
_DD = re.compile(r"\s{0,3}:\s")


def definition_line(markdown_text: str, name: str) -> int | None:
    """The line (1-based) of ``markdown_text`` where ``name`` is defined: a paragraph
    opening with it in bold, or a definition-list term (the lines right before a ``:``
    line, a blank line between allowed). None when not found."""
    key = term_key(name)
    lines = markdown_text.splitlines()
    for number, line in enumerate(lines, start=1):
        bold = _MD_BOLD_OPEN.match(line)
        if bold is not None and term_key(bold["name"].strip("`")) == key:
            return number
        if not line.strip() or line[:1].isspace():
            continue
        if term_key(split_dt(line.replace("`", ""))[0]) != key:
            continue
        after = number  # index of the next line
        while after < len(lines) and lines[after].strip() and not _DD.match(lines[after]):
            after += 1  # more terms of the same entry
        if after < len(lines) and not lines[after].strip():
            after += 1
        if after < len(lines) and _DD.match(lines[after]):
            return number
    return None


# --- The curated file -----------------------------------------------------------------------


def _escape_raw_html(text: str) -> str:
    """Make raw HTML in Markdown show as text, leaving code spans and fences alone."""
    out: list[str] = []
    fence: str | None = None
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        if fence is not None:
            out.append(line)
            if stripped.startswith(fence):
                fence = None
            continue
        opener = re.match(r"(`{3,}|~{3,})", stripped)
        if opener:
            fence = opener.group(1)
            out.append(line)
            continue
        if line.startswith(("    ", "\t")):
            out.append(line)
            continue
        pieces = re.split(r"(`+[^`]*?`+)", line)
        out.append(
            "".join(
                piece if i % 2 else _RAW_TAG_START.sub("&lt;", piece)
                for i, piece in enumerate(pieces)
            )
        )
    return "".join(out)


def default_markdown_to_html(text: str) -> str:
    """Render a definition's Markdown with a few common extensions."""
    return markdown.markdown(text, extensions=["attr_list", "def_list", "tables", "abbr"])


def _node_lines(node: yaml.Node) -> dict[str, int]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {
        str(k.value): v.start_mark.line + 1 for k, v in node.value if isinstance(k, yaml.ScalarNode)
    }


def _string_list(value: object) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [str(v) for v in value]
    return None


def load_glossary_file(
    path: Path,
    root: Path,
    markdown_to_html: Callable[[str], str] | None = None,
) -> list[Entry]:
    """Read and validate the curated glossary file; a missing file gives no entries.

    ``markdown_to_html`` renders a definition (the site's Markdown settings); raw HTML in
    a definition is shown as text. Raises :class:`NewsdeskError` naming the file and line.
    """
    if not path.is_file():
        return []
    try:
        source = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        source = path.as_posix()
    render = markdown_to_html or default_markdown_to_html
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NewsdeskError(f"not UTF-8 text ({exc.reason})", source) from None
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = mark.line + 1 if mark is not None else 1
        raise NewsdeskError(f"not valid YAML: {problem}", source, line) from None
    if data is None:
        return []
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        raise NewsdeskError(
            "the glossary file must be a list of entries, each starting with '- term: …'",
            source,
            1,
        )
    entries: list[Entry] = []
    errors: list[NewsdeskError] = []
    for index, (item, item_node) in enumerate(zip(data, node.value, strict=True), start=1):
        line = item_node.start_mark.line + 1
        lines = _node_lines(item_node)
        where = f"entry {index}"

        def error(
            message: str, key: str | None = None, line: int = line, lines: dict = lines
        ) -> None:
            errors.append(NewsdeskError(message, source, lines.get(key or "", line)))

        if not isinstance(item, dict):
            optional = ", ".join(ENTRY_KEYS[1:])
            error(f"{where} must be a mapping with 'term:' and optional {optional}")
            continue
        unknown = [str(k) for k in item if k not in ENTRY_KEYS]
        for key in unknown:
            error(f"{where}: unknown key {key!r} (known: {', '.join(ENTRY_KEYS)})", key)
        raw_term = item.get("term")
        if raw_term is None or not str(raw_term).strip():
            error(f"{where} has no 'term'")
            continue
        if not isinstance(raw_term, str | int | float):
            error(f"{where}: 'term' must be text", "term")
            continue
        name = clean_term(str(raw_term))
        where = f"entry {name!r}"
        if not any(c.isalpha() for c in name):
            # A term of digits alone would link every such number in prose.
            error(f"{where}: a term needs at least one letter", "term")
            continue
        expansion = item.get("expansion") or ""
        if not isinstance(expansion, str | int | float):
            error(f"{where}: 'expansion' must be text", "expansion")
            expansion = ""
        aliases = _string_list(item.get("aliases") or [])
        if aliases is None:
            error(f"{where}: 'aliases' must be a list of terms", "aliases")
            aliases = []
        related = _string_list(item.get("related") or [])
        if related is None:
            error(f"{where}: 'related' must be a list of terms", "related")
            related = []
        markdown_html = {"definition": "", "fallback": ""}
        for key in markdown_html:
            value = item.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                error(f"{where}: {key!r} must be Markdown text", key)
            elif value.strip():
                markdown_html[key] = sanitize_html(render(_escape_raw_html(value.strip())))
        definition_html = markdown_html["definition"]
        mode = item.get("mode", "replace")
        if mode not in MODES:
            error(f"{where}: 'mode' must be one of {', '.join(MODES)}, not {mode!r}", "mode")
            mode = "replace"
        entries.append(
            Entry(
                term=name,
                line=line,
                expansion=clean_term(str(expansion)),
                aliases=tuple(clean_term(a) for a in aliases if clean_term(a)),
                definition_html=definition_html,
                related=tuple(clean_term(r) for r in related if clean_term(r)),
                fallback_html=markdown_html["fallback"],
                mode=mode,
                lines=lines,
            )
        )
    if errors:
        raise errors[0] if len(errors) == 1 else NewsdeskErrors(errors)
    return entries


# --- The merged glossary ----------------------------------------------------------------


class Glossary:
    """All terms, sorted A–Z, with constant-time lookups by slug and by name."""

    def __init__(self, terms: Iterable[Term]):
        self.terms: tuple[Term, ...] = tuple(sorted(terms, key=sort_key))
        self._by_slug = {t.slug: t for t in self.terms}
        self._by_key: dict[str, Term] = {}
        for t in self.terms:
            for name in t.names:
                self._by_key.setdefault(term_key(name), t)

    def __len__(self) -> int:
        return len(self.terms)

    def __iter__(self) -> Iterator[Term]:
        return iter(self.terms)

    def __contains__(self, slug: object) -> bool:
        return slug in self._by_slug

    def get(self, slug: str) -> Term | None:
        """The term with this slug, or None."""
        return self._by_slug.get(slug)

    def lookup(self, text: str) -> Term | None:
        """The term whose name or alias is ``text`` (any case), or None."""
        return self._by_key.get(term_key(text))

    def url(self, slug: str, glossary_url: str = "") -> str:
        """The link to a term's entry on the glossary page at ``glossary_url``."""
        return f"{glossary_url}#{slug}"


def sort_key(term: Term) -> tuple[str, str]:
    """A–Z order ignoring case and accents."""
    folded = unicodedata.normalize("NFKD", term.term).casefold()
    return ("".join(c for c in folded if not unicodedata.combining(c)), term.term)


def build_glossary(
    extracted: Iterable[Term],
    curated: Sequence[Entry] = (),
    curated_source: str = "newsletters/glossary.yml",
    notes: list[str] | None = None,
) -> tuple[Glossary, list[str]]:
    """Merge the issues' terms (in publication order) with the curated entries.

    The first issue to define a term keeps it; another issue defining it differently is a
    warning naming both files. A curated entry with a definition adds a term or replaces
    the issue's definition, which is one line in ``notes`` naming both places; with
    ``mode: add`` it is added after the issue's definition instead (and the issue's
    expansion is kept). One without a definition only adds expansion, aliases and related
    terms, and stands alone on its ``fallback`` while no issue defines the term. An entry
    left with nothing to show (no issue defines its term any more) is one error saying how
    to fix it; the entries that name it as related are not errors of their own.
    Returns the glossary and warnings; raises :class:`NewsdeskErrors` on invalid entries.
    """
    warnings: list[str] = []
    errors: list[NewsdeskError] = []
    merged: dict[str, Term] = {}
    for term in extracted:
        key = term_key(term.term)
        first = merged.get(key)
        if first is None:
            merged[key] = term
        elif html_to_text(first.definition_html) != html_to_text(term.definition_html):
            warnings.append(
                f"{term.source}: defines the glossary term {term.term!r} again; the definition "
                f"in {first.source} is used (put the agreed one in {curated_source} to choose)"
            )

    entry_lines: dict[str, Entry] = {}
    orphans: set[str] = set()
    """Names (terms and aliases) of entries with nothing to show: already reported."""
    for entry in curated:
        key = term_key(entry.term)
        if key in entry_lines:
            errors.append(
                NewsdeskError(
                    f"entry {entry.term!r} appears twice (also on line {entry_lines[key].line})",
                    curated_source,
                    entry.line,
                )
            )
            continue
        entry_lines[key] = entry
        base = merged.get(key)
        own = entry.definition_html or (entry.fallback_html if base is None else "")
        if base is None and not own:
            errors.append(
                NewsdeskError(
                    f"entry {entry.term!r} has no definition: no issue defines it and the "
                    "entry has none of its own; add a 'definition:' to the entry (or a "
                    "'fallback:', shown while no issue defines it), or delete the entry",
                    curated_source,
                    entry.line,
                )
            )
            orphans.update(term_key(name) for name in (entry.term, *entry.aliases))
            continue
        if base is None:
            base = Term(entry.term, slugify(entry.term), source=curated_source)
        elif own and entry.mode == "add":
            merged[key] = replace(
                base,
                expansion=base.expansion or entry.expansion,
                aliases=entry.aliases,
                definition_html=f"{base.definition_html}\n{own}",
            )
            continue
        elif own and notes is not None:
            where = f"{base.source}:{base.line}" if base.line else str(base.source)
            notes.append(
                f"{curated_source}:{entry.line_of('definition')}: {entry.term!r} replaces the "
                f"definition in {where} (mode: add keeps both)"
            )
        merged[key] = replace(
            base,
            expansion=entry.expansion or base.expansion,
            aliases=entry.aliases,
            definition_html=own or base.definition_html,
            source=curated_source if own else base.source,
            line=entry.line_of("definition") if own else base.line,
        )

    # Names: each term and alias belongs to exactly one term.
    owner: dict[str, str] = {key: key for key in merged}
    for key, term in merged.items():
        entry = entry_lines.get(key)
        kept: list[str] = []
        for alias in term.aliases:
            akey = term_key(alias)
            if akey == key or any(term_key(k) == akey for k in kept):
                continue
            claimed = owner.get(akey)
            if claimed is not None and claimed != key:
                other = merged[claimed].term
                if claimed == akey:
                    what = f"is a term itself (defined in {merged[claimed].source})"
                else:
                    what = f"is an alias of {other!r} too"
                errors.append(
                    NewsdeskError(
                        f"entry {term.term!r}: alias {alias!r} {what}",
                        curated_source,
                        entry.line_of("aliases") if entry else None,
                    )
                )
                continue
            owner[akey] = key
            kept.append(alias)
        merged[key] = replace(term, aliases=tuple(kept))

    # Slugs: unique, in A–Z order so they do not depend on which issue came first.
    used: set[str] = set()
    for key in sorted(merged, key=lambda k: sort_key(merged[k])):
        base_slug = slugify(merged[key].term)
        slug, n = base_slug, 1
        while slug in used:
            n += 1
            slug = f"{base_slug}-{n}"
        used.add(slug)
        merged[key] = replace(merged[key], slug=slug)

    for key, entry in entry_lines.items():
        if key not in merged:
            continue
        related: list[str] = []
        for name in entry.related:
            target = owner.get(term_key(name))
            if target is None and term_key(name) in orphans:
                continue  # the entry's own error says what to do
            if target is None:
                errors.append(
                    NewsdeskError(
                        f"entry {entry.term!r}: related term {name!r} is not in the glossary",
                        curated_source,
                        entry.line_of("related"),
                    )
                )
                continue
            slug = merged[target].slug
            if target != key and slug not in related:
                related.append(slug)
        merged[key] = replace(merged[key], related=tuple(related))

    if errors:
        raise errors[0] if len(errors) == 1 else NewsdeskErrors(errors)
    return Glossary(merged.values()), warnings


# --- The glossary page -----------------------------------------------------------------------


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
    out += [f'<nav class="nd-glossary-az" aria-label="{t("A–Z")}">{" ".join(bar)}</nav>', ""]
    esc = html.escape
    for term in glossary:
        out += [f"## {_md_text(term.term)} {{#{term.slug} .nd-glossary-term}}", ""]
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
        pages = [
            m if isinstance(m, Mention) else Mention(*m, m[0])
            for m in mentions.get(term.slug) or ()
        ]
        if pages:
            body.append(mentions_html(pages, t=t))
        if extra is not None:
            added = extra(term)
            if added:
                body.append(added)
        body.append("</div>")
        out += [*body, ""]
    return "\n".join(out)
