"""What the service does to the subscriber list, on top of :class:`newsdesk.mail.store.Store`.

Every change goes through ``Store.add`` and ``Store.set_status``, so each one is recorded
with its time and source (``web`` for the forms, ``one-click`` for RFC 8058 requests).
"""

from __future__ import annotations

import enum

from newsdesk.mail.addresses import InvalidAddress
from newsdesk.mail.store import Store, Subscriber
from newsdesk.service.confirmation import ConfirmationClaim


def request_subscription(store: Store, email: str, name: str) -> Subscriber | None:
    """Record a sign-up; the subscriber to send a confirmation to, or ``None``.

    A new address is added as ``pending``. A pending one gets a new confirmation. Someone
    who unsubscribed or bounced keeps that status until they confirm again. An active
    subscriber needs nothing (and the caller answers the same, so nobody learns who is on
    the list). ``email`` and ``name`` must already be valid.
    """
    sub = store.get(email)
    if sub is None:
        try:
            sub = store.add(email, name, status="pending", source="web")
        except InvalidAddress:
            # Added by a concurrent request between the look-up and the insert.
            sub = store.get(email)
            if sub is None:
                raise
    if sub.status == "active":
        return None
    return sub


class Confirmed(enum.Enum):
    """The outcome of following a confirmation link."""

    NOW = "now"
    """The subscriber became active."""
    ALREADY = "already"
    """They were active already (the link was followed twice): nothing changed."""
    STALE = "stale"
    """Their status changed since the link was sent (e.g. they unsubscribed): refused."""
    UNKNOWN = "unknown"
    """No such subscriber."""


def confirm(store: Store, claim: ConfirmationClaim) -> tuple[Confirmed, Subscriber | None]:
    """Make the subscriber of a valid confirmation token active, if the token still applies."""
    sub = store.get(claim.subscriber_id)
    if sub is None:
        return Confirmed.UNKNOWN, None
    if sub.status == "active":
        return Confirmed.ALREADY, sub
    if len(store.events(sub.id)) != claim.events:
        return Confirmed.STALE, sub
    updated = store.set_status(sub.id, "active", "web", "confirmed by link")
    return Confirmed.NOW, updated


def unsubscribe(store: Store, subscriber_id: int, source: str) -> Subscriber | None:
    """Unsubscribe (idempotent: a second request records nothing); ``None`` if unknown."""
    sub = store.get(subscriber_id)
    if sub is None or sub.status == "unsubscribed":
        return sub
    detail = "RFC 8058 one-click request" if source == "one-click" else "unsubscribe page"
    return store.set_status(subscriber_id, "unsubscribed", source, detail)
