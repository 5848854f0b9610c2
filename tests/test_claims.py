"""The port-claim checker on true, false and ambiguous sentences and lists, and the seed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsdesk.claims import HINT, ClaimProblem, check_claims, default_names, named_protocols
from newsdesk.issues import split_front_matter
from newsdesk.ports import load_registry

REPO = Path(__file__).resolve().parent.parent
SEED = REPO.parent / "shared" / "seeds" / "000_195fff60b6736748.txt"
REPAIRED = REPO / "newsletters" / "2026-11-26-email-servers.md"

# The glossary's spellings: terms, aliases and expansions.
NAMES = {
    "POP": "POP",
    "POP3": "POP",
    "Post Office Protocol": "POP",
    "IMAP": "IMAP",
    "IMAP4": "IMAP",
    "Internet Message Access Protocol": "IMAP",
    "SMTP": "SMTP",
    "Simple Mail Transfer Protocol": "SMTP",
    "ManageSieve": "ManageSieve",
    "TLS": "TLS",  # not a registry protocol: ignored
}

# The seed issue exactly as scraped (lines 13 to 36 of the seed file): the heading
# "SMTP Port Numbers" got lost, so 25, 465 and 587 stand under "IMAP Port Numbers".
SEED_FIRST_LINE = 13
SEED_TEXT = (
    "SMTP (Simple Mail Transfer Protocol) – A standard protocol for email services on a "
    "network providing the ability to send and receive messages.\xa0 SMTP is one of the most "
    "common and popular protocols for email communications over the Internet.\xa0 It provides "
    "intermediary network services between the remote email provider or organizational "
    "email server and the local user accessing it.\n"
    "\n"
    "\n"
    "Email Port Numbers – A port number is part of the addressing information used to "
    "identify the senders and receivers messages.\xa0 Port numbers work like telephone "
    "extensions.\xa0 Just as a business telephone switchboard can use a main phone number "
    "with extensions to each employee.\n"
    "\n"
    "\n"
    "POP Port Numbers\n"
    "\n"
    "  • 110 – Default non-encrypted port.\n"
    "  • 995 – Used connect using POP securely.\n"
    "\n"
    "\n"
    "IMAP Port Numbers\n"
    "\n"
    "  • 143 – Default non-encrypted port.\n"
    "  • 993 – Used to connect with IMAP securely.\n"
    "\n"
    "\n"
    "  • 25 – Default non-encrypted port.\n"
    "  • 465 – Used to send messages with SMTP securely.\n"
    "  • 587 – Used to send messages with improved securely.\n"
    "\n"
    "\n"
    "\n"
)


_REGISTRY = load_registry()


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def claims(registry, text: str, first_line: int = 1) -> list[ClaimProblem]:
    return check_claims(text, "newsletters/x.md", first_line, registry, NAMES)


def test_fixture_is_the_seed_text_exactly():
    if not SEED.exists():
        pytest.skip("seed file not present")
    lines = SEED.read_text(encoding="utf-8").split("\n")
    assert "\n".join(lines[SEED_FIRST_LINE - 1 :]).startswith(SEED_TEXT)


def test_seed_as_scraped_flags_the_smtp_ports_under_the_imap_heading(registry):
    problems = check_claims(SEED_TEXT, "seed.txt", SEED_FIRST_LINE, registry, NAMES)
    assert [(p.line, p.port, p.protocol) for p in problems] == [
        (31, 25, "IMAP"),
        (32, 465, "IMAP"),
        (33, 587, "IMAP"),
    ]
    assert str(problems[0]) == (
        "seed.txt:31: '25' is listed under the IMAP heading, but port 25 is SMTP with "
        "STARTTLS in the registry (IMAP uses 143, 993); if the text is right, put "
        "<!-- ports: nocheck --> before this block or set ports.check: off"
    )
    # 465's item names SMTP, but it is still listed under the IMAP heading.
    assert problems[1].said == "'465' is listed under the IMAP heading"


def test_seed_lines_match_the_file(registry):
    if not SEED.exists():
        pytest.skip("seed file not present")
    lines = SEED.read_text(encoding="utf-8").split("\n")
    problems = check_claims(SEED.read_text(encoding="utf-8"), "seed.txt", 1, registry, NAMES)
    assert [p.port for p in problems] == [25, 465, 587]
    for p in problems:
        assert lines[p.line - 1].strip().startswith(f"• {p.port} ")


def test_seed_as_repaired_has_no_problem(registry):
    _, body, body_line = split_front_matter(REPAIRED.read_text(encoding="utf-8"))
    assert check_claims(body, str(REPAIRED.relative_to(REPO)), body_line, registry, NAMES) == []


def test_repaired_list_with_a_wrong_number_is_flagged_with_its_file_line(registry):
    text = REPAIRED.read_text(encoding="utf-8").replace("- 993 – Used", "- 995 – Used")
    _, body, body_line = split_front_matter(text)
    problems = check_claims(body, "newsletters/2026-11-26-email-servers.md", body_line, registry)
    assert len(problems) == 1
    line = text.split("\n")[problems[0].line - 1]
    assert line.startswith("- 995 – Used to connect with IMAP")
    assert str(problems[0]).startswith("newsletters/2026-11-26-email-servers.md:")
    assert "port 995 is POP over implicit TLS (POP3S)" in str(problems[0])


def test_message_format_for_a_list_under_a_heading(registry):
    text = "### POP Port Numbers\n\n- 110 – plain\n- 993 – secure\n"
    [problem] = claims(registry, text, first_line=40)
    assert str(problem) == (
        "newsletters/x.md:43: '993' is listed under the POP heading, but port 993 is IMAP "
        f"over implicit TLS (IMAPS) in the registry (POP uses 110, 995); {HINT}"
    )


@pytest.mark.parametrize(
    "sentence",
    [
        "IMAP listens on port 993.",
        "Use port 587 for SMTP submission.",
        "The Post Office Protocol uses ports 110 and 995.",
        "ManageSieve runs on port 4190.",
        "IMAP over TLS uses port 993.",  # TLS is no registry protocol
        "IMAP may use port 12345 on some servers.",  # a port the registry lacks
        "SMTP has been around for 25 years.",  # not a port
        "IMAP4 is on port 143/tcp.",
    ],
)
def test_true_sentences_pass(registry, sentence):
    assert claims(registry, f"Intro.\n\n{sentence}\n") == []


@pytest.mark.parametrize(
    ("sentence", "port", "protocol"),
    [
        ("Port 465 is what IMAP uses.", 465, "IMAP"),
        ("POP3 uses port 993 for TLS.", 993, "POP"),
        ("The Simple Mail Transfer Protocol listens on port 143.", 143, "SMTP"),
        ("IMAP (e.g. port 995) is secure.", 995, "IMAP"),
        ("ManageSieve uses ports 4190 and 25.", 25, "ManageSieve"),
        ("Port 143 is for POP.", 143, "POP"),
        ("Port 25 is the IMAP port.", 25, "IMAP"),
        ("The IMAP server listens on TCP port 110.", 110, "IMAP"),
        ("Open ports 25 (SMTP) and 995 (IMAPS).", 995, "IMAP"),
    ],
)
def test_false_sentences_are_flagged(registry, sentence, port, protocol):
    [problem] = claims(registry, f"Intro.\n\n{sentence}\n", first_line=5)
    assert (problem.line, problem.port, problem.protocol) == (7, port, protocol)
    assert f"in the registry ({protocol} uses" in problem.registry_says


@pytest.mark.parametrize(
    "text",
    [
        "SMTP uses port 25 and IMAP uses port 143.",  # two protocols in one sentence
        "Port 993 is secure.",  # no protocol
        "Clients connect on port 993. POP is older.",  # the name is in another sentence
        "- 993 – secure\n",  # a list under no heading
        "## Ports\n\n- 993 – secure\n- 110 – plain\n",  # heading names no protocol
        "## POP and IMAP ports\n\n- 993 – secure\n",  # heading names two protocols
        "### POP Port Numbers\n\nSome text.\n\n### Other\n\n- 993 – secure\n",  # reset
        "A pop-up on port 993 appears.",  # 'pop' is not POP
        "It asks DNS on port 53 for the MX records, then connects on port 25.",
        "Use port 443 for SSH; HTTPS moves elsewhere.",  # advice, not what SSH uses
        "POP, IMAP, and SMTP use ports 110, 143, and 25.",  # several subjects
        "If your client says IMAP uses port 995, change it.",  # reported speech
        "IMAP doesn't use port 25.",
        "- IMAP: the client connects. It uses port 995.\n",  # a pronoun is no claim
        "## DNS troubleshooting\n\n- port 25 blocked by your ISP?\n",  # no port list
        "## HTTPS checklist\n\n- 80 – only to redirect to HTTPS\n",
        "## Troubleshooting IMAP ports\n\n- 25 – is mail arriving at all?\n",
    ],
)
def test_ambiguous_text_gives_no_false_alarm(registry, text):
    assert claims(registry, text) == []


@pytest.mark.parametrize(
    "text",
    [
        "### POP Port Numbers\n\n- 993 – unlike POP, IMAP uses it\n",
        "### POP Port Numbers\n\n- 993 – used with IMAP\n",
    ],
)
def test_a_port_listed_under_the_wrong_heading_is_flagged_whatever_its_item_says(registry, text):
    [problem] = claims(registry, text)
    assert (problem.line, problem.port, problem.protocol) == (3, 993, "POP")
    assert problem.said == "'993' is listed under the POP heading"


def test_claim_inside_a_list_item(registry):
    text = "- IMAP: the client connects.\n- IMAP uses port 995 here.\n- SMTP relay: port 25\n"
    [problem] = claims(registry, text)
    assert (problem.line, problem.port, problem.protocol) == (2, 995, "IMAP")
    assert problem.said == 'the text says "IMAP uses port 995"'


def test_heading_forms(registry):
    atx = "## IMAP Port Numbers ##\n\n* 110 – plain\n"
    setext = "IMAP Port Numbers\n-----------------\n\n1. 110 – plain\n"
    pseudo = "Intro text here.\n\nIMAP Port Numbers\n\n  • **110** – plain\n"
    question = "### Which ports does IMAP use?\n\n- port 110\n"
    for text in (atx, setext, pseudo, question):
        [problem] = claims(registry, text)
        assert (problem.port, problem.protocol) == (110, "IMAP"), text
        assert problem.said == "'110' is listed under the IMAP heading"


def test_list_continues_under_heading_across_a_paragraph_naming_no_protocol(registry):
    text = "### POP ports\n\nThe two ports:\n\n- 110 – plain\n  and then\n- 993 – secure\n"
    [problem] = claims(registry, text, first_line=100)
    assert (problem.line, problem.port) == (106, 993)


def test_prose_about_another_protocol_ends_the_port_list(registry):
    text = "### IMAP ports\n\n- 143\n- 993\n\nFor sending, SMTP:\n\n- 587\n"
    assert claims(registry, text) == []


def test_nested_item_under_another_protocol_is_not_listed_under_the_heading(registry):
    text = "### IMAP ports\n\n- 143 and 993\n- also SMTP:\n  - 587\n"
    assert claims(registry, text) == []
    text = "### IMAP ports\n\n- 143 and 993\n- legacy:\n  - 995\n"
    assert [p.port for p in claims(registry, text)] == [995]


def test_multi_line_paragraph_points_at_the_number_line(registry):
    text = "Para.\n\nOnce configured, the IMAP server\nlistens on\nport 995 for clients.\n"
    [problem] = claims(registry, text, first_line=10)
    assert problem.line == 14


def test_code_comments_and_links_are_skipped(registry):
    text = (
        "Intro.\n\n"
        "```\nIMAP port 25\n```\n\n"
        "~~~~ text\nPOP port 993\n~~~~\n\n"
        "    IMAP port 25 in an indented block\n\n"
        "<!-- IMAP port 25 -->\n\n"
        "See [IMAP](https://example.org/port 25) here.\n\n"
        "IMAP port 25 in prose.\n"
    )
    [problem] = claims(registry, text)
    assert problem.line == text.split("\n").index("IMAP port 25 in prose.") + 1


def test_indented_list_continuation_is_not_code(registry):
    text = "Intro.\n\n- first\n\n    POP3 listens on port 993 in this item\n"
    [problem] = claims(registry, text)
    assert (problem.line, problem.port) == (5, 993)


def test_tables(registry):
    text = (
        "| Protocol | Port |\n| --- | --- |\n| SMTP | 25 |\n| IMAP | 995 |\n"
        "| IMAP / POP3 | 110 |\n| SMTP relay to every other server | 993 |\n"
    )
    [problem] = claims(registry, text, first_line=20)
    assert (problem.line, problem.port, problem.protocol) == (23, 995, "IMAP")
    assert problem.said == "the table gives IMAP port 995"
    under = "## POP port numbers\n\n| Port | Security |\n|---|---|\n| 110 | none |\n| 993 | TLS |\n"
    assert [(p.line, p.port) for p in claims(registry, under)] == [(6, 993)]


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        # the comment silences the block after it ...
        ("<!-- ports: nocheck -->\nIMAP uses port 995.\n\nPOP uses port 993.\n", [993]),
        # ... a whole list ...
        ("### POP ports\n\n<!-- ports: nocheck -->\n- 993\n- 143\n\nIMAP is port 25.\n", [25]),
        # ... a whole table ...
        ("<!--ports:nocheck-->\n| Protocol | Port |\n|-|-|\n| IMAP | 995 |\n| POP | 993 |\n", []),
        # ... and before a heading its section, up to the next heading
        (
            "<!-- ports: nocheck -->\n## POP ports\n\n- 993\n\nIMAP uses port 995.\n\n"
            "## IMAP ports\n\n- 995\n",
            [995],
        ),
    ],
)
def test_nocheck_comment(registry, text, flagged):
    assert [p.port for p in claims(registry, text)] == flagged


def test_default_names_know_service_names(registry):
    names = default_names(registry)
    assert names["IMAPS"] == "IMAP"
    assert names["POP3S"] == "POP"
    assert check_claims("IMAPS is on port 995.", "x.md", 1, registry) != []


def test_override_in_registry_changes_the_verdict():
    registry = load_registry(
        [
            {
                "protocol": "IMAP",
                "port": 1143,
                "transport": "TCP",
                "security": "STARTTLS",
                "purpose": "Site-local IMAP proxy",
            }
        ]
    )
    assert check_claims("IMAP listens on port 1143.", "x.md", 1, registry) == []
    [problem] = check_claims("POP listens on port 1143.", "x.md", 1, registry)
    assert "IMAP with STARTTLS" in problem.registry_says


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["IMAP", "POP", "port 993", "- ", "## ", "\n", "\n\n", "```", "    ", ". ", "25", "x"]
        ),
        max_size=40,
    )
)
def test_never_crashes_and_lines_stay_in_range(pieces):
    registry = _REGISTRY
    text = "".join(pieces)
    for problem in check_claims(text, "x.md", 7, registry, NAMES):
        assert 7 <= problem.line < 7 + text.count("\n") + 1


def test_named_protocols(registry):
    text = "The Post Office Protocol and SMTP.\n\n```\nIMAP\n```\n\nA pop-up.\n"
    assert named_protocols(text, registry, NAMES) == ["SMTP", "POP"]
    _, body, _ = split_front_matter(REPAIRED.read_text(encoding="utf-8"))
    assert named_protocols(body, registry) == ["SMTP", "POP", "IMAP"]
