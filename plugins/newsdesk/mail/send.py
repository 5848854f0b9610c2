"""Delivering issues: which issues are new, and one message per subscriber over SMTP or
into a Maildir outbox, recorded in the ledger message by message.

Crash safety: before a message is handed to a connection its delivery is committed as
``sending``; when the server has accepted it, as ``sent``. A run after a crash sends the
``pending`` and ``sending`` ones, so at most the messages in flight (one per connection)
may arrive twice, and none is lost. The main thread owns the database; worker threads
each own one SMTP connection, reused for many messages.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import mailbox
import queue
import smtplib
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from newsdesk.errors import NewsdeskError
from newsdesk.mail.addresses import is_loopback
from newsdesk.mail.headers import HeaderError
from newsdesk.mail.render import (
    PreparedMessage,
    Recipient,
    identity_warnings,
    prepare_message,
)
from newsdesk.mail.store import Store
from newsdesk.mail.tls import certificate_refused, client_context
from newsdesk.mail.tokens import make_token
from newsdesk.rendering import IssueRendering
from newsdesk.settings import Settings, SmtpSettings

CA_SETTING = "email.smtp.ca_file"

BOUNCE_CODES = (550, 551, 553)
DEFAULT_RETRY_DELAYS = (1.0, 4.0, 15.0)


# -- which issues are new --------------------------------------------------------------------


@dataclass
class Plan:
    """What ``send`` will do: issues to send (oldest first), to archive, and why not others."""

    send: list[IssueRendering] = field(default_factory=list)
    archive: list[IssueRendering] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def plan_issues(
    store: Store,
    renderings: Sequence[IssueRendering],
    *,
    only: str | None = None,
    today: dt.date | None = None,
) -> Plan:
    """Decide which published issues to send now.

    New issues are the published ones (not future) the ledger does not know. With an
    empty ledger only the newest is sent and the back catalogue is archived. An unsent
    issue with the title and date of one in the ledger is a renamed file and is not sent.
    Issues whose sending was interrupted are continued. ``only`` sends that issue.
    """
    today = today or dt.date.today()
    published = [r for r in renderings if r.date <= today]
    plan = Plan()
    records = {rec.slug: rec for rec in store.issues()}
    if only is not None:
        chosen = next((r for r in published if r.slug == only), None)
        if chosen is None:
            known = ", ".join(r.slug for r in published) or "none"
            raise NewsdeskError(f"no published issue '{only}' (published: {known})")
        rec = records.get(only)
        if rec is not None and rec.state == "sent":
            plan.notes.append(f"{only}: already sent on {rec.finished_at}; nothing to do")
        else:
            plan.send.append(chosen)
        return plan
    by_slug = {r.slug: r for r in published}
    for rec in records.values():
        if rec.state == "sending":
            if rec.slug in by_slug:
                plan.send.append(by_slug[rec.slug])
            else:
                plan.notes.append(
                    f"{rec.slug}: its sending was interrupted but it is no longer published; "
                    "its remaining deliveries wait until it is"
                )
    new = [r for r in published if r.slug not in records]
    kept = []
    for r in new:
        twin = next(
            (
                rec
                for rec in records.values()
                if rec.title == r.title and rec.date == r.date.isoformat()
            ),
            None,
        )
        if twin is not None:
            plan.notes.append(
                f"{r.slug}: not sent: it has the title and date of '{twin.slug}' "
                f"({twin.state}), so it is probably that issue renamed; "
                f"use --issue {r.slug} to send it anyway"
            )
        else:
            kept.append(r)
    if not records and len(kept) > 1:
        *older, newest = kept
        plan.archive = older
        kept = [newest]
        plan.notes.append(
            f"first run: only the newest issue ({newest.slug}) is mailed; the "
            f"{len(older)} older ones are the back catalogue (archived, never mailed): "
            + ", ".join(r.slug for r in older)
        )
    plan.send += kept
    return plan


# -- transports ------------------------------------------------------------------------------


class Transport(Protocol):
    """One connection (or outbox writer) used by one worker thread."""

    def send(self, envelope_from: str, recipient: str, data: bytes) -> None: ...

    def close(self) -> None: ...


class DeliveryError(Exception):
    """A delivery attempt failed.

    ``kind`` is ``transient`` (retry later; ``reconnect`` when the connection is gone),
    ``permanent`` (never retry; ``bounce`` when the address does not exist) or ``fatal``
    (the configuration is wrong: stop the whole run).
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        reconnect: bool = False,
        bounce: bool = False,
        connect: bool = False,
    ):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.reconnect = reconnect
        self.bounce = bounce
        self.connect = connect


