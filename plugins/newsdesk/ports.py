"""The port registry and what is generated from it: the ``ports/`` page, the "Port
reference" table on issues, the glossary's port blocks and links from ``port 993`` in prose.

The registry is ``data/ports.yml`` shipped with the package, plus the rows a site adds or
overrides with ``ports.extra`` in ``mkdocs.yml``. Nothing here imports MkDocs.

Row ids on the ``ports/`` page: a port's first row (in registry order) has the id
``port-N``; further rows with the same port get ``port-N-<protocol>`` (lower case, e.g.
``port-443-doh``). A row without a port (LMTP) has ``port-<protocol>``. Each protocol's
section has the id ``ports-<protocol>``. Since the shipped rows come first and
``ports.extra`` replaces rows in place, the ids of the shipped rows never change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from newsdesk.errors import NewsdeskError, raise_all
from newsdesk.fields import (
    Field,
    Invalid,
    check,
    compose_yaml,
    key_lines,
    load_yaml,
    node_line,
)
from newsdesk.glossary import slugify
from newsdesk.i18n import ENGLISH, Strings
from newsdesk.linker import VOID

DATA_FILE = Path(__file__).parent / "data" / "ports.yml"
DATA_SOURCE = "plugins/newsdesk/data/ports.yml"
"""The data file as named in messages."""

SECURITY = ("none", "STARTTLS", "implicit TLS")
"""The transport-security labels newsdesk knows (and styles); ``ports.extra`` may use any
other label, such as ``SSH`` or ``WireGuard``, which is shown as written."""
TRANSPORTS = ("TCP", "UDP", "TCP, UDP")
MODES = ("auto", "marker", "off")

_FIELDS = ("protocol", "port", "transport", "security", "service", "purpose", "rfc", "rfc_url")
_RFC = re.compile(r"^RFC ?(\d{1,5})$", re.I)
_RFC_URL = "https://www.rfc-editor.org/rfc/rfc{}"


@dataclass(frozen=True)
class PortRow:
    """One (protocol, port) of the registry."""

    protocol: str
    port: int | None
    transport: str
    security: str
    service: str
    """IANA service name; empty when IANA registers none."""
    purpose: str
    rfc: str
    """The defining RFC as ``RFC 8314``; empty when there is none."""
    rfc_url: str
    note: str = ""

    @property
    def key(self) -> tuple[str, int | None]:
        return (self.protocol.casefold(), self.port)

    def describe(self) -> str:
        """The row in words: ``IMAP over implicit TLS (IMAPS)``."""
        security = {
            "implicit TLS": " over implicit TLS",
            "STARTTLS": " with STARTTLS",
            "none": " without TLS",
        }.get(self.security, f" ({self.security})")
        label = _service_label(self.service)
        service = f" ({label})" if label and label.casefold() != self.protocol.casefold() else ""
        return f"{self.protocol}{security}{service}"


def _service_label(service: str) -> str:
    # Short IANA names read as acronyms (IMAPS, POP3S); longer ones stay as registered.
    return service.upper() if len(service) <= 5 and service.isalnum() else service


class Registry:
    """The rows of the registry in a stable order, with the row ids of the ``ports/`` page."""

    def __init__(self, rows: Iterable[PortRow]):
        self.rows: tuple[PortRow, ...] = tuple(rows)
        self._anchors: dict[tuple[str, int | None], str] = {}
        seen_ports: set[int] = set()
        for row in self.rows:
            if row.port is None:
                anchor = f"port-{slugify(row.protocol)}"
            elif row.port in seen_ports:
                anchor = f"port-{row.port}-{slugify(row.protocol)}"
            else:
                anchor = f"port-{row.port}"
                seen_ports.add(row.port)
            self._anchors[row.key] = anchor
        # Lookups by name and by port are made per page and per claim: index them once.
        self._protocols = list(dict.fromkeys(row.protocol for row in self.rows))
        self._by_name = {p.casefold(): p for p in reversed(self._protocols)}
        self._by_protocol: dict[str, list[PortRow]] = {}
        self._by_port: dict[int, list[PortRow]] = {}
        for row in self.rows:
            self._by_protocol.setdefault(row.protocol.casefold(), []).append(row)
            if row.port is not None:
                self._by_port.setdefault(row.port, []).append(row)

    def __len__(self) -> int:
        return len(self.rows)

    def protocols(self) -> list[str]:
        """Protocol names in registry order (order of first row)."""
        return list(self._protocols)

    def protocol(self, name: str) -> str | None:
        """The registry's spelling of a protocol name given in any letter case."""
        return self._by_name.get(name.casefold())

    def rows_for(self, protocol: str) -> list[PortRow]:
        """The rows of one protocol (any letter case), in registry order."""
        return list(self._by_protocol.get(protocol.casefold(), ()))

    def ports_of(self, protocol: str) -> list[int]:
        """The port numbers of one protocol, ascending."""
        return sorted({r.port for r in self.rows_for(protocol) if r.port is not None})

    def rows_for_port(self, port: int) -> list[PortRow]:
        return list(self._by_port.get(port, ()))

    def has_ports(self, protocol: str) -> bool:
        return bool(self.ports_of(protocol))

    def anchor(self, row: PortRow) -> str:
        """The id of the row on the ``ports/`` page (``port-993``)."""
        return self._anchors[row.key]

    def anchor_for(self, port: int, protocol: str | None = None) -> str | None:
        """The id for ``port``, preferring the row of ``protocol``; None if not listed."""
        rows = self.rows_for_port(port)
        if not rows:
            return None
        if protocol:
            own = [r for r in rows if r.protocol.casefold() == protocol.casefold()]
            rows = own or rows
        return self.anchor(rows[0])

    @staticmethod
    def section_anchor(protocol: str) -> str:
        """The id of a protocol's section on the ``ports/`` page (``ports-imap``)."""
        return f"ports-{slugify(protocol)}"


