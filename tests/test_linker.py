"""The linker: mentions of glossary terms in HTML become links to their entries."""

from __future__ import annotations

import re
import textwrap

import markdown
import pytest
from bs4 import BeautifulSoup

from newsdesk.glossary import Glossary, Term
from newsdesk.linker import LINK_CLASS, Linker, LinkResult, term_forms

URL = "../../glossary/"
OURS = re.compile(r'<a class="nd-term" href="[^"]*" title="[^"]*">(.*?)</a>', re.S)


def term(name: str, expansion: str = "", aliases: tuple[str, ...] = (), text: str = "") -> Term:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    definition = text or f"The definition of {name}. More."
    return Term(name, slug, expansion, aliases, definition, "newsletters/x.md")


GLOSSARY = Glossary(
    [
        term("POP", "Post Office Protocol", ("POP3", "Post Office Protocol")),
        term("IMAP", "Internet Message Access Protocol", ("IMAP4",)),
        term("SMTP", "Simple Mail Transfer Protocol", ("Simple Mail Transfer Protocol",)),
        term("MTA", "Mail Transfer Agent"),
        term("mail server", aliases=("email server",)),
        term("mail"),
        term("proxy"),
        term("mailbox"),
        term("Übertragung"),
        term("TLS", "Transport Layer Security"),
    ]
)
LINKER = Linker(GLOSSARY)


def link(html: str, mode: str = "first", url: str = URL) -> LinkResult:
    return LINKER.link(html, glossary_url=url, mode=mode)


def linked(html: str, mode: str = "all") -> list[tuple[str, str]]:
    """(link text, slug) of every link the linker added."""
    soup = BeautifulSoup(link(html, mode).html, "html.parser")
    return [(a.get_text(), a["href"].rsplit("#", 1)[1]) for a in soup.select(f"a.{LINK_CLASS}")]


def unlinked(html: str) -> str:
    return OURS.sub(r"\1", html)


def render(text: str) -> str:
    md = markdown.Markdown(
        extensions=[
            "admonition",
            "attr_list",
            "def_list",
            "footnotes",
            "md_in_html",
            "tables",
            "toc",
            "pymdownx.superfences",
            "pymdownx.keys",
        ],
        extension_configs={"toc": {"permalink": True}},
    )
    return md.convert(textwrap.dedent(text))


# --- The link itself ------------------------------------------------------------------------


def test_a_mention_becomes_a_link_with_the_tooltip():
    result = link("<p>Use SMTP today.</p>")
    assert result.html == (
        '<p>Use <a class="nd-term" href="../../glossary/#smtp" '
        'title="Simple Mail Transfer Protocol – The definition of SMTP.">SMTP</a> today.</p>'
    )
    assert result.mentions == frozenset({"smtp"})


def test_absolute_and_same_page_urls():
    assert (
        'href="https://letter.example.org/glossary/#imap"'
        in link("<p>IMAP</p>", url="https://letter.example.org/glossary/").html
    )
    assert 'href="#imap"' in link("<p>IMAP</p>", url="").html


def test_tooltip_and_href_are_escaped():
    evil = Term(
        "XSS",
        "xss",
        '"><script>alert(1)</script>',
        definition_html="Quotes &quot;here&quot; &amp; 'there'. More.",
        source="a.md",
    )
    result = Linker(Glossary([evil])).link("<p>An XSS hole.</p>", glossary_url='x"y/')
    soup = BeautifulSoup(result.html, "html.parser")
    assert soup.find("script") is None
    (a,) = soup.find_all("a")
    assert a["title"] == """"><script>alert(1)</script> – Quotes "here" & 'there'."""
    assert a["href"] == 'x"y/#xss'
    assert a.get_text() == "XSS"


def test_page_without_terms_is_returned_unchanged():
    page = "<p>Nothing to see.</p>"
    result = link(page)
    assert result.html is page and result.mentions == frozenset()
    assert Linker(Glossary([])).link("<p>SMTP</p>", glossary_url=URL).html == "<p>SMTP</p>"
    assert link("").html == ""


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode"):
        link("<p>SMTP</p>", mode="some")


