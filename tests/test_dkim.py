"""DKIM: keys, DNS records, and signatures checked by dkimpy's verifier against the
records keygen prints (a local dnsfunc: no DNS), after a round trip through aiosmtpd."""

from __future__ import annotations

import re
import stat
import time

import dkim
import pytest

from newsdesk.cli import main
from newsdesk.errors import NewsdeskError
from newsdesk.mail.dkim import (
    ALGORITHMS,
    DkimError,
    Signer,
    default_key_files,
    dns_instructions,
    generate_keys,
    load_keys,
    parse_zone_txt,
)
from newsdesk.mail.render import Recipient, prepare_message
from newsdesk.mail.send import send_issues
from newsdesk.mail.store import Store
from newsdesk.service.confirmation import confirmation_message
from newsdesk.settings import DkimSettings, SmtpSettings
from tests.mailfixtures import email_settings, rendering, settings, sink_process, start_server

SECRET = b"k" * 32
FAST = (0.01, 0.01)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """Keys for nd1._domainkey.example.org and the zone text keygen printed for them."""
    root = tmp_path_factory.mktemp("dkim")
    rsa_file, ed_file = default_key_files(root / ".newsdesk", "nd1")
    keys = generate_keys(rsa_file, ed_file)
    zone = dns_instructions(keys, "nd1", "example.org", "News <newsletter@example.org>")
    dkim_settings = DkimSettings(
        domain="example.org", selector="nd1", rsa_key_file=rsa_file, ed25519_key_file=ed_file
    )
    return root, dkim_settings, zone


def verify_all(message: bytes, zone: str) -> dict[str, bool]:
    """``{algorithm: verified}`` for every DKIM-Signature of ``message``."""
    d = dkim.DKIM(message)
    results = {}
    values = [v for n, v in d.headers if n.lower() == b"dkim-signature"]
    for idx, value in enumerate(values):
        alg = re.search(rb"a=([a-z0-9-]+)", value).group(1).decode()
        lookup = _dns_for(zone, alg)
        try:
            results[alg] = dkim.DKIM(message).verify(idx=idx, dnsfunc=lookup)
        except dkim.DKIMException:
            results[alg] = False
    return results


