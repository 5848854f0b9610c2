"""URL arithmetic between site pages, independent of any site generator."""

from __future__ import annotations

import posixpath
import re
from html import escape, unescape
from urllib.parse import urljoin


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


#: The tags that carry URLs in Markdown output; only these are looked into.
_TAG = re.compile(r"<(?:a|img|source|video|audio|iframe|area|link)\s[^<>]*>", re.I)
_URL_ATTR = re.compile(
    r"""(?P<lead>\s(?P<name>href|src|poster|srcset)\s*=\s*)(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')""",
    re.I,
)


#: A URL that ``urljoin`` returns as it is and that needs no escaping: absolute http(s),
#: nothing to unescape or escape, no empty query or fragment and no parameters (which
#: ``urlunparse`` would drop or rewrite). Most links of a link digest are like this.
_KEPT_AS_IS = re.compile(r"https?://[^\s&<>\"';/?#]+(?:[/?#][^\s&<>\"';]*)?")


def _unchanged(url: str) -> bool:
    return (
        _KEPT_AS_IS.fullmatch(url) is not None and not url.endswith(("?", "#")) and "?#" not in url
    )


def absolutize(html: str, base_url: str) -> str:
    """Make every link and image in an HTML fragment absolute against ``base_url``.

    Only the URL attributes inside tags are rewritten; the rest of the HTML is kept byte
    for byte (no parse and re-serialisation: this runs on every issue of every build).
    """

    def fix_attr(m: re.Match[str]) -> str:
        quote = '"' if m.group("dq") is not None else "'"
        raw = m.group("dq") if m.group("dq") is not None else m.group("sq")
        if _unchanged(raw) and m.group("name").lower() != "srcset":
            return m.group(0)
        value = unescape(raw)
        if m.group("name").lower() == "srcset":
            parts = []
            for candidate in value.split(","):
                url, _, size = candidate.strip().partition(" ")
                parts.append(" ".join(filter(None, (urljoin(base_url, url), size.strip()))))
            new = ", ".join(parts)
        else:
            new = urljoin(base_url, value.strip())
        return f"{m.group('lead')}{quote}{escape(new, quote=True)}{quote}"

    return _TAG.sub(lambda t: _URL_ATTR.sub(fix_attr, t.group(0)), html)
