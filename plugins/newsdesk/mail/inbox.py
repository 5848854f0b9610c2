"""Reading the list's mailbox over IMAP or POP3: unsubscribe requests and bounces.

``email.inbox.url`` names the mailbox: ``imaps://user@host:993/INBOX`` (implicit TLS),
``imap://user@host:143/INBOX`` (STARTTLS), ``pop3s://user@host:995`` or
``pop3://user@host:110`` (STLS), with an ``@`` in the user name percent-encoded. The
password comes from ``email.inbox.password`` (``NEWSDESK_INBOX_PASSWORD``), never from the
URL. Certificates are always verified (the system store, ``SSL_CERT_FILE``, or a CA
file); a connection without TLS is only made to a loopback host.

Each new message (its first megabyte: enough for the headers and the delivery report) is
classified by :mod:`newsdesk.mail.dsn` and applied to the subscribers in one transaction
per batch. Only after the commit is the message marked on the server: over IMAP with the
keyword ``$NewsdeskProcessed`` and ``\\Seen`` (or moved to ``email.inbox.processed_folder``),
over POP3 by deleting it. Messages that are neither a request nor a bounce get the keyword
alone over IMAP – they stay unread for a person and are not read again – and are left on
the POP3 server, their UIDLs remembered (table ``inbox_pop3_ignored``) so they are not
downloaded again. A request or bounce that names a subscriber without proof (a DSN
without a valid VERP address when ``email.bounce_address`` is set, an "unsubscribe" without
a token whose sender the receiving server did not authenticate) is handled like such a
message and reported as unverified, for the operator to act on by hand. Every applied
message is recorded by its Message-ID in the table
``inbox_messages`` in the same transaction, so a crash between the commit and the marking
is harmless: the next run sees the message again, finds it recorded and only marks it (a
soft bounce is never counted twice).
"""

from __future__ import annotations

import base64
import imaplib
import poplib
import re
import ssl
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol
from urllib.parse import quote, unquote, urlsplit

from newsdesk import environment
from newsdesk.errors import EX_TEMPFAIL, NewsdeskError
from newsdesk.mail import dsn
from newsdesk.mail.addresses import is_loopback
from newsdesk.mail.store import Store, Subscriber
from newsdesk.mail.tls import certificate_refused, client_context
from newsdesk.mail.tokens import load_secret
from newsdesk.settings import Settings
from newsdesk.textsafe import terminal_safe

KEYWORD = "$NewsdeskProcessed"
BATCH = 200
#: Only the start of a message is read: headers, the notice and the delivery report come
#: first; a returned original with large attachments comes last and is not needed.
READ_LIMIT = 1024 * 1024
ENV_PASSWORD = "NEWSDESK_INBOX_PASSWORD"
CONFIG_FILE = "mkdocs.yml"
_DEFAULT_PORTS = {"imap": 143, "imaps": 993, "pop3": 110, "pop3s": 995}


class InboxUnavailable(NewsdeskError):
    """The mail server could not be reached (a temporary failure: try again later)."""


@dataclass(frozen=True)
class InboxURL:
    """A parsed ``email.inbox.url``."""

    scheme: str
    host: str
    port: int
    username: str
    mailbox: str = "INBOX"

    @property
    def protocol(self) -> str:
        return "imap" if self.scheme.startswith("imap") else "pop3"

    @property
    def implicit_tls(self) -> bool:
        return self.scheme.endswith("s")

    def __str__(self) -> str:
        path = f"/{self.mailbox}" if self.protocol == "imap" else ""
        user = quote(self.username, safe="")
        return f"{self.scheme}://{user}@{self.host}:{self.port}{path}"


