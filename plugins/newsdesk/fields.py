"""Author-written YAML: read with the line of every key and item, checked against a table.

Issue front matter, curated glossary entries and port rows all go through here, so that
every problem names its file and line and a file's problems are reported together:

* :func:`load_yaml` parses once (libyaml's parser where PyYAML has it: a 1,000-issue build
  reads 1,000 front matters) and keeps the node tree beside the data;
* :func:`compose_yaml` gives the node tree alone, for lines;
* :func:`key_lines` and :func:`item_lines` give the lines of a mapping's keys and a
  list's items from that tree;
* :func:`check` reads a mapping against a table of :class:`Field`\\ s and returns every
  error at once, each a :class:`~newsdesk.errors.NewsdeskError` with file and line.

Nothing here imports MkDocs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml

from newsdesk.errors import NewsdeskError, raise_all

#: libyaml's parser where PyYAML was built with it.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc, valid-type]
    """Safe YAML."""


class _TextDatesLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """Safe YAML, with dates left as text so an impossible date is our message, not YAML's."""


_TextDatesLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


class Document(NamedTuple):
    """Parsed YAML: the data and the node tree it was built from (None for an empty text)."""

    data: Any
    node: yaml.Node | None


def load_yaml(
    text: str,
    source: str,
    *,
    first_line: int = 1,
    problem: str = "not valid YAML",
    dates_as_text: bool = False,
) -> Document:
    """Parse ``text``, whose first line is line ``first_line`` of ``source``, in one pass.

    Raises :class:`NewsdeskError` ``"{problem}: {what YAML says}"`` at the line YAML
    stopped on. ``dates_as_text`` leaves ``2026-13-01`` as text for the caller to judge.
    """
    loader = (_TextDatesLoader if dates_as_text else _Loader)(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first_line + mark.line if mark is not None else first_line
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise NewsdeskError(f"{problem}: {what}", source, line) from None
    finally:
        loader.dispose()
    return Document(data, node)


def compose_yaml(text: str) -> yaml.Node | None:
    """The node tree of ``text`` alone, for its lines: no value is built, so tags the safe
    loader does not know (``!ENV`` in ``mkdocs.yml``) do no harm. None when it is not YAML."""
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None


def key_lines(node: yaml.Node | None, first_line: int = 1) -> dict[str, int]:
    """The line of each key of a mapping node (empty for any other node)."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {
        str(k.value): first_line + k.start_mark.line
        for k, _ in node.value
        if isinstance(k, yaml.ScalarNode)
    }


def item_lines(node: yaml.Node | None, first_line: int = 1) -> list[int]:
    """The line of each item of a sequence node (empty for any other node)."""
    if not isinstance(node, yaml.SequenceNode):
        return []
    return [first_line + item.start_mark.line for item in node.value]


def node_line(node: yaml.Node | None, first_line: int = 1) -> int:
    """The line a node starts on (``first_line`` without a node)."""
    return first_line + node.start_mark.line if node is not None else first_line


class Invalid(ValueError):
    """Raised by a :class:`Field`'s converter: the message says what the value must be."""


def _absent_only(value: object) -> bool:
    return False


@dataclass(frozen=True)
class Field:
    """One field of a table: how to read it and what to say when it is wrong.

    ``convert`` turns the value as YAML read it into the value the program keeps, or raises
    :class:`Invalid` with the message for the author. A ``required`` field that is absent,
    or whose value ``blank`` calls empty, is reported with ``missing`` (``{where}`` in it
    is replaced by the caller's name for the mapping); without a ``missing`` message the
    absent fields of a mapping are named together in one ``missing field(s) …`` error. An
    optional absent field takes ``default`` unconverted.
    """

    name: str
    convert: Callable[[Any], Any] = field(default=lambda value: value)
    required: bool = False
    missing: str = ""
    default: Any = None
    blank: Callable[[Any], bool] = _absent_only


@dataclass
class Checked:
    """What :func:`check` found: the converted values, the errors, the unknown keys."""

    values: dict[str, Any]
    errors: list[NewsdeskError]
    unknown: list[str]

    def raise_errors(self) -> None:
        """Raise the errors: one as itself, several together."""
        raise_all(self.errors)


_MISSING = object()


def check(
    data: Mapping[Any, Any],
    fields: Sequence[Field],
    *,
    source: str,
    line: int | None,
    lines: Mapping[str, int],
    where: str = "",
    known: Collection[str] = (),
) -> Checked:
    """Read ``data`` against ``fields``, collecting every problem instead of stopping.

    ``line`` is the mapping's line (for a missing field), ``lines`` the line of each key
    (see :func:`key_lines`); ``where`` names the mapping in messages (``entry 3``,
    ``ports.extra[1] (IMAP)``: ``"{where}: {message}"``). A key neither in ``fields`` nor
    in ``known`` is listed in ``unknown``, for the caller to warn or refuse. A field
    that fails is left out of ``values``.
    """
    prefix = f"{where}: " if where else ""
    values: dict[str, Any] = {}
    errors: list[NewsdeskError] = []
    absent: list[str] = []
    for spec in fields:
        value = data.get(spec.name, _MISSING)
        if value is _MISSING or (spec.required and spec.blank(value)):
            if not spec.required:
                values[spec.name] = spec.default
            elif spec.missing:
                message = spec.missing.replace("{where}", where)
                if "{where}" not in spec.missing:
                    message = prefix + message
                errors.append(NewsdeskError(message, source, line))
            else:
                absent.append(spec.name)
            continue
        try:
            values[spec.name] = spec.convert(value)
        except Invalid as exc:
            errors.append(NewsdeskError(prefix + str(exc), source, lines.get(spec.name, line)))
    if absent:
        errors.insert(
            0, NewsdeskError(f"{prefix}missing field(s) {', '.join(absent)}", source, line)
        )
    names = {spec.name for spec in fields}
    unknown = [str(k) for k in data if k not in names and k not in known]
    return Checked(values, errors, unknown)