class OutboxTransport:
    """Writes each message into a Maildir (``email.outbox``): the default without SMTP."""

    def __init__(self, path: Path):
        self.box = mailbox.Maildir(path, create=True)

    def send(self, envelope_from: str, recipient: str, data: bytes) -> None:
        self.box.add(data.replace(b"\r\n", b"\n"))

    def close(self) -> None:
        pass


def check_smtp(smtp: SmtpSettings) -> None:
    """Refuse settings that would leak the password or cannot work."""
    if not smtp.host:
        return
    if smtp.security not in ("starttls", "tls", "none"):
        raise NewsdeskError(f"email.smtp.security: unknown value {smtp.security!r}")
    if smtp.username and smtp.security == "none" and not is_loopback(smtp.host):
        raise NewsdeskError(
            "email.smtp: refusing to log in over an unencrypted connection to "
            f"{smtp.host}; use security 'starttls' or 'tls' (plain AUTH is allowed only "
            "to a loopback host)"
        )
    if smtp.username and not smtp.password:
        raise NewsdeskError(
            "email.smtp: a username is set but no password (NEWSDESK_SMTP_PASSWORD)"
        )
    if smtp.ca_file and not Path(smtp.ca_file).is_file():
        raise NewsdeskError(f"email.smtp.ca_file: no such file: {smtp.ca_file}")


