"""Double opt-in: the signed confirmation link and the email that carries it.

A confirmation token is an HMAC token (:mod:`newsdesk.mail.tokens`, purpose ``confirm``)
that expires after :data:`CONFIRM_DAYS` days. Its subject is the subscriber's id and the
number of status changes recorded for them when the link was sent: once their status has
changed since (they confirmed, unsubscribed, bounced), an old link no longer changes it,
so a link lying in a mailbox cannot undo a later unsubscribe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from newsdesk.mail.dkim import sign_message
from newsdesk.mail.headers import (
    parse_mailbox,
    structured_header,
)
from newsdesk.mail.render import notice_headers, plain_message
from newsdesk.mail.store import Store, Subscriber
from newsdesk.mail.tokens import make_token, verify_token
from newsdesk.mail.transports import transport_factory
from newsdesk.settings import Settings

CONFIRM_DAYS = 7
PURPOSE = "confirm"


@dataclass(frozen=True)
class ConfirmationClaim:
    """What a valid confirmation token says: this subscriber, at this point of their history."""

    subscriber_id: int
    events: int


def confirmation_token(
    secret: bytes, store: Store, subscriber: Subscriber, *, now: float | None = None
) -> str:
    """A link token confirming ``subscriber``'s sign-up, valid for :data:`CONFIRM_DAYS` days."""
    expires = (time.time() if now is None else now) + CONFIRM_DAYS * 86400
    subject = f"{subscriber.id}:{len(store.events(subscriber.id))}"
    return make_token(secret, PURPOSE, subject, expires_at=expires)


def read_confirmation_token(secret: bytes, token: str) -> ConfirmationClaim | None:
    """The claim of a valid, unexpired confirmation token, or ``None``."""
    subject = verify_token(secret, PURPOSE, token)
    if subject is None:
        return None
    sid, sep, events = subject.partition(":")
    if not sep or not sid.isdigit() or not events.isdigit():
        return None
    return ConfirmationClaim(int(sid), int(events))


def unsubscribe_subscriber_id(secret: bytes, token: str) -> int | None:
    """The subscriber id in a List-Unsubscribe token (as :mod:`newsdesk.mail.send` makes
    them: purpose ``unsubscribe``, subject the id, no expiry), or ``None``."""
    subject = verify_token(secret, "unsubscribe", token)
    if subject is None or not subject.isdigit():
        return None
    return int(subject)


def confirmation_message(settings: Settings, subscriber: Subscriber, url: str) -> bytes:
    """The email asking ``subscriber`` to confirm by following ``url`` (CRLF line ends).

    Every header comes from :mod:`newsdesk.mail.headers`, so nothing the person typed into
    the form can add a header or a body of its own.
    """
    name = settings.newsletter_name
    headers = [
        *notice_headers(
            settings.email,
            subscriber.name,
            subscriber.email,
            f"Confirm your subscription to {name}",
            "confirm",
        ),
        # RFC 3834: vacation responders must not answer it.
        structured_header("Auto-Submitted", "auto-generated"),
    ]
    greeting = f"Hello {subscriber.name}," if subscriber.name else "Hello,"
    text = (
        f"{greeting}\n\n"
        f"someone, probably you, asked to receive {name} at {subscriber.email}.\n"
        f"To confirm, open this link within {CONFIRM_DAYS} days and press the button "
        "on the page:\n\n"
        f"{url}\n\n"
        "If it was not you, ignore this message: without confirmation nothing is sent.\n\n"
        f"-- \n{name}\n{settings.site_url}\n"
        + (f"{settings.email.postal_address}\n" if settings.email.postal_address else "")
    )
    return sign_message(settings.email.dkim, plain_message(headers, text))


def deliver(settings: Settings, subscriber: Subscriber, message: bytes) -> None:
    """Deliver one message the way issues go: over SMTP when a host is configured, else
    into the Maildir outbox. Raises :class:`newsdesk.mail.transports.DeliveryError`."""
    make, _ = transport_factory(settings)
    envelope = parse_mailbox(settings.email.from_)[1]
    transport = make()
    try:
        transport.send(envelope, subscriber.email, message)
    finally:
        transport.close()
