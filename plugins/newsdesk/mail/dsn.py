"""What a message in the list's mailbox is: an unsubscribe request, a bounce, or neither.

Bounces are delivery status notifications (RFC 3464: ``multipart/report;
report-type=delivery-status``), parsed with the stdlib :mod:`email` package (its
``compat32`` policy: some 40 times faster than the modern one on a mailbox of a thousand
messages, and only the Subject needs decoding). Each
per-recipient block with ``Action: failed`` is a hard bounce when its status is 5.x.x and
a soft bounce when it is 4.x.x; ``Action: delayed`` is only a warning (the final outcome
comes later) and is ignored. The subscriber is found through the VERP address the DSN
was sent to (``bounce+{token}@…``, a token signed for ``"bounce"``). A VERP address whose
token does not verify makes the DSN ignored: it was forged or mangled. Anyone can send a
DSN, so with VERP configured (``bounce_address``) one without a valid VERP address is
:data:`UNVERIFIED`: it names ``Original-Recipient``/``Final-Recipient`` for the operator,
and is not applied. Only without VERP are those fields trusted (the weaker mode).

Bounces in the older, non-standard formats (qmail, Exim without a report, sendmail,
Postfix before DSNs, Yahoo, AOL, Microsoft SMTPSVC, …) are found by Mailman's
flufl.bounce detectors, and only in a mail system's message (null envelope sender, or
from MAILER-DAEMON or postmaster: a person quoting a bounce is not one). What it calls
temporary is a delay warning and ignored; the rest is hard with a 5.x.x (or 5xx) code in
the notice's text and soft otherwise. The same rules of proof apply: with VERP
configured, only a valid VERP token makes such a bounce count. On the labelled corpus in
``tests/data/bounces`` it finds 10 of 13 non-DSN bounces, with no false positive.

An unsubscribe request is a message whose subject is ``unsubscribe {token}`` (what the
``mailto:`` of List-Unsubscribe produces) with a valid ``"unsubscribe"`` token, a message
to ``email.unsubscribe_mailto`` with such a token in its text, or a message whose subject
is just "unsubscribe" – the latter names its sender, who must be a subscriber (the caller
checks), and counts only when the receiving server authenticated that sender (DMARC, or
DKIM for the From domain, in its ``Authentication-Results`` with the configured
``authserv_id``: :mod:`newsdesk.mail.authresults`); else it is :data:`UNVERIFIED`.
Automatic replies (``Auto-Submitted``) are never requests: an out-of-office reply quoting
the issue's footer would otherwise unsubscribe its author.

This module only reads messages; it knows nothing of the database.
"""

from __future__ import annotations

import email
import email.header
import email.parser
import email.policy
import email.utils
import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message

import flufl.bounce

from newsdesk.mail import authresults
from newsdesk.mail.tokens import verify_token

UNSUBSCRIBE = "unsubscribe"
HARD_BOUNCE = "hard_bounce"
SOFT_BOUNCE = "soft_bounce"
OTHER = "other"
#: A request or bounce naming someone without proof: reported to the operator, not applied.
UNVERIFIED = "unverified"

# flufl.bounce logs a detector's exception with its traceback before raising it (caught
# here: such a message is not a bounce we can read); without logging configured that
# would go to stderr in the middle of newsdesk inbox's report.
logging.getLogger("flufl.bounce").addHandler(logging.NullHandler())

UNSUBSCRIBE_PURPOSE = "unsubscribe"
BOUNCE_PURPOSE = "bounce"

