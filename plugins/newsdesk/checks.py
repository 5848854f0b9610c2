"""Checks of an author's Markdown source that the renderer would pass over in silence.

An unclosed code fence swallows the rest of the page without an error; a broken link is
reported by the site generator without its line. Both are found here in the source text,
so the message can name the file and line. Nothing here imports MkDocs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def unclosed_fence(text: str) -> tuple[int, str] | None:
    """The 1-based line and marker of a code fence (``` or ~~~) that is never closed.

    A fence is closed by a line of the same character, at least as long, with nothing
    after it but spaces (CommonMark, as pymdownx.superfences reads it); inside a fence
    everything is code, so a fence shown as an example in a longer fence is no fence.
    A line of three or more backticks followed by text holding a backtick is inline
    code, not a fence.
    """
    open_line = 0
    marker = ""
    for number, line in enumerate(text.splitlines(), 1):
        match = _FENCE.match(line)
        if match is None:
            continue
        fence, info = match.group("fence"), match.group("info")
        if not marker:
            if fence[0] == "`" and "`" in info:
                continue
            open_line, marker = number, fence
        elif fence[0] == marker[0] and len(fence) >= len(marker) and not info.strip():
            open_line, marker = 0, ""
    return (open_line, marker) if marker else None


def fence_warning(text: str, source: str, first_line: int = 1) -> str | None:
    """The warning for an unclosed fence in ``text`` (which starts at ``first_line`` of
    ``source``), or None."""
    found = unclosed_fence(text)
    if found is None:
        return None
    line, marker = found
    return (
        f"{source}:{first_line + line - 1}: code block opened with {marker} is never closed, "
        f"so the rest of the file shows as code; add a line {marker} where the code ends"
    )


def link_line(text: str, url: str) -> int | None:
    """The 1-based line of ``text`` where a link to ``url`` is written, or None.

    Looks for the Markdown forms first (``](url``, ``](<url>``, a reference definition
    ``[x]: url``), then an HTML ``href``/``src``, then the address anywhere.
    """
    if not url:
        return None
    escaped = re.escape(url)
    patterns = (
        rf"\]\(\s*<?{escaped}(?=[\s>)\"'])",
        rf"^\s{{0,3}}\[[^\]]+\]:\s*<?{escaped}(?=[\s>]|$)",
        rf"(?:href|src)\s*=\s*[\"']{escaped}[\"']",
        escaped,
    )
    for pattern in patterns:
        match = re.search(pattern, text, re.MULTILINE)
        if match is not None:
            return text.count("\n", 0, match.start()) + 1
    return None


_ENGINE_LINK = re.compile(
    r"Doc file '(?P<src>[^']+)' contains (?P<kind>a link to|a link|an unrecognized relative "
    r"link|an absolute link) '(?P<url>[^']+)'(?P<rest>.*)",
    re.S,
)


class LinkLines(logging.Filter):
    """Gives the site generator's link warnings the file and line where the author wrote
    the link.

    MkDocs (and ProperDocs) names only the page (``Doc file 'newsletters/x.md' contains a
    link …``); this finds the link in the source and says ``newsletters/x.md:12: link to
    'missing.md': …``. The adapter attaches it to the engine's page logger and tells it the
    pages' files (:attr:`sources`) and how the author names a file (:attr:`name`).
    """

    def __init__(self) -> None:
        super().__init__()
        self.sources: dict[str, str] = {}
        """Page source URI → its file."""
        self.name: Callable[[Path], str] = str
        """The name the author knows a file by (relative to the project)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            message = record.getMessage()
            match = _ENGINE_LINK.fullmatch(message)
            if match is not None and match.group("src") in self.sources:
                record.msg, record.args = self._describe(match), ()
        return True

    def _describe(self, match: re.Match[str]) -> str:
        path = Path(self.sources[match.group("src")])
        name = self.name(path)
        url, kind, rest = match.group("url"), match.group("kind"), match.group("rest")
        try:
            line = link_line(path.read_text(encoding="utf-8-sig"), url)
        except OSError:
            line = None
        where = f"{name}:{line}" if line else name
        suggestion = ""
        if " Did you mean " in rest:
            rest, suggestion = rest.split(" Did you mean ", 1)
            suggestion = " Did you mean " + suggestion
        if kind == "an unrecognized relative link":
            return (
                f"{where}: link to '{url}' names no page of the site: link to an issue by its "
                "file name (2026-11-19-dns.md) and to a page by its path under docs/ "
                f"(../about.md).{suggestion}"
            )
        if kind == "an absolute link":
            return f"{where}: absolute link '{url}'{rest}{suggestion}"
        if rest.startswith(", but "):
            rest = ": " + rest[len(", but ") :]
        return f"{where}: link to '{url}'{rest}{suggestion}"
