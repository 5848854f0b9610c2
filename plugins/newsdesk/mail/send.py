"""Delivering issues: one message per subscriber over SMTP or into a Maildir outbox,
recorded in the ledger message by message. The orchestration; its parts live in
:mod:`.plan` (which issues), :mod:`.transports` (SMTP and the outbox), :mod:`.pool`
(workers, retries, rate limit), :mod:`.lock` and :mod:`.live` (the online check).

Crash safety: before a message is handed to a connection its delivery is committed as
``sending``; when the server has accepted it, as ``sent``. A run after a crash sends the
``pending`` and ``sending`` ones, so at most the messages in flight (one per connection)
may arrive twice, and none is lost. The main thread owns the database; worker threads
each own one SMTP connection, reused for many messages.
"""

from __future__ import annotations

import datetime as dt
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsdesk.errors import EX_ERROR, EX_OK, EX_TEMPFAIL
from newsdesk.mail.headers import HeaderError
from newsdesk.mail.live import check_live
from newsdesk.mail.lock import SendLocked, send_lock
from newsdesk.mail.plan import Plan, plan_issues
from newsdesk.mail.pool import Job, Outcome, RateLimiter, worker
from newsdesk.mail.render import (
    PreparedMessage,
    Recipient,
    identity_warnings,
    issue_message,
)
from newsdesk.mail.store import Delivery, Store
from newsdesk.mail.tokens import make_token, verp_address
from newsdesk.mail.transports import (
    CA_SETTING,
    DeliveryError,
    OutboxTransport,
    SmtpTransport,
    Transport,
    check_smtp,
    transport_factory,
)
from newsdesk.rendering import IssueRendering
from newsdesk.settings import Settings

__all__ = [
    "CA_SETTING",
    "DEFAULT_RETRY_DELAYS",
    "DeliveryError",
    "IssueReport",
    "OutboxTransport",
    "Plan",
    "SendLocked",
    "SendReport",
    "SmtpTransport",
    "Transport",
    "check_live",
    "check_smtp",
    "deliver_issue",
    "deliver_new_issues",
    "plan_issues",
    "rehearse_issue",
    "send_issues",
    "send_lock",
    "transport_factory",
]

DEFAULT_RETRY_DELAYS = (1.0, 4.0, 15.0)


# -- delivering one issue --------------------------------------------------------------------


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
            return EX_ERROR
        if self.pending or self.held or self.interrupted:
            return EX_TEMPFAIL
        return EX_OK


Progress = Callable[[str, int, int], None]


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
    jobs: queue.Queue[Job | None] = queue.Queue()
    results: queue.Queue[Outcome] = queue.Queue()
    limiter = RateLimiter(rate)
    abort = threading.Event()  # workers stop retrying: interrupted, or a fatal error
    n = max(1, min(connections, len(todo)))
    threads = [
        threading.Thread(
            target=worker,
            args=(make_transport, jobs, results, abort, limiter, retry_delays),
            name=f"newsdesk-smtp-{i}",
            daemon=True,
        )
        for i in range(n)
    ]
    for t in threads:
        t.start()
    bounce_domain = (bounce_address or "").rpartition("@")[2]
    pending_iter = iter(todo)
    in_flight = 0
    halted = False
    done = done_before

    # The next delivery, personalised (and signed) while the connections talk, so that
    # this CPU time overlaps the SMTP round trips instead of adding to them.
    ahead: list[tuple[Delivery, bytes | None]] = []

    def personalise(d: Delivery) -> bytes:
        token = make_token(secret, "unsubscribe", d.subscriber_id)
        return prepared.personalise(Recipient(d.subscriber_id, d.email, d.name), token)

    def dispatch() -> None:
        nonlocal in_flight, done
        while in_flight < n and not halted and not abort.is_set() and not stop.is_set():
            d, data = ahead.pop() if ahead else (next(pending_iter, None), None)
            if d is None:
                return
            status = store.subscriber_status(d.subscriber_id)
            if status != "active":
                store.mark(slug, d.subscriber_id, "skipped", f"{status} before delivery")
                report.skipped += 1
                done += 1
                continue
            try:
                data = data if data is not None else personalise(d)
            except HeaderError as exc:  # an address stored before it was checked this well
                store.mark(slug, d.subscriber_id, "failed", str(exc))
                report.failed += 1
                report.rejected.append((d.email, str(exc)))
                done += 1
                continue
            envelope = prepared.envelope_from
            if bounce_domain:
                envelope = verp_address(bounce_address or "", secret, d.subscriber_id)
            store.mark(slug, d.subscriber_id, "sending", attempt=True)
            jobs.put(Job(d.subscriber_id, d.email, envelope, data))
            in_flight += 1
        if not ahead and not halted and not abort.is_set() and not stop.is_set():
            d = next(pending_iter, None)
            if d is not None:
                try:
                    ahead.append((d, personalise(d)))
                except HeaderError:
                    ahead.append((d, None))  # refused again, and recorded, when its turn comes

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
        prepared = issue_message(settings, r)
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
    preflight: Callable[[IssueRendering], list[tuple[str, str]]] | None = None,
) -> SendReport:
    """Deliver every new issue (or ``only``) to its recipients; see :func:`plan_issues`.

    ``preflight`` (``newsdesk check``'s offline checks) gives ``(severity, text)`` findings
    per issue before it is mailed over SMTP: warnings are reported, errors hold it back.
    """
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
    # A welcome (newsdesk serve) that crashed mid-delivery is never retried here.
    store.settle_interrupted_welcomes()
    for r in plan.send:
        if stop.is_set():
            report.interrupted = True
            break
        if preflight is not None:
            findings = preflight(r)
            report.warnings += [text for severity, text in findings if severity == "warning"]
            errors = [text for severity, text in findings if severity == "error"]
            if errors:
                report.refused.append(r.slug)
                report.notes.append(
                    f"{r.slug}: not sent: the pre-flight check found errors (newsdesk check "
                    f"{r.slug}); fix them, or use --no-check:\n"
                    + "\n".join(f"  {e}" for e in errors)
                )
                continue
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
        prepared = issue_message(settings, r)
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
