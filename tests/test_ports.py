"""The port registry and what is generated from it: page, issue tables, glossary, links."""

from __future__ import annotations

import re
from pathlib import Path

import markdown
import pytest
import yaml
from bs4 import BeautifulSoup

from newsdesk.errors import NewsdeskError, NewsdeskErrors
from newsdesk.fields import node_line
from newsdesk.ports import (
    DATA_FILE,
    SECURITY,
    TRANSPORTS,
    Registry,
    discussed_protocols,
    extra_nodes,
    glossary_ports_markdown,
    link_port_mentions,
    load_registry,
    place_port_tables,
    port_table_html,
    ports_page_markdown,
)

REPO = Path(__file__).resolve().parent.parent
EXTENSIONS = ["attr_list", "md_in_html", "tables", "pymdownx.superfences"]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry()


def render(md: str) -> str:
    return markdown.markdown(md, extensions=EXTENSIONS)


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


# --- the data file ---------------------------------------------------------------------


def test_data_file_rows_follow_the_schema():
    raw = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))["ports"]
    keys = [(row["protocol"], row["port"]) for row in raw]
    assert len(keys) == len(set(keys)), "duplicate (protocol, port) rows"
    for row in raw:
        assert set(row) <= {
            "protocol",
            "port",
            "transport",
            "security",
            "service",
            "purpose",
            "rfc",
            "rfc_url",
            "note",
        }
        assert row["security"] in SECURITY
        assert row["transport"] in TRANSPORTS
        assert row["port"] is None or 1 <= row["port"] <= 65535
        number = re.fullmatch(r"RFC (\d+)", row["rfc"]).group(1)
        assert row["rfc_url"] == f"https://www.rfc-editor.org/rfc/rfc{number}"
        assert row["purpose"].strip()
        if row["port"] is None:
            assert "IANA" in row["note"], "a row without a port says why"
        else:
            assert re.fullmatch(r"[a-z0-9-]+", row["service"])


def test_data_file_cites_its_sources():
    header = DATA_FILE.read_text(encoding="utf-8").split("\nports:")[0]
    assert "https://www.iana.org/assignments/service-names-port-numbers/" in header
    raw = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))["ports"]
    for url in {row["rfc_url"] for row in raw}:
        assert url in header


@pytest.mark.parametrize(
    ("protocol", "port", "security", "service", "rfc"),
    [
        ("SMTP", 25, "STARTTLS", "smtp", "RFC 5321"),
        ("SMTP", 465, "implicit TLS", "submissions", "RFC 8314"),
        ("SMTP", 587, "STARTTLS", "submission", "RFC 6409"),
        ("POP", 110, "STARTTLS", "pop3", "RFC 1939"),
        ("POP", 995, "implicit TLS", "pop3s", "RFC 8314"),
        ("IMAP", 143, "STARTTLS", "imap", "RFC 9051"),
        ("IMAP", 993, "implicit TLS", "imaps", "RFC 8314"),
        ("ManageSieve", 4190, "STARTTLS", "sieve", "RFC 5804"),
        ("HTTP", 80, "none", "http", "RFC 9110"),
        ("HTTPS", 443, "implicit TLS", "https", "RFC 9110"),
        ("DNS", 53, "none", "domain", "RFC 1035"),
        ("DNS", 853, "implicit TLS", "domain-s", "RFC 7858"),
    ],
)
def test_registry_facts(registry, protocol, port, security, service, rfc):
    [row] = [r for r in registry.rows_for(protocol) if r.port == port]
    assert (row.security, row.service, row.rfc) == (security, service, rfc)


def test_lmtp_has_no_invented_port(registry):
    [row] = registry.rows_for("LMTP")
    assert row.port is None and row.rfc == "RFC 2033"
    assert "IANA assigns LMTP no port" in row.note
    assert not registry.has_ports("LMTP")


