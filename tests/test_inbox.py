"""Reading the list's mailbox against a real Dovecot over IMAP and POP3 (``tests/dovecot.py``)."""

from __future__ import annotations

import imaplib
import re
import shutil
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from newsdesk.errors import NewsdeskError
from newsdesk.mail import inbox
from newsdesk.mail.inbox import (
    KEYWORD,
    InboxUnavailable,
    connect,
    inbox_command,
    parse_inbox_url,
    process_inbox,
)
from newsdesk.mail.store import Store
from newsdesk.settings import EmailSettings, InboxSettings, Settings
from newsdesk.textsafe import terminal_safe
from tests.dovecot import Dovecot, User
from tests.test_dsn import (
    AUTHSERV,
    BOUNCE,
    SECRET,
    UNSUB,
    auth_results,
    delivered,
    exchange_dsn,
    exim_dsn,
    gmail_dsn,
    mail,
    postfix_dsn,
    received,
    unsub_token,
    verp,
)

SCHEMES = ["imaps", "imap", "pop3s", "pop3"]


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    # Not under pytest's tmp_path: its parents are private to root, and Dovecot's mail
    # processes run as an unprivileged user.
    base = Path(tempfile.mkdtemp(prefix="newsdesk-dovecot-"))
    try:
        with Dovecot(base) as server:
            yield server
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def ca(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> str:
    """Trust the test CA the way a user would: through SSL_CERT_FILE."""
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.ca_file))
    monkeypatch.setenv("NEWSDESK_SECRET", SECRET.decode())
    monkeypatch.delenv("NEWSDESK_INBOX_PASSWORD", raising=False)
    return str(dovecot.ca_file)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "newsdesk.sqlite3") as s:
        for address in ("alice@example.net", "bob@example.net", "carol@example.net"):
            s.add(address)
        yield s


def make_settings(
    root: Path,
    url: str,
    password: str | None,
    *,
    soft_limit: int = 3,
    processed_folder: str | None = None,
    bounce_address: str | None = BOUNCE,
    authserv_id: str | None = None,
) -> Settings:
    return Settings(
        root=root,
        site_url="https://letter.example.org/",
        email=EmailSettings(
            from_="Test Letter <list@example.org>",
            unsubscribe_mailto=UNSUB,
            bounce_address=bounce_address,
            database=root / "newsdesk.sqlite3",
            inbox=InboxSettings(
                url=url,
                password=password,
                soft_limit=soft_limit,
                processed_folder=processed_folder,
                authserv_id=authserv_id,
            ),
        ),
    )


def status(store: Store, address: str) -> str:
    sub = store.get(address)
    assert sub is not None
    return sub.status


def imap_view(dovecot: Dovecot, user: User, folder: str = "INBOX") -> list[tuple[str, set[str]]]:
    """(Subject, flags) of every message in ``folder``, read with imaplib."""
    context = ssl.create_default_context(cafile=str(dovecot.ca_file))
    conn = imaplib.IMAP4_SSL("127.0.0.1", dovecot.port_imaps, ssl_context=context)
    conn.login(user.name, user.password)
    conn.select(folder, readonly=True)
    typ, data = conn.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    result = []
    if typ == "OK" and data and data[0] is not None:
        for item in data:
            if isinstance(item, tuple):
                flags = set(imaplib.ParseFlags(item[0]))
                subject = item[1].decode().partition(":")[2].strip()
                result.append((subject, {f.decode() for f in flags}))
    conn.logout()
    return sorted(result)


# -- the URL ------------------------------------------------------------------------------


def test_parse_inbox_url() -> None:
    url = parse_inbox_url("imaps://list%40example.org@mail.example.org/INBOX")
    assert (url.scheme, url.host, url.port, url.username, url.mailbox) == (
        "imaps",
        "mail.example.org",
        993,
        "list@example.org",
        "INBOX",
    )
    assert parse_inbox_url("imap://u@mail.example.org:1143/Lists%2FBounces").mailbox == (
        "Lists/Bounces"
    )
    assert parse_inbox_url("imap://u@mail.example.org").port == 143
    assert parse_inbox_url("pop3s://u@mail.example.org").port == 995
    assert parse_inbox_url("POP3://u@[::1]:1110/").host == "::1"
    for bad, why in [
        ("http://u@mail.example.org/", "scheme"),
        ("imaps://u:hunter2@mail.example.org/", "NEWSDESK_INBOX_PASSWORD"),
        ("imaps://mail.example.org/", "user name"),
        ("pop3s://u@mail.example.org/INBOX", "no folder"),
        ("imaps://u@mail.example.org:99999/", "port"),
        ("imaps://list@[::1", "not a valid URL"),
        ("imaps://u@mail.example.org:0/", "port 0"),
    ]:
        with pytest.raises(NewsdeskError, match=why) as info:
            parse_inbox_url(bad)
        assert "hunter2" not in str(info.value)
        assert info.value.path == "mkdocs.yml"