def parse_inbox_url(url: str) -> InboxURL:
    """Parse ``email.inbox.url``; a malformed one raises :class:`NewsdeskError`."""

    def bad(why: str) -> NewsdeskError:
        return NewsdeskError(f"email.inbox.url: {why}", CONFIG_FILE)

    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:  # an unclosed "[" of an IPv6 address
        raise bad(f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise bad(f"the scheme must be imaps, imap, pop3s or pop3, not {parts.scheme!r}")
    if parts.password is not None:
        raise bad(f"put the password in {ENV_PASSWORD}, not in the URL")
    if not parts.hostname:
        raise bad("no host name")
    if not parts.username:
        raise bad("no user name (imaps://user%40example.org@mail.example.org/INBOX)")
    try:
        port = parts.port
    except ValueError:
        raise bad("the port is not a number between 1 and 65535") from None
    if port == 0:
        raise bad("port 0 is not a port: give one between 1 and 65535, or none for the default")
    if port is None:
        port = _DEFAULT_PORTS[scheme]
    path = unquote(parts.path).strip("/")
    if scheme.startswith("pop3") and path:
        raise bad("a POP3 mailbox has no folder: remove the path")
    return InboxURL(scheme, parts.hostname, port, unquote(parts.username), path or "INBOX")


@dataclass
class InboxSummary:
    """What one run did, per message: ``read`` in all, and how each was taken."""

    read: int = 0
    unsubscribed: int = 0
    bounced: int = 0
    soft_bounces: int = 0
    ignored: int = 0
    already: int = 0
    unverified: int = 0
    """Requests and bounces naming a subscriber without proof: reported, not applied."""
    left_alone: int = 0
    """POP3 messages not read again: left alone by an earlier run (IMAP keeps a keyword)."""
    dry_run: bool = False
    changes: list[str] = field(default_factory=list)
    unverified_notes: list[str] = field(default_factory=list)
    """One line per unverified message, for the operator."""

    def line(self) -> str:
        """``inbox: 3 read, 1 unsubscribed, 1 bounced, 1 soft bounce, 0 ignored``, and
        ``, 1 unverified`` when some were."""
        soft = "soft bounce" if self.soft_bounces == 1 else "soft bounces"
        text = (
            f"inbox: {self.read} read, {self.unsubscribed} unsubscribed, {self.bounced} "
            f"bounced, {self.soft_bounces} {soft}, {self.ignored} ignored"
        )
        if self.unverified:
            text += f", {self.unverified} unverified (not applied)"
        if self.already:
            text += f", {self.already} already applied"
        if self.dry_run:
            text += " (dry run: nothing changed)"
        return text


# -- the mail server -----------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """A message read from the server: ``ref`` (IMAP UID or POP3 number), its bytes, and
    over POP3 its UIDL (``uid``)."""

    ref: str
    raw: bytes
    uid: str = ""


class MailboxClient(Protocol):
    """A connection to the list's mailbox."""

    def batches(self, skip: Collection[str] = ()) -> Iterator[list[Fetched]]:
        """The new messages, a batch at a time (over POP3, without the UIDLs in ``skip``)."""
        ...

    def mark(self, handled: list[str], ignored: list[str]) -> None:
        """Mark messages processed: ``handled`` ones are done with, ``ignored`` ones stay."""
        ...

    def close(self) -> None: ...


def _cert_error(url: InboxURL, exc: ssl.SSLError) -> NewsdeskError:
    where = f"cannot connect to {url.host}:{url.port}"
    return NewsdeskError(certificate_refused(where, exc, "email.inbox.ca_file"), CONFIG_FILE)


def _clear_text_refused(url: InboxURL, command: str) -> NewsdeskError:
    return NewsdeskError(
        f"{url.host}:{url.port} does not offer {command}: refusing to send the password in "
        f"clear text (use {url.scheme}s://, or a loopback host)",
        CONFIG_FILE,
    )


def connect(
    url: InboxURL,
    password: str,
    *,
    ca_file: str | None = None,
    timeout: float = 30,
    readonly: bool = False,
    processed_folder: str | None = None,
) -> MailboxClient:
    """Log in to the mailbox over TLS (clear text only to a loopback host).

    Raises :class:`InboxUnavailable` when the server cannot be reached and
    :class:`NewsdeskError` for a certificate, TLS or login failure.
    """
    login = _Login(url, password, client_context(ca_file, "email.inbox.ca_file"), timeout, readonly)
    try:
        if url.protocol == "imap":
            return _Imap(login, processed_folder)
        return _Pop3(login)
    except ssl.SSLCertVerificationError as exc:
        raise _cert_error(url, exc) from None
    except ssl.SSLError as exc:
        raise NewsdeskError(f"TLS with {url.host}:{url.port} failed: {exc}", CONFIG_FILE) from None
    except (imaplib.IMAP4.error, poplib.error_proto, OSError) as exc:
        raise InboxUnavailable(f"cannot reach {url}: {exc}", CONFIG_FILE) from None


def _quote_mailbox(name: str) -> str:
    """A mailbox name as an IMAP quoted string, non-ASCII in modified UTF-7 (RFC 3501)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = base64.b64encode("".join(pending).encode("utf-16-be")).decode()
            out.append("&" + data.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    text = "".join(out).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


class _Login(NamedTuple):
    """What logging in takes, over either protocol."""

    url: InboxURL
    password: str
    context: ssl.SSLContext
    timeout: float
    readonly: bool


class _Imap:
    def __init__(self, login: _Login, processed_folder: str | None):
        url, password, context, timeout, readonly = login
        self.url = url
        self.readonly = readonly
        self.folder = _quote_mailbox(processed_folder) if processed_folder else None
        if url.implicit_tls:
            conn = imaplib.IMAP4_SSL(url.host, url.port, ssl_context=context, timeout=timeout)
        else:
            conn = imaplib.IMAP4(url.host, url.port, timeout=timeout)
            if "STARTTLS" in conn.capabilities:
                conn.starttls(ssl_context=context)
            elif not is_loopback(url.host):
                conn.shutdown()
                raise _clear_text_refused(url, "STARTTLS")
        self.conn = conn
        try:
            if "AUTH=PLAIN" in conn.capabilities:
                creds = f"\0{url.username}\0{password}".encode()
                conn.authenticate("PLAIN", lambda _challenge: creds)
            else:
                conn.login(url.username, password)
        except imaplib.IMAP4.error as exc:
            conn.shutdown()
            raise NewsdeskError(f"login to {url} failed: {_text(exc)}", CONFIG_FILE) from None
        typ, data = conn.capability()
        caps = set(data[0].decode("ascii", "replace").upper().split()) if typ == "OK" else set()
        self.caps = caps | set(conn.capabilities)
        typ, data = conn.select(_quote_mailbox(url.mailbox), readonly=readonly)
        if typ != "OK":
            self.close()
            raise NewsdeskError(
                f"cannot open the mailbox {url.mailbox!r} on {url.host}: {_text(data)}",
                CONFIG_FILE,
            )
        flags = b" ".join(d for d in conn.untagged_responses.get("PERMANENTFLAGS", []) if d)
        self.keywords = b"\\*" in flags or KEYWORD.encode() in flags
        if not readonly and not self.keywords and not self.folder:
            self.close()
            raise NewsdeskError(
                f"the mailbox {url.mailbox!r} does not keep keywords: set "
                "email.inbox.processed_folder to move processed messages there",
                CONFIG_FILE,
            )
        if self.folder and not readonly:
            conn.create(self.folder)  # NO when it exists already: fine

    def _uid(self, command: str, *args: str) -> list:
        typ, data = self.conn.uid(command, *args)
        if typ != "OK":
            raise NewsdeskError(f"IMAP UID {command} failed on {self.url}: {_text(data)}")
        return data

    def batches(self, skip: Collection[str] = ()) -> Iterator[list[Fetched]]:
        # UNKEYWORD also in a read-only session (where PERMANENTFLAGS is empty), so that a
        # dry run skips what earlier runs processed.
        data = self._uid("SEARCH", "UNDELETED", "UNKEYWORD", KEYWORD)
        uids = data[0].split() if data and data[0] else []
        for start in range(0, len(uids), BATCH):
            chunk = [u.decode() for u in uids[start : start + BATCH]]
            data = self._uid("FETCH", ",".join(chunk), f"(UID BODY.PEEK[]<0.{READ_LIMIT}>)")
            yield _fetched_messages(data)

    def mark(self, handled: list[str], ignored: list[str]) -> None:
        if self.keywords and handled + ignored:
            self._uid("STORE", ",".join(handled + ignored), "+FLAGS.SILENT", f"({KEYWORD})")
        if not handled:
            return
        uids = ",".join(handled)
        self._uid("STORE", uids, "+FLAGS.SILENT", "(\\Seen)")
        if self.folder:
            if "MOVE" in self.caps:
                self._uid("MOVE", uids, self.folder)
            else:
                self._uid("COPY", uids, self.folder)
                self._uid("STORE", uids, "+FLAGS.SILENT", "(\\Deleted)")
                if "UIDPLUS" in self.caps:
                    self._uid("EXPUNGE", uids)

    def close(self) -> None:
        try:
            if self.conn.state == "SELECTED":
                self.conn.close()
            self.conn.logout()
        except (imaplib.IMAP4.error, OSError):
            self.conn.shutdown()


_FETCH_UID = re.compile(rb"\bUID (\d+)")


def _fetched_messages(data: list) -> list[Fetched]:
    """The (UID, bytes) pairs of an IMAP ``UID FETCH (UID BODY[])`` response."""
    result: list[Fetched] = []
    pending: bytes | None = None
    for item in data:
        if isinstance(item, tuple):
            head, body = item
            pending = body
            match = _FETCH_UID.search(head)
            if match:
                result.append(Fetched(match.group(1).decode(), body))
                pending = None
        elif isinstance(item, bytes) and pending is not None:
            # Some servers send the UID after the literal: "* 1 FETCH (BODY[] {n} UID 5)".
            match = _FETCH_UID.search(item)
            if match:
                result.append(Fetched(match.group(1).decode(), pending))
            pending = None
    return result


class _Pop3:
    def __init__(self, login: _Login):
        url, password, context, timeout, readonly = login
        self.url = url
        self.readonly = readonly
        self.uids: set[str] = set()
        if url.implicit_tls:
            conn = poplib.POP3_SSL(url.host, url.port, context=context, timeout=timeout)
        else:
            conn = poplib.POP3(url.host, url.port, timeout=timeout)
            try:
                caps = conn.capa()
            except poplib.error_proto:
                caps = {}
            if "STLS" in caps:
                conn.stls(context=context)
            elif not is_loopback(url.host):
                conn.close()
                raise _clear_text_refused(url, "STLS")
        self.conn = conn
        try:
            conn.user(url.username)
            conn.pass_(password)
        except poplib.error_proto as exc:
            conn.close()
            raise NewsdeskError(f"login to {url} failed: {_text(exc)}", CONFIG_FILE) from None

    def batches(self, skip: Collection[str] = ()) -> Iterator[list[Fetched]]:
        _resp, sizes, _octets = self.conn.list()
        size = {n: int(o) for n, o in (line.decode("ascii").split()[:2] for line in sizes)}
        try:
            _resp, listing, _octets = self.conn.uidl()
        except poplib.error_proto:  # no UIDL: every message is new every time
            listing = [line.split()[0] for line in sizes]
        entries = []
        for line in listing:
            number, _, uid = line.decode("ascii", "replace").strip().partition(" ")
            entries.append((number, uid.strip()))
        self.uids = {uid for _number, uid in entries if uid}
        todo = [(number, uid) for number, uid in entries if not uid or uid not in skip]
        for start in range(0, len(todo), BATCH):
            batch = []
            for number, uid in todo[start : start + BATCH]:
                if size.get(number, 0) > READ_LIMIT:
                    # TOP: the headers and the first lines of the body only.
                    _resp, lines, _octets = self.conn.top(int(number), READ_LIMIT // 100)
                else:
                    _resp, lines, _octets = self.conn.retr(int(number))
                batch.append(Fetched(number, b"\r\n".join(lines) + b"\r\n", uid))
            yield batch

    def mark(self, handled: list[str], ignored: list[str]) -> None:
        for number in handled:
            self.conn.dele(int(number))

    def close(self) -> None:
        try:
            if self.readonly:
                self.conn.rset()
            self.conn.quit()  # deletions take effect here
        except (poplib.error_proto, OSError):
            self.conn.close()


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_text(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


# -- applying messages to the subscribers ---------------------------------------------------


def _resolve(store: Store, target: dsn.Target) -> Subscriber | None:
    if target.subscriber_id is not None:
        return store.get(target.subscriber_id)
    for address in target.addresses:
        sub = store.get(address)
        if sub is not None:
            return sub
    return None


def _apply(
    store: Store,
    verdict: dsn.Verdict,
    soft_limit: int,
    summary: InboxSummary,
    *,
    dry_run: bool,
) -> bool:
    """Apply one message (inside the open transaction unless ``dry_run``); whether it was
    a request or bounce of ours (then it is marked done on the server)."""
    if verdict.kind == dsn.OTHER:
        summary.ignored += 1
        return False
    if verdict.kind == dsn.UNVERIFIED:
        _report_unverified(store, verdict, summary)
        return False
    if store.inbox_seen(verdict.key):
        summary.already += 1
        return True
    subs = _concerned(store, verdict)
    if not subs:
        summary.ignored += 1
        return False
    for target, sub in subs:
        if verdict.kind == dsn.UNSUBSCRIBE:
            change = _unsubscribe(store, sub, target.detail, dry_run=dry_run)
        else:
            change = record_bounce(
                store, sub, verdict.kind, target.detail, soft_limit, dry_run=dry_run
            )
        if change:
            summary.changes.append(change)
    _count(summary, verdict.kind)
    if not dry_run:
        store.record_inbox_message(verdict.key, verdict.kind, subs[0][1].id)
    return True


def _report_unverified(store: Store, verdict: dsn.Verdict, summary: InboxSummary) -> None:
    """Leave an unverified message like ignored mail (unread, or on the POP3 server) for a
    person to look at; only worth a word when it names a current subscriber."""
    if any(
        (s := _resolve(store, t)) is not None and s.status in ("active", "pending")
        for t in verdict.targets
    ):
        summary.unverified += 1
        summary.unverified_notes.append(f"{verdict.reason}: not applied")
    else:
        summary.ignored += 1


def _concerned(store: Store, verdict: dsn.Verdict) -> list[tuple[dsn.Target, Subscriber]]:
    """The subscribers a request or bounce is about, each with the target naming them."""
    subs = [(t, s) for t in verdict.targets if (s := _resolve(store, t)) is not None]
    if verdict.kind == dsn.UNSUBSCRIBE and not verdict.by_token:
        # "unsubscribe" from an address: only a current subscriber can ask for that.
        subs = [(t, s) for t, s in subs if s.status in ("active", "pending")]
    return subs


def _unsubscribe(store: Store, sub: Subscriber, detail: str, *, dry_run: bool) -> str | None:
    """Unsubscribe on a mailed request; the line saying so, ``None`` when already out."""
    if sub.status == "unsubscribed":
        return None
    if not dry_run:
        store.set_status(sub.id, "unsubscribed", "mailto", detail)
    return f"{sub.email} {'would be' if dry_run else 'is'} unsubscribed ({detail})"


def record_bounce(
    store: Store,
    sub: Subscriber,
    kind: str,
    detail: str,
    soft_limit: int,
    *,
    dry_run: bool = False,
) -> str | None:
    """Record one bounce of ``sub`` (``kind``: :data:`dsn.HARD_BOUNCE` or
    :data:`dsn.SOFT_BOUNCE`), whatever its format, through :meth:`Store.record_bounce` (the
    one bounce rule, which ``send`` follows too). Returns the line saying what changed
    (``None`` for a subscriber who is no longer active or pending)."""
    if sub.status not in ("active", "pending"):
        return None
    verb = "would be" if dry_run else "is"
    hard = kind == dsn.HARD_BOUNCE
    count = sub.soft_bounces + 1
    note = f"soft bounce {count} of {soft_limit}"
    if not dry_run:
        # In the caller's transaction.
        store.record_bounce(
            sub.id, hard=hard, detail=detail if hard else f"{note}: {detail}", soft_limit=soft_limit
        )
    if hard:
        return f"{sub.email} {verb} bounced ({detail})"
    if count >= soft_limit:
        return f"{sub.email} {verb} bounced ({note})"
    return f"{sub.email}: {note} ({detail})"


def _count(summary: InboxSummary, kind: str) -> None:
    if kind == dsn.UNSUBSCRIBE:
        summary.unsubscribed += 1
    elif kind == dsn.HARD_BOUNCE:
        summary.bounced += 1
    else:
        summary.soft_bounces += 1


def inbox_password(settings: Settings) -> str:
    """The mailbox password: ``email.inbox.password``, else ``NEWSDESK_INBOX_PASSWORD``."""
    password = settings.email.inbox.password or environment.get(ENV_PASSWORD)
    if not password:
        raise NewsdeskError(
            f"no password for the inbox: set {ENV_PASSWORD} (email.inbox.password)", CONFIG_FILE
        )
    return password


def process_inbox(settings: Settings, store: Store, dry_run: bool = False) -> InboxSummary:
    """Read the new messages of ``email.inbox.url`` and apply unsubscribe requests and
    bounces to the subscribers in ``store``; with ``dry_run`` only say what would change.

    Each batch is committed before its messages are marked on the server, so rerunning
    after any failure applies nothing twice.
    """
    inbox = settings.email.inbox
    if not inbox.url:
        raise NewsdeskError(
            "no inbox configured: set email.inbox.url (NEWSDESK_INBOX_URL)", CONFIG_FILE
        )
    url = parse_inbox_url(inbox.url)
    password = inbox_password(settings)
    run = _Run(settings, store, load_secret(settings.state_dir), InboxSummary(dry_run=dry_run))
    client = connect(
        url,
        password,
        ca_file=inbox.ca_file,
        timeout=inbox.timeout,
        readonly=dry_run,
        processed_folder=inbox.processed_folder,
    )
    # POP3 has no flags: the UIDLs of messages left alone are remembered instead.
    pop3 = str(url) if url.protocol == "pop3" else None
    left_alone = store.pop3_left_alone(pop3) if pop3 else set()
    try:
        for batch in client.batches(left_alone):
            run.apply_batch(client, batch, pop3)
        on_server: set[str] = getattr(client, "uids", set())
        if pop3 and not dry_run and left_alone - on_server:
            store.forget_left_alone(pop3, left_alone - on_server)
        run.summary.left_alone = len(left_alone & on_server)
    except (TimeoutError, imaplib.IMAP4.abort, poplib.error_proto, OSError) as exc:
        raise InboxUnavailable(f"the connection to {url} failed: {exc}", CONFIG_FILE) from None
    except imaplib.IMAP4.error as exc:  # a BAD reply: the server refused a command
        raise NewsdeskError(f"{url}: the server refused a command: {exc}", CONFIG_FILE) from None
    finally:
        client.close()
    return run.summary


@dataclass
class _Run:
    """One run of :func:`process_inbox`: what classifies and applies each batch."""

    settings: Settings
    store: Store
    secret: bytes
    summary: InboxSummary

    def classify(self, fetched: Fetched) -> dsn.Verdict:
        email = self.settings.email
        return dsn.classify(
            fetched.raw,
            secret=self.secret,
            unsubscribe_mailto=email.unsubscribe_mailto,
            bounce_address=email.bounce_address,
            authserv_id=email.inbox.authserv_id,
        )

    def apply_batch(self, client: MailboxClient, batch: list[Fetched], pop3: str | None) -> None:
        """Apply a batch in one transaction, then mark its messages on the server (a dry
        run applies nothing and marks nothing). ``pop3`` names a POP3 mailbox, whose
        ignored messages are remembered to be left alone."""
        verdicts = [(fetched, self.classify(fetched)) for fetched in batch]
        self.summary.read += len(verdicts)
        limit = self.settings.email.inbox.soft_limit
        if self.summary.dry_run:
            for _fetched, verdict in verdicts:
                _apply(self.store, verdict, limit, self.summary, dry_run=True)
            return
        handled: list[str] = []
        ignored: list[str] = []
        with self.store.transaction():
            for fetched, verdict in verdicts:
                if _apply(self.store, verdict, limit, self.summary, dry_run=False):
                    handled.append(fetched.ref)
                    continue
                ignored.append(fetched.ref)
                if pop3 and fetched.uid:
                    self.store.leave_alone(pop3, fetched.uid)
        client.mark(handled, ignored)


def inbox_command(settings: Settings, dry_run: bool, *, if_configured: bool = False) -> int:
    """``newsdesk inbox [--dry-run]``: process the inbox, print the changes and a summary.

    Exit status 0 on success, 75 when the server cannot be reached (try later), 1 for a
    configuration, certificate or login error. With ``if_configured`` (for ``make
    publish``), no ``email.inbox.url`` is not an error: there is nothing to do.
    """
    if if_configured and not settings.email.inbox.url:
        print("inbox: none configured (email.inbox.url)")
        return 0
    try:
        database = settings.email.database
        with Store.open(database, display=settings.relative(database)) as store:
            summary = process_inbox(settings, store, dry_run=dry_run)
    except InboxUnavailable as exc:
        print(f"newsdesk inbox: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    except NewsdeskError as exc:
        print(f"newsdesk inbox: {exc}", file=sys.stderr)
        return 1
    for line in summary.changes:
        print(f"  {terminal_safe(line)}")
    for line in summary.unverified_notes:
        print(f"  unverified: {terminal_safe(line)}")
    print(summary.line())
    return 0