def test_registry_lookups(registry):
    assert registry.protocols()[:3] == ["SMTP", "POP", "IMAP"]
    assert registry.protocol("imap") == "IMAP"
    assert registry.protocol("FTP") is None
    assert registry.ports_of("pop") == [110, 995]
    assert [r.protocol for r in registry.rows_for_port(993)] == ["IMAP"]


# --- ports.extra -----------------------------------------------------------------------

EXTRA = {
    "protocol": "imap",
    "port": 993,
    "transport": "tcp",
    "security": "implicit tls",
    "service": "imaps",
    "purpose": "Our IMAP server",
    "rfc": "RFC9051",
}


def test_extra_rows_override_in_place_and_append():
    doh = {
        "protocol": "DoH",
        "port": 443,
        "transport": "TCP",
        "security": "implicit TLS",
        "purpose": "DNS queries over HTTPS",
        "rfc": "RFC 8484",
    }
    base = load_registry()
    registry = load_registry([EXTRA, doh])
    assert len(registry) == len(base) + 1
    [row] = [r for r in registry.rows_for("IMAP") if r.port == 993]
    assert (row.protocol, row.purpose, row.transport, row.security) == (
        "IMAP",
        "Our IMAP server",
        "TCP",
        "implicit TLS",
    )
    assert row.rfc == "RFC 9051" and row.rfc_url == "https://www.rfc-editor.org/rfc/rfc9051"
    assert registry.rows.index(row) == [r.key for r in base.rows].index(("imap", 993))
    # A shared port: the shipped row keeps port-443, the added one gets a protocol suffix.
    assert registry.anchor_for(443) == "port-443"
    assert registry.anchor_for(443, "DoH") == "port-443-doh"
    ids = [registry.anchor(r) for r in registry.rows]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"security": ""}, "'security' must name the transport security: none, STARTTLS"),
        ({"security": True}, "'security' must name the transport security"),
        ({"port": 70000}, "'port' must be a number from 1 to 65535"),
        ({"port": "993"}, "'port' must be a number"),
        ({"transport": "SCTP"}, "'transport' must be one of"),
        ({"rfc": "9051"}, "'rfc' must look like 'RFC 8314'"),
        ({"rfc_url": "ftp://example.org/x"}, "'rfc_url' must be an https:// URL"),
        ({"colour": "red"}, "unknown field(s) 'colour'"),
        ({"purpose": None}, "'purpose' must say what the port is for"),
    ],
)
def test_invalid_extra_rows_name_file_and_entry(change, expected):
    row = {**EXTRA, **change}
    with pytest.raises(NewsdeskError) as info:
        load_registry([EXTRA | {"port": 1993}, row], extra_source="mkdocs.yml")
    assert info.value.path == "mkdocs.yml"
    assert "ports.extra[1] (imap)" in str(info.value)
    assert expected in str(info.value)


def test_extra_rows_take_any_transport_security_label():
    ssh = {
        "protocol": "SSH",
        "port": 22,
        "transport": "TCP",
        "security": "SSH  transport",
        "service": "ssh",
        "purpose": "Remote shell for the admins",
        "rfc": "RFC 4253",
    }
    registry = load_registry([ssh, EXTRA | {"security": "STARTTLS", "port": 1143}])
    [row] = registry.rows_for("SSH")
    assert row.security == "SSH transport"
    assert row.describe() == "SSH (SSH transport)"
    html = port_table_html(registry, ["SSH", "IMAP"], "../ports/")
    assert "<td>SSH transport</td>" in html  # free text, unstyled
    assert '<span class="nd-security nd-security-starttls">STARTTLS</span>' in html
    # YAML's "no" (false) means no transport security
    assert load_registry([ssh | {"security": False}]).rows_for("SSH")[0].security == "none"


