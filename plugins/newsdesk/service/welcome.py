"""The welcome a subscriber gets when they confirm (``email.welcome``).

- ``latest`` (the default): the newest issue already mailed to the list (in the ledger as
  ``sent`` or ``sending``; without SMTP, rehearsed into the outbox), with a welcome line
  above it. An issue that was never mailed is left to the next ``newsdesk send``, which
  sends it to everyone active then, this new subscriber included: the welcome does not
  start an issue (that would skip the first run's archiving of the back catalogue, the
  check that the issue is online, and the build's verdict). Someone who had that issue
  already (they come back after leaving) gets the ``note`` instead, as does everyone when
  no issue was mailed yet.
- ``note``: a short welcome and a link to the archive of past issues.
- ``off``: nothing.

The welcome delivery of an issue is a delivery of that issue in the ledger, so
``newsdesk send`` never sends it to the same person again. It is sent holding the send
lock (no ``send`` runs meanwhile) and committed like ``send`` does it: ``sending``
before the message is handed to SMTP, ``sent`` after. Unlike ``send``, the welcome never
tries again: an attempt that failed, or that a crash interrupted between the two (the
row is still ``sending``, marked ``welcome in flight``), becomes ``failed``, as the message
may have arrived (see :meth:`newsdesk.mail.store.Store.settle_interrupted_welcomes`).
A reader may miss the welcome copy; nobody gets two.

Without SMTP, the welcome goes to the outbox like everything else, recorded as an outbox
copy (a rehearsal), never as a delivery.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urljoin

from newsdesk.errors import NewsdeskError
from newsdesk.mail.headers import (
    HeaderError,
    parse_mailbox,
    structured_header,
    text_header,
)
from newsdesk.mail.lock import SendLocked, send_lock
from newsdesk.mail.render import (
    Recipient,
    issue_message,
    notice_headers,
    plain_message,
    unsubscribe_links,
)
from newsdesk.mail.store import Store, Subscriber
from newsdesk.mail.tokens import make_token, verp_address
from newsdesk.mail.transports import (
    DeliveryError,
    OutboxTransport,
    Transport,
    transport_factory,
)
from newsdesk.rendering import IssueRendering, read_renderings
from newsdesk.settings import Settings

log = logging.getLogger("newsdesk.service")

MODES = ("latest", "note", "off")
LOCK_WAIT = 10.0
"""Seconds the welcome waits for a running ``newsdesk send`` before it sends the note."""


def welcome_line(settings: Settings) -> str:
    """The line above the issue in a welcome."""
    return (
        f"Welcome to {settings.newsletter_name}! Your subscription is confirmed. Here is "
        "the latest issue; the next ones will come as they appear."
    )


def welcome(
    settings: Settings,
    secret: bytes,
    subscriber_id: int,
    *,
    renderings: Sequence[IssueRendering] | None = None,
    make_transport: Callable[[], Transport] | None = None,
    today: dt.date | None = None,
    lock_wait: float = LOCK_WAIT,
) -> str:
    """Welcome a subscriber who just confirmed; what was done, for the log: ``off``,
    ``issue SLUG``, ``note``, ``outbox issue SLUG``, ``outbox note`` or ``nothing`` (they
    are no longer active).

    ``renderings`` default to the last build's; ``make_transport`` to the configured
    transport (SMTP, else the outbox). Raises :class:`DeliveryError` when the message
    could not be handed over (the ledger says so), :class:`NewsdeskError` for a damaged
    database or rendering.
    """
    mode = settings.email.welcome
    if mode == "off":
        return "off"
    if mode not in MODES:
        raise NewsdeskError(f"email.welcome: unknown value {mode!r} ({', '.join(MODES)})")
    rehearsal = make_transport is None and not settings.email.smtp.host
    if make_transport is None:
        make_transport, _ = transport_factory(settings)
    issues: Sequence[IssueRendering] = ()
    if mode == "latest":
        if renderings is None:
            try:
                renderings = read_renderings(settings.state_dir, root=settings.root)
            except NewsdeskError as exc:
                log.error("welcome: the renderings cannot be read (%s); sending the note", exc)
                renderings = ()
        today = today or dt.date.today()
        issues = [r for r in renderings if r.date <= today and not r.draft and not r.problems]
    database = settings.email.database
    job = _Welcome(settings, secret, subscriber_id, issues, make_transport)
    if rehearsal:
        with Store.open(database, must_exist=True) as store:
            return job.rehearse(store)
    deadline = time.monotonic() + lock_wait
    while True:
        try:
            with send_lock(database), Store.open(database, must_exist=True) as store:
                return job.deliver(store)
        except SendLocked:
            if time.monotonic() >= deadline:
                break
            time.sleep(0.5)
    log.warning("welcome: a 'newsdesk send' is running; sending the note instead of an issue")
    with Store.open(database, must_exist=True) as store:
        return replace(job, issues=()).deliver(store, locked=False)


def _newest_mailed(
    store: Store, issues: Sequence[IssueRendering], *, outbox: bool
) -> IssueRendering | None:
    """The newest of ``issues`` mailed to the list (or, with ``outbox``, rehearsed)."""
    mailed = {rec.slug for rec in store.issues() if rec.state in ("sent", "sending")}
    if outbox:
        mailed |= set(store.outbox_counts())
    return next((r for r in reversed(issues) if r.slug in mailed), None)


@dataclass(frozen=True)
class _Welcome:
    """One subscriber's welcome: who, the list's secret, the candidate issues (the newest
    one mailed to the list is sent), and how to hand the message over."""

    settings: Settings
    secret: bytes
    subscriber_id: int
    issues: Sequence[IssueRendering]
    make_transport: Callable[[], Transport]

    def _active(self, store: Store) -> Subscriber | None:
        """The subscriber, if still active."""
        sub = store.get(self.subscriber_id)
        return sub if sub is not None and sub.status == "active" else None

    def deliver(self, store: Store, *, locked: bool = True) -> str:
        """Deliver the welcome over SMTP. With ``issues`` (the candidates), ``locked`` must
        be true: the send lock is held, so no other welcome or ``send`` is in flight."""
        settings, secret, make_transport = self.settings, self.secret, self.make_transport
        if locked:
            store.settle_interrupted_welcomes()
        sub = self._active(store)
        if sub is None:
            return "nothing"
        issue = _newest_mailed(store, self.issues, outbox=False)
        if issue is not None:
            prepared = issue_message(settings, issue, welcome=welcome_line(settings))
            try:
                data = prepared.personalise(_recipient(sub), _token(secret, sub))
            except HeaderError as exc:
                raise DeliveryError("permanent", str(exc)) from None
            if store.claim_welcome_delivery(issue.slug, sub.id):
                envelope = _envelope(settings, secret, sub, prepared.envelope_from)
                try:
                    _hand_over(make_transport, envelope, sub.email, data)
                except Exception as exc:
                    why = exc.message if isinstance(exc, DeliveryError) else repr(exc)
                    store.mark(
                        issue.slug,
                        sub.id,
                        "failed",
                        f"welcome not delivered, or not confirmed ({why}); not sent again",
                    )
                    raise
                store.mark(issue.slug, sub.id, "sent")
                return f"issue {issue.slug}"
        data = note(settings, sub, secret)
        _hand_over(make_transport, _envelope(settings, secret, sub), sub.email, data)
        return "note"

    def rehearse(self, store: Store) -> str:
        """Write the welcome into the outbox (no SMTP server), recorded as an outbox copy."""
        settings, secret = self.settings, self.secret
        sub = self._active(store)
        if sub is None:
            return "nothing"
        box = OutboxTransport(settings.email.outbox)
        issue = _newest_mailed(store, self.issues, outbox=True)
        if issue is not None and sub.id not in {s.id for s in store.outbox_recipients(issue.slug)}:
            issue = None  # they have a copy already
        if issue is not None:
            prepared = issue_message(settings, issue, welcome=welcome_line(settings))
            data = prepared.personalise(_recipient(sub), _token(secret, sub))
            box.send(prepared.envelope_from, sub.email, data)
            store.record_outbox_copy(issue.slug, sub.id)
            return f"outbox issue {issue.slug}"
        box.send(_envelope(settings, secret, sub), sub.email, note(settings, sub, secret))
        return "outbox note"


def _hand_over(
    make_transport: Callable[[], Transport], envelope: str, recipient: str, data: bytes
) -> None:
    transport = make_transport()
    try:
        transport.send(envelope, recipient, data)
    finally:
        transport.close()


def _recipient(sub: Subscriber) -> Recipient:
    return Recipient(sub.id, sub.email, sub.name)


def _token(secret: bytes, sub: Subscriber) -> str:
    return make_token(secret, "unsubscribe", sub.id)


def _envelope(settings: Settings, secret: bytes, sub: Subscriber, default: str = "") -> str:
    """The envelope sender: VERP as ``send`` does it when ``email.bounce_address`` is set."""
    bounce = settings.email.bounce_address
    if bounce:
        return verp_address(bounce, secret, sub.id)
    return default or parse_mailbox(settings.email.from_)[1]


def note(settings: Settings, sub: Subscriber, secret: bytes) -> bytes:
    """The welcome without an issue: a line, the archive, the unsubscribe link (CRLF)."""
    name = settings.newsletter_name
    links = unsubscribe_links(settings.email, _token(secret, sub))
    targets = [u for u in (links.unsubscribe_url, links.unsubscribe_mailto) if u]
    archive = urljoin(settings.site_url, "issues/")
    headers = [
        *notice_headers(settings.email, sub.name, sub.email, f"Welcome to {name}", "welcome"),
        text_header("List-Id", settings.email.list_id) if settings.email.list_id else b"",
        structured_header("List-Archive", f"<{archive}>"),
        structured_header("List-Unsubscribe", ", ".join(f"<{u}>" for u in targets))
        if targets
        else b"",
        structured_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
        if links.unsubscribe_url
        else b"",
    ]
    greeting = f"Hello {sub.name}," if sub.name else "Hello,"
    text = (
        f"{greeting}\n\n"
        f"welcome to {name}! Your subscription is confirmed: each new issue will come to "
        f"{sub.email}.\n\n"
        f"Past issues are in the archive:\n{archive}\n\n"
        f"-- \nUnsubscribe: {links.footer_url}\n{name}\n{settings.site_url}\n"
        + (f"{settings.email.postal_address}\n" if settings.email.postal_address else "")
    )
    return plain_message(headers, text)
