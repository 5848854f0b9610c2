"""The ``newsdesk`` command line, run as the installed console script on real projects."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import mailbox
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from newsdesk.mail.store import Store
from tests.mailfixtures import start_server

NEWSDESK = Path(sys.executable).with_name("newsdesk")
CLI_SECRET = "cli-test-secret-of-at-least-32-chars"

EMAIL_OPTIONS = """\
pdf: {enabled: false}
email:
  from: "Test Letter <letter@example.org>"
  list_id: "Test Letter <test-letter.example.org>"
  service_url: "https://letter.example.org/list"
  unsubscribe_mailto: "unsubscribe@example.org"
  postal_address: "1 Example Street"
  live_check: !ENV [NEWSDESK_LIVE_CHECK, true]
  smtp:
    host: !ENV [NEWSDESK_SMTP_HOST, null]
    port: !ENV [NEWSDESK_SMTP_PORT, null]
    security: !ENV [NEWSDESK_SMTP_SECURITY, starttls]
    username: !ENV [NEWSDESK_SMTP_USERNAME, null]
    password: !ENV [NEWSDESK_SMTP_PASSWORD, null]
    connections: 4
"""


def newsdesk(root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    return subprocess.run(
        [str(NEWSDESK), *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**clean, "NO_MKDOCS_2_WARNING": "1", "NEWSDESK_SECRET": CLI_SECRET, **(env or {})},
        timeout=timeout,
    )


@pytest.fixture
def letter(project):
    project.config(EMAIL_OPTIONS)
    project.issue(
        "2026-01-05-first.md",
        "The first issue.\n",
        title="First",
        date="2026-01-05",
        number=1,
        summary="One.",
    )
    project.issue(
        "2026-02-05-second.md",
        "The second issue.\n\n| Port | Use |\n|---|---|\n| 25 | SMTP |\n",
        title="Second",
        date="2026-02-05",
        number=2,
        summary="Two.",
    )
    return project


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("email,name\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_fresh_project_send_builds_then_delivers_into_the_outbox(letter):
    root = letter.root
    write_csv(root / "subs.csv", ["ann@example.org,Ann", "bob@example.org,Bob", "bad,Bad"])
    imported = newsdesk(root, "subscribers", "import", "subs.csv")
    assert imported.returncode == 1
    assert "subs.csv:4: bad:" in imported.stderr
    assert "imported 2, already subscribed 0, skipped 0, rejected 1" in imported.stdout

    dry = newsdesk(root, "send", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would be written to the outbox for 2" in dry.stdout
    assert "building the site" in dry.stderr

    sent = newsdesk(root, "send")
    assert sent.returncode == 0, sent.stderr
    assert "first run: only the newest issue (second)" in sent.stdout
    assert sent.stdout.strip().endswith(
        "written 2 messages to the outbox .newsdesk/outbox/ – nothing was sent; "
        "set NEWSDESK_SMTP_HOST to send"
    )
    assert "Traceback" not in sent.stderr and "building" not in sent.stderr
    box = mailbox.Maildir(root / ".newsdesk" / "outbox", create=False)
    messages = [email.message_from_bytes(m.as_bytes(), policy=email.policy.default) for m in box]
    assert sorted(m["To"].addresses[0].addr_spec for m in messages) == [
        "ann@example.org",
        "bob@example.org",
    ]
    msg = messages[0]
    assert msg["Subject"] == "Test Letter #2: Second"
    html = msg.get_body(("html",)).get_content()
    assert "https://letter.example.org/news/issues/2026/second/" in html
    assert "<td" in html and "SMTP" in html  # the table made it
    plain = msg.get_body(("plain",)).get_content()
    assert re.search(r"^Port  Use\r?\n----  ----\r?\n25    SMTP\r?$", plain, re.M)  # aligned

    again = newsdesk(root, "send")
    assert again.returncode == 0 and "written 0 messages to the outbox" in again.stdout
    assert len(box) == 2

    status = newsdesk(root, "status")
    assert status.returncode == 0
    lines = status.stdout.splitlines()
    assert "2 active" in lines[0]
    assert "no issue sent yet" in lines
    assert "outbox copies (rehearsals: nothing was sent): second 2 in .newsdesk/outbox/" in lines
    assert "not sent yet: second (the next 'newsdesk send' mails it)" in lines
    assert "back catalogue, never to be mailed: first" in lines

    # an edited source makes the next send rebuild first
    time.sleep(0.01)
    (root / "newsletters" / "2026-02-05-second.md").touch()
    rebuilt = newsdesk(root, "send")
    assert "building the site" in rebuilt.stderr and rebuilt.returncode == 0

    preview = newsdesk(root, "preview", "first")
    assert preview.returncode == 0, preview.stderr
    eml = root / ".newsdesk" / "preview" / "first.eml"
    parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Test Letter #1: First"
    assert "The first issue." in (root / ".newsdesk" / "preview" / "first.html").read_text()


def test_subscriber_commands(letter, monkeypatch, capsys):
    """In process (``cli.main``), which is quicker than the console script."""
    from newsdesk import cli

    for name in [k for k in os.environ if k.startswith("NEWSDESK_")]:
        monkeypatch.delenv(name)
    root = letter.root
    config = str(root / "mkdocs.yml")

    def run(*args: str) -> tuple[int, str, str]:
        code = cli.main(["-f", config, *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    # status changes nothing: no database, no .newsdesk folder
    code, out, _ = run("status")
    assert code == 0 and "no subscribers yet (.newsdesk/newsdesk.sqlite3 does not exist)" in out
    assert not (root / ".newsdesk").exists()

    code, out, _ = run("subscribers", "add", "Zoe@Example.org", "--name", "Zoë")
    assert code == 0 and "added zoe@example.org" in out
    code, _, err = run("subscribers", "add", "zoe@example.org")
    assert code == 1 and "already on the list" in err
    code, _, err = run("subscribers", "add", "not an address")
    assert code == 1 and "not an address" in err
    assert run("subscribers", "add", "max@example.org")[0] == 0
    assert run("subscribers", "remove", "zoe@example.org")[0] == 0
    code, out, _ = run("subscribers", "list", "--status", "active")
    assert [line.split("\t")[0] for line in out.splitlines()] == ["max@example.org"]
    everyone = run("subscribers", "list")[1]
    assert "zoe@example.org\tunsubscribed" in everyone and "Zoë" in everyone
    assert run("subscribers", "remove", "nobody@example.org")[0] == 1
    code, _, err = run("subscribers", "remove", "bad\x1b[2Jaddress")
    assert code == 1 and "\x1b" not in err and "\\x1b[2J" in err
    # names that look like formulas, and escape sequences from a file
    write_csv(root / "tricky.csv", ['eve@example.org,=HYPERLINK("http://evil.example")'])
    assert run("subscribers", "import", str(root / "tricky.csv"))[0] == 0
    eve = next(line for line in run("subscribers", "list")[1].splitlines() if "eve@" in line)
    assert eve.split("\t") == [
        "eve@example.org",
        "active",
        eve.split("\t")[2],
        "import",
        '\'=HYPERLINK("http://evil.example")',
    ]
    write_csv(root / "escapes.csv", ["\x1b]0;owned\x07@example.org,X"])
    code, _, err = run("subscribers", "import", str(root / "escapes.csv"))
    assert code == 1 and "\x1b" not in err and "\x07" not in err and "\\x1b]0;owned" in err
    # an import never reactivates
    write_csv(root / "again.csv", ["zoe@example.org,Zoë"])
    code, out, err = run("subscribers", "import", str(root / "again.csv"))
    assert code == 0 and "does not reactivate" in err and "skipped 1, rejected 0" in out
    with Store.open(root / ".newsdesk" / "newsdesk.sqlite3") as store:
        assert store.get("zoe@example.org").status == "unsubscribed"
        assert [e.source for e in store.events("zoe@example.org")] == ["cli", "cli"]
    code, out, _ = run("status")
    assert code == 0 and "2 active, 1 unsubscribed" in out and "no issue sent yet" in out


def test_renderings_rebuilt_for_a_new_day_a_renamed_or_a_deleted_file(letter, monkeypatch, capsys):
    """Modification times alone miss these; the build's stamp holds a fingerprint."""
    import json

    from newsdesk import cli

    for name in [k for k in os.environ if k.startswith("NEWSDESK_")]:
        monkeypatch.delenv(name)
    root = letter.root
    out = root / "out"

    def preview(slug: str) -> tuple[int, str]:
        code = cli.main(["-f", str(root / "mkdocs.yml"), "preview", slug, "-o", str(out)])
        return code, capsys.readouterr().err

    code, err = preview("first")
    assert code == 0 and "building the site" in err
    stamp = root / ".newsdesk" / "renderings" / ".built"
    recorded = json.loads(stamp.read_text())
    assert "newsletters/2026-01-05-first.md" in [s[0] for s in recorded["sources"]]
    assert "mkdocs.yml" in [s[0] for s in recorded["sources"]]
    code, err = preview("first")
    assert code == 0 and "building" not in err

    # the build ran on an earlier day: issues dated since then may be due
    recorded["date"] = "2000-01-01"
    stamp.write_text(json.dumps(recorded))
    code, err = preview("first")
    assert code == 0 and "building the site" in err

    # mv keeps the modification time
    (root / "newsletters" / "2026-02-05-second.md").rename(
        root / "newsletters" / "2026-02-05-renamed.md"
    )
    code, err = preview("first")
    assert code == 0 and "building the site" in err

    # a deleted issue's rendering must not be mailed
    (root / "newsletters" / "2026-01-05-first.md").unlink()
    code, err = preview("first")
    assert code == 1 and "no issue 'first' (issues: renamed)" in err


