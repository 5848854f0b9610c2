"""DKIM signatures (RFC 6376): RSA-SHA256 and Ed25519-SHA256 (RFC 8463), relaxed/relaxed.

Every issue and confirmation message carries two signatures for ``email.dkim.domain`` and
``selector``: receivers that know Ed25519 check that one, the others the RSA one.

Speed. dkimpy's own ``sign`` parses and canonicalises the whole message and signs with
pure-Python RSA (about 14 ms a message here); an issue is sent to every subscriber, so this
module signs with the ``cryptography`` library instead and uses dkimpy's canonicalisation
primitives (and its verifier in the tests). An issue's message is made of static pieces
and small per-subscriber slots, each a run of whole CRLF-ended lines (see
:mod:`newsdesk.mail.render`); relaxed body canonicalisation works line by line, so
:class:`PreparedSigner` canonicalises the static pieces once per issue, keeps the SHA-256
state of the body up to the first slot, and per subscriber only canonicalises the slots,
finishes the body hash and signs the few header lines.

Keys are PEM files (PKCS #8), mode 0600, written by ``newsdesk dkim keygen``; the
environment variables ``NEWSDESK_DKIM_KEY`` and ``NEWSDESK_DKIM_ED25519_KEY`` may hold the
PEM text instead.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from dkim.canonicalization import (
    Relaxed,
    compress_whitespace,
    strip_trailing_lines,
    strip_trailing_whitespace,
)

from newsdesk.errors import NewsdeskError
from newsdesk.mail.headers import parse_mailbox, structured_header
from newsdesk.settings import DkimSettings

if TYPE_CHECKING:
    from newsdesk.mail.render import PreparedMessage

RSA_BITS = 2048
ALGORITHMS = ("ed25519-sha256", "rsa-sha256")
#: Signed when present, in this order (names in lower case).
SIGNED = (
    "from",
    "reply-to",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
)
#: Listed once more in ``h=`` (oversigned): a second From, Subject or List-Unsubscribe
#: added on the way breaks the signature instead of being shown to the reader.
OVERSIGNED = ("from", "subject", "list-unsubscribe")
_B64_CHUNK = 64
_SELECTOR = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_DOMAIN = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?$")


class DkimError(NewsdeskError):
    """A DKIM key that is missing or unusable."""


# -- keys ------------------------------------------------------------------------------------


def default_key_files(state_dir: Path, selector: str) -> tuple[Path, Path]:
    """``.newsdesk/dkim/SELECTOR.rsa.key`` and ``.newsdesk/dkim/SELECTOR.ed25519.key``."""
    folder = state_dir / "dkim"
    return folder / f"{selector}.rsa.key", folder / f"{selector}.ed25519.key"


@dataclass(frozen=True)
class DkimKeys:
    rsa: rsa.RSAPrivateKey
    ed25519: ed25519.Ed25519PrivateKey


def _load_key(pem: str | None, path: Path | None, env: str, kind: type, what: str):
    if pem:
        data, source = pem.encode("ascii", "replace"), env
    else:
        if path is None:
            raise DkimError(f"email.dkim: no {what} key: set email.dkim.selector or {env}")
        try:
            data, source = path.read_bytes(), str(path)
        except FileNotFoundError:
            raise DkimError(
                f"email.dkim: no {what} private key at {path}; create the keys with "
                "'newsdesk dkim keygen --selector SELECTOR --domain DOMAIN' (or set "
                f"{env} to the PEM text)"
            ) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise DkimError(
            f"email.dkim: {source}: not an unencrypted PEM private key ({exc})"
        ) from None
    if not isinstance(key, kind):
        raise DkimError(f"email.dkim: {source}: not an {what} private key")
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < RSA_BITS:
        raise DkimError(
            f"email.dkim: {source}: an RSA key of {key.key_size} bits; receivers want at "
            f"least {RSA_BITS} (newsdesk dkim keygen makes one)"
        )
    return key


@functools.lru_cache(maxsize=8)
def load_keys(dkim: DkimSettings) -> DkimKeys:
    """Both private keys of ``dkim`` (loaded once per process); :class:`DkimError` if one
    is missing or unusable."""
    return DkimKeys(
        rsa=_load_key(
            dkim.rsa_key, dkim.rsa_key_file, "NEWSDESK_DKIM_KEY", rsa.RSAPrivateKey, "RSA"
        ),
        ed25519=_load_key(
            dkim.ed25519_key,
            dkim.ed25519_key_file,
            "NEWSDESK_DKIM_ED25519_KEY",
            ed25519.Ed25519PrivateKey,
            "Ed25519",
        ),
    )


def _pem(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def generate_keys(rsa_file: Path, ed25519_file: Path) -> DkimKeys:
    """New keys written to the two files (mode 0600, folder 0700); refuses to overwrite."""
    for path in (rsa_file, ed25519_file):
        if path.exists():
            raise DkimError(
                f"{path} exists already: not overwritten (a published key would stop "
                "matching); choose a new selector to rotate keys"
            )
    keys = DkimKeys(
        rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS),
        ed25519.Ed25519PrivateKey.generate(),
    )
    for path, key in ((rsa_file, keys.rsa), (ed25519_file, keys.ed25519)):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(_pem(key))
        os.chmod(path, 0o600)
    return keys


# -- DNS records -----------------------------------------------------------------------------


def public_key_value(keys: DkimKeys, algorithm: str) -> str:
    """The ``p=`` value: base64 of the RSA SubjectPublicKeyInfo, or of the raw 32-byte
    Ed25519 public key (RFC 8463)."""
    if algorithm.startswith("rsa"):
        der = keys.rsa.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    else:
        der = keys.ed25519.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    return base64.b64encode(der).decode("ascii")


def key_records(keys: DkimKeys) -> dict[str, str]:
    """The TXT value to publish per algorithm: ``v=DKIM1; k=rsa; p=…``."""
    return {
        alg: f"v=DKIM1; k={alg.split('-')[0]}; p={public_key_value(keys, alg)}"
        for alg in ALGORITHMS
    }


def record_name(selector: str, domain: str) -> str:
    return f"{selector}._domainkey.{domain.rstrip('.')}"


def zone_txt(name: str, value: str, limit: int = 255) -> str:
    """``name. IN TXT ( "…" "…" )`` with the value in quoted strings of at most ``limit``
    characters (one TXT character-string holds 255)."""
    chunks = [value[i : i + limit] for i in range(0, len(value), limit)] or [""]
    if len(chunks) == 1:
        return f'{name.rstrip(".")}. IN TXT "{chunks[0]}"'
    inner = "\n  ".join(f'"{c}"' for c in chunks)
    return f"{name.rstrip('.')}. IN TXT (\n  {inner} )"


def parse_zone_txt(text: str) -> dict[str, str]:
    """``{name: value}`` of the TXT records in ``text`` as :func:`zone_txt` writes them."""
    records: dict[str, str] = {}
    pattern = re.compile(r'^(\S+)\.\s+IN\s+TXT\s+(\(.*?\)|"[^"\n]*")', re.M | re.S)
    for match in pattern.finditer(text):
        records[match.group(1)] = "".join(re.findall(r'"([^"]*)"', match.group(2)))
    return records


# -- canonicalisation ------------------------------------------------------------------------


def split_header_fields(block: bytes) -> list[tuple[bytes, bytes]]:
    """``(name, value)`` of each header field in ``block`` (value with its folding and
    final CRLF, as dkimpy has them)."""
    fields: list[tuple[bytes, bytes]] = []
    for line in block.split(b"\r\n")[:-1] if block.endswith(b"\r\n") else block.split(b"\r\n"):
        if not line:
            break
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + line + b"\r\n")
        else:
            name, _, value = line.partition(b":")
            fields.append((name, value + b"\r\n"))
    return fields


def _canonical_fields(block: bytes) -> list[tuple[bytes, bytes]]:
    """Relaxed canonical ``(lower name, "name:value" CRLF)`` of each field in ``block``."""
    return [
        (name, name + b":" + value)
        for name, value in Relaxed.canonicalize_headers(split_header_fields(block))
    ]


def _lines(chunk: bytes) -> bytes:
    """Relaxed body canonicalisation of whole lines, without the end-of-body rule."""
    return compress_whitespace(strip_trailing_whitespace(chunk))


def _select(fields: Sequence[tuple[bytes, bytes]], names: Sequence[str]) -> list[bytes]:
    """The canonical fields named in ``h=`` order, each instance once, from the bottom up
    (RFC 6376 §5.4.2); a name with no instance left adds nothing."""
    chosen: list[bytes] = []
    last: dict[bytes, int] = {}
    for name in names:
        key = name.encode("ascii")
        i = last.get(key, len(fields))
        while i > 0:
            i -= 1
            if fields[i][0] == key:
                chosen.append(fields[i][1])
                break
        last[key] = i
    return chosen


# -- signing ---------------------------------------------------------------------------------


class Signer:
    """Signs messages for one domain and selector with both keys."""

    def __init__(self, dkim: DkimSettings, keys: DkimKeys | None = None):
        if not dkim.enabled:
            raise DkimError("email.dkim: set both domain and selector")
        self.domain = str(dkim.domain).rstrip(".").lower()
        self.selector = str(dkim.selector)
        if not _DOMAIN.match(self.domain):
            raise DkimError(f"email.dkim.domain: not a domain name: {dkim.domain!r}")
        if not _SELECTOR.match(self.selector):
            raise DkimError(
                f"email.dkim.selector: letters, digits and hyphens only: {dkim.selector!r}"
            )
        self.keys = keys or load_keys(dkim)
        self._rsa_pad = padding.PKCS1v15()

    def header_names(self, present: set[bytes]) -> list[str]:
        """``h=``: the :data:`SIGNED` fields present, then the :data:`OVERSIGNED` ones."""
        names = [n for n in SIGNED if n.encode("ascii") in present]
        return names + [n for n in OVERSIGNED if n in names]

    def signature_fields(self, fields: list[tuple[bytes, bytes]], body_hash: bytes) -> bytes:
        """Both ``DKIM-Signature`` fields for a message whose canonical header fields are
        ``fields`` and whose canonical body has SHA-256 ``body_hash``."""
        names = self.header_names({name for name, _ in fields})
        signed = b"".join(_select(fields, names))
        bh = base64.b64encode(body_hash).decode("ascii")
        now = int(time.time())
        out = []
        for alg in ALGORITHMS:
            tags = (
                f"v=1; a={alg}; c=relaxed/relaxed; d={self.domain}; s={self.selector}; "
                f"t={now}; h={' : '.join(names)}; bh={bh}; b="
            )
            # The field's relaxed canonical form with an empty b=: it is folded only at its
            # single spaces, which canonicalisation turns back into single spaces.
            data = signed + b"dkim-signature:" + tags.encode("ascii")
            if alg.startswith("rsa"):
                sig = self.keys.rsa.sign(data, self._rsa_pad, hashes.SHA256())
            else:
                sig = self.keys.ed25519.sign(hashlib.sha256(data).digest())
            b = base64.b64encode(sig).decode("ascii")
            chunks = " ".join(b[i : i + _B64_CHUNK] for i in range(0, len(b), _B64_CHUNK))
            out.append(structured_header("DKIM-Signature", tags + chunks))
        # The RSA signature on top: verifiers that read only the first one know RSA.
        return b"".join(reversed(out))

    def sign(self, message: bytes) -> bytes:
        """``message`` (CRLF line ends) with both signatures on top."""
        head, sep, body = message.partition(b"\r\n\r\n")
        if not sep:
            head, body = message, b""
        head += b"\r\n"
        body_hash = hashlib.sha256(Relaxed.canonicalize_body(body)).digest()
        return self.signature_fields(_canonical_fields(head), body_hash) + message

    def for_prepared(self, prepared: PreparedMessage) -> PreparedSigner:
        return PreparedSigner(self, prepared)


class PreparedSigner:
    """Signs the personalised copies of one prepared issue message (see the module text)."""

    def __init__(self, signer: Signer, prepared: PreparedMessage):
        self.signer = signer
        # The static block is the shared header fields, the blank line and the start of
        # the body up to the first slot; the prepared body's pieces follow it.
        head, sep, start = prepared._static_headers.partition(b"\r\n\r\n")
        self.static_fields = _canonical_fields(head + b"\r\n")
        pieces = [start, *prepared._body]
        self.canon = [_lines(p) if isinstance(p, bytes) else None for p in pieces]
        # Each piece is whole lines; the last one is static and ends the body with a line
        # of text, so the end-of-body rule changes nothing. Otherwise (never for render.py's
        # messages) each message is signed whole, the slow way.
        last = self.canon[-1]
        self.fast = (
            bool(sep)
            and last is not None
            and all(p.endswith(b"\r\n") for p in pieces if isinstance(p, bytes) and p)
            and strip_trailing_lines(last) == last
            and last.strip(b"\r\n") != b""
        )
        self.prefix = hashlib.sha256()
        self.first_slot = len(pieces)
        for i, canon in enumerate(self.canon):
            if canon is None:
                self.first_slot = i
                break
            self.prefix.update(canon)

    def sign_parts(self, parts: list[bytes], personal: int) -> bytes:
        """The signed message from :meth:`PreparedMessage.personalise`'s ``parts``: the
        first ``personal`` are header fields, then the static block, then one part per
        piece of the prepared body."""
        message = b"".join(parts)
        if not self.fast:
            return self.signer.sign(message)
        fields: list[tuple[bytes, bytes]] = []
        for raw in parts[:personal]:
            fields += _canonical_fields(raw)
        fields += self.static_fields
        h = self.prefix.copy()
        for i in range(self.first_slot, len(self.canon)):
            canon = self.canon[i]
            h.update(_lines(parts[personal + i]) if canon is None else canon)
        return self.signer.signature_fields(fields, h.digest()) + message


def _half_set(dkim: DkimSettings) -> None:
    if bool(dkim.domain) != bool(dkim.selector):
        raise DkimError(
            "email.dkim: set both domain and selector (e.g. {domain: example.org, "
            "selector: nd1}), or neither to send unsigned"
        )


def issue_signer(dkim: DkimSettings, prepared: PreparedMessage) -> PreparedSigner | None:
    """The signer of a prepared issue, or ``None`` without ``email.dkim``."""
    _half_set(dkim)
    if not dkim.enabled:
        return None
    return Signer(dkim).for_prepared(prepared)


def sign_message(dkim: DkimSettings, message: bytes) -> bytes:
    """``message`` signed when ``email.dkim`` is set, else as it is."""
    _half_set(dkim)
    if not dkim.enabled:
        return message
    return Signer(dkim).sign(message)


# -- alignment -------------------------------------------------------------------------------


def organisational_domain(domain: str) -> str:
    """The last two labels of ``domain`` – a best-effort stand-in for the Public Suffix
    List (wrong for ``co.uk``-style suffixes, where it is too lenient)."""
    labels = domain.lower().rstrip(".").split(".")
    return ".".join(labels[-2:])


def aligned(a: str, b: str) -> bool:
    """Relaxed DMARC alignment of two domains (same organisational domain)."""
    return organisational_domain(a) == organisational_domain(b)


def from_domain(from_: str) -> str:
    return parse_mailbox(from_)[1].rpartition("@")[2].lower()


# -- newsdesk dkim keygen --------------------------------------------------------------------


def dns_instructions(
    keys: DkimKeys, selector: str, domain: str, from_: str, config: str = "mkdocs.yml"
) -> str:
    """The DKIM records in zone-file form, with the SPF and DMARC records to go with them,
    and what to set in ``config`` (the project's configuration file)."""
    name = record_name(selector, domain)
    records = key_records(keys)
    sender = from_domain(from_) if from_ else domain
    lines = [
        "Publish these TXT records in the DNS of " + domain + " (one per algorithm; both",
        "hold only public keys):",
        "",
    ]
    for alg in ALGORITHMS:
        lines += [f"; DKIM {alg}", zone_txt(name, records[alg]), ""]
    lines += [
        "SPF says which servers may send for a domain. Receivers check it against the",
        "envelope sender (email.bounce_address, else the From address); replace the",
        "include with your mail provider's (or ip4:ADDRESS for your own server):",
        "",
        f'{sender}. IN TXT "v=spf1 include:_spf.example.net ~all"',
        "",
        "DMARC tells receivers what to do with mail that fails both aligned checks and",
        "where to send reports. Start with p=none, read the reports, then tighten to",
        "p=quarantine:",
        "",
        f'_dmarc.{organisational_domain(sender)}. IN TXT "v=DMARC1; p=none; '
        f'rua=mailto:dmarc-reports@{organisational_domain(sender)}; adkim=r; aspf=r"',
        "",
        f"Then set in {config} (under the newsdesk plugin):",
        "",
        "      email:",
        f"        dkim: {{domain: {domain}, selector: {selector}}}",
        "",
        "and check with: newsdesk check --dns",
    ]
    return "\n".join(lines)


def check_names(selector: str, domain: str) -> None:
    """Refuse a selector or domain that cannot name a DKIM key in DNS."""
    if not _SELECTOR.match(selector):
        raise NewsdeskError(f"selector {selector!r}: letters, digits and hyphens only")
    if not _DOMAIN.match(domain):
        raise NewsdeskError(f"domain {domain!r}: not a domain name")
