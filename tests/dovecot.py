"""A real Dovecot (Debian's ``dovecot-imapd`` and ``dovecot-pop3d``) for the inbox tests.

:class:`Dovecot` starts ``dovecot -F -c <conf>`` with a configuration of its own in a
temporary folder – nothing under ``/etc`` is read or touched – listening on 127.0.0.1 on
free ports: IMAP (STARTTLS), IMAPS, POP3 (STLS) and POP3S, with a certificate from a
trustme test CA. Users live in passwd-files (:meth:`Dovecot.add_user` adds one, each test
its own); their Maildirs are filled directly by the tests with :meth:`Dovecot.deliver`.

Debian 12 ships Dovecot 2.3 and Debian 13 Dovecot 2.4, which renamed most settings: the
version ``dovecot --version`` reports picks the configuration written (:func:`config_text`).
"""

from __future__ import annotations

import contextlib
import itertools
import mailbox
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import trustme

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "s3cret p@ss"  # a space and an @: exercises quoting in LOGIN and USER/PASS

CONFIG_23 = """\
# Written by tests/dovecot.py for one test session (Dovecot 2.3).
protocols = imap pop3
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
instance_name = newsdesk-test-{port_imap}
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
mail_location = maildir:~/Maildir
mail_uid = {uid}
mail_gid = {gid}
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_failure_delay = 0
# Trusted: no growing penalty after the tests' deliberate login failures.
login_trusted_networks = 127.0.0.0/8
ssl = yes
ssl_cert = <{base}/server.pem
ssl_key = <{base}/server.key
ssl_min_protocol = TLSv1.2
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu {base}/users/%Lu
}}
userdb {{
  driver = static
  args = home={base}/home/%Lu
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port_imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port_imaps}
    ssl = yes
  }}
  {chroot}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port_pop3}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {port_pop3s}
    ssl = yes
  }}
  {chroot}
}}
"""


CONFIG_24 = """\
dovecot_config_version = 2.4.0
# Written by tests/dovecot.py for one test session (Dovecot 2.4).
dovecot_storage_version = 2.4.0
protocols = imap pop3
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
instance_name = newsdesk-test-{port_imap}
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
mail_driver = maildir
mail_path = ~/Maildir
mail_uid = {uid}
mail_gid = {gid}
namespace inbox {{
  inbox = yes
}}
auth_allow_cleartext = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_username_format = %{{user | lower}}
# Trusted: no growing penalty after the tests' deliberate login failures.
login_trusted_networks = 127.0.0.0/8
ssl = yes
ssl_server_cert_file = {base}/server.pem
ssl_server_key_file = {base}/server.key
ssl_min_protocol = TLSv1.2
pop3_uidl_format = %{{uid | hex(8)}}%{{uidvalidity | hex(8)}}
passdb passwd-file {{
  passwd_file_path = {base}/users/%{{user | lower}}
}}
userdb static {{
  fields {{
    home = {base}/home/%{{user | lower}}
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = {port_imap}
  }}
  inet_listener imaps {{
    port = {port_imaps}
    ssl = yes
  }}
  {chroot}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {port_pop3}
  }}
  inet_listener pop3s {{
    port = {port_pop3s}
    ssl = yes
  }}
  {chroot}
}}
"""
"""Dovecot 2.4: ``dovecot_config_version`` first, ``mail_driver``/``mail_path`` for
mail_location, ``ssl_server_*_file`` (paths, not ``<file``), named passdb/userdb filters
with their own settings instead of ``args``, the new ``%{...}`` variables; listeners take
their address from the global ``listen``."""


