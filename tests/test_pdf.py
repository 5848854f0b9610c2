"""The print edition: real PDFs rendered by WeasyPrint, read back with pypdf and pdftotext."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader

from newsdesk.pdf import PdfReport, pdf_path, print_body, render_pdfs
from newsdesk.rendering import IssueRendering, TermNote

SITE = "https://letter.example.org/news/"
NAME = "Happy Computing"
PDFTOTEXT = shutil.which("pdftotext")
needs_pdftotext = pytest.mark.skipif(PDFTOTEXT is None, reason="poppler-utils not installed")

PARAGRAPH = (
    "<p>POP delivers your mail from a server at once; IMAP keeps it on the server and "
    "synchronises every change, so each device sees the same folders and the same flags. "
    "SMTP carries the mail between servers and from your program to the first server.</p>"
)

BODY = f"""
<p>This week: how <a class="nd-term" href="{SITE}glossary/#pop" title="Post Office Protocol">POP</a>
and IMAP fetch your mail. Read <a href="https://www.example.net/rfc/1939">the POP3 RFC</a>
or see <a href="{SITE}issues/2026/email-servers/#ports">the ports below</a>.</p>
<h2 id="terms">The terms<a class="headerlink" href="{SITE}issues/2026/x/#terms">¶</a></h2>
{PARAGRAPH * 6}
<ul><li>110 – Default non-encrypted port.</li><li>995 – POP over TLS.</li></ul>
<h3 id="ports">Email port numbers</h3>
<p>IMAP over TLS uses <a class="newsdesk-port" href="{SITE}ports/#imap-993">port 993</a>.</p>
<section class="newsdesk-port-reference"><table>
<thead><tr><th>Protocol</th><th>Port</th><th>Security</th><th>RFC</th></tr></thead><tbody>
<tr><td><a href="{SITE}ports/#pop3">POP3</a></td><td><a href="{SITE}ports/#pop3-110">110</a></td>
<td>none</td><td><a href="https://www.rfc-editor.org/rfc/rfc1939">RFC 1939</a></td></tr>
<tr><td><a href="{SITE}ports/#imap">IMAPS</a></td><td><a href="{SITE}ports/#imap-993">993</a></td>
<td>implicit TLS</td><td><a href="https://www.rfc-editor.org/rfc/rfc8314">RFC 8314</a></td></tr>
</tbody></table></section>
<pre><code>openssl s_client -connect mail.example.org:993
</code></pre>
<p><img alt="A mail server diagram" src="{SITE}issues/2026/email-servers/diagram.png"></p>
<h2 id="more">More reading</h2>
{PARAGRAPH * 8}
<p>Write to <a href="mailto:editor@example.org">the editor</a>.</p>
"""


def rendering(slug: str = "email-servers", **changes: object) -> IssueRendering:
    """An issue rendering as the build makes it, with everything absolute to SITE."""
    fields: dict[str, object] = dict(
        slug=slug,
        number=1,
        title="Email Servers",
        date=dt.date(2026, 11, 26),
        author="Michael DeFlorio",
        summary="How email servers are configured.",
        tags=("email", "pop"),
        source=f"newsletters/2026-11-26-{slug}.md",
        url=f"{SITE}issues/2026/{slug}/",
        pdf_url=f"{SITE}issues/2026/{slug}/{slug}.pdf",
        html=BODY,
        terms=(
            TermNote("POP", "Post Office Protocol", "Fetches mail and removes it.", SITE + "g/"),
            TermNote("IMAP", "Internet Message Access Protocol", "Keeps mail on the server.", ""),
        ),
        newsletter_name=NAME,
        site_url=SITE,
    )
    fields.update(changes)
    return IssueRendering(**fields)  # type: ignore[arg-type]


def make_site(folder: Path) -> Path:
    """A built site holding the diagram the issue shows."""
    images = folder / "issues" / "2026" / "email-servers"
    images.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (400, 150), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 390, 140), outline="navy", width=4)
    draw.ellipse((150, 30, 250, 120), fill="orange")
    image.save(images / "diagram.png")
    return folder


def render(tmp: Path, items: list[IssueRendering], **options: object) -> PdfReport:
    options = {"timeout": 60, "jobs": 2, "newsletter_name": NAME, **options}
    return render_pdfs(
        items,
        site_dir=tmp / "site",
        site_url=SITE,
        cache_dir=tmp / "cache",
        **options,  # type: ignore[arg-type]
    )


def text_of(pdf: Path) -> str:
    assert PDFTOTEXT is not None
    result = subprocess.run([PDFTOTEXT, str(pdf), "-"], capture_output=True, text=True, check=True)
    return result.stdout


def distinct_images(reader: PdfReader) -> set[bytes]:
    """The images of a PDF (WeasyPrint lists every image in every page's resources)."""
    return {image.data for page in reader.pages for image in page.images}


def outline_titles(reader: PdfReader) -> list[str]:
    titles: list[str] = []

    def walk(items: list) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(item.title)

    walk(reader.outline)
    return titles


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PdfReport]:
    """The seed-like issue on A4 and a second issue on Letter, rendered once."""
    tmp = tmp_path_factory.mktemp("edition")
    make_site(tmp / "site")
    report = render(tmp, [rendering()])
    letter = render(tmp / "letter", [rendering("letter-issue", title="On Letter")], paper="Letter")
    assert letter.errors == [] and letter.rendered == 1
    return tmp, report


