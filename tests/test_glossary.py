"""The glossary core: extraction from issue HTML, the curated file, merging, the page."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import markdown
import pytest
import yaml
from bs4 import BeautifulSoup

from newsdesk.errors import NewsdeskError, NewsdeskErrors
from newsdesk.glossary import (
    Entry,
    Glossary,
    Term,
    build_glossary,
    definition_line,
    extract_terms,
    first_sentence,
    glossary_page_markdown,
    load_glossary_file,
    slugify,
)
from newsdesk.issues import parse_issue
from newsdesk.linker import Linker

REPO = Path(__file__).resolve().parent.parent
SEED = "newsletters/2026-11-26-email-servers.md"
EXTENSIONS = [
    "abbr",
    "admonition",
    "attr_list",
    "def_list",
    "footnotes",
    "md_in_html",
    "tables",
    "toc",
    "pymdownx.details",
    "pymdownx.superfences",
    "pymdownx.keys",
]


def render(text: str) -> str:
    """Markdown as the site renders it (the extensions of the project's mkdocs.yml)."""
    md = markdown.Markdown(extensions=EXTENSIONS, extension_configs={"toc": {"permalink": True}})
    return md.convert(textwrap.dedent(text))


def seed_html() -> str:
    issue, _ = parse_issue((REPO / SEED).read_text(encoding="utf-8"), SEED)
    return render(issue.body)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsletters" / "glossary.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str) -> list[Entry]:
    return load_glossary_file(write(tmp_path, text), tmp_path, render)


# --- Extraction ---------------------------------------------------------------------------


def test_seed_issue_defines_pop_imap_smtp_in_its_own_words():
    terms = {t.term: t for t in extract_terms(seed_html(), SEED)}
    assert set(terms) == {"POP", "IMAP", "SMTP"}
    pop = terms["POP"]
    assert pop.slug == "pop"
    assert pop.expansion == "Post Office Protocol"
    assert pop.source == SEED
    assert pop.definition_html.startswith(
        "<p>This protocol delivers your mail from a server at once."
    )
    assert pop.definition_html.endswith("Plus, all mail is stored on one place.</p>")
    assert pop.summary == (
        "Post Office Protocol – This protocol delivers your mail from a server at once."
    )
    assert terms["SMTP"].expansion == "Simple Mail Transfer Protocol"
    assert terms["IMAP"].summary.startswith("Internet Message Access Protocol – This protocol is")


@pytest.mark.parametrize("dash", ["–", "—", "-", "&ndash;", "&#8212;"])
def test_each_dash_form_defines_a_term(dash):
    html = render(f"**MTA** (Mail Transfer Agent) {dash} Moves mail between servers.")
    (term,) = extract_terms(html, "newsletters/a.md")
    assert (term.term, term.expansion) == ("MTA", "Mail Transfer Agent")
    assert term.definition_html == "<p>Moves mail between servers.</p>"


@pytest.mark.parametrize(
    "text",
    [
        "Update (March) – nothing new this week.",  # no bold
        "**Update** (March): nothing new.",  # no dash
        "Read **POP** (Post Office Protocol) – not at the start.",
        "**POP**-based mail (old) – a hyphenated word is not a dash.",
        "`**POP** (x) – code`",
    ],
)
def test_ordinary_sentences_define_nothing(text):
    assert extract_terms(render(text), "newsletters/a.md") == []


def test_a_bold_term_and_a_dash_define_a_term_without_an_expansion():
    html = render("**snapshot** – a copy of a volume at one *moment*.\n\nLater, a snapshot.")
    (term,) = extract_terms(html, "newsletters/a.md")
    assert (term.term, term.expansion, term.slug) == ("snapshot", "", "snapshot")
    assert term.definition_html == "<p>a copy of a volume at one <em>moment</em>.</p>"
    assert term.summary == "a copy of a volume at one moment."
    # The linker agrees: not linked in its own paragraph, linked in the next.
    glossary, _ = build_glossary([term])
    soup = BeautifulSoup(Linker(glossary).link(html, glossary_url="g/").html, "html.parser")
    first, second = soup.find_all("p")
    assert first.find("a") is None and second.a.get_text() == "snapshot"


