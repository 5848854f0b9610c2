"""The PDF cache under ``cache_dir``: per issue its PDF and a JSON entry with the key of
everything that shaped it (and its warnings, or the time limit it ran past)."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from lxml import html as lxml_html

from newsdesk.pdf.body import PACKAGE, STYLESHEET, TEMPLATE, overridden
from newsdesk.pdf.render import PDF_VARIANT
from newsdesk.pdf.site import site_file
from newsdesk.rendering import IssueRendering

CACHE_VERSION = 1
SOURCES = sorted(Path(__file__).parent.glob("*.py"))
"""The code that makes the PDFs: a change to it renders them all again."""


def setup_fingerprint(paper: str, newsletter_name: str, overrides: Path | str | None = None) -> str:
    """Everything besides the issue that shapes its PDF."""
    h = hashlib.sha256()
    for part in (
        str(CACHE_VERSION),
        _weasyprint_version(),
        paper,
        newsletter_name,
        PDF_VARIANT,
    ):
        h.update(part.encode() + b"\0")
    own = overridden(overrides, TEMPLATE.name)
    for file in (own or TEMPLATE, STYLESHEET, *SOURCES, PACKAGE / "i18n.py"):
        h.update(file.read_bytes() + b"\0")
    return h.hexdigest()


def _weasyprint_version() -> str:
    try:
        return metadata.version("weasyprint")
    except metadata.PackageNotFoundError:  # pragma: no cover - it is a dependency
        return "?"


def cache_key(r: IssueRendering, setup: str, site_dir: Path, site_url: str) -> str:
    """The issue's content hash, plus the bytes of the site's images it shows."""
    h = hashlib.sha256(f"{setup}\0{r.content_hash}\0{site_url}\0".encode())
    for url in sorted(_resource_urls(r.html)):
        path = site_file(url, site_url, site_dir)
        h.update(url.encode() + b"\0")
        if path is not None and path.is_file():
            h.update(hashlib.sha256(path.read_bytes()).digest())
        else:
            h.update(b"missing")
    return h.hexdigest()


def _resource_urls(html: str) -> set[str]:
    if not html.strip():
        return set()
    root = lxml_html.fragment_fromstring(html, create_parent="div")
    found = root.xpath("//img/@src | //object/@data | //*[local-name()='image']/@href")
    return {str(u) for u in found}


def read_entry(cache_dir: Path, slug: str) -> dict[str, Any]:
    """The cache's entry for an issue; empty when there is none or it is unreadable."""
    try:
        data = json.loads((cache_dir / f"{slug}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_entry(cache_dir: Path, slug: str, entry: dict[str, Any]) -> None:
    """Replace an issue's entry (atomically)."""
    tmp = cache_dir / f"{slug}.json.tmp"
    tmp.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
    tmp.replace(cache_dir / f"{slug}.json")


def forget(cache_dir: Path, slug: str) -> None:
    """Drop all the cache holds about an issue."""
    for suffix in (".json", ".pdf", ".pdf.part"):
        (cache_dir / f"{slug}{suffix}").unlink(missing_ok=True)


def prune(cache_dir: Path, slugs: set[str]) -> None:
    """Drop cached PDFs of issues no longer published, and leftovers of killed workers."""
    for path in cache_dir.iterdir():
        slug = path.name.split(".", 1)[0]
        if path.name.endswith((".part", ".tmp")) or (
            path.suffix in (".pdf", ".json") and slug not in slugs
        ):
            path.unlink(missing_ok=True)
