"""Errors a user can cause, reported as ``file:line: message`` rather than tracebacks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

EX_OK = 0
"""Everything ended."""
EX_ERROR = 1
"""A configuration or usage error, or an issue refused: reported as a message."""
EX_TEMPFAIL = 75
"""Some work waits for the next run (``sysexits.h`` EX_TEMPFAIL): run the command again later."""


class NewsdeskError(Exception):
    """A problem in the author's input or the configuration.

    Carries the file (relative to the project, as the author knows it) and, where known,
    the 1-based line, so every message points at what to fix.
    """

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line

    def __str__(self) -> str:
        where = self.path or ""
        if where and self.line:
            where += f":{self.line}"
        return f"{where}: {self.message}" if where else self.message


class NewsdeskErrors(NewsdeskError):
    """Several problems found in one pass, reported together."""

    def __init__(self, errors: list[NewsdeskError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def raise_all(errors: Sequence[NewsdeskError]) -> None:
    """Raise ``errors``, if any: one as itself, several as :class:`NewsdeskErrors`."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise NewsdeskErrors(list(errors))


def flatten(errors: Sequence[NewsdeskError]) -> list[NewsdeskError]:
    """Every single error of ``errors``, with groups (:class:`NewsdeskErrors`) opened."""
    out: list[NewsdeskError] = []
    for e in errors:
        out.extend(e.errors if isinstance(e, NewsdeskErrors) else [e])
    return out
