"""The environment variables newsdesk reads, in one place.

Settings in ``mkdocs.yml`` reach the environment through MkDocs' ``!ENV`` tag; the few
values read here directly are secrets (taken as their exact text, never YAML-typed) and
the database path. Everything else asks :func:`get`.
"""

from __future__ import annotations

import os

VARIABLES = {
    "NEWSDESK_SECRET": "signs unsubscribe, confirmation and bounce tokens",
    "NEWSDESK_DB": "the subscriber database (email.database)",
    "NEWSDESK_SMTP_USERNAME": "email.smtp.username",
    "NEWSDESK_SMTP_PASSWORD": "email.smtp.password",
    "NEWSDESK_INBOX_PASSWORD": "email.inbox.password",
    "NEWSDESK_DKIM_KEY": "email.dkim: the RSA private key as PEM text",
    "NEWSDESK_DKIM_ED25519_KEY": "email.dkim: the Ed25519 private key as PEM text",
}
"""Each variable read directly, and what it sets."""


def get(name: str) -> str | None:
    """The raw text of a variable of :data:`VARIABLES`, or ``None`` when it is not set."""
    if name not in VARIABLES:
        raise KeyError(f"{name} is not one of newsdesk's variables")
    return os.environ.get(name)