def test_files_a_user_gets_wrong_are_named_without_a_traceback(
    letter, tmp_path, monkeypatch, capsys
):
    from newsdesk import cli

    for name in [k for k in os.environ if k.startswith("NEWSDESK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("NEWSDESK_SECRET", CLI_SECRET)
    root = letter.root
    config = str(root / "mkdocs.yml")

    def run(*args: str) -> tuple[int, str]:
        code = cli.main(["-f", config, *args])
        return code, capsys.readouterr().err

    code, err = run("subscribers", "import", str(tmp_path))
    assert code == 1 and str(tmp_path) in err and "cannot read" in err

    (root / "a-file").write_text("")
    code, err = run("preview", "first", "-o", str(root / "a-file" / "sub"))
    assert code == 1 and "cannot write the preview" in err and "a-file/sub" in err

    damaged = root / ".newsdesk" / "renderings" / "second.json"
    damaged.write_text('{"slug": "sec')
    code, err = run("preview", "first")
    assert code == 1 and ".newsdesk/renderings/second.json" in err and "damaged" in err
    damaged.unlink()

    (root / "not-a-db").write_bytes(b"this is not SQLite" * 100)
    monkeypatch.setenv("NEWSDESK_DB", str(root / "not-a-db"))
    code, err = run("status")
    assert code == 1 and "newsdesk: not-a-db: cannot use the database" in err
    for command in (["send", "--dry-run"], ["inbox"]):
        code, err = run(*command)
        assert code == 1 and " not-a-db: cannot use the database" in err, command

    def broken(args: object) -> int:
        raise PermissionError(13, "Permission denied", "/srv/letter/x")

    monkeypatch.setattr(cli, "cmd_status", broken)
    code, err = run("status")
    assert code == 1 and err == "newsdesk: error: [Errno 13] Permission denied: '/srv/letter/x'\n"


def test_configuration_errors_exit_1_without_traceback(letter, tmp_path):
    missing = newsdesk(tmp_path, "-f", "nope.yml", "status")
    assert missing.returncode == 1 and "nope.yml" in missing.stderr
    assert "Traceback" not in missing.stderr
    plain_auth = newsdesk(
        letter.root,
        "send",
        "--no-live-check",
        env={
            "NEWSDESK_SMTP_HOST": "mail.example.org",
            "NEWSDESK_SMTP_SECURITY": "none",
            "NEWSDESK_SMTP_USERNAME": "u",
            "NEWSDESK_SMTP_PASSWORD": "hunter2-secret",
        },
    )
    assert plain_auth.returncode == 1 and "unencrypted" in plain_auth.stderr
    assert "hunter2-secret" not in plain_auth.stdout + plain_auth.stderr
    assert "Traceback" not in plain_auth.stderr
    unknown = newsdesk(letter.root, "send", "--issue", "nope")
    assert unknown.returncode == 1 and "no published issue 'nope'" in unknown.stderr
    from newsdesk.mail.send import send_lock

    with send_lock(letter.root / ".newsdesk" / "newsdesk.sqlite3"):
        locked = newsdesk(letter.root, "send")
    assert locked.returncode == 75 and "another 'newsdesk send' is running" in locked.stderr
    usage = newsdesk(letter.root, "send", "--bogus")
    assert usage.returncode == 2  # argparse's usage error


@pytest.mark.slow
def test_smtp_send_held_back_until_online_then_delivered(letter):
    root = letter.root
    srv = start_server("none")
    try:
        srv.handler.faults.tempfail_once = {"late@example.org"}
        srv.handler.faults.reject = {"gone@example.org"}
        rows = [f"user{i}@example.org,User {i}" for i in range(4)]
        rows += ["late@example.org,Late", "gone@example.org,Gone"]
        newsdesk(root, "subscribers", "import", str(write_csv(root / "s.csv", rows)))
        env = {
            "NEWSDESK_SMTP_HOST": "127.0.0.1",
            "NEWSDESK_SMTP_PORT": str(srv.port),
            "NEWSDESK_SMTP_SECURITY": "none",
        }
        # the live check: the site is not online at letter.example.org, so nothing goes
        held = newsdesk(root, "send", env=env)
        assert held.returncode == 75 and "not online yet" in held.stdout
        assert "sent 0, failed 0, pending 0" in held.stdout and srv.received == []
        first = newsdesk(root, "send", "--no-live-check", env=env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "sent 5, failed 1, pending 0" in first.stdout
        assert "rejected: gone@example.org: 550" in first.stdout
        assert Counter(r.rcpt_tos[0] for r in srv.received) == Counter(
            [f"user{i}@example.org" for i in range(4)] + ["late@example.org"]
        )
        assert newsdesk(root, "send", "--no-live-check", env=env).returncode == 0
        assert len(srv.received) == 5
        status = newsdesk(root, "subscribers", "list", "--status", "bounced")
        assert status.stdout.startswith("gone@example.org\tbounced")
    finally:
        srv.controller.stop()


@pytest.mark.slow
def test_kill_9_then_resume_sends_everyone_once(letter):
    """2,000 subscribers; SIGKILL partway; the rerun finishes; duplicates ≤ connections."""
    root = letter.root
    n, connections = 2000, 4
    rows = [f"reader{i:04d}@example.org,Reader {i}" for i in range(n)]
    assert (
        newsdesk(root, "subscribers", "import", str(write_csv(root / "big.csv", rows))).returncode
        == 0
    )
    assert newsdesk(root, "send", "--dry-run").returncode == 0  # builds the renderings
    srv = start_server("none")
    try:
        env = {
            "NEWSDESK_SMTP_HOST": "127.0.0.1",
            "NEWSDESK_SMTP_PORT": str(srv.port),
            "NEWSDESK_SMTP_SECURITY": "none",
            "NEWSDESK_LIVE_CHECK": "false",
        }
        clean = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
        proc = subprocess.Popen(
            [str(NEWSDESK), "send"],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**clean, "NEWSDESK_SECRET": CLI_SECRET, **env},
        )
        deadline = time.monotonic() + 60
        while len(srv.received) < n // 3 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        first = len(srv.received)
        assert 0 < first < n
        rest = newsdesk(root, "send", env=env, timeout=120)
        assert rest.returncode == 0, rest.stdout + rest.stderr
        counts = Counter(r.rcpt_tos[0] for r in srv.received)
        assert set(counts) == {f"reader{i:04d}@example.org" for i in range(n)}
        duplicates = sum(c - 1 for c in counts.values())
        assert duplicates <= connections
        print(f"\n[measure] killed after {first} of {n}; duplicates after resume: {duplicates}")
        with Store.open(root / ".newsdesk" / "newsdesk.sqlite3") as store:
            (counts_row,) = [c for c in store.issue_counts() if c.slug == "second"]
            assert (counts_row.sent, counts_row.pending, counts_row.state) == (n, 0, "sent")
    finally:
        srv.controller.stop()


def test_ctrl_c_stops_cleanly_with_everything_recorded(letter):
    root = letter.root
    n = 120
    rows = [f"reader{i:03d}@example.org,Reader {i}" for i in range(n)]
    newsdesk(root, "subscribers", "import", str(write_csv(root / "s.csv", rows)))
    assert newsdesk(root, "send", "--dry-run").returncode == 0  # builds the renderings
    srv = start_server("none")
    srv.handler.faults.delay = 0.03
    try:
        env = {
            "NEWSDESK_SMTP_HOST": "127.0.0.1",
            "NEWSDESK_SMTP_PORT": str(srv.port),
            "NEWSDESK_SMTP_SECURITY": "none",
            "NEWSDESK_LIVE_CHECK": "false",
        }
        clean = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
        proc = subprocess.Popen(
            [str(NEWSDESK), "send"],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**clean, "NEWSDESK_SECRET": CLI_SECRET, **env},
        )
        deadline = time.monotonic() + 30
        while len(srv.received) < 20 and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 75, out + err
        assert "interrupted" in out and "Traceback" not in err
        with Store.open(root / ".newsdesk" / "newsdesk.sqlite3") as store:
            states = Counter(row[0] for row in store.conn.execute("SELECT state FROM deliveries"))
        assert states["sending"] == 0  # every message in flight was finished and recorded
        assert states["sent"] == len(srv.received) < n
        assert f"sent {states['sent']}, failed 0, pending {n - states['sent']}" in out
        srv.handler.faults.delay = 0
        rest = newsdesk(root, "send", env=env)
        assert rest.returncode == 0
        counts = Counter(r.rcpt_tos[0] for r in srv.received)
        assert len(counts) == n and set(counts.values()) == {1}  # a clean stop: no duplicate
    finally:
        srv.controller.stop()


def test_write_renderings_stamps_the_fingerprint_the_command_checks(tmp_path):
    from newsdesk.rendering import renderings_are_current, source_fingerprint, write_renderings
    from newsdesk.settings import GlossarySettings, Settings

    settings = Settings(
        root=tmp_path,
        site_url="https://letter.example.org/",
        newsletters_dir=tmp_path / "newsletters",
        glossary=GlossarySettings(tmp_path / "newsletters" / "glossary.yml"),
    )
    (tmp_path / "newsletters" / "2026").mkdir(parents=True)
    (tmp_path / "mkdocs.yml").write_text("site_name: x\n")
    (tmp_path / "newsletters" / "2026" / "a.md").write_text("# A\n")
    write_renderings(settings.state_dir, [])  # an unknown fingerprint is never current
    assert not renderings_are_current(settings)
    yesterday = dt.date.today() - dt.timedelta(days=1)
    write_renderings(settings.state_dir, [], source_fingerprint(settings, today=yesterday))
    assert not renderings_are_current(settings)  # issues dated today may be due
    write_renderings(settings.state_dir, [], source_fingerprint(settings))
    assert renderings_are_current(settings)
    (tmp_path / "newsletters" / "glossary.yml").write_text("{}\n")
    assert not renderings_are_current(settings)


def test_send_refuses_an_issue_the_strict_build_rejects(letter):
    """An unknown front-matter field and a link to a missing issue: ``mkdocs build
    --strict`` fails on them, so ``send`` mails that issue to nobody and exits 1, while the
    next valid issue still goes."""
    root = letter.root
    srv = start_server("none")
    env = {
        "NEWSDESK_SMTP_HOST": "127.0.0.1",
        "NEWSDESK_SMTP_PORT": str(srv.port),
        "NEWSDESK_SMTP_SECURITY": "none",
        "NEWSDESK_LIVE_CHECK": "0",
    }
    try:
        assert newsdesk(root, "subscribers", "add", "reader@example.org").returncode == 0
        first = newsdesk(root, "send", env=env)  # mails "second", archives "first"
        assert first.returncode == 0, first.stdout + first.stderr
        letter.issue(
            "2026-03-05-passkeys.md",
            "See [the other one](2026-12-01-missing.md).\n",
            title="Passkeys",
            date="2026-03-05",
            tilte="typo",
        )
        letter.issue("2026-03-06-dns.md", "DNS.\n", title="DNS", date="2026-03-06")
        strict = letter.build()
        assert not strict.ok
        sent = newsdesk(root, "send", env=env)
        assert sent.returncode == 1, sent.stdout + sent.stderr
        assert "passkeys: not sent: the strict build does not accept it" in sent.stdout
        assert "2026-03-05-passkeys.md:" in sent.stdout and "tilte" in sent.stdout
        assert "2026-12-01-missing.md" in sent.stdout
        subjects = [r.message["Subject"] for r in srv.received]
        assert subjects == ["Test Letter #2: Second", "Test Letter #4: DNS"]
        assert not any(b"2026-12-01-missing.md" in r.data for r in srv.received)
    finally:
        srv.controller.stop()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", False), ("no", False), ("off", False), ("False", False), ("1", True), ("on", True)],
)
def test_booleans_from_the_environment_as_people_write_them(letter, monkeypatch, value, expected):
    from newsdesk.adapter.engine import load_settings

    monkeypatch.setenv("NEWSDESK_LIVE_CHECK", value)
    assert load_settings(letter.root / "mkdocs.yml").email.live_check is expected