# -- one run changes the subscribers, the second changes nothing ------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_unsubscribe_and_hard_bounce_over_each_protocol(
    scheme: str, dovecot: Dovecot, ca: str, store: Store, tmp_path: Path, capsys
) -> None:
    alice, bob, carol = (
        store.get(a) for a in ("alice@example.net", "bob@example.net", "carol@example.net")
    )
    assert alice and bob and carol
    user = dovecot.add_user()
    forged = unsub_token(carol.id).split(".")[0] + "." + unsub_token(alice.id).split(".")[1]
    dovecot.deliver(
        user,
        mail(f"unsubscribe {unsub_token(alice.id)}", sender="alice@example.net"),
        postfix_dsn("bob@example.net", verp(bob.id), subscriber_id=bob.id),
        mail(f"unsubscribe {forged}", sender="mallory@example.net"),
        mail("Thanks!", "Great issue.", sender="dave@example.net", to="list@example.org"),
    )
    settings = make_settings(tmp_path, dovecot.url(scheme, user), user.password)

    assert inbox_command(settings, dry_run=False) == 0
    out = capsys.readouterr().out
    assert "inbox: 4 read, 1 unsubscribed, 1 bounced, 0 soft bounces, 2 ignored" in out
    assert "alice@example.net is unsubscribed" in out
    assert status(store, "alice@example.net") == "unsubscribed"
    assert status(store, "bob@example.net") == "bounced"
    assert status(store, "carol@example.net") == "active"  # tampered token
    assert store.events("alice@example.net")[-1].source == "mailto"
    assert store.events("bob@example.net")[-1].source == "bounce"
    assert "5.1.1" in store.events("bob@example.net")[-1].detail
    events_before = [
        len(store.events(a)) for a in ("alice@example.net", "bob@example.net", "carol@example.net")
    ]

    if scheme.startswith("imap"):
        view = dict(imap_view(dovecot, user))
        assert view[f"unsubscribe {unsub_token(alice.id)}"] >= {KEYWORD, "\\Seen"}
        assert view["Undelivered Mail Returned to Sender"] >= {KEYWORD, "\\Seen"}
        # What is not ours stays unread for a person, but is not read again.
        assert view["Thanks!"] & {KEYWORD, "\\Seen"} == {KEYWORD}
        assert view[f"unsubscribe {forged}"] & {KEYWORD, "\\Seen"} == {KEYWORD}
    else:
        left = sorted(m["Subject"] for m in dovecot.maildir(user))
        assert left == sorted(["Thanks!", f"unsubscribe {forged}"])

    # Second run: nothing is read again (IMAP: the keyword; POP3: the UIDLs remembered),
    # nothing changes.
    assert inbox_command(settings, dry_run=False) == 0
    assert "inbox: 0 read, 0 unsubscribed, 0 bounced, 0 soft bounces, 0 ignored" in (
        capsys.readouterr().out
    )
    addresses = ("alice@example.net", "bob@example.net", "carol@example.net")
    assert [len(store.events(a)) for a in addresses] == events_before
    assert events_before == [2, 2, 1]
    assert status(store, "carol@example.net") == "active"

    # A message arriving later is read, and only it.
    dovecot.deliver(user, mail(f"unsubscribe {unsub_token(carol.id)}", msgid="<late@x>"))
    summary = process_inbox(settings, store)
    assert (summary.read, summary.unsubscribed) == (1, 1)
    assert summary.left_alone == (2 if scheme.startswith("pop3") else 0)
    assert status(store, "carol@example.net") == "unsubscribed"

    if scheme.startswith("pop3"):
        # Once a person deletes them, their remembered UIDLs are forgotten.
        remembered = "SELECT count(*) FROM inbox_pop3_ignored"
        assert store.conn.execute(remembered).fetchone()[0] == 2
        dovecot.maildir(user).clear()
        assert process_inbox(settings, store).read == 0
        assert store.conn.execute(remembered).fetchone()[0] == 0


