"""newsdesk check: findings on crafted issues, none on the seed, and the hook in send.
No DNS and no network beyond 127.0.0.1: DNS answers come from a local lookup function."""

from __future__ import annotations

import http.server
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from newsdesk.cli import main
from newsdesk.mail.check import (
    DnsUnavailable,
    check_issue,
    contrast,
    dark_mode_page,
    parse_colour,
    preflight,
)
from newsdesk.mail.dkim import default_key_files, generate_keys, key_records
from newsdesk.mail.send import send_issues
from newsdesk.mail.store import Store
from newsdesk.settings import DkimSettings
from tests.mailfixtures import SITE, rendering, settings, start_server

REPO = Path(__file__).resolve().parent.parent
SECRET = b"s" * 32


@pytest.fixture(scope="module")
def dkim_keys(tmp_path_factory):
    root = tmp_path_factory.mktemp("keys")
    rsa_file, ed_file = default_key_files(root, "nd1")
    keys = generate_keys(rsa_file, ed_file)
    return DkimSettings("example.org", "nd1", rsa_file, ed_file), keys


@pytest.fixture
def built_site(tmp_path):
    """A built site holding the home page and the sample issue's page and PDF."""
    site = tmp_path / "site"
    page = site / "issues/2026/email-servers"
    page.mkdir(parents=True)
    (site / "index.html").write_text("home")
    (site / "issues/index.html").write_text("archive")
    (page / "index.html").write_text("issue")
    (page / "email-servers.pdf").write_bytes(b"%PDF")
    (site / "glossary").mkdir()
    (site / "glossary/index.html").write_text("glossary")
    (site / "issues/2026/email-servers/diagram.png").write_bytes(b"png")
    return site


def clean_html(extra: str = "") -> str:
    return (
        '<p>See the <a href="../../../glossary/#pop">glossary</a>.</p>'
        '<p><img src="diagram.png" alt="How mail flows"></p>' + extra
    )


def run_check(tmp_path, site_dir, dkim, html, **email):
    s = replace(settings(tmp_path, dkim=dkim, **email), site_dir=site_dir)
    return check_issue(s, rendering(html=html))


def kinds(findings, severity=None):
    return [f.what for f in findings if severity is None or f.severity == severity]


def test_a_clean_issue_has_no_findings(tmp_path, built_site, dkim_keys):
    findings = run_check(tmp_path, built_site, dkim_keys[0], clean_html())
    assert findings == []


def test_oversize_message(tmp_path, built_site, dkim_keys):
    big = "".join(f"<p>Paragraph {i}: " + "lorem ipsum dolor " * 20 + "</p>" for i in range(400))
    findings = run_check(tmp_path, built_site, dkim_keys[0], clean_html(big))
    errors = kinds(findings, "error")
    assert any("KB" in e and "the message is" in e for e in errors)
    f = next(f for f in findings if "the message is" in f.what)
    assert "102 KB" in f.why and "unsubscribe" in f.why and f.fix
    assert str(f).startswith("error: email-servers: the message is")


def test_image_without_alt(tmp_path, built_site, dkim_keys):
    findings = run_check(tmp_path, built_site, dkim_keys[0], clean_html('<img src="diagram.png">'))
    assert kinds(findings, "warning") == [
        f"image without alt text: {SITE}issues/2026/email-servers/diagram.png"
    ]


def test_relative_link(tmp_path, built_site, dkim_keys):
    s = replace(settings(tmp_path, dkim=dkim_keys[0]), site_dir=built_site)
    r = rendering(html='<p><a href="../dns/">last week</a></p>', url="issues/2026/email-servers/")
    errors = kinds(check_issue(s, r), "error")
    assert "relative link: issues/2026/dns/" in errors