# --- port numbers and protocol names in text ------------------------------------------

PORT_LIST = r"\d{1,5}(?:\s*(?:,|/|\band\b|\bor\b|&(?:amp;)?)\s*\d{1,5})*"
"""Port numbers as people list them: ``25``, ``143 and 993``, ``25, 465 & 587``, ``80/443``
(``&amp;`` too, for HTML)."""
PORT_WORD = r"[Pp]orts?\s+(?:(?:number|no\.)\s+)?"
"""The words that introduce port numbers in prose: ``port``, ``Ports``, ``port number``,
``port no.``."""
PORT_MENTION = re.compile(rf"\b(?P<word>{PORT_WORD})(?P<list>{PORT_LIST})\b(?![.,]?\d)")
"""``port 993``, ``ports 143 and 993``, ``port number 25``: a port mentioned in prose, as
:func:`link_port_mentions` links it (the claim check builds its phrasings from
:data:`PORT_WORD` and :data:`PORT_LIST`). Never a bare number ("25 years")."""
NUMBER = re.compile(r"\d{1,5}")
WORD_PORT = re.compile(r"\bports?\b", re.I)
"""The word "port" or "ports", in any case: a heading about ports, a table's port column."""
LEADING_PORT = re.compile(
    r"\s*[*_`]*(?:(?:TCP\s+|UDP\s+)?[Pp]ort\s+)?[*_`]*(?P<port>\d{1,5})[*_`]*"
    r"(?=\s|$|[–—:,-]|/(?:tcp|udp))",
    re.I,
)
"""A port opening a list item, as in a list of ports under a heading: ``993 – secure``,
``**993**: …``, ``993/tcp``, ``port 993 – …`` (use with ``match``; Markdown emphasis
allowed). The linker links it, the claim check reads it as listed under the heading."""


def port_numbers(listed: str) -> list[tuple[int, int]]:
    """The numbers of a :data:`PORT_LIST` match: (port, offset in ``listed``)."""
    return [(int(m.group()), m.start()) for m in NUMBER.finditer(listed)]


def default_names(registry: Registry) -> dict[str, str]:
    """Spellings known without a glossary: each protocol's name and the IANA service
    names that extend it (``IMAPS``, ``POP3``, ``POP3S``)."""
    names = {p: p for p in registry.protocols()}
    for row in registry.rows:
        service = row.service.upper()
        if service and service.startswith(row.protocol.upper()) and service.isalnum():
            names.setdefault(service, row.protocol)
    return names