# --- What matches ---------------------------------------------------------------------------


def test_acronyms_match_only_in_capitals_and_as_whole_words():
    assert linked("<p>smtp Smtp SMTPS POPular pop culture xIMAP IMAP_x MTA2</p>") == []
    assert linked("<p>SMTP, (POP) IMAP-based “MTA”</p>") == [
        ("SMTP", "smtp"),
        ("POP", "pop"),
        ("IMAP", "imap"),
        ("MTA", "mta"),
    ]


def test_other_terms_match_in_any_case():
    assert linked("<p>Mail Server, MAIL SERVER and mail server</p>") == [
        ("Mail Server", "mail-server"),
        ("MAIL SERVER", "mail-server"),
        ("mail server", "mail-server"),
    ]


def test_plurals_and_possessives_link_to_their_term():
    text = "<p>MTAs, SMTP's, SMTP’s, mail servers, mail server's, proxies, mailboxes, MTAs'</p>"
    assert linked(text) == [
        ("MTAs", "mta"),
        ("SMTP's", "smtp"),
        ("SMTP’s", "smtp"),
        ("mail servers", "mail-server"),
        ("mail server's", "mail-server"),
        ("proxies", "proxy"),
        ("mailboxes", "mailbox"),
        ("MTAs'", "mta"),
    ]
    assert linked("<p>MTAS mtas</p>") == []
    assert "MTAs" in term_forms("MTA") and "proxies" in term_forms("proxy")


def test_longest_match_wins():
    assert linked("<p>POP3 and Simple Mail Transfer Protocol via a mail server</p>") == [
        ("POP3", "pop"),
        ("Simple Mail Transfer Protocol", "smtp"),
        ("mail server", "mail-server"),
    ]
    assert linked("<p>mail and mail\nservers and mail&nbsp;server</p>") == [
        ("mail", "mail"),
        ("mail\nservers", "mail-server"),
        ("mail\xa0server", "mail-server"),
    ]


def test_first_mention_per_page_by_default_all_on_request():
    page = "<p>SMTP and SMTP</p><ul><li>SMTP, IMAP</li></ul>"
    assert linked(page, mode="first") == [("SMTP", "smtp"), ("IMAP", "imap")]
    assert linked(page, mode="all") == [("SMTP", "smtp")] * 3 + [("IMAP", "imap")]
    assert link(page).mentions == frozenset({"smtp", "imap"})


# --- Where it never links ------------------------------------------------------------------


@pytest.mark.parametrize(
    "page",
    [
        "<p><code>SMTP</code></p>",
        "<pre><code>SMTP\n</code></pre>",
        '<div class="highlight"><pre><span></span><code><span class="n">SMTP</span>'
        "</code></pre></div>",
        "<p><kbd>SMTP</kbd></p>",
        '<p><a href="https://example.org/">about SMTP</a></p>',
        '<p><a href="x"><em>nested SMTP</em></a></p>',
        "<h1>SMTP</h1>",
        '<h2 id="smtp-ports">SMTP Port Numbers<a class="headerlink" href="#smtp-ports">'
        "&para;</a></h2>",
        "<h6>about <em>SMTP</em></h6>",
        '<p><img alt="SMTP diagram" src="smtp.png" /></p>',
        "<p title=\"SMTP\" data-x='IMAP'>x</p>",
        "<p>https://example.org/SMTP/IMAP and www.example.org/SMTP</p>",
        "<p>Write to SMTP@example.org or SMTP.example.org.</p>",
        "<script>var SMTP = '<p>SMTP</p>';</script>",
        "<style>.SMTP { color: red }</style>",
        "<textarea>SMTP</textarea>",
        "<p><!-- SMTP --></p>",
        "<svg><text>SMTP</text></svg>",
        '<p><abbr title="x">SMTP</abbr></p>',
        "<p><code><code></code>SMTP</code></p>",
        '<p><a href="x">never closed SMTP</p><p>IMAP</p>',
        '<p><svg><path d="M0"/><text>SMTP</text></svg></p>',
    ],
)
def test_exclusions(page):
    result = link(page, mode="all")
    assert result.html == page
    assert result.mentions == frozenset()


