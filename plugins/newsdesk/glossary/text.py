"""Text helpers the glossary shares: term keys, slugs, plain text and safe HTML."""

from __future__ import annotations

import html
import re
import unicodedata

import lxml.html
from lxml import etree

#: Elements dropped from definitions: they could run code or break the glossary page.
_UNSAFE_TAGS = ("script", "style", "iframe", "object", "embed", "form", "link", "meta", "base")

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]?\s+(?=[A-Z0-9\"“(])")
_SPACE = re.compile(r"\s+")
SUMMARY_LIMIT = 300


def clean_term(text: str) -> str:
    """A term as written, with runs of whitespace collapsed."""
    return _SPACE.sub(" ", text).strip()


def term_key(text: str) -> str:
    """The key terms and aliases are compared by: case-folded, whitespace collapsed."""
    return clean_term(text).casefold()


def is_acronym(text: str) -> bool:
    """True for terms written in capitals (``SMTP``, ``POP3``): they match only so."""
    return any(c.isalpha() for c in text) and text == text.upper()


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits joined by single hyphens (accents dropped):
    ``Über SMTP & POP`` → ``uber-smtp-pop``; empty when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def slugify(text: str) -> str:
    """The HTML id of a term: ``POP`` → ``pop``, ``port number`` → ``port-number``."""
    slug = ascii_slug(text)
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