def _dns_for(zone: str, alg: str):
    k = alg.split("-")[0]
    records = {
        name: value
        for name, value in _all_records(zone)
        if name.endswith("._domainkey.example.org") and f"k={k};" in value
    }

    def lookup(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        value = records.get(name.rstrip("."))
        return value.encode() if value else None

    return lookup


def _all_records(zone: str):
    for match in re.finditer(r'^(\S+)\.\s+IN\s+TXT\s+(\(.*?\)|"[^"\n]*")', zone, re.M | re.S):
        yield match.group(1), "".join(re.findall(r'"([^"]*)"', match.group(2)))


# -- keys and records ------------------------------------------------------------------------


def test_keygen_writes_private_keys_0600_and_refuses_to_overwrite(keyed):
    _, dkim_settings, _ = keyed
    for path in (dkim_settings.rsa_key_file, dkim_settings.ed25519_key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    with pytest.raises(DkimError, match="not overwritten"):
        generate_keys(dkim_settings.rsa_key_file, dkim_settings.ed25519_key_file)
    keys = load_keys(dkim_settings)
    assert keys.rsa.key_size == 2048


def test_zone_records_split_into_strings_of_at_most_255(keyed):
    _, _, zone = keyed
    records = list(_all_records(zone))
    dkim_records = [v for n, v in records if n == "nd1._domainkey.example.org"]
    assert {v.split(";")[1].strip() for v in dkim_records} == {"k=rsa", "k=ed25519"}
    for chunk in re.findall(r'"([^"]*)"', zone):
        assert len(chunk) <= 255
    rsa_record = next(v for v in dkim_records if "k=rsa" in v)
    assert len(rsa_record) > 255  # 2048-bit: the record needs two strings
    assert re.search(r'nd1\._domainkey\.example\.org\. IN TXT \(\n  "v=DKIM1; k=rsa; p=', zone)
    assert parse_zone_txt(zone)["_dmarc.example.org"].startswith("v=DMARC1; p=none")
    assert any(v.startswith("v=spf1 ") for n, v in records if n == "example.org")


def test_keygen_command_writes_keys_and_prints_records_that_verify(tmp_path, capsys):
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: T\nsite_url: https://newsletter.example.org/\nplugins:\n  - newsdesk:\n"
        "      email:\n        from: News <newsletter@example.org>\n",
        encoding="utf-8",
    )
    (tmp_path / "docs").mkdir()
    (tmp_path / "newsletters").mkdir()
    cfg = str(tmp_path / "mkdocs.yml")
    args = ["dkim", "keygen", "-f", cfg, "--selector", "s1", "--domain", "example.org"]
    assert main(args) == 0
    out = capsys.readouterr().out
    rsa_file = tmp_path / ".newsdesk/dkim/s1.rsa.key"
    ed_file = tmp_path / ".newsdesk/dkim/s1.ed25519.key"
    assert stat.S_IMODE(rsa_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(ed_file.stat().st_mode) == 0o600
    assert "s1._domainkey.example.org. IN TXT (" in out
    assert "SPF" in out and "DMARC" in out
    # The printed records verify what the written keys sign.
    signer = Signer(
        DkimSettings("example.org", "s1", rsa_key_file=rsa_file, ed25519_key_file=ed_file)
    )
    message = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello\r\n"
    assert verify_all(signer.sign(message), out) == dict.fromkeys(ALGORITHMS, True)
    # A second keygen with the same selector refuses; the keys are unchanged.
    before = rsa_file.read_bytes()
    assert main(args) == 1
    assert "not overwritten" in capsys.readouterr().err
    assert rsa_file.read_bytes() == before


def test_missing_key_says_how_to_make_one(tmp_path):
    missing = DkimSettings(
        "example.org", "nope", rsa_key_file=tmp_path / "a", ed25519_key_file=tmp_path / "b"
    )
    with pytest.raises(NewsdeskError, match="newsdesk dkim keygen"):
        Signer(missing)


def test_half_a_dkim_configuration_is_an_error():
    with pytest.raises(NewsdeskError, match="set both domain and selector"):
        prepare_message(rendering(), email_settings(dkim=DkimSettings(domain="example.org")))


def test_keys_from_the_environment_through_mkdocs_yml(keyed, tmp_path, monkeypatch):
    from newsdesk.adapter.engine import load_settings

    _, dkim_settings, _ = keyed
    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: T\nsite_url: https://newsletter.example.org/\nplugins:\n  - newsdesk:\n"
        "      email:\n        dkim: {domain: example.org, selector: nd1}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("NEWSDESK_DKIM_KEY", dkim_settings.rsa_key_file.read_text())
    monkeypatch.setenv("NEWSDESK_DKIM_ED25519_KEY", dkim_settings.ed25519_key_file.read_text())
    loaded = load_settings(tmp_path / "mkdocs.yml").email.dkim
    assert loaded.enabled and loaded.rsa_key.startswith("-----BEGIN PRIVATE KEY-----")
    assert loaded.rsa_key_file == tmp_path / ".newsdesk/dkim/nd1.rsa.key"  # absent: unused
    assert load_keys(loaded).ed25519 is not None
    assert "PRIVATE" not in repr(loaded)


def test_keys_from_the_environment_as_pem_text(keyed):
    _, dkim_settings, zone = keyed
    from_env = DkimSettings(
        "example.org",
        "nd1",
        rsa_key=dkim_settings.rsa_key_file.read_text(),
        ed25519_key=dkim_settings.ed25519_key_file.read_text(),
    )
    message = b"From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n"
    assert verify_all(Signer(from_env).sign(message), zone) == dict.fromkeys(ALGORITHMS, True)


# -- signatures ------------------------------------------------------------------------------


def test_issue_message_signed_with_both_algorithms_and_the_right_headers(keyed):
    _, dkim_settings, zone = keyed
    prepared = prepare_message(rendering(), email_settings(dkim=dkim_settings))
    data = prepared.personalise(Recipient(7, "ada@example.net", "Ada"), "tok7")
    assert verify_all(data, zone) == dict.fromkeys(ALGORITHMS, True)
    sigs = dkim.DKIM(data).headers
    values = [v for n, v in sigs if n == b"DKIM-Signature"]
    assert len(values) == 2
    for value in values:
        tags = dict(
            (k.strip(), v.strip())
            for k, _, v in (t.partition(b"=") for t in re.sub(rb"\s+", b" ", value).split(b";"))
        )
        assert tags[b"c"] == b"relaxed/relaxed" and tags[b"d"] == b"example.org"
        names = [n.strip() for n in tags[b"h"].split(b":")]
        for header in (
            b"from",
            b"to",
            b"subject",
            b"date",
            b"message-id",
            b"mime-version",
            b"content-type",
            b"list-id",
            b"list-unsubscribe",
            b"list-unsubscribe-post",
        ):
            assert header in names
        for over in (b"from", b"subject", b"list-unsubscribe"):
            assert names.count(over) == 2
    for line in data.split(b"\r\n\r\n")[0].split(b"\r\n"):
        assert len(line) <= 998


def test_fast_path_signs_exactly_like_the_whole_message_path(keyed, monkeypatch):
    _, dkim_settings, _ = keyed
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000)
    prepared = prepare_message(rendering(), email_settings(dkim=dkim_settings))
    assert prepared.signer is not None and prepared.signer.fast
    recipient = Recipient(3, "bob@example.net", "Bob  Tabs\t")
    fast = prepared.personalise(recipient, "tok")
    signer = prepared.signer
    prepared.signer = None
    unsigned = prepared.personalise(recipient, "tok")
    assert fast == signer.signer.sign(unsigned)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m.replace(b"Subject: Happy Computing #1", b"Subject: Happy Computing #2", 1),
        lambda m: m.replace(b"\r\n\r\n", b"\r\nSubject: Win a prize\r\n\r\n", 1),
        lambda m: m.replace(
            b"\r\n\r\n", b"\r\nList-Unsubscribe: <https://evil.example/>\r\n\r\n", 1
        ),
        lambda m: b"From: Mallory <mallory@example.net>\r\n" + m,
        lambda m: m.replace(b"Until next time", b"Until next week", 1),
        lambda m: m.replace(b"ada@example.net", b"eve@example.net"),
    ],
    ids=["subject", "added-subject", "added-list-unsubscribe", "from-on-top", "body", "to"],
)
def test_a_tampered_message_fails(keyed, tamper):
    _, dkim_settings, zone = keyed
    prepared = prepare_message(rendering(), email_settings(dkim=dkim_settings))
    data = prepared.personalise(Recipient(7, "ada@example.net", "Ada"), "tok7")
    changed = tamper(data)
    assert changed != data
    assert verify_all(changed, zone) == dict.fromkeys(ALGORITHMS, False)


