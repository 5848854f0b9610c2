"""The subscription service: sign-up with double opt-in and one-click unsubscribe.

A small ASGI app (:func:`newsdesk.service.app.create_app`, Starlette) run by uvicorn
beside the static site, on the same SQLite database as the sender. The static site
carries the sign-up form (:func:`subscribe_form_html`, or the marker
:data:`SUBSCRIBE_MARKER` in a page expanded by :func:`expand_subscribe_form`), posting to
``email.service_url``.
"""

from __future__ import annotations

from newsdesk.settings import Settings
from newsdesk.signup import (
    SUBSCRIBE_MARKER,
    expand_subscribe_form,
    subscribe_form_html,
)

__all__ = [
    "SUBSCRIBE_MARKER",
    "expand_subscribe_form",
    "serve",
    "subscribe_form_html",
]


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8025,
    *,
    forwarded_allow_ips: str = "127.0.0.1",
) -> None:
    """Run the service with uvicorn until interrupted (``newsdesk serve``).

    Behind a reverse proxy on the same machine, uvicorn takes the client's address from
    ``X-Forwarded-For`` (only from ``forwarded_allow_ips``), so the rate limits see the
    real client. Connections are limited as :mod:`newsdesk.service.server` describes.
    The database is created (or migrated) here, once: the running service never creates
    it. Raises :class:`newsdesk.errors.NewsdeskError` for a configuration error.
    """
    import dataclasses
    import logging

    import uvicorn

    from newsdesk.mail.store import Store
    from newsdesk.service.app import create_app
    from newsdesk.service.limits import Limits
    from newsdesk.service.server import ensure_file_limit, server_config

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    log = logging.getLogger("newsdesk.service")
    database = settings.email.database
    existed = database.is_file()
    Store.open(database, display=settings.relative(database)).close()
    if not existed:
        log.warning("no database yet: created an empty one, %s", settings.relative(database))
    limits = Limits()
    fits = ensure_file_limit(limits.max_connections)
    if fits < limits.max_connections:
        log.warning(
            "the limit on open files allows %d connections, not %d", fits, limits.max_connections
        )
        limits = dataclasses.replace(limits, max_connections=fits)
    app = create_app(settings, limits=limits)
    config = server_config(app, limits, host, port, forwarded_allow_ips=forwarded_allow_ips)
    uvicorn.Server(config).run()
