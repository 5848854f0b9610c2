"""Parsing ``Authentication-Results`` (RFC 8601) and choosing the trusted fields.

The corpus follows the shapes real receiving servers write – Gmail, Microsoft 365,
Postfix with OpenDKIM and OpenDMARC, Fastmail, Yahoo, rspamd, Exim – with their folding,
comments and property sets, rewritten with example.org/example.net names. Each entry is
labelled with what a reader must get out of it.
"""

from __future__ import annotations

import pytest

from newsdesk.mail import authresults
from newsdesk.mail.authresults import check_sender, parse, trusted

# name: (field value, authserv-id, [(method, result, property, value of that property)])
CORPUS: dict[str, tuple[str, str | None, list[tuple[str, str, str, str | None]]]] = {
    "gmail": (
        "mx.google.com;\r\n"
        "       dkim=pass header.i=@example.net header.s=20230601 header.b=AbCdEf12;\r\n"
        "       spf=pass (google.com: domain of alice@example.net designates 192.0.2.1 as "
        "permitted sender) smtp.mailfrom=alice@example.net;\r\n"
        "       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=example.net",
        "mx.google.com",
        [
            ("dkim", "pass", "header.i", "@example.net"),
            ("spf", "pass", "smtp.mailfrom", "alice@example.net"),
            ("dmarc", "pass", "header.from", "example.net"),
        ],
    ),
    "gmail-fail": (
        "mx.google.com;\r\n"
        "       spf=softfail (google.com: domain of transitioning alice@example.net does not "
        "designate 198.51.100.7 as permitted sender) smtp.mailfrom=alice@example.net;\r\n"
        "       dmarc=fail (p=REJECT sp=REJECT dis=REJECT) header.from=example.net",
        "mx.google.com",
        [
            ("spf", "softfail", "smtp.mailfrom", "alice@example.net"),
            ("dmarc", "fail", "header.from", "example.net"),
        ],
    ),
    # Microsoft 365 writes no authserv-id: the field starts with a result.
    "microsoft365": (
        "spf=pass (sender IP is 192.0.2.1)\r\n smtp.mailfrom=example.net; dkim=pass "
        "(signature was verified)\r\n header.d=example.net;dmarc=pass action=none\r\n "
        "header.from=example.net;compauth=pass reason=100",
        None,
        [
            ("spf", "pass", "smtp.mailfrom", "example.net"),
            ("dkim", "pass", "header.d", "example.net"),
            ("dmarc", "pass", "header.from", "example.net"),
            ("compauth", "pass", "header.from", None),
        ],
    ),
    "opendkim": (
        "mail.example.org;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=example.net "
        "header.i=@example.net header.a=rsa-sha256 header.s=mail header.b=AbCd1234;\r\n"
        "\tdkim-atps=neutral",
        "mail.example.org",
        [("dkim", "pass", "header.d", "example.net"), ("dkim-atps", "neutral", "x", None)],
    ),
    "opendmarc": (
        "mail.example.org; dmarc=fail (p=reject dis=none) header.from=example.net",
        "mail.example.org",
        [("dmarc", "fail", "header.from", "example.net")],
    ),
    "postfix-policyd-spf": (
        "mail.example.org; spf=pass (sender SPF authorized) smtp.mailfrom=example.net "
        "(client-ip=192.0.2.1; helo=mail.example.net; envelope-from=alice@example.net; "
        "receiver=<UNKNOWN>)",
        "mail.example.org",
        [("spf", "pass", "smtp.mailfrom", "example.net")],
    ),
    "fastmail": (
        "mx6.messagingengine.com;\r\n"
        "    dkim=pass (2048-bit rsa key sha256) header.d=example.net header.i=@example.net "
        "header.b=AbCd header.a=rsa-sha256 header.s=fm1 x-bits=2048;\r\n"
        "    dmarc=pass policy.published-domain-policy=none policy.applied-disposition=none "
        "policy.evaluated-disposition=none (p=none,d=none,d.eval=none) policy.policy-from=p "
        "header.from=example.net;\r\n"
        "    iprev=pass smtp.remote-ip=192.0.2.1 (mail.example.net);\r\n"
        "    spf=pass smtp.mailfrom=alice@example.net smtp.helo=mail.example.net;\r\n"
        "    x-aligned-from=pass (Address match);\r\n"
        "    x-me-sender=none",
        "mx6.messagingengine.com",
        [
            ("dkim", "pass", "x-bits", "2048"),
            ("dmarc", "pass", "header.from", "example.net"),
            ("iprev", "pass", "smtp.remote-ip", "192.0.2.1"),
            ("spf", "pass", "smtp.helo", "mail.example.net"),
            ("x-aligned-from", "pass", "header.from", None),
            ("x-me-sender", "none", "header.from", None),
        ],
    ),
    # Yahoo: a comment straight after the result, and a trailing semicolon.
    "yahoo": (
        "atlas-production.v2-mail-prod1-gq1.omega.yahoo.com; dkim=pass header.i=@example.net "
        "header.s=s1; spf=pass smtp.mailfrom=example.net; dmarc=pass(p=REJECT) "
        "header.from=example.net;",
        "atlas-production.v2-mail-prod1-gq1.omega.yahoo.com",
        [
            ("dkim", "pass", "header.i", "@example.net"),
            ("spf", "pass", "smtp.mailfrom", "example.net"),
            ("dmarc", "pass", "header.from", "example.net"),
        ],
    ),
    "rspamd": (
        "mail.example.org;\r\n\tdkim=pass header.d=example.net header.s=dkim header.b=AbCd;\r\n"
        "\tdmarc=pass (policy=reject) header.from=example.net;\r\n"
        "\tspf=pass (mail.example.org: domain of alice@example.net designates 192.0.2.1 as "
        "permitted sender) smtp.mailfrom=alice@example.net",
        "mail.example.org",
        [
            ("dkim", "pass", "header.s", "dkim"),
            ("dmarc", "pass", "header.from", "example.net"),
            ("spf", "pass", "smtp.mailfrom", "alice@example.net"),
        ],
    ),
    "exim": (
        "mail.example.org;\r\n\tiprev=pass (mail.example.net) smtp.remote-ip=192.0.2.1;\r\n"
        "\tspf=pass smtp.mailfrom=example.net;\r\n"
        "\tdkim=pass header.d=example.net header.s=s1 header.a=rsa-sha256;\r\n"
        "\tdmarc=pass header.from=example.net;\r\n\tarc=none",
        "mail.example.org",
        [
            ("iprev", "pass", "smtp.remote-ip", "192.0.2.1"),
            ("spf", "pass", "smtp.mailfrom", "example.net"),
            ("dkim", "pass", "header.a", "rsa-sha256"),
            ("dmarc", "pass", "header.from", "example.net"),
            ("arc", "none", "x", None),
        ],
    ),
    # RFC 8601's own examples: a version, "none", a reason, a method version.
    "rfc-none": ("mail.example.org 1; none", "mail.example.org", []),
    "rfc-reason": (
        'mail.example.org;\r\n dkim/1=fail reason="signature verification failed; '
        'key revoked" header.d=example.net',
        "mail.example.org",
        [("dkim", "fail", "header.d", "example.net")],
    ),
    # Comments may nest, escape parentheses and hold semicolons; a quoted string may
    # hold a semicolon, an "=" and a parenthesis.
    "comments-and-quotes": (
        '"mail.example.org" (our (inner; nested) comment \\) still) ;\r\n'
        ' dkim = pass (a; b) header.b="x;y=(z)" header.d=example.net ;\r\n'
        " dmarc=pass (p=none; no = policy) header.from = example.net",
        "mail.example.org",
        [
            ("dkim", "pass", "header.b", "x;y=(z)"),
            ("dmarc", "pass", "header.from", "example.net"),
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus(name: str) -> None:
    value, authserv_id, expected = CORPUS[name]
    parsed = parse(value)
    assert parsed.authserv_id == authserv_id
    assert [(r.method, r.result) for r in parsed.results] == [(m, r) for m, r, _p, _v in expected]
    for result, (_m, _r, prop, want) in zip(parsed.results, expected, strict=True):
        assert result.get(prop) == want, (name, result)


def test_version_and_reason_are_kept() -> None:
    assert parse("mail.example.org 1; none").version == "1"
    reason = parse(CORPUS["rfc-reason"][0]).results[0].reason
    assert reason == "signature verification failed; key revoked"
    assert parse(CORPUS["microsoft365"][0]).first("compauth").reason == "100"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "mail.example.org",
        "mail.example.org;",
        "mail.example.org; dmarc",
        "mail.example.org; =pass",
        "mail.example.org; dmarc=pass (unclosed comment header.from=example.net",
        'mail.example.org; dmarc="pass" header.from=example.net',
        "mail.example.org; dmarc=pa$s header.from=example.net",
        "mail.example.org; dmarc=pass header.from",
    ],
)
def test_malformed_results_are_left_out_not_guessed(value: str) -> None:
    """Nothing raises; a resinfo that is not one never yields a result."""
    parsed = parse(value)
    assert all(r.result != "pass" or r.get("header.from") is None for r in parsed.results)
    assert not [r for r in parsed.results if r.method == "dmarc" and r.result == "pass"]


def test_garbage_segment_does_not_hide_the_rest() -> None:
    parsed = parse("mail.example.org; ??? ; dmarc=fail header.from=example.net")
    assert [(r.method, r.result) for r in parsed.results] == [("dmarc", "fail")]


# -- which fields are trusted ---------------------------------------------------------------

GMAIL_STACK = [
    ("Delivered-To", "list@example.org"),
    ("Received", "by 2002:a05:6a10:1234 with SMTP id x1csp1;\r\n Fri, 27 Nov 2026"),
    (
        "ARC-Authentication-Results",
        "i=1; mx.google.com; dmarc=pass header.from=example.com",
    ),
    ("Return-Path", "<bob@example.net>"),
    ("Received", "from mail.example.net (mail.example.net. [192.0.2.1]) by mx.google.com"),
    ("Received-SPF", "pass (google.com: domain of bob@example.net designates 192.0.2.1)"),
    ("Authentication-Results", "mx.google.com; spf=pass smtp.mailfrom=bob@example.net"),
    ("DKIM-Signature", "v=1; a=rsa-sha256; d=example.net; s=s1; b=AbCd"),
    ("Received", "from [198.51.100.9] by mail.example.net"),
    ("Authentication-Results", "mx.google.com; dmarc=pass header.from=example.com"),
    ("From", "bob@example.net"),
]


def test_only_the_topmost_run_of_the_servers_fields_is_trusted() -> None:
    block = trusted(GMAIL_STACK, "MX.Google.com.")
    assert [[r.method for r in f.results] for f in block] == [["spf"]]
    # ARC-Authentication-Results is not an Authentication-Results field.
    assert trusted(GMAIL_STACK[:4], "mx.google.com") == []
    # Postfix with OpenDKIM and OpenDMARC: two adjacent fields, both trusted.
    stack = [
        ("Authentication-Results", "mail.example.org; dmarc=pass header.from=example.net"),
        ("X-Spam-Status", "No, score=-0.1"),
        ("Authentication-Results", "mail.example.org; dkim=pass header.d=example.net"),
        ("Received", "from mail.example.net by mail.example.org (Postfix)"),
        ("Authentication-Results", "mail.example.org; dkim=pass header.d=example.com"),
    ]
    block = trusted(stack, "mail.example.org")
    assert [f.results[0].method for f in block] == ["dmarc", "dkim"]


def test_several_authserv_ids() -> None:
    """Fastmail's MX hosts each write their own id: any of those configured counts."""
    stack = [("Authentication-Results", CORPUS["fastmail"][0])]
    ids = "mx1.messagingengine.com, mx2.messagingengine.com mx6.messagingengine.com"
    assert authresults.authserv_ids(ids) == {f"mx{n}.messagingengine.com" for n in (1, 2, 6)}
    assert authresults.authserv_ids(" , ") == frozenset()
    check = check_sender(stack, "alice@example.net", ids)
    assert check == authresults.SenderCheck(True, "dmarc=pass by mx6.messagingengine.com")
    assert not check_sender(stack, "alice@example.net", "mx1.messagingengine.com").verified
    assert not check_sender(stack, "alice@example.net", " ").verified


def test_check_sender_on_real_stacks() -> None:
    gmail = check_sender(GMAIL_STACK, "Bob <bob@example.net>", "mx.google.com")
    assert gmail == authresults.SenderCheck(False, "no DMARC result by mx.google.com")
    stack = [("Authentication-Results", CORPUS["fastmail"][0])]
    assert check_sender(stack, "alice@EXAMPLE.net", "mx6.messagingengine.com").verified
    assert not check_sender(stack, "alice@example.org", "mx6.messagingengine.com").verified
    assert not check_sender(stack, "alice@example.net", None).verified
    microsoft = [("Authentication-Results", CORPUS["microsoft365"][0])]
    assert not check_sender(microsoft, "alice@example.net", "outlook.com").verified