@pytest.mark.parametrize(
    "text",
    [
        "**Note** – the server restarts at midnight.",  # a label
        "**Warning** – do not run this on a production server.",
        "**TL;DR** – use port 587.",
        "**Update** (March) – nothing new.",  # a label, even with parentheses
        "**Note:** – odd, but a label.",  # ends in punctuation
        "**Update, 3 December** – the fix has shipped.",  # a comma
        "**Do not reboot the server while it runs** – it corrupts the queue.",  # 8 words
        "**snapshot** –",  # nothing after the dash
        "**snapshot**: a copy.",  # a colon is not a dash
        "**snapshot** is a copy – of a volume.",  # the dash must follow the term at once
    ],
)
def test_labels_sentences_and_loose_dashes_define_nothing(text):
    assert extract_terms(render(text), "newsletters/a.md") == []


def test_labels_can_be_chosen():
    html = render("**Note** – a short text kept beside another.")
    (term,) = extract_terms(html, "newsletters/a.md", labels=frozenset({"warning"}))
    assert term.term == "Note"


PARAGRAPHS = REPO / "tests" / "data" / "glossary_paragraphs.yml"
KNOWN_FALSE_DEFINITIONS = {"Last week's quiz answer"}
"""Held-out paragraphs the rule still reads as definitions (documented in the README)."""


def test_labelled_paragraphs(capsys):
    """Recall and precision of extraction on paragraphs written the way people write."""
    corpus = yaml.safe_load(PARAGRAPHS.read_text(encoding="utf-8"))
    assert len(corpus["defines"]) >= 20 and len(corpus["plain"]) >= 30
    found = 0
    for entry in corpus["defines"]:
        terms = [t.term for t in extract_terms(render(entry["text"]), "newsletters/a.md")]
        assert terms == [entry["term"]], entry["text"]
        found += 1
    false = set()
    for text in corpus["plain"]:
        false.update(t.term for t in extract_terms(render(text), "newsletters/a.md"))
    with capsys.disabled():
        print(
            f"\nglossary paragraphs: {found}/{len(corpus['defines'])} definitions found, "
            f"{len(false)} of {len(corpus['plain'])} other paragraphs read as definitions"
        )
    assert false == KNOWN_FALSE_DEFINITIONS


def test_expansion_with_inner_parentheses_and_inline_markup():
    html = render("**IMAP** (Internet Message Access Protocol (v4)) – Keeps mail *on* the server.")
    (term,) = extract_terms(html, "newsletters/a.md")
    assert term.expansion == "Internet Message Access Protocol (v4)"
    assert term.definition_html == "<p>Keeps mail <em>on</em> the server.</p>"
    assert term.definition_text == "Keeps mail on the server."


def test_definition_lists_define_terms():
    html = render(
        """
        mail server (MS)
        :   A computer that stores mail.

            It also sends it.

        relay
        smart host
        :   A server that forwards mail.
        """
    )
    terms = {t.term: t for t in extract_terms(html, "newsletters/b.md")}
    assert set(terms) == {"mail server", "relay", "smart host"}
    assert terms["mail server"].expansion == "MS"
    assert terms["mail server"].slug == "mail-server"
    assert "<p>It also sends it.</p>" in terms["mail server"].definition_html
    assert terms["relay"].definition_html == "<p>A server that forwards mail.</p>"
    assert terms["smart host"].definition_html == terms["relay"].definition_html


def test_extracted_definitions_are_escaped_and_made_safe():
    html = (
        '<p><strong>X&lt;1&gt;</strong> (Ex "one") – a &lt;script&gt; tag: '
        '<script>alert(1)</script><em onclick="evil()">in</em> text</p>'
    )
    (term,) = extract_terms(html, "newsletters/c.md")
    assert term.term == "X<1>"
    assert term.expansion == 'Ex "one"'
    assert "<script" not in term.definition_html
    assert "onclick" not in term.definition_html
    assert "a &lt;script&gt; tag:" in term.definition_html
    assert "<em>in</em> text" in term.definition_html


