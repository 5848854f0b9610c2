"""The list's secret and the HMAC tokens signed with it.

Tokens go into unsubscribe links, ``mailto:`` subjects, confirmation links and VERP
envelope senders, so they use only lower-case letters, digits and one dot: they survive
mail servers that change the case of local parts. A token is ``payload.mac`` where the
payload is the subject (a subscriber id or an address), optionally with an expiry time, and
the MAC is a truncated HMAC-SHA256 over the purpose and the payload.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import math
import os
import secrets
import tempfile
import time
from pathlib import Path

from newsdesk import environment
from newsdesk.errors import NewsdeskError

SECRET_FILE = "secret"
ENV_SECRET = "NEWSDESK_SECRET"
_MAC_BYTES = 15  # 120 bits


MIN_SECRET = 32
"""The shortest secret accepted, in bytes (characters for ``NEWSDESK_SECRET``)."""
_MAKE_ONE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def load_secret(state_dir: Path) -> bytes:
    """The secret: ``NEWSDESK_SECRET``, or ``.newsdesk/secret`` generated once with mode 0600.

    Either must hold at least :data:`MIN_SECRET` bytes, else :class:`NewsdeskError` says
    how to make one. Two processes starting at once agree on one generated secret.
    """
    env = environment.get(ENV_SECRET)
    if env is not None:
        if len(env) < MIN_SECRET:
            raise NewsdeskError(
                f"{ENV_SECRET} is too short ({len(env)} characters; at least {MIN_SECRET}): "
                f"make one with {_MAKE_ONE}"
            )
        weak = weakness(env.encode())
        if weak:
            raise NewsdeskError(
                f"{ENV_SECRET} is not random enough ({weak}): make one with {_MAKE_ONE}"
            )
        return env.encode()
    path = state_dir / SECRET_FILE
    shown = Path(state_dir.name, SECRET_FILE)
    if not path.exists():
        _create_secret(path)
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    secret = path.read_bytes().strip()
    problem = (
        f"too short ({len(secret)} bytes; at least {MIN_SECRET})"
        if len(secret) < MIN_SECRET
        else weakness(secret)
    )
    if problem:
        raise NewsdeskError(
            f"the secret is {problem}: delete the file to have a new one generated (every "
            f"unsubscribe link sent so far stops working), or put one made with {_MAKE_ONE} "
            "in it",
            shown,
        )
    return secret


MIN_BITS = 100
"""The least estimated entropy of a secret, in bits."""


def weakness(secret: bytes) -> str | None:
    """Why ``secret`` is too predictable to sign links with, or ``None``.

    A rough but safe estimate: white space only, one character or a short pattern
    repeated, too few distinct characters, or under :data:`MIN_BITS` bits by the
    frequency of its characters (``token_urlsafe(32)`` and ``token_hex(32)`` have about 200).
    """
    text = secret.strip()
    if not text:
        return "only white space"
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return f"the same {size} character{'s' if size > 1 else ''} repeated"
    counts = [text.count(b) for b in set(text)]
    if len(counts) < 10:
        return f"only {len(counts)} distinct characters"
    bits = -sum(c * math.log2(c / len(text)) for c in counts)
    if bits < MIN_BITS:
        return f"about {bits:.0f} bits of entropy; at least {MIN_BITS}"
    return None


def verp_address(bounce_address: str, secret: bytes, subscriber_id: int) -> str:
    """The envelope sender for one subscriber's message: ``local+TOKEN@domain`` of
    ``email.bounce_address``, so a bounce names its subscriber by a signed token."""
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{make_token(secret, 'bounce', subscriber_id)}@{domain}"


def _create_secret(path: Path) -> None:
    """Write a new random secret to ``path`` unless another process does so first.

    The secret goes into a private temporary file that is then hard-linked to its name: a
    reader sees either no file or the complete one, and of two racing processes the second
    link fails and that process uses the winner's secret.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{SECRET_FILE}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_hex(MIN_SECRET).encode() + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=").lower()


def _unb32(text: str) -> bytes:
    text = text.upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def _mac(secret: bytes, purpose: str, payload: bytes) -> bytes:
    return hmac.new(secret, purpose.encode() + b"\0" + payload, hashlib.sha256).digest()[
        :_MAC_BYTES
    ]


def make_token(
    secret: bytes, purpose: str, subject: str | int, *, expires_at: float | None = None
) -> str:
    """A token binding ``subject`` (subscriber id or address) to ``purpose``.

    ``purpose`` separates uses (``"unsubscribe"``, ``"confirm"``, ``"bounce"``): a token
    made for one is rejected for another. ``expires_at`` (Unix time) limits its life.
    """
    payload = f"{subject}|{'' if expires_at is None else int(expires_at)}"
    raw = payload.encode()
    return f"{_b32(raw)}.{_b32(_mac(secret, purpose, raw))}"


def verify_token(
    secret: bytes, purpose: str, token: str, *, now: float | None = None
) -> str | None:
    """The subject of a valid, unexpired token for ``purpose``, or ``None``.

    The MAC is compared in constant time; the token's case is ignored.
    """
    try:
        payload_part, mac_part = token.strip().lower().split(".")
        raw = _unb32(payload_part)
        mac = _unb32(mac_part)
    except (ValueError, TypeError):
        return None
    if not hmac.compare_digest(mac, _mac(secret, purpose, raw)):
        return None
    try:
        payload = raw.decode()
    except UnicodeDecodeError:
        return None
    subject, sep, expiry = payload.rpartition("|")
    if not sep:
        return None
    if not expiry:
        return subject
    if not expiry.isdigit() or int(expiry) < (time.time() if now is None else now):
        return None
    return subject