def test_confirmation_message_is_signed(keyed, tmp_path):
    _, dkim_settings, zone = keyed
    store = Store.open(tmp_path / "db.sqlite3")
    sub = store.add("ada@example.net", "Ada", source="web")
    s = settings(tmp_path, dkim=dkim_settings)
    message = confirmation_message(s, sub, "https://newsletter.example.org/list/confirm/x")
    assert verify_all(message, zone) == dict.fromkeys(ALGORITHMS, True)


def test_signed_after_a_round_trip_through_smtp(keyed, tmp_path):
    _, dkim_settings, zone = keyed
    server = start_server("none")
    try:
        store = Store.open(tmp_path / ".newsdesk" / "newsdesk.sqlite3")
        for i in range(3):
            store.add(f"reader{i}@example.net", f"Réader {i}", source="import")
        s = settings(tmp_path, server.smtp(), dkim=dkim_settings)
        report = send_issues(s, store, [rendering()], secret=SECRET, retry_delays=FAST)
        assert report.sent == 3
        assert len(server.received) == 3
        for received in server.received:
            assert verify_all(received.data, zone) == dict.fromkeys(ALGORITHMS, True)
    finally:
        server.controller.stop()


def test_unsigned_without_email_dkim():
    prepared = prepare_message(rendering(), email_settings())
    assert prepared.signer is None
    data = prepared.personalise(Recipient(1, "a@example.net"), "t")
    assert b"DKIM-Signature" not in data


