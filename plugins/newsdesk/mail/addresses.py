"""Subscriber addresses and names: validated and normalised before they are stored."""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

from newsdesk.mail.headers import has_encoded_word

MAX_NAME = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class InvalidAddress(ValueError):
    """An address or name that cannot be stored; the message says why."""


def normalise_email(value: str) -> str:
    """The address as stored: syntax checked (no DNS), domain in ASCII (IDNA), lower case.

    Local parts are compared case-insensitively, as every large mailbox provider does,
    so ``Alice@Example.org`` and ``alice@example.org`` are one subscriber.
    """
    text = (value or "").strip()
    if not text:
        raise InvalidAddress("empty address")
    if _CONTROL.search(text):
        raise InvalidAddress("the address contains control characters")
    try:
        info = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidAddress(str(exc)) from None
    return (info.ascii_email or info.normalized).lower()


def clean_name(value: str | None) -> str:
    """A display name as stored: NFC, trimmed, no control characters (no header injection)."""
    name = unicodedata.normalize("NFC", (value or "").strip())
    if _CONTROL.search(name):
        raise InvalidAddress("the name contains control characters")
    if has_encoded_word(name):
        raise InvalidAddress(
            "the name contains '=?', the start of an encoded word; write the name as plain text"
        )
    if len(name) > MAX_NAME:
        raise InvalidAddress(f"the name is longer than {MAX_NAME} characters")
    return name


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (where plain-text AUTH is acceptable)."""
    import ipaddress

    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
