"""The words newsdesk writes itself, in the site's language (``theme.language``).

Every string newsdesk puts on a page, into a PDF or an email is looked up here by its
English text; English, German, French and Spanish are translated. Dates are written by
Babel in the language's long form. Another language falls back to English (the plugin says
so in one INFO line).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

DEFAULT = "en"

_DE = {
    "Issue {number}": "Ausgabe {number}",
    "No. {number}": "Nr. {number}",
    "by {author}": "von {author}",
    "{minutes} min read": "{minutes} Min. Lesezeit",
    "Draft: not published, shown only in preview": (
        "Entwurf: nicht veröffentlicht, nur in der Vorschau zu sehen"
    ),
    "Scheduled for {date}: shown only in preview": (
        "Geplant für den {date}: nur in der Vorschau zu sehen"
    ),
    "draft": "Entwurf",
    "scheduled": "geplant",
    "Tags": "Schlagwörter",
    "Download PDF": "PDF herunterladen",
    "Previous and next issue": "Vorherige und nächste Ausgabe",
    "Previous issue": "Vorherige Ausgabe",
    "Next issue": "Nächste Ausgabe",
    "Issues": "Ausgaben",
    "No issues have been published yet.": "Es sind noch keine Ausgaben erschienen.",
    "No issue has been published yet.": "Es ist noch keine Ausgabe erschienen.",
    "{count} issue, newest first.": "{count} Ausgabe, die neueste zuerst.",
    "{count} issues, newest first.": "{count} Ausgaben, die neueste zuerst.",
    "New issues also arrive by {rss} and {atom} feed.": (
        "Neue Ausgaben kommen auch per {rss}- und {atom}-Feed."
    ),
    "Latest issue": "Neueste Ausgabe",
    "Read the issue": "Ausgabe lesen",
    "All issues": "Alle Ausgaben",
    "All {count} issues": "Alle {count} Ausgaben",
    "Glossary": "Glossar",
    "No terms yet.": "Noch keine Begriffe.",
    "A–Z": "A–Z",
    "Also:": "Auch:",
    "Defined in {link}": "Erklärt in {link}",
    "Related:": "Verwandt:",
    "Mentioned in:": "Erwähnt in:",
    "{count} earlier issue": "{count} frühere Ausgabe",
    "{count} earlier issues": "{count} frühere Ausgaben",
    "Ports": "Ports",
    "Port": "Port",
    "Port reference": "Port-Übersicht",
    "Protocol": "Protokoll",
    "Transport": "Transport",
    "Security": "Sicherheit",
    "IANA service": "IANA-Dienst",
    "Purpose": "Zweck",
    "RFC": "RFC",
    "none assigned": "keiner vergeben",
    "ports page intro": (
        "Die Ports, die einer Mail-Administratorin begegnen, nach Protokoll: der "
        "IANA-Dienstname, ob TLS sofort beginnt (*implizites TLS*), nach einem "
        "`STARTTLS`-Befehl oder gar nicht, und der RFC, der ihn festlegt. Quellen: das "
        "[IANA-Verzeichnis der Dienstnamen und Portnummern]"
        "(https://www.iana.org/assignments/service-names-port-numbers/) und die verlinkten RFCs."
    ),
    "Every port in detail:": "Alle Ports im Detail:",
    "Image": "Bild",
    "Search": "Suche",
    "Online:": "Online:",
    "Terms in this issue": "Begriffe in dieser Ausgabe",
    "page {page} of {pages}": "Seite {page} von {pages}",
    "View in browser": "Im Browser ansehen",
    "Read it on the website": "Auf der Website lesen",
    "You receive {newsletter} because {email} subscribed at {site}.": (
        "Sie erhalten {newsletter}, weil {email} sich auf {site} angemeldet hat."
    ),
    "Unsubscribe with one click": "Mit einem Klick abmelden",
    "Past issues": "Frühere Ausgaben",
    "Unsubscribe:": "Abmelden:",
    "View in browser:": "Im Browser ansehen:",
    "Download PDF:": "PDF herunterladen:",
    "Email address": "E-Mail-Adresse",
    "Name": "Name",
    "(optional)": "(freiwillig)",
    "Leave this field empty": "Dieses Feld leer lassen",
    "Subscribe": "Abonnieren",
    "Signing up on the web is not available: {option} is not configured.": (
        "Die Anmeldung im Web ist nicht möglich: {option} ist nicht eingerichtet."
    ),
}

_FR = {
    "Issue {number}": "Numéro {number}",
    "No. {number}": "N° {number}",
    "by {author}": "par {author}",
    "{minutes} min read": "{minutes} min de lecture",
    "Draft: not published, shown only in preview": (
        "Brouillon : non publié, visible seulement dans l’aperçu"
    ),
    "Scheduled for {date}: shown only in preview": (
        "Prévu pour le {date} : visible seulement dans l’aperçu"
    ),
    "draft": "brouillon",
    "scheduled": "prévu",
    "Tags": "Mots-clés",
    "Download PDF": "Télécharger le PDF",
    "Previous and next issue": "Numéros précédent et suivant",
    "Previous issue": "Numéro précédent",
    "Next issue": "Numéro suivant",
    "Issues": "Numéros",
    "No issues have been published yet.": "Aucun numéro n’a encore paru.",
    "No issue has been published yet.": "Aucun numéro n’a encore paru.",
    "{count} issue, newest first.": "{count} numéro, le plus récent d’abord.",
    "{count} issues, newest first.": "{count} numéros, le plus récent d’abord.",
    "New issues also arrive by {rss} and {atom} feed.": (
        "Les nouveaux numéros arrivent aussi par les flux {rss} et {atom}."
    ),
    "Latest issue": "Dernier numéro",
    "Read the issue": "Lire le numéro",
    "All issues": "Tous les numéros",
    "All {count} issues": "Les {count} numéros",
    "Glossary": "Glossaire",
    "No terms yet.": "Pas encore de termes.",
    "A–Z": "A–Z",
    "Also:": "Aussi :",
    "Defined in {link}": "Défini dans {link}",
    "Related:": "Voir aussi :",
    "Mentioned in:": "Cité dans :",
    "{count} earlier issue": "{count} numéro plus ancien",
    "{count} earlier issues": "{count} numéros plus anciens",
    "Ports": "Ports",
    "Port": "Port",
    "Port reference": "Référence des ports",
    "Protocol": "Protocole",
    "Transport": "Transport",
    "Security": "Sécurité",
    "IANA service": "Service IANA",
    "Purpose": "Usage",
    "RFC": "RFC",
    "none assigned": "aucun attribué",
    "ports page intro": (
        "Les ports qu’un administrateur de messagerie rencontre, par protocole : le nom de "
        "service IANA, si TLS commence d’emblée (*TLS implicite*), après une commande "
        "`STARTTLS` ou pas du tout, et la RFC qui le définit. Sources : le [registre IANA des "
        "noms de service et numéros de port]"
        "(https://www.iana.org/assignments/service-names-port-numbers/) et les RFC citées."
    ),
    "Every port in detail:": "Tous les ports en détail :",
    "Image": "Image",
    "Search": "Rechercher",
    "Online:": "En ligne :",
    "Terms in this issue": "Termes de ce numéro",
    "page {page} of {pages}": "page {page} sur {pages}",
    "View in browser": "Voir dans le navigateur",
    "Read it on the website": "Lire sur le site",
    "You receive {newsletter} because {email} subscribed at {site}.": (
        "Vous recevez {newsletter} parce que {email} s’est abonné sur {site}."
    ),
    "Unsubscribe with one click": "Se désabonner en un clic",
    "Past issues": "Numéros précédents",
    "Unsubscribe:": "Se désabonner :",
    "View in browser:": "Voir dans le navigateur :",
    "Download PDF:": "Télécharger le PDF :",
    "Email address": "Adresse e-mail",
    "Name": "Nom",
    "(optional)": "(facultatif)",
    "Leave this field empty": "Laissez ce champ vide",
    "Subscribe": "S’abonner",
    "Signing up on the web is not available: {option} is not configured.": (
        "L’inscription sur le web n’est pas disponible : {option} n’est pas configuré."
    ),
}

_ES = {
    "Issue {number}": "Número {number}",
    "No. {number}": "N.º {number}",
    "by {author}": "por {author}",
    "{minutes} min read": "{minutes} min de lectura",
    "Draft: not published, shown only in preview": (
        "Borrador: no publicado, solo visible en la vista previa"
    ),
    "Scheduled for {date}: shown only in preview": (
        "Programado para el {date}: solo visible en la vista previa"
    ),
    "draft": "borrador",
    "scheduled": "programado",
    "Tags": "Etiquetas",
    "Download PDF": "Descargar PDF",
    "Previous and next issue": "Número anterior y siguiente",
    "Previous issue": "Número anterior",
    "Next issue": "Número siguiente",
    "Issues": "Números",
    "No issues have been published yet.": "Todavía no se ha publicado ningún número.",
    "No issue has been published yet.": "Todavía no se ha publicado ningún número.",
    "{count} issue, newest first.": "{count} número, el más reciente primero.",
    "{count} issues, newest first.": "{count} números, el más reciente primero.",
    "New issues also arrive by {rss} and {atom} feed.": (
        "Los números nuevos llegan también por los canales {rss} y {atom}."
    ),
    "Latest issue": "Último número",
    "Read the issue": "Leer el número",
    "All issues": "Todos los números",
    "All {count} issues": "Los {count} números",
    "Glossary": "Glosario",
    "No terms yet.": "Todavía no hay términos.",
    "A–Z": "A–Z",
    "Also:": "También:",
    "Defined in {link}": "Definido en {link}",
    "Related:": "Relacionados:",
    "Mentioned in:": "Mencionado en:",
    "{count} earlier issue": "{count} número anterior",
    "{count} earlier issues": "{count} números anteriores",
    "Ports": "Puertos",
    "Port": "Puerto",
    "Port reference": "Referencia de puertos",
    "Protocol": "Protocolo",
    "Transport": "Transporte",
    "Security": "Seguridad",
    "IANA service": "Servicio IANA",
    "Purpose": "Uso",
    "RFC": "RFC",
    "none assigned": "ninguno asignado",
    "ports page intro": (
        "Los puertos con los que se encuentra quien administra el correo, por protocolo: el "
        "nombre de servicio IANA, si TLS empieza de inmediato (*TLS implícito*), tras una "
        "orden `STARTTLS` o nunca, y la RFC que lo define. Fuentes: el [registro IANA de "
        "nombres de servicio y números de puerto]"
        "(https://www.iana.org/assignments/service-names-port-numbers/) y las RFC enlazadas."
    ),
    "Every port in detail:": "Todos los puertos en detalle:",
    "Image": "Imagen",
    "Search": "Buscar",
    "Online:": "En línea:",
    "Terms in this issue": "Términos de este número",
    "page {page} of {pages}": "página {page} de {pages}",
    "View in browser": "Ver en el navegador",
    "Read it on the website": "Leer en el sitio web",
    "You receive {newsletter} because {email} subscribed at {site}.": (
        "Recibes {newsletter} porque {email} se suscribió en {site}."
    ),
    "Unsubscribe with one click": "Darse de baja con un clic",
    "Past issues": "Números anteriores",
    "Unsubscribe:": "Darse de baja:",
    "View in browser:": "Ver en el navegador:",
    "Download PDF:": "Descargar PDF:",
    "Email address": "Dirección de correo",
    "Name": "Nombre",
    "(optional)": "(opcional)",
    "Leave this field empty": "Deja este campo vacío",
    "Subscribe": "Suscribirse",
    "Signing up on the web is not available: {option} is not configured.": (
        "La suscripción en la web no está disponible: {option} no está configurado."
    ),
}

_EN = {
    "ports page intro": (
        "The ports a mail administrator meets, by protocol: the IANA service name, whether "
        "TLS starts at once (*implicit TLS*), after a `STARTTLS` command, or not at all, and "
        "the RFC that defines it. Sources: the [IANA service name and port number registry]"
        "(https://www.iana.org/assignments/service-names-port-numbers/) and the RFCs linked."
    ),
}

CATALOGS: dict[str, dict[str, str]] = {"en": _EN, "de": _DE, "fr": _FR, "es": _ES}
"""Translations by language, keyed by the English text (or a name for long texts)."""

_MONTHS = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)


def language_code(language: str | None) -> str:
    """The primary language subtag: ``de`` for ``de``, ``de-AT`` or ``de_CH``."""
    return (language or DEFAULT).replace("_", "-").split("-", 1)[0].strip().lower() or DEFAULT


def is_supported(language: str | None) -> bool:
    return language_code(language) in CATALOGS


def fallback_note(language: str | None) -> str | None:
    """The one INFO line for a language newsdesk has no words for, else None."""
    if is_supported(language):
        return None
    return (
        f"newsdesk: no translation for theme.language '{language}' (newsdesk has "
        f"{', '.join(sorted(CATALOGS))}): its own words are in English"
    )


@dataclass(frozen=True)
class Strings:
    """newsdesk's words in one language: ``t("Issue {number}", number=3)``."""

    language: str = DEFAULT

    def __post_init__(self) -> None:
        code = language_code(self.language)
        object.__setattr__(self, "language", code if code in CATALOGS else DEFAULT)

    def __call__(self, message: str, /, **values: Any) -> str:
        text = CATALOGS[self.language].get(message) or _EN.get(message) or message
        return text.format(**values) if values else text

    def count(self, one: str, other: str, count: int, **values: Any) -> str:
        """``one`` or ``other`` by ``count`` (1 takes ``one``), with ``{count}`` filled in."""
        return self(one if count == 1 else other, count=count, **values)

    def html(self, message: str, /, **values: Any) -> Markup:
        """The message as HTML: its text escaped, values escaped unless they are Markup."""
        return Markup(escape(self(message))).format(**values)

    def date(self, date: dt.date) -> str:
        """The long date: ``26 November 2026``, ``26. November 2026``, ``26 novembre 2026``."""
        if self.language == "en":
            return f"{date.day} {_MONTHS[date.month - 1]} {date.year}"
        from babel.dates import format_date

        return format_date(date, format="long", locale=self.language)


ENGLISH = Strings()
