"""Merging the issues' terms with the curated entries into one :class:`Glossary`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from newsdesk.errors import NewsdeskError, raise_all
from newsdesk.glossary.curated import Entry
from newsdesk.glossary.terms import Glossary, Term, sort_key
from newsdesk.glossary.text import html_to_text, slugify, term_key


@dataclass
class _Merge:
    """The state of one merge: terms by key, the curated entries by key, the problems."""

    curated_source: str
    notes: list[str] | None
    merged: dict[str, Term] = field(default_factory=dict)
    entries: dict[str, Entry] = field(default_factory=dict)
    orphans: set[str] = field(default_factory=set)
    """Names (terms and aliases) of entries with nothing to show: already reported."""
    owner: dict[str, str] = field(default_factory=dict)
    """The key of the term each name (term or alias) belongs to."""
    errors: list[NewsdeskError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, message: str, line: int | None) -> None:
        self.errors.append(NewsdeskError(message, self.curated_source, line))


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
    state = _Merge(curated_source, notes)
    _add_issue_terms(state, extracted)
    for entry in curated:
        _apply_entry(state, entry)
    _settle_aliases(state)
    _assign_slugs(state.merged)
    _link_related(state)
    raise_all(state.errors)
    return Glossary(state.merged.values()), state.warnings


def _add_issue_terms(state: _Merge, extracted: Iterable[Term]) -> None:
    """The issues' terms: the first definition of a term wins, another is a warning."""
    for term in extracted:
        key = term_key(term.term)
        first = state.merged.get(key)
        if first is None:
            state.merged[key] = term
        elif html_to_text(first.definition_html) != html_to_text(term.definition_html):
            state.warnings.append(
                f"{term.source}: defines the glossary term {term.term!r} again; the definition "
                f"in {first.source} is used (put the agreed one in {state.curated_source} to "
                "choose)"
            )


def _apply_entry(state: _Merge, entry: Entry) -> None:
    """One curated entry: a term of its own, or a change to an issue's term."""
    key = term_key(entry.term)
    if key in state.entries:
        state.error(
            f"entry {entry.term!r} appears twice (also on line {state.entries[key].line})",
            entry.line,
        )
        return
    state.entries[key] = entry
    base = state.merged.get(key)
    own = entry.definition_html or (entry.fallback_html if base is None else "")
    if base is None and not own:
        state.error(
            f"entry {entry.term!r} has no definition: no issue defines it and the "
            "entry has none of its own; add a 'definition:' to the entry (or a "
            "'fallback:', shown while no issue defines it), or delete the entry",
            entry.line,
        )
        state.orphans.update(term_key(name) for name in (entry.term, *entry.aliases))
        return
    if base is None:
        base = Term(entry.term, slugify(entry.term), source=state.curated_source)
    elif own and entry.mode == "add":
        state.merged[key] = replace(
            base,
            expansion=base.expansion or entry.expansion,
            aliases=entry.aliases,
            definition_html=f"{base.definition_html}\n{own}",
        )
        return
    elif own and state.notes is not None:
        where = f"{base.source}:{base.line}" if base.line else str(base.source)
        state.notes.append(
            f"{state.curated_source}:{entry.line_of('definition')}: {entry.term!r} replaces "
            f"the definition in {where} (mode: add keeps both)"
        )
    state.merged[key] = replace(
        base,
        expansion=entry.expansion or base.expansion,
        aliases=entry.aliases,
        definition_html=own or base.definition_html,
        source=state.curated_source if own else base.source,
        line=entry.line_of("definition") if own else base.line,
    )


def _settle_aliases(state: _Merge) -> None:
    """Each term and alias belongs to exactly one term; an alias claimed twice is an error."""
    merged = state.merged
    state.owner = {key: key for key in merged}
    for key, term in merged.items():
        entry = state.entries.get(key)
        kept: list[str] = []
        for alias in term.aliases:
            akey = term_key(alias)
            if akey == key or any(term_key(k) == akey for k in kept):
                continue
            claimed = state.owner.get(akey)
            if claimed is not None and claimed != key:
                if claimed == akey:
                    what = f"is a term itself (defined in {merged[claimed].source})"
                else:
                    what = f"is an alias of {merged[claimed].term!r} too"
                line = entry.line_of("aliases") if entry else None
                state.error(f"entry {term.term!r}: alias {alias!r} {what}", line)
                continue
            state.owner[akey] = key
            kept.append(alias)
        merged[key] = replace(term, aliases=tuple(kept))


def _assign_slugs(merged: dict[str, Term]) -> None:
    """Unique slugs, given in A–Z order so they do not depend on which issue came first."""
    used: set[str] = set()
    for key in sorted(merged, key=lambda k: sort_key(merged[k])):
        base_slug = slugify(merged[key].term)
        slug, n = base_slug, 1
        while slug in used:
            n += 1
            slug = f"{base_slug}-{n}"
        used.add(slug)
        merged[key] = replace(merged[key], slug=slug)


def _link_related(state: _Merge) -> None:
    """An entry's ``related`` names as the slugs of terms in the glossary."""
    merged = state.merged
    for key, entry in state.entries.items():
        if key not in merged:
            continue
        related: list[str] = []
        for name in entry.related:
            target = state.owner.get(term_key(name))
            if target is None and term_key(name) in state.orphans:
                continue  # the entry's own error says what to do
            if target is None:
                state.error(
                    f"entry {entry.term!r}: related term {name!r} is not in the glossary",
                    entry.line_of("related"),
                )
                continue
            slug = merged[target].slug
            if target != key and slug not in related:
                related.append(slug)
        merged[key] = replace(merged[key], related=tuple(related))