def test_each_dsn_shape_and_plain_unsubscribe(
    dovecot: Dovecot, ca: str, store: Store, tmp_path: Path
) -> None:
    subs = [store.add(f"s{i}@example.net") for i in range(6)]
    user = dovecot.add_user()
    passed = auth_results("dkim=pass header.d=example.net; dmarc=pass header.from=example.net")
    dovecot.deliver(
        user,
        exim_dsn("s0@example.net", verp(subs[0].id), subscriber_id=subs[0].id),
        exchange_dsn("s1@example.net", verp(subs[1].id), subscriber_id=subs[1].id),
        gmail_dsn("s2@example.net", verp(subs[2].id), subscriber_id=subs[2].id),
        postfix_dsn("s3@example.net", verp(subs[3].id), msgid="p3@mail.example.org"),
        delivered(
            mail("unsubscribe", sender="S4 <s4@example.net>", to="list@example.org"),
            passed,
            received(),
        ),
        delivered(
            mail("unsubscribe", sender="stranger@example.net", to="list@example.org"),
            passed.replace("example.net", "example.com"),
        ),
        gmail_dsn("s5@example.net", verp(subs[5].id), status="4.4.1", action="delayed"),
    )
    url = dovecot.url("imaps", user)
    settings = make_settings(tmp_path, url, user.password, authserv_id=AUTHSERV)
    summary = process_inbox(settings, store)
    assert (summary.read, summary.bounced, summary.unsubscribed, summary.ignored) == (7, 4, 1, 2)
    assert summary.unverified == 0
    assert [status(store, s.email) for s in subs] == ["bounced"] * 4 + ["unsubscribed", "active"]
    assert store.get("stranger@example.net") is None
    assert "dmarc=pass by mx.example.org" in store.events("s4@example.net")[-1].detail


def test_without_verp_a_dsn_counts_through_final_recipient(
    dovecot: Dovecot, ca: str, store: Store, tmp_path: Path
) -> None:
    """The weaker mode without email.bounce_address: Final-Recipient is believed."""
    user = dovecot.add_user()
    dovecot.deliver(user, postfix_dsn("Carol@Example.net", "list@example.org"))
    url = dovecot.url("imaps", user)
    summary = process_inbox(make_settings(tmp_path, url, user.password, bounce_address=None), store)
    assert (summary.read, summary.bounced, summary.unverified) == (1, 1, 0)
    assert status(store, "carol@example.net") == "bounced"


def test_bounces_before_rfc_3464_take_the_same_way(
    dovecot: Dovecot, ca: str, store: Store, tmp_path: Path
) -> None:
    """qmail's and old Exim's plain-text bounces count through VERP like a DSN, a soft one
    towards the limit; without a VERP address one is only reported; an out-of-office
    reply is ignored."""
    corpus = Path(__file__).parent / "data" / "bounces"
    hard, soft = store.add("frank@example.net"), store.add("judy@example.net")
    store.add("nina@example.com")
    user = dovecot.add_user()
    dovecot.deliver(
        user,
        delivered((corpus / "qmail-no-mailbox.eml").read_bytes(), f"Delivered-To: {verp(hard.id)}"),
        delivered(
            (corpus / "exim-old-retry-timeout.eml").read_bytes(), f"Delivered-To: {verp(soft.id)}"
        ),
        (corpus / "sendmail-old-fatal.eml").read_bytes(),
        (corpus / "ooo-auto-submitted.eml").read_bytes(),
    )
    url = dovecot.url("imaps", user)
    summary = process_inbox(make_settings(tmp_path, url, user.password), store)
    assert (summary.read, summary.bounced, summary.soft_bounces) == (4, 1, 1)
    assert (summary.unverified, summary.ignored) == (1, 1)
    assert [status(store, a) for a in ("frank@example.net", "judy@example.net")] == [
        "bounced",
        "active",
    ]
    assert store.get("judy@example.net").soft_bounces == 1
    assert "5.1.1" in store.events("frank@example.net")[-1].detail
    assert status(store, "nina@example.com") == "active"
    assert "nina@example.com without a valid VERP address" in summary.unverified_notes[0]


