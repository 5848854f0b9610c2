"""A glossary term and the merged glossary: all terms A–Z, looked up by slug or name."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from newsdesk.glossary.text import first_sentence, html_to_text, term_key


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
