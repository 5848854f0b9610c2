"""Browser-facing safety: response headers, and which origins may post the sign-up form.

The service sets no cookies and keeps no sessions, so a forged cross-site request has no
session to ride on. What remains is someone else's page posting sign-ups for addresses
of their choosing; the Origin check refuses those from browsers (which always send
``Origin`` with a form POST), and the rate limits bound the rest.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(style_hash: str) -> str:
    """No scripts, no frames, nothing from elsewhere; forms post only to this service."""
    return (
        "default-src 'none'; "
        f"style-src '{style_hash}'; "
        "form-action 'self'; "
        "frame-ancestors 'none'; "
        "base-uri 'none'"
    )


class SecurityHeaders:
    """An ASGI middleware adding security headers to every response.

    Pages behind token links must not leak the token (``Referrer-Policy: no-referrer``)
    nor be stored by shared caches (``Cache-Control: no-store``).
    """

    def __init__(self, app: ASGIApp, *, csp: str):
        self.app = app
        self.headers = {
            "Content-Security-Policy": csp,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Cross-Origin-Opener-Policy": "same-origin",
            "Cross-Origin-Resource-Policy": "same-origin",
            "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
            "Cache-Control": "no-store",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]`` of ``url`` as browsers send it in ``Origin``, or None."""
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return None
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{host}{port}"


def allowed_origin(origin: str | None, allowed: frozenset[str]) -> bool:
    """Whether a request with this ``Origin`` header may post the sign-up form.

    No header: not a browser (or a very old one), allowed, the rate limits apply.
    ``null`` (sandboxed frames, ``file:`` pages, some redirects) is refused.
    """
    if origin is None:
        return True
    return origin.strip().lower() in allowed


def allowed_post(origin: str | None, referer: str | None, allowed: frozenset[str]) -> bool:
    """Whether a browser's POST comes from the newsletter's own pages, by ``Origin`` and,
    when a browser sends no ``Origin``, by the origin of its ``Referer``.

    The rules of :func:`allowed_origin` (no ``null``); a request with neither header is not
    from a browser page and is allowed (what it needs, a token, it must carry anyway).
    """
    if origin is not None:
        return allowed_origin(origin, allowed)
    if referer is not None:
        return (origin_of(referer.strip()) or "").lower() in allowed
    return True