# -- what cannot be verified is reported, not applied -----------------------------------------


@pytest.mark.parametrize("scheme", ["imaps", "pop3s"])
def test_forged_dsn_and_spoofed_unsubscribe_change_nothing(
    scheme: str, dovecot: Dovecot, ca: str, store: Store, tmp_path: Path, capsys
) -> None:
    """The attack: a DSN naming Alice only in Final-Recipient, an "unsubscribe" with Bob's
    address in From. Beside them, a real bounce (VERP) and a request with a token still
    count."""
    dave = store.add("dave@example.net")
    erin = store.add("erin@example.net")
    user = dovecot.add_user()
    forged_dsn = postfix_dsn("alice@example.net", "list@example.org", msgid="forged@example.com")
    spoofed = mail("unsubscribe", sender="Bob <bob@example.net>", to="list@example.org")
    dovecot.deliver(
        user,
        forged_dsn,
        spoofed,
        gmail_dsn("dave@example.net", verp(dave.id), subscriber_id=dave.id),
        mail(f"unsubscribe {unsub_token(erin.id)}", sender="mallory@example.com"),
    )
    settings = make_settings(tmp_path, dovecot.url(scheme, user), user.password)
    dry = process_inbox(settings, store, dry_run=True)
    assert (dry.unverified, len(dry.unverified_notes), dry.bounced, dry.unsubscribed) == (
        2,
        2,
        1,
        1,
    )

    assert inbox_command(settings, dry_run=False) == 0
    out = capsys.readouterr().out
    assert "inbox: 4 read, 1 unsubscribed, 1 bounced, 0 soft bounces, 0 ignored, 2 unverified" in (
        out
    )
    assert (
        "unverified: hard bounce for alice@example.net without a valid VERP address: "
        "not applied" in out
    )
    assert (
        "unverified: unsubscribe request from bob@example.net without a token and without "
        "verified authentication (no email.inbox.authserv_id configured): not applied" in out
    )
    assert [status(store, a) for a in ("alice@example.net", "bob@example.net")] == ["active"] * 2
    assert [len(store.events(a)) for a in ("alice@example.net", "bob@example.net")] == [1, 1]
    assert status(store, "dave@example.net") == "bounced"
    assert status(store, "erin@example.net") == "unsubscribed"

    # The unverified messages stay for a person, like other mail that is not ours.
    if scheme == "imaps":
        view = dict(imap_view(dovecot, user))
        assert view["Undelivered Mail Returned to Sender"] & {KEYWORD, "\\Seen"} == {KEYWORD}
        assert view["unsubscribe"] & {KEYWORD, "\\Seen"} == {KEYWORD}
    else:
        left = sorted(m["Subject"] for m in dovecot.maildir(user))
        assert left == ["Undelivered Mail Returned to Sender", "unsubscribe"]
    second = process_inbox(settings, store)
    assert (second.read, second.unverified) == (0, 0)
    assert status(store, "alice@example.net") == "active"


@pytest.mark.parametrize(
    ("name", "fields", "applied"),
    [
        ("trusted pass", [auth_results("dmarc=pass header.from=example.net"), received()], True),
        ("trusted fail", [auth_results("dmarc=fail header.from=example.net"), received()], False),
        (
            "pass by another server",
            [auth_results("dmarc=pass header.from=example.net", "mx.example.net"), received()],
            False,
        ),
        (
            "forged pass below the server's fields",
            [
                auth_results("spf=pass smtp.mailfrom=example.net"),
                received(),
                auth_results("dmarc=pass header.from=example.net"),
            ],
            False,
        ),
        (
            "forged pass right below the server's fail",
            [
                auth_results("dmarc=fail header.from=example.net"),
                auth_results("dmarc=pass header.from=example.net"),
                received(),
            ],
            False,
        ),
    ],
)
def test_tokenless_unsubscribe_needs_the_servers_authentication(
    name: str,
    fields: list[str],
    applied: bool,
    dovecot: Dovecot,
    ca: str,
    store: Store,
    tmp_path: Path,
) -> None:
    user = dovecot.add_user()
    request = mail("unsubscribe", sender="Bob <bob@example.net>", to="list@example.org")
    dovecot.deliver(user, delivered(request, *fields))
    url = dovecot.url("imaps", user)
    settings = make_settings(tmp_path, url, user.password, authserv_id=AUTHSERV)
    summary = process_inbox(settings, store)
    assert (summary.read, summary.unsubscribed, summary.unverified) == (
        1,
        int(applied),
        int(not applied),
    ), name
    assert status(store, "bob@example.net") == ("unsubscribed" if applied else "active")
    if not applied:
        assert "bob@example.net without a token" in summary.unverified_notes[0]
        assert imap_view(dovecot, user)[0][1] & {KEYWORD, "\\Seen"} == {KEYWORD}


