"""What a build warned about, issue by issue: the strict build's verdict, kept for ``send``.

``mkdocs build --strict`` fails on any warning. ``newsdesk send`` must not mail an issue
that build would reject, so the build remembers, per issue, the warnings and errors that
name the issue's source file (MkDocs' own link warnings, newsdesk's front-matter, fence,
claim and PDF warnings alike) and stores them with the issue's rendering.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable


class ProblemLog(logging.Handler):
    """A logging handler that keeps every warning and error of one build.

    Attach it to the ``mkdocs`` logger (which newsdesk's own logger propagates to) for the
    length of a build with :meth:`attach` and :meth:`detach`.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []
        self._logger: logging.Logger | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except Exception:  # a malformed record must not break the build
            self.handleError(record)

    def attach(self, logger_name: str = "mkdocs") -> None:
        """Start collecting the warnings of ``logger_name`` and its children."""
        self.detach()
        self.messages = []
        self._logger = logging.getLogger(logger_name)
        self._logger.addHandler(self)

    def detach(self) -> None:
        """Stop collecting (the messages are kept)."""
        if self._logger is not None:
            self._logger.removeHandler(self)
            self._logger = None

    def add(self, messages: Iterable[str]) -> None:
        """Record problems that were reported some other way (not logged yet)."""
        self.messages.extend(messages)

    def about(self, source: str) -> tuple[str, ...]:
        """The messages that name ``source`` (``newsletters/….md``), each once, in order."""
        needles = (f"'{source}'", f"{source}:", f'"{source}"', f"{source} ")
        found = [m for m in self.messages if any(n in m for n in needles) or m.endswith(source)]
        return tuple(dict.fromkeys(found))
