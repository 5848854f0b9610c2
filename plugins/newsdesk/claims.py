"""The port-claim check: clear statements of a protocol's port, against the registry.

Only clear claims are checked, so that a warning (an error in the strict build) means a
real contradiction. A claim is

* a port **listed under a protocol's heading** when the heading is a port list for that
  one protocol (``IMAP Port Numbers``, ``Ports used by POP``, ``SMTP ports``): a list item
  opening with the number (``- 993 – secure``, ``- port 993``) or a table row under it;
* a **sentence** that says so: ``IMAP uses port 993``, ``the SMTP server listens on
  port 25``, ``POP3 runs on 110``, ``port 993 is for IMAP``, ``port 25 is the SMTP port``,
  ``port 993 is what IMAP uses``, ``IMAP (port 143)``, ``the IMAP port 143``,
  ``ports 25 (SMTP) and 993 (IMAPS)``, or ``- SMTP: 25, 465`` opening a list item;
* a **table row** whose Protocol column names one protocol and whose Port column gives
  only numbers.

Everything else is not a claim: two protocols and two ports in one sentence say nothing
about each other (``it asks DNS on port 53 … then connects on port 25``), a list under
"DNS troubleshooting" is no port list, and ``Use port 443 for SSH`` is advice, not a
statement of what SSH uses. A port the registry does not list contradicts nothing.

The author silences the check for one block with ``<!-- ports: nocheck -->`` on the line
before it (before a heading: its whole section), or everywhere with ``ports.check: off``.

The check reads the Markdown source (skipping fenced and indented code blocks, HTML
comments and link targets) so that every problem carries its exact line. Headings are
``#`` headings, setext headings, and, for text pasted from elsewhere, a short single-line
paragraph without closing punctuation (``IMAP Port Numbers``). Nothing here imports MkDocs.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from newsdesk.ports import (
    LEADING_PORT,
    PORT_LIST,
    PORT_WORD,
    WORD_PORT,
    NameFinder,
    Registry,
    default_names,
    port_numbers,
)

__all__ = ["NOCHECK", "ClaimProblem", "check_claims", "default_names", "named_protocols"]

NOCHECK = "<!-- ports: nocheck -->"
"""The comment that silences the check for the block after it."""
_NOCHECK = re.compile(r"<!--\s*ports\s*:\s*nocheck\s*-->", re.I)
HINT = f"if the text is right, put {NOCHECK} before this block or set ports.check: off"

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_ATX = re.compile(r"^\s{0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$")
_SETEXT = re.compile(r"^\s{0,3}(?:=+|-+)\s*$")
_ITEM = re.compile(r"^(\s*)(?:[-*+•·▪◦‣●]|\d{1,9}[.)])(?:\s+|$)")
_HR = re.compile(r"^\s{0,3}(?:(?:\*\s*){3,}|(?:-\s*){3,}|(?:_\s*){3,})$")
_ROW = re.compile(r"^\s{0,3}\|")
_ROW_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_LINK_TARGET = re.compile(r"\]\([^)\n]*\)|<[a-z][a-z0-9+.-]*:[^>\s]*>|\bhttps?://\S+", re.I)
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S.*$", re.M)
_PSEUDO_HEADING_MAX = 60

# Words a heading may have besides one protocol's name and still be a plain port list.
_LIST_HEADING_WORDS = frozenset(
    re.findall(
        r"\S+",
        "port ports number numbers no for the a an used by default defaults common commonly "
        "standard well-known known official registered assigned email mail and of tcp udp "
        "its which what does do use uses secure insecure encrypted unencrypted list overview "
        "reference",
    )
)
_PORT_CELL = re.compile(rf"^\s*[*_`]*(?P<list>{PORT_LIST})(?:/(?:tcp|udp))?[*_`]*\s*$", re.I)
# Without the word "port", a number after a claim's verb must end the phrase, so that
# "SMTP uses 7-bit text" or "IMAP uses 2 connections" claim nothing.
_BARE_END = re.compile(
    r"\s*(?:$|[.,;:!?)\]–—(]|/(?:tcp|udp)\b|\s+(?:and|or|for|by|to|in|on|when|with|as|"
    r"instead|rather|but|while|unless|over|if)\b)",
    re.I,
)


_EMPH = r"[*_`]*"
_ADVERB = (
    r"(?:usually|normally|typically|generally|commonly|traditionally|always|only|mainly|"
    r"mostly|primarily|by\s+default|by\s+convention)"
)
_ADJECTIVES = (
    r"(?:(?:default|standard|usual|official|well-known|registered|assigned|secure|encrypted|"
    r"plain(?:-?text)?|unencrypted|cleartext|traditional|classic|main|legacy|TCP|UDP|TCP/UDP)"
    r"\s+)*"
)
# What may stand between a protocol's name and its verb: "IMAP over TLS", "SMTP traffic",
# "POP3 (Post Office Protocol)", and a role ("the IMAP server"). A qualifier naming another
# protocol makes the subject ambiguous ("IMAP (and POP) use …"); see _paragraph_claims.
_QUALIFIER = (
    r"(?P<qual>(?:\s*\([^()\n]{1,80}\)|\s+(?:over|with)\s+(?:SSL/TLS|TLS|SSL|STARTTLS|"
    r"implicit\s+TLS)|\s+(?:traffic|connections?|itself|submission|relay(?:s|ing)?|queries|"
    r"requests|(?P<role>servers?|clients?|daemons?|services?|proxy|proxies)))*)"
)
# Software named after a protocol uses other protocols too ("SMTP servers use port 53 to
# look up MX records", "IMAP clients connect to port 587 to send"): with such a subject
# only the verbs of a server's own port make a claim.
_OWN_PORT_VERB = re.compile(
    r"(?:listens?|runs?|binds?|lives?|operates?|defaults?|(?:is|are)\b)", re.I
)
_VERB = (
    r"(?:uses?|runs?\s+on|listens?\s+on|(?:is|are)\s+(?:served\s+)?on|lives?\s+on|"
    r"operates?\s+on|works?\s+on|defaults?\s+to|connects?\s+(?:to|on|over|via)|"
    r"communicates?\s+(?:on|over|via)|talks?\s+(?:on|over)|binds?\s+to|"
    r"(?:is|are)\s+assigned(?:\s+to)?|goe?s?\s+(?:over|through|to)|"
    r"(?:is|are)(?=\s+(?:TCP\s+|UDP\s+)?ports?\s+\d))"
)
_PORT_WORD = r"(?P<word>(?:TCP\s+|UDP\s+)?ports?\s+(?:(?:number|no\.)\s+)?)"


@lru_cache(maxsize=16)
def _patterns(alternation: str) -> tuple[re.Pattern[str], ...]:
    """The claim phrasings for one set of protocol spellings; each pattern has the groups
    ``proto`` (the spelling), ``list`` (the port numbers) and maybe ``word`` ("port")."""
    name = rf"{_EMPH}(?<![\w-])(?P<proto>{alternation})(?![\w-]){_EMPH}"
    other = rf"(?<![\w-])(?:{alternation})(?![\w-])"
    # A clause starts a block, or follows punctuation (", and …"): not a bare "and", "nor"
    # or "that", so that "SMTP and IMAP use …", "neither POP nor IMAP uses …" and
    # "people think POP uses …" claim nothing. "POP, IMAP, and SMTP use …" is a list of
    # subjects, left out in _phrase_claims.
    start = r"(?:^|(?<=[.!?;:,(–—]))\s*(?:(?:and|but|while|whereas|so)\s+)?(?:[Tt]he\s+)?"
    listed = rf"(?P<list>{PORT_LIST})(?:/(?:tcp|udp))?\b(?![.,]?\d)"
    port_first = rf"\b{PORT_WORD}{listed}\s+"
    phrasings = [
        # IMAP uses port 993 / the SMTP server listens on port 25 / IMAP is port 143
        rf"{start}{name}{_QUALIFIER},?(?:\s+{_ADVERB})?\s+(?P<verb>{_VERB})\s+"
        rf"(?:(?:the|its)\s+)?{_ADJECTIVES}{_PORT_WORD}?{listed}",
        # IMAP (port 143) / IMAP (e.g. port 995)
        rf"{name}\s*\(\s*(?:e\.g\.,?\s*|i\.e\.,?\s*|usually\s+|by\s+default\s+)?"
        rf"{_ADJECTIVES}{_PORT_WORD}{listed}",
        # the IMAP port 143 / SMTP ports 25 and 587
        rf"{start}{name}\s+{_ADJECTIVES}{_PORT_WORD}{listed}",
        # at a block's start: "- SMTP: 25, 465" / "IMAP – port 143"
        rf"^\s*{name}(?:\s*\([^()\n]{{1,80}}\))?\s*(?::|–|—|\s-|=)\s*"
        rf"{_ADJECTIVES}{_PORT_WORD}?{listed}",
        # port 993 is for IMAP / port 25 is the SMTP port / port 587 is used by SMTP
        rf"{port_first}(?:is|are)\s+(?:{_ADVERB}\s+)?"
        rf"(?:(?:used|reserved|assigned|registered|meant|intended|dedicated)\s+)?"
        rf"(?:(?:for|by|to)\s+)?(?:(?:the|a|an)\s+)?{_ADJECTIVES}"
        rf"{name}(?!\s+(?:over|via|through|inside|in)\s+{other})"
        rf"(?![*_`]*\s*(?:,|/|&|\band\b|\bor\b)\s*(?:the\s+)?{_EMPH}{other})",
        # port 465 is what IMAP uses
        rf"{port_first}(?:is|are)\s+what\s+{name}\s+uses",
        # port 25 belongs to SMTP
        rf"{port_first}(?:belongs\s+to|carries|serves)\s+(?:the\s+)?{name}",
    ]
    return tuple(re.compile(p) for p in phrasings)


@lru_cache(maxsize=16)
def _listed_before(alternation: str) -> re.Pattern[str]:
    """A protocol's name and a comma just before a subject: "POP, IMAP, and SMTP use"."""
    return re.compile(
        rf"(?<![\w-])(?:{alternation})[*_`]*\s*[,;/]\s*(?:(?:and|or)\s+)?(?:the\s+)?[*_`]*$"
    )


