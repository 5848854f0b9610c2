"""The curated glossary file (``newsletters/glossary.yml``): read and validated.

A list of entries with ``term`` and optional ``expansion``, ``aliases``, ``definition``
and ``fallback`` (Markdown), ``related`` and ``mode``; every problem of the file is
reported at once with its line (see :mod:`newsdesk.fields`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import markdown
import yaml

from newsdesk.errors import NewsdeskError, raise_all
from newsdesk.fields import Field, Invalid, check, key_lines, load_yaml, node_line
from newsdesk.glossary.text import clean_term, sanitize_html

#: The keys a curated glossary entry may have.
ENTRY_KEYS = ("term", "expansion", "aliases", "definition", "fallback", "related", "mode")
#: What an entry's ``definition`` does to the definition of an issue that defines the term:
#: ``replace`` it (the default; the build says so in one INFO line) or ``add`` to it.
MODES = ("replace", "add")

# "<" opening a tag or comment; autolinks such as <https://…> and <a@b.org> stay Markdown.
_RAW_TAG_START = re.compile(r"<(?=/?[A-Za-z][A-Za-z0-9-]*(?:[\s/>]|$)|[!?])")


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


def _string_list(value: object) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [str(v) for v in value]
    return None


def _term(value: Any) -> str:
    if not isinstance(value, str | int | float):
        raise Invalid("'term' must be text")
    return clean_term(str(value))


def _lettered(value: Any) -> str:
    name = clean_term(str(value))
    if not any(c.isalpha() for c in name):
        # A term of digits alone would link every such number in prose.
        raise Invalid("a term needs at least one letter")
    return name


def _expansion(value: Any) -> str:
    if not isinstance(value or "", str | int | float):
        raise Invalid("'expansion' must be text")
    return clean_term(str(value or ""))


def _names(key: str) -> Callable[[Any], tuple[str, ...]]:
    def convert(value: Any) -> tuple[str, ...]:
        names = _string_list(value or [])
        if names is None:
            raise Invalid(f"'{key}' must be a list of terms")
        return tuple(clean_term(n) for n in names if clean_term(n))

    return convert


def _mode(value: Any) -> str:
    if value not in MODES:
        raise Invalid(f"'mode' must be one of {', '.join(MODES)}, not {value!r}")
    return str(value)


def _markdown(key: str, render: Callable[[str], str]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise Invalid(f"{key!r} must be Markdown text")
        return sanitize_html(render(_escape_raw_html(value.strip()))) if value.strip() else ""

    return convert


_NAMED = (
    Field(
        "term",
        _term,
        required=True,
        missing="{where} has no 'term'",
        blank=lambda value: value is None or not str(value).strip(),
    ),
)
"""First the entry's name, which names it in the messages about the other fields."""


def _entry_table(render: Callable[[str], str]) -> tuple[Field, ...]:
    return (
        Field("term", _lettered),
        Field("expansion", _expansion, default=""),
        Field("aliases", _names("aliases"), default=()),
        Field("related", _names("related"), default=()),
        Field("definition", _markdown("definition", render), default=""),
        Field("fallback", _markdown("fallback", render), default=""),
        Field("mode", _mode, default="replace"),
    )


def load_glossary_file(
    path: Path,
    root: Path,
    markdown_to_html: Callable[[str], str] | None = None,
) -> list[Entry]:
    """Read and validate the curated glossary file; a missing file gives no entries.

    ``markdown_to_html`` renders a definition (the site's Markdown settings); raw HTML in
    a definition is shown as text. Raises :class:`NewsdeskError` naming the file and line,
    every problem of the file at once.
    """
    if not path.is_file():
        return []
    try:
        source = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        source = path.as_posix()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NewsdeskError(f"not UTF-8 text ({exc.reason})", source) from None
    document = load_yaml(text, source)
    if document.data is None:
        return []
    if not isinstance(document.data, list) or not isinstance(document.node, yaml.SequenceNode):
        raise NewsdeskError(
            "the glossary file must be a list of entries, each starting with '- term: …'",
            source,
            1,
        )
    table = _entry_table(markdown_to_html or default_markdown_to_html)
    entries: list[Entry] = []
    errors: list[NewsdeskError] = []
    for index, (item, node) in enumerate(zip(document.data, document.node.value, strict=True)):
        entry = _entry(item, node, f"entry {index + 1}", source, table, errors)
        if entry is not None:
            entries.append(entry)
    raise_all(errors)
    return entries


def _entry(
    item: Any,
    node: yaml.Node,
    where: str,
    source: str,
    table: tuple[Field, ...],
    errors: list[NewsdeskError],
) -> Entry | None:
    """One entry of the file, or None with its problems added to ``errors``."""
    line = node_line(node)
    if not isinstance(item, dict):
        optional = ", ".join(ENTRY_KEYS[1:])
        message = f"{where} must be a mapping with 'term:' and optional {optional}"
        errors.append(NewsdeskError(message, source, line))
        return None
    lines = key_lines(node)
    named = check(
        item, _NAMED, source=source, line=line, lines=lines, where=where, known=ENTRY_KEYS
    )
    errors += [
        NewsdeskError(
            f"{where}: unknown key {str(key)!r} (known: {', '.join(ENTRY_KEYS)})",
            source,
            lines.get(str(key), line),
        )
        for key in named.unknown
    ]
    if named.errors:
        errors += named.errors
        return None
    where = f"entry {named.values['term']!r}"
    checked = check(
        item, table, source=source, line=line, lines=lines, where=where, known=ENTRY_KEYS
    )
    if checked.errors:
        errors += checked.errors
        return None
    values = checked.values
    return Entry(
        line=line,
        lines=lines,
        definition_html=values.pop("definition"),
        fallback_html=values.pop("fallback"),
        **values,
    )
