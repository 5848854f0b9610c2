"""Precision and recall of the port-claim check on a labelled corpus of prose written the
way other people write about DNS, HTTPS, SSH, LDAP, submission, firewalls and containers
(tests/data/claims_corpus.yml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from newsdesk.claims import check_claims
from newsdesk.ports import load_registry

CORPUS = Path(__file__).parent / "data" / "claims_corpus.yml"
NAMES = {
    "POP": "POP",
    "POP3": "POP",
    "Post Office Protocol": "POP",
    "IMAP": "IMAP",
    "Internet Message Access Protocol": "IMAP",
    "SMTP": "SMTP",
    "Simple Mail Transfer Protocol": "SMTP",
}


@pytest.fixture(scope="module")
def corpus() -> dict:
    return yaml.safe_load(CORPUS.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def verdicts(corpus):
    """(text, expected claims, flagged claims) for every entry."""
    registry = load_registry()
    out = []
    entries = [(text, set()) for text in corpus["negatives"]] + [
        (e["text"], {(port, proto) for port, proto in e["warn"]}) for e in corpus["positives"]
    ]
    for text, expected in entries:
        problems = check_claims(text, "corpus.md", 1, registry, NAMES)
        out.append((text, expected, {(p.port, p.protocol) for p in problems}))
    return out


def test_corpus_size(corpus):
    assert len(corpus["negatives"]) >= 60
    assert len(corpus["positives"]) >= 20
    assert all(e["warn"] for e in corpus["positives"])


def test_precision_and_recall(verdicts, capsys):
    expected = sum(len(e) for _, e, _ in verdicts)
    flagged = sum(len(f) for _, _, f in verdicts)
    true = sum(len(e & f) for _, e, f in verdicts)
    precision = true / flagged if flagged else 1.0
    recall = true / expected
    with capsys.disabled():
        print(
            f"\nport claims corpus: {sum(1 for _, e, _ in verdicts if not e)} texts that must "
            f"not warn, {sum(1 for _, e, _ in verdicts if e)} that must ({expected} claims); "
            f"flagged {flagged}, right {true}: precision {precision:.3f}, recall {recall:.3f}"
        )
    false_alarms = [(t, f - e) for t, e, f in verdicts if f - e]
    assert false_alarms == []
    assert precision == 1.0
    assert recall >= 0.9, [(t, e - f) for t, e, f in verdicts if e - f]


def test_no_negative_warns(verdicts):
    """Each text that must not warn, by itself, so a regression names the sentence."""
    assert [t for t, e, f in verdicts if not e and f] == []