# --- the document ------------------------------------------------------------------------


def test_pdf_path_is_beside_the_issue_page() -> None:
    assert pdf_path(rendering()) == "issues/2026/email-servers/email-servers.pdf"
    assert pdf_path(rendering(pdf_url=None)) == "issues/2026/email-servers/email-servers.pdf"


def test_print_body_makes_links_fit_for_paper() -> None:
    body = print_body(BODY, page_url=f"{SITE}issues/2026/email-servers/")
    assert 'class="nd-term">POP</span>' in body
    assert "glossary/#pop" not in body
    assert '<span class="nd-fn">https://www.example.net/rfc/1939</span>' in body
    assert '<span class="nd-fn">editor@example.org</span>' in body
    # A link within the issue becomes a link within the PDF, with no address printed.
    assert 'href="#ports"' in body
    assert f'<span class="nd-fn">{SITE}issues' not in body
    # A link whose text is its address is not printed twice.
    bare = print_body('<p><a href="https://example.org/x">https://example.org/x</a></p>')
    assert "nd-fn" not in bare
    # A table of many columns gets fixed, equal columns so it fits the page.
    row = "<tr>" + "<td>x</td>" * 9 + "</tr>"
    assert '<table class="nd-wide">' in print_body(f"<table>{row}</table>")
    assert "nd-wide" not in body


def test_report_and_files(edition: tuple[Path, PdfReport]) -> None:
    tmp, report = edition
    assert (report.rendered, report.reused, report.errors, report.warnings) == (1, 0, [], [])
    assert report.summary == "newsdesk: PDFs: 1 rendered, 0 reused"
    pdf = tmp / "site" / "issues/2026/email-servers/email-servers.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert report.written == ["issues/2026/email-servers/email-servers.pdf"]
    assert 0 < report.timings["email-servers"] < 30


