"""The pages (``newsdesk.service.pages``): nothing a client sends comes back unprintable, and
the sign-up form the static site carries."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from newsdesk.service import SUBSCRIBE_MARKER, expand_subscribe_form, subscribe_form_html
from newsdesk.service.pages import STYLE
from tests.service.support import (
    FORM,
    SITE_ORIGIN,
    Running,
)

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]")


@pytest.mark.parametrize(
    "body",
    [
        "email=a%1b%5b31m%07%40example.org&name=Ann%00%0d%0aX-Evil%3a+1&website=",
        "email=ok%40example.org&name=%e2%80%aeevil%c2%9b&website=",  # bidi, C1
        "email=x%40example.org&e%07=1&e%07=2",  # a field name is echoed
        "email=" + "%01" * 10 + "&name=",
    ],
)
def test_pages_never_echo_control_characters(svc: Running, body: str) -> None:
    response = svc.client.post(
        f"{svc.url}/subscribe", content=body.encode(), headers={**FORM, "Origin": SITE_ORIGIN}
    )
    assert response.status_code in (200, 400)
    assert not CONTROL.search(response.text), repr(response.text)
    soup = BeautifulSoup(response.text, "html.parser")
    shown = soup.get_text() + "".join(str(i.get("value", "")) for i in soup.find_all("input"))
    assert not CONTROL.search(shown)
    # The stylesheet still matches the hash the Content-Security-Policy allows.
    assert soup.style is not None and soup.style.string == STYLE


def test_subscribe_form_html() -> None:
    html = subscribe_form_html("https://news.example.org/list/")
    form = BeautifulSoup(html, "html.parser").form
    assert form["action"] == "https://news.example.org/list/subscribe"
    assert form["method"] == "post"
    names = [i["name"] for i in form.find_all("input")]
    assert names == ["email", "name", "website", "page", "consent"]
    assert form.find("input", {"name": "email"}).has_attr("required")
    honeypot = form.find("input", {"name": "website"})
    assert honeypot["tabindex"] == "-1"
    assert "left:-10000px" in honeypot.parent["style"]
    assert "\n\n" not in html  # one Markdown block
    assert not form.find("script")


def test_expand_subscribe_form() -> None:
    page = f"# Subscribe\n\nText.\n\n{SUBSCRIBE_MARKER}\n"
    assert 'action="https://s.example.org/subscribe"' in expand_subscribe_form(
        page, "https://s.example.org"
    )
    assert "not configured" in expand_subscribe_form(page, None)
    assert expand_subscribe_form("# Other\n", "https://s.example.org") == "# Other\n"