def test_broken_link_into_the_site_and_odd_schemes(tmp_path, built_site, dkim_keys):
    html = clean_html(
        '<p><a href="../dns/">gone</a> <a href="javascript:alert(1)">x</a> '
        '<a href="../../../glossary/">fine</a> <a href="mailto:a@example.org">mail</a></p>'
    )
    errors = kinds(run_check(tmp_path, built_site, dkim_keys[0], html), "error")
    assert any(e.startswith(f"broken link: {SITE}issues/2026/dns/") for e in errors)
    assert "link with the scheme 'javascript:': javascript:alert(1)" in errors
    assert len(errors) == 2


def test_low_contrast_light_and_dark(tmp_path, built_site, dkim_keys):
    html = clean_html(
        '<p style="color:#c0c0c0">Faint grey text</p>'
        '<p style="color:#333333">Dark text, fine on white</p>'
    )
    findings = run_check(tmp_path, built_site, dkim_keys[0], html)
    light = [f for f in findings if "light mode" in f.what]
    dark = [f for f in findings if "dark mode" in f.what]
    assert len(light) == 1 and light[0].severity == "error"
    assert "#c0c0c0 on #ffffff" in light[0].what and "Faint grey" in light[0].what
    assert "4.5:1" in light[0].why
    assert any("#333333 on #1c1f26" in f.what and f.severity == "warning" for f in dark)


def test_colour_helpers():
    assert parse_colour("#fff") == (255, 255, 255)
    assert parse_colour("rgb(0, 0, 0)") == (0, 0, 0)
    assert parse_colour("rgba(0,0,0,0.5)") is None
    assert parse_colour("transparent") is None
    assert round(contrast((0, 0, 0), (255, 255, 255)), 1) == 21.0
    assert round(contrast((0x77, 0x77, 0x77), (255, 255, 255)), 2) == 4.48
    page = (
        "<html><head><style>@media (prefers-color-scheme: dark) { .x { color: #fff "
        '!important; } }</style></head><body><p class="x" style="color: #000">t</p></body></html>'
    )
    assert "#fff" in dark_mode_page(page)


def test_a_private_key_readable_by_others(tmp_path, built_site, dkim_keys):
    dkim_settings = dkim_keys[0]
    try:
        dkim_settings.rsa_key_file.chmod(0o644)
        findings = run_check(tmp_path, built_site, dkim_settings, clean_html())
    finally:
        dkim_settings.rsa_key_file.chmod(0o600)
    assert [f.severity for f in findings] == ["warning"]
    assert "nd1.rsa.key is readable by others" in findings[0].what
    assert findings[0].fix.startswith("chmod 600 ")


def test_list_unsubscribe_missing_and_not_signed(tmp_path, built_site):
    findings = run_check(
        tmp_path,
        built_site,
        DkimSettings(),
        clean_html(),
        service_url=None,
        unsubscribe_mailto=None,
    )
    assert "no List-Unsubscribe header" in kinds(findings, "error")
    assert "the messages are not DKIM-signed" in kinds(findings, "warning")


def test_alignment(tmp_path, built_site, dkim_keys):
    other = replace(dkim_keys[0], domain="example.net")
    findings = run_check(
        tmp_path, built_site, other, clean_html(), bounce_address="bounce@example.net"
    )
    errors, warnings = kinds(findings, "error"), kinds(findings, "warning")
    assert any("DKIM domain example.net is not aligned" in e for e in errors)
    assert any("envelope sender's domain example.net" in w for w in warnings)
    # A subdomain is aligned (relaxed alignment).
    findings = run_check(
        tmp_path, built_site, dkim_keys[0], clean_html(), bounce_address="b@mail.example.org"
    )
    assert findings == []


