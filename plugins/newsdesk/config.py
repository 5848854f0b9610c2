"""The plugin's options in ``mkdocs.yml``, validated with MkDocs' config classes.

This is part of the MkDocs adapter: :func:`newsdesk.settings.from_mapping` turns the
validated values into the plain settings the core uses.
"""

from __future__ import annotations

from mkdocs.config import config_options as c
from mkdocs.config.base import Config


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
    enabled = c.Type(bool, default=True)
    on_serve = c.Type(bool, default=False)
    paper = c.Choice(("A4", "Letter"), default="A4")
    timeout = c.Type((int, float), default=120)
    jobs = c.Type(int, default=0)


class SmtpConfig(Config):
    host = c.Optional(c.Type(str))
    port = c.Optional(c.Type(int))
    security = c.Choice(("starttls", "tls", "none"), default="starttls")
    username = c.Optional(c.Type(str))
    password = c.Optional(c.Type(str))
    ca_file = c.Optional(c.Type(str))
    timeout = c.Type((int, float), default=30)
    connections = c.Type(int, default=4)
    rate = c.Type((int, float), default=0)


class InboxConfig(Config):
    url = c.Optional(c.Type(str))
    password = c.Optional(c.Type(str))
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
    live_check = c.Type(bool, default=True)
    send_on_build = c.Type(bool, default=False)
    smtp = c.SubConfig(SmtpConfig)
    inbox = c.SubConfig(InboxConfig)


class NewsdeskConfig(Config):
    newsletters_dir = c.Type(str, default="newsletters")
    newsletter_name = c.Type(str, default="Newsletter")
    feed_limit = c.Type(int, default=20)
    recent = c.Type(int, default=5)
    glossary = c.SubConfig(GlossaryConfig)
    ports = c.SubConfig(PortsConfig)
    pdf = c.SubConfig(PdfConfig)
    email = c.SubConfig(EmailConfig)