class NameFinder:
    """Finds protocol names in text. All-capital spellings (acronyms) match in that case
    only, so 'pop' in "pop-up" is not POP; other spellings match in any case.

    ``names`` maps each spelling (term, alias, expansion such as 'Post Office Protocol')
    to a registry protocol; spellings of protocols the registry lacks are ignored.
    """

    def __init__(self, names: Mapping[str, str], registry: Registry):
        self.protocol_of: dict[str, str] = {}
        parts = []
        for spelling in sorted(names, key=len, reverse=True):
            protocol = registry.protocol(names[spelling])
            if protocol is None or not spelling.strip():
                continue
            self.protocol_of[spelling.strip().casefold()] = protocol
            escaped = re.escape(spelling.strip())
            parts.append(escaped if spelling == spelling.upper() else f"(?i:{escaped})")
        self.alternation = "|".join(parts)
        """The spellings as one regular-expression alternation, longest first."""
        self.pattern = re.compile(rf"(?<!\w)(?:{self.alternation})(?!\w)") if parts else None

    def protocol(self, spelling: str) -> str:
        """The protocol of a spelling this finder matched."""
        return self.protocol_of[spelling.strip().casefold()]

    def find(self, text: str) -> dict[str, str]:
        """Protocols named in ``text``, each with the first spelling used."""
        found: dict[str, str] = {}
        if self.pattern is None:
            return found
        for m in self.pattern.finditer(text):
            found.setdefault(self.protocol(m.group()), m.group())
        return found

    def count(self, text: str) -> dict[str, int]:
        """How often each protocol is named in ``text``."""
        counts: dict[str, int] = {}
        if self.pattern is not None:
            for m in self.pattern.finditer(text):
                protocol = self.protocol(m.group())
                counts[protocol] = counts.get(protocol, 0) + 1
        return counts


# --- loading ---------------------------------------------------------------------------


def _protocol(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("'protocol' must be a name such as IMAP")
    return value.strip()


def _port(value: Any) -> int | None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535
    ):
        raise Invalid(
            "'port' must be a number from 1 to 65535, or null when none is "
            f"assigned (got {value!r})"
        )
    return value


_TRANSPORT_SPELLINGS = {"TCP": "TCP", "UDP": "UDP", "TCP,UDP": "TCP, UDP", "UDP,TCP": "TCP, UDP"}


def _transport(value: Any) -> str:
    transport = _TRANSPORT_SPELLINGS.get(str(value).upper().replace(" ", ""))
    if transport is None:
        raise Invalid(f"'transport' must be one of {', '.join(TRANSPORTS)} (got {value!r})")
    return transport


def _security(value: Any) -> str:
    # YAML reads ``security: no`` / ``off`` as false: no transport security.
    label = (
        "none" if value is False else "" if value is True else " ".join(str(value or "").split())
    )
    if not label:
        raise Invalid(
            f"'security' must name the transport security: {', '.join(SECURITY)}, "
            f"or another label such as SSH (got {value!r})"
        )
    # The known labels in their own spelling; any other label as written.
    return next((s for s in SECURITY if s.casefold() == label.casefold()), label)


def _text_field(name: str, check: Callable[[str], str] | None = None) -> Callable[[Any], str]:
    """A text field, whitespace collapsed; ``check`` judges a non-empty text further."""

    def convert(value: Any) -> str:
        if value is None:
            text = ""
        elif isinstance(value, str):
            text = " ".join(value.split())
        else:
            raise Invalid(f"'{name}' must be text (got {value!r})")
        return check(text) if check is not None and text else text

    return convert


def _purpose(value: Any) -> str:
    text = _text_field("purpose")(value)
    if not text:
        raise Invalid("'purpose' must say what the port is for")
    return text


def _rfc(text: str) -> str:
    match = _RFC.match(text)
    if not match:
        raise Invalid(f"'rfc' must look like 'RFC 8314' (got {text!r})")
    return f"RFC {int(match.group(1))}"


def _rfc_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.netloc:
        raise Invalid(f"'rfc_url' must be an https:// URL (got {text!r})")
    return text


