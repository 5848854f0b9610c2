"""URL arithmetic and absolute links for feeds, PDFs and email."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsdesk.urls import absolutize, relative_url

BASE = "https://example.org/news/issues/2026/x/"


@pytest.mark.parametrize(
    ("start", "target", "expected"),
    [
        ("issues/2026/x/", "glossary/#pop", "../../../glossary/#pop"),
        ("issues/", "issues/2026/x/x.pdf", "2026/x/x.pdf"),
        ("", "issues/", "issues/"),
        ("index.html", "issues/index.html", "issues/index.html"),
        ("issues/2026/a/", "issues/2026/b/", "../b/"),
        ("glossary/", "glossary/", "./"),
    ],
)
def test_relative_url(start: str, target: str, expected: str) -> None:
    assert relative_url(start, target) == expected


def test_absolutize_rewrites_url_attributes_only() -> None:
    html = (
        '<p>Hi <a class="x" href="../../../glossary/#pop" title="a &amp; b">POP</a> &amp; '
        '<img src="img.png" alt="é" srcset="a.png 1x, b.png 2x"> '
        '<a href="?a=1&amp;b=2">q</a> <code>&lt;a href="x"&gt;</code> '
        "<a href='#frag'>f</a> <a href=\"mailto:x@example.org\">m</a></p>tail"
    )
    out = absolutize(html, BASE)
    assert 'href="https://example.org/news/glossary/#pop"' in out
    assert 'src="https://example.org/news/issues/2026/x/img.png"' in out
    assert (
        'srcset="https://example.org/news/issues/2026/x/a.png 1x, '
        'https://example.org/news/issues/2026/x/b.png 2x"'
    ) in out
    assert 'href="https://example.org/news/issues/2026/x/?a=1&amp;b=2"' in out
    assert "href='https://example.org/news/issues/2026/x/#frag'" in out
    assert 'href="mailto:x@example.org"' in out
    # Text that merely looks like markup, entities and everything else stay as they were.
    assert '<code>&lt;a href="x"&gt;</code>' in out
    assert out.startswith('<p>Hi <a class="x" ') and out.endswith("</p>tail")
    assert 'title="a &amp; b"' in out and 'alt="é"' in out


def _absolutize_by_urljoin(html: str, base_url: str) -> str:
    """The oracle: every URL attribute through unescape → urljoin → escape."""
    import html as htmllib
    import re
    from urllib.parse import urljoin

    def fix(m: re.Match[str]) -> str:
        value = htmllib.unescape(m.group(2)).strip()
        return f'{m.group(1)}"{htmllib.escape(urljoin(base_url, value), quote=True)}"'

    return re.sub(r'(<a href=)"([^"]*)"', fix, html)


@given(
    st.sampled_from(["https://", "http://", "HTTPS://", "https:/", "//", "", "ftp://", "./"]),
    st.text(alphabet="abXY/?#;&:.=-_%~ @!$()*+,09", max_size=14),
)
def test_absolutize_keeps_only_what_urljoin_would_keep(prefix: str, tail: str) -> None:
    html = f'<p><a href="{prefix}{tail}">x</a></p>'
    base = "https://news.example.org/issues/2026/x/"
    assert absolutize(html, base) == _absolutize_by_urljoin(html, base)