def test_dns_records_compared(tmp_path, built_site, dkim_keys):
    dkim_settings, keys = dkim_keys
    records = key_records(keys)
    zone = {
        "nd1._domainkey.example.org": [records["rsa-sha256"], records["ed25519-sha256"]],
        "example.org": ["v=spf1 ip4:192.0.2.1 -all"],
        "_dmarc.example.org": ["v=DMARC1; p=quarantine"],
    }
    s = replace(settings(tmp_path, dkim=dkim_settings), site_dir=built_site)
    good = check_issue(s, rendering(html=clean_html()), dns=True, lookup=lambda n: zone.get(n, []))
    assert good == []
    wrong = dict(zone)
    wrong["nd1._domainkey.example.org"] = [records["rsa-sha256"][:-8] + "AAAAAAA="]
    wrong["example.org"] = ["v=spf1 -all", "v=spf1 ~all"]
    del wrong["_dmarc.example.org"]
    found = check_issue(
        s, rendering(html=clean_html()), dns=True, lookup=lambda n: wrong.get(n, [])
    )
    errors, warnings = kinds(found, "error"), kinds(found, "warning")
    assert any("rsa DKIM key published" in e and "not the one" in e for e in errors)
    assert any("no ed25519 DKIM key published" in e for e in errors)
    assert "2 SPF records at example.org" in errors
    assert "no DMARC record for example.org" in warnings

    def offline(name):
        raise DnsUnavailable("no network")

    skipped = check_issue(s, rendering(html=clean_html()), dns=True, lookup=offline)
    assert [f.severity for f in skipped] == ["note"]
    assert "DNS checks skipped" in skipped[0].what


class LocalDns:
    """A small DNS server on 127.0.0.1 (UDP) answering TXT and SOA queries from a dict."""

    def __init__(self, txt: dict[str, list[str]], soa: set[str]):
        import socket

        self.txt, self.soa = txt, soa
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        import dns.message
        import dns.rcode
        import dns.rdataclass
        import dns.rdatatype
        import dns.rrset

        while True:
            try:
                data, addr = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(data)
            answer = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".")
            if question.rdtype == dns.rdatatype.TXT and name in self.txt:
                texts = [
                    " ".join('"' + v[i : i + 255] + '"' for i in range(0, len(v), 255))
                    for v in self.txt[name]
                ]
                answer.answer.append(
                    dns.rrset.from_text_list(question.name, 300, "IN", "TXT", texts)
                )
            elif question.rdtype == dns.rdatatype.SOA and name in self.soa:
                answer.answer.append(
                    dns.rrset.from_text(
                        question.name, 300, "IN", "SOA", "ns. host. 1 7200 3600 1209600 300"
                    )
                )
            elif name not in self.txt and name not in self.soa:
                answer.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(answer.to_wire(), addr)

    def close(self):
        self.sock.close()


def test_dns_through_dnspython_against_a_local_server(tmp_path, built_site, dkim_keys):
    from newsdesk.mail.check import dnspython_lookup

    dkim_settings, keys = dkim_keys
    records = key_records(keys)
    server = LocalDns(
        {
            "nd1._domainkey.example.org": [records["rsa-sha256"], records["ed25519-sha256"]],
            "example.org": ["v=spf1 ip4:192.0.2.1 -all"],
            "_dmarc.example.org": ["v=DMARC1; p=none; rua=mailto:d@example.org"],
        },
        soa={"example.org"},
    )
    try:
        lookup = dnspython_lookup("example.org", 2, nameservers=["127.0.0.1"], port=server.port)
        # The 2048-bit RSA record comes as two strings, joined again.
        assert sorted(lookup("nd1._domainkey.example.org")) == sorted(records.values())
        assert lookup("nothing.example.org") == []
        s = replace(settings(tmp_path, dkim=dkim_settings), site_dir=built_site)
        found = check_issue(s, rendering(html=clean_html()), dns=True, lookup=lookup)
        assert [(f.severity, f.what) for f in found] == [
            ("note", "DMARC at _dmarc.example.org is p=none (monitoring only)")
        ]
        with pytest.raises(DnsUnavailable, match="SOA"):
            dnspython_lookup("example.net", 2, nameservers=["127.0.0.1"], port=server.port)
    finally:
        server.close()


