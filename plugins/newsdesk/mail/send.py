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
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsdesk.errors import EX_ERROR, EX_OK, EX_TEMPFAIL
from newsdesk.mail.headers import HeaderError
from newsdesk.mail.live import check_live
from newsdesk.mail.lock import SendLocked, send_lock
from newsdesk.mail.plan import Plan, dry_run_notes, plan_issues
from newsdesk.mail.pool import Job, Outcome, WorkerPool
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
    """What a run did with one issue."""

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


class _Total:
    """A count of :class:`SendReport`: the same count of its issues, summed."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, report: SendReport, owner: type | None = None) -> int:
        return sum(getattr(issue, self.name) for issue in report.issues)


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

    outbox = _Total()
    sent = _Total()
    failed = _Total()
    pending = _Total()

    def refuse(self, slug: str, why: str, problems: Sequence[str]) -> None:
        """Note that issue ``slug`` is not sent, ``why``, and each of its ``problems``."""
        self.refused.append(slug)
        self.notes.append(f"{slug}: not sent: {why}:\n" + "\n".join(f"  {p}" for p in problems))

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
    slug = prepared.slug
    report = IssueReport(slug)
    todo = store.open_deliveries(slug)
    counts = next((c for c in store.issue_counts() if c.slug == slug), None)
    report.recipients = counts.recipients if counts else len(todo)
    if not todo:
        store.finish_issue(slug)
        return report
    size = max(1, min(connections, len(todo)))
    with WorkerPool(make_transport, size, rate=rate, delays=retry_delays) as pool:
        _IssueRun(
            store,
            prepared,
            pool,
            report,
            secret=secret,
            bounce_address=bounce_address,
            stop=stop or threading.Event(),
            done=(counts.sent + counts.failed + counts.skipped) if counts else 0,
        ).run(todo, progress)
    report.pending = len(store.open_deliveries(slug))
    store.finish_issue(slug)
    return report


class _IssueRun:
    """One issue's deliveries through a :class:`WorkerPool`: each open delivery is checked
    (is the subscriber still active?), personalised, committed as ``sending`` and handed
    to a connection; each outcome is recorded in the ledger and in the report."""

    def __init__(
        self,
        store: Store,
        prepared: PreparedMessage,
        pool: WorkerPool,
        report: IssueReport,
        *,
        secret: bytes,
        bounce_address: str | None,
        stop: threading.Event,
        done: int,
    ):
        self.store = store
        self.prepared = prepared
        self.slug = prepared.slug
        self.pool = pool
        self.report = report
        self.secret = secret
        self.bounce_address = bounce_address or ""
        self.verp = bool(self.bounce_address.rpartition("@")[2])
        self.stop = stop
        self.in_flight = 0
        self.done = done
        """Deliveries that ended (this run's and earlier runs'), for ``progress``."""
        self.halted = False
        """The server cannot be reached, or a fatal error: hand over no more."""
        self.pending: Iterator[Delivery] = iter(())
        # The next delivery, personalised (and signed) while the connections talk, so that
        # this CPU time overlaps the SMTP round trips instead of adding to them.
        self.ahead: list[tuple[Delivery, bytes | None]] = []

    def run(self, todo: list[Delivery], progress: Progress | None) -> None:
        """Deliver ``todo`` until all ended, the server fails or ``stop`` is set."""
        self.pending = iter(todo)
        self.dispatch()
        while self.in_flight:
            outcome = self.pool.next_outcome(0.2)
            if self.stop.is_set():
                self.pool.abort.set()
            if outcome is None:
                continue
            self.in_flight -= 1
            self.record(outcome)
            if progress:
                progress(self.slug, self.done, self.report.recipients)
            self.dispatch()

    def going(self) -> bool:
        """Whether to hand over more: not halted, aborted or stopped."""
        return not self.halted and not self.pool.abort.is_set() and not self.stop.is_set()

    def personalise(self, d: Delivery) -> bytes:
        token = make_token(self.secret, "unsubscribe", d.subscriber_id)
        return self.prepared.personalise(Recipient(d.subscriber_id, d.email, d.name), token)

    def dispatch(self) -> None:
        """Fill the idle connections, then personalise the next delivery ahead."""
        store, slug = self.store, self.slug
        while self.in_flight < self.pool.size and self.going():
            d, data = self.ahead.pop() if self.ahead else (next(self.pending, None), None)
            if d is None:
                return
            status = store.subscriber_status(d.subscriber_id)
            if status != "active":
                self.ended(d.subscriber_id, d.email, "skipped", f"{status} before delivery")
                continue
            try:
                data = data if data is not None else self.personalise(d)
            except HeaderError as exc:  # an address stored before it was checked this well
                self.ended(d.subscriber_id, d.email, "failed", str(exc))
                continue
            envelope = self.prepared.envelope_from
            if self.verp:
                envelope = verp_address(self.bounce_address, self.secret, d.subscriber_id)
            store.mark(slug, d.subscriber_id, "sending", attempt=True)
            self.pool.jobs.put(Job(d.subscriber_id, d.email, envelope, data))
            self.in_flight += 1
        if not self.ahead and self.going():
            d = next(self.pending, None)
            if d is not None:
                try:
                    self.ahead.append((d, self.personalise(d)))
                except HeaderError:
                    self.ahead.append((d, None))  # refused again, and recorded, when its turn comes

    def ended(self, subscriber_id: int, email: str, state: str, detail: str = "") -> None:
        """Record a delivery that ended: ``sent``, ``failed`` or ``skipped``."""
        self.store.mark(self.slug, subscriber_id, state, detail)
        self.done += 1
        if state == "sent":
            self.report.sent += 1
        elif state == "failed":
            self.report.failed += 1
            self.report.rejected.append((email, detail))
        else:
            self.report.skipped += 1

    def record(self, outcome: Outcome) -> None:
        """Record what a connection did with a job."""
        sid = outcome.job.subscriber_id
        if outcome.state in ("sent", "failed"):
            self.ended(sid, outcome.job.email, outcome.state, outcome.error)
            if outcome.bounce:  # the server refused the address: a hard bounce
                detail = f"{self.slug}: {outcome.error}"
                self.store.record_bounce(sid, hard=True, detail=detail, soft_limit=1)
            return
        self.store.mark(self.slug, sid, "pending", outcome.error)
        if outcome.state == "fatal":
            self.halted = True
            self.report.fatal = outcome.error
            self.pool.abort.set()
        elif outcome.connect:
            self.halted = True
            self.report.note = outcome.error


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
    for r in plan.take_refused():
        report.refuse(r.slug, "the strict build does not accept it; fix these first", r.problems)
    smtp = settings.email.smtp
    rehearsal = make_transport is None and not smtp.host
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
    if dry_run:
        report.dry_run = True
        report.notes += dry_run_notes(store, plan, rehearsal=rehearsal)
        return report
    live = (settings.email.live_check if live_check is None else live_check) and bool(smtp.host)
    connections = connections or default_connections
    sender = _Sender(
        settings, store, secret, make_transport, connections, retry_delays, stop, progress
    )
    sender.archive(plan.archive)
    for r in plan.send:
        if stop.is_set():
            report.interrupted = True
            break
        if _cleared(r, report, preflight, live) and not sender.send(r, report):
            break
    return report


def _cleared(
    r: IssueRendering,
    report: SendReport,
    preflight: Callable[[IssueRendering], list[tuple[str, str]]] | None,
    live_check: bool,
) -> bool:
    """Whether issue ``r`` may be mailed: the pre-flight check found no errors and (with
    ``live_check``) the issue is online. What holds it back is noted in ``report``."""
    if preflight is not None:
        findings = preflight(r)
        report.warnings += [text for severity, text in findings if severity == "warning"]
        errors = [text for severity, text in findings if severity == "error"]
        if errors:
            why = (
                f"the pre-flight check found errors (newsdesk check {r.slug}); fix them, "
                "or use --no-check"
            )
            report.refuse(r.slug, why, errors)
            return False
    problem = check_live(r.url) if live_check else None
    if problem:
        report.held.append(r.slug)
        report.notes.append(
            f"{r.slug}: not sent: the issue is not online yet ({problem}); deploy the "
            "site first, or use --no-live-check"
        )
        return False
    return True


@dataclass
class _Sender:
    """How :func:`send_issues` mails each issue it cleared, one after the other."""

    settings: Settings
    store: Store
    secret: bytes
    make_transport: Callable[[], Transport]
    connections: int
    retry_delays: Sequence[float]
    stop: threading.Event
    progress: Progress | None

    def archive(self, issues: Sequence[IssueRendering]) -> None:
        """Record the back catalogue as never to be mailed; settle crashed welcomes."""
        for r in issues:
            self.store.archive_issue(r.slug, r.number, r.title, r.date.isoformat(), r.url)
        # A welcome (newsdesk serve) that crashed mid-delivery is never retried here.
        self.store.settle_interrupted_welcomes()

    def send(self, r: IssueRendering, report: SendReport) -> bool:
        """Start issue ``r`` in the ledger and deliver it; false when the run must stop."""
        recipients = self.store.start_issue(
            r.slug, r.number, r.title, r.date.isoformat(), r.url, r.content_hash
        )
        if not recipients:
            report.notes.append(f"{r.slug}: not sent: there are no active subscribers")
            return True
        prepared = issue_message(self.settings, r)
        report.warnings += prepared.warnings
        smtp = self.settings.email.smtp
        issue = deliver_issue(
            self.store,
            prepared,
            secret=self.secret,
            make_transport=self.make_transport,
            connections=self.connections,
            rate=smtp.rate if smtp.host else 0,
            bounce_address=self.settings.email.bounce_address,
            retry_delays=self.retry_delays,
            stop=self.stop,
            progress=self.progress,
        )
        report.issues.append(issue)
        if issue.fatal:
            report.fatal = issue.fatal
        elif issue.note:
            report.notes.append(f"{r.slug}: stopped early: {issue.note}")
        elif self.stop.is_set():
            report.interrupted = True
        else:
            return True
        return False


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
