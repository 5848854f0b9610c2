"""An issue's finished rendering, shared by the site, the PDF and the email.

The build writes one JSON file per published issue under ``.newsdesk/renderings/``: the
content HTML as on the site (glossary links, port tables) with every link and image made
absolute, the metadata, and the glossary terms it links. The PDF and the mail sender read
these, so all three editions show the same text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from newsdesk.errors import NewsdeskError
from newsdesk.settings import Settings

SCHEMA = 1
BUILT_STAMP = ".built"
"""The stamp file in the renderings folder: the fingerprint of the last build's sources."""


@dataclass(frozen=True)
class TermNote:
    """A glossary term linked from an issue, for print and plain-text editions."""

    term: str
    expansion: str
    definition: str
    """The definition as plain text."""
    url: str
    """Absolute URL of the term's glossary entry."""


@dataclass(frozen=True)
class IssueRendering:
    """Everything needed to print or mail an issue without MkDocs."""

    slug: str
    number: int | None
    title: str
    date: dt.date
    author: str
    summary: str
    tags: tuple[str, ...]
    source: str
    url: str
    """Absolute URL of the issue page."""
    pdf_url: str | None
    """Absolute URL of the issue's PDF, when PDFs are enabled."""
    html: str
    """Content HTML with absolute links (no site chrome, no issue header)."""
    terms: tuple[TermNote, ...] = ()
    newsletter_name: str = ""
    site_url: str = ""
    language: str = "en"
    problems: tuple[str, ...] = ()
    """What the build warned about in this issue (file and line each): ``send`` refuses
    an issue with problems, as ``mkdocs build --strict`` does."""
    draft: str = ""
    """``draft`` or ``scheduled`` for an issue rendered for a preview only, else empty."""
    content_hash: str = field(default="")

    def __post_init__(self) -> None:
        if not self.content_hash:
            object.__setattr__(self, "content_hash", self.compute_hash())

    def compute_hash(self) -> str:
        """A digest of every field but the hash itself (the HTML fed in as it is)."""
        digest = hashlib.sha256()
        for f in fields(self):
            if f.name in ("content_hash", "problems"):
                continue
            value = getattr(self, f.name)
            if f.name == "terms":  # as dataclasses.astuple has it, without its deep copies
                value = [(t.term, t.expansion, t.definition, t.url) for t in value]
            text = value if isinstance(value, str) else repr(value)
            digest.update(f"{f.name}\0{len(text)}\0".encode())
            digest.update(text.encode())
        return digest.hexdigest()

    def to_json(self) -> str:
        # As dataclasses.asdict has it, without its deep copies (every issue, every build).
        data: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        data["terms"] = [vars(t) for t in self.terms]
        data["schema"] = SCHEMA
        data["date"] = self.date.isoformat()
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> IssueRendering:
        data = json.loads(text)
        data.pop("schema", None)
        data["date"] = dt.date.fromisoformat(data["date"])
        data["tags"] = tuple(data.get("tags") or ())
        data["terms"] = tuple(TermNote(**t) for t in data.get("terms") or ())
        data["problems"] = tuple(data.get("problems") or ())
        return cls(**data)


def renderings_dir(state_dir: Path) -> Path:
    """The folder of the renderings and of their stamp, under ``.newsdesk/``."""
    return state_dir / "renderings"


def source_fingerprint(
    settings: Settings, config_file: Path | None = None, *, today: dt.date | None = None
) -> dict[str, Any]:
    """What a build's renderings depend on: the build's date and the source files.

    The date (``today``, default :meth:`datetime.date.today`, as the build uses) matters
    because a build publishes the issues dated up to that day; the sources are every
    ``*.md`` under the newsletters folder, the glossary file and ``config_file`` (default:
    the file the settings were loaded from, else ``mkdocs.yml`` in the project root), each
    as its path relative to the root, its size and its modification time in nanoseconds, so
    a renamed, deleted or edited file changes the fingerprint. The result is JSON-safe:
    :func:`write_renderings` stores it.
    """
    config = config_file or settings.config_file or settings.root / "mkdocs.yml"
    paths = set()
    if settings.newsletters_dir.is_dir():
        paths.update(p for p in settings.newsletters_dir.rglob("*.md") if p.is_file())
    for extra in (settings.glossary.file, config):
        if extra.is_file():
            paths.add(extra)
    sources = []
    for path in paths:
        try:
            st = path.stat()
        except OSError:  # removed meanwhile: it is not a source any more
            continue
        sources.append([settings.relative(path), st.st_size, st.st_mtime_ns])
    sources.sort()
    day = today or dt.date.today()
    return {"date": day.isoformat(), "sources": sources}


def read_fingerprint(state_dir: Path) -> dict[str, Any] | None:
    """The fingerprint the last build stamped, or ``None`` (no stamp, or an unreadable one)."""
    try:
        data = json.loads((renderings_dir(state_dir) / BUILT_STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data else None


def write_fingerprint(state_dir: Path, fingerprint: dict[str, Any] | None) -> None:
    """Stamp the renderings with ``fingerprint``; ``None`` stamps them as of unknown sources."""
    folder = renderings_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / BUILT_STAMP
    tmp = stamp.with_name(f"{BUILT_STAMP}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(fingerprint or {}), encoding="utf-8")
    tmp.replace(stamp)


def renderings_are_current(settings: Settings, config_file: Path | None = None) -> bool:
    """Whether the last build's renderings fit today's date and the sources as they are."""
    folder = renderings_dir(settings.state_dir)
    if not folder.is_dir():
        return False
    stamp = read_fingerprint(settings.state_dir)
    return stamp is not None and stamp == source_fingerprint(settings, config_file)


def write_renderings(
    state_dir: Path,
    renderings: list[IssueRendering],
    fingerprint: dict[str, Any] | None = None,
    *,
    stamp: bool = True,
) -> None:
    """Write each rendering whose file differs, remove those of issues no longer published,
    and stamp the build.

    ``fingerprint`` is :func:`source_fingerprint` of the sources the build read, computed
    before it read them; without one, the stamp says the sources are unknown and the
    ``newsdesk`` command rebuilds before using the renderings. ``stamp=False`` writes the
    files only (a head start: the build writes them again where they differ, and stamps).
    """
    folder = renderings_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    keep = set()
    for r in renderings:
        path = folder / f"{r.slug}.json"
        keep.add(path.name)
        text = r.to_json()
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
    for old in folder.glob("*.json"):
        if old.name not in keep:
            old.unlink()
    if stamp:
        write_fingerprint(state_dir, fingerprint)


def read_renderings(state_dir: Path, *, root: Path | None = None) -> list[IssueRendering]:
    """The renderings of the last build, oldest issue first.

    A damaged file raises :class:`NewsdeskError` naming it, relative to ``root`` if given.
    """
    items = []
    for path in renderings_dir(state_dir).glob("*.json"):
        try:
            items.append(IssueRendering.from_json(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            shown = path.relative_to(root) if root and path.is_relative_to(root) else path
            raise NewsdeskError(
                f"a damaged rendering ({exc}); delete it and build the site again", shown
            ) from None
    return sorted(items, key=lambda r: (r.date, r.number or 0, r.slug))
