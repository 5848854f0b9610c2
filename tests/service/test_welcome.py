"""The welcome after a confirmation (``newsdesk.service.welcome``): the latest issue or a
note, never a copy twice, not even after a dropped connection or a crash."""

from __future__ import annotations

import email
import email.policy
import logging
import mailbox
import re
import time

import pytest
from aiosmtpd.controller import Controller

from newsdesk.mail.send import send_issues
from newsdesk.rendering import IssueRendering
from tests.service.support import (
    SECRET,
    SITE_URL,
    Inbox,
    Running,
    free_port,
    messages_of,
    publish,
    rendering,
    wait_until,
)


def test_welcome_latest_then_send_one_copy_of_each_issue(svc: Running) -> None:
    first, second = rendering("first", "First", 1), rendering("second", "Second", 2)
    with svc.store() as store:
        store.add("early@example.net", status="active", source="cli")
        assert send_issues(svc.settings, store, [first], secret=SECRET).issues[0].sent == 1
    # The second issue is built but not mailed yet: the welcome sends the newest one that
    # was mailed, and leaves the second to `send`.
    publish(svc, first, second)
    reader = "new.reader@example.org"
    svc.subscribe(reader, "New Reader")
    assert svc.confirm(svc.confirmation_link(reader)).status_code == 200
    welcome = svc.inbox.wait_for(reader, 2)
    assert welcome["X-Newsdesk-Issue"] == "first"
    assert welcome["Subject"] == "Test Letter #1: First"
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain = welcome.get_body(("plain",)).get_content()
    assert plain.startswith("Welcome to Test Letter! Your subscription is confirmed.")
    html = welcome.get_body(("html",)).get_content()
    assert "Welcome to Test Letter!" in html and html.index("Welcome") < html.index("First text")
    with svc.store() as store:
        sub = store.get(reader)
        assert sub is not None

        def welcome_row() -> tuple[str, str]:
            return tuple(
                store.conn.execute(
                    "SELECT state, error FROM deliveries WHERE issue_slug = 'first'"
                    " AND subscriber_id = ?",
                    (sub.id,),
                ).fetchone()
            )

        wait_until(lambda: welcome_row()[0] != "sending")  # recorded once the server took it
        assert welcome_row() == ("sent", "")
        report = send_issues(svc.settings, store, [first, second], secret=SECRET)
        assert [(i.slug, i.sent) for i in report.issues] == [("second", 2)]
        again = send_issues(svc.settings, store, [first, second], secret=SECRET)
        assert again.issues == []
        assert (
            "already sent"
            in send_issues(svc.settings, store, [first, second], secret=SECRET, only="first").notes[
                0
            ]
        )
    svc.inbox.wait_for(reader, 3)
    time.sleep(0.2)
    for address in (reader, "early@example.net"):
        assert len(messages_of(svc.inbox, address, "first")) == 1, address
        assert len(messages_of(svc.inbox, address, "second")) == 1, address