def test_a_boolean_that_is_not_one_is_an_error_naming_the_option(letter, monkeypatch):
    from newsdesk.adapter.engine import load_settings
    from newsdesk.errors import NewsdeskError

    monkeypatch.setenv("NEWSDESK_LIVE_CHECK", "maybe")
    with pytest.raises(NewsdeskError, match="live_check"):
        load_settings(letter.root / "mkdocs.yml")


@pytest.mark.parametrize("password", ["12345678", "on", "null", "0x1F", "010", "1e3", " ~ "])
def test_secrets_from_the_environment_are_always_their_exact_text(letter, monkeypatch, password):
    from newsdesk.adapter.engine import load_settings

    monkeypatch.setenv("NEWSDESK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NEWSDESK_SMTP_USERNAME", "2024")
    monkeypatch.setenv("NEWSDESK_SMTP_PASSWORD", password)
    smtp = load_settings(letter.root / "mkdocs.yml").email.smtp
    assert smtp.password == password and smtp.username == "2024"


@pytest.mark.parametrize("password", ["right horse", "12345678", "on"])
def test_a_secret_mkdocs_yml_takes_from_another_variable_is_not_overruled(
    letter, monkeypatch, password
):
    """mkdocs.yml names its own variable: newsdesk's usual one, set too, does not win."""
    from newsdesk.adapter.engine import load_settings
    from newsdesk.errors import NewsdeskError

    config = letter.root / "mkdocs.yml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "password: !ENV [NEWSDESK_SMTP_PASSWORD, null]", "password: !ENV [MY_SMTP_PASSWORD]"
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("MY_SMTP_PASSWORD", password)
    monkeypatch.setenv("NEWSDESK_SMTP_PASSWORD", "a stale one")
    if password == "on":  # YAML reads it as true from any other variable: say so
        with pytest.raises(NewsdeskError, match="!ENV \\[NEWSDESK_SMTP_PASSWORD\\]"):
            load_settings(config)
    else:
        assert load_settings(config).email.smtp.password == password


