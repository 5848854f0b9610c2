"""The browser rules (``newsdesk.service.security``): origins a post may come from, and the
headers on every answer."""

from __future__ import annotations

from tests.service.support import (
    FORM,
    SITE_ORIGIN,
    Running,
    page_text,
)


def test_foreign_origins_are_refused(svc: Running) -> None:
    for origin in ("https://evil.example.net", "null", "https://letter.example.org.example.net"):
        response = svc.subscribe("victim@example.org", origin=origin)
        assert response.status_code == 403, origin
    assert svc.status("victim@example.org") is None
    # The site's origin, the service's own, and non-browser clients (no Origin) may.
    assert svc.subscribe("a@example.org", origin=SITE_ORIGIN).status_code == 200
    assert svc.subscribe("b@example.org", origin=svc.url).status_code == 200
    assert svc.subscribe("c@example.org", origin=None).status_code == 200


def test_a_cross_origin_confirmation_is_refused(svc: Running) -> None:
    address = "victim@example.org"
    svc.subscribe(address)
    link = svc.confirmation_link(address)
    body = {"action": "confirm", "consent": "1"}
    for headers in (
        {"Origin": "https://evil.example.net"},
        {"Origin": "null"},
        {"Origin": "https://letter.example.org.example.net"},
        {"Referer": "https://evil.example.net/page"},  # no Origin: the Referer's counts
    ):
        response = svc.client.post(link, data=body, headers=headers)
        assert response.status_code == 403, headers
        assert "Forbidden" in page_text(response)
    assert svc.status(address) == "pending"
    # From the service's own page (Origin, or only a Referer) it is accepted.
    response = svc.client.post(link, data=body, headers={"Referer": link})
    assert response.status_code == 200
    assert svc.status(address) == "active"


def test_security_headers_on_every_answer(svc: Running) -> None:
    responses = [
        svc.client.get(f"{svc.url}/subscribe"),
        svc.client.get(f"{svc.url}/healthz"),
        svc.client.get(f"{svc.url}/confirm/bad"),
        svc.client.put(f"{svc.url}/subscribe"),
        svc.client.post(f"{svc.url}/subscribe", content=b"x" * 20_000, headers=FORM),
    ]
    assert [r.status_code for r in responses] == [200, 200, 400, 405, 413]
    # The sign-up form's page: same-origin, else browsers post it with `Origin: null`.
    policies = ["same-origin", "no-referrer", "no-referrer", "no-referrer", "no-referrer"]
    for r, policy in zip(responses, policies, strict=True):
        csp = r.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == policy
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["cache-control"] == "no-store"
        assert "set-cookie" not in r.headers