def test_text_after_an_excluded_element_is_linked_again():
    page = "<h2>SMTP</h2><p><code>IMAP</code> and IMAP, <a href='x'>SMTP</a> then SMTP</p>"
    assert linked(page) == [("IMAP", "imap"), ("SMTP", "smtp")]
    page = "<pre>SMTP</pre><script>x</script><p>SMTP</p>"
    assert linked(page) == [("SMTP", "smtp")]


def test_not_on_the_terms_own_defining_paragraph():
    page = render(
        """
        **POP** (Post Office Protocol) – POP fetches mail, unlike IMAP. Post Office Protocol.

        Later, POP again.
        """
    )
    soup = BeautifulSoup(link(page).html, "html.parser")
    first, second = soup.find_all("p")
    assert [a.get_text() for a in first.find_all("a")] == ["mail", "IMAP"]
    assert [a.get_text() for a in second.find_all("a")] == ["POP"]


def test_not_on_the_terms_own_definition_list_entry():
    page = render(
        """
        mail server (MS)
        :   A mail server talks SMTP.

        MTA
        :   Not a mail server.
        """
    )
    soup = BeautifulSoup(link(page, mode="all").html, "html.parser")
    assert not soup.find("dt").find("a")
    first, second = soup.find_all("dd")
    assert [a.get_text() for a in first.find_all("a")] == ["SMTP"]
    assert [a.get_text() for a in second.find_all("a")] == ["mail server"]


EXPANSIONS = Glossary(
    [
        term("PSK", "Pre-Shared Key"),
        term("key"),
        term("MUA", "Mailer"),
        term("A1", "Same Thing"),
        term("B1", "Same Thing"),
        term("SMTP", "Simple Mail Transfer Protocol", ("Simple Mail Transfer Protocol",)),
        term("relay", "MTA"),
    ]
)


def expansion_links(html: str) -> list[tuple[str, str]]:
    result = Linker(EXPANSIONS).link(html, glossary_url=URL, mode="all")
    soup = BeautifulSoup(result.html, "html.parser")
    return [(a.get_text(), a["href"].rsplit("#", 1)[1]) for a in soup.select(f"a.{LINK_CLASS}")]


def test_an_expansion_links_to_its_term():
    page = (
        "<p>A pre-shared key, two Pre-Shared Keys, a PRE-SHARED KEY's length; "
        "pre shared key and preshared key are other words.</p>"
    )
    assert expansion_links(page) == [
        ("pre-shared key", "psk"),
        ("Pre-Shared Keys", "psk"),
        ("PRE-SHARED KEY's", "psk"),
        ("key", "key"),
        ("key", "key"),
    ]


def test_an_expansion_follows_the_linkers_rules():
    page = (
        "<h2>Pre-Shared Key</h2><p><code>pre-shared key</code> "
        '<a href="https://example.org/">pre-shared key</a> pre-shared keying.</p>'
        "<p>Mailer, not mailer. Same thing twice. An MTA.</p>"
    )
    # Not in headings, code or links; whole words; a one-word expansion only as written;
    # an expansion two terms share links to neither; an acronym expansion only in capitals.
    assert expansion_links(page) == [("Mailer", "mua"), ("MTA", "relay")]


def test_a_term_or_alias_spelled_like_another_terms_expansion_wins():
    glossary = Glossary(
        [term("MTA", "Mail Transfer Agent"), term("relay", "MTA"), term("POP", "Fetcher")]
    )
    glossary = Glossary([*glossary, term("fetcher", aliases=("Mail Transfer Agent",))])
    result = Linker(glossary).link(
        "<p>An MTA, a Mail Transfer Agent and a Fetcher.</p>", glossary_url=URL, mode="all"
    )
    soup = BeautifulSoup(result.html, "html.parser")
    assert [(a.get_text(), a["href"].rsplit("#", 1)[1]) for a in soup.select("a")] == [
        ("MTA", "mta"),
        ("Mail Transfer Agent", "fetcher"),
        ("Fetcher", "fetcher"),
    ]