# A token is base32 payload "." a 120-bit MAC (24 base32 characters); see tokens.py.
_TOKEN = re.compile(r"(?<![A-Za-z0-9])([A-Za-z2-7]{2,200}\.[A-Za-z2-7]{24})(?![A-Za-z0-9])")
_SUBJECT_TOKEN = re.compile(
    r"^\s*(?:(?:re|aw|fwd?)\s*:\s*)*unsubscribe(?:\s+|%20)(\S+)\s*$", re.IGNORECASE
)
_SUBJECT_PLAIN = re.compile(r"^\s*unsubscribe\s*$", re.IGNORECASE)
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_REPLY_CODE = re.compile(r"\b([245])\d\d\b")
_VERP_HEADERS = (
    "Delivered-To",
    "X-Original-To",
    "Envelope-To",
    "X-Envelope-To",
    "To",
    "Cc",
)
_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Target:
    """Who a message is about: a subscriber id (from a signed token) or addresses to look up,
    best first."""

    subscriber_id: int | None = None
    addresses: tuple[str, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class Verdict:
    """The classification of one message.

    ``kind`` is :data:`UNSUBSCRIBE`, :data:`HARD_BOUNCE`, :data:`SOFT_BOUNCE`,
    :data:`UNVERIFIED` or :data:`OTHER`; ``targets`` are the subscribers concerned (empty
    for :data:`OTHER`; for :data:`UNVERIFIED` those the message claims to be about);
    ``reason`` says in a few words why (for logs, the dry run and the operator).
    """

    kind: str
    key: str
    targets: tuple[Target, ...] = ()
    reason: str = ""
    by_token: bool = False


@dataclass(frozen=True)
class RecipientStatus:
    """One per-recipient block of a DSN."""

    action: str
    status: str
    final_recipient: str | None
    original_recipient: str | None
    diagnostic: str = ""

    @property
    def status_class(self) -> str:
        return self.status[:1]


@dataclass
class Report:
    """A parsed delivery status notification."""

    recipients: list[RecipientStatus] = field(default_factory=list)
    reporting_mta: str = ""


def parse(raw: bytes) -> Message:
    """The message parsed with the stdlib parser (``compat32`` policy)."""
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _decoded(value: str) -> str:
    """A header's text with RFC 2047 encoded words decoded."""
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (LookupError, ValueError, UnicodeError):
        return value


def message_key(msg: Message, raw: bytes) -> str:
    """A stable identity for a message: its Message-ID, else a hash of its bytes."""
    mid = _header(msg, "Message-ID").strip()
    if mid:
        return "mid:" + mid
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a malformed header the parser could not model
        return ""
    return str(value) if value is not None else ""


def _headers(msg: Message, name: str) -> list[str]:
    try:
        values = msg.get_all(name) or []
    except Exception:
        return []
    return [str(v) for v in values]


def _addresses(msg: Message, names: Iterable[str]) -> list[str]:
    values: list[str] = []
    for name in names:
        values += _headers(msg, name)
    return [addr for _name, addr in email.utils.getaddresses(values) if "@" in addr]


def delivery_report(msg: Message) -> Report | None:
    """The DSN carried by ``msg``, or ``None`` when it is not one.

    Only a top-level ``multipart/report; report-type=delivery-status`` counts: a DSN
    forwarded inside another message is not a bounce of ours.
    """
    if msg.get_content_type() != "multipart/report":
        return None
    if str(msg.get_param("report-type", "")).lower() not in (
        "delivery-status",
        "global-delivery-status",
    ):
        return None
    parts = msg.get_payload()
    if not isinstance(parts, list):
        return None
    for part in parts:
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            return _parse_status(part)
    return None


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list) and part.get_content_type() == "message/delivery-status":
        return payload
    if isinstance(payload, list) and len(payload) == 1:
        # message/global-delivery-status (RFC 6533) is parsed as one message: its first
        # block as headers, the rest as the body.
        inner = payload[0]
        head = [inner.__class__()]
        for name, value in inner.items():
            head[0][name] = value
        body = inner.get_payload(decode=True)
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else ""
        return head + _split_blocks(text)
    text = payload if isinstance(payload, str) else ""
    return _split_blocks(text)