class SmtpTransport:
    """One reusable SMTP connection with STARTTLS, implicit TLS or none, and AUTH."""

    def __init__(self, smtp: SmtpSettings, context: ssl.SSLContext | None = None):
        self.smtp = smtp
        self.context = context or client_context(smtp.ca_file, CA_SETTING)
        self.conn: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.smtp.host}:{self.smtp.effective_port}"

    def _open(self) -> smtplib.SMTP:
        s = self.smtp
        host, port = s.host or "", s.effective_port
        conn: smtplib.SMTP | None = None
        try:
            if s.security == "tls":
                conn = smtplib.SMTP_SSL(host, port, timeout=s.timeout, context=self.context)
            else:
                conn = smtplib.SMTP(host, port, timeout=s.timeout)
            conn.ehlo()
            if s.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise DeliveryError(
                        "fatal", f"{self.where} does not offer STARTTLS (email.smtp.security)"
                    )
                conn.starttls(context=self.context)
                conn.ehlo()
            if s.username:
                conn.login(s.username, s.password or "")
        except ssl.SSLCertVerificationError as exc:
            _quietly_close(conn)
            raise DeliveryError("fatal", certificate_refused(self.where, exc, CA_SETTING)) from None
        except ssl.SSLError as exc:
            _quietly_close(conn)
            raise DeliveryError("fatal", f"{self.where}: TLS failed: {exc}") from None
        except smtplib.SMTPAuthenticationError as exc:
            _quietly_close(conn)
            raise DeliveryError(
                "fatal",
                f"{self.where}: authentication failed for {s.username!r}: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}",
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            _quietly_close(conn)
            raise DeliveryError("fatal", f"{self.where}: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            _quietly_close(conn)
            kind = "transient" if 400 <= exc.smtp_code < 500 else "fatal"
            raise DeliveryError(
                kind,
                f"{self.where} refused the connection: {exc.smtp_code} {_text(exc.smtp_error)}",
                reconnect=True,
                connect=True,
            ) from None
        except DeliveryError:
            _quietly_close(conn)
            raise
        except (OSError, smtplib.SMTPException) as exc:
            _quietly_close(conn)
            raise DeliveryError(
                "transient", f"cannot connect to {self.where}: {exc}", reconnect=True, connect=True
            ) from None
        return conn

    def send(self, envelope_from: str, recipient: str, data: bytes) -> None:
        if self.conn is None:
            self.conn = self._open()
        try:
            self.conn.sendmail(envelope_from, [recipient], data)
        except smtplib.SMTPSenderRefused as exc:
            # The same for every subscriber: a configuration problem, not theirs.
            if exc.smtp_code >= 500:
                raise DeliveryError(
                    "fatal",
                    f"{self.where} refused the sender {exc.sender}: {exc.smtp_code} "
                    f"{_text(exc.smtp_error)} (check email.from and email.bounce_address)",
                ) from None
            raise _classify(exc.smtp_code, exc.smtp_error, stage="MAIL") from None
        except smtplib.SMTPRecipientsRefused as exc:
            code, msg = exc.recipients.get(recipient, (550, b"refused"))
            raise _classify(code, msg, stage="RCPT") from None
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421 or exc.smtp_code == -1:
                self.close()
            raise _classify(exc.smtp_code, exc.smtp_error, stage="DATA") from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()
            raise DeliveryError(
                "transient", f"connection to {self.where} lost: {exc}", reconnect=True
            ) from None

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                _quietly_close(conn)


def _quietly_close(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()


def _text(msg: bytes | str) -> str:
    return msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)


def _classify(code: int, msg: bytes | str, *, stage: str) -> DeliveryError:
    text = f"{code} {_text(msg)}".strip()
    if 400 <= code < 500:
        return DeliveryError("transient", text, reconnect=code == 421)
    if code >= 500:
        return DeliveryError("permanent", text, bounce=stage == "RCPT" and code in BOUNCE_CODES)
    return DeliveryError("transient", text or "unexpected reply", reconnect=True)


def transport_factory(settings: Settings) -> tuple[Callable[[], Transport], int]:
    """A factory of transports for the settings, and how many to run in parallel."""
    smtp = settings.email.smtp
    if not smtp.host:
        outbox = settings.email.outbox
        return (lambda: OutboxTransport(outbox)), 1
    check_smtp(smtp)
    context = client_context(smtp.ca_file, CA_SETTING)
    return (lambda: SmtpTransport(smtp, context)), max(1, smtp.connections)


# -- the live check --------------------------------------------------------------------------


def check_live(url: str, timeout: float = 15) -> str | None:
    """``None`` when ``url`` answers 2xx, else why not."""
    request = urllib.request.Request(url, headers={"User-Agent": "newsdesk live check"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if 200 <= response.status < 300:
                return None
            return f"{url} answered {response.status}"
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{url} is not reachable: {reason}"


# -- delivering one issue --------------------------------------------------------------------


class RateLimiter:
    """At most ``rate`` messages per second across all connections (0 = unlimited)."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self.lock = threading.Lock()
        self.next = time.monotonic()

    def wait(self, stop: threading.Event) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            slot = max(self.next, now)
            self.next = slot + self.interval
        if slot > now:
            stop.wait(slot - now)


@dataclass(frozen=True)
class _Job:
    subscriber_id: int
    email: str
    envelope_from: str
    data: bytes


@dataclass(frozen=True)
class _Outcome:
    job: _Job
    state: str  # sent, failed, pending, fatal
    error: str = ""
    bounce: bool = False
    connect: bool = False


@dataclass
class IssueReport:
    slug: str
    recipients: int = 0
    sent: int = 0
    failed: int = 0
    pending: int = 0
    skipped: int = 0
    outbox: int = 0
    """Copies written to the outbox (a rehearsal: nothing was sent)."""
    rejected: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""
    """Why sending stopped before the end (the server cannot be reached)."""
    fatal: str | None = None
    """A configuration error that stopped the run (certificate, authentication)."""


@dataclass
class SendReport:
    """What a run did, summed over its issues."""

    issues: list[IssueReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    """Issues not sent because they are not online yet (they count as pending)."""
    interrupted: bool = False
    fatal: str | None = None
    outbox_path: str | None = None
    """Where a rehearsal wrote its copies (no SMTP server configured), else ``None``."""
    refused: list[str] = field(default_factory=list)
    """Issues not sent because the strict build does not accept them."""
    dry_run: bool = False

    @property
    def outbox(self) -> int:
        return sum(i.outbox for i in self.issues)

    @property
    def sent(self) -> int:
        return sum(i.sent for i in self.issues)

    @property
    def failed(self) -> int:
        return sum(i.failed for i in self.issues)

    @property
    def pending(self) -> int:
        return sum(i.pending for i in self.issues)

    @property
    def rejected(self) -> list[tuple[str, str]]:
        return [r for i in self.issues for r in i.rejected]

    def summary(self) -> str:
        if self.dry_run:
            return "dry run: nothing was sent or written"
        if self.outbox_path is not None:
            return (
                f"written {self.outbox} message{'s' if self.outbox != 1 else ''} to the outbox "
                f"{self.outbox_path} – nothing was sent; set NEWSDESK_SMTP_HOST to send"
            )
        return f"sent {self.sent}, failed {self.failed}, pending {self.pending}"

    @property
    def exit_code(self) -> int:
        """0 when every delivery ended, 75 (EX_TEMPFAIL) when some wait for the next run,
        1 for a configuration error or an issue the strict build refuses."""
        if self.fatal or self.refused:
            return 1
        if self.pending or self.held or self.interrupted:
            return 75
        return 0


Progress = Callable[[str, int, int], None]


def _worker(
    make: Callable[[], Transport],
    jobs: queue.Queue[_Job | None],
    results: queue.Queue[_Outcome],
    stop: threading.Event,
    limiter: RateLimiter,
    delays: Sequence[float],
) -> None:
    transport: Transport | None = None
    try:
        while True:
            job = jobs.get()
            if job is None:
                return
            attempt = 0
            while True:
                try:
                    if transport is None:
                        transport = make()
                    limiter.wait(stop)
                    transport.send(job.envelope_from, job.email, job.data)
                    results.put(_Outcome(job, "sent"))
                    break
                except DeliveryError as exc:
                    if exc.kind == "permanent":
                        results.put(_Outcome(job, "failed", exc.message, bounce=exc.bounce))
                        break
                    if exc.kind == "fatal":
                        results.put(_Outcome(job, "fatal", exc.message))
                        break
                    if attempt >= len(delays) or stop.is_set():
                        results.put(_Outcome(job, "pending", exc.message, connect=exc.connect))
                        break
                    stop.wait(delays[attempt])
                    attempt += 1
                    if stop.is_set():
                        results.put(_Outcome(job, "pending", exc.message))
                        break
                except Exception as exc:  # a bug or an odd failure: keep the job pending
                    results.put(_Outcome(job, "pending", f"{type(exc).__name__}: {exc}"))
                    if transport is not None:
                        transport.close()
                        transport = None
                    break
    finally:
        if transport is not None:
            transport.close()


def deliver_issue(
    store: Store,
    prepared: PreparedMessage,
    *,
    secret: bytes,
    make_transport: Callable[[], Transport],
    connections: int = 1,
    rate: float = 0,
    bounce_address: str | None = None,
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> IssueReport:
    """Send an already started issue to its open deliveries; record each outcome."""
    stop = stop or threading.Event()
    slug = prepared.slug
    report = IssueReport(slug)
    todo = store.open_deliveries(slug)
    counts = next((c for c in store.issue_counts() if c.slug == slug), None)
    report.recipients = counts.recipients if counts else len(todo)
    done_before = (counts.sent + counts.failed + counts.skipped) if counts else 0
    if not todo:
        store.finish_issue(slug)
        return report
    jobs: queue.Queue[_Job | None] = queue.Queue()
    results: queue.Queue[_Outcome] = queue.Queue()
    limiter = RateLimiter(rate)
    abort = threading.Event()  # workers stop retrying: interrupted, or a fatal error
    n = max(1, min(connections, len(todo)))
    threads = [
        threading.Thread(
            target=_worker,
            args=(make_transport, jobs, results, abort, limiter, retry_delays),
            name=f"newsdesk-smtp-{i}",
            daemon=True,
        )
        for i in range(n)
    ]
    for t in threads:
        t.start()
    bounce_local, _, bounce_domain = (bounce_address or "").rpartition("@")
    pending_iter = iter(todo)
    in_flight = 0
    halted = False
    done = done_before

    def dispatch() -> None:
        nonlocal in_flight, done
        while in_flight < n and not halted and not abort.is_set() and not stop.is_set():
            d = next(pending_iter, None)
            if d is None:
                return
            status = store.subscriber_status(d.subscriber_id)
            if status != "active":
                store.mark(slug, d.subscriber_id, "skipped", f"{status} before delivery")
                report.skipped += 1
                done += 1
                continue
            token = make_token(secret, "unsubscribe", d.subscriber_id)
            try:
                data = prepared.personalise(Recipient(d.subscriber_id, d.email, d.name), token)
            except HeaderError as exc:  # an address stored before it was checked this well
                store.mark(slug, d.subscriber_id, "failed", str(exc))
                report.failed += 1
                report.rejected.append((d.email, str(exc)))
                done += 1
                continue
            envelope = prepared.envelope_from
            if bounce_domain:
                vtoken = make_token(secret, "bounce", d.subscriber_id)
                envelope = f"{bounce_local}+{vtoken}@{bounce_domain}"
            store.mark(slug, d.subscriber_id, "sending", attempt=True)
            jobs.put(_Job(d.subscriber_id, d.email, envelope, data))
            in_flight += 1

    try:
        dispatch()
        while in_flight:
            try:
                outcome = results.get(timeout=0.2)
            except queue.Empty:
                if stop.is_set():
                    abort.set()
                continue
            if stop.is_set():
                abort.set()
            in_flight -= 1
            sid = outcome.job.subscriber_id
            if outcome.state == "sent":
                store.mark(slug, sid, "sent")
                report.sent += 1
                done += 1
            elif outcome.state == "failed":
                store.mark(slug, sid, "failed", outcome.error)
                report.failed += 1
                report.rejected.append((outcome.job.email, outcome.error))
                done += 1
                if outcome.bounce:
                    store.set_status(sid, "bounced", "bounce", f"{slug}: {outcome.error}")
            else:
                store.mark(slug, sid, "pending", outcome.error)
                if outcome.state == "fatal":
                    halted = True
                    report.fatal = outcome.error
                    abort.set()
                elif outcome.connect:
                    halted = True
                    report.note = outcome.error
            if progress:
                progress(slug, done, report.recipients)
            dispatch()
    finally:
        if sys.exc_info()[0] is not None:  # a second Ctrl+C or a crash: stop retrying
            abort.set()
        for _ in threads:
            jobs.put(None)
        for t in threads:
            t.join(timeout=60)
    report.pending = len(store.open_deliveries(slug))
    store.finish_issue(slug)
    return report


def rehearse_issue(
    store: Store,
    prepared: PreparedMessage,
    outbox: Path,
    *,
    secret: bytes,
    progress: Progress | None = None,
) -> IssueReport:
    """Write an issue's message for each active subscriber into the Maildir ``outbox``.

    A rehearsal for when no SMTP server is configured: each copy is recorded as an outbox
    copy, never as a delivery, so a subscriber gets one copy per issue in the outbox and,
    once SMTP is configured, the issue still goes to everyone.
    """
    report = IssueReport(prepared.slug)
    todo = store.outbox_recipients(prepared.slug)
    report.recipients = len(todo)
    if not todo:
        return report
    box = OutboxTransport(outbox)
    for n, sub in enumerate(todo, 1):
        token = make_token(secret, "unsubscribe", sub.id)
        try:
            data = prepared.personalise(Recipient(sub.id, sub.email, sub.name), token)
        except HeaderError as exc:
            report.rejected.append((sub.email, str(exc)))
            report.failed += 1
            continue
        box.send(prepared.envelope_from, sub.email, data)
        store.record_outbox_copy(prepared.slug, sub.id)
        report.outbox += 1
        if progress:
            progress(prepared.slug, n, len(todo))
    return report


def _rehearse(
    settings: Settings,
    store: Store,
    plan: Plan,
    report: SendReport,
    *,
    secret: bytes,
    progress: Progress | None,
) -> None:
    """No SMTP server: write the planned issues to the outbox (see :func:`rehearse_issue`)."""
    active = store.counts()["active"]
    for r in plan.send:
        if not active:
            report.notes.append(f"{r.slug}: not sent: there are no active subscribers")
            continue
        prepared = prepare_message(
            r,
            settings.email,
            newsletter_name=settings.newsletter_name,
            site_url=settings.site_url,
            overrides=settings.template_overrides,
        )
        report.warnings += prepared.warnings
        issue = rehearse_issue(
            store, prepared, settings.email.outbox, secret=secret, progress=progress
        )
        if not issue.recipients:
            report.notes.append(
                f"{r.slug}: every active subscriber has a copy in the outbox already"
            )
        report.issues.append(issue)


def send_issues(
    settings: Settings,
    store: Store,
    renderings: Sequence[IssueRendering],
    *,
    secret: bytes,
    only: str | None = None,
    dry_run: bool = False,
    live_check: bool | None = None,
    make_transport: Callable[[], Transport] | None = None,
    connections: int | None = None,
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
    today: dt.date | None = None,
) -> SendReport:
    """Deliver every new issue (or ``only``) to its recipients; see :func:`plan_issues`."""
    stop = stop or threading.Event()
    report = SendReport()
    plan = plan_issues(store, renderings, only=only, today=today)
    report.notes += plan.notes
    smtp = settings.email.smtp
    rehearsal = make_transport is None and not smtp.host
    refused = [r for r in plan.send if r.problems]
    for r in refused:
        report.refused.append(r.slug)
        report.notes.append(
            f"{r.slug}: not sent: the strict build does not accept it; fix these first:\n"
            + "\n".join(f"  {p}" for p in r.problems)
        )
    plan.send = [r for r in plan.send if not r.problems]
    if rehearsal:
        report.outbox_path = settings.relative(settings.email.outbox) + "/"
        if not dry_run:
            _rehearse(settings, store, plan, report, secret=secret, progress=progress)
            return report
    if not dry_run:
        report.warnings += identity_warnings(settings.email)
    if make_transport is None:
        make_transport, default_connections = transport_factory(settings)
    else:
        default_connections = max(1, smtp.connections)
    connections = connections or default_connections
    if live_check is None:
        live_check = settings.email.live_check
    live_check = live_check and bool(smtp.host)
    if dry_run:
        report.dry_run = True
        active = store.counts()["active"]
        for r in plan.archive:
            report.notes.append(f"{r.slug}: would be archived")
        for r in plan.send:
            rec = store.issue(r.slug)
            if rec is not None and rec.state == "sending":
                waiting = len(store.open_deliveries(r.slug))
                report.notes.append(f"{r.slug}: would continue, {waiting} deliveries open")
            elif rehearsal:
                waiting = len(store.outbox_recipients(r.slug))
                report.notes.append(f"{r.slug}: would be written to the outbox for {waiting}")
            else:
                report.notes.append(f"{r.slug}: would be sent to {active} active subscribers")
        return report
    for r in plan.archive:
        store.archive_issue(r.slug, r.number, r.title, r.date.isoformat(), r.url)
    for r in plan.send:
        if stop.is_set():
            report.interrupted = True
            break
        if live_check:
            problem = check_live(r.url)
            if problem:
                report.held.append(r.slug)
                report.notes.append(
                    f"{r.slug}: not sent: the issue is not online yet ({problem}); deploy the "
                    "site first, or use --no-live-check"
                )
                continue
        recipients = store.start_issue(
            r.slug, r.number, r.title, r.date.isoformat(), r.url, r.content_hash
        )
        if not recipients:
            report.notes.append(f"{r.slug}: not sent: there are no active subscribers")
            continue
        prepared = prepare_message(
            r,
            settings.email,
            newsletter_name=settings.newsletter_name,
            site_url=settings.site_url,
            overrides=settings.template_overrides,
        )
        report.warnings += prepared.warnings
        issue_report = deliver_issue(
            store,
            prepared,
            secret=secret,
            make_transport=make_transport,
            connections=connections,
            rate=smtp.rate if smtp.host else 0,
            bounce_address=settings.email.bounce_address,
            retry_delays=retry_delays,
            stop=stop,
            progress=progress,
        )
        report.issues.append(issue_report)
        if issue_report.fatal:
            report.fatal = issue_report.fatal
            break
        if issue_report.note:
            report.notes.append(f"{r.slug}: stopped early: {issue_report.note}")
            break
        if stop.is_set():
            report.interrupted = True
            break
    return report


class SendLocked(NewsdeskError):
    """Another ``send`` is running on the same database."""


@contextlib.contextmanager
def send_lock(database: Path) -> Iterator[None]:
    """Hold an exclusive lock beside the database while sending.

    Two overlapping runs (a slow send and the next cron job) would otherwise both send
    the pending deliveries. The lock file sits beside the database's real path (symbolic
    links resolved), so every spelling of the path – relative, through a symlink to the
    file or to a folder above it – takes the same lock. The kernel releases the lock when
    the process dies, even by ``kill -9``.
    """
    real = database.resolve()
    path = real.with_name(real.name + ".send-lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SendLocked(
                "another 'newsdesk send' is running on this database; try again when it ends",
                path,
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def deliver_new_issues(
    settings: Settings,
    renderings: Sequence[IssueRendering],
    **options: object,
) -> SendReport:
    """Open the database and the secret for ``settings`` and run :func:`send_issues`,
    holding :func:`send_lock` (raises :class:`SendLocked` when another run holds it).

    The entry point for front ends (the CLI, ``email.send_on_build`` in the plugin);
    ``options`` are those of :func:`send_issues`.
    """
    from newsdesk.mail.tokens import load_secret

    secret = load_secret(settings.state_dir)
    database = settings.email.database
    with send_lock(database), Store.open(database, display=settings.relative(database)) as store:
        return send_issues(settings, store, renderings, secret=secret, **options)  # type: ignore[arg-type]
