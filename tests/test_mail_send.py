"""Delivery against real SMTP servers (aiosmtpd on 127.0.0.1): TLS, AUTH, faults, the
ledger's rules for new issues, the live check, interruption, and throughput."""

from __future__ import annotations

import datetime as dt
import http.server
import mailbox
import subprocess
import sys
import threading
import time
from typing import ClassVar

import pytest
import trustme

from newsdesk.errors import NewsdeskError
from newsdesk.mail.send import check_smtp, plan_issues, send_issues
from newsdesk.mail.store import Store
from newsdesk.mail.tokens import verify_token
from newsdesk.settings import SmtpSettings
from tests.mailfixtures import PASSWORD, USER, rendering, settings, sink_process, start_server

SECRET = b"test-secret"
FAST = (0.05, 0.1)


@pytest.fixture
def server():
    srv = start_server("none")
    yield srv
    srv.controller.stop()


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


def make_store(tmp_path, n=3, prefix="reader"):
    store = Store.open(tmp_path / ".newsdesk" / "newsdesk.sqlite3")
    for i in range(n):
        store.add(f"{prefix}{i}@example.org", f"Reader {i}", source="import")
    return store


def run(tmp_path, store, smtp=None, renderings=None, **kwargs):
    kwargs.setdefault("retry_delays", FAST)
    email_changes = kwargs.pop("email", {})
    s = settings(tmp_path, smtp, **email_changes)
    return send_issues(s, store, renderings or [rendering()], secret=SECRET, **kwargs)


def test_outbox_is_a_rehearsal_then_smtp_delivers_once(tmp_path, server):
    store = make_store(tmp_path)
    report = run(tmp_path, store)
    assert report.outbox == 3 and report.sent == 0 and report.exit_code == 0
    assert report.summary() == (
        "written 3 messages to the outbox .newsdesk/outbox/ – nothing was sent; "
        "set NEWSDESK_SMTP_HOST to send"
    )
    box = mailbox.Maildir(tmp_path / ".newsdesk" / "outbox", create=False)
    messages = list(box)
    assert sorted(m["To"] for m in messages) == [
        f"Reader {i} <reader{i}@example.org>" for i in range(3)
    ]
    assert all(m.get_content_type() == "multipart/alternative" for m in messages)
    # The outbox keeps one copy per subscriber and issue; the ledger records no delivery.
    again = run(tmp_path, store)
    assert again.outbox == 0 and len(box) == 3
    assert store.issue("email-servers") is None
    assert store.outbox_counts() == {"email-servers": 3}
    # SMTP configured: every subscriber receives the issue over SMTP, once.
    real = run(tmp_path, store, server.smtp())
    assert real.summary() == "sent 3, failed 0, pending 0" and real.exit_code == 0
    assert server.handler.counts() == {f"reader{i}@example.org": 1 for i in range(3)}
    assert store.issue("email-servers").state == "sent"
    assert run(tmp_path, store, server.smtp()).sent == 0
    assert len(server.received) == 3


def test_outbox_rehearsal_without_subscribers_says_so(tmp_path):
    store = make_store(tmp_path, 0)
    report = run(tmp_path, store)
    assert report.notes == ["email-servers: not sent: there are no active subscribers"]
    assert report.outbox == 0 and store.issue("email-servers") is None


def test_an_issue_the_strict_build_refuses_is_not_mailed(tmp_path, server):
    bad = rendering(
        slug="passkeys",
        title="Passkeys",
        source="newsletters/2026-12-01-passkeys.md",
        problems=("newsletters/2026-12-01-passkeys.md:3: unknown front-matter field 'tilte'",),
    )
    good = rendering()
    store = make_store(tmp_path, 2)
    store.archive_issue("older", 0, "Older", "2020-01-01")  # not a first run
    report = run(tmp_path, store, server.smtp(), renderings=[good, bad])
    assert report.refused == ["passkeys"] and report.exit_code == 1
    assert any("unknown front-matter field" in n for n in report.notes)
    assert {r.message["X-Newsdesk-Issue"] for r in server.received} == {"email-servers"}
    assert store.issue("passkeys") is None
    assert len(server.received) == 2


