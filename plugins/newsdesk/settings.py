"""Plain settings the core works with, free of MkDocs.

The MkDocs adapter validates ``mkdocs.yml`` (see :mod:`newsdesk.config`) and hands the
result to :func:`from_mapping`; tests and other front ends can build these directly.
Relative paths are resolved against the project root (the folder of ``mkdocs.yml``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GlossarySettings:
    file: Path
    link: str = "first"


@dataclass(frozen=True)
class PortsSettings:
    tables: str = "auto"
    extra: tuple[dict[str, Any], ...] = ()


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
    smtp: SmtpSettings = SmtpSettings()
    inbox: InboxSettings = InboxSettings()


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
    cache: bool = True
    """Remember each page's conversion in ``.newsdesk/page-cache`` (see
    :mod:`newsdesk.pagecache`)."""
    glossary: GlossarySettings = GlossarySettings(Path("newsletters/glossary.yml"))
    ports: PortsSettings = PortsSettings()
    pdf: PdfSettings = PdfSettings()
    email: EmailSettings = EmailSettings()

    @property
    def state_dir(self) -> Path:
        """``.newsdesk/`` beside ``mkdocs.yml``: caches, renderings, database, secret."""
        return self.root / ".newsdesk"

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

    ``site`` holds ``site_url``, ``site_name``, ``site_dir`` and ``use_directory_urls``.
    """
    email = dict(plugin.get("email") or {})
    if "from" in email:
        email["from_"] = email.pop("from")
    smtp = dict(email.pop("smtp", None) or {})
    inbox = dict(email.pop("inbox", None) or {})
    database = os.environ.get("NEWSDESK_DB") or email.pop("database", ".newsdesk/newsdesk.sqlite3")
    email.pop("database", None)
    outbox = email.pop("outbox", ".newsdesk/outbox")
    glossary = dict(plugin.get("glossary") or {})
    ports = dict(plugin.get("ports") or {})
    site_url = (site.get("site_url") or "").rstrip("/") + "/"
    return Settings(
        root=root,
        site_url=site_url,
        site_name=site.get("site_name") or "Newsletter",
        site_dir=_path(root, site.get("site_dir") or "site"),
        newsletters_dir=_path(root, plugin.get("newsletters_dir", "newsletters")),
        newsletter_name=plugin.get("newsletter_name", "Newsletter"),
        feed_limit=plugin.get("feed_limit", 20),
        recent=plugin.get("recent", 5),
        use_directory_urls=site.get("use_directory_urls", True),
        cache=plugin.get("cache", True),
        glossary=GlossarySettings(
            file=_path(root, glossary.get("file", "newsletters/glossary.yml")),
            link=glossary.get("link", "first"),
        ),
        ports=PortsSettings(
            tables=ports.get("tables", "auto"), extra=tuple(ports.get("extra") or ())
        ),
        pdf=PdfSettings(**dict(plugin.get("pdf") or {})),
        email=EmailSettings(
            **email,
            database=_path(root, database),
            outbox=_path(root, outbox),
            smtp=SmtpSettings(**smtp),
            inbox=InboxSettings(**inbox),
        ),
    )