class _Pages(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):
        self.send_response(404 if "missing" in self.path else 200)
        self.end_headers()

    def do_GET(self):
        self.do_HEAD()

    def log_message(self, *args):
        pass


def test_online_links_that_answer_an_error(tmp_path, built_site, dkim_keys):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}/"
        other = f"http://localhost:{httpd.server_address[1]}/"  # not the site
        s = replace(settings(tmp_path, dkim=dkim_keys[0]), site_url=base, site_dir=built_site)
        r = rendering(
            html=f'<p><a href="{other}ok">ok</a> <a href="{other}missing">gone</a></p>',
            url=f"{base}issues/2026/email-servers/",
            pdf_url=None,
            site_url=base,
        )
        findings = check_issue(s, r, online=True)
    finally:
        httpd.shutdown()
    assert kinds(findings) == [f"link {other}missing answers 404 Not Found"]
    assert findings[0].severity == "error"


def test_send_refuses_an_issue_with_errors_and_sends_a_clean_one(tmp_path, built_site, dkim_keys):
    server = start_server("none")
    try:
        store = Store.open(tmp_path / ".newsdesk" / "newsdesk.sqlite3")
        store.add("reader@example.net", "Reader", source="import")
        s = replace(settings(tmp_path, server.smtp(), dkim=dkim_keys[0]), site_dir=built_site)
        bad = rendering(html=clean_html('<p style="color:#dddddd">faint</p>'))
        report = send_issues(s, store, [bad], secret=SECRET, preflight=preflight(s))
        assert report.refused == ["email-servers"] and report.exit_code == 1
        assert "low contrast in light mode" in "\n".join(report.notes)
        assert not server.received
        good = rendering(html=clean_html('<img src="diagram.png">'))
        report = send_issues(s, store, [good], secret=SECRET, preflight=preflight(s))
        assert report.sent == 1 and report.exit_code == 0
        assert any("image without alt text" in w for w in report.warnings)
    finally:
        server.controller.stop()


@pytest.mark.slow
def test_the_seed_issue_passes(tmp_path, capsys):
    """The repository's own project and issue, signed with fresh keys: no finding."""
    root = tmp_path / "seed"
    root.mkdir()
    for name in ("docs", "newsletters"):
        shutil.copytree(REPO / name, root / name)
    config = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    config = config.replace("        enabled: true\n", "        enabled: false\n", 1)
    config = config.replace(
        "        smtp:\n", "        dkim: {domain: example.org, selector: nd1}\n        smtp:\n", 1
    )
    (root / "mkdocs.yml").write_text(config, encoding="utf-8")
    cfg = str(root / "mkdocs.yml")
    assert main(["dkim", "keygen", "-f", cfg, "--selector", "nd1", "--domain", "example.org"]) == 0
    capsys.readouterr()
    assert main(["check", "-f", cfg]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == "email-servers: 0 errors, 0 warnings", out
    # The same issue with faint text and an image without alt text: exit status 1.
    issue = next((root / "newsletters").glob("*-email-servers.md"))
    issue.write_text(
        issue.read_text(encoding="utf-8")
        + '\n<p style="color:#eeeeee">Faint</p>\n\n<img src="https://example.org/x.png">\n',
        encoding="utf-8",
    )
    assert main(["check", "-f", cfg, "email-servers"]) == 1
    out = capsys.readouterr().out
    assert "error: email-servers: low contrast in light mode: text #eeeeee on #ffffff" in out
    assert "warning: email-servers: image without alt text: https://example.org/x.png" in out
    assert out.strip().splitlines()[-1] == "email-servers: 1 errors, 1 warnings", out


def test_send_has_a_no_check_option():
    from newsdesk.cli import build_parser

    assert build_parser().parse_args(["send", "--no-check"]).no_check is True
    assert build_parser().parse_args(["send"]).no_check is False