_ROW = (
    Field("protocol", _protocol, required=True),
    Field("port", _port, required=True),
    Field("transport", _transport, required=True),
    Field("security", _security, required=True),
    Field("service", _text_field("service"), default=""),
    Field("purpose", _purpose, required=True),
    Field("rfc", _text_field("rfc", _rfc), default=""),
    Field("rfc_url", _text_field("rfc_url", _rfc_url), default=""),
    Field("note", _text_field("note"), default=""),
)
"""A port row's fields, in the order their problems are reported."""


def _row_from_mapping(
    data: Any, where: str, source: str, node: yaml.Node | None = None
) -> tuple[PortRow | None, list[NewsdeskError]]:
    """Validate one row; ``where`` names it in messages (``row 3``, ``ports.extra[0]``),
    ``node`` (when known) gives the lines. Returns the row, or None and every problem."""
    line = node_line(node) if node is not None else None
    if not isinstance(data, Mapping):
        return None, [
            NewsdeskError(f"{where}: a port row must be a mapping of fields", source, line)
        ]
    if isinstance(data.get("protocol"), str) and data["protocol"].strip():
        where = f"{where} ({data['protocol'].strip()})"
    checked = check(data, _ROW, source=source, line=line, lines=key_lines(node), where=where)
    errors = checked.errors
    if checked.unknown:
        unknown = ", ".join(map(repr, sorted(checked.unknown)))
        message = f"{where}: unknown field(s) {unknown}; a port row has {', '.join(_FIELDS)}, note"
        errors.insert(0, NewsdeskError(message, source, line))
    if errors:
        return None, errors
    values = checked.values
    if values["rfc"] and not values["rfc_url"]:
        values["rfc_url"] = _RFC_URL.format(values["rfc"].removeprefix("RFC "))
    return PortRow(**values), []


def _rows_from(
    items: Any,
    label: Callable[[int], str],
    source: str,
    nodes: Sequence[yaml.Node] = (),
    line: int | None = None,
) -> list[PortRow]:
    """The rows of a list, each checked; every problem of every row raised at once.
    ``nodes`` are the rows' YAML nodes when known (for lines), ``line`` the list's."""
    if not isinstance(items, list | tuple):
        raise NewsdeskError(
            f"{label(0).removesuffix('[0]')} must be a list of port rows", source, line
        )
    if len(nodes) != len(items):
        nodes = [None] * len(items)
    errors: list[NewsdeskError] = []
    rows: list[PortRow] = []
    seen: dict[tuple[str, int | None], str] = {}
    for i, (item, node) in enumerate(zip(items, nodes, strict=True)):
        row, problems = _row_from_mapping(item, label(i), source, node)
        errors += problems
        if row is None:
            continue
        if row.key in seen:
            errors.append(
                NewsdeskError(
                    f"{label(i)}: {row.protocol} port {row.port} is listed twice "
                    f"(also {seen[row.key]})",
                    source,
                    node_line(node) if node is not None else None,
                )
            )
            continue
        seen[row.key] = label(i)
        rows.append(row)
    raise_all(errors)
    return rows


def _data_rows(data_file: Path) -> list[PortRow]:
    """The rows of the shipped data file (or another in its format), with their lines."""
    data_source = DATA_SOURCE if data_file == DATA_FILE else str(data_file)
    try:
        text = data_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise NewsdeskError(f"cannot read the port registry: {exc}", data_source) from None
    document = load_yaml(text, data_source, problem="cannot read the port registry")
    if not isinstance(document.data, Mapping) or "ports" not in document.data:
        raise NewsdeskError("the port registry needs a top-level 'ports:' list", data_source)
    node = _value_node(document.node, "ports")
    nodes = node.value if isinstance(node, yaml.SequenceNode) else ()
    line = node_line(node) if node is not None else None
    return _rows_from(document.data["ports"], lambda i: f"ports[{i}]", data_source, nodes, line)


