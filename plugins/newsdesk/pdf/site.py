"""Where the print edition meets the built site: each issue's PDF path, and the site's files."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

from newsdesk.rendering import IssueRendering


def pdf_path(rendering: IssueRendering) -> str:
    """Where the issue's PDF lives, relative to the site root.

    ``issues/<year>/<slug>/<slug>.pdf``, or the path of ``rendering.pdf_url`` when the
    build gave one under the site's address.
    """
    site_url = with_slash(rendering.site_url) if rendering.site_url else ""
    if rendering.pdf_url and site_url and rendering.pdf_url.startswith(site_url):
        return unquote(urlsplit(rendering.pdf_url[len(site_url) :]).path)
    return f"issues/{rendering.date.year}/{rendering.slug}/{rendering.slug}.pdf"


def with_slash(url: str) -> str:
    """``url`` ending in exactly one ``/``."""
    return url.rstrip("/") + "/"


def site_file(url: str, site_url: str, site_dir: Path) -> Path | None:
    """The file in ``site_dir`` that ``url`` names, or None when it is not the site's."""
    if not url.startswith(site_url):
        return None
    rel = unquote(urlsplit(url[len(site_url) :]).path)
    if not rel or rel.endswith("/"):
        rel += "index.html"
    root = site_dir.resolve()
    path = (root / rel).resolve()
    return path if path.is_relative_to(root) else None


def publish(cached: Path, dest: Path) -> None:
    """Copy a PDF from the cache into the site."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, dest)


def unpublish(site_dir: Path, r: IssueRendering) -> None:
    """Remove an issue's PDF from the site: an old copy, or the empty stand-in the site
    generator may have written for link checking, is not to be published."""
    (site_dir / pdf_path(r)).unlink(missing_ok=True)