def _split_blocks(text: str) -> list[Message]:
    """Header blocks separated by blank lines, each parsed as a message's headers."""
    blocks = re.split(r"\r?\n[ \t]*\r?\n", text.strip())
    parser = email.parser.HeaderParser(policy=email.policy.compat32)
    return [parser.parsestr(block) for block in blocks if block.strip()]


def _address_field(value: str) -> str | None:
    """The address of ``rfc822; user@example.org`` (``None`` for other address types)."""
    if not value:
        return None
    kind, sep, rest = value.partition(";")
    if not sep:
        rest = kind
    elif kind.strip().lower() not in ("rfc822", "utf-8"):
        return None
    addr = rest.strip().strip("<>").strip()
    return addr if "@" in addr else None


def _parse_status(part: Message) -> Report:
    report = Report()
    blocks = _status_blocks(part)
    for i, block in enumerate(blocks):
        if i == 0 and block.get("Reporting-MTA"):
            report.reporting_mta = str(block.get("Reporting-MTA"))
            if not block.get("Action"):
                continue
        action = str(block.get("Action", "")).split("(")[0].strip().lower()
        if not action:
            continue
        diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
        match = _STATUS.search(str(block.get("Status", ""))) or _STATUS.search(diagnostic)
        if match:
            status = ".".join(match.groups())
        else:
            code = _REPLY_CODE.search(diagnostic)
            status = f"{code.group(1)}.0.0" if code else ""
        report.recipients.append(
            RecipientStatus(
                action=action,
                status=status,
                final_recipient=_address_field(str(block.get("Final-Recipient", ""))),
                original_recipient=_address_field(str(block.get("Original-Recipient", ""))),
                diagnostic=diagnostic,
            )
        )
    return report


