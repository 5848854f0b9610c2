"""The service's small HTML pages, and the sign-up form for the static site.

Pages are rendered with Jinja2 (autoescaping on) from the templates below; they carry
one inline stylesheet, allowed by its hash in the Content-Security-Policy, and no
scripts. Every form works without JavaScript and without cookies. Whatever a page shows
passes :func:`printable` first, so no page echoes a control character a client sent.
"""

from __future__ import annotations

import base64
import hashlib
import re

import jinja2
from markupsafe import Markup
from starlette.responses import HTMLResponse

from newsdesk.i18n import ENGLISH, Strings
from newsdesk.pages import SUBSCRIBE_MARKER  # where a page wants the sign-up form

EMAIL_FIELD = "email"
NAME_FIELD = "name"
HONEYPOT_FIELD = "website"
"""Hidden from people (off-screen, not focusable); bots that fill every field fill it."""
PAGE_FIELD = "page"
"""Hidden: names the page that showed the form (recorded with the consent)."""
CONSENT_FIELD = "consent"
"""Hidden: the version of the consent sentence the form showed."""
MAX_EMAIL = 254
MAX_NAME = 200

CONSENT_VERSION = "1"
"""The version of :data:`CONSENT_TEXT`. Never change the text without a new version: the
consent records name the version and the hash of the text the person saw."""
CONSENT_TEXT = (
    "You will get a confirmation email first, then each new issue by email; every message "
    "has a link to unsubscribe with one click. We keep your address, your name and a record "
    "of this consent (the time, your network address, your browser and this page) while you "
    "are subscribed, and show or erase them when you ask."
)
CONSENT_TEXTS = {CONSENT_VERSION: CONSENT_TEXT}
"""Every consent text a form may still show (a cached page may be older), by version."""


def consent_hash(version: str) -> str:
    """The SHA-256 (hex) of the consent text of ``version``; empty for an unknown one."""
    text = CONSENT_TEXTS.get(version)
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text is not None else ""


STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:2rem 1rem;color:#1d1d1f;background:#fafafa}
main{max-width:34rem;margin:0 auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;
box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.5rem;margin-top:0}
label{display:block;font-weight:600;margin-top:1rem}
input[type=email],input[type=text]{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;
border:1px solid #888;border-radius:4px}
button{margin-top:1.25rem;padding:.6rem 1.2rem;font:inherit;font-weight:600;color:#fff;
background:#3f51b5;border:0;border-radius:4px;cursor:pointer}
.nd-hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
.nd-error{color:#b00020}
footer{margin-top:2rem;font-size:.875rem;color:#555}
a{color:#3949ab}
@media (prefers-color-scheme:dark){body{background:#121212;color:#eee}main{background:#1e1e1e}
input[type=email],input[type=text]{background:#2a2a2a;color:#eee}footer{color:#aaa}
.nd-error{color:#ff8a80}a{color:#9fa8ff}}
"""
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

_FORM = """\
<form class="nd-subscribe" method="post" action="{{ action }}" accept-charset="utf-8">
<label for="nd-email">{{ t("Email address") }}</label>
<input id="nd-email" name="{{ f.email }}" type="email" required maxlength="{{ f.max_email }}" \
autocomplete="email" value="{{ email }}">
<label for="nd-name">{{ t("Name") }} <small>{{ t("(optional)") }}</small></label>
<input id="nd-name" name="{{ f.name }}" type="text" maxlength="{{ f.max_name }}" \
autocomplete="name" value="{{ name }}">
<div class="nd-hp" aria-hidden="true">\
<label for="nd-website">{{ t("Leave this field empty") }}</label>
<input id="nd-website" name="{{ f.honeypot }}" type="text" tabindex="-1" autocomplete="off" \
value=""></div>
<input type="hidden" name="{{ f.page }}" value="{{ page }}">
<input type="hidden" name="{{ f.consent }}" value="{{ f.consent_version }}">
<p class="nd-consent"><small>{{ f.consent_text }}</small></p>
<button type="submit">{{ t("Subscribe") }}</button>
</form>"""

_TEMPLATES = {
    "base.html": """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ title }} · {{ newsletter }}</title>
<style>{{ style }}</style>
</head>
<body>
<main>
<h1>{{ title }}</h1>
{% block body %}{% endblock %}
<footer><a href="{{ site_url }}" rel="noreferrer">{{ newsletter }}</a></footer>
</main>
</body>
</html>
""",
    "message.html": """{% extends "base.html" %}{% block body %}
{% for p in paragraphs %}<p{% if error %} class="nd-error"{% endif %}>{{ p }}</p>
{% endfor %}{% if form %}"""
    + _FORM
    + """{% endif %}
{% endblock %}""",
    "unsubscribe.html": """{% extends "base.html" %}{% block body %}
<p>Stop receiving {{ newsletter }} at <strong>{{ email }}</strong>?</p>
<form method="post" action="{{ action }}">
<input type="hidden" name="action" value="unsubscribe">
<button type="submit">Unsubscribe</button>
</form>
{% endblock %}""",
    "confirm.html": """{% extends "base.html" %}{% block body %}
<p>Start receiving {{ newsletter }} at <strong>{{ email }}</strong>?</p>
<form method="post" action="{{ action }}">
<input type="hidden" name="action" value="confirm">
<input type="hidden" name="{{ f.page }}" value="service:/confirm">
<input type="hidden" name="{{ f.consent }}" value="{{ f.consent_version }}">
<p class="nd-consent"><small>{{ f.consent_text }}</small></p>
<button type="submit">Confirm my subscription</button>
</form>
{% endblock %}""",
}

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Control characters (C0, DEL, C1) and the bidirectional controls that reorder text."""


def printable(value: object) -> object:
    """``value`` with each control character replaced by U+FFFD; other values unchanged.

    Jinja applies it to every ``{{ }}`` value (``finalize``), before escaping; trusted
    markup (:class:`markupsafe.Markup`, the stylesheet) is left as it is.
    """
    if isinstance(value, str) and not isinstance(value, Markup):
        return _UNPRINTABLE.sub("\N{REPLACEMENT CHARACTER}", value)
    return value


_ENV = jinja2.Environment(
    loader=jinja2.DictLoader(_TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    finalize=printable,
)
_FIELDS = {
    "email": EMAIL_FIELD,
    "name": NAME_FIELD,
    "honeypot": HONEYPOT_FIELD,
    "page": PAGE_FIELD,
    "consent": CONSENT_FIELD,
    "consent_version": CONSENT_VERSION,
    "consent_text": CONSENT_TEXT,
    "max_email": MAX_EMAIL,
    "max_name": MAX_NAME,
}


class Pages:
    """Renders the service's pages for one newsletter."""

    def __init__(self, newsletter: str, site_url: str):
        self.newsletter = newsletter
        self.site_url = site_url

    def message(
        self,
        title: str,
        *paragraphs: str,
        status: int = 200,
        error: bool = False,
        form: bool = False,
        email: str = "",
        name: str = "",
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """A page with a title and paragraphs, optionally followed by the sign-up form.

        With the form, the page's ``Referrer-Policy`` is ``same-origin``: under the
        service's ``no-referrer`` browsers post the form with ``Origin: null``, which the
        Origin check refuses.
        """
        if form:
            headers = {"Referrer-Policy": "same-origin", **(headers or {})}
        return self._render(
            "message.html",
            status,
            headers,
            title=title,
            paragraphs=paragraphs,
            error=error,
            form=form,
            action="subscribe",
            email=email,
            name=name,
            page="service:/subscribe",
            f=_FIELDS,
        )

    def error(
        self,
        status: int,
        title: str,
        *paragraphs: str,
        form: bool = False,
        email: str = "",
        name: str = "",
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        """A :meth:`message` page answering with the error ``status``."""
        return self.message(
            title,
            *paragraphs,
            status=status,
            error=True,
            form=form,
            email=email,
            name=name,
            headers=headers,
        )

    def confirm(self, email: str, action: str) -> HTMLResponse:
        """The page behind the confirmation link: one button, which POSTs to ``action``.

        Its ``Referrer-Policy`` is ``same-origin`` (not the service's ``no-referrer``), so
        browsers send the service's own ``Origin`` with the button's POST (under
        ``no-referrer`` they send ``Origin: null``); its only link to elsewhere carries
        ``rel=noreferrer``, so the token in this page's address goes nowhere else.
        """
        return self._render(
            "confirm.html",
            200,
            {"Referrer-Policy": "same-origin"},
            title="Confirm your subscription",
            email=email,
            action=action,
            f=_FIELDS,
        )

    def unsubscribe(self, email: str, action: str) -> HTMLResponse:
        """The page behind the unsubscribe link: one button, which POSTs to ``action``."""
        return self._render(
            "unsubscribe.html", 200, None, title="Unsubscribe", email=email, action=action
        )

    def _render(
        self, template: str, status: int, headers: dict[str, str] | None, **context: object
    ) -> HTMLResponse:
        # The service's own pages are in English (the site's form follows theme.language).
        context.setdefault("t", ENGLISH)
        html = _ENV.get_template(template).render(
            newsletter=self.newsletter, site_url=self.site_url, style=Markup(STYLE), **context
        )
        return HTMLResponse(html, status_code=status, headers=headers)


SITE_FORM_STYLE = (
    ".nd-subscribe{max-width:30rem;margin:1.5em 0}"
    ".nd-subscribe label{display:block;font-weight:700;margin:1em 0 .3em}"
    ".nd-subscribe input[type=email],.nd-subscribe input[type=text]{display:block;width:100%;"
    "box-sizing:border-box;padding:.5em .6em;font:inherit;"
    "color:var(--md-default-fg-color,inherit);background:var(--md-default-bg-color,#fff);"
    "border:1px solid var(--md-default-fg-color--lighter,#888);border-radius:.2rem}"
    ".nd-subscribe input:focus{outline:2px solid var(--md-accent-fg-color,#3f51b5)}"
    ".nd-subscribe button{margin-top:1.2em}"
)
"""The form's look on the site: Material's colours where they exist, so dark mode works."""


def subscribe_form_html(service_url: str, t: Strings = ENGLISH, page: str = "") -> str:
    """The sign-up form for a page of the static site, posting to ``{service_url}/subscribe``.

    ``page`` names the page that carries it (sent back in a hidden field and recorded with
    the consent); the form shows the consent sentence :data:`CONSENT_TEXT`.

    Plain HTML in one block (no blank lines), so Markdown passes it through untouched; it
    needs no JavaScript. It brings its own small stylesheet (the site's theme resets form
    fields), and the honeypot is hidden by an inline style as well, in case that
    stylesheet is dropped.
    """
    action = service_url.rstrip("/") + "/subscribe"
    form = _ENV.from_string(_FORM).render(
        action=action, email="", name="", page=page, f=_FIELDS, t=t
    )
    hidden = (
        'class="nd-hp" style="position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden"'
    )
    form = form.replace('class="nd-hp"', hidden, 1)
    # Material for MkDocs styles these classes as its primary button.
    form = form.replace("<button ", '<button class="md-button md-button--primary" ', 1)
    return f"<style>{SITE_FORM_STYLE}</style>\n{form}"


def expand_subscribe_form(
    markdown: str, service_url: str | None, t: Strings = ENGLISH, page: str = ""
) -> str:
    """Replace :data:`SUBSCRIBE_MARKER` in a page's Markdown with the sign-up form
    (``page``: the page's name, recorded with the consent).

    Without a ``service_url`` the marker becomes a note that sign-up is not available.
    """
    if SUBSCRIBE_MARKER not in markdown:
        return markdown
    if not service_url:
        note = t.html(
            "Signing up on the web is not available: {option} is not configured.",
            option=Markup("<code>email.service_url</code>"),
        )
        block = f'<p class="nd-subscribe-unavailable">{note}</p>'
    else:
        block = subscribe_form_html(service_url, t, page)
    return markdown.replace(SUBSCRIBE_MARKER, f"\n{block}\n")
