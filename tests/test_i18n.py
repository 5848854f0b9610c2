"""Readers in other languages: newsdesk's own words follow ``theme.language``."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from newsdesk.i18n import CATALOGS, Strings, fallback_note, language_code
from newsdesk.mail.render import Recipient, prepare_message
from newsdesk.pdf import print_html
from newsdesk.rendering import read_renderings
from newsdesk.settings import EmailSettings
from tests.conftest import Project

DAY = dt.date(2026, 3, 1)


def test_dates_in_each_language() -> None:
    assert Strings("en").date(DAY) == "1 March 2026"
    assert Strings("de").date(DAY) == "1. März 2026"
    assert Strings("fr").date(DAY) == "1 mars 2026"
    assert Strings("es").date(DAY) == "1 de marzo de 2026"


def test_language_codes_and_fallback() -> None:
    assert language_code("de-AT") == "de"
    assert language_code("pt_BR") == "pt"
    assert Strings("de_CH")("Download PDF") == "PDF herunterladen"
    assert Strings("ja").language == "en"
    assert Strings("ja")("{minutes} min read", minutes=4) == "4 min read"
    assert fallback_note("de") is None
    note = fallback_note("ja")
    assert note is not None and "'ja'" in note and "English" in note


def test_every_language_translates_every_string() -> None:
    keys = set(CATALOGS["de"])
    for language in ("fr", "es"):
        assert set(CATALOGS[language]) == keys, language
    for language in ("de", "fr", "es"):
        for key, text in CATALOGS[language].items():
            # The same placeholders as the English text.
            assert set(re.findall(r"{\w+}", text)) == set(re.findall(r"{\w+}", key)) or (
                key == "ports page intro"
            ), (language, key)


def test_html_messages_escape_their_values() -> None:
    t = Strings("de")
    html = t.html("Defined in {link}", link="<b>")
    assert str(html) == "Erklärt in &lt;b&gt;"


def _german(project: Project) -> None:
    project.config(
        "pdf: {enabled: true}\nemail: {service_url: 'https://letter.example.org/list'}",
        **{"name: material": "name: material\n  language: de"},
    )
    project.page("subscribe.md", "# Abonnieren\n\n<!-- newsdesk:subscribe-form -->\n")
    project.issue(
        "2026-03-01-relays.md",
        "**MTA** (Mail Transfer Agent) – The server software that relays mail.\n\n"
        "Every MTA listens on port 25 for SMTP.\n\n<!-- ports: SMTP -->\n",
        title="Relays",
        date="2026-03-01",
        author="Ada",
        summary="How mail moves.",
    )
    project.issue(
        "2026-03-08-queues.md",
        "An MTA keeps a queue.\n",
        title="Queues",
        date="2026-03-08",
    )


@pytest.mark.slow
def test_a_site_in_german(project: Project) -> None:
    _german(project)
    result = project.build()
    assert result.ok, result.log
    assert "no translation" not in result.log

    issue = result.html("issues/2026/relays/index.html")
    header = issue.select_one(".nd-issue-header").get_text(" ", strip=True)
    assert "Test Letter · Ausgabe 1" in header
    assert "1. März 2026" in header
    assert "von Ada" in header
    assert "Min. Lesezeit" in header
    assert issue.select_one(".nd-pdf a").get_text() == "PDF herunterladen"
    assert issue.select_one("#port-reference").get_text() == "Port-Übersicht"
    heads = [th.get_text() for th in issue.select(".newsdesk-port-reference th")]
    assert heads[:3] == ["Protokoll", "Port", "Transport"]
    nav = issue.select_one("nav.nd-issue-nav")
    assert nav["aria-label"] == "Vorherige und nächste Ausgabe"
    assert "Nächste Ausgabe" in nav.get_text()
    assert issue.select_one(".md-search")["aria-label"] == "Suche"
    assert issue.html["lang"] == "de"

    archive = result.html("issues/index.html")
    assert archive.select_one("h1").get_text().rstrip("¶") == "Ausgaben"
    text = archive.get_text(" ", strip=True)
    assert "2 Ausgaben, die neueste zuerst." in text
    assert "Nr. 2 · 8. März 2026" in text

    home = result.html("index.html").get_text(" ", strip=True)
    assert "Neueste Ausgabe" in home and "Ausgabe lesen" in home

    glossary = result.html("glossary/index.html")
    assert glossary.select_one("h1").get_text().rstrip("¶") == "Glossar"
    assert "Erklärt in Relays" in glossary.get_text(" ", strip=True)
    assert "Erwähnt in:" in glossary.get_text(" ", strip=True)
    ports = result.html("ports/index.html")
    assert ports.select_one("h1").get_text().rstrip("¶") == "Ports"
    assert "IANA-Dienst" in ports.get_text(" ", strip=True)

    form = result.html("subscribe/index.html").select_one("form.nd-subscribe")
    assert form.select_one('label[for="nd-email"]').get_text() == "E-Mail-Adresse"
    assert form.select_one("button").get_text() == "Abonnieren"

    # The renderings carry the language to the PDF and the email.
    renderings = {r.slug: r for r in read_renderings(project.root / ".newsdesk")}
    relays = renderings["relays"]
    assert relays.language == "de"
    printed = print_html(relays, newsletter_name="Test Letter")
    assert '<html lang="de">' in printed
    assert "Ausgabe 1" in printed and "1. März 2026" in printed
    assert "Begriffe in dieser Ausgabe" in printed
    assert '"Seite " counter(page) " von " counter(pages)' in printed
    assert "Alle Ports im Detail:" in printed
    feed = (result.site / "feed.xml").read_text(encoding="utf-8")
    assert "<language>de</language>" in feed

    import pikepdf

    with pikepdf.open(result.site / "issues/2026/relays/relays.pdf") as pdf:
        assert str(pdf.Root.Lang) == "de"

    message = prepare_message(
        relays,
        EmailSettings(service_url="https://letter.example.org/list"),
        newsletter_name="Test Letter",
    )
    html = message.html_for(Recipient(1, "ada@example.org"), "tok")
    for words in (
        "Im Browser ansehen",
        "PDF herunterladen",
        "Ausgabe 1 · 1. März 2026",
        "Auf der Website lesen",
        "Sie erhalten Test Letter, weil ada@example.org sich auf",
        "Mit einem Klick abmelden",
        "Frühere Ausgaben",
    ):
        assert words in html, words
    assert '<html lang="de"' in html
    plain = message.personalise(Recipient(1, "ada@example.org"), "tok").decode()
    assert "Im Browser ansehen:" in plain and "Abmelden:" in plain


@pytest.mark.slow
def test_an_unknown_language_falls_back_to_english_with_one_note(project: Project) -> None:
    project.config(**{"name: material": "name: material\n  language: it"})
    project.issue("2026-03-01-relays.md", "Mail moves.\n", title="Relays", date="2026-03-01")
    result = project.build()
    assert result.ok, result.log
    notes = [line for line in result.log.splitlines() if "no translation" in line]
    assert len(notes) == 1, result.log
    assert notes[0].startswith("INFO") and "'it'" in notes[0]
    issue = result.html("issues/2026/relays/index.html")
    assert "min read" in issue.select_one(".nd-issue-header").get_text()
    assert "1 March 2026" in issue.select_one(".nd-issue-header").get_text()


@pytest.mark.slow
def test_project_overrides_for_the_email_and_print_templates(project: Project) -> None:
    project.issue("2026-03-01-relays.md", "Mail moves.\n", title="Relays", date="2026-03-01")
    result = project.build()
    assert result.ok, result.log
    (relays,) = read_renderings(project.root / ".newsdesk")
    overrides = project.root / "overrides" / "newsdesk"
    overrides.mkdir(parents=True)
    (overrides / "email.html").write_text(
        '<html lang="{{ issue.language }}"><body><h1>Our own {{ issue.title }}</h1>'
        '{{ content }}<a href="{{ slot_unsubscribe }}">{{ t("Unsubscribe with one click") }}'
        "</a> {{ slot_email }}</body></html>",
        encoding="utf-8",
    )
    (overrides / "print.html").write_text(
        "<html><body><h1>Printed: {{ title }}</h1>{{ body }}</body></html>", encoding="utf-8"
    )
    message = prepare_message(
        relays, EmailSettings(), newsletter_name="Test Letter", overrides=overrides
    )
    html = message.html_for(Recipient(1, "ada@example.org"), "tok")
    assert "Our own Relays" in html and "Unsubscribe with one click" in html
    assert "ada@example.org" in html
    assert "<h1>Printed: Relays</h1>" in print_html(relays, overrides=overrides)
    # Without the folder, newsdesk's own templates.
    assert "Printed:" not in print_html(relays, overrides=project.root / "missing")


def test_an_overridden_print_template_renders_the_pdfs_again(tmp_path) -> None:
    from newsdesk.pdf import _setup_fingerprint

    overrides = tmp_path / "overrides" / "newsdesk"
    before = _setup_fingerprint("A4", "Letter", overrides)
    overrides.mkdir(parents=True)
    (overrides / "print.html").write_text("<html><body>{{ body }}</body></html>")
    changed = _setup_fingerprint("A4", "Letter", overrides)
    assert changed != before
    (overrides / "print.html").write_text("<html><body><p>x</p>{{ body }}</body></html>")
    assert _setup_fingerprint("A4", "Letter", overrides) not in (before, changed)
