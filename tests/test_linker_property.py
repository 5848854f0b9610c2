"""Property: linking never changes a page's text content and never nests a link."""

from __future__ import annotations

import re

import lxml.html
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from newsdesk.glossary import Glossary, Term
from newsdesk.linker import EXCLUDED, LINK_CLASS, Linker

GLOSSARY = Glossary(
    [
        Term("POP", "pop", "Post Office Protocol", ("POP3",), 'Fetches "mail". More.', "a.md"),
        Term("SMTP", "smtp", "", ("Simple Mail Transfer Protocol",), "Sends <mail>.", "a.md"),
        Term("mail server", "mail-server", "", (), "A server &amp; more.", "a.md"),
        Term("MTA", "mta", "Mail Transfer Agent", (), "Relays.", "a.md"),
        Term("Übertragung", "ubertragung", "", (), "Transfer.", "a.md"),
    ]
)
LINKER = Linker(GLOSSARY)
OURS = re.compile(r'<a class="nd-term" href="[^"]*" title="[^"]*">([^<]*)</a>')

WORDS = st.sampled_from(
    [
        "SMTP",
        "smtp",
        "SMTPS",
        "SMTP's",
        "SMTP&#8217;s",
        "POP",
        "POP3",
        "POPular",
        "MTAs",
        "mail",
        "server",
        "mail server",
        "Mail&nbsp;Servers",
        "Simple Mail Transfer Protocol",
        "Übertragung",
        "schön",
        "&amp;",
        "&lt;",
        "&gt;",
        "&quot;",
        "&ampmail",
        "&#x1F600;",
        "&#169;",
        "https://example.org/SMTP",
        "SMTP@example.org",
        "(",
        ") –",
        " ",
        "\n",
        ".",
        ",",
    ]
)
TEXT = st.lists(WORDS, max_size=8).map("".join)
INLINE = ["em", "strong", "span", "code", "kbd", "a", "abbr", "sup"]
BLOCK = ["p", "li", "td", "div", "h2", "pre", "dd", "dt", "blockquote"]


def element(children: list[str], tag: str) -> str:
    attrs = {
        "a": ' href="https://example.org/SMTP"',
        "span": ' class="SMTP"',
        "div": ' data-glossary-term="pop"',
    }.get(tag, "")
    return f"<{tag}{attrs}>{''.join(children)}</{tag}>"


NODES = st.recursive(
    st.one_of(
        TEXT,
        st.just('<img alt="SMTP" src="x.png">'),
        st.just("<br>"),
        st.just("<!-- SMTP -->"),
        st.just("<script>var SMTP = '<b>SMTP</b>';</script>"),
    ),
    lambda children: st.builds(
        element, st.lists(children, max_size=4), st.sampled_from(INLINE + BLOCK)
    ),
    max_leaves=25,
)
DEFINITION = st.builds(
    lambda t, rest: f"<p><strong>{t}</strong> (Expansion) – {rest}</p>",
    st.sampled_from(["POP", "SMTP", "mail server"]),
    TEXT,
)
PAGES = st.lists(st.one_of(NODES, DEFINITION), min_size=1, max_size=6).map("".join)


def text_of(page: str) -> str:
    """The text content as a browser-like parser sees it (libxml2 via lxml).

    Trimmed: libxml2 drops white space that stands alone before the first element (`` SMTP``
    parses as "SMTP" once SMTP is a link), which says nothing about the linker – the first
    assertion already holds the output to the input byte for byte."""
    return lxml.html.fragment_fromstring(page, create_parent="div").text_content().strip()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PAGES, st.sampled_from(["first", "all"]))
@example(" SMTP", "first")
def test_linking_keeps_text_and_markup_and_never_nests_links(page, mode):
    result = LINKER.link(page, glossary_url="../glossary/", mode=mode)
    # Only our links were added: removing them gives the input back, byte for byte.
    assert OURS.sub(r"\1", result.html) == page
    assert text_of(result.html) == text_of(page)
    soup = BeautifulSoup(result.html, "html.parser")
    links = soup.select(f"a.{LINK_CLASS}")
    slugs = [a["href"].rsplit("#", 1)[1] for a in links]
    assert set(slugs) == result.mentions
    if mode == "first":
        assert len(slugs) == len(set(slugs))
    for a in links:
        assert a.find("a") is None
        assert not [p for p in a.parents if p.name in EXCLUDED], a
        own = [p for p in a.parents if p.get("data-glossary-term") == slugs[links.index(a)]]
        assert not own
        assert GLOSSARY.get(a["href"].rsplit("#", 1)[1]) is not None
    assert "\0" not in result.html
