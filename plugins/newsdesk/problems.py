"""What a build warned about: the preview's box, and the strict build's verdict per issue.

``mkdocs build --strict`` fails on any warning. ``newsdesk send`` must not mail an issue
that build would reject, so the build remembers, per issue, the warnings and errors that
name the issue's source file (MkDocs' own link warnings, newsdesk's front-matter, fence,
claim and PDF warnings alike) and stores them with the issue's rendering. The live preview
shows the same list in a box at the top of every page.
"""

from __future__ import annotations

import logging
import re
from html import escape

BANNER_PLACES = ('<main class="md-main"', '<div class="md-content"')
"""Where the preview's box goes: above Material's main area (full width, in the page's
grid), or else above the content."""
_BANNER = re.compile(r"<!-- newsdesk-banner -->.*?<!-- /newsdesk-banner -->", re.S)


class BuildLog(logging.Handler):
    """A logging handler that keeps every warning and error of one build, each once.

    Attach it to the ``mkdocs`` logger (which newsdesk's own logger propagates to; under
    ProperDocs, ``properdocs``) with :meth:`attach`; :meth:`clear` at the start of each build.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self._logger: logging.Logger | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.partition(".")[2].startswith("livereload"):
            return  # the server's own notes ("GET … code 404") are not the build's
        try:
            message = record.getMessage()
        except Exception:  # a malformed record must not break the build
            self.handleError(record)
            return
        found = self.errors if record.levelno >= logging.ERROR else self.warnings
        if message not in found:
            found.append(message)

    def attach(self, logger_name: str = "mkdocs") -> None:
        """Start collecting the messages of ``logger_name`` and its children."""
        self.detach()
        self._logger = logging.getLogger(logger_name)
        self._logger.addHandler(self)

    def detach(self) -> None:
        """Stop collecting (the messages are kept)."""
        if self._logger is not None:
            self._logger.removeHandler(self)
            self._logger = None

    def clear(self) -> None:
        """Forget the messages (a new build begins)."""
        self.errors, self.warnings = [], []

    @property
    def count(self) -> int:
        return len(self.errors) + len(self.warnings)

    @property
    def messages(self) -> list[str]:
        return self.errors + self.warnings

    def about(self, source: str) -> tuple[str, ...]:
        """The messages that name ``source`` (``newsletters/….md``), each once, in order."""
        needles = (f"'{source}'", f"{source}:", f'"{source}"', f"{source} ")
        found = [m for m in self.messages if any(n in m for n in needles) or m.endswith(source)]
        return tuple(dict.fromkeys(found))


def banner_html(errors: list[str], warnings: list[str]) -> str:
    """The preview's box listing the build's errors and warnings ("" when there are none)."""
    if not errors and not warnings:
        return ""
    parts = []
    for label, messages in (("error", errors), ("warning", warnings)):
        if messages:
            heading = f"{len(messages)} {label}{'s' if len(messages) > 1 else ''}"
            text = escape("\n".join(messages), quote=False)
            parts.append(f"<strong>newsdesk: {heading}</strong><pre>{text}</pre>")
    kind = "nd-build-error" if errors else "nd-build-error nd-build-warning"
    return (
        f'<!-- newsdesk-banner --><div class="md-grid"><div class="{kind}" role="alert">'
        + "".join(parts)
        + "</div></div><!-- /newsdesk-banner -->"
    )


def with_banner(output: str, banner: str) -> str:
    """``output`` (a page of the theme) with ``banner`` above its content, replacing any."""
    output = _BANNER.sub("", output)
    if not banner:
        return output
    for place in BANNER_PLACES:
        if place in output:
            return output.replace(place, banner + place, 1)
    return output