def test_non_ascii_terms_get_ascii_slugs():
    html = render("**Übertragung** (Ü) – Deutsch für Transfer.")
    (term,) = extract_terms(html, "newsletters/d.md")
    assert term.term == "Übertragung"
    assert term.slug == "ubertragung"
    assert slugify("端口") == "端口"
    assert slugify("C++") == "c"


def test_first_sentence_keeps_abbreviations_and_cuts_long_text():
    assert first_sentence("Use e.g. this one. Then that.") == "Use e.g. this one."
    assert first_sentence("Ends with a question? Yes.") == "Ends with a question?"
    long = first_sentence("word " * 200)
    assert long.endswith("…") and len(long) <= 300


# --- The curated file ---------------------------------------------------------------------


def test_missing_or_empty_file_gives_no_entries(tmp_path):
    assert load_glossary_file(tmp_path / "nope.yml", tmp_path, render) == []
    assert load(tmp_path, "# nothing yet\n") == []


def test_entries_are_read_with_markdown_definitions(tmp_path):
    entries = load(
        tmp_path,
        """
        - term: TLS
          expansion: Transport Layer Security
          aliases: [SSL/TLS]
          definition: Encrypts *connections* (RFC 8446).
          related: [STARTTLS]
        - term: POP
          aliases: POP3
        """,
    )
    tls, pop = entries
    assert tls.term == "TLS" and tls.line == 2
    assert tls.definition_html == "<p>Encrypts <em>connections</em> (RFC 8446).</p>"
    assert tls.aliases == ("SSL/TLS",)
    assert tls.related == ("STARTTLS",)
    assert pop.aliases == ("POP3",) and pop.definition_html == "" and pop.line == 7


def test_autolinks_stay_links_and_default_markdown_renders(tmp_path):
    path = write(tmp_path, "- term: RFC\n  definition: See <https://www.rfc-editor.org/>.\n")
    (entry,) = load_glossary_file(path, tmp_path)
    soup = BeautifulSoup(entry.definition_html, "html.parser")
    assert soup.a["href"] == "https://www.rfc-editor.org/"


def test_raw_html_in_a_definition_is_shown_as_text(tmp_path):
    (entry,) = load(
        tmp_path,
        """
        - term: XSS
          definition: 'A <script>alert("x")</script> tag, `<b>` in code, and "quotes".'
        """,
    )
    soup = BeautifulSoup(entry.definition_html, "html.parser")
    assert soup.find("script") is None and soup.find("b") is None
    assert soup.get_text() == 'A <script>alert("x")</script> tag, <b> in code, and "quotes".'


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("term: POP\n", "must be a list of entries", 1),
        ("- term: POP\n- [a, b]\n", "entry 2 must be a mapping", 2),
        ("- term: POP\n  aliases: [POP3]\n- expansion: Nothing\n", "entry 2 has no 'term'", 3),
        ("- term: POP\n  alias: [POP3]\n", "unknown key 'alias'", 2),
        ("- term: POP\n  aliases: {a: 1}\n", "'aliases' must be a list", 2),
        ("- term: POP\n  related: [[x]]\n", "'related' must be a list", 2),
        ("- term: POP\n  definition: [x]\n", "'definition' must be Markdown text", 2),
        ("- term: POP\n  aliases: [POP3\n", "not valid YAML", 3),
        ("- term: POP\n  mode: extend\n", "'mode' must be one of replace, add", 2),
    ],
)
def test_malformed_files_name_the_file_and_line(tmp_path, text, message, line):
    with pytest.raises(NewsdeskError) as info:
        load(tmp_path, text)
    error = info.value
    errors = getattr(error, "errors", [error])
    match = [e for e in errors if message in e.message]
    assert match, str(error)
    assert match[0].path == "newsletters/glossary.yml"
    assert match[0].line == line


