"""Double opt-in: the signed confirmation link and the email that carries it.

A confirmation token is an HMAC token (:mod:`newsdesk.mail.tokens`, purpose ``confirm``)
that expires after :data:`CONFIRM_DAYS` days. Its subject is the subscriber's id and the
number of status changes recorded for them when the link was sent: once their status has
changed since (they confirmed, unsubscribed, bounced), an old link no longer changes it,
so a link lying in a mailbox cannot undo a later unsubscribe.
"""

from __future__ import annotations

import email.policy
import email.utils
import time
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage

from newsdesk.mail.send import transport_factory
from newsdesk.mail.store import Store, Subscriber
from newsdesk.mail.tokens import make_token, verify_token
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


def confirmation_message(settings: Settings, subscriber: Subscriber, url: str) -> EmailMessage:
    """The email asking ``subscriber`` to confirm by following ``url``."""
    name = settings.newsletter_name
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = settings.email.from_
    msg["To"] = Address(display_name=subscriber.name, addr_spec=subscriber.email)
    if settings.email.reply_to:
        msg["Reply-To"] = settings.email.reply_to
    msg["Subject"] = f"Confirm your subscription to {name}"
    msg["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    domain = email.utils.parseaddr(settings.email.from_)[1].rpartition("@")[2] or None
    msg["Message-ID"] = email.utils.make_msgid("confirm", domain=domain)
    # RFC 3834: vacation responders must not answer it.
    msg["Auto-Submitted"] = "auto-generated"
    greeting = f"Hello {subscriber.name}," if subscriber.name else "Hello,"
    msg.set_content(
        f"{greeting}\n\n"
        f"someone, probably you, asked to receive {name} at {subscriber.email}.\n"
        f"To confirm, open this link within {CONFIRM_DAYS} days:\n\n"
        f"{url}\n\n"
        "If it was not you, ignore this message: without confirmation nothing is sent.\n\n"
        f"-- \n{name}\n{settings.site_url}\n"
        + (f"{settings.email.postal_address}\n" if settings.email.postal_address else "")
    )
    return msg


def deliver(settings: Settings, subscriber: Subscriber, message: EmailMessage) -> None:
    """Deliver one message the way issues go: over SMTP when a host is configured, else
    into the Maildir outbox. Raises :class:`newsdesk.mail.send.DeliveryError`."""
    make, _ = transport_factory(settings)
    envelope = email.utils.parseaddr(settings.email.from_)[1]
    transport = make()
    try:
        transport.send(envelope, subscriber.email, message.as_bytes())
    finally:
        transport.close()
