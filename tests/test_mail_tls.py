"""The one TLS context of the sender and the inbox reader: a CA file that cannot be used is
a configuration error naming the option, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from newsdesk.errors import NewsdeskError
from newsdesk.mail import send
from newsdesk.mail.inbox import connect, parse_inbox_url
from newsdesk.mail.tls import client_context
from newsdesk.settings import SmtpSettings


def test_a_usable_ca_file_gives_a_verifying_context(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    context = client_context(str(ca), "email.smtp.ca_file")
    assert context.check_hostname and context.verify_mode.name == "CERT_REQUIRED"


@pytest.mark.parametrize("content", [None, b"", b"not a PEM certificate\n"])
def test_inbox_ca_file_missing_or_unreadable(tmp_path: Path, content: bytes | None) -> None:
    ca = tmp_path / "ca.pem"
    if content is not None:
        ca.write_bytes(content)
    url = parse_inbox_url("imaps://list@127.0.0.1:1/INBOX")  # never reached
    with pytest.raises(NewsdeskError) as info:
        connect(url, "pw", ca_file=str(ca))
    message = str(info.value)
    assert "email.inbox.ca_file" in message and "certificate" in message
    assert str(ca) in message and info.value.path is None  # named by its option


def test_smtp_ca_file_unreadable(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("garbage\n")
    smtp = SmtpSettings(host="127.0.0.1", port=1, ca_file=str(ca))
    with pytest.raises(NewsdeskError, match=r"email\.smtp\.ca_file: cannot load the certificate"):
        send.SmtpTransport(smtp)