@pytest.mark.slow
def test_preview_and_test_send_of_a_draft_and_a_scheduled_issue(letter):
    """An author sees a draft's email before publishing, and sends one test message to
    themselves over SMTP; the ledger and the subscribers never hear of it."""
    root = letter.root
    letter.issue(
        "2026-03-01-draft.md",
        "Not ready yet.\n",
        title="Draft Issue",
        date="2026-03-01",
        draft=True,
    )
    letter.issue("2099-01-01-later.md", "Scheduled.\n", title="Later", date="2099-01-01")
    assert newsdesk(root, "subscribers", "add", "reader@example.org").returncode == 0

    draft = newsdesk(root, "preview", "draft")
    assert draft.returncode == 0, draft.stderr
    assert "a draft, marked DRAFT" in draft.stdout
    eml = root / ".newsdesk" / "preview" / "draft.eml"
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == "[DRAFT] Test Letter: Draft Issue"
    assert msg.get_body(("plain",)).get_content().startswith("*** DRAFT ***")
    assert "DRAFT" in msg.get_body(("html",)).get_content()
    later = newsdesk(root, "preview", "later")
    assert later.returncode == 0 and "scheduled for 2099-01-01" in later.stdout
    missing = newsdesk(root, "preview", "nope")
    assert missing.returncode == 1 and "no issue 'nope'" in missing.stderr
    bad_to = newsdesk(root, "preview", "draft", "--to", "not an address")
    assert bad_to.returncode == 1 and "--to not an address" in bad_to.stderr

    srv = start_server("none")
    env = {
        "NEWSDESK_SMTP_HOST": "127.0.0.1",
        "NEWSDESK_SMTP_PORT": str(srv.port),
        "NEWSDESK_SMTP_SECURITY": "none",
    }
    try:
        test = newsdesk(root, "send", "--test", "author@example.net", "--issue", "draft", env=env)
        assert test.returncode == 0, test.stdout + test.stderr
        assert "not recorded" in test.stdout and "sent over 127.0.0.1" in test.stdout
        [received] = srv.received
        assert received.rcpt_tos == ["author@example.net"]
        assert received.message["Subject"] == "[TEST, DRAFT] Test Letter: Draft Issue"
        newest = newsdesk(root, "send", "--test", "author@example.net", env=env)
        assert newest.returncode == 0 and "test message of later" in newest.stdout
        assert len(srv.received) == 2
    finally:
        srv.controller.stop()
    with Store.open(root / ".newsdesk" / "newsdesk.sqlite3") as store:
        assert store.issues() == [] and store.outbox_counts() == {}
        assert [s.email for s in store.subscribers()] == ["reader@example.org"]