def test_the_linker_reads_defining_paragraphs_with_the_projects_labels():
    glossary = Glossary([term("Recap")])
    page = "<p><strong>Recap</strong> – A Recap of the week.</p>"
    assert Linker(glossary).link(page, glossary_url=URL).mentions == frozenset()
    labelled = Linker(glossary, labels=frozenset({"recap"}))
    assert labelled.link(page, glossary_url=URL).mentions == {"recap"}


def test_an_expansion_is_not_linked_in_its_terms_own_definition():
    page = render(
        """
        **PSK** (Pre-Shared Key) – A pre-shared key is a secret both sides know.

        Pre-Shared Key
        :   Every pre-shared key needs a safe way to reach the other side.

        Later, a pre-shared key.
        """
    )
    assert expansion_links(page) == [("pre-shared key", "psk")]
    assert (
        BeautifulSoup(Linker(EXPANSIONS).link(page, glossary_url=URL).html, "html.parser")
        .select("p a")[0]
        .find_parent("p")
        .get_text()
        == "Later, a pre-shared key."
    )


def test_a_definition_list_entry_is_not_a_mention_of_its_own_term():
    """A ``<dt>`` naming the term by a plural, an alias or its expansion is its own entry too,
    and an entry alone is no mention."""
    page = render(
        """
        MTAs
        :   An MTA relays mail; the Mail Transfer Agent of the sender talks SMTP.

        POP3 (Post Office Protocol)
        :   POP fetches mail.
        """
    )
    result = link(page, mode="all")
    soup = BeautifulSoup(result.html, "html.parser")
    assert [a.get_text() for a in soup.select("a.nd-term")] == ["mail", "SMTP", "mail"]
    assert result.mentions == {"mail", "smtp"}


def test_not_inside_a_glossary_entry_of_the_same_term():
    page = '<div data-glossary-term="pop"><p>POP and IMAP</p></div><p>POP</p>'
    assert linked(page) == [("IMAP", "imap"), ("POP", "pop")]


# --- Where it does link ----------------------------------------------------------------------


def test_found_in_tables_lists_admonitions_and_footnotes():
    page = render(
        """
        | Protocol | Use |
        |----------|-----|
        | SMTP     | send |

        - fetch with IMAP
        - or POP3

        !!! note "About TLS"
            An MTA relays.

        Text.[^1]

        [^1]: A mail server note.
        """
    )
    assert linked(page) == [
        ("SMTP", "smtp"),
        ("IMAP", "imap"),
        ("POP3", "pop"),
        ("TLS", "tls"),
        ("MTA", "mta"),
        ("mail server", "mail-server"),
    ]


def test_nested_inline_markup_and_terms_at_text_node_edges():
    page = "<p><em>Use <strong>SMTP</strong></em>IMAP<span>MTA</span> TLS</p><p>POP</p>"
    result = link(page, mode="all")
    assert linked(page) == [
        ("SMTP", "smtp"),
        ("IMAP", "imap"),
        ("MTA", "mta"),
        ("TLS", "tls"),
        ("POP", "pop"),
    ]
    assert result.html.startswith('<p><em>Use <strong><a class="nd-term"')
    assert unlinked(result.html) == page


def test_entities_and_non_ascii_survive_byte_for_byte():
    page = (
        "<p>AT&amp;T&#8217;s SMTP&#8217;s relay &lt;IMAP&gt; &mdash; Die Übertragung "
        "läuft über SMTP – schön &#x1F600; &nbsp;mail&nbsp;servers&amp;</p>"
    )
    result = link(page, mode="all")
    assert unlinked(result.html) == page
    assert linked(page) == [
        ("SMTP’s", "smtp"),
        ("IMAP", "imap"),
        ("Übertragung", "bertragung"),
        ("SMTP", "smtp"),
        ("mail\xa0servers", "mail-server"),
    ]
    assert ">SMTP&#8217;s</a>" in result.html
    assert ">mail&nbsp;servers</a>" in result.html


