"""Classifying the list's mail: unsubscribe requests, hard and soft bounces, everything else.

The DSN samples below follow the shapes Postfix, Exim, Exchange and Gmail produce (their
headers, MIME structure and per-recipient fields), written for these tests with
example.org/example.net addresses. They are reused by ``test_inbox.py``.
"""

from __future__ import annotations

import hashlib
from email.message import EmailMessage

import pytest

from newsdesk.mail import dsn
from newsdesk.mail.tokens import make_token

SECRET = b"test-secret-for-dsn-at-least-32-bytes"
LIST = "list@example.org"
UNSUB = "unsubscribe@example.org"
BOUNCE = "bounce@example.org"


def verp(subscriber_id: int, secret: bytes = SECRET) -> str:
    """The envelope sender the mailer uses for a subscriber: ``bounce+{token}@example.org``."""
    return f"bounce+{make_token(secret, 'bounce', subscriber_id)}@example.org"


def unsub_token(subscriber_id: int, secret: bytes = SECRET) -> str:
    return make_token(secret, "unsubscribe", subscriber_id)


def original_headers(recipient: str, envelope: str, subscriber_id: int = 1) -> str:
    """The headers of the newsletter as sent (what a DSN returns)."""
    return (
        f"Return-Path: <{envelope}>\n"
        f"From: Test Letter <{LIST}>\n"
        f"To: {recipient}\n"
        "Subject: Test Letter #3: Email Servers\n"
        f"Message-ID: <issue-3.newsdesk.{subscriber_id}@example.org>\n"
        f"List-Unsubscribe: <mailto:{UNSUB}?subject=unsubscribe%20"
        f"{unsub_token(subscriber_id)}>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
    )


