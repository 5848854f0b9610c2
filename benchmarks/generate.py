"""Synthetic newsletters for the benchmarks: N issues of ~1,200 words and M glossary terms.

Every issue has headings, paragraphs, lists, a table, a code block, an admonition, links to
other issues and to the web, and mentions of glossary terms throughout. Two thirds of the
terms are defined inside the issues (``**TERM** (Expansion) – …`` paragraphs and, now and
then, a definition list); the other third in the curated ``glossary.yml``, which also gives
aliases and related terms. The project's own first issue and its glossary are included,
so the real port tables and protocol terms are exercised too.

:func:`generate_project` writes a newsdesk project; :func:`plain_project` writes the same
Markdown as plain pages of a plain Material site with the same Markdown extensions (the
baseline of the build benchmark); :func:`html_pages` renders issues to content HTML for the
linker benchmark. Everything is deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import markdown
import yaml

REPO = Path(__file__).resolve().parent.parent
WORK = Path(__file__).resolve().parent / "work"
SEED_ISSUE = REPO / "newsletters" / "2026-11-26-email-servers.md"
SEED_GLOSSARY = REPO / "newsletters" / "glossary.yml"
SITE_URL = "https://bench.example.org/"
LAST_DATE = dt.date(2026, 11, 19)  # the synthetic issues come before the seed issue

#: The Markdown extensions of the project's mkdocs.yml; both benchmark sites use these.
MARKDOWN_EXTENSIONS = """\
markdown_extensions:
  - abbr
  - admonition
  - attr_list
  - def_list
  - footnotes
  - md_in_html
  - tables
  - toc:
      permalink: true
  - pymdownx.details
  - pymdownx.highlight
  - pymdownx.inlinehilite
  - pymdownx.superfences
  - pymdownx.keys
"""
#: The same extensions for Python-Markdown itself (the linker's HTML).
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
    "pymdownx.highlight",
    "pymdownx.inlinehilite",
    "pymdownx.superfences",
    "pymdownx.keys",
]

THEME = """\
theme:
  name: material
  language: en
  features:
    - content.tooltips
    - navigation.top
    - search.highlight
    - search.suggest
    - toc.follow
  font: false
"""

NEWSDESK_CONFIG = """\
site_name: Bench Letter
site_description: A synthetic newsletter for the benchmarks.
site_url: {site_url}
nav:
  - Home: index.md
  - Issues: issues/index.md
  - Glossary: glossary/index.md
  - Ports: ports/index.md
  - About: about.md
  - Subscribe: subscribe.md
{theme}{extensions}
plugins:
  - search
  - newsdesk:
      newsletters_dir: newsletters
      newsletter_name: Bench Letter
      glossary:
        file: newsletters/glossary.yml
        link: first
      ports:
        tables: auto
      pdf:
        enabled: {pdf}
      email:
        from: "Bench Letter <letter@example.org>"
        reply_to: "Editor <editor@example.org>"
        list_id: "Bench Letter <bench.letter.example.org>"
        service_url: "https://bench.example.org/list"
        unsubscribe_mailto: "unsubscribe@example.org"
        postal_address: "Bench Letter, 1 Example Street, Springfield"
        live_check: false
        dkim:
          domain: !ENV [BENCH_DKIM_DOMAIN, null]
          selector: !ENV [BENCH_DKIM_SELECTOR, null]
          rsa_key: !ENV [NEWSDESK_DKIM_KEY, null]
          ed25519_key: !ENV [NEWSDESK_DKIM_ED25519_KEY, null]
        smtp:
          host: !ENV [NEWSDESK_SMTP_HOST, null]
          port: !ENV [NEWSDESK_SMTP_PORT, null]
          security: !ENV [NEWSDESK_SMTP_SECURITY, starttls]
          connections: !ENV [BENCH_SMTP_CONNECTIONS, 4]
"""

PLAIN_CONFIG = """\
site_name: Bench Letter
site_description: A synthetic newsletter for the benchmarks.
site_url: {site_url}
nav:
  - Home: index.md
  - Issues: issues/index.md
  - About: about.md
  - Subscribe: subscribe.md