def test_a_link_never_starts_or_ends_inside_a_character_reference():
    # "&ampmail" decodes to "&mail" in HTML; the reference must stay whole.
    page = "<p>&ampmail and &#77;TA</p>"
    assert unlinked(link(page, mode="all").html) == page


def test_untouched_markup_is_not_reformatted():
    page = (
        '<div class=x data-a="1 > 0"><span class="twemoji"><svg viewBox="0 0 24 24">'
        '<path d="M1 2"/></svg></span><br><br/><img src=x.png alt=SMTP>'
        "<p>see IMAP<!-- SMTP --></p>"
        '<input value="SMTP"><p>AT&amp;T&nbsp;&#169;</p><?pi SMTP?><![CDATA[SMTP]]>'
        "<table><tr><td>POP<td>MTA</table></div>"
    )
    result = link(page, mode="all")
    assert unlinked(result.html) == page
    assert [t for t, _ in linked(page)] == ["IMAP", "POP", "MTA"]


def test_full_document_links_only_the_body():
    page = (
        "<!doctype html><html><head><title>SMTP</title>"
        '<meta name="description" content="SMTP"><style>p{}</style></head>'
        "<body><p>SMTP</p></body></html>"
    )
    assert linked(page) == [("SMTP", "smtp")]


def test_find_terms_in_plain_text():
    text = "POP3, smtp and SMTP over a mail server."
    assert [(text[a:b], s) for a, b, s in LINKER.find_terms(text)] == [
        ("POP3", "pop"),
        ("SMTP", "smtp"),
        ("mail server", "mail-server"),
    ]


# --- Speed ------------------------------------------------------------------------------------


def synthetic_glossary(count: int) -> Glossary:
    names = [f"term{i}x" if i % 3 else f"T{i}X" for i in range(count)]
    return Glossary(Term(n, n.lower(), "", (), f"About {n}.", "a.md") for n in names)


def test_linking_time_is_linear_in_the_page_and_nearly_flat_in_the_number_of_terms():
    import random
    import time

    rng = random.Random(3)
    words = ["mail", "server", "the", "of", "protocol", "message", "client", "&amp;", "é"]
    paragraphs = []
    for _ in range(3000):
        body = " ".join(
            f"term{rng.randrange(3000)}x" if rng.random() < 0.05 else rng.choice(words)
            for _ in range(60)
        )
        paragraphs.append(f"<p>{body} <code>T3X</code> <em>x</em></p>\n")
    page = "".join(paragraphs)  # about 1 MB, cut in pages of ~30 KB below
    pages = [page[i : i + 30_000] for i in range(0, len(page), 30_000)]
    linkers = {n: Linker(synthetic_glossary(n)) for n in (30, 3000)}
    best = dict.fromkeys(linkers, float("inf"))
    # CPU time of this process, best of five, the sides alternating: other work on the
    # machine (a loaded CI host) stretches wall-clock time, not this.
    for _ in range(5):
        for n, linker in linkers.items():
            start = time.process_time()
            for p in pages:
                linker.link(p, glossary_url="../glossary/", mode="all")
            best[n] = min(best[n], time.process_time() - start)
    # Measured about 1.2-1.7x on a busy two-core machine; the bound leaves room for noise.
    assert best[3000] < 3 * best[30], best
    assert best[3000] < 2.0, best  # about 0.1 s: far from a loop of one regex per term
    # Linear in the page: the whole megabyte as one page costs about as much as its pieces.
    start = time.process_time()
    linkers[3000].link(page, glossary_url="../glossary/", mode="all")
    assert time.process_time() - start < 3 * best[3000] + 0.05
