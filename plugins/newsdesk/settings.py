"""Plain settings the core works with, free of MkDocs.

The MkDocs adapter validates ``mkdocs.yml`` (see :mod:`newsdesk.adapter.config`) and hands the
result to :func:`from_mapping`; tests and other front ends can build these directly.
Relative paths are resolved against the project root (the folder of ``mkdocs.yml``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsdesk import environment


@dataclass(frozen=True)
class GlossarySettings:
    file: Path
    link: str = "first"
    labels: tuple[str, ...] = ()
    """``glossary.labels``: more labels (``**Recap** – …``) that define no term."""

    @property
    def all_labels(self) -> frozenset[str]:
        """The default labels and this project's, as :func:`~newsdesk.glossary.is_label`
        compares them."""
        from newsdesk.glossary import LABELS, label_key

        return LABELS | {label_key(label) for label in self.labels}


@dataclass(frozen=True)
class PortsSettings:
    tables: str = "auto"
    extra: tuple[dict[str, Any], ...] = ()
    check: bool = True
    """``ports.check``: check the issues' port claims against the registry."""


@dataclass(frozen=True)
class PdfSettings:
    enabled: bool = True
    on_serve: bool = False
    paper: str = "A4"
    timeout: float = 120
    jobs: int = 0


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None = None
    port: int | None = None
    security: str = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    timeout: float = 30
    connections: int = 4
    rate: float = 0

    @property
    def effective_port(self) -> int:
        if self.port:
            return self.port
        return {"tls": 465, "starttls": 587}.get(self.security, 25)


@dataclass(frozen=True)
class InboxSettings:
    url: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    timeout: float = 30
    soft_limit: int = 3
    processed_folder: str | None = None
    authserv_id: str | None = None


@dataclass(frozen=True)
class DkimSettings:
    """``email.dkim``: sign with both keys when ``domain`` and ``selector`` are set."""

    domain: str | None = None
    selector: str | None = None
    rsa_key_file: Path | None = None
    ed25519_key_file: Path | None = None
    rsa_key: str | None = field(default=None, repr=False)
    """PEM text from ``NEWSDESK_DKIM_KEY``; wins over ``rsa_key_file``."""
    ed25519_key: str | None = field(default=None, repr=False)
    """PEM text from ``NEWSDESK_DKIM_ED25519_KEY``; wins over ``ed25519_key_file``."""

    @property
    def enabled(self) -> bool:
        return bool(self.domain and self.selector)


@dataclass(frozen=True)
class EmailSettings:
    from_: str = "Newsletter <newsletter@example.org>"
    reply_to: str | None = None
    list_id: str | None = None
    service_url: str | None = None
    unsubscribe_mailto: str | None = None
    postal_address: str = ""
    bounce_address: str | None = None
    database: Path = Path(".newsdesk/newsdesk.sqlite3")
    outbox: Path = Path(".newsdesk/outbox")
    live_check: bool = True
    send_on_build: bool = False
    welcome: str = "latest"
    """What a new subscriber gets on confirming: ``latest`` (the newest issue mailed to
    subscribers, with a welcome line), ``note`` (a welcome line and the archive) or ``off``."""
    smtp: SmtpSettings = SmtpSettings()
    inbox: InboxSettings = InboxSettings()
    dkim: DkimSettings = DkimSettings()