not_in_nav: |
  /issues/*
{theme}{extensions}
plugins:
  - search
"""


def _words(text: str) -> list[str]:
    return text.split()


WORDS = _words(
    "the a of to and in is it that for on with as this are be by from at or an your can "
    "will server message client mail user address network setting account folder password "
    "domain connection download upload inbox sender receiver header body copy delete "
    "archive sync queue relay record check secure default local remote storage device "
    "phone laptop office problem answer reason simple common modern older newer fast slow "
    "careful quick every each most many some few first last next before after when while "
    "because although since configure install update restart verify test open close read "
    "write send receive keep forward reply store fetch move rename search filter sort "
    "mark flag show hide set use works runs stops starts fails helps means needs makes "
    "takes gives finds knows looks today week month year time day hour minute people "
    "business home team company customer"
)
SYLLABLES = _words("ka lo vi ren dor mi tesh qua zen bru fal gor hin jex lum nor pax quil rho sev")
NOUNS = _words(
    "relay gateway resolver queue filter store daemon spool index cache agent broker "
    "mailbox router bridge proxy ledger tunnel vault beacon"
)
#: An issue's own terms, and the share of sentences that mention a term.
FOCUS_TERMS = 12
MENTION_RATE = 0.45
BLOCKED = {"I", "A", "OK", "PDF", "URL", "HTML", "CSS", "RFC", "IANA", "TLS", "SSL", "DNS"}


@dataclass(frozen=True)
class SyntheticTerm:
    """A glossary term the generator invents."""

    name: str
    expansion: str
    definition: str
    aliases: tuple[str, ...] = ()
    related: tuple[str, ...] = ()

    @property
    def acronym(self) -> bool:
        return self.name.isupper()


@dataclass
class Project:
    """A generated project: its root and what is in it."""

    root: Path
    issues: list[Path] = field(default_factory=list)
    terms: list[SyntheticTerm] = field(default_factory=list)
    words: int = 0

    @property
    def config(self) -> Path:
        return self.root / "mkdocs.yml"


def _pseudo_word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables))


def make_terms(count: int, seed: int = 0) -> list[SyntheticTerm]:
    """``count`` unique invented terms: half acronyms, half lower-case two-word names."""
    rng = random.Random(f"terms-{seed}")
    names: set[str] = set()
    terms: list[SyntheticTerm] = []
    while len(terms) < count:
        expansion_words = [_pseudo_word(rng, rng.randint(2, 3)).capitalize() for _ in range(3)]
        expansion = " ".join(expansion_words)
        if len(terms) % 2 == 0:
            name = "".join(w[0] for w in expansion_words).upper()
            name += "".join(
                rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(rng.randint(0, 2))
            )
        else:
            name = f"{_pseudo_word(rng, rng.randint(2, 3))} {rng.choice(NOUNS)}"
            expansion = ""
        key = name.casefold()
        if name in BLOCKED or key in names or expansion.casefold() in names:
            continue
        aliases: tuple[str, ...] = ()
        if expansion and len(terms) % 10 == 0:
            aliases = (expansion,)
            names.add(expansion.casefold())
        names.add(key)
        definition = (
            f"A {rng.choice(NOUNS)} that {rng.choice(WORDS[60:120])}s messages for the "
            f"{rng.choice(WORDS[20:60])} before they reach the {rng.choice(WORDS[20:60])}. "
            + _sentence(rng, 14)
        )
        terms.append(SyntheticTerm(name, expansion, definition, aliases))
    # Related terms: each curated entry names two others.
    return [
        SyntheticTerm(
            t.name,
            t.expansion,
            t.definition,
            t.aliases,
            (terms[(i + 1) % count].name, terms[(i + 7) % count].name) if count > 8 else (),
        )
        for i, t in enumerate(terms)
    ]


def _sentence(rng: random.Random, words: int, mentions: list[str] | None = None) -> str:
    out = [rng.choice(WORDS) for _ in range(words)]
    for m in mentions or ():
        out.insert(rng.randrange(1, len(out)), m)
    text = " ".join(out)
    return text[0].upper() + text[1:] + "."


def _mention(rng: random.Random, term: SyntheticTerm) -> str:
    """A mention as an author writes it: plain, plural or possessive, sometimes bold."""
    form = rng.random()
    name = term.name
    if form < 0.15:
        name += "s"
    elif form < 0.22:
        name += "'s"
    elif form < 0.27 and term.aliases:
        name = term.aliases[0]
    if rng.random() < 0.05:
        name = f"*{name}*"
    return name


def _front_matter(title: str, date: dt.date, slug: str, summary: str, *tags: str) -> list[str]:
    """An issue's front matter, as lines, and the blank line after it."""
    return [
        "---",
        f"title: {title}",
        f"date: {date.isoformat()}",
        f"slug: {slug}",
        "author: Bench Author",
        f"summary: {summary}",
        f"tags: [{', '.join(tags)}]",
        "---",
        "",
    ]


def _focus_mention(
    rng: random.Random, focus: list[SyntheticTerm], terms: list[SyntheticTerm]
) -> str:
    """A mention of one of the issue's own terms, nine times in ten, else of any term."""
    return _mention(rng, rng.choice(focus) if rng.random() < 0.9 else rng.choice(terms))


def issue_markdown(
    index: int,
    date: dt.date,
    slug: str,
    defines: list[SyntheticTerm],
    terms: list[SyntheticTerm],
    links: list[str],
    rng: random.Random,
) -> str:
    """One synthetic issue of about 1,200 words.

    Like a real issue it has a topic: about every other sentence mentions a term, nine in
    ten of them one of the issue's own dozen terms (and those it defines), the rest any
    term of the glossary – some 25 mentions of about 15 distinct terms an issue.
    """
    focus = [*defines, *rng.sample(terms, min(FOCUS_TERMS, len(terms)))]

    def mentions(k: int) -> list[str]:
        if not terms:
            return []
        return [_focus_mention(rng, focus, terms) for _ in range(k) if rng.random() < MENTION_RATE]

    title = f"{_pseudo_word(rng, 2).capitalize()} and the {rng.choice(NOUNS)}"
    parts = [
        *_front_matter(
            f"{title} {index}", date, slug, _sentence(rng, 16), rng.choice(NOUNS), rng.choice(NOUNS)
        ),
        " ".join(_sentence(rng, rng.randint(12, 20), mentions(1)) for _ in range(5)),
        "",
        "## The terms",
        "",
    ]
    for i, term in enumerate(defines):
        if i % 4 == 3:
            head = f"{term.name} ({term.expansion})" if term.expansion else term.name
            parts += [head, f":   {term.definition}", ""]
        else:
            exp = f" ({term.expansion})" if term.expansion else " (a term of this issue)"
            parts += [f"**{term.name}**{exp} – {term.definition} {_sentence(rng, 10)}", ""]
    for section in range(4):
        parts += [f"## {_pseudo_word(rng, 2).capitalize()} {rng.choice(NOUNS)} {section + 1}", ""]
        for _ in range(3):
            parts += [
                " ".join(_sentence(rng, rng.randint(10, 22), mentions(1)) for _ in range(4)),
                "",
            ]
        if section == 0:
            parts += [f"- {_sentence(rng, 8, mentions(1))}" for _ in range(5)] + [""]
        elif section == 1:
            parts += ["| Setting | Value | Note |", "| --- | --- | --- |"]
            for _ in range(5):
                parts.append(
                    f"| {rng.choice(WORDS)} {rng.choice(NOUNS)} | {rng.randint(1, 9999)} "
                    f"| {_sentence(rng, 5, mentions(1))} |"
                )
            parts += [""]
        elif section == 2:
            parts += [
                "```python",
                "import smtplib",
                f"with smtplib.SMTP('mail.example.org') as {rng.choice(NOUNS)}:",
                f"    {rng.choice(NOUNS)}.noop()  # {' '.join(mentions(1))}",
                "```",
                "",
                '!!! note "Remember"',
                "",
                f"    {_sentence(rng, 18, mentions(1))}",
                "",
            ]
        else:
            links_md = ", ".join(f"[an earlier issue]({link})" for link in links[:2])
            parts += [
                f"1. {_sentence(rng, 9, mentions(1))} See {links_md or 'the archive'}.",
                f"2. {_sentence(rng, 9)} Read more at "
                f"[the example site](https://www.example.org/{slug}).",
                f"3. {_sentence(rng, 9, mentions(1))}",
                "",
            ]
    parts += [_sentence(rng, 12) + " Until next time!", ""]
    return "\n".join(parts)


#: The corpus shapes: ``synthetic`` (~1,200 words of prose a page) and ``newsletter``
#: (real-shaped weekly link digests, see :func:`newsletter_markdown`).
SHAPES = ("synthetic", "newsletter")
#: Sections of a real-shaped issue, as weekly digests head them.
DIGEST_SECTIONS = (
    "Updates from the core team",
    "Project and tooling updates",
    "Observations and thoughts",
    "Walkthroughs and tutorials",
    "Research",
    "Releases",
    "Security advisories",
    "Call for participation",
    "Upcoming events",
    "Jobs",
    "Miscellaneous",
    "Quote of the week",
)
CODE_LANGUAGES = ("rust", "python", "console", "toml", "c")


def _link_bullet(rng: random.Random, host: str, mentions: list[str]) -> str:
    """One digest entry: a linked title and a short note."""
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9)))
    path = "/".join(_pseudo_word(rng, 2) for _ in range(rng.randint(1, 3)))
    note = _sentence(rng, rng.randint(6, 18), mentions) if rng.random() < 0.7 else ""
    bullet = f"- [{title[0].upper() + title[1:]}](https://{host}/{path})"
    return f"{bullet}: {note}" if note else bullet


def _code_block(rng: random.Random) -> list[str]:
    lang = rng.choice(CODE_LANGUAGES)
    lines = [
        f"let {_pseudo_word(rng, 2)} = {rng.choice(NOUNS)}::new({rng.randint(0, 999)});"
        for _ in range(rng.randint(3, 14))
    ]
    return [f"```{lang}", *lines, "```", ""]


def newsletter_markdown(
    index: int,
    date: dt.date,
    slug: str,
    defines: list[SyntheticTerm],
    terms: list[SyntheticTerm],
    links: list[str],
    rng: random.Random,
) -> str:
    """One real-shaped issue, modelled on weekly technical digests (a link list per topic).

    Mostly bullets – 100 to 250 links, each a linked title and, usually, a one-sentence
    note – under 6 to 12 ``##`` sections, some split into ``###`` subsections; a few code
    blocks, one to three quotes, a table in about every third issue, and the issue's
    definitions in a "terms of the week" section. Sizes vary from issue to issue (about
    1,500 to 4,500 words). Notes mention glossary terms more sparsely than the prose of
    :func:`issue_markdown` (a digest names things, it does not explain them). The text is
    generated from the same vocabulary; no real newsletter's text is used.
    """
    focus = [*defines, *rng.sample(terms, min(FOCUS_TERMS, len(terms)))]

    def mentions() -> list[str]:
        if not terms or rng.random() >= MENTION_RATE / 3:
            return []
        return [_focus_mention(rng, focus, terms)]

    title = f"This week in {_pseudo_word(rng, 2).capitalize()}"
    parts = [
        *_front_matter(
            f"{title} {index}", date, slug, _sentence(rng, 12), rng.choice(NOUNS), "weekly"
        ),
        " ".join(_sentence(rng, rng.randint(10, 18)) for _ in range(3)),
        "",
    ]
    if defines:
        parts += ["## Terms of the week", ""]
        for term in defines:
            exp = f" ({term.expansion})" if term.expansion else ""
            parts += [f"**{term.name}**{exp} – {term.definition}", ""]
    total = rng.randint(100, 250)
    sections = rng.sample(DIGEST_SECTIONS, rng.randint(6, len(DIGEST_SECTIONS)))
    share = [rng.random() + 0.2 for _ in sections]
    counts = [max(3, round(total * w / sum(share))) for w in share]
    hosts = [f"{_pseudo_word(rng, 2)}.example.{tld}" for tld in ("org", "com", "net", "dev")]
    code_blocks = rng.randint(1, 4)
    quotes = rng.randint(1, 3)
    table_at = rng.randrange(len(sections)) if rng.random() < 0.35 else -1
    for s, (heading, count) in enumerate(zip(sections, counts, strict=True)):
        parts += [f"## {heading}", ""]
        subsections = rng.choice((1, 1, 2, 3, 4))
        for _ in range(subsections):
            if subsections > 1:
                parts += [f"### {_pseudo_word(rng, 2).capitalize()} {rng.choice(NOUNS)}", ""]
            host = rng.choice(hosts)
            n = max(1, count // subsections)
            parts += [_link_bullet(rng, host, mentions()) for _ in range(n)] + [""]
            if code_blocks and rng.random() < 0.15:
                code_blocks -= 1
                parts += [_sentence(rng, rng.randint(8, 14), mentions()), "", *_code_block(rng)]
        if s == table_at:
            parts += ["| Crate | Version | Change |", "| --- | --- | --- |"]
            parts += [
                f"| {_pseudo_word(rng, 2)} | {rng.randint(0, 9)}.{rng.randint(0, 40)}.0 "
                f"| {_sentence(rng, 5)} |"
                for _ in range(rng.randint(4, 12))
            ] + [""]
        if quotes and rng.random() < 0.25:
            quotes -= 1
            quote = _sentence(rng, rng.randint(15, 40), mentions())
            parts += [f"> {quote}", ">", "> – a reader", ""]
    if links:
        earlier = ", ".join(f"[an earlier issue]({link})" for link in links[:2])
        parts += [f"Last weeks: {earlier}.", ""]
    parts += [_sentence(rng, 10) + " See you next week!", ""]
    return "\n".join(parts)


def _page(name: str) -> str:
    return f"# {name}\n\n{_sentence(random.Random(name), 30)}\n"


def generate_project(
    root: Path,
    issues: int,
    terms: int,
    *,
    pdf: bool = False,
    seed: int = 1,
    shape: str = "synthetic",
) -> Project:
    """Write a newsdesk project with ``issues`` synthetic issues (plus the seed issue) and
    ``terms`` synthetic glossary terms (plus the project's own glossary).

    ``shape`` is one of :data:`SHAPES`: ``synthetic`` issues (:func:`issue_markdown`) or
    real-shaped weekly link digests (:func:`newsletter_markdown`)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown corpus shape {shape!r}; one of {', '.join(SHAPES)}")
    write_issue = newsletter_markdown if shape == "newsletter" else issue_markdown
    if root.exists():
        shutil.rmtree(root)
    (root / "docs").mkdir(parents=True)
    news = root / "newsletters"
    news.mkdir()
    project = Project(root)
    (root / "mkdocs.yml").write_text(
        NEWSDESK_CONFIG.format(
            site_url=SITE_URL,
            theme=THEME,
            extensions=MARKDOWN_EXTENSIONS,
            pdf="true" if pdf else "false",
        ),
        encoding="utf-8",
    )
    (root / "docs" / "index.md").write_text(
        "# Bench Letter\n\n<!-- newsdesk:latest -->\n\n## Recent issues\n\n"
        "<!-- newsdesk:recent -->\n",
        encoding="utf-8",
    )
    (root / "docs" / "about.md").write_text(_page("About"), encoding="utf-8")
    (root / "docs" / "subscribe.md").write_text(_page("Subscribe"), encoding="utf-8")

    vocabulary = make_terms(terms, seed)
    project.terms = vocabulary
    in_issues = [t for i, t in enumerate(vocabulary) if i % 3 != 2]
    curated = [t for i, t in enumerate(vocabulary) if i % 3 == 2]
    defines: dict[int, list[SyntheticTerm]] = {}
    for k, term in enumerate(in_issues):
        defines.setdefault(k % max(issues, 1), []).append(term)

    rng = random.Random(f"issues-{seed}")
    files: list[str] = []
    for i in range(issues):
        date = LAST_DATE - dt.timedelta(days=7 * (issues - 1 - i))
        slug = f"issue-{i + 1:04d}"
        name = f"{date.isoformat()}-{slug}.md"
        earlier = [files[j] for j in rng.sample(range(len(files)), min(2, len(files)))]
        text = write_issue(i + 1, date, slug, defines.get(i, []), vocabulary, earlier, rng)
        (news / name).write_text(text, encoding="utf-8")
        project.words += len(text.split())
        project.issues.append(news / name)
        files.append(name)
    # The seed issue comes last; it loses its fixed number 1 to take its place in order.
    seed_text = SEED_ISSUE.read_text(encoding="utf-8").replace("\nnumber: 1\n", "\n", 1)
    (news / SEED_ISSUE.name).write_text(seed_text, encoding="utf-8")
    project.issues.append(news / SEED_ISSUE.name)

    glossary = SEED_GLOSSARY.read_text(encoding="utf-8").rstrip() + "\n\n# Synthetic terms\n"
    entries = []
    for t in curated:
        entry: dict[str, object] = {"term": t.name, "definition": t.definition}
        if t.expansion:
            entry["expansion"] = t.expansion
        if t.aliases:
            entry["aliases"] = list(t.aliases)
        if t.related:
            entry["related"] = list(t.related)
        entries.append(entry)
    for t in in_issues:
        if t.aliases:  # issue-defined term: the entry only adds its aliases
            entries.append({"term": t.name, "aliases": list(t.aliases)})
    if entries:
        glossary += yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=100)
    (news / "glossary.yml").write_text(glossary, encoding="utf-8")
    return project


ARCHIVE_HEAD = "# Issues\n\n"


def plain_project(project: Project, root: Path) -> Path:
    """The same Markdown as plain pages of a plain Material site: the build baseline.

    Issues go to ``docs/issues/`` (so their relative links still resolve), with a
    hand-made archive page listing them; the navigation is the same short one.
    """
    if root.exists():
        shutil.rmtree(root)
    docs = root / "docs"
    (docs / "issues").mkdir(parents=True)
    (root / "mkdocs.yml").write_text(
        PLAIN_CONFIG.format(site_url=SITE_URL, theme=THEME, extensions=MARKDOWN_EXTENSIONS),
        encoding="utf-8",
    )
    for page in ("about.md", "subscribe.md"):
        shutil.copy(project.root / "docs" / page, docs / page)
    (docs / "index.md").write_text(
        "# Bench Letter\n\nThe latest issues are in the [archive](issues/index.md).\n",
        encoding="utf-8",
    )
    lines = [ARCHIVE_HEAD]
    for path in sorted(project.issues, reverse=True):
        shutil.copy(path, docs / "issues" / path.name)
        lines.append(f"- [{path.stem}]({path.name})\n")
    (docs / "issues" / "index.md").write_text("".join(lines), encoding="utf-8")
    return root


def html_pages(target_bytes: int, terms: list[SyntheticTerm], seed: int = 2) -> list[str]:
    """Content HTML of synthetic issues (rendered with the site's Markdown extensions)
    mentioning ``terms``, until the pages add up to ``target_bytes`` of UTF-8."""
    rng = random.Random(f"html-{seed}")
    md = markdown.Markdown(extensions=EXTENSIONS)
    pages: list[str] = []
    total = 0
    i = 0
    while total < target_bytes:
        text = issue_markdown(i + 1, LAST_DATE, f"issue-{i}", [], terms, [], rng)
        body = text.split("---\n", 2)[2]
        html = md.reset().convert(body)
        pages.append(html)
        total += len(html.encode("utf-8"))
        i += 1
    return pages


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.generate ROOT --issues N --terms M``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--issues", type=int, default=100)
    parser.add_argument("--terms", type=int, default=300)
    parser.add_argument("--pdf", action="store_true")
    parser.add_argument("--shape", choices=SHAPES, default="synthetic")
    parser.add_argument("--plain", type=Path, help="also write the plain baseline site here")
    args = parser.parse_args(argv)
    project = generate_project(args.root, args.issues, args.terms, pdf=args.pdf, shape=args.shape)
    print(f"{args.root}: {len(project.issues)} issues, {project.words} words")
    if args.plain:
        plain_project(project, args.plain)
        print(f"{args.plain}: plain Material site")


if __name__ == "__main__":
    main()
