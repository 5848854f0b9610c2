"""What makes a paragraph define a term – the one home of that rule.

A paragraph that opens with a bold term, optionally its expansion in parentheses, and a
dash (``**POP** (Post Office Protocol) – This protocol …``, ``**snapshot** – a copy …``;
not ``**Note** – …``), or a definition-list term. Extraction (:mod:`.extract`), the
linker (which must not link a term where it is defined) and the build's line numbers
(:func:`definition_line`) all ask here.
"""

from __future__ import annotations

import re

from newsdesk.glossary.text import clean_term, term_key

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
