"""Every header of every message newsdesk writes, built in one place.

No header value – a display name from a sign-up form, an issue title from front matter,
an address from ``mkdocs.yml`` – may ever put a line break into a message. The standard
library's email package cannot promise that: before Python 3.11.10 (CVE-2024-6923) it
decodes an RFC 2047 encoded word inside a value (``=?utf-8?q?x=0D=0ASubject:…?=``) and
writes the decoded CR LF back raw when it folds the header. So values never pass through
its header parser here. Each value is

* collapsed to one line (every control character, CR and LF included, becomes a space),
* written as plain folded ASCII only when it is printable ASCII *and* holds no ``=?``,
  the start of an encoded word; anything else is written whole as RFC 2047 ``B`` encoded
  words of UTF-8, so a literal ``=?…?=`` in a title reaches the reader as the characters
  the author typed and no decoder ever sees it as an encoded word of its own,
* checked on the way out: the bytes returned are ASCII, end in exactly one CRLF, and every
  continuation line starts with white space.

Addresses themselves (``addr-spec``) are never encoded: one that is not plain printable
ASCII without white space, angle brackets, commas or quotes is refused.
"""

from __future__ import annotations

import base64
import email.utils
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?", re.ASCII)
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9 .'_-]{1,60}$")
_ADDR = re.compile(r"^[!#-'*+\-./0-9=?A-Z^_`a-z{|}~]+@[A-Za-z0-9.\-\[\]:]+$")
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")
MAX_LINE = 78


class HeaderError(ValueError):
    """A value that can never be written into a header (an address with spaces, say)."""


def one_line(text: str) -> str:
    """``text`` with control characters (CR, LF, …) collapsed to spaces, trimmed."""
    return _CONTROL.sub(" ", text or "").strip()


def has_encoded_word(text: str) -> bool:
    """Whether ``text`` holds the start of an RFC 2047 encoded word (``=?cs?q?``)."""
    return bool(_ENCODED_WORD.search(text or ""))


def encoded_words(text: str, first_room: int = 75) -> list[str]:
    """``text`` as RFC 2047 ``B`` encoded words of UTF-8, at most 75 characters each,
    split between characters (never inside one)."""
    words: list[str] = []
    chunk = b""
    # 12 characters of "=?utf-8?b?" + "?=", base64 grows by 4/3: 45 bytes make 72.
    limit = max(3, min(45, (first_room - 12) * 3 // 4))
    for char in text:
        raw = char.encode("utf-8")
        if chunk and len(chunk) + len(raw) > limit:
            words.append(chunk)
            chunk = b""
            limit = 45
        chunk += raw
    if chunk or not words:
        words.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words]


def _needs_encoding(text: str) -> bool:
    return not text.isascii() or has_encoded_word(text) or not text.isprintable()


def _fold(name: str, tokens: list[str]) -> bytes:
    """``name: token token …`` folded before a token that would pass :data:`MAX_LINE`."""
    lines: list[str] = []
    line = f"{name}:"
    for token in tokens:
        if line != f"{name}:" and len(line) + 1 + len(token) > MAX_LINE:
            lines.append(line)
            line = ""
        line += " " + token
    lines.append(line)
    return _checked(name, "\r\n".join(lines) + "\r\n")


def _checked(name: str, text: str) -> bytes:
    """The header's bytes, after proving it is one header: ASCII, no bare CR or LF, every
    continuation line indented. A failure here is a bug in this module, never input."""
    data = text.encode("ascii")
    lines = data[:-2].split(b"\r\n")
    if not data.endswith(b"\r\n") or any(b"\r" in line or b"\n" in line for line in lines):
        raise AssertionError(f"header {name!r} is not one line")
    for continuation in lines[1:]:
        if continuation[:1] not in (b" ", b"\t"):
            raise AssertionError(f"header {name!r} has an unindented line")
    return data


def _check_name(name: str) -> None:
    if not _HEADER_NAME.match(name):
        raise HeaderError(f"not a header name: {name!r}")


def text_header(name: str, value: str) -> bytes:
    """An unstructured header (``Subject``, ``List-Id``, …), folded or encoded, ending in CRLF."""
    _check_name(name)
    text = one_line(value)
    if not text:
        return _checked(name, f"{name}: \r\n")
    if _needs_encoding(text) or any(len(w) > MAX_LINE - len(name) - 2 for w in text.split()):
        return _fold(name, encoded_words(text, MAX_LINE - len(name) - 2))
    return _fold(name, text.split())


def structured_header(name: str, value: str) -> bytes:
    """A header whose value newsdesk composed itself (``Message-ID``, ``List-Unsubscribe``,
    ``Content-Type``, …): printable ASCII only, folded at its spaces; anything else is a
    :class:`HeaderError`, never written."""
    _check_name(name)
    if not value.isascii() or not value.isprintable():
        raise HeaderError(f"{name}: not printable ASCII: {value!r}")
    return _fold(name, value.split())


def check_addr_spec(addr: str) -> str:
    """``addr`` if it is a bare address that can be written into a header as it is."""
    if not _ADDR.match(addr or "") or addr.count("@") != 1:
        raise HeaderError(f"not a plain email address: {addr!r}")
    return addr


def display_tokens(display: str) -> list[str]:
    """A display name as header tokens: as it is when plain, quoted when ASCII, else encoded."""
    display = one_line(display)
    if not display:
        return []
    if _PLAIN_NAME.match(display):
        return display.split()
    if not _needs_encoding(display) and len(display) < 60:
        return ['"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"']
    return encoded_words(display)


def address_header(name: str, display: str, addr: str) -> bytes:
    """``To: Name <addr>`` with the name quoted or RFC 2047-encoded as needed.

    Built by hand: the email package's header parser is slow (about 300 µs a call, once per
    subscriber) and, before Python 3.11.10, unsafe with encoded words in names.
    """
    _check_name(name)
    addr = check_addr_spec(addr)
    tokens = display_tokens(display)
    if not tokens:
        return _checked(name, f"{name}: {addr}\r\n")
    return _fold(name, [*tokens, f"<{addr}>"])


def mailbox_header(name: str, value: str) -> bytes:
    """An address header from a configured value such as ``Newsletter <news@example.org>``."""
    display, addr = parse_mailbox(value)
    return address_header(name, display, addr)


def parse_mailbox(value: str) -> tuple[str, str]:
    """``(display name, address)`` of a configured mailbox; :class:`HeaderError` if unusable.

    The display name is taken as written: encoded words in it are not decoded.
    """
    text = one_line(value)
    pairs = email.utils.getaddresses([text])
    display, addr = pairs[0] if len(pairs) == 1 else ("", "")
    if not addr:
        raise HeaderError(f"not an email address: {value!r}")
    check_addr_spec(addr)
    return display, addr