@pytest.mark.slow
def test_measure_signing_cost(keyed, capsys):
    """[measure] personalised messages per second, signed and unsigned (CPU only)."""
    _, dkim_settings, _ = keyed
    signed = prepare_message(rendering(), email_settings(dkim=dkim_settings))
    plain = prepare_message(rendering(), email_settings())
    with open(dkim_settings.rsa_key_file, "rb") as fh:
        pem = fh.read()
    unsigned_sample = plain.personalise(Recipient(1, "r1@example.net", "R"), "tok")

    def rate(fn, n):
        start = time.perf_counter()
        for i in range(n):
            fn(i)
        return n / (time.perf_counter() - start)

    n = 1000
    r_plain = rate(lambda i: plain.personalise(Recipient(i, f"r{i}@example.net", "R"), "t"), n)
    r_signed = rate(lambda i: signed.personalise(Recipient(i, f"r{i}@example.net", "R"), "t"), n)
    r_dkimpy = rate(
        lambda i: dkim.sign(
            unsigned_sample, b"nd1", b"example.org", pem, canonicalize=(b"relaxed", b"relaxed")
        ),
        50,
    )
    with capsys.disabled():
        print(
            f"\n[measure] personalise: unsigned {r_plain:,.0f}/s, signed (RSA + Ed25519) "
            f"{r_signed:,.0f}/s; dkimpy.sign (RSA only) {r_dkimpy:,.0f}/s"
        )
    assert r_signed > 10 * r_dkimpy


@pytest.fixture(scope="module")
def sink_port():
    """A discarding SMTP server in a process of its own (:func:`sink_process`)."""
    with sink_process() as port:
        yield port


@pytest.mark.slow
def test_measure_sending_signed_and_unsigned(keyed, tmp_path, sink_port, capsys):
    """[measure] send_issues to N subscribers over one connection, signed and unsigned,
    alternating runs; the median rate of each."""
    _, dkim_settings, _ = keyed
    n, runs = 400, 3
    smtp = SmtpSettings(host="127.0.0.1", port=sink_port, security="none", connections=1)
    rates: dict[str, list[float]] = {"unsigned": [], "signed": []}
    for run in range(runs):
        for kind in ("unsigned", "signed"):
            root = tmp_path / f"{kind}{run}"
            store = Store.open(root / ".newsdesk" / "newsdesk.sqlite3")
            for i in range(n):
                store.add(f"reader{i}@example.net", f"Reader {i}", source="import")
            extra = {"dkim": dkim_settings} if kind == "signed" else {}
            s = settings(root, smtp, **extra)
            start = time.perf_counter()
            report = send_issues(s, store, [rendering()], secret=SECRET, retry_delays=FAST)
            rates[kind].append(n / (time.perf_counter() - start))
            assert report.sent == n
            store.close()
    med = {k: sorted(v)[len(v) // 2] for k, v in rates.items()}
    with capsys.disabled():
        print(
            f"\n[measure] send_issues, {n} messages, 1 connection, median of {runs}: "
            f"unsigned {med['unsigned']:,.0f}/s, signed {med['signed']:,.0f}/s "
            f"({med['signed'] / med['unsigned']:.2f}×)"
        )
