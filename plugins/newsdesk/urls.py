"""URL arithmetic between site pages, independent of any site generator."""

from __future__ import annotations

import posixpath
from urllib.parse import urljoin, urlsplit

from lxml import html as lxml_html


def page_url(path: str, use_directory_urls: bool = True) -> str:
    """The URL of a page whose directory-style URL is ``path`` (``issues/2026/x/``)."""
    if use_directory_urls or not path or path.endswith(".html"):
        return path
    return path + "index.html"


def relative_url(from_url: str, to_url: str) -> str:
    """The link from the page at ``from_url`` to ``to_url`` (both relative to the site root).

    URLs ending in ``/`` are folders; anything else is a file in the folder before it.
    """
    to_path, _, fragment = to_url.partition("#")
    base = posixpath.dirname(from_url) if not from_url.endswith("/") else from_url.rstrip("/")
    target = to_path.rstrip("/") if to_path else ""
    rel = posixpath.relpath(target or ".", base or ".")
    if to_path.endswith("/") or not to_path:
        rel = "./" if rel == "." else rel + "/"
    return rel + (f"#{fragment}" if fragment else "")


def absolute_url(site_url: str, path: str) -> str:
    """``path`` (relative to the site root) as an absolute URL under ``site_url``."""
    return urljoin(site_url.rstrip("/") + "/", path.lstrip("/"))


def is_external(url: str) -> bool:
    """True for links leaving the site: a scheme such as ``https:`` or ``mailto:``."""
    return bool(urlsplit(url).scheme)


def absolutize(html: str, base_url: str) -> str:
    """Make every link and image in an HTML fragment absolute against ``base_url``."""
    if not html.strip():
        return html
    root = lxml_html.fragment_fromstring(html, create_parent="div")
    root.make_links_absolute(base_url, resolve_base_href=False)
    return (root.text or "") + "".join(
        lxml_html.tostring(child, encoding="unicode") for child in root
    )