@needs_pdftotext
def test_text_holds_the_whole_issue(edition: tuple[Path, PdfReport]) -> None:
    tmp, _ = edition
    pdf = tmp / "site" / "issues/2026/email-servers/email-servers.pdf"
    text = text_of(pdf)
    pages = text.split("\f")
    flat = " ".join(text.split())
    # Title block
    assert "HAPPY COMPUTING" in pages[0]
    assert "Issue 1 · 26 November 2026 · Michael DeFlorio" in flat
    assert "Email Servers" in pages[0]
    # Body: headings, lists, port table, code
    for words in (
        "The terms",
        "110 – Default non-encrypted port.",
        "openssl s_client -connect mail.example.org:993",
        "Write to the editor",
    ):
        assert words in flat, words
    # Glossary link as plain text, external addresses printed
    assert "how POP and IMAP fetch your mail" in flat
    assert "https://www.example.net/rfc/1939" in flat
    assert "editor@example.org" in flat
    assert f"{SITE}glossary" not in flat
    # Port links are plain text too; the ports page is named once under the table.
    assert "IMAP over TLS uses port 993." in flat
    assert "IMAPS 993 implicit TLS RFC 8314" in flat
    assert flat.count(f"{SITE}ports/") == 1
    assert f"Every port in detail: {SITE}ports/" in flat
    assert "rfc-editor.org" not in flat
    assert "¶" not in flat
    # Appendix after the body
    appendix = flat.index("Terms in this issue")
    assert appendix > flat.index("Write to the editor")
    assert "POP (Post Office Protocol) Fetches mail and removes it." in flat[appendix:]
    assert "IMAP (Internet Message Access Protocol) Keeps mail on the server." in flat
    # Page numbers, running header from page 2
    n = len(PdfReader(pdf).pages)
    assert n >= 2
    assert "page 1 of " + str(n) in pages[0]
    assert f"page {n} of {n}" in pages[n - 1]
    assert "Happy Computing" in pages[1] and "Email Servers" in pages[1]


def test_metadata_outline_tags_fonts(edition: tuple[Path, PdfReport]) -> None:
    tmp, _ = edition
    reader = PdfReader(tmp / "site" / "issues/2026/email-servers/email-servers.pdf")
    meta = reader.metadata
    assert meta is not None
    assert meta.title == "Email Servers"
    assert meta.author == "Michael DeFlorio"
    assert str(meta["/CreationDate"]).startswith("D:20261126")
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en"
    # Tagged PDF declaring PDF/UA-1
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root
    assert b"pdfuaid:part" in root["/Metadata"].get_object().get_data()
    assert outline_titles(reader) == [
        "Email Servers",
        "The terms",
        "Email port numbers",
        "More reading",
        "Terms in this issue",
    ]
    # A4, fonts embedded, the site's image included
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    fonts = 0
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font.get("/DescendantFonts")
            descriptor = (descendant[0].get_object() if descendant else font)["/FontDescriptor"]
            assert any(k.startswith("/FontFile") for k in descriptor), font["/BaseFont"]
            fonts += 1
    assert fonts > 0
    assert len(distinct_images(reader)) == 1
    # The glossary link is plain text; external links stay clickable.
    uris = [
        annot.get_object()["/A"].get("/URI")
        for page in reader.pages
        for annot in page.get("/Annots", [])
        if "/A" in annot.get_object()
    ]
    assert "https://www.example.net/rfc/1939" in uris
    assert not any("glossary" in str(u) for u in uris)


def test_letter_paper(edition: tuple[Path, PdfReport]) -> None:
    tmp, _ = edition
    reader = PdfReader(tmp / "letter" / "site" / "issues/2026/letter-issue/letter-issue.pdf")
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


# --- the cache ---------------------------------------------------------------------------