# "ports 25 (SMTP), 587 (submission) and 993 (IMAPS)": numbers each tagged with a name.
_TAGGED = re.compile(
    rf"\b{PORT_WORD}"
    r"(?P<chain>\d{1,5}(?:/(?:tcp|udp))?\s*\([^()\n]{1,60}\)"
    r"(?:\s*(?:,|;|\band\b|\bor\b)\s*(?:and\s+|or\s+)?"
    r"\d{1,5}(?:/(?:tcp|udp))?\s*\([^()\n]{1,60}\))*)"
)

_DIGIT = re.compile(r"\d")
_TAG = re.compile(r"(\d{1,5})(?:/(?:tcp|udp))?\s*\(([^()\n]{1,60})\)", re.I)


@dataclass(frozen=True)
class ClaimProblem:
    """A port the issue attributes to a protocol the registry does not list it under."""

    source: str
    line: int
    said: str
    """What the issue says: ``'993' is listed under the POP heading``."""
    registry_says: str
    """What the registry says: ``port 993 is IMAP over implicit TLS (IMAPS) …``."""
    port: int = 0
    protocol: str = ""

    @property
    def message(self) -> str:
        return f"{self.said}, but {self.registry_says}"

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}; {HINT}"


@dataclass
class _Block:
    kind: str  # "heading", "paragraph", "item" or "row"
    start: int  # offset of the block's first character in the masked text
    end: int
    pseudo: bool = False
    indent: int = 0
    lines: list[int] = field(default_factory=list)