def test_plain_smtp_one_correct_message_each(tmp_path, server):
    store = make_store(tmp_path)
    report = run(tmp_path, store, server.smtp(connections=2))
    assert report.summary() == "sent 3, failed 0, pending 0"
    assert server.handler.counts() == {f"reader{i}@example.org": 1 for i in range(3)}
    for rec in server.received:
        msg = rec.message
        sid = store.get(rec.rcpt_tos[0]).id
        assert rec.mail_from == "newsletter@example.org"
        assert msg["To"].addresses[0].addr_spec == rec.rcpt_tos[0]
        assert msg["Message-ID"] == f"<email-servers.newsdesk.{sid}@example.org>"
        token = msg["List-Unsubscribe"].split("/unsubscribe/")[1].split(">")[0]
        assert verify_token(SECRET, "unsubscribe", token) == str(sid)
        assert f"subject=unsubscribe%20{token}>" in msg["List-Unsubscribe"]
        html = msg.get_body(("html",)).get_content()
        assert f"/unsubscribe/{token}" in html and rec.rcpt_tos[0] in html
    assert run(tmp_path, store, server.smtp()).sent == 0
    assert len(server.received) == 3


def test_verp_envelope_sender(tmp_path, server):
    store = make_store(tmp_path, 2)
    run(tmp_path, store, server.smtp(), email={"bounce_address": "bounce@example.org"})
    for rec in server.received:
        local, domain = rec.mail_from.split("@")
        assert domain == "example.org" and local.startswith("bounce+")
        sid = verify_token(SECRET, "bounce", local.removeprefix("bounce+"))
        assert sid == str(store.get(rec.rcpt_tos[0]).id)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_with_auth_and_verified_certificate(tmp_path, ca, security):
    srv = start_server(security, ca=ca, tmp_path=tmp_path, auth=True)
    try:
        store = make_store(tmp_path, 2)
        report = run(tmp_path, store, srv.smtp(username=USER, password=PASSWORD))
        assert report.summary() == "sent 2, failed 0, pending 0"
        assert srv.handler.logins and len(srv.received) == 2
    finally:
        srv.controller.stop()


def test_unknown_certificate_is_refused_and_says_so(tmp_path, ca):
    srv = start_server("tls", ca=ca, tmp_path=tmp_path)
    try:
        store = make_store(tmp_path, 2)
        other = trustme.CA()
        wrong = tmp_path / "other-ca.pem"
        other.cert_pem.write_to_path(str(wrong))
        report = run(tmp_path, store, srv.smtp(ca_file=str(wrong)))
        assert report.exit_code == 1 and "certificate" in report.fatal
        assert srv.received == [] and len(store.open_deliveries("email-servers")) == 2
        # fixed configuration: the next run delivers
        assert run(tmp_path, store, srv.smtp()).sent == 2
    finally:
        srv.controller.stop()


def test_wrong_password_is_a_configuration_error(tmp_path, ca):
    srv = start_server("starttls", ca=ca, tmp_path=tmp_path, auth=True)
    try:
        store = make_store(tmp_path, 1)
        report = run(tmp_path, store, srv.smtp(username=USER, password="wrong"))
        assert report.exit_code == 1 and "authentication failed" in report.fatal
        assert "wrong" not in report.fatal
    finally:
        srv.controller.stop()


def test_no_auth_over_plain_text_except_loopback(tmp_path):
    with pytest.raises(NewsdeskError, match="unencrypted"):
        check_smtp(
            SmtpSettings(host="mail.example.org", security="none", username="u", password="p")
        )
    check_smtp(SmtpSettings(host="127.0.0.1", security="none", username="u", password="p"))
    srv = start_server("none", auth=True)
    try:
        store = make_store(tmp_path, 1)
        report = run(tmp_path, store, srv.smtp(username=USER, password=PASSWORD))
        assert report.sent == 1 and srv.handler.logins == [USER]
    finally:
        srv.controller.stop()


