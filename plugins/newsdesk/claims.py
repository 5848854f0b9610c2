"""The port-claim check: port numbers an issue attributes to a protocol, against the registry.

A port is attributed to a protocol when it stands

* in the same sentence as the protocol's name (``IMAP listens on port 993``),
* in the same list item as the name, when its own sentence names no protocol, or
* at the start of a list item (``- 993 – secure``) or as ``port 993`` in a list item that
  names no protocol, in a list under a heading naming the protocol (``POP Port Numbers``).

A port leading a list item under a protocol's heading is checked against that heading
even when the item names another protocol. Otherwise the nearest context wins, and a
context naming two or more protocols is ambiguous and claims nothing, so no false alarms
come from sentences such as "SMTP uses 25, IMAP 143".
A port the registry does not list is not a contradiction. Only numbers written as
``port N`` / ``ports N and M`` or at the start of a list item count, never "25 years".

The check reads the Markdown source (skipping fenced and indented code blocks, HTML
comments and link targets) so that every problem carries its exact line. Headings are
``#`` headings, setext headings, and, for text pasted from elsewhere, a short single-line
paragraph without closing punctuation (``IMAP Port Numbers``). Nothing here imports MkDocs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from newsdesk.ports import Registry

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_ATX = re.compile(r"^\s{0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$")
_SETEXT = re.compile(r"^\s{0,3}(?:=+|-+)\s*$")
_ITEM = re.compile(r"^(\s*)(?:[-*+•·▪◦‣●]|\d{1,9}[.)])(?:\s+|$)")
_HR = re.compile(r"^\s{0,3}(?:(?:\*\s*){3,}|(?:-\s*){3,}|(?:_\s*){3,})$")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_LINK_TARGET = re.compile(r"\]\([^)\n]*\)|<[a-z][a-z0-9+.-]*:[^>\s]*>|\bhttps?://\S+", re.I)
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S.*$", re.M)

_PORT_WORDS = re.compile(
    r"\b[Pp]orts?\s+(?:(?:number|no\.)\s+)?"
    r"(?P<list>\d{1,5}(?:\s*(?:,|/|\band\b|\bor\b|&)\s*\d{1,5})*)\b(?![.,]?\d)"
)
_NUMBER = re.compile(r"\d{1,5}")
# A number opening a list item, possibly emphasised: "993 – …", "**993**: …", "993/tcp".
_ITEM_NUMBER = re.compile(r"^\s*(?:[-*+•·▪◦‣●]|\d{1,9}[.)])\s+[*_`]*\d", re.M)
_MAYBE_CLAIM = re.compile(
    r"\bports?\s+(?:(?:number|no\.)\s+)?\d|^\s*(?:[-*+•·▪◦‣●]|\d{1,9}[.)])\s+[*_`]*\d",
    re.I | re.M,
)
_LEADING = re.compile(r"^[*_`]*(\d{1,5})[*_`]*(?=\s|$|[–—:,-]|/(?:tcp|udp))", re.I)
# Sentence ends: ., ! or ? before whitespace and a capital (or the end), except after
# common abbreviations.
_SENTENCE_END = re.compile(
    r"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)(?<!\bvs)(?<!\bcf)(?<!\bNo)[.!?]+(?=\s+[\"'(*_\[]?[A-Z]|\s*$)"
)
_PSEUDO_HEADING_MAX = 60


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
        return f"{self.source}:{self.line}: {self.message}"


@dataclass
class _Block:
    kind: str  # "heading", "paragraph" or "item"
    start: int  # offset of the block's first character in the masked text
    end: int
    pseudo: bool = False
    lines: list[int] = field(default_factory=list)


def default_names(registry: Registry) -> dict[str, str]:
    """Spellings known without a glossary: each protocol's name and the IANA service
    names that extend it (``IMAPS``, ``POP3``, ``POP3S``)."""
    names = {p: p for p in registry.protocols()}
    for row in registry.rows:
        service = row.service.upper()
        if service and service.startswith(row.protocol.upper()) and service.isalnum():
            names.setdefault(service, row.protocol)
    return names


class _NameFinder:
    """Finds protocol names in text. All-capital spellings (acronyms) match in that case
    only, so 'pop' in "pop-up" is not POP; other spellings match in any case."""

    def __init__(self, names: Mapping[str, str], registry: Registry):
        self.protocol_of: dict[str, str] = {}
        parts = []
        for spelling in sorted(names, key=len, reverse=True):
            protocol = registry.protocol(names[spelling])
            if protocol is None or not spelling.strip():
                continue
            self.protocol_of[spelling.casefold()] = protocol
            escaped = re.escape(spelling.strip())
            parts.append(escaped if spelling == spelling.upper() else f"(?i:{escaped})")
        self.pattern = re.compile(rf"(?<!\w)(?:{'|'.join(parts)})(?!\w)") if parts else None

    def find(self, text: str) -> dict[str, str]:
        """Protocols named in ``text``, each with the first spelling used."""
        found: dict[str, str] = {}
        if self.pattern is None:
            return found
        for m in self.pattern.finditer(text):
            found.setdefault(self.protocol_of[m.group().casefold()], m.group())
        return found


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
        elif _ITEM.match(line):
            current = _Block("item", start, end, lines=[index])
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


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    pos = start
    for m in _SENTENCE_END.finditer(text, start, end):
        spans.append((pos, m.end()))
        pos = m.end()
    if text[pos:end].strip():
        spans.append((pos, end))
    return spans


def named_protocols(
    markdown: str, registry: Registry, names: Mapping[str, str] | None = None
) -> list[str]:
    """The registry protocols a Markdown text names (outside code), in registry order.

    A fallback for choosing an issue's port table when the glossary's term matches are
    not at hand; ``names`` as for :func:`check_claims`.
    """
    finder = _NameFinder({**default_names(registry), **(names or {})}, registry)
    found = finder.find(_mask(markdown))
    return [p for p in registry.protocols() if p in found]


def check_claims(
    markdown: str,
    source: str,
    first_line: int,
    registry: Registry,
    names: Mapping[str, str] | None = None,
) -> list[ClaimProblem]:
    """Check the port numbers an issue attributes to protocols against the registry.

    ``markdown`` is the issue body, whose first line is line ``first_line`` of ``source``.
    ``names`` maps every spelling (term, alias, expansion such as 'Post Office Protocol')
    to a registry protocol; the protocols' own names and IANA service names such as IMAPS
    are always known. Returns the contradictions in the order of the text.
    """
    # No "port N" and no list item opening with a number: nothing can be a claim.
    if ("port" not in markdown.lower() and not _ITEM_NUMBER.search(markdown)) or (
        not _MAYBE_CLAIM.search(markdown)
    ):
        return []
    finder = _NameFinder({**default_names(registry), **(names or {})}, registry)
    text = _mask(markdown)
    line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]

    def line_of(offset: int) -> int:
        lo, hi = 0, len(line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return first_line + lo

    problems: list[ClaimProblem] = []
    heading_names: dict[str, str] = {}

    def check(port: int, protocol: str, offset: int, said: str) -> None:
        rows = registry.rows_for_port(port)
        if not rows or not registry.rows_for(protocol):
            return
        if any(r.protocol == protocol for r in rows):
            return
        own = registry.ports_of(protocol)
        uses = f"{protocol} uses {', '.join(map(str, own))}" if own else f"{protocol} has no port"
        what = " and ".join(r.describe() for r in rows)
        problems.append(
            ClaimProblem(
                source=source,
                line=line_of(offset),
                said=said,
                registry_says=f"port {port} is {what} in the registry ({uses})",
                port=port,
                protocol=protocol,
            )
        )

    for block in _blocks(text):
        body = text[block.start : block.end]
        if block.kind == "heading" or block.pseudo:
            heading_names = finder.find(body)
        item_names = finder.find(body) if block.kind == "item" else {}

        claims: list[tuple[int, str, int]] = []  # (port, as written, offset)
        for m in _PORT_WORDS.finditer(text, block.start, block.end):
            for num in _NUMBER.finditer(m.group("list")):
                written = m.group() if len(m.group("list")) == len(num.group()) else num.group()
                claims.append((int(num.group()), written, m.start("list") + num.start()))
        leading_at = -1
        if block.kind == "item":
            marker = _ITEM.match(body)
            assert marker is not None
            lead = _LEADING.match(body[marker.end() :])
            if lead:
                leading_at = block.start + marker.end() + lead.start(1)
                if all(offset != leading_at for _, _, offset in claims):
                    claims.append((int(lead.group(1)), lead.group(1), leading_at))

        checked: dict[int, str] = {}  # offset -> protocol the port was checked against
        for start, end in _sentences(text, block.start, block.end):
            in_sentence = finder.find(text[start:end])
            for port, written, offset in claims:
                if not start <= offset < end:
                    continue
                if len(in_sentence) == 1:
                    protocol, spelled = next(iter(in_sentence.items()))
                    where = "list item" if block.kind == "item" else "sentence"
                    said = f"'{written}' is attributed to {spelled} in the same {where}"
                elif in_sentence:
                    continue
                elif len(item_names) == 1:
                    protocol, spelled = next(iter(item_names.items()))
                    said = f"'{written}' is attributed to {spelled} in the same list item"
                elif item_names or block.kind != "item" or len(heading_names) != 1:
                    continue
                else:
                    protocol, spelled = next(iter(heading_names.items()))
                    said = f"'{written}' is listed under the {spelled} heading"
                checked[offset] = protocol
                check(port, protocol, offset, said)
        # A port leading a list item under a protocol's heading is listed as that protocol's,
        # whatever the item itself goes on to say (the scraped seed put SMTP's ports under
        # "IMAP Port Numbers").
        if leading_at >= 0 and block.kind == "item" and len(heading_names) == 1:
            protocol, spelled = next(iter(heading_names.items()))
            if checked.get(leading_at) != protocol:
                port = next(p for p, _, o in claims if o == leading_at)
                written = next(w for _, w, o in claims if o == leading_at)
                said = f"'{written}' is listed under the {spelled} heading"
                check(port, protocol, leading_at, said)
    problems.sort(key=lambda p: p.line)
    return problems
