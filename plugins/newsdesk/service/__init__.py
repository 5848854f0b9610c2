"""The subscription service: sign-up with double opt-in and one-click unsubscribe.

A small ASGI app (:func:`newsdesk.service.app.create_app`, Starlette) run by uvicorn
beside the static site, on the same SQLite database as the sender. The static site
carries the sign-up form (:func:`subscribe_form_html`, or the marker
:data:`SUBSCRIBE_MARKER` in a page expanded by :func:`expand_subscribe_form`), posting to
``email.service_url``.
"""

from __future__ import annotations

from newsdesk.service.pages import (
    SUBSCRIBE_MARKER,
    expand_subscribe_form,
    subscribe_form_html,
)
from newsdesk.settings import Settings

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
    real client. The access log is off: its lines would carry the tokens of the links.
    Raises :class:`newsdesk.errors.NewsdeskError` for a configuration error.
    """
    import logging

    import uvicorn

    from newsdesk.service.app import create_app

    app = create_app(settings)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        access_log=False,
        server_header=False,
        log_level="info",
        timeout_keep_alive=5,
        limit_concurrency=200,
    )