def _finish(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def postfix_dsn(
    recipient: str,
    to: str,
    *,
    status: str = "5.1.1",
    action: str = "failed",
    msgid: str = "20261127070000.4F2A1C0123@mail.example.org",
    subscriber_id: int = 1,
) -> bytes:
    """Postfix's bounce: text notice, delivery report, the returned message's headers."""
    diag = (
        f"550 {status} <{recipient}>: Recipient address rejected: User unknown"
        if status.startswith("5")
        else f"450 {status} <{recipient}>: Mailbox busy, try again later"
    )
    return _finish(
        f"""Return-Path: <>
Delivered-To: {to}
Date: Fri, 27 Nov 2026 07:00:00 +0000 (UTC)
From: MAILER-DAEMON@mail.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {to}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4F2A1C0123.1795762800/mail.example.org"
Content-Transfer-Encoding: 8bit
Message-Id: <{msgid}>

This is a MIME-encapsulated message.

--4F2A1C0123.1795762800/mail.example.org
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<{recipient}>: host mx.example.net[192.0.2.25] said: {diag}
    (in reply to RCPT TO command)

--4F2A1C0123.1795762800/mail.example.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.org
X-Postfix-Queue-ID: 4F2A1C0123
X-Postfix-Sender: rfc822; {to}
Arrival-Date: Fri, 27 Nov 2026 06:59:58 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; {diag}

--4F2A1C0123.1795762800/mail.example.org
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{original_headers(recipient, to, subscriber_id)}
--4F2A1C0123.1795762800/mail.example.org--
"""
    )


def exim_dsn(
    recipient: str,
    to: str,
    *,
    status: str = "5.0.0",
    msgid: str = "E1vAbCd-000123-4x@mx.example.net",
    subscriber_id: int = 1,
) -> bytes:
    """Exim's bounce: X-Failed-Recipients, the report, and the whole returned message."""
    permanent = status.startswith("5")
    return _finish(
        f"""Return-path: <>
Envelope-to: {to}
Delivery-date: Fri, 27 Nov 2026 07:00:01 +0000
From: Mail Delivery System <Mailer-Daemon@mx.example.net>
To: {to}
Content-Type: multipart/report; report-type=delivery-status; boundary=1795762801-eximdsn-1804289383
MIME-Version: 1.0
Subject: Mail delivery failed: returning message to sender
Message-Id: <{msgid}>
Date: Fri, 27 Nov 2026 07:00:01 +0000
X-Failed-Recipients: {recipient}
Auto-Submitted: auto-replied

--1795762801-eximdsn-1804289383
Content-type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a {"permanent" if permanent else "temporary"} error.
The following address(es) failed:

  {recipient}
    retry timeout exceeded

--1795762801-eximdsn-1804289383
Content-type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Action: failed
Final-Recipient: rfc822;{recipient}
Status: {status}

--1795762801-eximdsn-1804289383
Content-type: message/rfc822

{original_headers(recipient, to, subscriber_id)}
Hello, this is the issue.
Unsubscribe: mailto:{UNSUB}?subject=unsubscribe%20{unsub_token(subscriber_id)}

--1795762801-eximdsn-1804289383--
"""
    )


def exchange_dsn(
    recipient: str,
    to: str,
    *,
    status: str = "5.1.10",
    msgid: str = "a1b2c3d4e5f6@EXCH01.example.net",
    subscriber_id: int = 1,
) -> bytes:
    """Exchange's NDR: a multipart/alternative notice, then the report and the original."""
    return _finish(
        f"""From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.net>
To: <{to}>
Date: Fri, 27 Nov 2026 07:00:02 +0000
Subject: Undeliverable: Test Letter #3: Email Servers
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="_000_a1b2c3d4e5f6EXCH01examplenet_"
Content-Language: en-US
Message-ID: <{msgid}>
X-MS-Exchange-Message-Is-Ndr:
Auto-Submitted: auto-replied
MIME-Version: 1.0

--_000_a1b2c3d4e5f6EXCH01examplenet_
Content-Type: multipart/alternative;
\tboundary="_002_a1b2c3d4e5f6EXCH01examplenet_"

--_002_a1b2c3d4e5f6EXCH01examplenet_
Content-Type: text/plain; charset="us-ascii"

Your message to {recipient} couldn't be delivered.
{recipient.split("@")[0]} wasn't found at example.net.

--_002_a1b2c3d4e5f6EXCH01examplenet_
Content-Type: text/html; charset="us-ascii"

<html><body><p>Your message to <b>{recipient}</b> couldn't be delivered.</p></body></html>

--_002_a1b2c3d4e5f6EXCH01examplenet_--

--_000_a1b2c3d4e5f6EXCH01examplenet_
Content-Type: message/delivery-status

Reporting-MTA: dns;EXCH01.example.net
Received-From-MTA: dns;mail.example.org
Arrival-Date: Fri, 27 Nov 2026 07:00:01 +0000

Original-Recipient: rfc822;{recipient}
Final-Recipient: rfc822;{recipient}
Action: failed
Status: {status}
Diagnostic-Code: smtp;550 {status} RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP
 address lookup
X-Display-Name: {recipient.split("@")[0].title()}

--_000_a1b2c3d4e5f6EXCH01examplenet_
Content-Type: message/rfc822

{original_headers(recipient, to, subscriber_id)}
The issue.

--_000_a1b2c3d4e5f6EXCH01examplenet_--
"""
    )


def gmail_dsn(
    recipient: str,
    to: str,
    *,
    status: str = "5.1.1",
    action: str = "failed",
    msgid: str = "5f1e2d3c.0a1b2c3d.4e5f.6a7b@mx.google.example.net",
    subscriber_id: int = 1,
) -> bytes:
    """Gmail's "Delivery Status Notification": a multipart/related notice, the report."""
    kind = "Failure" if action == "failed" else "Delay"
    code = "550-" if status.startswith("5") else "450-"
    return _finish(
        f"""Return-Path: <>
Delivered-To: {to}
From: Mail Delivery Subsystem <mailer-daemon@googlemail.example.net>
To: {to}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification ({kind})
References: <issue-3.newsdesk.{subscriber_id}@example.org>
In-Reply-To: <issue-3.newsdesk.{subscriber_id}@example.org>
X-Failed-Recipients: {recipient}
Message-ID: <{msgid}>
Date: Fri, 27 Nov 2026 07:00:03 +0000
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000f1e2d3c4b5a69788"; report-type=delivery-status

--000000000000f1e2d3c4b5a69788
Content-Type: multipart/related; boundary="000000000000f1e2d3c4b5a69789"

--000000000000f1e2d3c4b5a69789
Content-Type: multipart/alternative; boundary="000000000000f1e2d3c4b5a6978a"

--000000000000f1e2d3c4b5a6978a
Content-Type: text/plain; charset="UTF-8"

** Address not found **

Your message wasn't delivered to {recipient} because the address couldn't be found.

--000000000000f1e2d3c4b5a6978a
Content-Type: text/html; charset="UTF-8"

<html><body><h2>Address not found</h2></body></html>

--000000000000f1e2d3c4b5a6978a--
--000000000000f1e2d3c4b5a69789--
--000000000000f1e2d3c4b5a69788
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.example.net
Received-From-MTA: dns; mail.example.org
Arrival-Date: Fri, 27 Nov 2026 07:00:00 +0000
X-Original-Message-ID: <issue-3.newsdesk.{subscriber_id}@example.org>

Final-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.net. (192.0.2.7, the server for the domain example.net.)
Diagnostic-Code: smtp; {code}{status} The email account that you tried to reach does not exist.
Last-Attempt-Date: Fri, 27 Nov 2026 07:00:03 +0000

--000000000000f1e2d3c4b5a69788
Content-Type: message/rfc822

{original_headers(recipient, to, subscriber_id)}
The issue.

--000000000000f1e2d3c4b5a69788--
"""
    )


SHAPES = {"postfix": postfix_dsn, "exim": exim_dsn, "exchange": exchange_dsn, "gmail": gmail_dsn}


def mail(
    subject: str,
    body: str = "",
    *,
    sender: str = "alice@example.net",
    to: str = UNSUB,
    msgid: str | None = None,
    **headers: str,
) -> bytes:
    """A person's message (what a mail client sends for a mailto: link)."""
    digest = hashlib.sha1((subject + body + sender).encode()).hexdigest()
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        "Date: Fri, 27 Nov 2026 08:00:00 +0000",
        f"Message-ID: {msgid or f'<{digest}@example.net>'}",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        body or "",
    ]
    return "\r\n".join(lines).encode()


