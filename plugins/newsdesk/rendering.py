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
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCHEMA = 1
BUILT_STAMP = ".built"


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
    content_hash: str = field(default="")

    def __post_init__(self) -> None:
        if not self.content_hash:
            object.__setattr__(self, "content_hash", self.compute_hash())

    def compute_hash(self) -> str:
        data = asdict(self)
        data.pop("content_hash", None)
        blob = json.dumps(data, default=str, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()

    def to_json(self) -> str:
        data = asdict(self)
        data["schema"] = SCHEMA
        data["date"] = self.date.isoformat()
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> IssueRendering:
        data = json.loads(text)
        data.pop("schema", None)
        data["date"] = dt.date.fromisoformat(data["date"])
        data["tags"] = tuple(data.get("tags") or ())
        data["terms"] = tuple(TermNote(**t) for t in data.get("terms") or ())
        return cls(**data)


def renderings_dir(state_dir: Path) -> Path:
    return state_dir / "renderings"


def write_renderings(state_dir: Path, renderings: list[IssueRendering]) -> None:
    """Write each rendering, and remove those of issues no longer published."""
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
    # Marks the build's time even when no rendering changed, so readers know they are fresh.
    (folder / BUILT_STAMP).touch()


def read_renderings(state_dir: Path) -> list[IssueRendering]:
    """The renderings of the last build, oldest issue first."""
    folder = renderings_dir(state_dir)
    items = [IssueRendering.from_json(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")]
    return sorted(items, key=lambda r: (r.date, r.number or 0, r.slug))