def test_cache_reuses_unchanged_and_renders_changed(tmp_path: Path) -> None:
    make_site(tmp_path / "site")
    small = rendering(html="<p>Short issue.</p>")
    assert render(tmp_path, [small]).rendered == 1
    target = tmp_path / "site" / pdf_path(small)

    # MkDocs' clean step empties site/; the cache outside it brings the PDF back.
    shutil.rmtree(tmp_path / "site")
    make_site(tmp_path / "site")
    again = render(tmp_path, [small])
    assert (again.rendered, again.reused) == (0, 1)
    assert again.summary == "newsdesk: PDFs: 0 rendered, 1 reused"
    assert target.read_bytes().startswith(b"%PDF-")

    changed = dataclasses.replace(small, html="<p>Short issue, corrected.</p>", content_hash="")
    assert (render(tmp_path, [changed]).rendered, render(tmp_path, [changed]).rendered) == (1, 0)
    assert render(tmp_path, [changed], paper="Letter").rendered == 1

    # An image the issue shows changed on disk: its PDF is stale.
    with_image = dataclasses.replace(small, html=BODY, content_hash="")
    assert render(tmp_path, [with_image]).rendered == 1
    image = tmp_path / "site" / "issues/2026/email-servers/diagram.png"
    Image.new("RGB", (40, 40), "red").save(image)
    assert render(tmp_path, [with_image]).rendered == 1
    assert render(tmp_path, [with_image]).reused == 1

    # An issue no longer published leaves the cache.
    render(tmp_path, [])
    assert list((tmp_path / "cache").iterdir()) == []


# --- bad input ---------------------------------------------------------------------------


@needs_pdftotext
def test_missing_image_and_broken_svg_warn_outside_images_are_printed_as_text(
    tmp_path: Path,
) -> None:
    site = make_site(tmp_path / "site")
    (site / "broken.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'><rect", "utf-8")
    html = (
        "<p>Before the pictures.</p>"
        f'<p><img alt="gone" src="{SITE}issues/2026/email-servers/missing.png"></p>'
        f'<p><img alt="bad" src="{SITE}broken.svg"></p>'
        '<p><img alt="far" src="https://images.example.net/tracker.png"></p>'
        f'<p><img alt="up" src="{SITE}../../etc/passwd"></p>'
        '<p><img alt="local" src="file:///etc/hostname"></p>'
        '<p><img alt="dot" src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAA'
        'fFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="></p>'
        "<p>After the pictures.</p>"
    )
    issue = rendering("pictures", html=html)
    report = render(tmp_path, [issue])
    assert report.errors == []
    assert report.rendered == 1
    pdf = tmp_path / "site" / pdf_path(issue)
    assert "After the pictures." in text_of(pdf)
    assert len(distinct_images(PdfReader(pdf))) == 1  # only the data: URI
    joined = "\n".join(report.warnings)
    assert all(w.startswith("newsletters/2026-11-26-pictures.md: PDF:") for w in report.warnings)
    assert "missing.png" in joined
    assert "broken.svg" in joined
    assert "etc/passwd" in joined
    # Images from elsewhere are not fetched at all: printed as description and address.
    assert "images.example.net" not in joined and "file:///etc/hostname" not in joined
    flat = " ".join(text_of(pdf).split())
    assert "[Image: far – https://images.example.net/tracker.png]" in flat
    assert "[Image: local – file:///etc/hostname]" in flat
    # A reused PDF repeats its warnings, so the problem is not forgotten.
    assert render(tmp_path, [issue]).warnings == report.warnings


def serve_without_harfbuzz_subset(conn: object) -> None:
    """A PDF worker on a machine without HarfBuzz-Subset: WeasyPrint falls back to fontTools
    and logs its "please install HarfBuzz-Subset" warning for every font it embeds."""
    import weasyprint.pdf.fonts

    from newsdesk.pdf import workers

    weasyprint.pdf.fonts.harfbuzz_subset = None
    workers._serve(conn)  # type: ignore[arg-type]


def test_font_advice_is_one_line_per_build_never_an_issue_warning_nor_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsdesk import pdf
    from newsdesk.pdf import workers

    make_site(tmp_path / "site")
    # The worker processes import this module to run it (pickled by reference).
    monkeypatch.setattr(workers, "_serve", serve_without_harfbuzz_subset)
    issues = [
        rendering(f"fonts-{i}", html=f"<p>Plain <b>bold</b> <code>code {i}</code></p>")
        for i in range(2)
    ]
    report = render(tmp_path, issues)
    assert (report.rendered, report.errors, report.warnings) == (2, [], [])
    # One kind of advice, however many fonts and PDFs, said once in words of our own.
    assert report.advice == [pdf.SUBSET_ADVICE]
    assert report.advice_line is not None and "libharfbuzz-subset0" in report.advice_line
    for issue in issues:
        entry = (tmp_path / "cache" / f"{issue.slug}.json").read_text(encoding="utf-8")
        assert "HarfBuzz" not in entry and "fontTools" not in entry
    again = render(tmp_path, issues)
    assert (again.reused, again.warnings, again.advice) == (2, [], [])