AUTHSERV = "mx.example.org"
"""The authserv-id of the server that receives the list's mail in these tests."""


def received(host: str = "mail.example.net", by: str = AUTHSERV) -> str:
    """The ``Received`` field the receiving server adds for a message from ``host``."""
    return (
        f"Received: from {host} ({host} [192.0.2.25])\n\tby {by} (Postfix) with ESMTPS id "
        f"4F2A1C0456\n\tfor <{UNSUB}>; Fri, 27 Nov 2026 08:00:01 +0000 (UTC)"
    )


def auth_results(results: str, authserv_id: str = AUTHSERV) -> str:
    """An ``Authentication-Results`` field (folded as servers write them)."""
    return f"Authentication-Results: {authserv_id};\n\t{results}"


def delivered(raw: bytes, *fields: str) -> bytes:
    """``raw`` as stored after delivery: header ``fields`` prepended, the topmost first."""
    top = "".join(f"{field}\n" for field in fields)
    return top.replace("\n", "\r\n").encode() + raw


def classify(
    raw: bytes, *, bounce_address: str | None = BOUNCE, authserv_id: str | None = None
) -> dsn.Verdict:
    return dsn.classify(
        raw,
        secret=SECRET,
        unsubscribe_mailto=UNSUB,
        bounce_address=bounce_address,
        authserv_id=authserv_id,
    )


# -- bounces ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_hard_bounce_found_through_verp(shape: str) -> None:
    # The failing address is a forwarding target, not on the list: only VERP finds who it is.
    raw = SHAPES[shape]("someone@example.net", verp(42), subscriber_id=42)
    verdict = classify(raw)
    assert verdict.kind == dsn.HARD_BOUNCE
    assert verdict.by_token
    assert [t.subscriber_id for t in verdict.targets] == [42]
    assert verdict.targets[0].detail.startswith("5.")
    assert verdict.key.startswith("mid:<")


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_without_verp_configured_final_recipient_is_trusted(shape: str) -> None:
    raw = SHAPES[shape]("Erin@Example.net", LIST)
    verdict = classify(raw, bounce_address=None)
    assert verdict.kind == dsn.HARD_BOUNCE
    assert not verdict.by_token
    assert verdict.targets[0].subscriber_id is None
    assert "Erin@Example.net" in verdict.targets[0].addresses


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_with_verp_configured_a_dsn_without_verp_is_unverified(shape: str) -> None:
    """Anyone can write a DSN naming a subscriber in Final-Recipient: with VERP on, only
    a signed VERP address makes a bounce count."""
    raw = SHAPES[shape]("Erin@Example.net", LIST)
    verdict = classify(raw)
    assert verdict.kind == dsn.UNVERIFIED
    assert not verdict.by_token
    assert "Erin@Example.net" in verdict.targets[0].addresses
    assert verdict.reason == "hard bounce for Erin@Example.net without a valid VERP address"
    soft = classify(SHAPES[shape]("erin@example.net", LIST, status="4.2.2"))
    assert (soft.kind, soft.reason.split(" for ")[0]) == (dsn.UNVERIFIED, "soft bounce")