def test_soft_bounces_in_a_row_mark_bounced(
    dovecot: Dovecot, ca: str, store: Store, tmp_path: Path
) -> None:
    alice = store.get("alice@example.net")
    assert alice
    user = dovecot.add_user()
    settings = make_settings(tmp_path, dovecot.url("pop3s", user), user.password, soft_limit=3)
    shapes = [postfix_dsn, exim_dsn, gmail_dsn]
    statuses = ["4.2.2", "4.0.0", "4.4.1"]
    for n, (shape, code) in enumerate(zip(shapes, statuses, strict=True), start=1):
        dovecot.deliver(
            user, shape("alice@example.net", verp(alice.id), status=code, msgid=f"soft{n}@mx")
        )
        summary = process_inbox(settings, store)
        assert summary.soft_bounces == 1
        sub = store.get(alice.id)
        assert sub is not None
        assert sub.soft_bounces == n
        assert sub.status == ("bounced" if n == 3 else "active")
    assert "soft bounce 3 of 3" in store.events(alice.id)[-1].detail


def test_processed_folder(dovecot: Dovecot, ca: str, store: Store, tmp_path: Path) -> None:
    bob = store.get("bob@example.net")
    assert bob
    user = dovecot.add_user()
    dovecot.deliver(
        user,
        exchange_dsn("bob@example.net", verp(bob.id), subscriber_id=bob.id),
        mail("Hello", "Just saying hello.", to="list@example.org"),
    )
    url = dovecot.url("imap", user)
    settings = make_settings(tmp_path, url, user.password, processed_folder="Newsdesk Done")
    summary = process_inbox(settings, store)
    assert (summary.read, summary.bounced, summary.ignored) == (2, 1, 1)
    assert [s for s, _f in imap_view(dovecot, user)] == ["Hello"]
    moved = imap_view(dovecot, user, '"Newsdesk Done"')
    assert len(moved) == 1 and moved[0][0].startswith("Undeliverable")
    assert "\\Seen" in moved[0][1]
    assert process_inbox(settings, store).read == 0


def test_dry_run_changes_nothing(dovecot: Dovecot, ca: str, store: Store, tmp_path: Path) -> None:
    alice = store.get("alice@example.net")
    assert alice
    user = dovecot.add_user()
    dovecot.deliver(user, mail(f"unsubscribe {unsub_token(alice.id)}"))
    for scheme in ("imaps", "pop3s"):
        settings = make_settings(tmp_path, dovecot.url(scheme, user), user.password)
        summary = process_inbox(settings, store, dry_run=True)
        assert (summary.read, summary.unsubscribed) == (1, 1)
        assert summary.changes == [
            "alice@example.net would be unsubscribed (mailto, token in subject)"
        ]
        assert "dry run" in summary.line()
        assert status(store, "alice@example.net") == "active"
    assert imap_view(dovecot, user)[0][1] == set()
    imaps = make_settings(tmp_path, dovecot.url("imaps", user), user.password)
    summary = process_inbox(imaps, store)
    assert summary.unsubscribed == 1
    assert status(store, "alice@example.net") == "unsubscribed"
    # What a run processed, a later dry run does not read again.
    assert process_inbox(imaps, store, dry_run=True).read == 0