def _verp_target(msg: Message, secret: bytes, bounce_address: str | None) -> Target | str | None:
    """The subscriber named by the VERP address the DSN went to.

    Returns a :class:`Target`, the string ``"tampered"`` when an address under the bounce
    address carries a token that does not verify, or ``None`` when there is no VERP address.
    """
    local, _, domain = (bounce_address or "").lower().rpartition("@")
    tampered = False
    candidates = _addresses(msg, _VERP_HEADERS)
    # The returned original's headers may carry its Return-Path (the envelope sender).
    for part in msg.walk():
        if part.get_content_type() in ("text/rfc822-headers", "message/rfc822"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                candidates += _addresses(inner[0], ("Return-Path",))
            elif isinstance(inner, str):
                head = email.parser.HeaderParser().parsestr(inner)
                candidates += _addresses(head, ("Return-Path",))
    for addr in candidates:
        user, _, host = addr.rpartition("@")
        base, plus, token = user.partition("+")
        if not plus:
            continue
        subject = verify_token(secret, BOUNCE_PURPOSE, token)
        if subject is not None and subject.isdigit():
            return Target(subscriber_id=int(subject), detail=f"VERP {addr}")
        if subject is not None:
            return Target(addresses=(subject,), detail=f"VERP {addr}")
        if local and base.lower() == local and host.lower() == domain:
            tampered = True
    return "tampered" if tampered else None


def _bounce_verdict(
    msg: Message, key: str, report: Report, secret: bytes, bounce_address: str | None
) -> Verdict:
    failed = [r for r in report.recipients if r.action == "failed"]
    if not failed:
        actions = ", ".join(sorted({r.action for r in report.recipients})) or "none"
        return Verdict(OTHER, key, reason=f"delivery status notification ({actions})")
    hard = [r for r in failed if r.status_class == "5"]
    targets = []
    for r in hard or failed:
        addrs = tuple(a for a in (r.original_recipient, r.final_recipient) if a)
        if addrs:
            targets.append(Target(addresses=addrs, detail=_describe(r)))
    bounce = _Bounce(
        HARD_BOUNCE if hard else SOFT_BOUNCE, _describe((hard or failed)[0]), "Final-Recipient"
    )
    return _attributed(msg, key, bounce, tuple(targets), secret, bounce_address)


@dataclass(frozen=True)
class _Bounce:
    """What a bounce says, before it is known whom it is about: its kind, the detail of
    its worst failure, and what named the failed addresses (for the reason)."""

    kind: str
    detail: str
    named_by: str


def _attributed(
    msg: Message,
    key: str,
    bounce: _Bounce,
    targets: tuple[Target, ...],
    secret: bytes,
    bounce_address: str | None,
) -> Verdict:
    """The verdict on a bounce of any format: its subscriber from a valid VERP token;
    else, with VERP configured, :data:`UNVERIFIED` (``targets`` are only what the message
    claims); without VERP, ``targets`` themselves (the weaker mode)."""
    kind = bounce.kind
    verp = _verp_target(msg, secret, bounce_address)
    if verp == "tampered":
        return Verdict(OTHER, key, reason="bounce to a VERP address with an invalid token")
    if isinstance(verp, Target):
        return Verdict(
            kind,
            key,
            (Target(verp.subscriber_id, verp.addresses, bounce.detail),),
            reason=f"{kind.replace('_', ' ')} via {verp.detail}",
            by_token=True,
        )
    if not targets:
        return Verdict(OTHER, key, reason="bounce without a recipient address")
    if bounce_address:
        # With VERP every real bounce of ours names its subscriber with a signed token;
        # Final-Recipient is whatever the sender of this message wrote.
        named = ", ".join(dict.fromkeys(t.addresses[0] for t in targets))
        return Verdict(
            UNVERIFIED,
            key,
            targets,
            reason=f"{kind.replace('_', ' ')} for {named} without a valid VERP address",
        )
    return Verdict(kind, key, targets, reason=f"{kind.replace('_', ' ')} ({bounce.named_by})")


# Where a plain-text bounce starts quoting the returned message (qmail, Exim, sendmail,
# Yahoo): a status code past it is the original's, not the failure's.
_RETURNED = re.compile(
    r"^[ \t]*-{2,}[^\n]*(?:copy of the message|original message|returned (?:mail|message)"
    r"|message text follows)",
    re.IGNORECASE | re.MULTILINE,
)
# Codes in a notice's text; not part of a dotted IP address or a longer number.
_TEXT_STATUS = re.compile(r"(?<![\d.])([45])\.\d{1,3}\.\d{1,3}(?![\d.])")
_TEXT_REPLY = re.compile(r"(?<![\d.])([45])\d\d(?=[ -]\S)")
_DAEMONS = ("mailer-daemon", "mailerdaemon", "mail-daemon", "postmaster")
#: The detectors read only the start of a message, its lines cut at RFC 5322's 998
#: characters: a notice is a few kilobytes, and they cost time with every line (a 1 MB
#: message took 3.3 s; a crafted 16 KB one takes at most about 0.12 s).
_DETECTOR_LIMIT = 16 * 1024
_LONG_LINE = re.compile(rb"([^\r\n]{998})[^\r\n]+")


def _from_mail_system(msg: Message) -> bool:
    """Whether a message comes from a mail system: sent with the null envelope sender
    that RFC 5321 prescribes for bounces (``Return-Path: <>``), or from MAILER-DAEMON or
    postmaster. A person's mail quoting a bounce is neither."""
    for path in _headers(msg, "Return-Path"):
        sender = path.strip().strip("<>").strip().lower()
        if not sender or sender.partition("@")[0] in _DAEMONS:
            return True
    senders = _addresses(msg, ("From",))
    return any(s.lower().partition("@")[0] in _DAEMONS for s in senders)


def _notice_text(msg: Message) -> str:
    """The plain text a mail system wrote, without any returned message it carries."""
    if msg.get_content_maintype() == "message":
        return ""
    if msg.is_multipart():
        parts = msg.get_payload()
        return "\n".join(_notice_text(p) for p in parts if isinstance(p, Message))
    if msg.get_content_type() != "text/plain":
        return ""
    payload = msg.get_payload(decode=True)
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    text = text[:_BODY_LIMIT]
    returned = _RETURNED.search(text)
    return text[: returned.start()] if returned else text


def _text_failure(text: str) -> _Bounce:
    """The kind of a failure told in prose: hard for a 5.x.x (or 5xx) code, soft for a
    4.x.x (4xx) one, and soft without a code – the same as a DSN's failed action without
    a status: such a subscriber is marked bounced only at ``soft_limit``."""
    for pattern in (_TEXT_STATUS, _TEXT_REPLY):
        codes = list(pattern.finditer(text))
        if codes:
            worst = min(codes, key=lambda m: m.group(1) != "5")
            line_start = text.rfind("\n", 0, worst.start()) + 1
            line_end = text.find("\n", worst.end())
            line = " ".join(text[line_start : line_end if line_end >= 0 else None].split())
            kind = HARD_BOUNCE if worst.group(1) == "5" else SOFT_BOUNCE
            return _Bounce(kind, line[:300], "bounce text, flufl.bounce")
    return _Bounce(SOFT_BOUNCE, "no status", "bounce text, flufl.bounce")


def _nonstandard_bounce(
    msg: Message, raw: bytes, key: str, secret: bytes, bounce_address: str | None
) -> Verdict | None:
    """A bounce that is not a DSN (qmail, old Exim, sendmail, Postfix, Yahoo, AOL, …)
    found by flufl.bounce's detectors, or ``None``. Only a mail system's message is
    looked at; the failures flufl.bounce calls temporary are delay warnings and ignored
    (like ``Action: delayed``); it cannot tell a full mailbox from a missing one, so the
    kind comes from the status code in the text (:func:`_text_failure`)."""
    if not _from_mail_system(msg):
        return None
    start = msg
    if len(raw) > _DETECTOR_LIMIT or _LONG_LINE.search(raw):
        start = parse(_LONG_LINE.sub(rb"\1", raw[:_DETECTOR_LIMIT]))
    try:
        _warnings, failed = flufl.bounce.all_failures(start)
    except Exception:  # a detector tripping over a malformed message: not a bounce we read
        return None
    if not failed:
        return None
    bounce = _text_failure(_notice_text(start))
    addresses = sorted(a.decode("ascii", "replace") for a in failed)
    targets = tuple(Target(addresses=(a,), detail=bounce.detail) for a in addresses)
    return _attributed(msg, key, bounce, targets, secret, bounce_address)


def _describe(r: RecipientStatus) -> str:
    text = f"{r.status or 'no status'} {r.diagnostic}".strip()
    return text[:300]


def _text_body(msg: Message) -> str:
    """The message's plain text (or HTML as text), at most 64 KB of it."""
    pieces: list[str] = []
    size = 0
    for part in msg.walk():
        if part.get_content_maintype() != "text" or part.get_content_disposition() == "attachment":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        try:
            content = payload.decode(part.get_content_charset() or "utf-8", "replace")
        except LookupError:
            content = payload.decode("utf-8", "replace")
        pieces.append(content)
        size += len(content)
        if size > _BODY_LIMIT:
            break
    return "\n".join(pieces)[:_BODY_LIMIT]


def _is_automatic(msg: Message) -> bool:
    auto = _header(msg, "Auto-Submitted").strip().lower()
    if auto and not auto.startswith("no"):
        return True
    if _header(msg, "X-Autoreply") or _header(msg, "X-Autorespond"):
        return True
    precedence = _header(msg, "Precedence").strip().lower()
    return precedence in ("auto_reply", "bulk", "junk", "list")


def _addressed_to(msg: Message, address: str | None) -> bool:
    if not address:
        return True
    wanted = email.utils.parseaddr(address)[1].lower()
    return any(
        a.lower() == wanted
        for a in _addresses(msg, ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"))
    )


def _token_target(secret: bytes, token: str, where: str) -> Target | None:
    subject = verify_token(secret, UNSUBSCRIBE_PURPOSE, token)
    if subject is None:
        return None
    if subject.isdigit():
        return Target(subscriber_id=int(subject), detail=f"mailto, token in {where}")
    return Target(addresses=(subject,), detail=f"mailto, token in {where}")


def _sender_verdict(msg: Message, key: str, senders: list[str], authserv_id: str | None) -> Verdict:
    """A tokenless "unsubscribe" from ``senders`` (the From addresses): a request when the
    receiving server authenticated the one sender, else :data:`UNVERIFIED`."""
    sender = senders[0]
    if len(senders) > 1 or len(_headers(msg, "From")) > 1:
        check = authresults.SenderCheck(False, "more than one From address")
    else:
        try:
            fields = [(str(name), str(value)) for name, value in msg.items()]
        except Exception:  # a header the parser could not model
            fields = []
        check = authresults.check_sender(fields, sender, authserv_id)
    if check.verified:
        target = Target(addresses=(sender,), detail=f"mailto, from a subscriber, {check.detail}")
        return Verdict(UNSUBSCRIBE, key, (target,), reason=target.detail)
    target = Target(addresses=(sender,), detail=check.detail)
    reason = (
        f"unsubscribe request from {sender} without a token and without verified "
        f"authentication ({check.detail})"
    )
    return Verdict(UNVERIFIED, key, (target,), reason=reason)


def classify(
    raw: bytes,
    *,
    secret: bytes,
    unsubscribe_mailto: str | None = None,
    bounce_address: str | None = None,
    authserv_id: str | None = None,
) -> Verdict:
    """Classify one message (its raw bytes) as an unsubscribe request, a hard or soft
    bounce, an unverified one of those, or something else. Tokens are verified with
    ``secret``; a tokenless request's sender is checked against the
    ``Authentication-Results`` of ``authserv_id``'s server."""
    try:
        msg = parse(raw)
    except Exception as exc:  # the email package is lenient; this is a last resort
        return Verdict(OTHER, "sha256:" + hashlib.sha256(raw).hexdigest(), reason=str(exc))
    key = message_key(msg, raw)
    if msg.get_content_type() == "multipart/report":
        report = delivery_report(msg)
        if report is None:
            return Verdict(OTHER, key, reason="a report that is not a delivery status")
        return _bounce_verdict(msg, key, report, secret, bounce_address)
    # Before the test for automatic replies: Exim marks its bounces Auto-Submitted.
    bounce = _nonstandard_bounce(msg, raw, key, secret, bounce_address)
    if bounce is not None:
        return bounce
    if _is_automatic(msg):
        return Verdict(OTHER, key, reason="an automatic reply")

    subject = " ".join(_decoded(_header(msg, "Subject")).split())
    match = _SUBJECT_TOKEN.match(subject)
    if match:
        target = _token_target(secret, match.group(1), "subject")
        if target:
            return Verdict(UNSUBSCRIBE, key, (target,), reason=target.detail, by_token=True)
        return Verdict(OTHER, key, reason="an unsubscribe token that does not verify")
    invalid = False
    if _addressed_to(msg, unsubscribe_mailto):
        for token in _TOKEN.findall(_text_body(msg)):
            target = _token_target(secret, token, "body")
            if target:
                return Verdict(UNSUBSCRIBE, key, (target,), reason=target.detail, by_token=True)
            invalid = True
    if _SUBJECT_PLAIN.match(subject):
        senders = _addresses(msg, ("From",))
        if senders:
            return _sender_verdict(msg, key, senders, authserv_id)
    if invalid:
        return Verdict(OTHER, key, reason="an unsubscribe token that does not verify")
    return Verdict(OTHER, key, reason="not an unsubscribe request or a bounce")