@pytest.mark.parametrize(
    ("shape", "status"),
    [("postfix", "4.2.2"), ("exim", "4.0.0"), ("exchange", "4.4.7"), ("gmail", "4.4.1")],
)
def test_failed_with_4xx_status_is_a_soft_bounce(shape: str, status: str) -> None:
    verdict = classify(SHAPES[shape]("erin@example.net", verp(7), status=status, subscriber_id=7))
    assert verdict.kind == dsn.SOFT_BOUNCE
    assert verdict.targets[0].subscriber_id == 7
    assert verdict.targets[0].detail.startswith(status)


def test_delayed_notice_is_not_a_bounce() -> None:
    for raw in (
        gmail_dsn("erin@example.net", verp(7), status="4.4.1", action="delayed"),
        postfix_dsn("erin@example.net", verp(7), status="4.4.1", action="delayed"),
    ):
        verdict = classify(raw)
        assert verdict.kind == dsn.OTHER
        assert "delayed" in verdict.reason


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_tampered_verp_token_is_ignored(shape: str) -> None:
    token = make_token(SECRET, "bounce", 42)
    payload, mac = token.split(".")
    forged = make_token(SECRET, "bounce", 43).split(".")[0] + "." + mac
    for bad in (forged, payload + "." + mac[:-1] + ("a" if mac[-1] != "a" else "b")):
        raw = SHAPES[shape]("someone@example.net", f"bounce+{bad}@example.org")
        verdict = classify(raw)
        assert verdict.kind == dsn.OTHER, shape
        assert "invalid token" in verdict.reason
    # A token signed with another secret, or for another purpose, is no better.
    other = f"bounce+{make_token(b'other secret', 'bounce', 42)}@example.org"
    assert classify(SHAPES[shape]("someone@example.net", other)).kind == dsn.OTHER
    wrong_use = f"bounce+{make_token(SECRET, 'unsubscribe', 42)}@example.org"
    assert classify(SHAPES[shape]("someone@example.net", wrong_use)).kind == dsn.OTHER


def test_verp_in_returned_headers_when_the_dsn_went_elsewhere() -> None:
    # Forwarded to the list address: To is plain, but the returned headers and Postfix's
    # X-Postfix-Sender still carry the envelope sender.
    raw = postfix_dsn("someone@example.net", verp(5)).replace(
        f"To: {verp(5)}".encode(), f"To: {LIST}".encode()
    )
    raw = raw.replace(f"Delivered-To: {verp(5)}".encode(), f"Delivered-To: {LIST}".encode())
    verdict = classify(raw)
    assert verdict.kind == dsn.HARD_BOUNCE
    assert verdict.targets[0].subscriber_id == 5


def test_original_recipient_is_preferred_to_final_recipient() -> None:
    raw = exchange_dsn("carol@example.net", LIST).replace(
        b"Final-Recipient: rfc822;carol@example.net", b"Final-Recipient: rfc822;c.x@example.net"
    )
    verdict = classify(raw, bounce_address=None)
    assert verdict.kind == dsn.HARD_BOUNCE
    assert verdict.targets[0].addresses == ("carol@example.net", "c.x@example.net")


def test_global_delivery_status_is_parsed() -> None:
    raw = (
        postfix_dsn("zoë@example.net", LIST)
        .replace(b"report-type=delivery-status", b"report-type=global-delivery-status")
        .replace(b"message/delivery-status", b"message/global-delivery-status")
        .replace(b"rfc822; zo", b"utf-8; zo")
    )
    verdict = classify(raw, bounce_address=None)
    assert verdict.kind == dsn.HARD_BOUNCE
    assert "zoë@example.net" in verdict.targets[0].addresses


