"""Header injection: every header newsdesk writes comes from newsdesk.mail.headers, and no
value – a name typed into the sign-up form, an issue title, an address from the
configuration – can add a header or a body, on any Python (3.11.7 included, whose email
package writes decoded encoded words back raw: CVE-2024-6923)."""

from __future__ import annotations

import email
import email.policy
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsdesk.mail.addresses import InvalidAddress, clean_name
from newsdesk.mail.headers import (
    HeaderError,
    address_header,
    mailbox_header,
    parse_mailbox,
    structured_header,
    text_header,
)
from newsdesk.mail.send import send_issues
from newsdesk.mail.store import Store, Subscriber
from newsdesk.service.confirmation import confirmation_message
from tests.mailfixtures import rendering, start_server
from tests.mailfixtures import settings as mail_settings

ATTACK = (
    "=?utf-8?q?x=0D=0ASubject:_Your_account_is_locked=0D=0AContent-Type:_text/html"
    "=0D=0A=0D=0A<a_href=3Dhttps://evil.example/>verify_now</a>?="
)
ATTACKS = [
    ATTACK,
    "=?UTF-8?B?eA0KQmNjOiBldmlsQGV2aWwuZXhhbXBsZQ==?=",  # x CRLF Bcc: evil@evil.example
    "Title\r\nBcc: evil@evil.example",
    "Title\nX-Evil: 1",
    "Title\rX-Evil: 1",
    "Title\u2028X-Evil: 1",
    "Title\x85X-Evil: 1",
    "=?utf-8?q?a?= =?utf-8?q?=0A?=X-Evil: 1",
    "=?iso-8859-1?q?=0d=0aX-Evil:_1?=",
]


def headers_of(raw: bytes) -> list[bytes]:
    """The header lines of a raw message (unfolded), up to the first empty line."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    return re.sub(rb"\r\n[ \t]", b" ", head).split(b"\r\n")


def names(raw: bytes) -> list[str]:
    return [line.split(b":", 1)[0].decode().lower() for line in headers_of(raw)]


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


@pytest.mark.parametrize("title", ATTACKS)
def test_a_text_header_never_decodes_to_a_line_break(title):
    data = text_header("Subject", title)
    assert data.endswith(b"\r\n") and data.count(b"\r\n") == data.count(b"\r\n ") + 1
    msg = parse(data + b"\r\nbody")
    assert list(msg.keys()) == ["Subject"]
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]


def test_an_encoded_word_in_a_title_reaches_the_reader_as_typed():
    msg = parse(text_header("Subject", ATTACK) + b"\r\n")
    assert str(msg["Subject"]) == ATTACK
    # Plain ASCII stays readable, and is folded at 78 characters.
    plain = text_header("Subject", "Happy Computing #3: " + "word " * 30)
    assert plain.startswith(b"Subject: Happy Computing #3: word")
    assert all(len(line) <= 78 for line in plain.split(b"\r\n"))


@pytest.mark.parametrize("name", ATTACKS)
def test_an_address_header_keeps_one_recipient(name):
    data = address_header("To", name, "reader@example.org")
    msg = parse(data + b"\r\n")
    assert list(msg.keys()) == ["To"]
    [address] = msg["To"].addresses
    assert address.addr_spec == "reader@example.org"
    assert "\n" not in address.display_name and "\r" not in address.display_name


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_text_is_one_header(text):
    for data in (
        text_header("Subject", text),
        address_header("To", text, "reader@example.org"),
    ):
        assert data.isascii()
        body = data[:-2]
        assert data.endswith(b"\r\n") and b"\n" not in body.replace(b"\r\n ", b"")
        msg = parse(data + b"\r\n")
        assert len(msg.keys()) == 1


@pytest.mark.parametrize(
    "addr",
    ["a b@example.org", "a@example.org>\r\nBcc: x@example.org", "<a@example.org>", "a,b@x.org"],
)
def test_an_address_that_is_not_plain_is_refused(addr):
    with pytest.raises(HeaderError):
        address_header("To", "", addr)


def test_configured_mailboxes_and_structured_values():
    assert mailbox_header("From", "Happy Computing <news@example.org>") == (
        b"From: Happy Computing <news@example.org>\r\n"
    )
    assert parse_mailbox("news@example.org") == ("", "news@example.org")
    with pytest.raises(HeaderError):
        parse_mailbox("a@example.org, b@example.org")
    with pytest.raises(HeaderError):
        structured_header("Message-ID", "<a@b>\r\nBcc: x@example.org")
    with pytest.raises(HeaderError):
        structured_header("X-Bad Name", "1")


@pytest.mark.parametrize("name", [ATTACK, "=?utf-8?b?QQ==?=", "Ann =?UTF-8?Q?x?= Lee"])
def test_sign_up_names_with_encoded_words_are_refused(name):
    with pytest.raises(InvalidAddress, match="encoded word"):
        clean_name(name)
    assert clean_name("Ann = Lee?") == "Ann = Lee?"


def test_encoded_word_title_over_smtp_raw_bytes(tmp_path):
    """The attack of the security review: a title whose encoded word decodes to CR LF.
    What the SMTP server received has exactly the headers newsdesk meant to write."""
    server = start_server("none")
    try:
        store = Store.open(tmp_path / ".newsdesk" / "newsdesk.sqlite3")
        for i in range(3):
            store.add(f"reader{i}@example.org", f"Reader {i}", source="import")
        issue = rendering(title=ATTACK)
        report = send_issues(
            mail_settings(tmp_path, server.smtp()), store, [issue], secret=b"k" * 32
        )
        assert report.sent == 3
        assert len(server.received) == 3
        for rec in server.received:
            raw = rec.data
            assert b"\r\nSubject: Your account" not in raw
            assert b"evil.example" not in raw.split(b"\r\n\r\n", 1)[0]
            assert names(raw).count("subject") == 1
            assert names(raw).count("content-type") == 1
            msg = parse(raw)
            assert msg["Subject"] == f"Happy Computing #1: {ATTACK}"
            assert msg.get_content_type() == "multipart/alternative"
    finally:
        server.controller.stop()


def test_confirmation_message_with_a_hostile_stored_name(tmp_path):
    """Names are refused at sign-up; one stored earlier still cannot inject a header."""
    settings = mail_settings(tmp_path, None)
    person = Subscriber(
        id=7,
        email="victim@example.org",
        name=ATTACK,
        status="pending",
        source="web",
        created_at="2026-12-01T00:00:00+00:00",
    )
    raw = confirmation_message(settings, person, "https://letter.example.org/list/confirm/t")
    assert names(raw) == [
        "from",
        "to",
        "reply-to",
        "subject",
        "date",
        "message-id",
        "auto-submitted",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    ]
    msg = parse(raw)
    assert msg["To"].addresses[0].addr_spec == "victim@example.org"
    assert msg.get_content_type() == "text/plain"
    assert "https://letter.example.org/list/confirm/t" in msg.get_content()
