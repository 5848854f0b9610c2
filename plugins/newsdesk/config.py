"""The plugin's options in ``mkdocs.yml``, validated with MkDocs' config classes.

This is part of the MkDocs adapter: :func:`newsdesk.settings.from_mapping` turns the
validated values into the plain settings the core uses.
"""

from __future__ import annotations

import os

from mkdocs.config import config_options as c
from mkdocs.config.base import Config, ValidationError

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


class Flag(c.BaseConfigOption[bool]):
    """A yes/no option that takes what people write, also through ``!ENV``: ``true``/``false``,
    ``yes``/``no``, ``on``/``off``, ``1``/``0`` (any case)."""

    def __init__(self, default: bool) -> None:
        super().__init__()
        self.default = default

    def run_validation(self, value: object) -> bool:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower() if isinstance(value, int | str) else None
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValidationError(f"expected yes or no (true/false, on/off, 1/0), not {value!r}")


class Secret(c.BaseConfigOption[str | None]):
    """A password: always the exact text, whatever it looks like.

    ``!ENV`` hands MkDocs the variable's value after YAML's implicit typing, so a password
    ``12345678`` would arrive as a number, ``on`` as true and ``null`` as nothing. When
    ``env`` (the variable the shipped mkdocs.yml names) is set, its raw text is used instead.
    """

    def __init__(self, env: str) -> None:
        super().__init__()
        self.env = env
        self.default = None

    def run_validation(self, value: object) -> str | None:
        raw = os.environ.get(self.env)
        if raw is not None:
            return raw
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ValidationError(
            f"YAML read this value as {value!r}; put it in quotes, or set {self.env}"
        )


class GlossaryConfig(Config):
    file = c.Type(str, default="newsletters/glossary.yml")
    link = c.Choice(("first", "all"), default="first")


class _Switch(c.Choice):
    """A choice that also takes YAML's ``off``/``no`` (read as false) for ``"off"``."""

    def run_validation(self, value: object) -> str:
        return super().run_validation("off" if value is False else value)


class PortsConfig(Config):
    tables = _Switch(("auto", "marker", "off"), default="auto")
    extra = c.ListOfItems(c.Type(dict), default=[])


class PdfConfig(Config):
    enabled = Flag(default=True)
    on_serve = Flag(default=False)
    paper = c.Choice(("A4", "Letter"), default="A4")
    timeout = c.Type((int, float), default=120)
    jobs = c.Type(int, default=0)


class SmtpConfig(Config):
    host = c.Optional(c.Type(str))
    port = c.Optional(c.Type(int))
    security = c.Choice(("starttls", "tls", "none"), default="starttls")
    username = Secret(env="NEWSDESK_SMTP_USERNAME")
    password = Secret(env="NEWSDESK_SMTP_PASSWORD")
    ca_file = c.Optional(c.Type(str))
    timeout = c.Type((int, float), default=30)
    connections = c.Type(int, default=4)
    rate = c.Type((int, float), default=0)


class InboxConfig(Config):
    url = c.Optional(c.Type(str))
    password = Secret(env="NEWSDESK_INBOX_PASSWORD")
    ca_file = c.Optional(c.Type(str))
    timeout = c.Type((int, float), default=30)
    soft_limit = c.Type(int, default=3)
    processed_folder = c.Optional(c.Type(str))
    authserv_id = c.Optional(c.Type(str))


class EmailConfig(Config):
    # The trailing underscore is stripped by MkDocs: the option is `from` in mkdocs.yml.
    from_ = c.Type(str, default="Newsletter <newsletter@example.org>")
    reply_to = c.Optional(c.Type(str))
    list_id = c.Optional(c.Type(str))
    service_url = c.Optional(c.Type(str))
    unsubscribe_mailto = c.Optional(c.Type(str))
    postal_address = c.Type(str, default="")
    bounce_address = c.Optional(c.Type(str))
    database = c.Type(str, default=".newsdesk/newsdesk.sqlite3")
    outbox = c.Type(str, default=".newsdesk/outbox")
    live_check = Flag(default=True)
    send_on_build = Flag(default=False)
    smtp = c.SubConfig(SmtpConfig)
    inbox = c.SubConfig(InboxConfig)


class NewsdeskConfig(Config):
    newsletters_dir = c.Type(str, default="newsletters")
    newsletter_name = c.Type(str, default="Newsletter")
    feed_limit = c.Type(int, default=20)
    recent = c.Type(int, default=5)
    cache = Flag(default=True)
    glossary = c.SubConfig(GlossaryConfig)
    ports = c.SubConfig(PortsConfig)
    pdf = c.SubConfig(PdfConfig)
    email = c.SubConfig(EmailConfig)