def test_other_reports_and_forwarded_bounces_are_not_bounces() -> None:
    feedback = postfix_dsn("erin@example.net", verp(3)).replace(
        b"report-type=delivery-status", b"report-type=feedback-report"
    )
    assert classify(feedback).kind == dsn.OTHER
    forwarded = EmailMessage()
    forwarded["From"] = "helpdesk@example.net"
    forwarded["To"] = LIST
    forwarded["Subject"] = "Fwd: Undelivered Mail Returned to Sender"
    forwarded.set_content("See attached.")
    forwarded.add_attachment(postfix_dsn("erin@example.net", verp(3)), "message", "rfc822")
    assert classify(forwarded.as_bytes()).kind == dsn.OTHER


def test_status_taken_from_diagnostic_code_when_missing() -> None:
    raw = postfix_dsn("erin@example.net", verp(9)).replace(b"Status: 5.1.1\r\n", b"")
    verdict = classify(raw)
    assert verdict.kind == dsn.HARD_BOUNCE
    assert verdict.targets[0].detail.startswith("5.1.1")


# -- unsubscribe requests -------------------------------------------------------------------


def test_mailto_subject_token_is_an_unsubscribe_request() -> None:
    verdict = classify(mail(f"unsubscribe {unsub_token(12)}"))
    assert verdict.kind == dsn.UNSUBSCRIBE
    assert verdict.targets[0].subscriber_id == 12
    assert verdict.by_token
    # Clients that leave the %20 encoded, upper-case tokens, a reply prefix.
    assert classify(mail(f"unsubscribe%20{unsub_token(12)}")).targets[0].subscriber_id == 12
    assert classify(mail(f"Re: UNSUBSCRIBE {unsub_token(12).upper()}")).kind == dsn.UNSUBSCRIBE


def test_token_in_the_body_sent_to_the_unsubscribe_address() -> None:
    body = f"Please remove me.\n\nunsubscribe {unsub_token(8)}\n"
    verdict = classify(mail("Remove me", body))
    assert verdict.kind == dsn.UNSUBSCRIBE
    assert verdict.targets[0].subscriber_id == 8
    # The same text sent to the list address is not a request.
    assert classify(mail("Remove me", body, to=LIST)).kind == dsn.OTHER


def test_tampered_unsubscribe_tokens_are_ignored() -> None:
    token = unsub_token(12)
    payload, mac = token.split(".")
    forged = unsub_token(13).split(".")[0] + "." + mac
    for bad in (forged, f"{payload}.{'a' * 24}", make_token(SECRET, "bounce", 12), "nonsense"):
        verdict = classify(mail(f"unsubscribe {bad}"))
        assert verdict.kind == dsn.OTHER
        assert verdict.targets == ()
    verdict = classify(mail("please", f"unsubscribe {forged}"))
    assert verdict.kind == dsn.OTHER
    assert "does not verify" in verdict.reason


def test_plain_unsubscribe_subject_names_the_sender() -> None:
    raw = delivered(
        mail("Unsubscribe", sender="Bob <Bob@Example.net>", to=LIST),
        auth_results("dkim=pass header.d=example.net; dmarc=pass header.from=Example.net"),
        received(),
    )
    verdict = classify(raw, authserv_id=AUTHSERV)
    assert verdict.kind == dsn.UNSUBSCRIBE
    assert not verdict.by_token
    assert verdict.targets[0].addresses == ("Bob@Example.net",)
    assert verdict.reason == "mailto, from a subscriber, dmarc=pass by mx.example.org"
    assert classify(mail("Re: unsubscribe me please", to=LIST)).kind == dsn.OTHER


