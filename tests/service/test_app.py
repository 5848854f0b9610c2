"""The app (``newsdesk.service.app``) over real HTTP: the whole loop, sign-up answers that
tell nothing, form parsing, routes and error pages, health, the database never replaced,
the consent a request records."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import time
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup

from newsdesk.mail.send import send_issues
from newsdesk.mail.tokens import make_token
from newsdesk.service.app import create_app
from tests.service.support import (
    FORM,
    ONE_CLICK_BODY,
    SECRET,
    SITE_ORIGIN,
    SITE_URL,
    Running,
    make_settings,
    page_text,
    rendering,
    wait_until,
)


def test_subscribe_confirm_send_one_click_unsubscribe_loop(svc: Running) -> None:
    reader = "reader@example.org"
    response = svc.subscribe("Reader@Example.org", "Ada Reader")
    assert response.status_code == 200
    assert "Check your inbox" in page_text(response)
    wait_until(lambda: svc.status(reader) == "pending")  # recorded after the answer

    confirm = svc.inbox.wait_for(reader)
    assert confirm["Subject"] == "Confirm your subscription to Test Letter"
    assert confirm["To"].addresses[0].display_name == "Ada Reader"
    assert confirm["Auto-Submitted"] == "auto-generated"
    link = svc.confirmation_link(reader)
    assert link.startswith(f"{svc.url}/confirm/")

    response = svc.confirm(link)
    assert response.status_code == 200
    assert "You are subscribed" in page_text(response)
    assert svc.status(reader) == "active"
    assert svc.sources(reader) == [(None, "pending", "web"), ("pending", "active", "web")]
    # No issue was mailed yet: the welcome is a note.
    assert svc.inbox.wait_for(reader, 2)["Subject"] == "Welcome to Test Letter"
    # Following the link again changes nothing.
    response = svc.client.get(link)
    assert response.status_code == 200 and "already confirmed" in page_text(response)
    assert len(svc.sources(reader)) == 2

    # The sender mails an issue to the same SMTP server; someone else is subscribed too.
    with svc.store() as store:
        store.add("other@example.net", "Other", status="active", source="cli")
        report = send_issues(svc.settings, store, [rendering("first", "First", 1)], secret=SECRET)
    assert (report.sent, report.failed, report.pending) == (2, 0, 0)
    issue = svc.inbox.wait_for(reader, 3)
    assert issue["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    targets = re.findall(r"<([^>]+)>", str(issue["List-Unsubscribe"]))
    web = [t for t in targets if t.startswith("http")]
    assert len(web) == 1 and web[0].startswith(f"{svc.url}/unsubscribe/"), targets

    # A GET (a mail scanner following the link) changes nothing.
    response = svc.client.get(web[0])
    assert response.status_code == 200
    assert "Unsubscribe" in page_text(response)
    assert svc.status(reader) == "active"

    # Exactly RFC 8058's request: a POST with that body, no cookies, nothing else.
    with httpx.Client(timeout=10) as bare:
        response = bare.post(web[0], content=ONE_CLICK_BODY, headers=FORM)
        assert response.status_code == 200
        assert "set-cookie" not in response.headers
        assert svc.status(reader) == "unsubscribed"
        assert svc.sources(reader)[-1] == ("active", "unsubscribed", "one-click")
        # Idempotent: again 200, and nothing more recorded.
        assert bare.post(web[0], content=ONE_CLICK_BODY, headers=FORM).status_code == 200
        assert len(svc.sources(reader)) == 3
    # And a GET of the same URL afterwards still changes nothing.
    assert svc.client.get(web[0]).status_code == 200
    assert svc.status(reader) == "unsubscribed"
    assert len(svc.sources(reader)) == 3

    # The next issue skips them.
    with svc.store() as store:
        report = send_issues(
            svc.settings, store, [rendering("second", "Second", 2)], secret=SECRET, only="second"
        )
    assert report.sent == 1
    svc.inbox.wait_for("other@example.net", 2)
    assert len(svc.inbox.to(reader)) == 3  # the confirmation, the welcome, the first issue


def test_same_answer_whatever_the_status(svc: Running) -> None:
    with svc.store() as store:
        store.add("active@example.org", status="active", source="cli")
        store.add("pending@example.org", status="pending", source="web")
        store.add("gone@example.org", status="unsubscribed", source="cli")
        store.add("bounced@example.org", status="bounced", source="bounce")
    texts = set()
    for address in (
        "new@example.org",
        "active@example.org",
        "pending@example.org",
        "gone@example.org",
        "bounced@example.org",
    ):
        response = svc.subscribe(address)
        assert response.status_code == 200
        texts.add(page_text(response))
    assert len(texts) == 1
    for address in ("new", "pending", "gone", "bounced"):
        svc.inbox.wait_for(f"{address}@example.org")
    time.sleep(0.3)
    assert svc.inbox.to("active@example.org") == []
    # Who left stays away until they confirm.
    assert svc.status("gone@example.org") == "unsubscribed"
    assert svc.status("bounced@example.org") == "bounced"
    response = svc.confirm(svc.confirmation_link("gone@example.org"))
    assert response.status_code == 200
    assert svc.status("gone@example.org") == "active"
    assert svc.sources("gone@example.org")[-1] == ("unsubscribed", "active", "web")


def test_the_answer_does_not_wait_for_what_depends_on_the_address(svc: Running) -> None:
    """A new address and a known one get their answer after the same work: what differs
    (recording a new subscriber, the confirmation email) happens after the answer. Here
    the database is locked for writing, and still both answers come at once."""
    with svc.store() as store:
        store.add("known@example.org", status="active", source="cli")
    with svc.store() as locker:
        locker.conn.execute("BEGIN IMMEDIATE")
        elapsed = {}
        for address in ("known@example.org", "fresh@example.org"):
            started = time.monotonic()
            response = svc.subscribe(address)
            elapsed[address] = time.monotonic() - started
            assert response.status_code == 200
            assert "Check your inbox" in page_text(response)
        assert svc.status("fresh@example.org") is None  # not recorded yet: still locked
        locker.conn.execute("ROLLBACK")
    assert max(elapsed.values()) < 1.0, elapsed
    svc.inbox.wait_for("fresh@example.org")
    assert svc.status("fresh@example.org") == "pending"
    assert svc.inbox.to("known@example.org") == []


def test_the_honeypot_answers_as_usual_and_does_nothing(svc: Running) -> None:
    response = svc.subscribe("bot@example.org", website="https://spam.example.net/")
    assert response.status_code == 200
    assert page_text(response) == page_text(svc.subscribe("human@example.org"))
    svc.inbox.wait_for("human@example.org")
    time.sleep(0.2)
    assert svc.status("bot@example.org") is None
    assert svc.inbox.to("bot@example.org") == []


@pytest.mark.parametrize(
    ("body", "ctype", "status"),
    [
        (b"name=Ada&website=", "application/x-www-form-urlencoded", 400),  # no email field
        (b"email=&name=Ada&website=", "application/x-www-form-urlencoded", 400),
        (b"email=not-an-address&website=", "application/x-www-form-urlencoded", 400),
        (b"email=a%40example.org&name=A%0d%0aBcc:x&website=", FORM["Content-Type"], 400),
        (b"email=a%40example.org&email=b%40example.org", FORM["Content-Type"], 400),
        (b"email=a%40example.org&name=%ff%fe", FORM["Content-Type"], 400),
        (b"email=a%40example.org&&&&=&%%%", FORM["Content-Type"], 400),
        (b'{"email": "a@example.org"}', "application/json", 415),
        (b"email=a@example.org", "text/plain", 415),
    ],
)
def test_malformed_sign_ups_get_4xx_and_store_nothing(
    svc: Running, body: bytes, ctype: str, status: int
) -> None:
    response = svc.client.post(
        f"{svc.url}/subscribe", content=body, headers={"Content-Type": ctype}
    )
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert BeautifulSoup(response.text, "html.parser").h1.get_text()
    with svc.store() as store:
        assert store.subscribers() == []


def test_an_invalid_address_shows_the_form_again(svc: Running) -> None:
    response = svc.subscribe("nobody@@example.org", "Ada")
    assert response.status_code == 400
    page = BeautifulSoup(response.text, "html.parser")
    assert page.find("input", {"name": "email"})["value"] == "nobody@@example.org"
    assert page.find("input", {"name": "name"})["value"] == "Ada"
    assert page.find("form")["action"] == "subscribe"


ENCODED_WORD_NAME = (
    "=?utf-8?q?x=0D=0ASubject:_Your_account_is_locked=0D=0AContent-Type:_text/html"
    "=0D=0A=0D=0A<a_href=3Dhttps://evil.example/>verify_now</a>?="
)


def test_a_name_with_an_encoded_word_is_refused_and_nothing_is_mailed(svc: Running) -> None:
    """The security review's attack: a sign-up name that decodes to CR LF and headers. It is
    refused with a message saying why; nothing is stored and no email goes out."""
    response = svc.subscribe("victim@example.org", ENCODED_WORD_NAME)
    assert response.status_code == 400
    assert "encoded word" in page_text(response)
    time.sleep(0.5)
    assert svc.status("victim@example.org") is None
    assert svc.inbox.to("victim@example.org") == []


@pytest.mark.parametrize(
    "headers_body",
    [
        ({"Content-Type": "application/x-www-form-urlencoded"}, ONE_CLICK_BODY),
        ({}, ONE_CLICK_BODY),
        (
            {"Content-Type": "multipart/form-data; boundary=XyZ"},
            b'--XyZ\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
            b"One-Click\r\n--XyZ--\r\n",
        ),
    ],
    ids=["urlencoded", "no-content-type", "multipart"],
)
def test_one_click_in_either_form_encoding(svc: Running, headers_body) -> None:
    headers, body = headers_body
    with svc.store() as store:
        sub = store.add("enc@example.org", status="active", source="cli")
    url = f"{svc.url}/unsubscribe/{make_token(SECRET, 'unsubscribe', sub.id)}"
    response = svc.client.post(url, content=body, headers=headers)
    assert response.status_code == 200
    assert svc.sources("enc@example.org")[-1] == ("active", "unsubscribed", "one-click")


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("PUT", "/subscribe", 405, "GET, HEAD, POST"),
        ("DELETE", "/subscribe", 405, "GET, HEAD, POST"),
        ("PUT", "/confirm/abc", 405, "GET, HEAD, POST"),
        ("DELETE", "/unsubscribe/abc", 405, "GET, HEAD, POST"),
        ("POST", "/healthz", 405, "GET, HEAD"),
        ("GET", "/nothing-here", 404, None),
        ("GET", "/subscribe/", 404, None),  # no redirect, wherever Host points
        ("POST", "/healthz/", 404, None),
    ],
)
def test_wrong_methods_and_paths(
    svc: Running, method: str, path: str, status: int, allow: str | None
) -> None:
    response = svc.client.request(method, f"{svc.url}{path}", headers={"Host": "evil.example.net"})
    assert response.status_code == status
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    allowed = response.headers.get("allow")
    assert (set(allowed.split(", ")) if allowed else None) == (
        set(allow.split(", ")) if allow else None
    )
    if status == 405:
        assert "Method not allowed" in page_text(response)


def test_healthz(svc: Running) -> None:
    response = svc.client.get(f"{svc.url}/healthz")
    assert (response.status_code, response.text) == (200, "ok\n")


def test_a_database_moved_away_is_not_replaced_and_nobody_is_told_they_left(
    svc: Running, caplog: pytest.LogCaptureFixture
) -> None:
    database = svc.settings.email.database
    with svc.store() as store:
        sub = store.add("kept@example.org", status="active", source="cli")
    unsubscribe = f"{svc.url}/unsubscribe/{make_token(SECRET, 'unsubscribe', sub.id)}"
    confirm = make_token(SECRET, "confirm", f"{sub.id}:1", expires_at=time.time() + 99)
    assert svc.client.get(f"{svc.url}/healthz").status_code == 200

    moved = database.with_name("moved.sqlite3")
    database.rename(moved)
    caplog.set_level(logging.ERROR, logger="newsdesk.service")
    health = svc.client.get(f"{svc.url}/healthz")
    assert (health.status_code, health.text) == (503, "database unavailable\n")
    answers = [
        svc.client.get(unsubscribe),
        svc.client.post(unsubscribe, content=ONE_CLICK_BODY, headers=FORM),
        svc.client.post(unsubscribe, data={"action": "unsubscribe"}),
        svc.subscribe("new@example.org"),
        svc.client.get(f"{svc.url}/confirm/{confirm}"),
        svc.client.post(f"{svc.url}/confirm/{confirm}", data={"action": "confirm"}),
    ]
    for response in answers:
        assert response.status_code == 503
        assert response.headers["retry-after"] == "60"
        text = page_text(response)
        assert "Temporarily unavailable" in text and "nothing was changed" in text
        assert "Not on the list" not in text and "unsubscribed" not in text
    assert not database.exists()  # no empty database took its place
    assert svc.inbox.messages == []
    # Logged, once a minute rather than once a request.
    assert caplog.text.count("database unavailable, answering 503") == 1
    assert "no database file" in caplog.text

    moved.rename(database)
    assert svc.client.get(f"{svc.url}/healthz").status_code == 200
    response = svc.client.post(unsubscribe, content=ONE_CLICK_BODY, headers=FORM)
    assert response.status_code == 200
    assert "You are unsubscribed" in page_text(response)
    assert svc.sources("kept@example.org") == [
        (None, "active", "cli"),
        ("active", "unsubscribed", "one-click"),
    ]


def test_healthz_fails_for_a_damaged_or_empty_database(svc: Running) -> None:
    database = svc.settings.email.database
    with svc.store() as store:
        for n in range(200):
            store.add(f"reader{n}@example.org", status="active", source="cli")
    assert svc.client.get(f"{svc.url}/healthz").status_code == 200
    good = database.read_bytes()
    page_size = int.from_bytes(good[16:18], "big")
    # Keep the header and the schema (page 1); scramble the pages after it.
    damaged = good[:page_size] + bytes(range(256)) * ((len(good) - page_size) // 256)
    database.write_bytes(damaged)
    health = svc.client.get(f"{svc.url}/healthz")
    assert health.status_code == 503
    assert health.text in ("database damaged\n", "database unavailable\n")
    assert svc.subscribe("while.damaged@example.org").status_code == 503

    database.write_bytes(b"")  # an empty file is not a newsdesk database either
    assert svc.client.get(f"{svc.url}/healthz").status_code == 503
    assert database.stat().st_size == 0  # and the service did not fill it in

    database.write_bytes(good)
    assert svc.client.get(f"{svc.url}/healthz").status_code == 200


def test_the_app_never_creates_the_database(tmp_path: Path) -> None:
    from newsdesk.errors import NewsdeskError

    settings = make_settings(tmp_path, "https://s.example.org", None)
    with pytest.raises(NewsdeskError, match="no database file") as info:
        create_app(settings, secret=SECRET)
    assert info.value.path == ".newsdesk/newsdesk.sqlite3"
    assert not settings.email.database.exists()


def test_configuration_errors_are_reported_at_start(tmp_path: Path) -> None:
    from newsdesk.errors import NewsdeskError

    settings = make_settings(tmp_path, "", None)
    with pytest.raises(NewsdeskError, match="service_url"):
        create_app(settings, secret=SECRET)
    (tmp_path / "file").write_text("not a folder")
    settings = make_settings(tmp_path, "https://s.example.org", None)
    settings = dataclasses.replace(
        settings,
        email=dataclasses.replace(settings.email, database=tmp_path / "file" / "db.sqlite3"),
    )
    with pytest.raises(NewsdeskError, match="cannot open the database") as info:
        create_app(settings, secret=SECRET)
    assert info.value.path == "file/db.sqlite3"


def test_consent_is_recorded_at_sign_up_and_confirmation(svc: Running) -> None:
    from newsdesk.service.pages import CONSENT_TEXT

    address = "consenting@example.org"
    agent = "Mozilla/5.0 (X11; Linux) " + "x" * 500
    response = svc.client.post(
        f"{svc.url}/subscribe",
        data={"email": address, "website": "", "page": "site:subscribe.md", "consent": "1"},
        headers={"Origin": SITE_ORIGIN, "User-Agent": agent, "X-Forwarded-For": "192.0.2.7"},
    )
    assert response.status_code == 200
    link = svc.confirmation_link(address)
    svc.confirm(link, **{"User-Agent": "Reader/1.0", "X-Forwarded-For": "2001:db8::7"})
    with svc.store() as store:
        consents = store.consents(address)
    digest = hashlib.sha256(CONSENT_TEXT.encode()).hexdigest()
    assert [c.kind for c in consents] == ["signup", "confirm"]
    signup, confirmed = consents
    assert (signup.source, signup.client, signup.page) == ("web", "192.0.2.7", "site:subscribe.md")
    assert signup.user_agent == agent[:300]
    assert (signup.text_version, signup.text_hash) == ("1", digest)
    assert (confirmed.client, confirmed.user_agent) == ("2001:db8::7", "Reader/1.0")
    assert (confirmed.page, confirmed.text_version, confirmed.text_hash) == (
        "service:/confirm",
        "1",
        digest,
    )
    assert confirmed.at >= signup.at
    # A form that names no consent text (an old cached page) records none; a page field
    # with control characters is stored without them, and cut short.
    svc.client.post(
        f"{svc.url}/subscribe",
        data={"email": "old@example.org", "website": "", "page": "p\x1b[31m" + "y" * 900},
        headers={"Referer": f"{SITE_URL}subscribe/"},
    )
    wait_until(lambda: svc.status("old@example.org") == "pending")
    with svc.store() as store:
        (old,) = store.consents("old@example.org")
    assert (old.text_version, old.text_hash) == ("", "")
    assert old.page.startswith("p\N{REPLACEMENT CHARACTER}[31m") and len(old.page) == 300
    # Without the hidden field, the Referer names the page.
    svc.client.post(
        f"{svc.url}/subscribe",
        data={"email": "ref@example.org"},
        headers={"Referer": f"{SITE_URL}subscribe/"},
    )
    wait_until(lambda: svc.status("ref@example.org") == "pending")
    with svc.store() as store:
        assert store.consents("ref@example.org")[0].page == f"{SITE_URL}subscribe/"


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("", "unknown"),
    ],
)
def test_rate_limit_key_per_client(host: str, key: str) -> None:
    from starlette.requests import Request

    from newsdesk.service.app import client_key

    scope = {"type": "http", "client": (host, 1234) if host else None, "headers": []}
    assert client_key(Request(scope)) == key
