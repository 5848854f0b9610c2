"""Subscribers and the delivery ledger in SQLite (stdlib ``sqlite3``, WAL).

One database (``email.database``) is shared by the sender, the subscription service and the
inbox reader, each in its own process; WAL lets them read while one writes, and every
write is a short transaction. The schema is versioned with ``PRAGMA user_version``.

Tables:

- ``subscribers``: one row per normalised address, with its status (``pending``,
  ``active``, ``unsubscribed``, ``bounced``) and a soft-bounce counter;
- ``events``: every status change with its time and source (``web``, ``import``,
  ``one-click``, ``mailto``, ``bounce``, ``cli``), so a complaint can be answered;
- ``issues``: the ledger of issues: the number, title and date each was sent with, and its
  state (``sending``, ``sent`` or ``archived`` for the back catalogue never mailed);
- ``deliveries``: one row per (issue, subscriber): ``pending``, ``sending``, ``sent``,
  ``failed`` or ``skipped`` (unsubscribed before their turn), committed one by one;
- ``outbox_copies``: one row per (issue, subscriber) written to the Maildir outbox when
  no SMTP server is configured. A rehearsal: never a delivery, so the ledger does not
  count it and the first real send still goes to everyone;
- ``consents``: proof of consent per subscriber: at sign-up and confirmation the time,
  client address, user agent, page and the hash and version of the consent text shown;
  for imports and ``add`` the source and the operator's reason;
- ``suppressed``: keyed hashes (HMAC with the list's secret) of forgotten addresses, so no
  import or ``add`` brings them back by accident; ``forgotten_deliveries`` keeps the
  ledger's counts of their deliveries, without the address.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TypeVar

from newsdesk.errors import NewsdeskError
from newsdesk.mail.addresses import InvalidAddress, clean_name, normalise_email

STATUSES = ("pending", "active", "unsubscribed", "bounced")
SOURCES = ("web", "import", "one-click", "mailto", "bounce", "cli")
DELIVERY_STATES = ("pending", "sending", "sent", "failed", "skipped")
ISSUE_STATES = ("sending", "sent", "archived")

_MIGRATIONS: list[str] = [
    # version 1
    """
    CREATE TABLE subscribers (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL CHECK (status IN ('pending','active','unsubscribed','bounced')),
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        soft_bounces INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX subscribers_status ON subscribers (status);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
        at TEXT NOT NULL,
        old_status TEXT,
        new_status TEXT NOT NULL,
        source TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX events_subscriber ON events (subscriber_id);
    CREATE TABLE issues (
        slug TEXT PRIMARY KEY,
        number INTEGER,
        title TEXT NOT NULL,
        date TEXT NOT NULL,
        url TEXT NOT NULL DEFAULT '',
        content_hash TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL CHECK (state IN ('sending','sent','archived')),
        started_at TEXT,
        finished_at TEXT
    );
    CREATE TABLE deliveries (
        issue_slug TEXT NOT NULL REFERENCES issues (slug),
        subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
        state TEXT NOT NULL
            CHECK (state IN ('pending','sending','sent','failed','skipped')),
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL,
        PRIMARY KEY (issue_slug, subscriber_id)
    ) WITHOUT ROWID;
    CREATE INDEX deliveries_state ON deliveries (issue_slug, state);
    """,
    # version 2: what `newsdesk inbox` has applied, so no message is applied twice
    # (IF NOT EXISTS: databases that an earlier inbox reader extended have them already)
    """
    CREATE TABLE IF NOT EXISTS inbox_messages (
        message_key TEXT PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        subscriber_id INTEGER
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS inbox_pop3_ignored (
        mailbox TEXT NOT NULL,
        uidl TEXT NOT NULL,
        PRIMARY KEY (mailbox, uidl)
    ) WITHOUT ROWID;
    """,
    # version 3: copies written to the outbox are rehearsals, kept apart from deliveries
    """
    CREATE TABLE IF NOT EXISTS outbox_copies (
        issue_slug TEXT NOT NULL,
        subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
        written_at TEXT NOT NULL,
        PRIMARY KEY (issue_slug, subscriber_id)
    ) WITHOUT ROWID;
    """,
    # version 4: consent on record; erasure keeps a keyed hash and the ledger's counts
    """
    CREATE TABLE IF NOT EXISTS consents (
        id INTEGER PRIMARY KEY,
        subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        client TEXT NOT NULL DEFAULT '',
        user_agent TEXT NOT NULL DEFAULT '',
        page TEXT NOT NULL DEFAULT '',
        text_hash TEXT NOT NULL DEFAULT '',
        text_version TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX IF NOT EXISTS consents_subscriber ON consents (subscriber_id);
    CREATE TABLE IF NOT EXISTS suppressed (
        address_hash TEXT PRIMARY KEY,
        at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS forgotten_deliveries (
        issue_slug TEXT NOT NULL,
        state TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (issue_slug, state)
    ) WITHOUT ROWID;
    """,
]
SCHEMA_VERSION = len(_MIGRATIONS)
CONSENT_KINDS = ("signup", "confirm", "import", "add", "resubscribe", "welcome")
WELCOME_IN_FLIGHT = "welcome in flight"
"""The ``error`` of a delivery the welcome has handed (or is handing) to SMTP: while it is
``sending`` with this mark, no run retries it (see :meth:`Store.settle_interrupted_welcomes`)."""


def change_status(
    conn: sqlite3.Connection, subscriber_id: int, status: str, source: str, detail: str = ""
) -> bool:
    """Change a subscriber's status inside the caller's open transaction and record the
    event; whether it changed (setting the status it already has records nothing).

    Becoming ``active`` forgets earlier soft bounces.
    """
    _check(status, STATUSES, "status")
    _check(source, SOURCES, "source")
    row = conn.execute("SELECT status FROM subscribers WHERE id = ?", (subscriber_id,)).fetchone()
    if row is None or row[0] == status:
        return False
    at = now_iso()
    conn.execute(
        "UPDATE subscribers SET status = ?, updated_at = ?,"
        " soft_bounces = CASE WHEN ? = 'active' THEN 0 ELSE soft_bounces END"
        " WHERE id = ?",
        (status, at, status, subscriber_id),
    )
    conn.execute(
        "INSERT INTO events (subscriber_id, at, old_status, new_status, source,"
        " detail) VALUES (?, ?, ?, ?, ?, ?)",
        (subscriber_id, at, row[0], status, source, detail),
    )
    return True


def now_iso() -> str:
    """The current UTC time as stored: ISO 8601 with seconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _connect_existing(path: Path) -> sqlite3.Connection:
    """Connect to the newsdesk database file at ``path`` without ever creating it, nor
    writing to a file that has no newsdesk tables (an empty file, say)."""
    if not path.is_file():
        raise FileNotFoundError(2, "there is no database file here")
    uri = f"{path.absolute().as_uri()}?mode=rw"
    conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
    try:
        if not conn.execute("PRAGMA user_version").fetchone()[0]:
            raise sqlite3.DatabaseError("it has no newsdesk tables")
    except BaseException:
        conn.close()
        raise
    return conn


@dataclass(frozen=True)
class Subscriber:
    id: int
    email: str
    name: str
    status: str
    source: str
    created_at: str
    soft_bounces: int = 0


@dataclass(frozen=True)
class Event:
    subscriber_id: int
    at: str
    old_status: str | None
    new_status: str
    source: str
    detail: str


@dataclass(frozen=True)
class Consent:
    """One piece of proof of consent (see the ``consents`` table)."""

    at: str
    kind: str
    source: str = ""
    client: str = ""
    user_agent: str = ""
    page: str = ""
    text_hash: str = ""
    text_version: str = ""
    reason: str = ""


@dataclass(frozen=True)
class IssueRecord:
    """An issue as the ledger knows it."""

    slug: str
    number: int | None
    title: str
    date: str
    url: str
    state: str
    started_at: str | None
    finished_at: str | None


@dataclass(frozen=True)
class Delivery:
    issue_slug: str
    subscriber_id: int
    email: str
    name: str
    subscriber_status: str
    state: str
    attempts: int


@dataclass(frozen=True)
class IssueCounts:
    slug: str
    number: int | None
    title: str
    date: str
    state: str
    recipients: int
    sent: int
    failed: int
    pending: int
    skipped: int


@dataclass
class Rejected:
    line: int
    email: str
    reason: str


@dataclass
class ImportResult:
    """What an import did: ``imported`` new subscribers, ``existing`` already on the list."""

    imported: int = 0
    existing: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    skipped: list[Rejected] = field(default_factory=list)
    """Rows of people who left, bounced or were forgotten: never brought back by an import."""


class Store:
    """The database. Open with :meth:`open`; use as a context manager to close it."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path, *, display: str | None = None, must_exist: bool = False) -> Store:
        """Open (creating or migrating) the database at ``path``.

        A database that cannot be created or is not SQLite raises :class:`NewsdeskError`
        naming it as ``display`` (the path relative to the project), else as ``path``.
        With ``must_exist`` nothing is created: a missing file, or one without newsdesk's
        tables, raises :class:`NewsdeskError` too (for the long-running service, which
        must not replace a database that was moved away with an empty one).
        """
        shown = display or str(path)
        try:
            if must_exist:
                conn = _connect_existing(path)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                # Subscribers' addresses are personal data: readable by the owner only.
                # SQLite gives its -wal and -shm files the same permissions.
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
                conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise NewsdeskError(f"cannot open the database: {why}", shown) from None
        conn.row_factory = sqlite3.Row
        try:
            # Refuse a newer schema before anything is written (WAL mode is a write).
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise NewsdeskError(
                    f"the database has schema version {version}; this newsdesk knows "
                    f"{SCHEMA_VERSION} (upgrade newsdesk)",
                    shown,
                )
            conn.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL survives a crash or kill of the process; only a power loss
            # may roll back the last commits, and then a message goes twice, none is lost.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            # Erased data is overwritten, not left in free pages (subscribers forget).
            conn.execute("PRAGMA secure_delete=ON")
            store = cls(conn, path)
            store._migrate()
            _owner_only(path)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise NewsdeskError(
                f"cannot use the database ({exc}); is it a newsdesk database?", shown
            ) from None
        except BaseException:
            conn.close()
            raise
        return store

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def check(self) -> list[str]:
        """What SQLite's ``PRAGMA quick_check`` finds wrong; empty when the file is sound.

        A file too damaged to check raises :class:`sqlite3.DatabaseError`.
        """
        rows = [str(row[0]) for row in self.conn.execute("PRAGMA quick_check")]
        return [] if rows == ["ok"] else rows

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``), committed or rolled back. Inside an
        open one (a caller's batch), it joins that: the outer one commits or rolls back.

        SQLite rolls a transaction back by itself on some errors (a full disk, I/O); the
        rollback here is then skipped, so the error the caller sees is the real one.
        """
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            if self.conn.in_transaction:
                with suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error:
            if self.conn.in_transaction:
                with suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
            raise

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        for number in range(version, SCHEMA_VERSION):
            with self.transaction() as conn:
                for statement in _MIGRATIONS[number].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number + 1}")

    # -- subscribers ---------------------------------------------------------------------

    def get(self, key: int | str) -> Subscriber | None:
        """The subscriber with this id or (normalised) address."""
        if isinstance(key, int):
            row = self.conn.execute("SELECT * FROM subscribers WHERE id = ?", (key,)).fetchone()
        else:
            try:
                email = normalise_email(key)
            except InvalidAddress:
                return None
            row = self.conn.execute(
                "SELECT * FROM subscribers WHERE email = ?", (email,)
            ).fetchone()
        return _record(Subscriber, row) if row else None

    def subscribers(self, status: str | None = None) -> list[Subscriber]:
        """All subscribers (or those with ``status``), in the order they joined."""
        if status is not None and status not in STATUSES:
            raise NewsdeskError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
        if status is None:
            rows = self.conn.execute("SELECT * FROM subscribers ORDER BY id")
        else:
            rows = self.conn.execute(
                "SELECT * FROM subscribers WHERE status = ? ORDER BY id", (status,)
            )
        return [_record(Subscriber, r) for r in rows]

    def counts(self) -> dict[str, int]:
        """Number of subscribers per status."""
        result = dict.fromkeys(STATUSES, 0)
        for row in self.conn.execute("SELECT status, count(*) FROM subscribers GROUP BY status"):
            result[row[0]] = row[1]
        return result

    def soft_bouncing(self) -> int:
        """How many active subscribers have bounced softly since their last delivery."""
        row = self.conn.execute(
            "SELECT count(*) FROM subscribers WHERE soft_bounces > 0 AND status = 'active'"
        ).fetchone()
        return int(row[0])

    def _insert(
        self, conn: sqlite3.Connection, email: str, name: str, status: str, source: str
    ) -> int:
        at = now_iso()
        cur = conn.execute(
            "INSERT INTO subscribers (email, name, status, source, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (email, name, status, source, at, at),
        )
        sid = int(cur.lastrowid or 0)
        conn.execute(
            "INSERT INTO events (subscriber_id, at, old_status, new_status, source)"
            " VALUES (?, ?, NULL, ?, ?)",
            (sid, at, status, source),
        )
        return sid

    def add(
        self, email: str, name: str = "", *, status: str = "active", source: str = "cli"
    ) -> Subscriber:
        """Add a new subscriber. Raises :class:`InvalidAddress` for a bad address or name,
        and when the address is already on the list (whatever its status)."""
        _check(status, STATUSES, "status")
        _check(source, SOURCES, "source")
        address = normalise_email(email)
        clean = clean_name(name)
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT status FROM subscribers WHERE email = ?", (address,)
            ).fetchone()
            if row:
                raise InvalidAddress(f"{address} is already on the list ({row[0]})")
            sid = self._insert(conn, address, clean, status, source)
        sub = self.get(sid)
        assert sub is not None
        return sub

    def set_status(
        self, key: int | str, status: str, source: str, detail: str = ""
    ) -> Subscriber | None:
        """Change a subscriber's status and record the event; ``None`` if there is no such
        subscriber. Setting the status it already has records nothing."""
        _check(status, STATUSES, "status")
        _check(source, SOURCES, "source")
        sub = self.get(key)
        if sub is None:
            return None
        with self.transaction() as conn:
            change_status(conn, sub.id, status, source, detail)
        return self.get(sub.id)

    def record_bounce(
        self, key: int | str, *, hard: bool, detail: str, soft_limit: int
    ) -> Subscriber | None:
        """Record one bounce of a subscriber, whatever its source: the SMTP server refusing
        the address while sending, a DSN or another bounce format read from the inbox.
        The one bounce rule: a hard bounce marks the subscriber bounced; a soft one counts,
        and at ``soft_limit`` in a row marks bounced. Only an active or pending subscriber
        changes; returns them as they are now, or ``None`` when nothing changed."""
        sub = self.get(key)
        if sub is None or sub.status not in ("active", "pending"):
            return None
        if hard:
            return self.set_status(sub.id, "bounced", "bounce", detail)
        return self.soft_bounce(sub.id, soft_limit, detail)

    def soft_bounce(self, key: int | str, limit: int, detail: str = "") -> Subscriber | None:
        """Count a soft bounce; at ``limit`` in a row the subscriber is marked bounced (the
        event's detail: ``detail``). Joins the caller's open transaction, if any."""
        sub = self.get(key)
        if sub is None:
            return None
        with self.transaction() as conn:
            conn.execute(
                "UPDATE subscribers SET soft_bounces = soft_bounces + 1 WHERE id = ?", (sub.id,)
            )
        sub = self.get(sub.id)
        assert sub is not None
        if sub.soft_bounces >= limit and sub.status != "bounced":
            return self.set_status(sub.id, "bounced", "bounce", detail or "soft-bounce limit")
        return sub

    def reset_soft_bounces(self, key: int | str) -> None:
        """Forget soft bounces (a delivery succeeded)."""
        sub = self.get(key)
        if sub is not None:
            with self.transaction() as conn:
                conn.execute("UPDATE subscribers SET soft_bounces = 0 WHERE id = ?", (sub.id,))

    # -- consent, erasure and coming back -------------------------------------------------

    def record_consent(self, key: int | str, kind: str, **fields: str) -> None:
        """Add proof of consent for a subscriber (``fields``: those of :class:`Consent`)."""
        _check(kind, CONSENT_KINDS, "consent kind")
        sub = self.get(key)
        if sub is None:
            raise InvalidAddress(f"{key} is not on the list")
        allowed = set(Consent.__dataclass_fields__) - {"at", "kind"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown consent fields: {', '.join(sorted(unknown))}")
        names = ["subscriber_id", "at", "kind", *fields]
        values = [sub.id, now_iso(), kind, *(str(v)[:2000] for v in fields.values())]
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO consents ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                values,
            )

    def consents(self, key: int | str) -> list[Consent]:
        """A subscriber's proof of consent, oldest first."""
        sub = self.get(key)
        if sub is None:
            return []
        rows = self.conn.execute(
            "SELECT at, kind, source, client, user_agent, page, text_hash, text_version, reason"
            " FROM consents WHERE subscriber_id = ? ORDER BY id",
            (sub.id,),
        )
        return [Consent(*r) for r in rows]

    def is_suppressed(self, email: str, key: bytes) -> bool:
        """Whether ``email`` was forgotten (its keyed hash is on the suppression list)."""
        row = self.conn.execute(
            "SELECT 1 FROM suppressed WHERE address_hash = ?", (address_hash(email, key),)
        ).fetchone()
        return row is not None

    def forget(self, email: str, key: bytes) -> bool:
        """Erase a person: their record, history, consent and deliveries. What stays is a
        keyed hash of the address on the suppression list and the ledger's counts.
        Whether they were on the list (the hash is recorded either way)."""
        address = normalise_email(email)
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO suppressed (address_hash, at) VALUES (?, ?)",
                (address_hash(address, key), now_iso()),
            )
            row = conn.execute("SELECT id FROM subscribers WHERE email = ?", (address,)).fetchone()
            if row is None:
                return False
            sid = row[0]
            conn.execute(
                "INSERT INTO forgotten_deliveries (issue_slug, state, count)"
                " SELECT issue_slug, CASE WHEN state IN ('pending', 'sending') THEN 'skipped'"
                " ELSE state END AS st, count(*) FROM deliveries WHERE subscriber_id = ?"
                " GROUP BY issue_slug, st"
                " ON CONFLICT (issue_slug, state) DO UPDATE SET count = count + excluded.count",
                (sid,),
            )
            for table in ("deliveries", "outbox_copies", "events", "consents", "inbox_messages"):
                conn.execute(f"DELETE FROM {table} WHERE subscriber_id = ?", (sid,))
            conn.execute("DELETE FROM subscribers WHERE id = ?", (sid,))
        # Old page images in the write-ahead log still hold the address: fold the log into
        # the database (where secure_delete zeroed it) and empty it, when no reader holds it.
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return True

    def resubscribe(
        self, email: str, key: bytes, *, reason: str, source: str = "cli"
    ) -> Subscriber:
        """Bring back someone who left, bounced or was forgotten, on their request (the
        operator's ``reason`` is recorded). A new address is simply added."""
        address = normalise_email(email)
        if not reason.strip():
            raise InvalidAddress("a resubscription needs --reason (the person's request)")
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM suppressed WHERE address_hash = ?", (address_hash(address, key),)
            )
            row = conn.execute("SELECT id FROM subscribers WHERE email = ?", (address,)).fetchone()
            if row is None:
                self._insert(conn, address, "", "active", source)
            else:
                change_status(conn, row[0], "active", source, f"resubscribed: {reason}")
        self.record_consent(address, "resubscribe", source=source, reason=reason)
        sub = self.get(address)
        assert sub is not None
        return sub

    def unsuppress(self, email: str, key: bytes) -> None:
        """Take an address off the suppression list (the person asked to come back).
        Joins the caller's open transaction, if any."""
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM suppressed WHERE address_hash = ?", (address_hash(email, key),)
            )

    def ping(self) -> None:
        """A cheap read that raises when the database cannot be used."""
        self.conn.execute("SELECT count(*) FROM subscribers WHERE id = 0").fetchone()

    # -- what newsdesk inbox has read ---------------------------------------------------

    def inbox_seen(self, message_key: str) -> bool:
        """Whether a mailbox message was applied already (by its key)."""
        row = self.conn.execute(
            "SELECT 1 FROM inbox_messages WHERE message_key = ?", (message_key,)
        ).fetchone()
        return row is not None

    def record_inbox_message(self, message_key: str, kind: str, subscriber_id: int) -> None:
        """Remember a mailbox message as applied. Joins the caller's open transaction."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO inbox_messages (message_key, at, kind, subscriber_id)"
                " VALUES (?, ?, ?, ?)",
                (message_key, now_iso(), kind, subscriber_id),
            )

    def pop3_left_alone(self, mailbox: str) -> set[str]:
        """The UIDLs of POP3 messages left on the server on purpose (not requests)."""
        rows = self.conn.execute(
            "SELECT uidl FROM inbox_pop3_ignored WHERE mailbox = ?", (mailbox,)
        ).fetchall()
        return {r[0] for r in rows}

    def leave_alone(self, mailbox: str, uidl: str) -> None:
        """Remember a POP3 message to leave on the server. Joins an open transaction."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO inbox_pop3_ignored (mailbox, uidl) VALUES (?, ?)",
                (mailbox, uidl),
            )

    def forget_left_alone(self, mailbox: str, uidls: set[str]) -> None:
        """Forget POP3 messages that are no longer on the server."""
        with self.transaction() as conn:
            conn.executemany(
                "DELETE FROM inbox_pop3_ignored WHERE mailbox = ? AND uidl = ?",
                [(mailbox, uid) for uid in uidls],
            )

    def events(self, key: int | str) -> list[Event]:
        """A subscriber's history, oldest first."""
        sub = self.get(key)
        if sub is None:
            return []
        rows = self.conn.execute(
            "SELECT * FROM events WHERE subscriber_id = ? ORDER BY id", (sub.id,)
        )
        return [_record(Event, r) for r in rows]

    def import_csv(
        self,
        path: Path,
        *,
        display: str | None = None,
        suppression_key: bytes | None = None,
        reason: str = "",
    ) -> ImportResult:
        """Import ``email,name`` rows (with a header row) in one transaction.

        Rejected rows (bad address, duplicate in the file, a name with control characters,
        wrong column count) are listed with their line numbers; addresses already
        subscribed are counted as ``existing``. Nobody who left, bounced or was forgotten
        (with ``suppression_key``, the list's secret) comes back: those rows are
        ``skipped``, with their line. Each new subscriber's consent is recorded as an
        import of ``display`` with the operator's ``reason``. A file that is not a readable
        CSV with that header raises :class:`NewsdeskError`.
        """
        shown = display or str(path)
        columns, rows = _csv_rows(path, shown)
        if "email" not in columns:
            raise NewsdeskError("the header row must name the columns 'email' and 'name'", shown, 1)
        with self.transaction() as conn:
            run = _CsvImport(self, conn, columns, shown, reason, suppression_key)
            for line, row in rows:
                run.row(line, row)
        return run.result

    # -- the ledger ----------------------------------------------------------------------

    def issue(self, slug: str) -> IssueRecord | None:
        """The ledger's record of an issue, or ``None`` if it was never sent or archived."""
        row = self.conn.execute("SELECT * FROM issues WHERE slug = ?", (slug,)).fetchone()
        return _record(IssueRecord, row) if row else None

    def issues(self) -> list[IssueRecord]:
        """Every issue in the ledger, oldest first."""
        rows = self.conn.execute("SELECT * FROM issues ORDER BY date, number, slug")
        return [_record(IssueRecord, r) for r in rows]

    def archive_issue(
        self, slug: str, number: int | None, title: str, date: str, url: str = ""
    ) -> None:
        """Record an issue of the back catalogue as never to be mailed."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO issues (slug, number, title, date, url, state,"
                " finished_at) VALUES (?, ?, ?, ?, ?, 'archived', ?)",
                (slug, number, title, date, url, now_iso()),
            )

    def start_issue(
        self,
        slug: str,
        number: int | None,
        title: str,
        date: str,
        url: str = "",
        content_hash: str = "",
    ) -> int:
        """Begin sending an issue: its recipients are the active subscribers now.

        Returns the number of recipients; with none, nothing is recorded (the issue stays
        unsent). An issue already being sent keeps its recipients.
        """
        with self.transaction() as conn:
            row = conn.execute("SELECT state FROM issues WHERE slug = ?", (slug,)).fetchone()
            if row is not None and row[0] != "archived":
                return conn.execute(
                    "SELECT count(*) FROM deliveries WHERE issue_slug = ?", (slug,)
                ).fetchone()[0]
            active = conn.execute(
                "SELECT count(*) FROM subscribers WHERE status = 'active'"
            ).fetchone()[0]
            if not active:
                return 0
            at = now_iso()
            conn.execute(
                "INSERT INTO issues (slug, number, title, date, url, content_hash, state,"
                " started_at) VALUES (?, ?, ?, ?, ?, ?, 'sending', ?)"
                " ON CONFLICT (slug) DO UPDATE SET state = 'sending', number = excluded.number,"
                " title = excluded.title, started_at = excluded.started_at,"
                " finished_at = NULL",
                (slug, number, title, date, url, content_hash, at),
            )
            conn.execute(
                "INSERT OR IGNORE INTO deliveries (issue_slug, subscriber_id, state, updated_at)"
                " SELECT ?, id, 'pending', ? FROM subscribers WHERE status = 'active'",
                (slug, at),
            )
            return active

    def open_deliveries(self, slug: str) -> list[Delivery]:
        """Deliveries of ``slug`` still to make (``pending``, or ``sending`` at a crash)."""
        rows = self.conn.execute(
            "SELECT d.issue_slug, d.subscriber_id, s.email, s.name, s.status, d.state,"
            " d.attempts FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
            " WHERE d.issue_slug = ? AND d.state IN ('pending', 'sending')"
            " ORDER BY d.subscriber_id",
            (slug,),
        )
        return [Delivery(*r) for r in rows]

    def subscriber_status(self, subscriber_id: int) -> str | None:
        """A subscriber's current status (read just before each delivery)."""
        row = self.conn.execute(
            "SELECT status FROM subscribers WHERE id = ?", (subscriber_id,)
        ).fetchone()
        return row[0] if row else None

    def mark(
        self,
        slug: str,
        subscriber_id: int,
        state: str,
        error: str = "",
        *,
        attempt: bool = False,
    ) -> None:
        """Record a delivery's new state, committed at once."""
        _check(state, DELIVERY_STATES, "delivery state")
        self.conn.execute(
            "UPDATE deliveries SET state = ?, error = ?, updated_at = ?,"
            " attempts = attempts + ? WHERE issue_slug = ? AND subscriber_id = ?",
            (state, error, now_iso(), 1 if attempt else 0, slug, subscriber_id),
        )

    def claim_welcome_delivery(self, slug: str, subscriber_id: int) -> bool:
        """Record a welcome delivery of the ledger's issue ``slug`` as ``sending`` (marked
        :data:`WELCOME_IN_FLIGHT`), before it is handed to SMTP; whether it may be sent.

        Not when the subscriber has a delivery of the issue that was sent, is being sent,
        or failed (it may have arrived); a ``pending`` or ``skipped`` one is taken over.
        """
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT state FROM deliveries WHERE issue_slug = ? AND subscriber_id = ?",
                (slug, subscriber_id),
            ).fetchone()
            if row is not None and row[0] not in ("pending", "skipped"):
                return False
            conn.execute(
                "INSERT INTO deliveries (issue_slug, subscriber_id, state, attempts, error,"
                " updated_at) VALUES (?, ?, 'sending', 1, ?, ?)"
                " ON CONFLICT (issue_slug, subscriber_id) DO UPDATE SET state = 'sending',"
                " attempts = attempts + 1, error = excluded.error,"
                " updated_at = excluded.updated_at",
                (slug, subscriber_id, WELCOME_IN_FLIGHT, now_iso()),
            )
            return True

    def settle_interrupted_welcomes(self) -> int:
        """Welcome deliveries a crash left ``sending``: ``failed``, never sent again, since
        the server may have accepted them. Call it holding the send lock (then no welcome
        is really in flight); how many there were."""
        cur = self.conn.execute(
            "UPDATE deliveries SET state = 'failed', error = ?, updated_at = ?"
            " WHERE state = 'sending' AND error = ?",
            (
                "welcome interrupted: it may have arrived; not sent again",
                now_iso(),
                WELCOME_IN_FLIGHT,
            ),
        )
        return cur.rowcount

    def finish_issue(self, slug: str) -> bool:
        """Mark the issue sent when no delivery is open; whether it is."""
        with self.transaction() as conn:
            open_ = conn.execute(
                "SELECT count(*) FROM deliveries WHERE issue_slug = ?"
                " AND state IN ('pending', 'sending')",
                (slug,),
            ).fetchone()[0]
            if open_:
                return False
            conn.execute(
                "UPDATE issues SET state = 'sent', finished_at = ? WHERE slug = ?",
                (now_iso(), slug),
            )
            return True

    def issue_counts(self) -> list[IssueCounts]:
        """Per issue in the ledger: recipients and deliveries per state (those of forgotten
        people included, as counts)."""
        rows = self.conn.execute(
            "SELECT i.slug, i.number, i.title, i.date, i.state, sum(c.n),"
            " sum(CASE WHEN c.state = 'sent' THEN c.n END),"
            " sum(CASE WHEN c.state = 'failed' THEN c.n END),"
            " sum(CASE WHEN c.state IN ('pending', 'sending') THEN c.n END),"
            " sum(CASE WHEN c.state = 'skipped' THEN c.n END)"
            " FROM issues i LEFT JOIN ("
            "   SELECT issue_slug, state, count(*) AS n FROM deliveries GROUP BY 1, 2"
            "   UNION ALL SELECT issue_slug, state, count FROM forgotten_deliveries"
            " ) c ON c.issue_slug = i.slug"
            " GROUP BY i.slug ORDER BY i.date, i.number, i.slug"
        )
        return [
            IssueCounts(
                r[0], r[1], r[2], r[3], r[4], r[5] or 0, r[6] or 0, r[7] or 0, r[8] or 0, r[9] or 0
            )
            for r in rows
        ]

    # -- the outbox (rehearsals) ---------------------------------------------------------

    def outbox_recipients(self, slug: str) -> list[Subscriber]:
        """Active subscribers with no outbox copy of ``slug`` yet."""
        rows = self.conn.execute(
            "SELECT * FROM subscribers s WHERE s.status = 'active' AND NOT EXISTS"
            " (SELECT 1 FROM outbox_copies o WHERE o.issue_slug = ? AND o.subscriber_id = s.id)"
            " ORDER BY s.id",
            (slug,),
        )
        return [_record(Subscriber, r) for r in rows]

    def record_outbox_copy(self, slug: str, subscriber_id: int) -> None:
        """Remember that ``slug`` was written to the outbox for this subscriber."""
        self.conn.execute(
            "INSERT OR IGNORE INTO outbox_copies (issue_slug, subscriber_id, written_at)"
            " VALUES (?, ?, ?)",
            (slug, subscriber_id, now_iso()),
        )

    def outbox_counts(self) -> dict[str, int]:
        """How many outbox copies each issue has."""
        rows = self.conn.execute(
            "SELECT issue_slug, count(*) FROM outbox_copies GROUP BY issue_slug"
        )
        return {r[0]: r[1] for r in rows}

    def failures(self, slug: str) -> list[tuple[str, str]]:
        """(address, error) of the failed deliveries of an issue."""
        rows = self.conn.execute(
            "SELECT s.email, d.error FROM deliveries d JOIN subscribers s"
            " ON s.id = d.subscriber_id WHERE d.issue_slug = ? AND d.state = 'failed'"
            " ORDER BY s.email",
            (slug,),
        )
        return [(r[0], r[1]) for r in rows]