def test_welcome_note_and_off(start) -> None:
    svc = start(welcome="note")
    publish(svc, rendering("first", "First", 1))
    with svc.store() as store:
        store.add("early@example.net", status="active", source="cli")
        send_issues(svc.settings, store, [rendering("first", "First", 1)], secret=SECRET)
    svc.subscribe("noted@example.org")
    svc.confirm(svc.confirmation_link("noted@example.org"))
    note = svc.inbox.wait_for("noted@example.org", 2)
    assert note["Subject"] == "Welcome to Test Letter" and note["X-Newsdesk-Issue"] is None
    text = note.get_body(("plain",)).get_content()
    assert f"{SITE_URL}issues/" in text and f"{svc.url}/unsubscribe/" in text
    assert note["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    svc.stop()

    quiet = start(welcome="off")
    quiet.subscribe("quiet@example.org")
    quiet.confirm(quiet.confirmation_link("quiet@example.org"))
    time.sleep(0.5)
    assert quiet.status("quiet@example.org") == "active"
    assert len(quiet.inbox.to("quiet@example.org")) == 1  # the confirmation only


class DropAfterData(Inbox):
    """Keeps each issue it receives, then drops the connection instead of answering: the
    sender cannot know that the message arrived."""

    async def handle_DATA(self, server, session, envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if b"X-Newsdesk-Issue" in envelope.content:
            server.transport.close()
        return answer


def interrupted_issue(svc: Running, issue: IssueRendering) -> None:
    """``issue`` was started for the active subscribers and the run stopped before any
    delivery: the next `send` continues it."""
    with svc.store() as store:
        store.add("early@example.net", status="active", source="cli")
        store.start_issue(issue.slug, issue.number, issue.title, issue.date.isoformat(), issue.url)


def test_a_welcome_the_server_may_have_taken_is_never_sent_again(
    start, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = DropAfterData()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        svc = start(smtp_at=port)
        svc.inbox = inbox
        first = rendering("first", "First", 1)
        publish(svc, first)
        interrupted_issue(svc, first)
        reader = "dropped@example.org"
        with caplog.at_level(logging.ERROR, logger="newsdesk.service"):
            svc.subscribe(reader)
            svc.confirm(svc.confirmation_link(reader))
            wait_until(lambda: "welcome for subscriber" in caplog.text)
        assert len(messages_of(inbox, reader, "first")) == 1  # it did arrive
        with svc.store() as store:
            sub = store.get(reader)
            assert sub is not None
            state, error = store.conn.execute(
                "SELECT state, error FROM deliveries WHERE subscriber_id = ?", (sub.id,)
            ).fetchone()
            assert state == "failed" and "not sent again" in error
        controller.stop()
        controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
        controller.start()
        svc.inbox = controller.handler
        with svc.store() as store:
            report = send_issues(svc.settings, store, [first], secret=SECRET)
        assert [(i.slug, i.sent) for i in report.issues] == [("first", 1)]
        assert svc.inbox.to(reader) == []  # the continued issue went to the other only
        assert len(svc.inbox.to("early@example.net")) == 1
    finally:
        controller.stop()


class Crash(BaseException):
    """The process dies (kill -9, power cut) right after the server took the message."""


def test_a_welcome_interrupted_by_a_crash_is_never_sent_twice(svc: Running) -> None:
    from newsdesk.mail.send import SmtpTransport
    from newsdesk.service.welcome import welcome

    first = rendering("first", "First", 1)
    interrupted_issue(svc, first)
    with svc.store() as store:
        sub = store.add("crash@example.org", status="active", source="web")

    class CrashAfterSending(SmtpTransport):
        def send(self, envelope_from: str, recipient: str, data: bytes) -> None:
            super().send(envelope_from, recipient, data)
            with svc.store() as store:  # 'sending' was committed before the hand-over
                row = store.conn.execute(
                    "SELECT state, error FROM deliveries WHERE subscriber_id = ?", (sub.id,)
                ).fetchone()
                assert tuple(row) == ("sending", "welcome in flight")
            raise Crash

    with pytest.raises(Crash):
        welcome(
            svc.settings,
            SECRET,
            sub.id,
            renderings=[first],
            make_transport=lambda: CrashAfterSending(svc.settings.email.smtp),
        )
    assert len(messages_of(svc.inbox, sub.email, "first")) == 1
    # The next run continues the issue, and does not send the welcomed copy again.
    with svc.store() as store:
        report = send_issues(svc.settings, store, [first], secret=SECRET)
        assert [(i.slug, i.sent) for i in report.issues] == [("first", 1)]
        state, error = store.conn.execute(
            "SELECT state, error FROM deliveries WHERE subscriber_id = ?", (sub.id,)
        ).fetchone()
        assert state == "failed" and "may have arrived" in error
        assert store.issue("first").state == "sent"
    svc.inbox.wait_for("early@example.net")
    time.sleep(0.2)
    assert len(messages_of(svc.inbox, sub.email, "first")) == 1
    # A second welcome (say the link's POST was replayed) does not send it either.
    assert welcome(svc.settings, SECRET, sub.id, renderings=[first]) == "note"
    assert len(messages_of(svc.inbox, sub.email, "first")) == 1


def test_without_smtp_the_welcome_is_a_rehearsal_in_the_outbox(start) -> None:
    svc = start(smtp=False)
    first = rendering("first", "First", 1)
    publish(svc, first)
    with svc.store() as store:
        store.add("early@example.net", status="active", source="cli")
        assert send_issues(svc.settings, store, [first], secret=SECRET).issues[0].outbox == 1
    outbox = svc.settings.email.outbox
    svc.subscribe("rehearsed@example.org")
    wait_until(lambda: len(list((outbox / "new").glob("*"))) == 2)
    box = mailbox.Maildir(outbox, create=False)
    confirm_mail = next(
        email.message_from_bytes(box.get_bytes(k), policy=email.policy.default)
        for k in box.iterkeys()
        if b"/confirm/" in box.get_bytes(k)
    )
    link = re.search(r"http://\S+/confirm/\S+", confirm_mail.get_body(("plain",)).get_content())
    assert link
    svc.confirm(link.group(0))
    wait_until(lambda: len(list((outbox / "new").glob("*"))) == 3)
    with svc.store() as store:
        wait_until(lambda: store.outbox_counts() == {"first": 2})  # recorded after writing
        assert store.conn.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0
        assert store.issues() == []
        report = send_issues(svc.settings, store, [first], secret=SECRET)
        assert report.issues[0].outbox == 0  # every active subscriber has a copy
    assert len(list((outbox / "new").glob("*"))) == 3
