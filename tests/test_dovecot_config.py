"""The Dovecot test server's configuration, per version (no Dovecot is started here).

Debian 12 ships Dovecot 2.3, Debian 13 ships 2.4, which renamed most settings; the fixture
in ``tests/dovecot.py`` writes the syntax of the version it finds.
"""

from __future__ import annotations

import re

import pytest

from tests.dovecot import config_text

VALUES = dict(
    base="/tmp/nd-dovecot",
    port_imap=10143,
    port_imaps=10993,
    port_pop3=10110,
    port_pop3s=10995,
    internal_user="alice",
    internal_group=1000,
    login_user="alice",
    uid=1000,
    gid=1000,
    chroot="chroot =",
)


def settings(text: str) -> dict[str, str]:
    """``name = value`` lines of a configuration, by name (the last one wins)."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"\s*([a-z0-9_]+)\s*=\s*(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_dovecot_24_configuration() -> None:
    text = config_text("2.4.1 (7d8c0e5759)", **VALUES)
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    # 2.4 refuses a configuration whose first setting is not the config version.
    assert lines[0] == "dovecot_config_version = 2.4.0"
    found = settings(text)
    assert found["dovecot_storage_version"] == "2.4.0"
    assert found["mail_driver"] == "maildir"
    assert found["mail_path"] == "~/Maildir"
    assert found["ssl_server_cert_file"] == "/tmp/nd-dovecot/server.pem"
    assert found["ssl_server_key_file"] == "/tmp/nd-dovecot/server.key"
    assert found["auth_allow_cleartext"] == "no"
    assert found["listen"] == "127.0.0.1"
    assert found["passwd_file_path"] == "/tmp/nd-dovecot/users/%{user | lower}"
    assert found["home"] == "/tmp/nd-dovecot/home/%{user | lower}"
    assert found["pop3_uidl_format"] == "%{uid | hex(8)}%{uidvalidity | hex(8)}"
    assert "passdb passwd-file {" in text and "userdb static {" in text
    # Nothing 2.4 no longer understands.
    for old in ("mail_location", "ssl_cert", "ssl_key", "disable_plaintext_auth", "args"):
        assert old not in found, old
    assert "driver" not in found and "address" not in found and "%L" not in text
    assert re.search(r"%[A-Za-z]", text.replace("%{", "")) is None  # no one-letter variables
    # Every port is listened on.
    for port in (10143, 10993, 10110, 10995):
        assert f"port = {port}" in text
    assert text.count("{") == text.count("}")


def test_dovecot_23_configuration() -> None:
    text = config_text("2.3.19.1 (9b53102964)", **VALUES)
    found = settings(text)
    assert found["mail_location"] == "maildir:~/Maildir"
    assert found["ssl_cert"] == "</tmp/nd-dovecot/server.pem"
    assert found["disable_plaintext_auth"] == "yes"
    assert "dovecot_config_version" not in text and "mail_driver" not in text
    assert text.count("{") == text.count("}")


@pytest.mark.parametrize("version", ["", "unknown", "2.2.36"])
def test_unsupported_version(version: str) -> None:
    with pytest.raises(RuntimeError, match="Dovecot"):
        config_text(version, **VALUES)