def test_faults_are_handled(tmp_path, server):
    store = make_store(tmp_path, 6)
    f = server.handler.faults
    f.refuse_connections = 1  # 421 at connect
    f.tempfail_once = {"reader1@example.org"}  # 451 then success
    f.reject = {"reader2@example.org"}  # 550
    f.drop_once = {"reader3@example.org"}  # connection dropped mid-DATA
    f.tempfail_always = {"reader4@example.org"}  # still deferred after the retries
    report = run(tmp_path, store, server.smtp(connections=2))
    assert (report.sent, report.failed, report.pending) == (4, 1, 1)
    assert report.exit_code == 75
    assert report.rejected[0][0] == "reader2@example.org" and "550" in report.rejected[0][1]
    assert store.get("reader2@example.org").status == "bounced"
    counts = server.handler.counts()
    assert counts == {f"reader{i}@example.org": 1 for i in (0, 1, 3, 5)}
    assert server.handler.connections >= 3  # refused one, dropped one, reopened
    # the deferred one goes out on the next run; nobody else gets a second copy
    f.tempfail_always.clear()
    again = run(tmp_path, store, server.smtp())
    assert again.summary() == "sent 1, failed 0, pending 0" and again.exit_code == 0
    assert server.handler.counts()["reader4@example.org"] == 1
    assert sum(server.handler.counts().values()) == 5


def test_refused_sender_stops_the_run_and_fails_nobody(tmp_path, server):
    store = make_store(tmp_path, 3)
    server.handler.faults.reject_senders = True
    report = run(tmp_path, store, server.smtp(), email={"bounce_address": "bounce@example.org"})
    assert report.exit_code == 1 and "refused the sender" in report.fatal
    assert report.failed == 0 and len(store.open_deliveries("email-servers")) == 3
    assert store.counts()["bounced"] == 0


def test_connections_in_parallel_and_rate_limit(tmp_path, server):
    server.handler.faults.delay = 0.1
    store = make_store(tmp_path, 8)
    start = time.monotonic()
    run(tmp_path, store, server.smtp(connections=4))
    parallel = time.monotonic() - start
    assert len(server.received) == 8
    assert parallel < 0.6  # 8 × 0.1 s serially
    server.handler.faults.delay = 0
    store2 = Store.open(tmp_path / "other.sqlite3")
    for i in range(6):
        store2.add(f"rate{i}@example.org")
    start = time.monotonic()
    send_issues(
        settings(tmp_path, server.smtp(connections=3, rate=20)),
        store2,
        [rendering()],
        secret=SECRET,
    )
    assert time.monotonic() - start >= 0.24  # 6 messages at 20/s: five gaps of 50 ms


def test_unreachable_server_stops_early_and_keeps_everything_pending(tmp_path):
    from tests.mailfixtures import free_port

    store = make_store(tmp_path, 20)
    smtp = SmtpSettings(host="127.0.0.1", port=free_port(), security="none", timeout=1)
    report = run(tmp_path, store, smtp)
    assert report.pending == 20 and report.exit_code == 75
    assert any("cannot connect" in n for n in report.notes)


def test_unsubscribed_meanwhile_is_skipped(tmp_path, server):
    store = make_store(tmp_path, 3)
    store.start_issue("email-servers", 1, "Email Servers", "2026-11-26")
    store.set_status("reader1@example.org", "unsubscribed", "one-click")
    report = run(tmp_path, store, server.smtp())
    assert report.sent == 2 and report.issues[0].skipped == 1
    assert "reader1@example.org" not in server.handler.counts()
    assert store.issue("email-servers").state == "sent"


