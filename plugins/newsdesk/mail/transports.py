"""How a message leaves: one SMTP connection (STARTTLS, implicit TLS or none, with AUTH)
or the Maildir outbox, and how a refusal is classified (transient, permanent, fatal)."""

from __future__ import annotations

import contextlib
import functools
import mailbox
import smtplib
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from newsdesk.errors import NewsdeskError
from newsdesk.mail.addresses import is_loopback
from newsdesk.mail.tls import certificate_refused, client_context
from newsdesk.settings import Settings, SmtpSettings

CA_SETTING = "email.smtp.ca_file"
BOUNCE_CODES = (550, 551, 553)


class Transport(Protocol):
    """One connection (or outbox writer) used by one worker thread."""

    def send(self, envelope_from: str, recipient: str, data: bytes) -> None: ...

    def close(self) -> None: ...


class DeliveryError(Exception):
    """A delivery attempt failed.

    ``kind`` is ``transient`` (retry later; ``reconnect`` when the connection is gone),
    ``permanent`` (never retry; ``bounce`` when the address does not exist) or ``fatal``
    (the configuration is wrong: stop the whole run).
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        reconnect: bool = False,
        bounce: bool = False,
        connect: bool = False,
    ):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.reconnect = reconnect
        self.bounce = bounce
        self.connect = connect


class OutboxTransport:
    """Writes each message into a Maildir (``email.outbox``): the default without SMTP."""

    def __init__(self, path: Path):
        self.box = mailbox.Maildir(path, create=True)

    def send(self, envelope_from: str, recipient: str, data: bytes) -> None:
        self.box.add(data.replace(b"\r\n", b"\n"))

    def close(self) -> None:
        pass


def check_smtp(smtp: SmtpSettings) -> None:
    """Refuse settings that would leak the password or cannot work."""
    if not smtp.host:
        return
    if smtp.security not in ("starttls", "tls", "none"):
        raise NewsdeskError(f"email.smtp.security: unknown value {smtp.security!r}")
    if smtp.username and smtp.security == "none" and not is_loopback(smtp.host):
        raise NewsdeskError(
            "email.smtp: refusing to log in over an unencrypted connection to "
            f"{smtp.host}; use security 'starttls' or 'tls' (plain AUTH is allowed only "
            "to a loopback host)"
        )
    if smtp.username and not smtp.password:
        raise NewsdeskError(
            "email.smtp: a username is set but no password (NEWSDESK_SMTP_PASSWORD)"
        )
    if smtp.ca_file and not Path(smtp.ca_file).is_file():
        raise NewsdeskError(f"email.smtp.ca_file: no such file: {smtp.ca_file}")


class SmtpTransport:
    """One reusable SMTP connection with STARTTLS, implicit TLS or none, and AUTH."""

    def __init__(self, smtp: SmtpSettings, context: ssl.SSLContext | None = None):
        self.smtp = smtp
        self.context = context or client_context(smtp.ca_file, CA_SETTING)
        self.conn: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.smtp.host}:{self.smtp.effective_port}"

    def _open(self) -> smtplib.SMTP:
        s = self.smtp
        host, port = s.host or "", s.effective_port
        conn: smtplib.SMTP | None = None
        try:
            if s.security == "tls":
                conn = smtplib.SMTP_SSL(
                    host, port, timeout=s.timeout, context=self.context, local_hostname=_helo()
                )
            else:
                conn = smtplib.SMTP(host, port, timeout=s.timeout, local_hostname=_helo())
            conn.ehlo()
            if s.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise DeliveryError(
                        "fatal", f"{self.where} does not offer STARTTLS (email.smtp.security)"
                    )
                conn.starttls(context=self.context)
                conn.ehlo()
            if s.username:
                conn.login(s.username, s.password or "")
        except ssl.SSLCertVerificationError as exc:
            _quietly_close(conn)
            raise DeliveryError("fatal", certificate_refused(self.where, exc, CA_SETTING)) from None
        except ssl.SSLError as exc:
            _quietly_close(conn)
            raise DeliveryError("fatal", f"{self.where}: TLS failed: {exc}") from None
        except smtplib.SMTPAuthenticationError as exc:
            _quietly_close(conn)
            raise DeliveryError(
                "fatal",
                f"{self.where}: authentication failed for {s.username!r}: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}",
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            _quietly_close(conn)
            raise DeliveryError("fatal", f"{self.where}: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            _quietly_close(conn)
            kind = "transient" if 400 <= exc.smtp_code < 500 else "fatal"
            raise DeliveryError(
                kind,
                f"{self.where} refused the connection: {exc.smtp_code} {_text(exc.smtp_error)}",
                reconnect=True,
                connect=True,
            ) from None
        except DeliveryError:
            _quietly_close(conn)
            raise
        except (OSError, smtplib.SMTPException) as exc:
            _quietly_close(conn)
            raise DeliveryError(
                "transient", f"cannot connect to {self.where}: {exc}", reconnect=True, connect=True
            ) from None
        return conn

    def send(self, envelope_from: str, recipient: str, data: bytes) -> None:
        if self.conn is None:
            self.conn = self._open()
        try:
            self.conn.sendmail(envelope_from, [recipient], data)
        except smtplib.SMTPSenderRefused as exc:
            # The same for every subscriber: a configuration problem, not theirs.
            if exc.smtp_code >= 500:
                raise DeliveryError(
                    "fatal",
                    f"{self.where} refused the sender {exc.sender}: {exc.smtp_code} "
                    f"{_text(exc.smtp_error)} (check email.from and email.bounce_address)",
                ) from None
            raise _classify(exc.smtp_code, exc.smtp_error, stage="MAIL") from None
        except smtplib.SMTPRecipientsRefused as exc:
            code, msg = exc.recipients.get(recipient, (550, b"refused"))
            raise _classify(code, msg, stage="RCPT") from None
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421 or exc.smtp_code == -1:
                self.close()
            raise _classify(exc.smtp_code, exc.smtp_error, stage="DATA") from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()
            raise DeliveryError(
                "transient", f"connection to {self.where} lost: {exc}", reconnect=True
            ) from None

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                _quietly_close(conn)


@functools.cache
def _helo() -> str:
    """The name this machine gives in EHLO. smtplib looks it up (``socket.getfqdn``, a DNS
    query on many hosts) for every connection; once per process is enough."""
    return socket.getfqdn()


def _quietly_close(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()


def _text(msg: bytes | str) -> str:
    return msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)


def _classify(code: int, msg: bytes | str, *, stage: str) -> DeliveryError:
    text = f"{code} {_text(msg)}".strip()
    if 400 <= code < 500:
        return DeliveryError("transient", text, reconnect=code == 421)
    if code >= 500:
        return DeliveryError("permanent", text, bounce=stage == "RCPT" and code in BOUNCE_CODES)
    return DeliveryError("transient", text or "unexpected reply", reconnect=True)


def transport_factory(settings: Settings) -> tuple[Callable[[], Transport], int]:
    """A factory of transports for the settings, and how many to run in parallel."""
    smtp = settings.email.smtp
    if not smtp.host:
        outbox = settings.email.outbox
        return (lambda: OutboxTransport(outbox)), 1
    check_smtp(smtp)
    context = client_context(smtp.ca_file, CA_SETTING)
    return (lambda: SmtpTransport(smtp, context)), max(1, smtp.connections)