def address_hash(email: str, key: bytes) -> str:
    """The keyed hash a forgotten address is remembered by (HMAC-SHA256, hex): it tells
    whether an address was forgotten, and cannot be turned back into one."""
    import hmac

    return hmac.new(key, normalise_email(email).encode(), "sha256").hexdigest()


def _owner_only(path: Path) -> None:
    """Make the database and its ``-wal`` and ``-shm`` files readable by the owner only,
    whatever mode they were created with (an older newsdesk, a copy, another umask)."""
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with suppress(FileNotFoundError, PermissionError):
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}")


def ledger_numbers(path: Path) -> dict[str, int]:
    """The number each issue in the ledger at ``path`` was sent (or archived) with, by slug.

    Read-only: a missing database is not created (``{}``), nothing is written or migrated,
    and a database without the ledger table yet gives ``{}``. The build uses this so an
    issue keeps the number its subscribers saw.
    """
    if not path.is_file():
        return {}
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise NewsdeskError(f"cannot open the subscriber database: {exc}", path) from None
    try:
        rows = conn.execute("SELECT slug, number FROM issues WHERE number IS NOT NULL").fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return {}
        raise NewsdeskError(f"cannot read the issue ledger: {exc}", path) from None
    except sqlite3.DatabaseError as exc:
        raise NewsdeskError(f"cannot read the issue ledger: {exc}", path) from None
    finally:
        conn.close()
    return {str(slug): int(number) for slug, number in rows}


