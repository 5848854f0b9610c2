"""``Authentication-Results`` (RFC 8601): did the receiving server authenticate the sender?

A tokenless "unsubscribe" mail names its sender in ``From``, which anyone can forge. It
counts only when the server that received it for the list recorded a DMARC pass (or a DKIM
pass for the From domain) in an ``Authentication-Results`` header field carrying that
server's authserv-id, ``email.inbox.authserv_id``.

Which header fields are trusted: RFC 8601 §5 has the receiving server delete fields with
its own authserv-id that arrive from outside, and prepend its own. So only the topmost
run of fields with the configured id counts: from the first such field down to the next
``Received`` field or the next ``Authentication-Results`` of another server. A field with
that id further down was written by the sender. Within the run the topmost result of a
method wins, so a forged ``dmarc=pass`` placed right below the server's ``dmarc=fail`` does
not count either. A server that neither adds nor strips such fields defeats any reader:
the option must only be set for one that does.

The parser is a small one written for this (the ``authres`` package, last released in
2019, rejects Yahoo's ``dmarc=pass(p=REJECT)`` and does not expose ``header.from``). It
follows the RFC's grammar – authserv-id with optional version, ``none``, or resinfo
``method[/version]=result [reason=…] [ptype.property=value …]`` separated by ``;`` – with
comments (nested, escaped) and quoted strings handled, and skips what it cannot read
rather than guess. Microsoft 365 writes no authserv-id at all: its fields match no
configured id.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable
from dataclasses import dataclass

HEADER = "Authentication-Results"

# A resinfo's name=value pairs, after comments are removed: "dkim = pass", "header.b="a;b"".
_PAIR = re.compile(r'\s*([^\s=";]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s";]*)', re.DOTALL)
_KEYWORD = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?$")


@dataclass(frozen=True)
class MethodResult:
    """One resinfo: ``dmarc=pass header.from=example.net`` is method ``dmarc``, result
    ``pass`` and the property ``header.from``. Names are lower-case, values as written
    (unquoted)."""

    method: str
    result: str
    reason: str = ""
    properties: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str | None:
        """The first value of the property ``name`` (``"header.from"``), or ``None``."""
        wanted = name.lower()
        return next((value for key, value in self.properties if key == wanted), None)


@dataclass(frozen=True)
class AuthenticationResults:
    """One parsed header field: who wrote it (``authserv_id``, ``None`` when the field has
    none) and the results it records, in order."""

    authserv_id: str | None
    results: tuple[MethodResult, ...] = ()
    version: str = ""

    def first(self, method: str) -> MethodResult | None:
        """The first result of ``method`` in this field."""
        return next((r for r in self.results if r.method == method), None)


def _segments(value: str) -> tuple[list[str], bool]:
    """``value`` split at the semicolons outside quoted strings and comments, with RFC 5322
    comments (nested, with quoted pairs) replaced by a space and quoted strings kept as they
    are; and whether every comment was closed (an unclosed one runs to the end)."""
    parts: list[str] = []
    out: list[str] = []
    depth = 0
    quoted = False
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and (quoted or depth):
            if not depth:
                out.append(value[i : i + 2])
            i += 2
            continue
        if depth:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if not depth:
                    out.append(" ")
        elif quoted:
            out.append(ch)
            if ch == '"':
                quoted = False
        elif ch == "(":
            depth = 1
        elif ch == ";":
            parts.append("".join(out))
            out = []
        else:
            out.append(ch)
            quoted = ch == '"'
        i += 1
    parts.append("".join(out))
    return parts, depth == 0


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1], flags=re.DOTALL)
    return value


def _resinfo(text: str) -> MethodResult | None:
    """One ``method=result reason=… ptype.property=value`` segment, or ``None`` when it is
    not one (then it is skipped)."""
    pairs: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _PAIR.match(text, pos)
        if not match or (not pairs and match.group(2).startswith('"')):
            return None  # not name=value, or a quoted result (a result is a keyword)
        pairs.append((match.group(1).lower(), _unquote(match.group(2))))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    if not pairs:
        return None
    method, result = pairs[0]
    method = method.split("/", 1)[0]  # "dkim/1" carries a method version
    if not _KEYWORD.match(method) or not _KEYWORD.match(result):
        return None
    reason = ""
    properties: list[tuple[str, str]] = []
    for key, value in pairs[1:]:
        if key == "reason" and not reason and not properties:
            reason = value
        else:
            properties.append((key, value))
    return MethodResult(method, result.lower(), reason, tuple(properties))


def parse(value: str) -> AuthenticationResults:
    """Parse one ``Authentication-Results`` field value. Never raises: what cannot be
    read is left out (a field without a readable authserv-id has ``authserv_id=None``)."""
    parts, closed = _segments(str(value))
    if not closed:  # the resinfo with the unclosed comment is cut short: leave it out
        parts[-1] = ""
    head = parts[0].split()
    authserv_id: str | None = None
    version = ""
    rest = parts[1:]
    if head and "=" not in parts[0]:
        authserv_id = _unquote(head[0])
        if len(head) > 1 and head[1].isdigit():
            version = head[1]
    elif head:  # no authserv-id (Microsoft 365): the first part is already a resinfo
        rest = parts
    results: list[MethodResult] = []
    for part in rest:
        if part.strip().lower() in ("", "none"):
            continue
        parsed = _resinfo(part)
        if parsed is not None:
            results.append(parsed)
    return AuthenticationResults(authserv_id, tuple(results), version)


def _norm(authserv_id: str) -> str:
    return authserv_id.strip().rstrip(".").lower()


def authserv_ids(setting: str | None) -> frozenset[str]:
    """The ids in ``email.inbox.authserv_id``: one, or several separated by spaces or
    commas (a provider whose MX hosts each write their own)."""
    return frozenset(_norm(i) for i in re.split(r"[\s,]+", setting or "") if _norm(i))


def trusted(fields: Iterable[tuple[str, str]], authserv_id: str) -> list[AuthenticationResults]:
    """The ``Authentication-Results`` fields written by the receiving server, from the
    message's header ``fields`` in order: the topmost run of fields with its id (one of
    :func:`authserv_ids`), ended by a ``Received`` field or a field of another server."""
    wanted = authserv_ids(authserv_id)
    block: list[AuthenticationResults] = []
    for name, value in fields:
        lname = name.strip().lower()
        if lname == HEADER.lower():
            parsed = parse(value)
            if parsed.authserv_id is not None and _norm(parsed.authserv_id) in wanted:
                block.append(parsed)
            elif block:
                break
        elif lname == "received" and block:
            break
    return block


@dataclass(frozen=True)
class SenderCheck:
    """Whether the receiving server authenticated the From address, and how (``detail``,
    for the operator: ``"dmarc=pass by mx.example.org"``, ``"dmarc=fail by …"``, …)."""

    verified: bool
    detail: str


def _domain(value: str | None) -> str:
    """The domain of ``header.from``/``header.d`` (a domain) or ``header.i`` (``@domain`` or
    ``user@domain``), lower-case, without a trailing dot."""
    return (value or "").rpartition("@")[2].strip().rstrip(".").lower()


def check_sender(
    fields: Iterable[tuple[str, str]], sender: str, authserv_id: str | None
) -> SenderCheck:
    """Did ``authserv_id``'s server record that ``sender`` (the message's one From
    address) is authentic: DMARC pass for its domain, or – without a DMARC result – a
    DKIM pass with the From domain as signing domain? An explicit DMARC failure wins."""
    if not authserv_ids(authserv_id):
        return SenderCheck(False, "no email.inbox.authserv_id configured")
    block = trusted(fields, authserv_id or "")
    if not block:
        return SenderCheck(False, f"no Authentication-Results from {authserv_id}")
    authserv_id = block[0].authserv_id or authserv_id  # the one that vouches, for the detail
    domain = _domain(email.utils.parseaddr(sender)[1])
    if not domain:
        return SenderCheck(False, "no sender domain")
    dmarc = next((r for field in block if (r := field.first("dmarc"))), None)
    if dmarc is not None:
        header_from = dmarc.get("header.from")
        if header_from is not None and _domain(header_from) != domain:
            why = f"dmarc result for {header_from}, not {domain}, by {authserv_id}"
            return SenderCheck(False, why)
        if dmarc.result == "pass":
            return SenderCheck(True, f"dmarc=pass by {authserv_id}")
        if dmarc.result in ("fail", "quarantine", "reject"):
            return SenderCheck(False, f"dmarc={dmarc.result} by {authserv_id}")
    # The DKIM results of the topmost field that has any (a message may carry several
    # signatures, all reported in one field).
    dkim = next(
        (
            [r for r in field.results if r.method == "dkim"]
            for field in block
            if field.first("dkim")
        ),
        [],
    )
    for r in dkim:
        signer = _domain(r.get("header.d") or r.get("header.i"))
        if r.result == "pass" and signer == domain:
            return SenderCheck(True, f"dkim=pass for {domain} by {authserv_id}")
    shown = f"dmarc={dmarc.result}" if dmarc else "no DMARC result"
    if dkim:
        shown += ", no DKIM pass for " + domain
    return SenderCheck(False, f"{shown} by {authserv_id}")
