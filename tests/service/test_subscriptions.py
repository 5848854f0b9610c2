"""What a request does to the list (``newsdesk.service.subscriptions``): unsubscribing,
stale confirmations, and coming back after leaving, bouncing or being forgotten."""

from __future__ import annotations

from bs4 import BeautifulSoup

from newsdesk.mail.tokens import make_token
from tests.service.support import (
    FORM,
    ONE_CLICK_BODY,
    SECRET,
    Running,
    page_text,
)


def test_an_old_confirmation_link_cannot_undo_an_unsubscribe(svc: Running) -> None:
    address = "fickle@example.org"
    svc.subscribe(address)
    link = svc.confirmation_link(address)
    assert svc.confirm(link).status_code == 200
    with svc.store() as store:
        store.set_status(address, "unsubscribed", "one-click")
    response = svc.client.get(link)
    assert response.status_code == 400
    assert "no longer valid" in page_text(response)
    response = svc.client.post(link, data={"action": "confirm"}, headers={"Origin": svc.url})
    assert response.status_code == 400
    assert "no longer valid" in page_text(response)
    assert svc.status(address) == "unsubscribed"


def test_the_unsubscribe_button_records_web(svc: Running) -> None:
    with svc.store() as store:
        sub = store.add("button@example.org", status="active", source="cli")
    url = f"{svc.url}/unsubscribe/{make_token(SECRET, 'unsubscribe', sub.id)}"
    page = BeautifulSoup(svc.client.get(url).text, "html.parser")
    forms = page.find_all("form")
    assert len(forms) == 1 and forms[0]["method"] == "post"
    assert len(forms[0].find_all("button")) == 1
    data = {i["name"]: i["value"] for i in forms[0].find_all("input")}
    response = svc.client.post(url, data=data, headers={"Origin": svc.url})
    assert response.status_code == 200
    assert "You are unsubscribed" in page_text(response)
    assert svc.sources("button@example.org")[-1] == ("active", "unsubscribed", "web")


def test_an_unsubscribe_post_without_a_known_body_changes_nothing(svc: Running) -> None:
    with svc.store() as store:
        sub = store.add("keep@example.org", status="active", source="cli")
    url = f"{svc.url}/unsubscribe/{make_token(SECRET, 'unsubscribe', sub.id)}"
    for body in (b"", b"List-Unsubscribe=Yes", b"other=1"):
        response = svc.client.post(url, content=body, headers=FORM)
        assert response.status_code == 400, body
    assert svc.status("keep@example.org") == "active"


def test_coming_back_after_unsubscribing_forgetting_or_bouncing(svc: Running) -> None:
    with svc.store() as store:
        left = store.add("left@example.org", status="active", source="cli")
        store.add("bounced@example.org", status="bounced", source="bounce")
        store.add("forgotten@example.org", status="active", source="cli")
        store.forget("forgotten@example.org", SECRET)
        assert store.is_suppressed("forgotten@example.org", SECRET)
    unsubscribe = f"{svc.url}/unsubscribe/{make_token(SECRET, 'unsubscribe', left.id)}"
    svc.client.post(unsubscribe, content=ONE_CLICK_BODY, headers=FORM)
    assert svc.status("left@example.org") == "unsubscribed"

    for address, before in (
        ("left@example.org", "unsubscribed"),
        ("bounced@example.org", "bounced"),
        ("forgotten@example.org", None),
    ):
        assert svc.subscribe(address).status_code == 200
        link = svc.confirmation_link(address)
        # Until the person confirms, nothing changes (a forgotten address is pending).
        assert svc.client.get(link).status_code == 200
        assert svc.status(address) == (before or "pending")
        assert svc.confirm(link).status_code == 200
        assert svc.status(address) == "active", address
        with svc.store() as store:
            kinds = [c.kind for c in store.consents(address)]
            assert kinds[-2:] == ["signup", "confirm"], address
            assert not store.is_suppressed(address, SECRET)
    assert svc.sources("left@example.org")[-2:] == [
        ("active", "unsubscribed", "one-click"),
        ("unsubscribed", "active", "web"),
    ]
    assert svc.sources("forgotten@example.org") == [
        (None, "pending", "web"),
        ("pending", "active", "web"),
    ]


def test_a_forgotten_address_stays_suppressed_until_it_confirms(svc: Running) -> None:
    with svc.store() as store:
        store.forget("someone@example.org", SECRET)
    svc.subscribe("someone@example.org")  # anyone can type an address into the form
    svc.confirmation_link("someone@example.org")
    with svc.store() as store:
        assert store.is_suppressed("someone@example.org", SECRET)
    assert svc.status("someone@example.org") == "pending"
