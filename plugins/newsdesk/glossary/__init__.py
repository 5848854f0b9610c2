"""The glossary: terms defined in the issues and in a curated file, and its page.

Terms come from two places:

* an issue's rendered HTML (:mod:`.extract`): a paragraph that opens with a bold term,
  optionally its expansion in parentheses, and a dash (``**POP** (Post Office Protocol)
  – This protocol …``, ``**snapshot** – a copy …``; not ``**Note** – …``), and Markdown
  definition lists (``<dl>``) – the rule itself lives in :mod:`.definitions`;
* the curated file (``newsletters/glossary.yml``, :mod:`.curated`): a list of entries with
  ``term`` and optional ``expansion``, ``aliases``, ``definition`` (Markdown) and
  ``related``.

:func:`build_glossary` (:mod:`.merge`) merges both into a :class:`Glossary`
(:mod:`.terms`); :func:`glossary_page_markdown` (:mod:`.page`) writes the glossary page.
Shared text helpers are in :mod:`.text`. Linking mentions is :mod:`newsdesk.linker`.
No MkDocs here.
"""

from __future__ import annotations

from newsdesk.glossary.curated import (
    ENTRY_KEYS,
    MODES,
    Entry,
    default_markdown_to_html,
    load_glossary_file,
)
from newsdesk.glossary.definitions import (
    LABELS,
    MAX_TERM_WORDS,
    definition_head,
    definition_line,
    is_label,
    label_key,
    split_dt,
)
from newsdesk.glossary.extract import extract_terms
from newsdesk.glossary.merge import build_glossary
from newsdesk.glossary.page import Mention, glossary_page_markdown, mentions_html
from newsdesk.glossary.terms import Glossary, Term, sort_key
from newsdesk.glossary.text import (
    SUMMARY_LIMIT,
    clean_term,
    first_sentence,
    html_to_text,
    is_acronym,
    sanitize_html,
    slugify,
    term_key,
)

__all__ = [
    "ENTRY_KEYS",
    "LABELS",
    "MAX_TERM_WORDS",
    "MODES",
    "SUMMARY_LIMIT",
    "Entry",
    "Glossary",
    "Mention",
    "Term",
    "build_glossary",
    "clean_term",
    "default_markdown_to_html",
    "definition_head",
    "definition_line",
    "extract_terms",
    "first_sentence",
    "glossary_page_markdown",
    "html_to_text",
    "is_acronym",
    "is_label",
    "label_key",
    "load_glossary_file",
    "mentions_html",
    "sanitize_html",
    "slugify",
    "sort_key",
    "split_dt",
    "term_key",
]