def dovecot_version(binary: str | None = None) -> str:
    """What ``dovecot --version`` prints (``2.3.19.1 (9b53102964)``), or ``""``."""
    try:
        out = subprocess.run(
            [binary or DOVECOT, "--version"], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return ""
    return out.strip()


def config_text(version: str, **values: object) -> str:
    """The configuration for Dovecot ``version``: 2.4 syntax from 2.4 on, 2.3 before.

    ``values`` fill the template: base, port_imap, port_imaps, port_pop3, port_pop3s,
    internal_user, internal_group, login_user, uid, gid and chroot.
    """
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        raise RuntimeError(f"cannot tell the Dovecot version from {version!r}")
    major_minor = (int(match.group(1)), int(match.group(2)))
    if major_minor < (2, 3):
        raise RuntimeError(f"tests/dovecot.py needs Dovecot 2.3 or later; found {version}")
    template = CONFIG_24 if major_minor >= (2, 4) else CONFIG_23
    return template.format(**values)


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on 127.0.0.1 right now."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass(frozen=True)
class User:
    """A mailbox on the test server."""

    name: str
    password: str
    maildir: Path


class Dovecot:
    """A running Dovecot; use as a context manager (it is stopped and its files removed)."""

    def __init__(self, base: Path):
        self.base = base
        self.ca = trustme.CA()
        self.ca_file = base / "ca.pem"
        self.port_imap, self.port_imaps, self.port_pop3, self.port_pop3s = free_ports(4)
        self.proc: subprocess.Popen[bytes] | None = None
        self._counter = itertools.count(1)
        # Dovecot refuses to access mail as root: as root, the mailboxes belong to nobody.
        owner = pwd.getpwnam("nobody") if os.getuid() == 0 else pwd.getpwuid(os.getuid())
        self.mail_uid, self.mail_gid = owner.pw_uid, owner.pw_gid

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Dovecot:
        if not Path(DOVECOT).exists():
            raise RuntimeError(
                "dovecot is missing: `make test` installs Debian's dovecot-imapd and dovecot-pop3d"
            )
        version = dovecot_version()
        base = self.base
        for sub in ("run", "state", "home"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        cert.private_key_pem.write_to_path(str(base / "server.key"))
        with open(base / "server.pem", "wb") as fh:
            for blob in cert.cert_chain_pems:
                fh.write(blob.bytes())
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        (base / "users").mkdir(exist_ok=True)
        me = pwd.getpwuid(os.getuid())
        root = os.getuid() == 0
        internal = "dovecot" if root else me.pw_name
        login = "dovenull" if root else me.pw_name
        # The login processes chroot into base_dir/login when root; not possible otherwise.
        chroot = "" if root else "chroot ="
        conf = base / "dovecot.conf"
        conf.write_text(
            config_text(
                version,
                base=base,
                port_imap=self.port_imap,
                port_imaps=self.port_imaps,
                port_pop3=self.port_pop3,
                port_pop3s=self.port_pop3s,
                internal_user=internal,
                internal_group=pwd.getpwnam(internal).pw_gid if not root else internal,
                login_user=login,
                uid=self.mail_uid,
                gid=self.mail_gid,
                chroot=chroot,
            )
        )
        # Dovecot's base_dir must be reachable by its unprivileged processes.
        for path in (base, base / "run", base / "home"):
            path.chmod(0o755)
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=open(base / "stderr.log", "wb"),  # noqa: SIM115 - closed with the process
            start_new_session=True,  # its own process group, so stop() ends all of it
        )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        pending = {self.port_imap, self.port_imaps, self.port_pop3, self.port_pop3s}
        while pending:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited ({self.proc.returncode}):\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"dovecot did not start in {timeout} s:\n{self.log()}")
            for port in list(pending):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    pending.discard(port)
                except OSError:
                    pass
            if pending:
                time.sleep(0.05)

    def log(self) -> str:
        text = ""
        for name in ("stderr.log", "dovecot.log"):
            path = self.base / name
            if path.exists():
                text += path.read_text(errors="replace")
        return text

    def stop(self) -> None:
        """Stop Dovecot and every process it started (its own process group)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            # The master waits seconds for its children; half a second is enough here.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=0.5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- users and mail --------------------------------------------------------------------

    def add_user(self, prefix: str = "list") -> User:
        """A new user ``{prefix}{n}@example.org`` with an empty Maildir."""
        name = f"{prefix}{next(self._counter)}@example.org"
        # One passwd-file per user: Dovecot reads it fresh at the user's first login.
        (self.base / "users" / name).write_text(f"{name}:{{PLAIN}}{PASSWORD}::::::nodelay=yes\n")
        maildir = self.base / "home" / name / "Maildir"
        maildir.parent.mkdir(parents=True, exist_ok=True)
        mailbox.Maildir(maildir, create=True)
        self._own(maildir.parent)
        return User(name, PASSWORD, maildir)

    def _own(self, top: Path) -> None:
        """Give ``top`` and everything below it to the mail user."""
        if os.getuid() != 0:
            return
        os.chown(top, self.mail_uid, self.mail_gid)
        for dirpath, dirnames, filenames in os.walk(top):
            for name in dirnames + filenames:
                os.chown(os.path.join(dirpath, name), self.mail_uid, self.mail_gid)

    def deliver(self, user: User, *messages: bytes | EmailMessage) -> None:
        """Put messages into the user's Maildir (``new/``), as a local delivery would."""
        new = user.maildir / "new"
        for message in messages:
            data = message if isinstance(message, bytes) else message.as_bytes()
            name = f"{time.time_ns()}.N{next(self._counter)}.newsdesk-test"
            tmp = user.maildir / "tmp" / name
            tmp.write_bytes(data)
            if os.getuid() == 0:
                os.chown(tmp, self.mail_uid, self.mail_gid)
            tmp.rename(new / name)

    def maildir(self, user: User, folder: str = "") -> mailbox.Maildir:
        box = mailbox.Maildir(user.maildir, create=False)
        return box.get_folder(folder) if folder else box

    def url(self, scheme: str, user: User, mailbox_name: str = "INBOX") -> str:
        """``scheme://user@127.0.0.1:port/INBOX`` for this server (``imap``, ``imaps``, …)."""
        port = {
            "imap": self.port_imap,
            "imaps": self.port_imaps,
            "pop3": self.port_pop3,
            "pop3s": self.port_pop3s,
        }[scheme]
        path = f"/{quote(mailbox_name)}" if scheme.startswith("imap") else ""
        return f"{scheme}://{quote(user.name, safe='')}@127.0.0.1:{port}{path}"