def _value_node(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The node of ``key``'s value in a mapping node, or None."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def extra_nodes(config_file: Path) -> list[yaml.Node]:
    """The YAML nodes of the ``ports.extra`` rows in ``mkdocs.yml`` (under the newsdesk
    plugin), for their lines; empty when the file cannot be read or has none."""
    try:
        node = compose_yaml(config_file.read_text(encoding="utf-8-sig"))
    except OSError:
        return []
    plugins = _value_node(node, "plugins")
    items = plugins.value if isinstance(plugins, yaml.SequenceNode) else ()
    for item in items:
        extra = _value_node(_value_node(_value_node(item, "newsdesk"), "ports"), "extra")
        if isinstance(extra, yaml.SequenceNode):
            return list(extra.value)
    return []


def load_registry(
    extra: Sequence[Mapping[str, Any]] = (),
    extra_source: str = "mkdocs.yml",
    data_file: Path = DATA_FILE,
    *,
    extra_file: Path | None = None,
) -> Registry:
    """The shipped registry with ``extra`` rows (``ports.extra`` in mkdocs.yml) applied.

    An extra row with the protocol and port of an existing row replaces it in place (the
    protocol's letter case follows the existing row); others are appended. Invalid rows
    raise :class:`NewsdeskError` naming ``extra_source`` and the entry (``ports.extra[2]``),
    every problem at once; with ``extra_file`` (the ``mkdocs.yml`` the rows were read
    from) each names its line too, as problems in the data file always do.
    """
    rows = _data_rows(data_file)
    nodes = extra_nodes(extra_file) if extra_file is not None else []
    extras = _rows_from(list(extra), lambda i: f"ports.extra[{i}]", extra_source, nodes)

    by_key = {row.key: i for i, row in enumerate(rows)}
    spelling = {row.protocol.casefold(): row.protocol for row in rows}
    for row in extras:
        name = spelling.setdefault(row.protocol.casefold(), row.protocol)
        if name != row.protocol:
            row = replace(row, protocol=name)
        if row.key in by_key:
            rows[by_key[row.key]] = row
        else:
            by_key[row.key] = len(rows)
            rows.append(row)
    return Registry(rows)


# --- rendering -------------------------------------------------------------------------


def _port_label(row: PortRow) -> str:
    return str(row.port) if row.port is not None else "none assigned"


def _row_cells(
    row: PortRow, port_href: str, *, protocol_cell: str | None, notes: bool = True
) -> str:
    rfc = (
        f'<a href="{escape(row.rfc_url)}">{escape(row.rfc or row.rfc_url)}</a>'
        if row.rfc_url
        else escape(row.rfc)
    )
    purpose = escape(row.purpose)
    if notes and row.note:
        purpose += f'<br><small class="newsdesk-port-note">{escape(row.note)}</small>'
    cells = [] if protocol_cell is None else [protocol_cell]
    cells += [
        f'<a href="{escape(port_href)}">{escape(_port_label(row))}</a>',
        escape(row.transport),
        _security_html(row.security),
        f"<code>{escape(row.service)}</code>" if row.service else "–",
        purpose,
        rfc,
    ]
    return "".join(f"<td>{cell}</td>" for cell in cells)


def _security_html(security: str) -> str:
    """The security cell: a known label gets a class to style it, any other stays text."""
    if security not in SECURITY:
        return escape(security)
    kind = slugify(security)
    return f'<span class="nd-security nd-security-{kind}">{escape(security)}</span>'


_HEAD = ("Port", "Transport", "Security", "IANA service", "Purpose", "RFC")


def ports_page_markdown(
    registry: Registry,
    glossary_url_for: Callable[[str], str | None],
    title: str | None = None,
    t: Strings = ENGLISH,
) -> str:
    """The site-wide ``ports/`` page as Markdown, front matter included.

    Needs the ``attr_list`` extension (section ids). ``glossary_url_for(protocol)`` gives
    the URL of the protocol's glossary entry relative to the ports page, or None.
    """
    title = title or t("Ports")
    out = [f"---\ntitle: {title}\n---\n", f"# {title}\n", t("ports page intro") + "\n"]
    for protocol in registry.protocols():
        url = glossary_url_for(protocol)
        name = f"[{protocol}]({url})" if url else protocol
        out.append(f"## {name} {{#{Registry.section_anchor(protocol)}}}\n")
        head = "".join(f"<th>{escape(t(h))}</th>" for h in _HEAD)
        body = "\n".join(
            f'<tr id="{registry.anchor(row)}">'
            f"{_row_cells(row, '#' + registry.anchor(row), protocol_cell=None)}</tr>"
            for row in registry.rows_for(protocol)
        )
        out.append(
            f'<div class="newsdesk-ports">\n<table>\n<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{body}\n</tbody>\n</table>\n</div>\n"
        )
    return "\n".join(out)


def _selected_rows(registry: Registry, protocols: Iterable[str]) -> list[PortRow]:
    """Rows with a port of the given protocols, in registry order."""
    wanted = {p.casefold() for p in protocols}
    return [r for r in registry.rows if r.protocol.casefold() in wanted and r.port is not None]


def port_table_html(
    registry: Registry,
    protocols: Sequence[str],
    ports_url: str,
    heading_id: str = "port-reference",
    t: Strings = ENGLISH,
) -> str:
    """The "Port reference" section for an issue: the rows with a port of ``protocols``.

    ``ports_url`` is the URL of the ``ports/`` page as seen from the page the table goes
    on (relative or absolute); each port links to its row there. Empty when no protocol
    given has a port.
    """
    rows = _selected_rows(registry, protocols)
    if not rows:
        return ""
    head = "".join(f"<th>{escape(t(h))}</th>" for h in ("Protocol", *_HEAD))
    body = []
    for row in rows:
        section = f"{ports_url}#{Registry.section_anchor(row.protocol)}"
        protocol_cell = f'<a href="{escape(section)}">{escape(row.protocol)}</a>'
        href = f"{ports_url}#{registry.anchor(row)}"
        body.append(f"<tr>{_row_cells(row, href, protocol_cell=protocol_cell, notes=False)}</tr>")
    rows_html = "\n".join(body)
    return (
        f'<section class="newsdesk-port-reference">\n'
        f'<h2 id="{escape(heading_id)}">{escape(t("Port reference"))}</h2>\n'
        f"<table>\n<thead><tr>{head}</tr></thead>\n"
        f"<tbody>\n{rows_html}\n</tbody>\n</table>\n</section>"
    )


# ``<!-- ports: nocheck -->`` silences the claim check (newsdesk.claims): no table there.
_MARKER = re.compile(
    r"(?:<p>\s*)?<!--\s*ports(?!\s*:\s*nocheck\s*-->)(?:\s*:\s*(?P<names>[^>]*?))?\s*-->"
    r"(?:\s*</p>)?",
    re.I,
)


def find_markers(html: str) -> list[tuple[int, int, list[str] | None]]:
    """The ``<!-- ports -->`` markers in content HTML: (start, end, names or None).

    Names are separated by spaces, or by commas when there is one.
    """
    found: list[tuple[int, int, list[str] | None]] = []
    if "<!--" not in html:  # the pattern has no literal start: spare the scan
        return found
    for m in _MARKER.finditer(html):
        names = m.group("names")
        if names is not None:
            # Commas separate names of several words ("Post Office Protocol, SMTP").
            sep = "," if "," in names else None
            names = [n.strip() for n in names.split(sep) if n.strip()]
        found.append((m.start(), m.end(), names))
    return found


def place_port_tables(
    html: str,
    mentioned_protocols: Sequence[str],
    registry: Registry,
    mode: str,
    ports_url: str,
    *,
    source: str = "",
    names: Mapping[str, str] | None = None,
    t: Strings = ENGLISH,
) -> str:
    """Put "Port reference" tables into an issue's content HTML.

    ``mentioned_protocols`` are the candidates (the protocols the issue names); a table
    shows those the issue is about (see :func:`discussed_protocols`), not one named in
    passing. ``mode`` ``marker``: each ``<!-- ports -->`` marker becomes a table of them,
    ``<!-- ports: SMTP IMAP -->`` one of the protocols named (registry names or, through
    ``names``, any glossary spelling). ``auto``: the same, and without a marker the table
    goes at the end of the text, before the footnotes. ``off``: markers are removed, no
    table. An unknown protocol in a marker raises NewsdeskError for ``source``.
    """
    if mode not in MODES:
        raise NewsdeskError(f"ports.tables must be one of {', '.join(MODES)} (got {mode!r})")
    markers = find_markers(html)
    if mode == "off":
        return _MARKER.sub("", html)
    lookup = {k.casefold(): v for k, v in (names or {}).items()}
    mentioned_protocols = discussed_protocols(html, mentioned_protocols, registry, names)
    out: list[str] = []
    pos = 0
    for n, (start, end, chosen) in enumerate(markers):
        if chosen is None:
            protocols = list(mentioned_protocols)
        else:
            protocols = []
            for name in chosen:
                protocol = registry.protocol(lookup.get(name.casefold(), name))
                if protocol is None:
                    raise NewsdeskError(
                        f"<!-- ports: {' '.join(chosen)} -->: '{name}' is not a protocol of "
                        f"the port registry ({', '.join(registry.protocols())})",
                        source or None,
                    )
                protocols.append(protocol)
        heading_id = "port-reference" if n == 0 else f"port-reference-{n + 1}"
        out += [html[pos:start], port_table_html(registry, protocols, ports_url, heading_id, t)]
        pos = end
    out.append(html[pos:])
    result = "".join(out)
    if mode == "auto" and not markers:
        table = port_table_html(registry, mentioned_protocols, ports_url, t=t)
        footnotes = _FOOTNOTES.search(result)
        if table and footnotes:
            at = footnotes.start()
            result = result[:at].rstrip("\n") + "\n" + table + "\n" + result[at:]
        elif table:
            result = result.rstrip("\n") + "\n" + table + "\n"
    return result


_FOOTNOTES = re.compile(r'<div class="footnote"')
_NOT_PROSE = re.compile(r"<(pre|code|script|style)\b[^>]*>.*?</\1>", re.S | re.I)
_HEADING = re.compile(r"<h([1-6])\b[^>]*>(.*?)</h\1>", re.S | re.I)
# A definition: a paragraph opening with the term in bold, or a definition-list term.
_DEFINITION = re.compile(r"<p>\s*<(?:strong|b)>(.*?)</(?:strong|b)>|<dt\b[^>]*>(.*?)</dt>", re.S)
_TAG = re.compile(r"<[^>]+>")
_PROSE_BLOCK = re.compile(r"<(p|li|tr|dt|dd|h[1-6])\b[^>]*>(.*?)</\1>", re.S | re.I)
MIN_MENTIONS = 2
"""Mentions that make a protocol a topic of an issue even without heading or definition."""


def _text(html: str) -> str:
    return unescape(_TAG.sub(" ", html))


def discussed_protocols(
    html: str,
    candidates: Sequence[str],
    registry: Registry,
    names: Mapping[str, str] | None = None,
) -> list[str]:
    """The ``candidates`` an issue's content HTML is about, in the given order.

    A protocol counts when the issue defines it (a paragraph opening with its name in
    bold, a definition-list term), names it in a heading (which is how port lists are
    introduced: "IMAP Port Numbers"), lists one of its ports beside its name (a table
    row, a list item, a paragraph), or names it at least :data:`MIN_MENTIONS` times
    outside code. One passing mention ("unlike POP, …") does not make a table row.
    ``names`` maps spellings (aliases, expansions) to registry protocols.
    """
    if not candidates:
        return []
    finder = NameFinder({**default_names(registry), **(names or {})}, registry)
    prose = _NOT_PROSE.sub(" ", html)
    counts = finder.count(_text(prose))
    featured: set[str] = set()
    for m in _HEADING.finditer(prose):
        featured |= set(finder.find(_text(m.group(2))))
    for m in _DEFINITION.finditer(prose):
        featured |= set(finder.find(_text(m.group(1) or m.group(2) or "")))
    # A protocol named beside one of its own ports in a paragraph, list item or table row
    # has its ports listed: "| IMAP | 993 |", "- POP3: 110".
    for m in _PROSE_BLOCK.finditer(prose):
        text = _text(m.group(2))
        numbers = {int(n) for n in re.findall(r"(?<![\w.])\d{1,5}(?![\w.])", text)}
        if numbers:
            featured |= {p for p in finder.find(text) if numbers & set(registry.ports_of(p))}
    return [
        p
        for p in candidates
        if p in featured or counts.get(registry.protocol(p) or p, 0) >= MIN_MENTIONS
    ]


def glossary_ports_markdown(
    registry: Registry, protocol: str, ports_url: str, t: Strings = ENGLISH
) -> str:
    """The line a protocol's glossary entry shows: its ports, each linking to its row.

    ``ports_url`` is the ``ports/`` page as seen from the glossary page. Empty when the
    registry has no row for the protocol.
    """
    rows = registry.rows_for(protocol)
    if not rows:
        return ""
    parts = []
    for row in rows:
        href = f"{ports_url}#{registry.anchor(row)}"
        if row.port is None:
            parts.append(f"[{t('none assigned')}]({href})")
        else:
            parts.append(f"[{row.port}]({href}) ({row.transport}, {row.security})")
    label = t("Port") if len(rows) == 1 else t("Ports")
    return f"**{label}:** " + " · ".join(parts)


# --- links from prose ------------------------------------------------------------------

_SKIP = frozenset({"a", "code", "pre", "kbd", "samp", "script", "style", "textarea", "svg"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


class _TextFinder(HTMLParser):
    """Collects (offset, text, kind) of every linkable text run of an HTML fragment.

    Offsets are exact positions in the source, so the HTML is changed only where a link
    is inserted. ``kind`` is ``prose`` or ``item-start`` (first text of a list item under
    a heading about ports).
    """

    def __init__(self, html: str):
        super().__init__(convert_charrefs=False)
        self.html = html
        self._line_starts = [0] + [m.end() for m in re.finditer(r"\n", html)]
        self.runs: list[tuple[int, str, str, str]] = []
        self._skip = 0
        self._in_heading = False
        self._heading_text: list[str] = []
        self.heading = ""
        self._item_start = False
        self.feed(html)
        self.close()

    def _offset(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        if tag in _SKIP:
            self._skip += 1
        elif tag in _HEADINGS:
            self._in_heading, self._heading_text = True, []
            self._item_start = False
        elif tag == "li":
            self._item_start = True

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _HEADINGS and self._in_heading:
            self._in_heading = False
            self.heading = "".join(self._heading_text)

    def handle_data(self, data: str) -> None:
        if self._in_heading:
            self._heading_text.append(data)
            return
        if self._skip:
            if data.strip():
                self._item_start = False
            return
        kind = "prose"
        if self._item_start and data.strip():
            self._item_start = False
            if WORD_PORT.search(self.heading):
                kind = "item-start"
        self.runs.append((self._offset(), data, kind, self.heading))


def link_port_mentions(html: str, registry: Registry, ports_url: str) -> str:
    """Link port numbers in content HTML to their rows on the ``ports/`` page.

    Linked: ``port 993`` / ``ports 143 and 993`` in prose, and a number starting a list
    item under a heading that mentions ports (``- 993 – IMAP over TLS``). Only ports the
    registry lists; never inside code, pre, links, headings or attributes. Under a heading
    naming a protocol, a port shared by several protocols links to that protocol's row.
    """
    # Both kinds need the word "port" somewhere; a plain substring test is the cheap sieve.
    if "port" not in html.lower() or not WORD_PORT.search(html):
        return html
    edits: list[tuple[int, int, str]] = []
    protocols = registry.protocols()

    def href(number: str, heading: str) -> str | None:
        hint = next(
            (p for p in protocols if re.search(rf"\b{re.escape(p)}\b", heading, re.I)), None
        )
        anchor = registry.anchor_for(int(number), hint)
        return f"{ports_url}#{anchor}" if anchor else None

    for offset, text, kind, heading in _TextFinder(html).runs:
        if kind == "item-start":
            m = LEADING_PORT.match(text)
            if m and (target := href(m.group("port"), heading)):
                s, e = offset + m.start("port"), offset + m.end("port")
                edits.append((s, e, f'<a class="newsdesk-port" href="{escape(target)}">'))
        for m in PORT_MENTION.finditer(text):
            numbers = list(NUMBER.finditer(m.group("list")))
            base = offset + m.start("list")
            for k, num in enumerate(numbers):
                target = href(num.group(), heading)
                if not target:
                    continue
                # The first number's link covers "port 993"; later ones only the number.
                s = offset + m.start("word") if k == 0 else base + num.start()
                e = base + num.end()
                edits.append((s, e, f'<a class="newsdesk-port" href="{escape(target)}">'))
    if not edits:
        return html
    out, pos = [], 0
    for s, e, opening in sorted(edits):
        if s < pos:
            continue
        out += [html[pos:s], opening, html[s:e], "</a>"]
        pos = e
    out.append(html[pos:])
    return "".join(out)