def test_missing_fields_and_duplicate_extras():
    with pytest.raises(NewsdeskError, match=r"extra\[0\] \(imap\): missing field\(s\) transport"):
        load_registry([{k: v for k, v in EXTRA.items() if k != "transport"}])
    with pytest.raises(NewsdeskError, match=r"ports.extra\[1\].*listed twice"):
        load_registry([EXTRA, EXTRA])


def test_broken_data_file_is_reported(tmp_path):
    bad = tmp_path / "ports.yml"
    bad.write_text("ports:\n  - protocol: X\n    port: 1\n", encoding="utf-8")
    with pytest.raises(NewsdeskError) as info:
        load_registry(data_file=bad)
    assert info.value.path == str(bad) and "missing field(s)" in str(info.value)


def test_every_problem_of_every_extra_row_is_reported_at_once():
    bad = EXTRA | {"port": 70000, "transport": "SCTP", "rfc": "9051"}
    with pytest.raises(NewsdeskErrors) as info:
        load_registry([bad, {"protocol": "X", "colour": "red"}], extra_source="mkdocs.yml")
    messages = [e.message for e in info.value.errors]
    assert messages == [
        "ports.extra[0] (imap): 'port' must be a number from 1 to 65535, or null when none "
        "is assigned (got 70000)",
        "ports.extra[0] (imap): 'transport' must be one of TCP, UDP, TCP, UDP (got 'SCTP')",
        "ports.extra[0] (imap): 'rfc' must look like 'RFC 8314' (got '9051')",
        "ports.extra[1] (X): unknown field(s) 'colour'; a port row has protocol, port, "
        "transport, security, service, purpose, rfc, rfc_url, note",
        "ports.extra[1] (X): missing field(s) port, transport, security, purpose",
    ]
    assert {e.path for e in info.value.errors} == {"mkdocs.yml"}


def test_problems_in_the_data_file_name_file_and_line(tmp_path):
    bad = tmp_path / "ports.yml"
    bad.write_text(
        "ports:\n"
        "  - protocol: X\n    port: 1\n    transport: TCP\n    security: none\n"
        "    purpose: Ok\n"
        "  - protocol: Y\n    port: 0\n    transport: TCP\n    security: none\n"
        "    purpose: Y\n    rfc_url: http://x\n"
        "  - protocol: X\n    port: 1\n    transport: TCP\n    security: none\n"
        "    purpose: Again\n",
        encoding="utf-8",
    )
    with pytest.raises(NewsdeskErrors) as info:
        load_registry(data_file=bad)
    assert [(e.path, e.line) for e in info.value.errors] == [
        (str(bad), 8),
        (str(bad), 12),
        (str(bad), 13),
    ]
    assert "'port' must be a number" in info.value.errors[0].message
    assert "'rfc_url' must be an https:// URL" in info.value.errors[1].message
    assert info.value.errors[2].message == "ports[2]: X port 1 is listed twice (also ports[0])"
    bad.write_text("ports:\n  - protocol: [X\n", encoding="utf-8")
    with pytest.raises(NewsdeskError) as syntax:
        load_registry(data_file=bad)
    assert syntax.value.message.startswith("cannot read the port registry: ")
    assert syntax.value.line in (2, 3)


def test_extra_rows_name_their_line_in_mkdocs_yml(tmp_path):
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        "site_name: x\n"
        "theme:\n  name: !ENV [THEME, material]\n"
        "plugins:\n"
        "  - search\n"
        "  - newsdesk:\n"
        "      ports:\n"
        "        extra:\n"
        "          - protocol: SSH\n"
        "            port: 22\n"
        "            transport: TCP\n"
        "            security: SSH\n"
        "            purpose: Shell\n"
        "          - protocol: Gopher\n"
        "            port: 70\n"
        "            transport: TCP\n"
        "            security: none\n"
        "            purpose: [menus]\n",
        encoding="utf-8",
    )
    extra = yaml.safe_load(config.read_text().replace("!ENV ", ""))["plugins"][1]["newsdesk"]
    rows = extra["ports"]["extra"]
    with pytest.raises(NewsdeskError) as info:
        load_registry(rows, extra_file=config)
    assert str(info.value) == (
        "mkdocs.yml:18: ports.extra[1] (Gopher): 'purpose' must be text (got ['menus'])"
    )
    # Without the file (or when the rows do not match it) messages go without a line.
    with pytest.raises(NewsdeskError) as info:
        load_registry(rows)
    assert info.value.line is None
    assert load_registry(rows[:1], extra_file=config).rows_for("SSH")[0].port == 22
    assert [node_line(n) for n in extra_nodes(config)] == [9, 14]
    assert extra_nodes(tmp_path / "missing.yml") == []
    assert load_registry(extra_file=tmp_path / "missing.yml").rows == load_registry().rows


