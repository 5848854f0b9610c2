"""Text from outside (a CSV file, a form, a bounce) made safe to echo: on a terminal and in
a spreadsheet. One home for both rules, used by every command that prints such text."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def terminal_safe(text: str) -> str:
    """``text`` with every control character shown escaped (``\\x1b``, ``\\n``): an escape
    sequence in a subscriber's name cannot move the cursor, retitle or clear a terminal."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    if char in named:
        return named[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def spreadsheet_safe(value: str) -> str:
    """A cell value a spreadsheet shows as text: one that starts like a formula (``=``,
    ``+``, ``-``, ``@``, tab, CR) gets a leading apostrophe (OWASP's advice for CSV
    injection), and control characters are escaped."""
    text = terminal_safe(value)
    return "'" + text if value.startswith(_FORMULA_START) else text