_R = TypeVar("_R")


def _record(cls: type[_R], row: sqlite3.Row) -> _R:
    """A record (a dataclass) from a row that has a column for each of its fields."""
    return cls(**{name: row[name] for name in _field_names(cls)})


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _csv_rows(path: Path, shown: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The column names of a CSV file's header row (trimmed, lower-case) and its other
    rows, each with its line number, blank rows left out. A file that cannot be read, is
    not UTF-8 or not CSV raises :class:`NewsdeskError` naming ``shown`` and the line."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise NewsdeskError("no such file", shown) from None
    except OSError as exc:
        raise NewsdeskError(f"cannot read the file: {exc.strerror or exc}", shown) from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise NewsdeskError("the file is not UTF-8 text", shown, line) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise NewsdeskError(f"not a CSV file: {exc}", shown, 1) from None
    if header is None:
        raise NewsdeskError("the file is empty (expected a header row 'email,name')", shown)

    def rows() -> Iterator[tuple[int, list[str]]]:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise NewsdeskError(f"not a valid CSV row: {exc}", shown, reader.line_num) from None
            if row and any(cell.strip() for cell in row):
                yield reader.line_num, row

    return [h.strip().lower() for h in header], rows()


class _CsvImport:
    """One :meth:`Store.import_csv` inside its transaction: each row is checked, then its
    subscriber added, counted as existing, or skipped (they left, bounced, were forgotten)."""

    def __init__(
        self,
        store: Store,
        conn: sqlite3.Connection,
        columns: list[str],
        source: str,
        reason: str,
        suppression_key: bytes | None,
    ):
        self.store = store
        self.conn = conn
        self.width = len(columns)
        self.email_col = columns.index("email")
        self.name_col = columns.index("name") if "name" in columns else None
        self.source = source
        self.reason = reason
        self.suppression_key = suppression_key
        self.result = ImportResult()
        self.seen: dict[str, int] = {}
        """The line of each address so far."""

    def row(self, line: int, row: list[str]) -> None:
        raw = row[self.email_col] if self.email_col < len(row) else ""
        if len(row) != self.width:
            reject = f"expected {self.width} columns, found {len(row)}"
            self.result.rejected.append(Rejected(line, raw, reject))
            return
        try:
            address = normalise_email(raw)
            name = clean_name(row[self.name_col] if self.name_col is not None else "")
        except InvalidAddress as exc:
            self.result.rejected.append(Rejected(line, raw, str(exc)))
            return
        if address in self.seen:
            self.result.rejected.append(
                Rejected(line, raw, f"duplicate of line {self.seen[address]}")
            )
            return
        self.seen[address] = line
        self.add(line, raw, address, name)

    def add(self, line: int, raw: str, address: str, name: str) -> None:
        """Add a checked row's subscriber, unless the list knows (or forgot) them."""
        result, store = self.result, self.store
        existing = self.conn.execute(
            "SELECT status FROM subscribers WHERE email = ?", (address,)
        ).fetchone()
        key = self.suppression_key
        if existing is None and key and store.is_suppressed(address, key):
            result.skipped.append(
                Rejected(line, raw, "forgotten on request; an import does not re-add")
            )
        elif existing is None:
            sid = store._insert(self.conn, address, name, "active", "import")
            # By id: the address is normalised already (email-validator is slow).
            store.record_consent(sid, "import", source=self.source, reason=self.reason)
            result.imported += 1
        elif existing[0] in ("unsubscribed", "bounced"):
            result.skipped.append(
                Rejected(line, raw, f"{existing[0]} earlier; an import does not reactivate")
            )
        else:
            result.existing += 1
