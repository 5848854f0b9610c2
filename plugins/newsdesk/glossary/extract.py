"""The terms an issue defines, read from its rendered HTML."""

from __future__ import annotations

import html
from collections.abc import Iterator

import lxml.html
from lxml import etree

from newsdesk.glossary.definitions import LABELS, definition_head, split_dt
from newsdesk.glossary.terms import Term
from newsdesk.glossary.text import (
    _inner_html,
    _serialize,
    clean_term,
    html_to_text,
    sanitize_html,
    slugify,
)


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