def _mask(markdown: str) -> str:
    """The Markdown with code blocks, comments and link targets blanked out.

    Every character keeps its offset and every newline stays, so line numbers hold.
    """

    def blank(m: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", m.group())

    text = _COMMENT.sub(blank, markdown)
    text = _REF_DEF.sub(blank, text)
    text = _LINK_TARGET.sub(blank, text)
    lines = text.split("\n")
    out: list[str] = []
    fence: str | None = None
    in_indented = False
    prev_blank = True
    in_list = False
    for line in lines:
        stripped = line.strip()
        if fence is not None:
            out.append("")
            if stripped.startswith(fence) and set(stripped) <= set(fence[0]):
                fence = None
            continue
        m = _FENCE.match(line)
        if m:
            fence = m.group(1)
            out.append("")
            continue
        indented = line.startswith(("    ", "\t"))
        if stripped and indented and not in_list and (prev_blank or in_indented):
            in_indented = True
            out.append("")
            continue
        if stripped:
            in_indented = False
            if _ITEM.match(line):
                in_list = True
            elif not line[:1].isspace() and prev_blank:
                in_list = False
        prev_blank = not stripped
        out.append(line)
    return "\n".join(out)


def _blocks(text: str) -> list[_Block]:
    """Split masked Markdown into headings, paragraphs and list items."""
    blocks: list[_Block] = []
    current: _Block | None = None
    offset = 0
    prev_blank = True
    for index, line in enumerate(text.split("\n")):
        start, end = offset, offset + len(line)
        offset = end + 1
        stripped = line.strip()
        if not stripped:
            if current is not None and current.kind != "item":
                current = None
            prev_blank = True
            continue
        if _ATX.match(line) and line.lstrip().startswith("#"):
            blocks.append(_Block("heading", start, end, lines=[index]))
            current = None
        elif (
            _SETEXT.match(line)
            and current is not None
            and current.kind == "paragraph"
            and len(current.lines) == 1
            and not prev_blank
        ):
            current.kind = "heading"
            current = None
        elif _HR.match(line):
            current = None
        elif _ROW.match(line):
            if not _ROW_RULE.match(line):
                blocks.append(_Block("row", start, end, lines=[index]))
            current = None
        elif item := _ITEM.match(line):
            current = _Block("item", start, end, indent=len(item.group(1)), lines=[index])
            blocks.append(current)
        elif current is not None and (
            not prev_blank or (current.kind == "item" and line[:1].isspace())
        ):
            current.end = end
            current.lines.append(index)
        else:
            current = _Block("paragraph", start, end, lines=[index])
            blocks.append(current)
        prev_blank = False
    for block in blocks:
        if block.kind == "paragraph" and len(block.lines) == 1:
            body = text[block.start : block.end].strip()
            block.pseudo = (
                len(body) <= _PSEUDO_HEADING_MAX
                and body[-1] not in ".!?,;:…"
                and (body[0].isalpha() or body[0] in "*_")
                and "|" not in body
            )
    return blocks


def named_protocols(
    markdown: str, registry: Registry, names: Mapping[str, str] | None = None
) -> list[str]:
    """The registry protocols a Markdown text names (outside code), in registry order.

    A fallback for choosing an issue's port table when the glossary's term matches are
    not at hand; ``names`` as for :func:`check_claims`.
    """
    finder = NameFinder({**default_names(registry), **(names or {})}, registry)
    found = finder.find(_mask(markdown))
    return [p for p in registry.protocols() if p in found]


def _list_heading_protocol(heading: str, finder: NameFinder) -> tuple[str, str] | None:
    """(protocol, spelling) when a heading is plainly a port list for one protocol:
    ``IMAP Port Numbers``, ``Ports used by POP3``, ``Which ports does SMTP use?``.

    ``DNS troubleshooting``, ``HTTPS checklist`` or ``POP and IMAP ports`` are not."""
    found = finder.find(heading)
    if len(found) != 1 or finder.pattern is None:
        return None
    words = [w.casefold() for w in re.findall(r"[^\W\d_][\w'-]*", finder.pattern.sub(" ", heading))]
    if not {"port", "ports"} & set(words) or not set(words) <= _LIST_HEADING_WORDS:
        return None
    return next(iter(found.items()))


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def _nocheck_ends(markdown: str) -> list[int]:
    """Offsets just after each ``<!-- ports: nocheck -->`` comment."""
    return [m.end() for m in _NOCHECK.finditer(markdown)] if "nocheck" in markdown else []


def check_claims(
    markdown: str,
    source: str,
    first_line: int,
    registry: Registry,
    names: Mapping[str, str] | None = None,
) -> list[ClaimProblem]:
    """Check the clear port claims of an issue against the registry (see the module).

    ``markdown`` is the issue body, whose first line is line ``first_line`` of ``source``.
    ``names`` maps every spelling (term, alias, expansion such as 'Post Office Protocol')
    to a registry protocol; the protocols' own names and IANA service names such as IMAPS
    are always known. Returns the contradictions in the order of the text.
    """
    if not _DIGIT.search(markdown):
        return []
    finder, phrases = _reader(registry, tuple({**default_names(registry), **(names or {})}.items()))
    if finder.pattern is None or not finder.pattern.search(markdown):
        return []
    text = _mask(markdown)
    if not finder.pattern.search(text):
        return []  # the only names are in code, which is not prose
    check = _Found(registry, source, first_line, text)
    where = _Where()
    for block, quiet in _silenced_blocks(_blocks(text), _nocheck_ends(markdown)):
        body = text[block.start : block.end]
        names_here = where.enter(block, body, finder)
        if quiet:
            if block.kind == "item":
                where.parents.append((block.indent, names_here))
            continue
        offset = _content_start(block, body)
        for spelled, port, at, phrase in phrases.claims(text, offset, block.end):
            check(port, finder.protocol(spelled), at, f'the text says "{phrase}"')
        if block.kind == "item":
            _check_item(text, block, offset, where, check)
            where.parents.append((block.indent, names_here))
        elif block.kind == "row":
            cells = _cells(body)
            if where.table is None:
                where.table = _columns(cells)
                continue
            _check_row(cells, block, text, where.table, where.heading, finder, check)
    return sorted(check.problems.values(), key=lambda p: (p.line, p.port))


class _Found:
    """The contradictions found in one text, at most one per (offset, port); calling it
    checks one claim: ``check(port, protocol, offset of the port, what the text says)``."""

    def __init__(self, registry: Registry, source: str, first_line: int, text: str):
        self.registry = registry
        self.source = source
        self.first_line = first_line
        self.line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self.problems: dict[tuple[int, int], ClaimProblem] = {}

    def line_of(self, offset: int) -> int:
        return self.first_line + bisect_right(self.line_starts, offset) - 1

    def __call__(self, port: int, protocol: str, offset: int, said: str) -> None:
        registry = self.registry
        rows = registry.rows_for_port(port)
        if not rows or not registry.rows_for(protocol) or (offset, port) in self.problems:
            return
        if any(r.protocol == protocol for r in rows):
            return
        own = registry.ports_of(protocol)
        uses = f"{protocol} uses {', '.join(map(str, own))}" if own else f"{protocol} has no port"
        what = " and ".join(r.describe() for r in rows)
        self.problems[(offset, port)] = ClaimProblem(
            source=self.source,
            line=self.line_of(offset),
            said=said,
            registry_says=f"port {port} is {what} in the registry ({uses})",
            port=port,
            protocol=protocol,
        )


@dataclass
class _Where:
    """Where the walk through the blocks is: under which port list, list items, table."""

    heading: tuple[str, str] | None = None
    """The (protocol, spelling) of the port list the blocks stand under."""
    parents: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    """The enclosing list items: (indent, the protocols each names)."""
    table: dict[str, int] | None = None
    """The column of "protocol" and "port" in the current table."""

    def enter(self, block: _Block, body: str, finder: NameFinder) -> dict[str, str]:
        """Move on to ``block``; returns the protocols it names."""
        names_here = finder.find(body)
        if block.kind == "heading" or block.pseudo:
            self.heading = _list_heading_protocol(body, finder)
        elif block.kind == "paragraph" and any(p != (self.heading or ("",))[0] for p in names_here):
            self.heading = None  # prose about another protocol ends the list
        if block.kind != "row":
            self.table = None
        if block.kind == "item":
            self.parents = [(i, n) for i, n in self.parents if i < block.indent]
        return names_here


def _content_start(block: _Block, body: str) -> int:
    """The offset of a block's words: after a list item's marker or a heading's ``#``."""
    if block.kind == "item":
        marker = _ITEM.match(body)
        assert marker is not None
        return block.start + marker.end()
    if block.kind == "heading" and body.lstrip().startswith("#"):
        return block.start + len(body) - len(body.lstrip().lstrip("#"))
    return block.start


def _check_item(text: str, block: _Block, offset: int, where: _Where, check: _Found) -> None:
    """A list item opening with a port, under a port list's heading and no other
    protocol's list item, claims that port for the heading's protocol."""
    lead = LEADING_PORT.match(text, offset, block.end)
    parent_names = {p for _, n in where.parents for p in n}
    if lead and where.heading and parent_names <= {where.heading[0]}:
        protocol, spelled = where.heading
        port = lead.group("port")
        check(
            int(port),
            protocol,
            lead.start("port"),
            f"'{port}' is listed under the {spelled} heading",
        )


def _columns(cells: list[str]) -> dict[str, int]:
    """A table's header row: the column of the protocol and of the port, where there is one."""
    table: dict[str, int] = {}
    for i, cell in enumerate(c.casefold() for c in cells):
        if re.fullmatch(r"[*_`]*(?:protocol|service|proto)s?[*_`]*", cell):
            table.setdefault("protocol", i)
        elif WORD_PORT.search(cell) and "port" not in table:
            table["port"] = i
    return table


_Check = Callable[[int, str, int, str], None]
"""check(port, protocol, offset of the port, what the text says)"""


def _check_row(
    cells: list[str],
    block: _Block,
    text: str,
    table: Mapping[str, int],
    heading: tuple[str, str] | None,
    finder: NameFinder,
    check: _Check,
) -> None:
    """A table row: its Port cell against its Protocol cell, or against the heading of
    the port list it stands under when the table has no Protocol column."""
    column = table.get("port", 0)
    if column >= len(cells):
        return
    port_cell = _PORT_CELL.match(cells[column])
    if port_cell is None:
        return
    at = block.start + text[block.start : block.end].find(cells[column])
    numbers = [(n, at + port_cell.start("list") + o) for n, o in port_numbers(port_cell["list"])]
    if "protocol" in table:
        if table["protocol"] >= len(cells):
            return
        cell = cells[table["protocol"]]
        named = finder.find(cell)
        assert finder.pattern is not None
        rest = re.sub(r"\([^)]*\)|[*_`]", " ", finder.pattern.sub(" ", cell))
        if len(named) != 1 or len(rest.split()) > 2:
            return
        protocol, spelled = next(iter(named.items()))
        for port, offset in numbers:
            check(port, protocol, offset, f"the table gives {spelled} port {port}")
    elif heading is not None:
        protocol, spelled = heading
        for port, offset in numbers:
            check(port, protocol, offset, f"'{port}' is listed under the {spelled} heading")


_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")


class _Phrases:
    """The claims made in words, for one set of protocol spellings (see :func:`_patterns`)."""

    def __init__(self, finder: NameFinder):
        self.finder = finder
        self.patterns = _patterns(finder.alternation)
        self.listed_before = _listed_before(finder.alternation)
        # Every claim has a port number and a protocol's name: a paragraph without both is
        # passed over before the phrase patterns run (they are most of a build's claim time).
        self.named = re.compile(finder.alternation) if finder.alternation else None

    def claims(self, text: str, start: int, end: int) -> Iterator[tuple[str, int, int, str]]:
        """Claims made in the words of one block: (spelling of the protocol, port, offset of
        the port, the phrase as written). Each paragraph of a list item reads on its own."""
        pos = start
        for gap in [*_BLANK_LINE.finditer(text, start, end), None]:
            stop = gap.start() if gap else end
            yield from self._paragraph(text, pos, stop)
            pos = gap.end() if gap else end

    def _paragraph(self, text: str, start: int, end: int) -> Iterator[tuple[str, int, int, str]]:
        if not _DIGIT.search(text, start, end) or not (
            self.named and self.named.search(text, start, end)
        ):
            return
        body = text[start:end]
        finder, listed_before = self.finder, self.listed_before
        for pattern in self.patterns:
            for m in pattern.finditer(body):
                if "qual" in pattern.groupindex and m.group("qual"):
                    others = set(finder.find(m.group("qual"))) - {finder.protocol(m.group("proto"))}
                    if others:  # "IMAP (and POP) use …": no single subject
                        continue
                role = "role" in pattern.groupindex and m.group("role")
                if role and not _OWN_PORT_VERB.match(m.group("verb")):
                    continue  # "SMTP servers use port 53 …": the software, not SMTP
                if listed_before.search(body, 0, m.start("proto")):
                    continue  # "POP, IMAP, and SMTP use ports …": several subjects
                bare = "word" in pattern.groupindex and not m.group("word")
                if bare and not _BARE_END.match(body, m.end()):
                    continue  # a number without "port" must end the phrase
                phrase = " ".join(re.sub(r"[*_`]", "", m.group()).split()).lstrip(".!?;:,(–— ")
                for port, offset in port_numbers(m.group("list")):
                    at = start + m.start("list") + offset
                    yield m.group("proto"), port, at, phrase
        for m in _TAGGED.finditer(body):
            for tag in _TAG.finditer(m.group("chain")):
                named = finder.find(tag.group(2))
                if len(named) != 1:
                    continue
                spelled = next(iter(named.values()))
                if not re.match(rf"\W*{re.escape(spelled)}\b", tag.group(2)):
                    continue  # "port 993 (not POP)" names POP without saying 993 is POP's
                at = start + m.start("chain") + tag.start(1)
                yield spelled, int(tag.group(1)), at, " ".join(tag.group().split())


_READERS: dict[tuple[int, tuple[tuple[str, str], ...]], tuple[Registry, NameFinder, _Phrases]] = {}


def _reader(registry: Registry, names: tuple[tuple[str, str], ...]) -> tuple[NameFinder, _Phrases]:
    """The name finder and phrase patterns for ``registry`` and ``names``, made once per
    build instead of once per issue (a build checks every issue with the same ones)."""
    key = (id(registry), names)
    known = _READERS.get(key)
    if known is None or known[0] is not registry:
        finder = NameFinder(dict(names), registry)
        if len(_READERS) > 8:
            _READERS.clear()
        known = _READERS[key] = (registry, finder, _Phrases(finder))
    return known[1], known[2]


def _silenced_blocks(blocks: list[_Block], nocheck: list[int]) -> list[tuple[_Block, bool]]:
    """Each block with whether a ``<!-- ports: nocheck -->`` silences it: the block right
    after the comment; for a list or table all of it, for a heading its whole section."""
    out: list[tuple[_Block, bool]] = []
    pending = sorted(nocheck)
    quiet_kind = ""  # what the current silence covers: "item", "row" or "heading"
    for block in blocks:
        hit = False
        while pending and pending[0] <= block.start:
            pending.pop(0)
            hit = True
        if hit:
            quiet_kind = "heading" if block.kind == "heading" or block.pseudo else block.kind
            out.append((block, True))
            continue
        new_section = block.kind == "heading" or block.pseudo
        if quiet_kind == "heading":
            quiet_kind = "" if new_section else quiet_kind
        elif quiet_kind == "paragraph" or block.kind != quiet_kind:
            quiet_kind = ""  # a paragraph ends at once, a list or table with its last line
        out.append((block, bool(quiet_kind)))
    return out