def test_plain_unsubscribe_without_authserv_id_is_unverified() -> None:
    """Without email.inbox.authserv_id nothing vouches for From: the request is reported
    to the operator, not applied – even with a dmarc=pass someone may have written."""
    raw = delivered(
        mail("unsubscribe", sender="bob@example.net", to=LIST),
        auth_results("dmarc=pass header.from=example.net"),
    )
    verdict = classify(raw)
    assert verdict.kind == dsn.UNVERIFIED
    assert verdict.targets[0].addresses == ("bob@example.net",)
    assert verdict.reason == (
        "unsubscribe request from bob@example.net without a token and without verified "
        "authentication (no email.inbox.authserv_id configured)"
    )


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ([received()], "no Authentication-Results from mx.example.org"),
        ([auth_results("dmarc=fail (p=reject dis=none) header.from=example.net")], "dmarc=fail"),
        (
            [auth_results("dmarc=pass header.from=example.net", "mx.example.net"), received()],
            "no Authentication-Results from mx.example.org",
        ),
        # Forged by the sender: below the server's Received field ...
        (
            [
                auth_results("spf=pass smtp.mailfrom=example.net"),
                received(),
                auth_results("dmarc=pass header.from=example.net"),
            ],
            "no DMARC result",
        ),
        # ... or right below the server's own verdict, which comes first.
        (
            [
                auth_results("dmarc=fail header.from=example.net"),
                auth_results("dmarc=pass header.from=example.net"),
                received(),
            ],
            "dmarc=fail",
        ),
        # Another server's pass right beside the server's own fields counts for nothing.
        (
            [
                auth_results("spf=pass smtp.mailfrom=example.net"),
                auth_results("dmarc=pass header.from=example.net", "mx.example.net"),
                auth_results("dmarc=pass header.from=example.net"),
            ],
            "no DMARC result",
        ),
        ([auth_results("dmarc=pass header.from=example.com")], "not example.net"),
        ([auth_results("dkim=pass header.d=example.com; spf=pass")], "no DKIM pass"),
        ([auth_results("dmarc=none; dkim=fail header.d=example.net")], "dmarc=none"),
    ],
)
def test_plain_unsubscribe_without_trusted_pass_is_unverified(fields: list[str], why: str) -> None:
    raw = delivered(mail("unsubscribe", sender="bob@example.net", to=LIST), *fields)
    verdict = classify(raw, authserv_id=AUTHSERV)
    assert verdict.kind == dsn.UNVERIFIED
    assert why in verdict.reason
    assert "bob@example.net without a token" in verdict.reason


def test_plain_unsubscribe_with_aligned_dkim_pass() -> None:
    # Gmail reports header.i, OpenDKIM header.d; several signatures in one field.
    for results in (
        "dkim=pass header.i=@example.net header.s=20230601 header.b=AbCd",
        "dkim=pass header.d=esp.example.com header.s=s1; dkim=pass (2048-bit key) "
        "header.d=example.net header.s=mail",
    ):
        raw = delivered(
            mail("unsubscribe", sender="bob@example.net", to=LIST), auth_results(results)
        )
        verdict = classify(raw, authserv_id=AUTHSERV)
        assert verdict.kind == dsn.UNSUBSCRIBE, results
        assert "dkim=pass for example.net" in verdict.reason


def test_plain_unsubscribe_with_two_from_addresses_is_unverified() -> None:
    # DMARC is evaluated for one From domain; a second address could be anyone's.
    good = auth_results("dmarc=pass header.from=example.net")
    for raw in (
        delivered(mail("unsubscribe", sender="bob@example.net, carol@example.org"), good),
        delivered(mail("unsubscribe", sender="bob@example.net", From="carol@example.org"), good),
    ):
        verdict = classify(raw, authserv_id=AUTHSERV)
        assert verdict.kind == dsn.UNVERIFIED
        assert "more than one From address" in verdict.reason


def test_automatic_replies_are_never_requests() -> None:
    footer = f"> Unsubscribe: https://letter.example.org/unsubscribe/{unsub_token(4)}\n"
    ooo = mail("Out of office", "I am away.\n" + footer, Auto_Submitted="auto-replied")
    assert classify(ooo).kind == dsn.OTHER
    assert classify(mail("unsubscribe", Auto_Submitted="auto-generated")).kind == dsn.OTHER


def test_bounce_quoting_the_unsubscribe_link_is_a_bounce_not_a_request() -> None:
    # Exim returns the whole message, List-Unsubscribe token and all.
    verdict = classify(exim_dsn("someone@example.net", verp(2), subscriber_id=2))
    assert verdict.kind == dsn.HARD_BOUNCE


def test_ordinary_mail_is_other() -> None:
    assert classify(mail("Thanks for the issue!", "Great read.", to=LIST)).kind == dsn.OTHER
    assert classify(b"garbage without headers").kind == dsn.OTHER


def test_message_key() -> None:
    raw = mail("hello", msgid="<abc@example.net>")
    assert classify(raw).key == "mid:<abc@example.net>"
    bare = b"From: a@example.net\r\nSubject: x\r\n\r\nbody\r\n"
    assert classify(bare).key == "sha256:" + hashlib.sha256(bare).hexdigest()