def test_every_problem_of_the_file_is_reported_at_once(tmp_path):
    text = (
        "- term: POP\n  aliases: {a: 1}\n  colour: red\n"
        "- term: '42'\n  mode: extend\n"
        "- [x]\n"
        "- definition: None\n"
    )
    with pytest.raises(NewsdeskErrors) as info:
        load(tmp_path, text)
    assert [str(e) for e in info.value.errors] == [
        "newsletters/glossary.yml:3: entry 1: unknown key 'colour' (known: term, expansion, "
        "aliases, definition, fallback, related, mode)",
        "newsletters/glossary.yml:2: entry 'POP': 'aliases' must be a list of terms",
        "newsletters/glossary.yml:4: entry '42': a term needs at least one letter",
        "newsletters/glossary.yml:5: entry '42': 'mode' must be one of replace, add, not 'extend'",
        "newsletters/glossary.yml:6: entry 3 must be a mapping with 'term:' and optional "
        "expansion, aliases, definition, fallback, related, mode",
        "newsletters/glossary.yml:7: entry 4 has no 'term'",
    ]


# --- Merging ------------------------------------------------------------------------------


def issue_terms() -> list[Term]:
    return extract_terms(seed_html(), SEED)


def build(tmp_path: Path, text: str, extracted: list[Term] | None = None):
    entries = load(tmp_path, text)
    return build_glossary(issue_terms() if extracted is None else extracted, entries)


def test_project_glossary_keeps_the_seed_issues_words_and_covers_every_port_protocol():
    entries = load_glossary_file(REPO / "newsletters/glossary.yml", REPO, render)
    glossary, warnings = build_glossary(issue_terms(), entries)
    assert warnings == []
    pop, imap, smtp = glossary.get("pop"), glossary.get("imap"), glossary.get("smtp")
    assert pop and imap and smtp
    assert pop.source == imap.source == smtp.source == SEED
    assert pop.definition_text.startswith("This protocol delivers your mail")
    assert "POP3" in pop.aliases and "IMAP4" in imap.aliases
    assert "Simple Mail Transfer Protocol" in smtp.aliases
    assert {"imap", "smtp"} <= set(pop.related)
    for slug in ("tls", "starttls", "mta", "port-number"):
        term = glossary.get(slug)
        assert term is not None and term.definition_html and term.related, slug
    registry = yaml.safe_load((REPO / "plugins/newsdesk/data/ports.yml").read_text())
    rows = registry["ports"] if isinstance(registry, dict) else registry
    for row in rows:
        name = row["protocol"]
        term = glossary.lookup(name)
        assert term is not None, f"port registry protocol {name!r} has no glossary entry"
        assert name in term.names, f"{name!r} is spelled differently in the glossary"
    # A–Z order, case-insensitive.
    names = [t.term.casefold() for t in glossary]
    assert names == sorted(names)


def test_curated_definition_adds_a_term_and_replaces_an_issues_definition(tmp_path):
    glossary, warnings = build(
        tmp_path,
        """
        - term: SMTP
          definition: The protocol that moves mail.
        - term: MTA
          expansion: Mail Transfer Agent
          definition: A relay.
        """,
    )
    assert warnings == []
    smtp = glossary.get("smtp")
    assert smtp.definition_html == "<p>The protocol that moves mail.</p>"
    assert smtp.expansion == "Simple Mail Transfer Protocol"
    assert smtp.source == "newsletters/glossary.yml"
    mta = glossary.get("mta")
    assert mta.summary == "Mail Transfer Agent – A relay."
    assert glossary.lookup("mta") is mta and glossary.lookup("nope") is None


MX_ISSUE = "newsletters/2026-12-01-dns.md"


def mx_record() -> Term:
    html = render("**MX record** – Names the servers that take mail for a domain.")
    (term,) = extract_terms(html, MX_ISSUE)
    return replace(term, line=8)


