"""The print document of an issue: the project's print template filled in, and the
issue's HTML made for paper (no remote images, links turned into footnotes)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import jinja2
from lxml import html as lxml_html
from markupsafe import Markup

from newsdesk.i18n import Strings
from newsdesk.pdf.site import with_slash
from newsdesk.rendering import IssueRendering

PACKAGE = Path(__file__).parent.parent
TEMPLATE = PACKAGE / "templates" / "print.html"
STYLESHEET = PACKAGE / "assets" / "print.css"
PLAIN_LINKS = {"nd-term", "newsdesk-port"}
"""Classes of links printed as plain text: glossary terms and port numbers."""
PORT_TABLES = (
    "//table[ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' newsdesk-port')]]"
)
"""The port tables (``newsdesk-port-reference`` in issues, ``newsdesk-ports``)."""
WIDE = 8
"""Tables with more columns than this get fixed, equal columns on paper."""


def template_loader(overrides: Path | str | None) -> jinja2.BaseLoader:
    """newsdesk's templates, each replaced by a file of the same name in ``overrides``."""
    folders = [str(overrides)] if overrides and Path(overrides).is_dir() else []
    return jinja2.FileSystemLoader([*folders, str(TEMPLATE.parent)])


def overridden(overrides: Path | str | None, name: str) -> Path | None:
    """The project's own template ``name`` in ``overrides``, or None when it has none."""
    path = Path(overrides) / name if overrides else None
    return path if path is not None and path.is_file() else None


def _page_numbers_css(t: Strings) -> str:
    """The footer's "page 3 of 7" in the issue's language."""
    words = t("page {page} of {pages}").replace('"', "")
    content = '"' + words.replace("{page}", '" counter(page) "').replace(
        "{pages}", '" counter(pages) "'
    )
    return f'@page {{ @bottom-center {{ content: {content}"; }} }}'


def print_html(
    rendering: IssueRendering, *, newsletter_name: str = "", overrides: Path | str | None = None
) -> str:
    """The print document of an issue: the template filled in, ready for WeasyPrint.

    ``overrides`` is a folder whose ``print.html``, if any, replaces newsdesk's.
    """
    env = jinja2.Environment(
        loader=template_loader(overrides),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    date: dt.date = rendering.date
    t = Strings(rendering.language)
    return env.get_template(TEMPLATE.name).render(
        t=t,
        page_css=Markup(_page_numbers_css(t)),
        language=rendering.language or "en",
        newsletter_name=newsletter_name or rendering.newsletter_name or "Newsletter",
        number=rendering.number,
        title=rendering.title,
        date_iso=date.isoformat(),
        date_text=t.date(date),
        author=rendering.author,
        summary=rendering.summary,
        tags=rendering.tags,
        url=rendering.url,
        body=Markup(
            print_body(rendering.html, page_url=rendering.url, site_url=rendering.site_url, t=t)
        ),
        terms=rendering.terms,
    )


def print_body(
    html: str, *, page_url: str = "", site_url: str = "", t: Strings | None = None
) -> str:
    """The content HTML made for paper.

    An image from another host is not fetched (a PDF build needs no network and gives
    the same PDF every time): it is printed as its description and address instead.

    Heading permalinks go. Glossary and port links become plain text: the appendix
    explains the terms, and a line under each port table gives the address of the ports
    page once rather than a footnote per cell. Links within the issue page become links
    within the PDF; every other link gets its address printed in a footnote, unless the
    link text already is that address.
    """
    if not html.strip():
        return html
    t = t or Strings()
    root = lxml_html.fragment_fromstring(html, create_parent="div")
    _mark_wide_tables(root)
    if site_url:
        _describe_remote_images(root, with_slash(site_url), t)
    _note_ports_pages(root, t)
    _links_for_paper(root, page_url.split("#", 1)[0])
    return (root.text or "") + "".join(
        lxml_html.tostring(child, encoding="unicode") for child in root
    )


def _mark_wide_tables(root: Any) -> None:
    for table in root.iter("table"):
        if max((len(row.xpath("./th | ./td")) for row in table.iter("tr")), default=0) > WIDE:
            table.set("class", " ".join(filter(None, (table.get("class"), "nd-wide"))))


def _describe_remote_images(root: Any, site_url: str, t: Strings) -> None:
    """Each image from another host becomes its description and address."""
    for img in list(root.iter("img")):
        src = (img.get("src") or "").strip()
        if not src or src.startswith(("data:", site_url)):
            continue
        alt = " ".join((img.get("alt") or "").split())
        stand_in = lxml_html.Element("span", {"class": "nd-remote-image"})
        stand_in.text = f"[{t('Image')}{': ' + alt if alt else ''} – {src}]"
        stand_in.tail = img.tail
        img.getparent().replace(img, stand_in)


def _note_ports_pages(root: Any, t: Strings) -> None:
    """Port links become plain text, with the ports page's address once under each table."""
    for table in root.xpath(PORT_TABLES):
        hrefs = [_plain(a) for a in list(table.iter("a"))]
        pages = Counter(h.split("#", 1)[0] for h in hrefs if "#" in h)
        if pages:
            ports_page = pages.most_common(1)[0][0]
            note = lxml_html.Element("p", {"class": "nd-ports-note"})
            note.text = f"{t('Every port in detail:')} {ports_page}"
            table.addnext(note)


def _links_for_paper(root: Any, page: str) -> None:
    """Permalinks go, term links become text, other links get their address in a footnote."""
    for a in list(root.iter("a")):
        classes = (a.get("class") or "").split()
        if "headerlink" in classes:  # the ¶ permalinks of headings
            a.drop_tree()
            continue
        if PLAIN_LINKS.intersection(classes):
            _plain(a)
            continue
        href = (a.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        if page and href.startswith(page + "#"):
            a.set("href", href[len(page) :])
            continue
        shown = href.removeprefix("mailto:")
        text = " ".join(a.text_content().split())
        if text in (shown, href, shown.split("://", 1)[-1].rstrip("/")) or _in_heading(a):
            continue
        note = lxml_html.Element("span", {"class": "nd-fn"})
        note.text = shown
        note.tail, a.tail = a.tail, None
        a.addnext(note)


def _plain(a: Any) -> str:
    """Turn a link into plain text (a span keeping its classes); return where it went."""
    href = a.get("href") or ""
    a.tag = "span"
    for attr in ("href", "title", "target", "rel"):
        a.attrib.pop(attr, None)
    return href


def _in_heading(element: Any) -> bool:
    return any(p.tag in ("h1", "h2", "h3", "h4", "h5", "h6") for p in element.iterancestors())
