"""The service's small HTML pages (the static site's form is :mod:`newsdesk.signup`).

Pages are rendered with Jinja2 (autoescaping on) from the templates below; they carry
one inline stylesheet, allowed by its hash in the Content-Security-Policy, and no
scripts. Every form works without JavaScript and without cookies. Whatever a page shows
passes :func:`printable` first, so no page echoes a control character a client sent.
"""

from __future__ import annotations

import base64
import hashlib

import jinja2
from markupsafe import Markup
from starlette.responses import HTMLResponse

from newsdesk.i18n import ENGLISH
from newsdesk.signup import (  # noqa: F401 - the names the service and its tests use
    CONSENT_FIELD,
    CONSENT_TEXT,
    CONSENT_TEXTS,
    CONSENT_VERSION,
    EMAIL_FIELD,
    FIELDS,
    FORM,
    FORM_ENV,
    HONEYPOT_FIELD,
    MAX_EMAIL,
    MAX_NAME,
    NAME_FIELD,
    PAGE_FIELD,
    SUBSCRIBE_MARKER,
    consent_hash,
    expand_subscribe_form,
    printable,
    subscribe_form_html,
)

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
    + FORM
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

# The form's environment with the pages' templates: the same escaping and printable() rule.
_ENV = FORM_ENV.overlay(loader=jinja2.DictLoader(_TEMPLATES))


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
            f=FIELDS,
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
            f=FIELDS,
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