def test_old_cache_entries_do_not_replay_font_advice(tmp_path: Path) -> None:
    import json

    make_site(tmp_path / "site")
    issue = rendering("old-entry", html="<p>Short.</p>")
    assert render(tmp_path, [issue]).rendered == 1
    # What a build before the advice was told apart stored beside the PDF.
    path = tmp_path / "cache" / "old-entry.json"
    entry = json.loads(path.read_text(encoding="utf-8"))
    name = issue.source
    entry["warnings"] = [
        f'{name}: PDF: Using fontTools instead of HarfBuzz-Subset for font "DejaVu Sans". '
        "This will be unsupported in future versions of WeasyPrint. Please install "
        "HarfBuzz-Subset >= 4.1.0 with your package manager.",
        f"{name}: PDF: Failed to load image at 'https://letter.example.org/news/gone.png'",
    ]
    path.write_text(json.dumps(entry), encoding="utf-8")
    again = render(tmp_path, [issue])
    assert again.reused == 1
    # The content problem is repeated; the advice about an old machine is not.
    assert again.warnings == [entry["warnings"][1]]
    assert again.advice == []


@pytest.mark.slow
def test_failing_and_runaway_issues_do_not_stop_the_others(tmp_path: Path) -> None:
    make_site(tmp_path / "site")
    rows = "".join(f"<tr><td>{i}</td><td>row {i}</td><td>data</td></tr>" for i in range(4000))
    huge = rendering("huge-table", html=f"<table>{rows}</table>")
    # Raw HTML in Markdown that WeasyPrint 70 cannot lay out (it divides by zero).
    failing = rendering("bad-style", html='<p style="font-size: 1e38px">Too big</p>')
    good = [rendering(f"fine-{i}", html=f"<p>Fine issue {i}.</p>") for i in range(2)]
    started = time.monotonic()
    report = render(tmp_path, [huge, failing, *good], timeout=3, jobs=2)
    elapsed = time.monotonic() - started

    assert report.rendered == 2
    assert report.skipped == 2
    assert len(report.errors) == 1
    assert report.errors[0].startswith("newsletters/2026-11-26-bad-style.md: PDF failed:")
    assert "ZeroDivisionError" in report.errors[0]
    timeouts = [w for w in report.warnings if "longer than 3 s" in w]
    assert timeouts == [
        "newsletters/2026-11-26-huge-table.md: PDF skipped: rendering took longer than 3 s "
        "(pdf.timeout); the issue has no PDF"
    ]
    for issue in good:
        assert (tmp_path / "site" / pdf_path(issue)).is_file()
    for issue in (huge, failing):
        assert not (tmp_path / "site" / pdf_path(issue)).exists()
    # The runaway worker was killed at its limit, not waited for.
    assert elapsed < 20
    # The failure is tried again next build; the runaway is remembered, so an unchanged
    # issue does not cost the whole time limit on every build.
    assert {p.name for p in (tmp_path / "cache").iterdir()} == {
        "fine-0.pdf",
        "fine-0.json",
        "fine-1.pdf",
        "fine-1.json",
        "huge-table.json",
    }
    stand_in = tmp_path / "site" / pdf_path(huge)
    stand_in.parent.mkdir(parents=True, exist_ok=True)
    stand_in.write_bytes(b"")  # as the site build leaves it for link checking
    started = time.monotonic()
    again = render(tmp_path, [huge, *good], timeout=3, jobs=2)
    assert not stand_in.exists(), "a PDF remembered as runaway is not published empty"
    assert time.monotonic() - started < 2
    assert (again.rendered, again.reused, again.skipped) == (0, 2, 1)
    assert "earlier build" in again.warnings[0] and "huge-table" in again.warnings[0]


