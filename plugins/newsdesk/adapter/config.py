"""The plugin's options in ``mkdocs.yml``, validated with MkDocs' config classes.

This is part of the MkDocs adapter: :func:`newsdesk.settings.from_mapping` turns the
validated values into the plain settings the core uses. Every default is the one declared
on those settings (:mod:`newsdesk.settings`): one place, whichever front end reads them.
"""

from __future__ import annotations

import yaml
from mkdocs.config import config_options as c
from mkdocs.config.base import Config, ValidationError

from newsdesk import environment
from newsdesk.settings import (
    EmailSettings,
    GlossarySettings,
    InboxSettings,
    PdfSettings,
    PortsSettings,
    Settings,
    SmtpSettings,
)

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
    ``env`` (the variable the shipped mkdocs.yml names) is set and the value is what its
    text reads as in YAML (or there is no value), its raw text is used instead. A value
    from elsewhere – mkdocs.yml naming another variable, say – is not overruled by ``env``.
    """

    def __init__(self, env: str) -> None:
        super().__init__()
        self.env = env
        self.default = None

    def run_validation(self, value: object) -> str | None:
        raw = environment.get(self.env)
        if raw is not None and (value is None or _same(value, _yaml_typed(raw))):
            return raw
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ValidationError(
            f"YAML read this value as {value!r}; put it in quotes, or take it from "
            f"!ENV [{self.env}], whose text is used as it is"
        )


def _yaml_typed(text: str) -> object:
    """``text`` as YAML's implicit typing reads a plain scalar (what ``!ENV`` returns)."""
    loader = yaml.SafeLoader("")
    try:
        tag = loader.resolve(yaml.ScalarNode, text, (True, False))
        return loader.construct_object(yaml.ScalarNode(tag, text))
    except yaml.YAMLError:
        return text
    finally:
        loader.dispose()


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and (a == b or (a != a and b != b))  # NaN is itself here


class GlossaryConfig(Config):
    file = c.Type(str, default=str(Settings.glossary.file))
    link = c.Choice(("first", "all"), default=GlossarySettings.link)
    labels = c.ListOfItems(c.Type(str), default=[])
    """More bold openings that label a paragraph rather than define a term."""


class _Switch(c.Choice):
    """A choice that also takes YAML's ``off``/``no`` (read as false) for ``"off"``, and
    ``on``/``yes`` (true) for ``"on"`` where that is a choice."""

    def run_validation(self, value: object) -> str:
        if value is True and "on" in self.choices:
            value = "on"
        return super().run_validation("off" if value is False else value)


class PortsConfig(Config):
    tables = _Switch(("auto", "marker", "off"), default=PortsSettings.tables)
    check = _Switch(("on", "off"), default="on")
    extra = c.ListOfItems(c.Type(dict), default=[])


class PdfConfig(Config):
    enabled = Flag(default=PdfSettings.enabled)
    on_serve = Flag(default=PdfSettings.on_serve)
    paper = c.Choice(("A4", "Letter"), default=PdfSettings.paper)
    timeout = c.Type((int, float), default=PdfSettings.timeout)
    jobs = c.Type(int, default=PdfSettings.jobs)


class SmtpConfig(Config):
    host = c.Optional(c.Type(str))
    port = c.Optional(c.Type(int))
    security = c.Choice(("starttls", "tls", "none"), default=SmtpSettings.security)
    username = Secret(env="NEWSDESK_SMTP_USERNAME")
    password = Secret(env="NEWSDESK_SMTP_PASSWORD")
    ca_file = c.Optional(c.Type(str))
    timeout = c.Type((int, float), default=SmtpSettings.timeout)
    connections = c.Type(int, default=SmtpSettings.connections)
    rate = c.Type((int, float), default=SmtpSettings.rate)


class InboxConfig(Config):
    url = c.Optional(c.Type(str))
    password = Secret(env="NEWSDESK_INBOX_PASSWORD")
    ca_file = c.Optional(c.Type(str))
    timeout = c.Type((int, float), default=InboxSettings.timeout)
    soft_limit = c.Type(int, default=InboxSettings.soft_limit)
    processed_folder = c.Optional(c.Type(str))
    authserv_id = c.Optional(c.Type(str))


class DkimConfig(Config):
    domain = c.Optional(c.Type(str))
    selector = c.Optional(c.Type(str))
    # Default: .newsdesk/dkim/SELECTOR.rsa.key and .newsdesk/dkim/SELECTOR.ed25519.key.
    rsa_key_file = c.Optional(c.Type(str))
    ed25519_key_file = c.Optional(c.Type(str))
    rsa_key = Secret(env="NEWSDESK_DKIM_KEY")
    ed25519_key = Secret(env="NEWSDESK_DKIM_ED25519_KEY")


class EmailConfig(Config):
    # The trailing underscore is stripped by MkDocs: the option is `from` in mkdocs.yml.
    from_ = c.Type(str, default=EmailSettings.from_)
    reply_to = c.Optional(c.Type(str))
    list_id = c.Optional(c.Type(str))
    service_url = c.Optional(c.Type(str))
    unsubscribe_mailto = c.Optional(c.Type(str))
    postal_address = c.Type(str, default=EmailSettings.postal_address)
    bounce_address = c.Optional(c.Type(str))
    database = c.Type(str, default=str(EmailSettings.database))
    outbox = c.Type(str, default=str(EmailSettings.outbox))
    live_check = Flag(default=EmailSettings.live_check)
    send_on_build = Flag(default=EmailSettings.send_on_build)
    welcome = _Switch(("latest", "note", "off"), default=EmailSettings.welcome)
    smtp = c.SubConfig(SmtpConfig)
    inbox = c.SubConfig(InboxConfig)
    dkim = c.SubConfig(DkimConfig)


class NewsdeskConfig(Config):
    newsletters_dir = c.Type(str, default=str(Settings.newsletters_dir))
    newsletter_name = c.Type(str, default=Settings.newsletter_name)
    feed_limit = c.Type(int, default=Settings.feed_limit)
    recent = c.Type(int, default=Settings.recent)
    cache = Flag(default=Settings.cache)
    jobs = c.Type(int, default=Settings.jobs)
    glossary = c.SubConfig(GlossaryConfig)
    ports = c.SubConfig(PortsConfig)
    pdf = c.SubConfig(PdfConfig)
    email = c.SubConfig(EmailConfig)
