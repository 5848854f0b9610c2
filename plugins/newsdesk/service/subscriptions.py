"""What the service does to the subscriber list, on top of :class:`newsdesk.mail.store.Store`.

Every change goes through ``Store.add`` and ``change_status``, so each one is recorded
with its time and source (``web`` for the forms, ``one-click`` for RFC 8058 requests);
sign-ups and confirmations also record proof of consent (``Store.record_consent``).

Coming back: someone who unsubscribed, bounced or was forgotten may sign up again
through the form. It is their own new request, so it takes the whole double opt-in again:
a new ``signup`` consent, a confirmation email, and only the link's ``POST`` makes them
active. A forgotten address leaves the suppression list at that confirmation (not at the
sign-up, which anyone could send). A bounced address is allowed the same way: following
the link from the mailbox proves that the mailbox works again.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from newsdesk.mail.addresses import InvalidAddress
from newsdesk.mail.store import Store, Subscriber, change_status
from newsdesk.service.confirmation import ConfirmationClaim


def request_subscription(
    store: Store, email: str, name: str, consent: Mapping[str, str] | None = None
) -> Subscriber | None:
    """Record a sign-up; the subscriber to send a confirmation to, or ``None``.

    A new address is added as ``pending`` (also one that was forgotten: see the module's
    docstring). A pending one gets a new confirmation. Someone who unsubscribed or bounced
    keeps that status until they confirm again. An active subscriber needs nothing (and
    the caller answers the same, so nobody learns who is on the list). ``consent`` (the
    fields of a ``signup`` consent record) is recorded whenever a confirmation is due.
    ``email`` and ``name`` must already be valid. One transaction: a new subscriber is
    never on record without their consent.
    """
    with store.transaction():
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
        store.record_consent(sub.id, "signup", **dict(consent or {}))
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


def check_confirmation(
    store: Store, claim: ConfirmationClaim
) -> tuple[Confirmed, Subscriber | None]:
    """What following a valid confirmation token would do, changing nothing (the GET)."""
    sub = store.get(claim.subscriber_id)
    if sub is None:
        return Confirmed.UNKNOWN, None
    if sub.status == "active":
        return Confirmed.ALREADY, sub
    if len(store.events(sub.id)) != claim.events:
        return Confirmed.STALE, sub
    return Confirmed.NOW, sub


def confirm(
    store: Store,
    claim: ConfirmationClaim,
    consent: Mapping[str, str] | None = None,
    suppression_key: bytes | None = None,
) -> tuple[Confirmed, Subscriber | None]:
    """Make the subscriber of a valid confirmation token active, if the token still applies
    (the POST). In one transaction: the status change, a ``confirm`` consent record with
    ``consent``'s fields, and the address off the suppression list (``suppression_key``:
    the list's secret)."""
    with store.transaction() as conn:
        outcome, sub = check_confirmation(store, claim)
        if outcome is not Confirmed.NOW:
            return outcome, sub
        assert sub is not None
        change_status(conn, sub.id, "active", "web", "confirmed by link")
        store.record_consent(sub.id, "confirm", **dict(consent or {}))
        if suppression_key is not None:
            store.unsuppress(sub.email, suppression_key)
    return Confirmed.NOW, store.get(sub.id)


def unsubscribe(store: Store, subscriber_id: int, source: str) -> Subscriber | None:
    """Unsubscribe (idempotent: a second request records nothing); ``None`` if unknown."""
    sub = store.get(subscriber_id)
    if sub is None or sub.status == "unsubscribed":
        return sub
    detail = "RFC 8058 one-click request" if source == "one-click" else "unsubscribe page"
    return store.set_status(subscriber_id, "unsubscribed", source, detail)
