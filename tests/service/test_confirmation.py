"""Double opt-in (``newsdesk.service.confirmation``): the link's token, the page behind it,
and the confirmation message over SMTP, into the outbox, or failing."""

from __future__ import annotations

import email
import email.policy
import logging
import mailbox
import time

import pytest
from bs4 import BeautifulSoup

from newsdesk.mail.tokens import make_token
from tests.service.support import (
    FORM,
    ONE_CLICK_BODY,
    SECRET,
    Running,
    free_port,
    page_text,
    wait_until,
)


def test_bad_tokens_get_a_clear_400(svc: Running) -> None:
    svc.subscribe("tok@example.org")
    link = svc.confirmation_link("tok@example.org")
    token = link.rsplit("/", 1)[1]
    payload, mac = token.split(".")
    tampered = f"{payload}.{'b' if mac[0] == 'a' else 'a'}{mac[1:]}"
    with svc.store() as store:
        sub = store.get("tok@example.org")
        assert sub is not None
    expired = make_token(SECRET, "confirm", f"{sub.id}:1", expires_at=time.time() - 1)
    foreign = make_token(b"another secret", "confirm", f"{sub.id}:1", expires_at=time.time() + 99)
    wrong_purpose = make_token(SECRET, "unsubscribe", sub.id)
    for bad in (tampered, expired, foreign, wrong_purpose, "x", "a.b.c", "z" * 5000):
        response = svc.client.get(f"{svc.url}/confirm/{bad}")
        assert response.status_code == 400, bad
        assert "not valid" in page_text(response)
    assert svc.status("tok@example.org") == "pending"

    with svc.store() as store:
        active = store.add("stay@example.org", status="active", source="cli")
    good = make_token(SECRET, "unsubscribe", active.id)
    payload, mac = good.split(".")
    for bad in (
        f"{payload}.{mac[::-1]}",
        make_token(SECRET, "confirm", active.id),
        make_token(SECRET, "bounce", active.id),
    ):
        assert svc.client.get(f"{svc.url}/unsubscribe/{bad}").status_code == 400
        response = svc.client.post(
            f"{svc.url}/unsubscribe/{bad}", content=ONE_CLICK_BODY, headers=FORM
        )
        assert response.status_code == 400
    assert svc.status("stay@example.org") == "active"
    # The token's case does not matter (mail systems may change it).
    response = svc.client.post(
        f"{svc.url}/unsubscribe/{good.upper()}", content=ONE_CLICK_BODY, headers=FORM
    )
    assert response.status_code == 200
    assert svc.status("stay@example.org") == "unsubscribed"


def test_a_get_of_the_confirmation_link_changes_nothing(svc: Running) -> None:
    address = "scanned@example.org"
    svc.subscribe(address)
    link = svc.confirmation_link(address)
    for _ in range(3):  # a link scanner, a preview, the person: GET and HEAD only show
        page = svc.client.get(link)
        assert page.status_code == 200
        assert "Confirm your subscription" in page_text(page)
        assert svc.client.head(link).status_code == 200
    form = BeautifulSoup(page.text, "html.parser").form
    assert form["method"] == "post" and form["action"] == link.rsplit("/", 1)[1]
    assert not BeautifulSoup(page.text, "html.parser").find("script")
    assert page.headers["referrer-policy"] == "same-origin"
    assert BeautifulSoup(page.text, "html.parser").footer.a["rel"] == ["noreferrer"]
    time.sleep(0.3)
    assert svc.status(address) == "pending"
    assert len(svc.sources(address)) == 1
    assert len(svc.inbox.to(address)) == 1  # the confirmation; no welcome
    # A POST without the button's field changes nothing either.
    response = svc.client.post(link, data={"consent": "1"}, headers={"Origin": svc.url})
    assert response.status_code == 400
    assert svc.status(address) == "pending"
    # The button confirms, once.
    response = svc.confirm(link)
    assert response.status_code == 200 and "You are subscribed" in page_text(response)
    assert svc.status(address) == "active"
    assert svc.inbox.wait_for(address, 2)["Subject"] == "Welcome to Test Letter"
    assert "already confirmed" in page_text(svc.client.get(link))
    again = svc.client.post(link, data={"action": "confirm"}, headers={"Origin": svc.url})
    assert "already confirmed" in page_text(again)
    time.sleep(0.3)
    assert len(svc.inbox.to(address)) == 2  # one welcome
    assert len(svc.sources(address)) == 2


def test_without_smtp_the_confirmation_goes_to_the_outbox(start) -> None:
    svc = start(smtp=False)
    assert svc.subscribe("outbox@example.org").status_code == 200
    outbox = svc.settings.email.outbox
    wait_until(lambda: any((outbox / "new").glob("*")))
    box = mailbox.Maildir(outbox, create=False)
    assert len(box) == 1
    msg = email.message_from_bytes(box.get_bytes(box.keys()[0]), policy=email.policy.default)
    assert msg["To"] == "outbox@example.org"
    assert f"{svc.url}/confirm/" in msg.get_body(("plain",)).get_content()


def test_a_failed_confirmation_is_logged_and_the_answer_is_the_same(
    start, caplog: pytest.LogCaptureFixture
) -> None:
    svc = start(smtp_at=free_port())  # nothing listens there
    with caplog.at_level(logging.ERROR, logger="newsdesk.service"):
        response = svc.subscribe("unlucky@example.org")
        assert response.status_code == 200
        assert "Check your inbox" in page_text(response)
        wait_until(lambda: "not delivered" in caplog.text)
    assert "cannot connect" in caplog.text
    assert "unlucky@example.org" not in caplog.text  # no addresses in the log
    assert svc.status("unlucky@example.org") == "pending"