def test_which_issues_are_new(tmp_path, server):
    store = make_store(tmp_path, 1)
    old = rendering("first", 1, title="First", date=dt.date(2026, 1, 1))
    mid = rendering("second", 2, title="Second", date=dt.date(2026, 2, 1))
    new = rendering("third", 3, title="Third", date=dt.date(2026, 3, 1))
    future = rendering("fourth", 4, title="Fourth", date=dt.date(2099, 1, 1))
    plan = plan_issues(store, [old, mid, new, future])
    assert [r.slug for r in plan.send] == ["third"]
    assert [r.slug for r in plan.archive] == ["first", "second"]
    report = run(tmp_path, store, server.smtp(), renderings=[old, mid, new, future])
    assert report.sent == 1 and any("archived" in n for n in report.notes)
    assert {i.slug: i.state for i in store.issues()} == {
        "first": "archived",
        "second": "archived",
        "third": "sent",
    }
    assert store.issue("third").number == 3
    # a renamed file: same title and date as a sent issue
    renamed = rendering("third-renamed", 3, title="Third", date=dt.date(2026, 3, 1))
    fifth = rendering("fifth", 5, title="Fifth", date=dt.date(2026, 4, 1))
    report = run(tmp_path, store, server.smtp(), renderings=[old, mid, renamed, fifth])
    assert [i.slug for i in report.issues] == ["fifth"]
    assert any("renamed" in n and "third-renamed" in n for n in report.notes)
    # --issue sends an archived one on request, and refuses an unknown one
    report = run(
        tmp_path, store, server.smtp(), renderings=[old, mid, renamed, fifth], only="first"
    )
    assert report.sent == 1 and store.issue("first").state == "sent"
    with pytest.raises(NewsdeskError, match="no published issue"):
        run(tmp_path, store, server.smtp(), renderings=[old], only="nope")
    report = run(tmp_path, store, server.smtp(), renderings=[old], only="first")
    assert any("already sent" in n for n in report.notes)


def test_no_active_subscribers_leaves_the_issue_unsent(tmp_path, server):
    store = make_store(tmp_path, 0)
    report = run(tmp_path, store, server.smtp())
    assert any("no active subscribers" in n for n in report.notes)
    assert store.issue("email-servers") is None
    store.add("late@example.org")
    assert run(tmp_path, store, server.smtp()).sent == 1


def test_dry_run_changes_nothing(tmp_path, server):
    store = make_store(tmp_path, 2)
    report = run(tmp_path, store, server.smtp(), dry_run=True)
    assert any("would be sent to 2" in n for n in report.notes)
    assert store.issues() == [] and report.sent == 0 and not server.received
    rehearsal = run(tmp_path, store, dry_run=True)
    assert any("would be written to the outbox for 2" in n for n in rehearsal.notes)
    assert rehearsal.summary() == "dry run: nothing was sent or written"
    assert store.outbox_counts() == {}