def test_unknown_paper_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="A4, Letter"):
        render(tmp_path, [rendering()], paper="A5")


NOTES_FILLER = (
    "<p>" + "POP delivers your mail from a server at once; IMAP keeps it on the server and "
    "synchronises every change, so each device sees the same folders and flags. " * 6 + "</p>\n"
)
NOTES_BODY = (
    '<p>This issue<sup id="fnref:1"><a class="footnote-ref" href="'
    + SITE
    + 'issues/2026/notes/#fn:1">1</a></sup> looks at <a href="https://www.rfc-editor.org/rfc/'
    'rfc1939">the POP3 RFC</a> first.</p>\n'
    + NOTES_FILLER
    * 2
    + '<p>Then <a href="https://doc.dovecot.org/">the Dovecot manual</a> for an hour<sup '
    'id="fnref:2"><a class="footnote-ref" href="#fn:2">2</a></sup>.</p>\n'
    + NOTES_FILLER
    * 4
    + '<p>Also see <a href="https://www.rfc-editor.org/rfc/rfc6409">the submission RFC</a>.</p>\n'
    '<div class="footnote">\n<hr />\n<ol>\n'
    '<li id="fn:1"><p>The fourth in the series.&#160;<a class="footnote-backref" '
    'href="#fnref:1" title="Jump back to footnote 1 in the text">&#8617;</a></p></li>\n'
    '<li id="fn:2"><p>Or two, if the coffee runs out.&#160;<a class="footnote-backref" '
    'href="#fnref:2" title="Jump back to footnote 2 in the text">&#8617;</a></p></li>\n'
    "</ol>\n</div>\n"
)


@needs_pdftotext
def test_link_notes_are_lettered_and_never_share_a_number_with_footnotes(
    tmp_path: Path,
) -> None:
    """Two footnotes of the author's and three links: the footnotes keep 1 and 2 (with
    their links and targets), the link addresses are a, b and c at the foot of the page."""
    make_site(tmp_path / "site")
    report = render(tmp_path, [rendering("notes", title="Notes", html=NOTES_BODY, terms=())])
    assert report.errors == [] and report.warnings == []
    pdf = tmp_path / "site" / "issues/2026/notes/notes.pdf"
    text = text_of(pdf)
    flat = " ".join(text.split())
    for words in (
        "This issue1 looks at the POP3 RFCa first.",
        "Then the Dovecot manualb for an hour2.",
        "Also see the submission RFCc.",
        "1. The fourth in the series. 2. Or two, if the coffee runs out.",
    ):
        assert words in flat, words
    notes = [line.strip() for line in text.splitlines() if "://" in line and "Online" not in line]
    assert notes == [
        "a. https://www.rfc-editor.org/rfc/rfc1939",
        "b. https://doc.dovecot.org/",
        "c. https://www.rfc-editor.org/rfc/rfc6409",
    ]
    assert "↩" not in flat
    # The footnote links go to the footnotes, and the back references' targets exist.
    reader = PdfReader(pdf)
    assert {"fn:1", "fn:2", "fnref:1", "fnref:2"} <= set(reader.named_destinations)
    internal = [
        str(annot.get_object().get("/Dest"))
        for page in reader.pages
        for annot in page.get("/Annots") or []
        if annot.get_object().get("/Dest") is not None
    ]
    assert internal == ["fn:1", "fn:2"]
    # The long issue runs onto a second page; its link note is on the page of its link.
    pages = text.split("\f")
    assert "the submission RFC" in pages[1] and "c. https://www.rfc-editor.org" in pages[1]