@dataclass(frozen=True)
class Settings:
    """Everything newsdesk needs to know about one project."""

    root: Path
    site_url: str
    site_name: str = "Newsletter"
    site_dir: Path = Path("site")
    newsletters_dir: Path = Path("newsletters")
    newsletter_name: str = "Newsletter"
    feed_limit: int = 20
    recent: int = 5
    use_directory_urls: bool = True
    language: str = "en"
    """The theme's language (``theme.language``): the words newsdesk writes follow it."""
    config_file: Path | None = None
    """The configuration file the project was loaded from (``mkdocs.yml``, or what ``-f``
    named): messages about an option name it (:attr:`config_name`)."""
    cache: bool = True
    """Remember each page's conversion in ``.newsdesk/page-cache`` (see
    :mod:`newsdesk.pagecache`)."""
    jobs: int = 0
    """Processes a build uses: for the pages the cache does not have (a cold build), and
    for making pages from the theme's template; 0 = one per core (at most 4), 1 = the
    build's own process only (:mod:`newsdesk.prefill`)."""
    glossary: GlossarySettings = GlossarySettings(Path("newsletters/glossary.yml"))
    ports: PortsSettings = PortsSettings()
    pdf: PdfSettings = PdfSettings()
    email: EmailSettings = EmailSettings()

    @property
    def state_dir(self) -> Path:
        """``.newsdesk/`` beside ``mkdocs.yml``: caches, renderings, database, secret."""
        return self.root / ".newsdesk"

    @property
    def template_overrides(self) -> Path:
        """``overrides/newsdesk/`` beside ``mkdocs.yml``: a project's own ``email.html`` or
        ``print.html`` there is used instead of newsdesk's."""
        return self.root / "overrides" / "newsdesk"

    @property
    def config_name(self) -> str:
        """The configuration file as the author knows it, for messages."""
        return self.relative(self.config_file) if self.config_file else "mkdocs.yml"

    def relative(self, path: Path) -> str:
        """``path`` as the author knows it: relative to the project root where possible."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()


def _path(root: Path, value: str | os.PathLike[str]) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else root / p


def from_mapping(plugin: Mapping[str, Any], *, root: Path, site: Mapping[str, Any]) -> Settings:
    """Build :class:`Settings` from the validated plugin options and MkDocs' site options.

    ``plugin`` holds every option (validation filled in the defaults, which are those of
    the dataclasses here); ``site`` holds ``site_url``, ``site_name``, ``site_dir``,
    ``use_directory_urls``, ``language`` (the theme's) and ``config_file`` (the file they
    were read from).
    """
    email = dict(plugin.get("email") or {})
    if "from" in email:
        email["from_"] = email.pop("from")
    smtp = dict(email.pop("smtp", None) or {})
    inbox = dict(email.pop("inbox", None) or {})
    dkim = _dkim(dict(email.pop("dkim", None) or {}), root)
    database = environment.get("NEWSDESK_DB") or email.pop("database")
    email.pop("database", None)
    outbox = email.pop("outbox")
    glossary = dict(plugin.get("glossary") or {})
    ports = dict(plugin.get("ports") or {})
    site_url = (site.get("site_url") or "").rstrip("/") + "/"
    return Settings(
        root=root,
        site_url=site_url,
        config_file=Path(site["config_file"]) if site.get("config_file") else None,
        site_name=site.get("site_name") or Settings.site_name,
        site_dir=_path(root, site.get("site_dir") or Settings.site_dir),
        newsletters_dir=_path(root, plugin["newsletters_dir"]),
        newsletter_name=plugin["newsletter_name"],
        feed_limit=plugin["feed_limit"],
        recent=plugin["recent"],
        use_directory_urls=site.get("use_directory_urls", Settings.use_directory_urls),
        language=site.get("language") or Settings.language,
        cache=plugin["cache"],
        jobs=plugin["jobs"],
        glossary=GlossarySettings(
            file=_path(root, glossary["file"]),
            link=glossary["link"],
            labels=tuple(str(label) for label in glossary.get("labels") or ()),
        ),
        ports=PortsSettings(
            tables=ports["tables"],
            extra=tuple(ports.get("extra") or ()),
            check=ports["check"] != "off",
        ),
        pdf=PdfSettings(**dict(plugin.get("pdf") or {})),
        email=EmailSettings(
            **email,
            database=_path(root, database),
            outbox=_path(root, outbox),
            smtp=SmtpSettings(**smtp),
            inbox=InboxSettings(**inbox),
            dkim=dkim,
        ),
    )


def _dkim(options: dict[str, Any], root: Path) -> DkimSettings:
    """``email.dkim`` with the key files resolved; by default
    ``.newsdesk/dkim/SELECTOR.rsa.key`` and ``.newsdesk/dkim/SELECTOR.ed25519.key``."""
    selector = options.get("selector")
    files = {}
    for kind in ("rsa", "ed25519"):
        given = options.get(f"{kind}_key_file")
        if given:
            files[kind] = _path(root, given)
        elif selector:
            files[kind] = root / ".newsdesk" / "dkim" / f"{selector}.{kind}.key"
        else:
            files[kind] = None
    return DkimSettings(
        domain=options.get("domain"),
        selector=selector,
        rsa_key_file=files["rsa"],
        ed25519_key_file=files["ed25519"],
        rsa_key=options.get("rsa_key"),
        ed25519_key=options.get("ed25519_key"),
    )
