"""The subscriber store and ledger, the address rules and the tokens."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from newsdesk.errors import NewsdeskError
from newsdesk.mail.addresses import InvalidAddress, clean_name, is_loopback, normalise_email
from newsdesk.mail.store import SCHEMA_VERSION, Store, ledger_numbers
from newsdesk.mail.tokens import load_secret, make_token, verify_token


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "db" / "newsdesk.sqlite3") as s:
        yield s


def test_schema_is_versioned_and_wal(store, tmp_path):
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
    # reopening does not migrate again and keeps the data
    with Store.open(store.path) as again:
        again.add("a@example.org")
        assert [s.email for s in again.subscribers()] == ["a@example.org"]


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "x.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(NewsdeskError, match="schema version"):
        Store.open(path)


def test_must_exist_never_creates_a_database(tmp_path):
    path = tmp_path / "state" / "newsdesk.sqlite3"
    with pytest.raises(NewsdeskError, match="no database file"):
        Store.open(path, must_exist=True)
    assert not path.parent.exists()
    path.parent.mkdir()
    path.touch()  # an empty file has no newsdesk tables: refused, and left empty
    with pytest.raises(NewsdeskError, match="no newsdesk tables"):
        Store.open(path, must_exist=True)
    assert path.stat().st_size == 0
    path.unlink()
    Store.open(path).close()
    with Store.open(path, must_exist=True) as store:
        store.add("there@example.org")
        assert store.check() == []


def test_check_reports_a_damaged_file(tmp_path):
    path = tmp_path / "newsdesk.sqlite3"
    with Store.open(path) as store:
        for n in range(300):
            store.add(f"reader{n}@example.org")
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size * 2 : page_size * 3] = bytes(range(256)) * (page_size // 256)
    path.write_bytes(bytes(data))
    with Store.open(path, must_exist=True) as store:
        try:
            problems = store.check()
        except sqlite3.DatabaseError:
            problems = ["unreadable"]
    assert problems


def test_addresses_are_normalised_and_validated():
    assert normalise_email("  Alice@Example.ORG ") == "alice@example.org"
    assert normalise_email("bob@bücher.example") == "bob@xn--bcher-kva.example"
    for bad in (
        "",
        "no-at-sign",
        "a@b@example.org",
        "a@example.org\r\nBcc: x@example.net",
        "a b@example.org",
        "ü@example.org",
    ):
        with pytest.raises(InvalidAddress):
            normalise_email(bad)
    assert clean_name("  Zoë ") == "Zoë"
    with pytest.raises(InvalidAddress, match="control"):
        clean_name("Eve\r\nBcc: victim@example.net")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("mail.example.org")


def test_status_changes_are_recorded_with_source(store):
    sub = store.add("Ann@example.org", "Ann", source="web", status="pending")
    assert sub.status == "pending" and sub.email == "ann@example.org"
    store.set_status(sub.id, "active", "web")
    store.set_status("ann@example.org", "unsubscribed", "one-click", "List-Unsubscribe-Post")
    store.set_status(sub.id, "unsubscribed", "mailto")  # no change, no event
    events = store.events(sub.id)
    assert [(e.old_status, e.new_status, e.source) for e in events] == [
        (None, "pending", "web"),
        ("pending", "active", "web"),
        ("active", "unsubscribed", "one-click"),
    ]
    assert events[-1].detail == "List-Unsubscribe-Post"
    with pytest.raises(InvalidAddress, match="already on the list"):
        store.add("ann@EXAMPLE.org")
    with pytest.raises(ValueError):
        store.set_status(sub.id, "gone", "cli")
    assert store.set_status("nobody@example.org", "active", "cli") is None


def test_soft_bounces_count_up_to_the_limit(store):
    sub = store.add("s@example.org")
    assert store.soft_bounce(sub.id, 3).soft_bounces == 1
    store.reset_soft_bounces(sub.id)
    for _ in range(3):
        result = store.soft_bounce(sub.id, 3)
    assert result.status == "bounced"
    assert store.events(sub.id)[-1].source == "bounce"


def test_every_bounce_follows_one_rule_and_only_changes_active_or_pending(store):
    hard = store.add("hard@example.org")
    soft = store.add("soft@example.org", status="pending")
    left = store.add("left@example.org")
    store.set_status(left.id, "unsubscribed", "web")
    assert store.record_bounce(hard.id, hard=True, detail="550 no such user", soft_limit=3)
    assert store.get(hard.id).status == "bounced"
    for n in (1, 2):
        store.record_bounce(soft.id, hard=False, detail="452 mailbox full", soft_limit=3)
        assert (store.get(soft.id).status, store.get(soft.id).soft_bounces) == ("pending", n)
    store.record_bounce(soft.id, hard=False, detail="452 mailbox full", soft_limit=3)
    assert store.get(soft.id).status == "bounced"
    # Someone who left keeps their own choice on record; a late 550 changes nothing.
    assert store.record_bounce(left.id, hard=True, detail="550", soft_limit=3) is None
    assert store.get(left.id).status == "unsubscribed"


def test_store_methods_join_the_callers_transaction(store):
    """The inbox applies a batch in one transaction and counts soft bounces through the
    Store: they commit and roll back with the batch."""
    sub = store.add("s@example.org")
    with pytest.raises(RuntimeError), store.transaction():
        store.soft_bounce(sub.id, 1, "soft bounce 1 of 1")
        assert store.get(sub.id).status == "bounced"
        raise RuntimeError("the batch fails")
    assert (store.get(sub.id).soft_bounces, store.get(sub.id).status) == (0, "active")
    assert len(store.events(sub.id)) == 1
    with store.transaction():
        store.soft_bounce(sub.id, 2)
        store.soft_bounce(sub.id, 2, "soft bounce 2 of 2: 4.2.2")
    assert store.get(sub.id).status == "bounced"
    assert store.events(sub.id)[-1].detail == "soft bounce 2 of 2: 4.2.2"
    assert not store.conn.in_transaction


CSV_ROWS = [
    "email,name",
    "good@example.org,Good",
    "not-an-address,Bad",
    "GOOD@example.org,Again",
    '"eve@example.org","Eve\x07"',
    "left@example.org,Left",
    "extra@example.org,Extra,column",
    ",No address",
    "",
    "zoe@example.org,Zoë",
    "bounced@example.org,",
    "there@example.org,Already",
]


def test_import_csv_rejects_every_kind_of_bad_row(store, tmp_path):
    store.add("left@example.org")
    store.set_status("left@example.org", "unsubscribed", "one-click")
    store.add("bounced@example.org")
    store.set_status("bounced@example.org", "bounced", "bounce")
    store.add("there@example.org")
    path = tmp_path / "list.csv"
    path.write_text("\ufeff" + "\r\n".join(CSV_ROWS) + "\r\n", encoding="utf-8")
    result = store.import_csv(path)
    assert result.imported == 2 and result.existing == 1
    reasons = {r.line: r.reason for r in result.rejected}
    assert set(reasons) == {3, 4, 5, 7, 8}
    assert "duplicate of line 2" in reasons[4]
    assert "control" in reasons[5]
    assert "columns" in reasons[7]
    skipped = {r.line: r.reason for r in result.skipped}
    assert set(skipped) == {6, 11}
    assert "does not reactivate" in skipped[6] and "does not reactivate" in skipped[11]
    assert store.get("left@example.org").status == "unsubscribed"
    assert store.get("bounced@example.org").status == "bounced"
    assert store.get("zoe@example.org").name == "Zoë"
    assert store.events("good@example.org")[0].source == "import"


def test_import_csv_file_level_errors(store, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"email,name\na@example.org,\xff\xfe\n")
    with pytest.raises(NewsdeskError) as err:
        store.import_csv(bad, display="bad.csv")
    assert err.value.line == 2 and "UTF-8" in str(err.value)
    nohead = tmp_path / "nohead.csv"
    nohead.write_text("a@example.org,Ann\n")
    with pytest.raises(NewsdeskError, match="header"):
        store.import_csv(nohead)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(NewsdeskError, match="empty"):
        store.import_csv(empty)
    with pytest.raises(NewsdeskError, match="no such file"):
        store.import_csv(tmp_path / "missing.csv")
    assert store.subscribers() == []


def test_ledger_recipients_are_fixed_at_start(store):
    a = store.add("a@example.org")
    store.add("b@example.org")
    store.add("p@example.org", status="pending")
    assert store.start_issue("one", 1, "One", "2026-01-01") == 2
    store.add("late@example.org")
    assert store.start_issue("one", 1, "One", "2026-01-01") == 2
    open_ = store.open_deliveries("one")
    assert [d.email for d in open_] == ["a@example.org", "b@example.org"]
    store.mark("one", a.id, "sending", attempt=True)
    store.mark("one", a.id, "sent")
    assert not store.finish_issue("one")
    store.mark("one", open_[1].subscriber_id, "failed", "550 no such user")
    assert store.finish_issue("one")
    (counts,) = store.issue_counts()
    assert (counts.recipients, counts.sent, counts.failed, counts.pending, counts.state) == (
        2,
        1,
        1,
        0,
        "sent",
    )
    assert store.failures("one") == [("b@example.org", "550 no such user")]


def test_issue_without_active_subscribers_stays_unsent(store):
    assert store.start_issue("one", 1, "One", "2026-01-01") == 0
    assert store.issue("one") is None
    store.archive_issue("zero", 0, "Zero", "2025-12-01")
    assert store.issue("zero").state == "archived"


def test_tokens_roundtrip_and_reject_tampering():
    secret = b"s3cret"
    token = make_token(secret, "unsubscribe", 42)
    assert token == token.lower() and set(token) <= set("abcdefghijklmnopqrstuvwxyz234567.")
    assert verify_token(secret, "unsubscribe", token) == "42"
    assert verify_token(secret, "unsubscribe", token.upper()) == "42"
    assert verify_token(secret, "confirm", token) is None
    assert verify_token(b"other", "unsubscribe", token) is None
    _payload, mac = token.split(".")
    forged = make_token(secret, "unsubscribe", 43).split(".")[0] + "." + mac
    assert verify_token(secret, "unsubscribe", forged) is None
    assert verify_token(secret, "unsubscribe", "garbage") is None
    assert verify_token(secret, "unsubscribe", "a.b.c") is None
    assert verify_token(secret, "unsubscribe", "") is None
    odd = make_token(secret, "confirm", "a|b@example.org", expires_at=2000)
    assert verify_token(secret, "confirm", odd, now=1999) == "a|b@example.org"
    assert verify_token(secret, "confirm", odd, now=2001) is None


def test_secret_is_generated_once_with_mode_0600(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSDESK_SECRET", raising=False)
    first = load_secret(tmp_path / ".newsdesk")
    assert len(first) == 64
    mode = stat.S_IMODE(os.stat(tmp_path / ".newsdesk" / "secret").st_mode)
    assert mode == 0o600
    assert load_secret(tmp_path / ".newsdesk") == first
    from_env = "from-the-environment-Q7vX2mK9pL4rT8wZ"
    monkeypatch.setenv("NEWSDESK_SECRET", from_env)
    assert load_secret(tmp_path / ".newsdesk") == from_env.encode()


@pytest.mark.parametrize("value", ["", "short", "x" * 31])
def test_a_short_secret_from_the_environment_is_refused(tmp_path, monkeypatch, value):
    monkeypatch.setenv("NEWSDESK_SECRET", value)
    with pytest.raises(NewsdeskError, match="NEWSDESK_SECRET is too short") as info:
        load_secret(tmp_path / ".newsdesk")
    assert "secrets.token_urlsafe(32)" in str(info.value)
    assert not (tmp_path / ".newsdesk" / "secret").exists()


@pytest.mark.parametrize("content", [b"", b"\n", b"0123456789abcdef\n"])
def test_a_short_secret_file_is_refused(tmp_path, monkeypatch, content):
    monkeypatch.delenv("NEWSDESK_SECRET", raising=False)
    (tmp_path / ".newsdesk").mkdir()
    (tmp_path / ".newsdesk" / "secret").write_bytes(content)
    with pytest.raises(NewsdeskError, match="too short") as info:
        load_secret(tmp_path / ".newsdesk")
    assert info.value.path == ".newsdesk/secret"
    assert "secrets.token_urlsafe(32)" in str(info.value)


def _load_secret_in_a_child(state_dir: str) -> bytes:
    return load_secret(Path(state_dir))


def test_processes_racing_to_create_the_secret_agree(tmp_path, monkeypatch):
    import multiprocessing

    monkeypatch.delenv("NEWSDESK_SECRET", raising=False)
    state = tmp_path / ".newsdesk"
    # spawn, not fork: pytest-xdist runs threads here, and forking those warns (3.12+)
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        secrets = pool.map(_load_secret_in_a_child, [str(state)] * 32)
    assert len(set(secrets)) == 1 and len(secrets[0]) == 64
    assert [p.name for p in state.iterdir()] == ["secret"]  # no temporary file left


def test_soft_bouncing_counts_active_subscribers_only(store):
    ann = store.add("ann@example.org")
    bob = store.add("bob@example.org")
    store.add("cat@example.org")
    assert store.soft_bouncing() == 0
    store.soft_bounce(ann.id, limit=3)
    store.soft_bounce(bob.id, limit=1)  # now bounced: no longer counted
    assert store.get(bob.id).status == "bounced"
    assert store.soft_bouncing() == 1
    store.reset_soft_bounces(ann.id)
    assert store.soft_bouncing() == 0


def test_a_new_database_is_readable_by_its_owner_only(tmp_path):
    import stat

    from newsdesk.mail.store import Store

    path = tmp_path / "state" / "subscribers.sqlite3"
    with Store.open(path) as store:
        store.add("reader@example.org")
    for file in [path, *tmp_path.glob("state/*-wal")]:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_a_newer_schema_is_refused_before_anything_is_written(tmp_path):
    import sqlite3

    path = tmp_path / "future.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(NewsdeskError, match="schema version 99"):
        Store.open(path)
    assert path.read_bytes() == before  # not switched to WAL, nothing migrated
    assert not path.with_name(path.name + "-wal").exists()


def test_an_existing_database_and_its_wal_become_owner_only(tmp_path):
    import os

    path = tmp_path / "newsdesk.sqlite3"
    Store.open(path).close()
    os.chmod(path, 0o644)
    with Store.open(path) as store:
        store.add("a@example.org", source="cli")
        for suffix in ("", "-wal", "-shm"):
            file = path.with_name(path.name + suffix)
            if file.exists():
                assert file.stat().st_mode & 0o777 == 0o600, file


def test_a_failed_write_reports_the_real_error_not_the_rollback(tmp_path):
    import sqlite3

    with Store.open(tmp_path / "n.sqlite3") as store:
        store.add("a@example.org", source="cli")
        store.conn.execute("PRAGMA max_page_count = 1")  # a full disk, as SQLite sees it
        with pytest.raises(sqlite3.OperationalError, match="full"):
            for i in range(200):
                store.add(f"b{i}-{'x' * 200}@example.org", "n" * 150, source="cli")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (" " * 32, "only white space"),
        ("x" * 40, "the same 1 character repeated"),
        ("secret" * 6, "the same 6 characters repeated"),
        ("abcabcabcabcabcabcabcabcabcabcabX", "distinct characters"),
        ("aaaaaaaaaaaaaaaaaaaaaaaabcdefghijklmnop", "bits of entropy"),
    ],
)
def test_a_secret_needs_real_entropy(tmp_path, monkeypatch, value, why):
    monkeypatch.setenv("NEWSDESK_SECRET", value)
    with pytest.raises(NewsdeskError, match=f"not random enough.*{why}"):
        load_secret(tmp_path)
    monkeypatch.delenv("NEWSDESK_SECRET")
    (tmp_path / "secret").write_text(value)
    with pytest.raises(NewsdeskError, match=f"{why}|too short"):
        load_secret(tmp_path)


def test_generated_and_made_secrets_pass(tmp_path, monkeypatch):
    import secrets

    monkeypatch.setenv("NEWSDESK_SECRET", secrets.token_urlsafe(32))
    assert len(load_secret(tmp_path)) >= 32
    monkeypatch.delenv("NEWSDESK_SECRET")
    assert len(load_secret(tmp_path / "state")) == 64  # generated: token_hex(32)


def test_ledger_numbers_are_read_without_creating_or_changing_anything(tmp_path) -> None:
    path = tmp_path / "state" / "newsdesk.sqlite3"
    assert ledger_numbers(path) == {}
    assert not path.exists() and not path.parent.exists()
    with Store.open(path) as s:
        s.archive_issue("dns", 1, "DNS", "2026-01-01")
        s.archive_issue("untitled", None, "Untitled", "2026-01-02")
        s.archive_issue("smtp", 2, "SMTP", "2026-01-08")
    before = path.read_bytes()
    assert ledger_numbers(path) == {"dns": 1, "smtp": 2}
    assert path.read_bytes() == before
    # A database that has no ledger yet (made by another program) has no numbers.
    empty = tmp_path / "other.sqlite3"
    sqlite3.connect(empty).close()
    assert ledger_numbers(empty) == {}
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"not a database at all" * 100)
    with pytest.raises(NewsdeskError, match="cannot read the issue ledger"):
        ledger_numbers(broken)