def test_a_curated_definition_replacing_an_issues_says_so_in_one_line(tmp_path):
    text = "- term: POP\n  aliases: [POP3]\n\n- term: MX record\n  definition: The DNS record.\n"
    notes: list[str] = []
    glossary, warnings = build_glossary([mx_record()], load(tmp_path, text)[1:], notes=notes)
    assert warnings == []
    assert notes == [
        "newsletters/glossary.yml:5: 'MX record' replaces the definition in "
        "newsletters/2026-12-01-dns.md:8 (mode: add keeps both)"
    ]
    mx = glossary.get("mx-record")
    assert mx.definition_text == "The DNS record."
    assert (mx.source, mx.line) == ("newsletters/glossary.yml", 5)
    # Adding to an issue's term, or a term of its own, replaces nothing: nothing to say.
    notes.clear()
    build_glossary(
        [mx_record()], load(tmp_path, "- term: MX record\n  aliases: [MX]\n"), notes=notes
    )
    build_glossary([], load(tmp_path, text)[1:], notes=notes)
    assert notes == []


def test_mode_add_keeps_the_issues_definition_and_adds_to_it(tmp_path):
    text = """
    - term: MX record
      mode: add
      expansion: Mail Exchanger record
      aliases: [MX]
      definition: See RFC 5321, section 5.
      related: [POP]
    - term: POP
      fallback: Fetches mail.
    """
    notes: list[str] = []
    glossary, warnings = build_glossary([mx_record()], load(tmp_path, text), notes=notes)
    assert warnings == [] and notes == []
    mx = glossary.get("mx-record")
    assert mx.definition_html == (
        "<p>Names the servers that take mail for a domain.</p>\n<p>See RFC 5321, section 5.</p>"
    )
    assert (mx.source, mx.line) == (MX_ISSUE, 8)
    assert mx.aliases == ("MX",) and mx.related == ("pop",)
    assert mx.expansion == "Mail Exchanger record"  # the issue gave none
    # While no issue defines the term, the entry's definition stands alone.
    alone, _ = build_glossary([], load(tmp_path, text))
    assert alone.get("mx-record").definition_text == "See RFC 5321, section 5."
    assert alone.get("mx-record").source == "newsletters/glossary.yml"


def test_the_line_an_issue_defines_a_term_on():
    body = textwrap.dedent(
        """\
        Intro about the MX record.

        **MX record** – the record.

        Greylisting
        Grey listing
        :   delays mail.

        DNS (Domain Name System)

        :   names.

        Just text
        and more.
        """
    )
    lines = {n: definition_line(body, n) for n in ("mx record", "Greylisting", "Grey listing")}
    assert lines == {"mx record": 3, "Greylisting": 5, "Grey listing": 6}
    assert definition_line(body, "DNS") == 9
    assert definition_line(body, "Just text") is None
    assert definition_line(body, "Intro") is None


def test_two_issues_defining_one_term_is_a_warning_naming_both():
    first = Term("POP", "pop", "Post Office Protocol", definition_html="One.", source="n/a.md")
    second = Term("pop", "pop", "", definition_html="Two.", source="n/b.md")
    same = Term("POP", "pop", "", definition_html="One.", source="n/c.md")
    glossary, warnings = build_glossary([first, second, same], [])
    assert len(glossary) == 1
    assert glossary.get("pop").definition_html == "One."
    (warning,) = warnings
    assert "n/a.md" in warning and "n/b.md" in warning and "'pop'" in warning


def test_a_term_without_any_definition_is_an_error(tmp_path):
    with pytest.raises(NewsdeskError) as info:
        build(tmp_path, "- term: POP\n- term: Gopher\n  aliases: [gopher protocol]\n")
    assert info.value.path == "newsletters/glossary.yml"
    assert info.value.line == 2
    assert "'Gopher' has no definition" in info.value.message


