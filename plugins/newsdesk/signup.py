"""The sign-up form of the static site, and what the form and the service agree on.

The site build puts the form in a page (:func:`expand_subscribe_form`, the marker
:data:`SUBSCRIBE_MARKER`); the subscription service
(:mod:`newsdesk.service`) receives it and shows the same form on its own pages. Field
names, limits and the consent sentence live here, once, so the two never disagree – and
the site build never imports the web service.
"""

from __future__ import annotations

import hashlib
import re

import jinja2
from markupsafe import Markup

from newsdesk.i18n import ENGLISH, Strings

SUBSCRIBE_MARKER = "<!-- newsdesk:subscribe-form -->"
"""Where a page of the site wants the sign-up form."""
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


FORM = """\
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


FORM_ENV = jinja2.Environment(
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    finalize=printable,
)
"""How the form is rendered: autoescaped, every value through :func:`printable`."""
FIELDS = {
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
    form = FORM_ENV.from_string(FORM).render(
        action=action, email="", name="", page=page, f=FIELDS, t=t
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