def test_newsdesk_inbox_command_line(
    dovecot: Dovecot, ca: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """``newsdesk -f mkdocs.yml inbox``: the URL and password from the environment."""
    from newsdesk import cli

    root = tmp_path / "letter"
    (root / "docs").mkdir(parents=True)
    (root / "mkdocs.yml").write_text(
        "site_name: Test Letter\n"
        "site_url: https://letter.example.org/\n"
        "plugins:\n"
        "  - newsdesk:\n"
        "      email:\n"
        f"        unsubscribe_mailto: {UNSUB}\n"
        f"        bounce_address: {BOUNCE}\n"
        "        inbox:\n"
        "          url: !ENV NEWSDESK_INBOX_URL\n"
        "          password: !ENV NEWSDESK_INBOX_PASSWORD\n"
    )
    with Store.open(root / ".newsdesk" / "newsdesk.sqlite3") as db:
        erin = db.add("erin@example.net")
    user = dovecot.add_user()
    dovecot.deliver(user, gmail_dsn("erin@example.net", verp(erin.id), subscriber_id=erin.id))
    monkeypatch.setenv("NEWSDESK_INBOX_URL", dovecot.url("pop3", user))
    monkeypatch.setenv("NEWSDESK_INBOX_PASSWORD", user.password)
    config = str(root / "mkdocs.yml")

    assert cli.main(["-f", config, "inbox", "--dry-run"]) == 0
    assert "erin@example.net would be bounced" in capsys.readouterr().out
    assert cli.main(["inbox", "-f", config]) == 0
    out = capsys.readouterr().out
    assert "inbox: 1 read, 0 unsubscribed, 1 bounced, 0 soft bounces, 0 ignored" in out
    with Store.open(root / ".newsdesk" / "newsdesk.sqlite3") as db:
        assert status(db, "erin@example.net") == "bounced"
    assert len(dovecot.maildir(user)) == 0

    # `make publish` runs `newsdesk inbox --if-configured`: without an inbox, nothing to do.
    monkeypatch.delenv("NEWSDESK_INBOX_URL")
    assert cli.main(["-f", config, "inbox", "--if-configured"]) == 0
    assert "none configured" in capsys.readouterr().out
    assert cli.main(["-f", config, "inbox"]) == 1
    assert "email.inbox.url" in capsys.readouterr().err


def test_round_trip_with_the_real_sender(
    dovecot: Dovecot, ca: str, store: Store, tmp_path: Path
) -> None:
    """Messages as the mailer sends them: a reply to their List-Unsubscribe mailto and a
    bounce to their VERP envelope sender are recognised."""
    from urllib.parse import parse_qs, unquote, urlsplit

    from newsdesk.mail.render import prepare_message
    from newsdesk.mail.send import deliver_issue
    from tests.mailfixtures import rendering

    issue = rendering()
    email_settings = EmailSettings(
        from_="Test Letter <list@example.org>", unsubscribe_mailto=UNSUB, bounce_address=BOUNCE
    )
    prepared = prepare_message(issue, email_settings, site_url="https://letter.example.org/")
    assert store.start_issue(issue.slug, issue.number, issue.title, str(issue.date)) == 3
    sent: dict[str, tuple[str, bytes]] = {}

    class Capture:
        def send(self, envelope_from: str, recipient: str, data: bytes) -> None:
            sent[recipient] = (envelope_from, data)

        def close(self) -> None:
            pass

    deliver_issue(store, prepared, secret=SECRET, make_transport=Capture, bounce_address=BOUNCE)
    assert set(sent) == {"alice@example.net", "bob@example.net", "carol@example.net"}

    # Alice's mail client follows the mailto: of List-Unsubscribe.
    header = inbox.dsn.parse(sent["alice@example.net"][1])["List-Unsubscribe"]
    mailto = next(t for t in re.findall(r"<([^>]+)>", header) if t.startswith("mailto:"))
    target = urlsplit(mailto)
    subject = parse_qs(target.query)["subject"][0]
    reply = mail(subject, sender="alice@example.net", to=unquote(target.path))
    # Bob's server rejects the issue; the bounce goes to the VERP envelope sender.
    envelope = sent["bob@example.net"][0]
    assert envelope.startswith("bounce+") and envelope.endswith("@example.org")
    bounce = gmail_dsn("bob@example.net", envelope)

    user = dovecot.add_user()
    dovecot.deliver(user, reply, bounce)
    settings = make_settings(tmp_path, dovecot.url("imaps", user), user.password)
    summary = process_inbox(settings, store)
    assert (summary.unsubscribed, summary.bounced, summary.ignored) == (1, 1, 0)
    addresses = ("alice@example.net", "bob@example.net", "carol@example.net")
    assert [status(store, a) for a in addresses] == ["unsubscribed", "bounced", "active"]


# -- a crash between the commit and the marking ---------------------------------------------


@pytest.mark.parametrize("scheme", ["imaps", "pop3s"])
def test_crash_between_commit_and_marking_is_harmless(
    scheme: str, dovecot: Dovecot, ca: str, store: Store, tmp_path: Path, monkeypatch
) -> None:
    alice, bob = store.get("alice@example.net"), store.get("bob@example.net")
    assert alice and bob
    user = dovecot.add_user()
    dovecot.deliver(
        user,
        mail(f"unsubscribe {unsub_token(alice.id)}"),
        exim_dsn("bob@example.net", verp(bob.id), status="4.0.0", subscriber_id=bob.id),
    )
    settings = make_settings(tmp_path, dovecot.url(scheme, user), user.password)

    def crash(self, handled, ignored):
        raise RuntimeError("killed after the commit")

    cls = inbox._Imap if scheme == "imaps" else inbox._Pop3
    with monkeypatch.context() as m:
        m.setattr(cls, "mark", crash)
        with pytest.raises(RuntimeError, match="killed"):
            process_inbox(settings, store)
    # The commit happened; the messages were not marked.
    assert status(store, "alice@example.net") == "unsubscribed"
    assert store.get(bob.id).soft_bounces == 1  # type: ignore[union-attr]
    assert len(dovecot.maildir(user)) == 2

    summary = process_inbox(settings, store)
    assert (summary.read, summary.already, summary.soft_bounces, summary.unsubscribed) == (
        2,
        2,
        0,
        0,
    )
    assert store.get(bob.id).soft_bounces == 1  # type: ignore[union-attr]
    assert len(store.events(alice.id)) == 2
    assert process_inbox(settings, store).read == 0


# -- a big mailbox ----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["imaps", "pop3s"])
def test_thousand_messages(
    scheme: str, dovecot: Dovecot, ca: str, store: Store, tmp_path: Path
) -> None:
    subs = [store.add(f"many{i}@example.net") for i in range(40)]
    user = dovecot.add_user()
    messages = []
    for i, sub in enumerate(subs[:20]):
        messages.append(
            postfix_dsn(sub.email, verp(sub.id), msgid=f"b{i}@mx", subscriber_id=sub.id)
        )
    for i, sub in enumerate(subs[20:]):
        messages.append(mail(f"unsubscribe {unsub_token(sub.id)}", msgid=f"<u{i}@example.net>"))
    for i in range(1000 - len(messages)):
        messages.append(mail(f"Reader letter {i}", "Thanks " * 50, msgid=f"<r{i}@example.net>"))
    dovecot.deliver(user, *messages)
    settings = make_settings(tmp_path, dovecot.url(scheme, user), user.password)

    started = time.perf_counter()
    summary = process_inbox(settings, store)
    elapsed = time.perf_counter() - started
    assert (summary.read, summary.bounced, summary.unsubscribed, summary.ignored) == (
        1000,
        20,
        20,
        960,
    )
    assert store.counts()["bounced"] == 20 and store.counts()["unsubscribed"] == 20
    assert elapsed < 20, f"1,000 messages took {elapsed:.1f} s"
    second = process_inbox(settings, store)
    assert (second.bounced, second.unsubscribed) == (0, 0)
    assert second.read == 0


@pytest.mark.parametrize("scheme", ["imaps", "pop3s"])
def test_large_messages_are_read_only_in_part(
    scheme: str, dovecot: Dovecot, ca: str, store: Store, tmp_path: Path, monkeypatch
) -> None:
    alice, bob = store.get("alice@example.net"), store.get("bob@example.net")
    assert alice and bob
    user = dovecot.add_user()
    attachment = ("A" * 76 + "\r\n").encode() * 45_000  # 3.5 MB of base64-like lines
    # Exim returns the whole original: here one with a large attachment.
    dsn_big = exim_dsn("bob@example.net", verp(bob.id), subscriber_id=bob.id)
    dsn_big = dsn_big.replace(b"Hello, this is the issue.", b"Hello.\r\n" + attachment)
    request = mail(f"unsubscribe {unsub_token(alice.id)}", "x").rstrip(b"x") + attachment
    assert len(dsn_big) > 3 * inbox.READ_LIMIT and len(request) > 3 * inbox.READ_LIMIT
    dovecot.deliver(user, dsn_big, request)
    sizes: list[int] = []
    classify = inbox.dsn.classify

    def measured(raw: bytes, **kwargs):
        sizes.append(len(raw))
        return classify(raw, **kwargs)

    monkeypatch.setattr(inbox.dsn, "classify", measured)
    settings = make_settings(tmp_path, dovecot.url(scheme, user), user.password)
    summary = process_inbox(settings, store)
    assert len(sizes) == 2 and max(sizes) <= 1.1 * inbox.READ_LIMIT
    assert (summary.read, summary.bounced, summary.unsubscribed) == (2, 1, 1)
    assert status(store, "bob@example.net") == "bounced"
    assert status(store, "alice@example.net") == "unsubscribed"


# -- connection security and failures ---------------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_certificate_is_verified(scheme: str, dovecot: Dovecot, ca: str, tmp_path: Path) -> None:
    user = dovecot.add_user()
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    url = parse_inbox_url(dovecot.url(scheme, user))
    with pytest.raises(NewsdeskError, match="certificate") as info:
        connect(url, user.password, ca_file=str(other))
    assert user.password not in str(info.value)
    connect(url, user.password, ca_file=ca).close()


@pytest.mark.parametrize("scheme", ["imaps", "pop3s"])
def test_wrong_password(scheme: str, store: Store, tmp_path: Path, monkeypatch, capsys) -> None:
    # A server of its own: Dovecot delays every later login from an address that failed
    # one (its auth penalty), which would slow down the other tests.
    base = Path(tempfile.mkdtemp(prefix="newsdesk-dovecot-"))
    try:
        with Dovecot(base) as server:
            monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
            user = server.add_user()
            settings = make_settings(tmp_path, server.url(scheme, user), "wrong password")
            assert inbox_command(settings, dry_run=False) == 1
    finally:
        shutil.rmtree(base, ignore_errors=True)
    err = capsys.readouterr().err
    assert "login" in err and "failed" in err
    assert "wrong password" not in err


def test_unreachable_server_and_missing_password(store: Store, tmp_path: Path, capsys) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    settings = make_settings(tmp_path, f"imaps://u@127.0.0.1:{port}/INBOX", "pw")
    assert inbox_command(settings, dry_run=False) == 75
    assert "cannot reach" in capsys.readouterr().err
    with pytest.raises(InboxUnavailable):
        process_inbox(settings, store)
    with pytest.raises(NewsdeskError, match="NEWSDESK_INBOX_PASSWORD"):
        process_inbox(make_settings(tmp_path, f"imaps://u@127.0.0.1:{port}/", None), store)
    unset = make_settings(tmp_path, "", None)
    assert inbox_command(unset, dry_run=False) == 1
    assert "email.inbox.url" in capsys.readouterr().err


def test_no_password_in_clear_text_to_a_remote_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server without STARTTLS: the password is sent only when the host is loopback."""
    received: list[bytes] = []
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        for _ in range(2):
            conn, _addr = server.accept()
            with conn, conn.makefile("rb") as rfile:
                conn.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] test server\r\n")
                for line in rfile:
                    received.append(line)
                    tag = line.split()[0]
                    if b"CAPABILITY" in line:
                        conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n")
                    elif b"AUTHENTICATE" in line:
                        conn.sendall(b"+ \r\n")
                        received.append(rfile.readline())
                        conn.sendall(tag + b" NO no such user\r\n")
                        continue
                    conn.sendall(tag + b" OK done\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = parse_inbox_url(f"imap://u@127.0.0.1:{port}/INBOX")
    with monkeypatch.context() as m:
        m.setattr(inbox, "is_loopback", lambda host: False)
        with pytest.raises(NewsdeskError, match="clear text"):
            connect(url, "pw", timeout=5)
    assert not any(b"AUTHENTICATE" in line or b"LOGIN" in line for line in received)
    # To loopback, clear text is allowed (a local relay or a test server).
    with pytest.raises(NewsdeskError, match="login"):
        connect(url, "pw", timeout=5)
    assert any(b"AUTHENTICATE" in line for line in received)
    server.close()


def test_printed_lines_carry_no_terminal_escapes() -> None:
    """A DSN's diagnostic is the remote side's text: it is printed without its control
    characters, so it cannot move the cursor or recolour the operator's terminal."""
    line = "bob@example.net is bounced (5.1.1 \x1b]0;owned\x07\x1b[2J gone\r\nfake line\u2028)"
    assert terminal_safe(line) == (
        "bob@example.net is bounced (5.1.1 \\x1b]0;owned\\x07\\x1b[2J gone\\r\\nfake line\\u2028)"
    )
