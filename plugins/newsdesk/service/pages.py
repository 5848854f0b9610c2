"""The service's small HTML pages, and the sign-up form for the static site.

Pages are rendered with Jinja2 (autoescaping on) from the templates below; they carry
one inline stylesheet, allowed by its hash in the Content-Security-Policy, and no
scripts. Every form works without JavaScript and without cookies.
"""

from __future__ import annotations

import base64
import hashlib

import jinja2
from markupsafe import Markup
from starlette.responses import HTMLResponse

from newsdesk.i18n import ENGLISH, Strings
from newsdesk.pages import SUBSCRIBE_MARKER  # where a page wants the sign-up form

EMAIL_FIELD = "email"
NAME_FIELD = "name"
HONEYPOT_FIELD = "website"
"""Hidden from people (off-screen, not focusable); bots that fill every field fill it."""
MAX_EMAIL = 254
MAX_NAME = 200

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
<footer><a href="{{ site_url }}">{{ newsletter }}</a></footer>
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
}

_ENV = jinja2.Environment(
    loader=jinja2.DictLoader(_TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
)
_FIELDS = {
    "email": EMAIL_FIELD,
    "name": NAME_FIELD,
    "honeypot": HONEYPOT_FIELD,
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
        """A page with a title and paragraphs, optionally followed by the sign-up form."""
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
            f=_FIELDS,
            t=ENGLISH,
        )

    def unsubscribe(self, email: str, action: str) -> HTMLResponse:
        """The page behind the unsubscribe link: one button, which POSTs to ``action``."""
        return self._render(
            "unsubscribe.html", 200, None, title="Unsubscribe", email=email, action=action
        )

    def _render(
        self, template: str, status: int, headers: dict[str, str] | None, **context: object
    ) -> HTMLResponse:
        html = _ENV.get_template(template).render(
            newsletter=self.newsletter, site_url=self.site_url, style=STYLE, **context
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


def subscribe_form_html(service_url: str, t: Strings = ENGLISH) -> str:
    """The sign-up form for a page of the static site, posting to ``{service_url}/subscribe``.

    Plain HTML in one block (no blank lines), so Markdown passes it through untouched; it
    needs no JavaScript. It brings its own small stylesheet (the site's theme resets form
    fields), and the honeypot is hidden by an inline style as well, in case that
    stylesheet is dropped.
    """
    action = service_url.rstrip("/") + "/subscribe"
    form = _ENV.from_string(_FORM).render(action=action, email="", name="", f=_FIELDS, t=t)
    hidden = (
        'class="nd-hp" style="position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden"'
    )
    form = form.replace('class="nd-hp"', hidden, 1)
    # Material for MkDocs styles these classes as its primary button.
    form = form.replace("<button ", '<button class="md-button md-button--primary" ', 1)
    return f"<style>{SITE_FORM_STYLE}</style>\n{form}"


def expand_subscribe_form(markdown: str, service_url: str | None, t: Strings = ENGLISH) -> str:
    """Replace :data:`SUBSCRIBE_MARKER` in a page's Markdown with the sign-up form.

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
        block = subscribe_form_html(service_url, t)
    return markdown.replace(SUBSCRIBE_MARKER, f"\n{block}\n")