class _Pages(http.server.BaseHTTPRequestHandler):
    online: ClassVar[set[str]] = set()

    def do_GET(self):
        self.send_response(200 if self.path in self.online else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_live_check_holds_back_an_issue_not_online(tmp_path, server):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{httpd.server_port}"
        r = rendering(url=f"{base}/issues/2026/email-servers/")
        store = make_store(tmp_path, 2)
        report = run(tmp_path, store, server.smtp(), renderings=[r], live_check=True)
        assert report.held == ["email-servers"] and report.exit_code == 75
        assert any("not online yet" in n for n in report.notes) and not server.received
        _Pages.online = {"/issues/2026/email-servers/"}
        report = run(tmp_path, store, server.smtp(), renderings=[r], live_check=True)
        assert report.sent == 2 and report.exit_code == 0
    finally:
        httpd.shutdown()


def test_stop_event_ends_cleanly_and_the_rest_follows(tmp_path, server):
    server.handler.faults.delay = 0.02
    store = make_store(tmp_path, 40)
    stop = threading.Event()
    done = []

    def progress(slug, n, total):
        done.append(n)
        if n >= 10:
            stop.set()

    report = run(tmp_path, store, server.smtp(connections=2), stop=stop, progress=progress)
    assert report.interrupted and report.exit_code == 75
    assert 10 <= report.sent < 40 and report.pending == 40 - report.sent
    assert len(server.received) == report.sent
    rest = run(tmp_path, store, server.smtp(connections=2))
    assert rest.sent == 40 - report.sent
    assert server.handler.counts() == {f"reader{i}@example.org": 1 for i in range(40)}


@pytest.fixture(scope="module")
def sink_port():
    """A discarding SMTP server in a process of its own (:func:`sink_process`)."""
    with sink_process() as port:
        yield port


@pytest.mark.parametrize("connections", [1, 4])
def test_measure_throughput(tmp_path, sink_port, connections, capsys):
    n = 400
    store = make_store(tmp_path, n)
    smtp = SmtpSettings(host="127.0.0.1", port=sink_port, security="none", connections=connections)
    start = time.perf_counter()
    report = run(tmp_path, store, smtp)
    elapsed = time.perf_counter() - start
    assert report.sent == n and store.issue("email-servers").state == "sent"
    with capsys.disabled():
        print(f"\n[measure] {n / elapsed:,.0f} messages/s with {connections} connection(s)")


def test_ssl_cert_file_is_honoured(tmp_path, ca, monkeypatch):
    srv = start_server("starttls", ca=ca, tmp_path=tmp_path)
    try:
        store = make_store(tmp_path, 1)
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        refused = run(tmp_path, store, srv.smtp(ca_file=None))  # the system store
        assert refused.exit_code == 1 and "certificate" in refused.fatal
        monkeypatch.setenv("SSL_CERT_FILE", srv.ca_file)
        report = run(tmp_path, store, srv.smtp(ca_file=None))
        assert report.sent == 1 and report.fatal is None
    finally:
        srv.controller.stop()


def test_one_send_lock_per_database_file_whatever_the_path(tmp_path):
    """Two sends through different spellings of one database path (a symlink to the file,
    a symlink to its folder, a relative path) never run at once: the second is refused."""
    from newsdesk.mail.send import send_lock

    real = tmp_path / "data" / "newsdesk.sqlite3"
    Store.open(real).close()
    (tmp_path / "link.sqlite3").symlink_to(real)
    (tmp_path / "dir-link").symlink_to(tmp_path / "data")
    other = (
        "import sys, pathlib\n"
        "from newsdesk.mail.send import send_lock, SendLocked\n"
        "try:\n"
        "    with send_lock(pathlib.Path(sys.argv[1])):\n"
        "        print('got the lock')\n"
        "except SendLocked as exc:\n"
        "    print('locked:', exc)\n"
    )
    spellings = [
        str(tmp_path / "link.sqlite3"),
        str(tmp_path / "dir-link" / "newsdesk.sqlite3"),
        "data/newsdesk.sqlite3",
    ]
    with send_lock(real):
        for spelling in spellings:
            result = subprocess.run(
                [sys.executable, "-c", other, spelling],
                capture_output=True,
                text=True,
                cwd=tmp_path,
                timeout=60,
            )
            assert result.stdout.startswith("locked:"), result
            assert "another 'newsdesk send' is running" in result.stdout
    free = subprocess.run(
        [sys.executable, "-c", other, spellings[0]], capture_output=True, text=True, timeout=60
    )
    assert free.stdout.strip() == "got the lock"


def test_worker_pool_ends_its_threads_and_stops_retrying_on_a_crash():
    """The pool's threads end when it closes; an exception on the way out (a second
    Ctrl+C) sets ``abort`` first, so a worker waiting to retry gives up at once."""
    from newsdesk.mail.pool import Job, WorkerPool
    from newsdesk.mail.transports import DeliveryError

    class Busy:
        def send(self, envelope_from: str, recipient: str, data: bytes) -> None:
            raise DeliveryError("temporary", "451 try later")

        def close(self) -> None:
            pass

    with WorkerPool(Busy, 2, delays=(0.0,)) as pool:
        pool.jobs.put(Job(1, "a@example.net", "list@example.org", b"x"))
        outcome = pool.next_outcome(10)
    assert outcome is not None and (outcome.state, outcome.error) == ("pending", "451 try later")
    assert not pool.abort.is_set()
    assert not any(t.is_alive() for t in pool.threads)

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), WorkerPool(Busy, 1, delays=(60.0,)) as pool:
        pool.jobs.put(Job(1, "a@example.net", "list@example.org", b"x"))
        time.sleep(0.2)  # the worker is waiting out its first retry delay
        raise KeyboardInterrupt
    assert pool.abort.is_set()
    assert not any(t.is_alive() for t in pool.threads)
    assert time.monotonic() - started < 30
    outcome = pool.next_outcome(1)
    assert outcome is not None and outcome.state == "pending"
    assert pool.next_outcome(0) is None