def test_an_entry_no_issue_defines_any_more_is_one_clear_error(tmp_path):
    """The issue that defined SMTP is gone: the entry that only added to it says what to do,
    and the entries naming SMTP as related are not errors of their own."""
    text = (
        "- term: SMTP\n"
        "  aliases: [ESMTP]\n"
        "  related: [MTA]\n"
        "- term: MTA\n"
        "  definition: A mail relay.\n"
        "  related: [SMTP, ESMTP]\n"
    )
    with pytest.raises(NewsdeskError) as info:
        build(tmp_path, text, extracted=[])
    assert str(info.value) == (
        "newsletters/glossary.yml:1: entry 'SMTP' has no definition: no issue defines it and "
        "the entry has none of its own; add a 'definition:' to the entry (or a 'fallback:', "
        "shown while no issue defines it), or delete the entry"
    )


def test_a_fallback_stands_alone_only_while_no_issue_defines_the_term(tmp_path):
    text = "- term: POP\n  expansion: Post Office Protocol\n  fallback: Downloads *mail*.\n"
    alone, warnings = build(tmp_path, text, extracted=[])
    pop = alone.get("pop")
    assert warnings == [] and pop is not None
    assert pop.definition_text == "Downloads mail."
    assert pop.source == "newsletters/glossary.yml"
    assert pop.expansion == "Post Office Protocol"
    # Once an issue defines POP, its words are used and the fallback is not.
    defined, _ = build(tmp_path, text)
    pop = defined.get("pop")
    assert pop is not None and pop.source == SEED
    assert pop.definition_text.startswith("This protocol delivers your mail")


def test_an_alias_claimed_twice_is_an_error(tmp_path):
    with pytest.raises(NewsdeskError) as info:
        build(
            tmp_path,
            """
            - term: POP
              aliases: [POP3]
            - term: IMAP
              aliases: [IMAP4, pop3]
            """,
        )
    assert "alias 'pop3' is an alias of 'POP' too" in str(info.value)
    assert info.value.line == 5


def test_an_alias_that_is_another_term_is_an_error(tmp_path):
    with pytest.raises(NewsdeskError, match="alias 'SMTP' is a term itself"):
        build(tmp_path, "- term: POP\n  aliases: [SMTP]\n")


def test_related_must_name_a_known_term_or_alias(tmp_path):
    glossary, _ = build(
        tmp_path, "- term: POP\n  aliases: [POP3]\n- term: IMAP\n  related: [pop3]\n"
    )
    assert glossary.get("imap").related == ("pop",)
    with pytest.raises(NewsdeskError) as info:
        build(tmp_path, "- term: POP\n  related: [IMAP, Gopher]\n")
    assert "related term 'Gopher' is not in the glossary" in info.value.message
    assert info.value.line == 2


def test_errors_in_several_entries_are_reported_together(tmp_path):
    with pytest.raises(NewsdeskError) as info:
        build(tmp_path, "- term: A1\n- term: POP\n  related: [nope]\n")
    text = str(info.value)
    assert "newsletters/glossary.yml:1: entry 'A1' has no definition" in text
    assert "newsletters/glossary.yml:3: entry 'POP': related term 'nope'" in text


def test_slugs_are_unique():
    terms = [
        Term("C++", "c", definition_html="x", source="a.md"),
        Term("C", "c", definition_html="y", source="a.md"),
    ]
    glossary, _ = build_glossary(terms, [])
    assert sorted(t.slug for t in glossary) == ["c", "c-2"]
    assert glossary.lookup("C++").slug != glossary.lookup("c").slug


# --- The page -----------------------------------------------------------------------------


def project_glossary() -> Glossary:
    entries = load_glossary_file(REPO / "newsletters/glossary.yml", REPO, render)
    return build_glossary(issue_terms(), entries)[0]


def page_html(glossary: Glossary, **kwargs) -> BeautifulSoup:
    issue_url = "../issues/2026/email-servers/"
    text = glossary_page_markdown(
        glossary,
        kwargs.pop("mentions", {"pop": [("Email Servers", issue_url)]}),
        lambda source: ("Email Servers", issue_url) if source == SEED else None,
        **kwargs,
    )
    html = render(text)
    linked = Linker(glossary).link(html, glossary_url="", mode="all").html
    return BeautifulSoup(linked, "html.parser")


