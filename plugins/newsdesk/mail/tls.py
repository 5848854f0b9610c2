"""TLS for the mail connections: one verifying client context and one way to say why a
certificate was refused, shared by the SMTP sender and the inbox reader."""

from __future__ import annotations

import ssl

from newsdesk.errors import NewsdeskError


def client_context(ca_file: str | None, setting: str) -> ssl.SSLContext:
    """A client context that always verifies: ``ca_file``, else ``SSL_CERT_FILE`` or the
    system store.

    ``setting`` names the option that gave ``ca_file`` (``email.smtp.ca_file``), for the
    :class:`NewsdeskError` raised when the file cannot be read or holds no certificate.
    """
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        why = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
        # Named by its option, like every other SMTP and inbox setting's error: the option
        # may come from the environment rather than from the configuration file.
        raise NewsdeskError(
            f"{setting}: cannot load the certificate file {ca_file}: {why}"
        ) from None


def certificate_refused(where: str, exc: ssl.SSLError, setting: str) -> str:
    """The message for a server certificate that failed verification at ``where``."""
    why = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
    return (
        f"{where}: the server's certificate could not be verified ({why}); set {setting} "
        "or SSL_CERT_FILE to the CA that issued it"
    )