# --- the ports/ page -------------------------------------------------------------------


def test_ports_page(registry):
    page = ports_page_markdown(registry, lambda p: f"../glossary/#{p.lower()}")
    assert page.startswith("---\ntitle: Ports\n---\n")
    html = soup(render(page.split("---\n", 2)[2]))
    assert html.h1.get_text() == "Ports"
    sections = html.find_all("h2")
    assert [h.get_text() for h in sections] == registry.protocols()
    for h in sections:
        assert h["id"] == f"ports-{h.get_text().lower()}"
        assert h.a["href"] == f"../glossary/#{h.get_text().lower()}"
        assert h.find_next("table").find("tbody").find_all("tr")
    ids = [tr["id"] for tr in html.select("tbody tr")]
    assert len(ids) == len(registry) == len(set(ids))
    row = html.find(id="port-993")
    cells = [td.get_text(" ", strip=True) for td in row.find_all("td")]
    assert cells[:4] == ["993", "TCP", "implicit TLS", "imaps"]
    assert row.find("a", string="RFC 8314")["href"] == "https://www.rfc-editor.org/rfc/rfc8314"
    assert html.find(id="port-lmtp").td.get_text() == "none assigned"
    for a in html.select("tbody a"):
        href = a["href"]
        assert href.startswith("#port-") or re.fullmatch(
            r"https://www\.rfc-editor\.org/rfc/rfc\d+", href
        )


def test_ports_page_without_glossary_entry_has_plain_name(registry):
    html = soup(render(ports_page_markdown(registry, lambda p: None).split("---\n", 2)[2]))
    assert all(h.a is None for h in html.find_all("h2"))


# --- the "Port reference" table on issues ----------------------------------------------


def test_port_table_for_the_seed_protocols(registry):
    table = soup(port_table_html(registry, ["SMTP", "pop", "IMAP"], "../../ports/"))
    assert table.h2.get_text() == "Port reference" and table.h2["id"] == "port-reference"
    rows = table.select("tbody tr")
    got = [(tr.td.get_text(), tr.find_all("td")[1].get_text()) for tr in rows]
    assert got == [
        ("SMTP", "25"),
        ("SMTP", "465"),
        ("SMTP", "587"),
        ("POP", "110"),
        ("POP", "995"),
        ("IMAP", "143"),
        ("IMAP", "993"),
    ]
    assert rows[-1].find_all("td")[1].a["href"] == "../../ports/#port-993"
    assert rows[-1].td.a["href"] == "../../ports/#ports-imap"
    assert [th.get_text() for th in table.select("thead th")][:3] == [
        "Protocol",
        "Port",
        "Transport",
    ]


def test_no_table_without_protocols_with_ports(registry):
    assert port_table_html(registry, [], "../ports/") == ""
    assert port_table_html(registry, ["LMTP", "FTP"], "../ports/") == ""


ISSUE = (
    "Intro about IMAP. IMAP keeps mail.\n\n{marker}\n\n## Later\n\nText.\n\n"
    "```\n<!-- ports -->\n```\n"
)