def test_new_writes_a_draft_that_builds(letter):
    root = letter.root
    made = newsdesk(root, "new", "Wi-Fi Security: WPA3 & Passkeys", "--date", "2026-03-10")
    assert made.returncode == 0, made.stderr
    path = root / made.stdout.strip()
    assert made.stdout.strip() == "newsletters/2026-03-10-wi-fi-security-wpa3-passkeys.md"
    text = path.read_text(encoding="utf-8")
    assert "title: 'Wi-Fi Security: WPA3 & Passkeys'" in text and "draft: true" in text
    again = newsdesk(root, "new", "Wi-Fi security — WPA3 & passkeys!")
    assert again.returncode == 1 and "exists already" in again.stderr
    bad = newsdesk(root, "new", "X", "--date", "2026-02-30")
    assert bad.returncode == 1 and "not a date" in bad.stderr
    built = letter.build()
    assert built.ok, built.log
    path.write_text(text.replace("draft: true\n", ""), encoding="utf-8")
    built = letter.build()
    assert built.ok, built.log
    assert (
        root / "site" / "issues" / "2026" / "wi-fi-security-wpa3-passkeys" / "index.html"
    ).exists()


@pytest.mark.slow
def test_consent_show_export_forget_and_coming_back(letter):
    """A reader's data: what consent is on record, an export parsed back, erasure that
    keeps only a keyed hash (so an import cannot bring them back), and the ways back."""
    import csv
    import io
    import json

    root = letter.root
    write_csv(root / "team.csv", ["ann@example.org,Ann", "=cmd@example.org,Formula"])
    imported = newsdesk(
        root, "subscribers", "import", "team.csv", "--reason", "signed up at FOSDEM"
    )
    assert imported.returncode == 0, imported.stderr
    added = newsdesk(root, "subscribers", "add", "bob@example.org", "--reason", "asked by mail")
    assert added.returncode == 0

    shown = newsdesk(root, "subscribers", "show", "ann@example.org")
    assert shown.returncode == 0
    assert "import  (source team.csv, reason signed up at FOSDEM)" in shown.stdout
    assert "new -> active  by import" in shown.stdout

    exported = newsdesk(root, "subscribers", "export")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [r["email"] for r in rows] == ["ann@example.org", "'=cmd@example.org", "bob@example.org"]
    assert (
        rows[0]["consent_kind"] == "import" and rows[0]["consent_reason"] == "signed up at FOSDEM"
    )
    assert rows[2]["consent_kind"] == "add" and rows[2]["consent_reason"] == "asked by mail"
    as_json = json.loads(newsdesk(root, "subscribers", "export", "--format", "json").stdout)
    assert as_json[0]["consents"][0]["source"] == "team.csv"
    assert as_json[0]["events"][0]["new_status"] == "active"
    out = root / "export.csv"
    assert newsdesk(root, "subscribers", "export", "-o", str(out)).returncode == 0
    assert out.stat().st_mode & 0o777 == 0o600

    forgot = newsdesk(root, "subscribers", "forget", "ann@example.org")
    assert forgot.returncode == 0 and "forgot ann@example.org" in forgot.stdout
    # Not in any table, nor in the file's free pages or its write-ahead log.
    for suffix in ("", "-wal"):
        file = root / ".newsdesk" / f"newsdesk.sqlite3{suffix}"
        assert not file.exists() or b"ann@example.org" not in file.read_bytes(), suffix
    with Store.open(root / ".newsdesk" / "newsdesk.sqlite3") as store:
        assert store.get("ann@example.org") is None
        dump = "\n".join(store.conn.iterdump())
    assert [line for line in dump.splitlines() if "ann@example.org" in line] == []
    again = newsdesk(root, "subscribers", "import", "team.csv")
    assert again.returncode == 0 and "skipped 1" in again.stdout and "forgotten" in again.stderr
    refused = newsdesk(root, "subscribers", "add", "ann@example.org")
    assert refused.returncode == 1 and "--resubscribe --reason" in refused.stderr
    gone = newsdesk(root, "subscribers", "show", "ann@example.org")
    assert gone.returncode == 1 and "forgotten on request" in gone.stderr

    # coming back: only with --resubscribe and the person's request as the reason
    assert newsdesk(root, "subscribers", "remove", "bob@example.org").returncode == 0
    no = newsdesk(root, "subscribers", "add", "bob@example.org")
    assert no.returncode == 1 and "is unsubscribed" in no.stderr
    no_reason = newsdesk(root, "subscribers", "add", "bob@example.org", "--resubscribe")
    assert no_reason.returncode == 1 and "--reason" in no_reason.stderr
    back = newsdesk(
        root, "subscribers", "add", "bob@example.org", "--resubscribe", "--reason", "mail of 3 May"
    )
    assert back.returncode == 0 and "resubscribed bob@example.org" in back.stdout
    back_ann = newsdesk(
        root, "subscribers", "add", "ann@example.org", "--resubscribe", "--reason", "new request"
    )
    assert back_ann.returncode == 0
    with Store.open(root / ".newsdesk" / "newsdesk.sqlite3") as store:
        assert store.get("bob@example.org").status == "active"
        assert store.consents("bob@example.org")[-1].reason == "mail of 3 May"
        assert store.get("ann@example.org").status == "active"
