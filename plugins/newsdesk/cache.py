"""A small on-disk memo for work that is the same from build to build."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path


class RenderCache:
    """Remembers ``render(text)`` by the text and a ``salt`` (what else shapes the result).

    Used for the glossary's Markdown definitions: hundreds of short texts that a full
    Markdown pipeline renders the same way every build. Entries not used by a build are
    dropped when it saves, so the file never grows beyond what the project has.
    """

    def __init__(self, render: Callable[[str], str], path: Path, salt: str = ""):
        self._render = render
        self.path = path
        self._salt = salt
        self._used: dict[str, str] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self._known: dict[str, str] = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            self._known = {}

    def __call__(self, text: str) -> str:
        key = hashlib.sha256(f"{self._salt}\0{text}".encode()).hexdigest()
        out = self._known.get(key)
        if not isinstance(out, str):
            out = self._render(text)
        self._used[key] = out
        return out

    def save(self) -> None:
        """Write what this build used (atomically); a read-only folder is not an error."""
        if self._used == self._known:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._used, ensure_ascii=False), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            pass