@pytest.mark.parametrize(
    ("mode", "marker", "expected_place", "protocols"),
    [
        ("auto", "", "end", ["IMAP"]),
        ("auto", "<!-- ports -->", "marker", ["IMAP"]),
        ("auto", "<!--ports: SMTP pop-->", "marker", ["SMTP", "POP"]),
        ("marker", "", None, []),
        ("marker", "<!-- ports -->", "marker", ["IMAP"]),
        ("marker", "<!-- ports: Post Office Protocol, smtp -->", "marker", ["SMTP", "POP"]),
        ("off", "<!-- ports -->", None, []),
        ("off", "", None, []),
    ],
)
def test_place_port_tables(registry, mode, marker, expected_place, protocols):
    html = render(ISSUE.format(marker=marker))
    names = {"Post Office": "POP", "Post Office Protocol": "POP"}
    out = place_port_tables(html, ["IMAP"], registry, mode, "../ports/", names=names)
    page = soup(out)
    tables = page.select("section.newsdesk-port-reference")
    assert "<!-- ports" not in out.replace("&lt;!-- ports --&gt;", "")
    assert "&lt;!-- ports --&gt;" in out, "the marker inside code stays as written"
    if expected_place is None:
        assert tables == []
        return
    [table] = tables
    assert sorted({tr.td.get_text() for tr in table.select("tbody tr")}) == sorted(protocols)
    later = page.find("h2", string="Later")
    if expected_place == "end":
        assert table.find_previous("pre") is not None
    else:
        assert table.find_next("h2", string="Later") is later


def test_tables_show_what_the_issue_is_about_not_passing_mentions(registry):
    dns = markdown.markdown(
        "## How DNS finds your mail server\n\nDNS answers with MX records; DNS over TLS "
        "hides them.[^1] Unlike POP, nothing is downloaded.\n\n"
        "[^1]: See RFC 7858.\n",
        extensions=[*EXTENSIONS, "footnotes"],
    )
    names = {"Post Office Protocol": "POP"}
    assert discussed_protocols(dns, ["DNS", "POP"], registry, names) == ["DNS"]
    out = place_port_tables(dns, ["DNS", "POP"], registry, "auto", "../ports/", names=names)
    page = soup(out)
    [table] = page.select("section.newsdesk-port-reference")
    assert {tr.td.get_text() for tr in table.select("tbody tr")} == {"DNS"}
    # before the footnotes, not after them
    assert table.find_next("div", class_="footnote") is not None
    # a heading, a definition or two mentions make a protocol a topic; code does not count
    assert discussed_protocols(render("### POP Port Numbers\n"), ["POP"], registry) == ["POP"]
    defined = render("**POP** (Post Office Protocol) – downloads mail.\n")
    assert discussed_protocols(defined, ["POP"], registry) == ["POP"]
    twice = render("The Post Office Protocol is old; POP3 clients still exist.\n")
    assert discussed_protocols(twice, ["POP"], registry, names) == ["POP"]
    row = render("| Protocol | Port |\n|---|---|\n| IMAP | 993 |\n| Webmail | 443 |\n")
    assert discussed_protocols(row, ["IMAP", "POP"], registry) == ["IMAP"]
    elsewhere = render("Unlike POP, this uses port 993.\n")  # 993 is not POP's
    assert discussed_protocols(elsewhere, ["POP"], registry) == []
    code = render("POP once.\n\n```\nPOP POP POP\n```\n")
    assert discussed_protocols(code, ["POP"], registry) == []


def test_auto_without_mentioned_protocols_adds_nothing(registry):
    html = render("Nothing about mail.\n")
    assert place_port_tables(html, [], registry, "auto", "../ports/") == html
    assert place_port_tables(html, ["LMTP"], registry, "auto", "../ports/") == html


def test_several_markers_get_unique_heading_ids(registry):
    html = render("<!-- ports: IMAP -->\n\nText.\n\n<!-- ports: POP -->\n")
    page = soup(place_port_tables(html, [], registry, "marker", "../ports/"))
    assert [h["id"] for h in page.find_all("h2")] == ["port-reference", "port-reference-2"]