def test_glossary_page_has_a_section_per_term_and_a_jump_bar():
    glossary = project_glossary()
    soup = page_html(glossary, extra=lambda t: "<p class='ports'>P</p>" if t.slug == "pop" else "")
    headings = soup.find_all("h2")
    assert [h["id"] for h in headings] == [t.slug for t in glossary]
    pop = soup.find(id="pop")
    assert pop.get_text().startswith("POP")
    entry = pop.find_next_sibling("div")
    assert entry.find(class_="nd-glossary-expansion").get_text() == "Post Office Protocol"
    assert "POP3" in entry.find(class_="nd-glossary-aliases").get_text()
    assert (
        entry.find(class_="nd-glossary-definition")
        .get_text()
        .strip()
        .startswith("This protocol delivers your mail")
    )
    source = entry.find(class_="nd-glossary-source").a
    assert source["href"] == "../issues/2026/email-servers/"
    related = [a["href"] for a in entry.find(class_="nd-glossary-related").find_all("a")]
    assert "#imap" in related and "#smtp" in related
    mentions = entry.find(class_="nd-glossary-mentions").find_all("a")
    assert [(a.get_text(), a["href"]) for a in mentions] == [
        ("Email Servers", "../issues/2026/email-servers/")
    ]
    assert entry.find(class_="ports").get_text() == "P"
    # A term is not linked inside its own entry, but other terms are.
    assert not entry.find("a", href="#pop")
    smtp = soup.find(id="smtp").find_next_sibling("div")
    assert not smtp.find("a", href="#smtp")
    assert smtp.find("a", class_="nd-term", href="#mail-server").get_text() == "email server"
    bar = soup.find(class_="nd-glossary-az")
    assert bar.find("a", string="P")["href"] == "#pop"
    assert bar.find("span", string="Q") is not None  # a letter without terms


def test_glossary_page_escapes_hostile_terms_and_definitions():
    evil = Term(
        'A*b_<i>"x"',
        "evil",
        expansion='"><script>alert(1)</script>',
        definition_html="&lt;script&gt;alert(1)&lt;/script&gt; and &quot;quotes&quot;.",
        source="newsletters/x.md",
    )
    glossary = Glossary([evil])
    soup = page_html(glossary, mentions={})
    assert soup.find("script") is None and soup.find("i") is None
    assert soup.find("h2", id="evil").get_text().startswith('A*b_<i>"x"')
    assert "<script>alert(1)</script>" in soup.find(class_="nd-glossary-definition").get_text()
    assert soup.find(class_="nd-glossary-source") is None  # source_link gave None


def test_empty_glossary_page():
    text = glossary_page_markdown(Glossary([]), {}, lambda s: None)
    assert "No terms yet." in text


def test_a_term_without_letters_is_refused(tmp_path):
    path = tmp_path / "glossary.yml"
    path.write_text("- term: 5\n  definition: Five.\n", encoding="utf-8")
    with pytest.raises(NewsdeskError, match="a term needs at least one letter") as info:
        load_glossary_file(path, tmp_path)
    assert info.value.line == 1


def test_mentions_show_the_newest_by_title_and_fold_the_rest():
    from newsdesk.glossary import Mention, mentions_html

    items = [Mention(f"Issue {n}", f"../issues/{n}/", f"No. {n}") for n in range(25, 0, -1)]
    soup = BeautifulSoup(mentions_html(items), "html.parser")
    block = soup.select_one("div.nd-glossary-mentions")
    assert block.has_attr("data-search-exclude")
    shown = [a.get_text() for a in block.select(":scope > p a")]
    assert shown == [f"Issue {n}" for n in range(25, 15, -1)]
    folded = block.select("details a")
    assert block.select_one("details summary").get_text() == "15 earlier issues"
    assert [a.get_text() for a in folded] == [f"No. {n}" for n in range(15, 0, -1)]
    assert folded[0]["title"] == "Issue 15" and folded[-1]["href"] == "../issues/1/"
    assert mentions_html([]) == ""