def test_unknown_protocol_in_marker_is_an_error(registry):
    html = render("<!-- ports: IMAP FTP -->\n")
    with pytest.raises(NewsdeskError) as info:
        place_port_tables(html, [], registry, "auto", "../ports/", source="newsletters/x.md")
    assert info.value.path == "newsletters/x.md" and "'FTP'" in str(info.value)
    with pytest.raises(NewsdeskError, match=r"ports\.tables"):
        place_port_tables(html, [], registry, "always", "../ports/")


# --- glossary blocks -------------------------------------------------------------------


def test_glossary_ports_markdown(registry):
    block = glossary_ports_markdown(registry, "IMAP", "../ports/")
    links = soup(render(block)).find_all("a")
    assert [(a.get_text(), a["href"]) for a in links] == [
        ("143", "../ports/#port-143"),
        ("993", "../ports/#port-993"),
    ]
    assert "implicit TLS" in block
    assert glossary_ports_markdown(registry, "FTP", "../ports/") == ""
    assert "#port-lmtp" in glossary_ports_markdown(registry, "LMTP", "../ports/")


# --- links from prose ------------------------------------------------------------------


def test_link_port_mentions_in_prose(registry):
    html = render(
        "IMAP uses port 993, and ports 143 and 110. SMTP is 25 years old. Port 31337 too.\n"
    )
    out = soup(link_port_mentions(html, registry, "../../ports/"))
    assert [(a.get_text(), a["href"]) for a in out.find_all("a")] == [
        ("port 993", "../../ports/#port-993"),
        ("ports 143", "../../ports/#port-143"),
        ("110", "../../ports/#port-110"),
    ]


def test_link_port_mentions_list_items_under_port_headings(registry):
    md = (
        "### POP Port Numbers\n\n- 110 – plain\n- 995 – secure\n\n"
        "### Birthdays\n\n- 25 years of SMTP\n"
    )
    out = soup(link_port_mentions(render(md), registry, "/ports/"))
    assert [a.get_text() for a in out.find_all("a")] == ["110", "995"]
    assert out.find("li", string=re.compile("25 years")) is not None


def test_link_port_mentions_leaves_code_links_headings_and_attributes(registry):
    md = (
        "## About port 993\n\n"
        "Run `nc host port 993` or [port 993](https://example.org/) here.\n\n"
        '<p title="port 993">plain</p>\n\n'
        "```\nport 993\n```\n"
    )
    html = render(md)
    assert link_port_mentions(html, registry, "../ports/") == html


def test_link_port_mentions_changes_only_the_links(registry):
    html = render("Use *IMAP* on port 993 &amp; more.<br>\n\n<!-- keep -->\n")
    out = link_port_mentions(html, registry, "../ports/")
    inserted = '<a class="newsdesk-port" href="../ports/#port-993">port 993</a>'
    assert out == html.replace("port 993", inserted)


def test_link_prefers_the_heading_protocol_for_shared_ports():
    registry = load_registry(
        [
            {
                "protocol": "DoH",
                "port": 443,
                "transport": "TCP",
                "security": "implicit TLS",
                "purpose": "DNS over HTTPS",
                "rfc": "RFC 8484",
            }
        ]
    )
    out = link_port_mentions(render("### DoH ports\n\n- 443 – it\n"), registry, "p/")
    assert 'href="p/#port-443-doh"' in out


def test_notes_on_the_ports_page_not_in_issue_tables(registry):
    page = soup(render(ports_page_markdown(registry, lambda p: None).split("---\n", 2)[2]))
    assert "opportunistic" in page.find(id="port-25").get_text()
    table = soup(port_table_html(registry, ["SMTP"], "../ports/"))
    assert "opportunistic" not in table.get_text()
