"""The subscription service: a Starlette app on the subscriber database.

Routes (relative to ``email.service_url``; a reverse proxy may serve them under a path):

- ``GET /subscribe``: the sign-up form (the static site carries the same form);
- ``POST /subscribe``: fields ``email``, ``name`` and the honeypot; answers "check your
  inbox" whatever the address's status, and mails a confirmation link when one is due;
- ``GET /confirm/{token}``: a page with one button; a GET never changes anything (link
  scanners follow links);
- ``POST /confirm/{token}``: the button (``action=confirm``) makes the subscriber active,
  records the consent, and sends the welcome (``email.welcome``) after the answer;
- ``GET /unsubscribe/{token}``: a page with one button; a GET never changes anything;
- ``POST /unsubscribe/{token}``: unsubscribes, idempotent. The body
  ``List-Unsubscribe=One-Click`` (RFC 8058, what mail providers send) records the source
  ``one-click``; the page's button sends ``action=unsubscribe`` and records ``web``;
- ``GET /healthz``: ``ok`` when the database is there and passes ``PRAGMA quick_check``.

Each request opens the database briefly in a worker thread: SQLite in WAL mode lets the
sender and this service share it. The service never creates the database (``newsdesk
serve`` does, before it starts): when the file is gone (a restore, a missing mount),
requests that need it get a 503 "temporarily unavailable" page and nothing changes,
rather than an empty database taking its place.
"""

from __future__ import annotations

import ipaddress
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ExceptionHandler

from newsdesk.errors import NewsdeskError
from newsdesk.mail.addresses import InvalidAddress, clean_name, normalise_email
from newsdesk.mail.store import Store, Subscriber
from newsdesk.mail.tokens import load_secret
from newsdesk.mail.transports import DeliveryError
from newsdesk.service import confirmation, subscriptions, welcome
from newsdesk.service.limits import (
    BodySizeLimit,
    Limits,
    RateLimiter,
    mailbox_key,
    retry_after,
)
from newsdesk.service.pages import (
    CONSENT_FIELD,
    EMAIL_FIELD,
    HONEYPOT_FIELD,
    MAX_EMAIL,
    NAME_FIELD,
    PAGE_FIELD,
    STYLE_HASH,
    Pages,
    consent_hash,
    printable,
)
from newsdesk.service.security import (
    SecurityHeaders,
    allowed_origin,
    allowed_post,
    content_security_policy,
    origin_of,
)
from newsdesk.settings import Settings

log = logging.getLogger("newsdesk.service")
T = TypeVar("T")

ONE_CLICK = ("List-Unsubscribe", "One-Click")
MAX_FIELDS = 10
CONSENT_LIMITS = {"client": 64, "user_agent": 300, "page": 300, "text_version": 16}
"""The longest value kept of each consent field that a client sends."""


class DatabaseUnavailable(Exception):
    """The database is missing or cannot be used; the request changed nothing."""


class FormError(Exception):
    """A request body that is not an acceptable form; ``status`` and the reason."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Service:
    """What the handlers share: settings, secret, limits and the pages."""

    settings: Settings
    secret: bytes
    limits: Limits
    pages: Pages
    service_url: str
    origins: frozenset[str]
    per_client: RateLimiter = field(init=False)
    per_email: RateLimiter = field(init=False)
    confirmations: RateLimiter = field(init=False)

    _logged_unavailable: float = field(init=False, default=float("-inf"))

    def __post_init__(self) -> None:
        self.per_client = RateLimiter(*self.limits.per_client)
        self.per_email = RateLimiter(*self.limits.per_email)
        self.confirmations = RateLimiter(*self.limits.confirmations)

    def log_unavailable(self, why: object) -> None:
        """Log why the database is unavailable, at most once a minute (not once a request)."""
        now = time.monotonic()
        if now - self._logged_unavailable >= 60:
            self._logged_unavailable = now
            log.error("database unavailable, answering 503: %s", why)

    @property
    def database(self) -> Path:
        return self.settings.email.database

    def run(self, fn: Callable[..., T], *args: object) -> Awaitable[T]:
        """Run ``fn(store, *args)`` with the database open, in a worker thread.

        Raises :class:`DatabaseUnavailable` when the database is missing (it is never
        created here) or SQLite cannot use it.
        """

        def call() -> T:
            with open_existing(self.database) as store:
                try:
                    return fn(store, *args)
                except sqlite3.DatabaseError as exc:
                    if isinstance(exc, sqlite3.IntegrityError):
                        raise  # a bug, not an outage
                    raise DatabaseUnavailable(f"the database failed: {exc}") from None

        return run_in_threadpool(call)


def open_existing(database: Path) -> Store:
    """The service's way to open the database: never creating it. Raises
    :class:`DatabaseUnavailable`."""
    try:
        return Store.open(database, must_exist=True)
    except NewsdeskError as exc:
        raise DatabaseUnavailable(str(exc)) from None


class HealthCheck:
    """``PRAGMA quick_check`` reads the whole file (about 0.3 s for 100,000 subscribers),
    so its verdict is kept for up to ``max_age`` seconds while the file stays the same
    (device, inode, size, modification time), and one check runs at a time."""

    def __init__(self, database: Path, max_age: float = 60.0):
        self.database = database
        self.max_age = max_age
        self._verdict: tuple[object, float, list[str]] | None = None
        self._lock = threading.Lock()

    def problems(self, store: Store) -> list[str]:
        """What is wrong with the open database; empty when it is sound."""
        with self._lock:
            st = self.database.stat()
            key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            now = time.monotonic()
            verdict = self._verdict
            if verdict and verdict[0] == key and now - verdict[1] < self.max_age:
                _reachable(store)
                return verdict[2]
            problems = store.check()
            self._verdict = (key, now, problems)
            return problems


def create_app(
    settings: Settings, *, limits: Limits | None = None, secret: bytes | None = None
) -> Starlette:
    """The subscription service for a project.

    ``secret`` defaults to the list's secret (``NEWSDESK_SECRET`` or ``.newsdesk/secret``),
    the one the sender signs unsubscribe links with. Raises :class:`NewsdeskError` when
    ``email.service_url`` is not configured, or the database does not exist (the app
    never creates it) or cannot be opened.
    """
    service = _service(settings, limits or Limits(), secret)
    app = Starlette(
        routes=_routes(service),
        middleware=_middleware(service),
        exception_handlers=_exception_handlers(service),
    )
    # Starlette would answer `/subscribe/` with a redirect built from the Host header,
    # without the proxy's path prefix: a redirect anywhere a forged Host says. No redirect.
    app.router.redirect_slashes = False
    return app


def _service(settings: Settings, limits: Limits, secret: bytes | None) -> Service:
    """What the handlers share; raises :class:`NewsdeskError` as :func:`create_app` says."""
    service_url = settings.email.service_url
    if not service_url:
        raise NewsdeskError(
            "email.service_url is not set: the service needs its public address "
            "(the List-Unsubscribe links and the confirmation links point there)",
            "mkdocs.yml",
        )
    # Fail at start-up, not on the first request, when the database cannot be opened. The
    # service never creates it: `newsdesk serve` (or any subscribers command) does.
    database = settings.email.database
    Store.open(database, display=settings.relative(database), must_exist=True).close()
    origins = frozenset(o for o in (origin_of(settings.site_url), origin_of(service_url)) if o)
    return Service(
        settings=settings,
        secret=secret if secret is not None else load_secret(settings.state_dir),
        limits=limits,
        pages=Pages(settings.newsletter_name, settings.site_url),
        service_url=service_url.rstrip("/"),
        origins=origins,
    )


def _routes(service: Service) -> list[Route]:
    """One route per path, so a 405 answer lists every allowed method."""
    health = HealthCheck(service.database)

    async def subscribe(request: Request) -> Response:
        if request.method == "POST":
            return await _subscribe(service, request)
        return service.pages.message(
            "Subscribe",
            f"Receive each new issue of {service.settings.newsletter_name} by email.",
            form=True,
        )

    async def confirm(request: Request) -> Response:
        if request.method == "POST":
            return await _confirm(service, request)
        return await _confirm_page(service, request.path_params["token"])

    async def unsubscribe(request: Request) -> Response:
        if request.method == "POST":
            return await _unsubscribe(service, request)
        return await _unsubscribe_page(service, request.path_params["token"])

    async def healthz(request: Request) -> Response:
        try:
            problems = await service.run(health.problems)
        except Exception as exc:  # any failure means "not healthy"
            service.log_unavailable(exc)
            return PlainTextResponse("database unavailable\n", status_code=503)
        if problems:
            service.log_unavailable(f"the database is damaged: {problems[0]}")
            return PlainTextResponse("database damaged\n", status_code=503)
        return PlainTextResponse("ok\n")

    return [
        Route("/subscribe", subscribe, methods=["GET", "POST"]),
        Route("/confirm/{token}", confirm, methods=["GET", "POST"]),
        Route("/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]


def _middleware(service: Service) -> list[Middleware]:
    """The browser rules on every answer, and the limit on request bodies."""
    pages, max_body = service.pages, service.limits.max_body
    return [
        Middleware(SecurityHeaders, csp=content_security_policy(STYLE_HASH)),
        Middleware(
            BodySizeLimit,
            max_body=max_body,
            too_large=lambda: pages.error(
                413, "Request too large", f"The request body is larger than {max_body} bytes."
            ),
            bad_length=lambda: pages.error(
                400, "Bad request", "The Content-Length header is malformed."
            ),
        ),
    ]


def _exception_handlers(service: Service) -> dict[Any, ExceptionHandler]:
    """Pages for an unknown path or method, an unavailable database, and any failure."""
    pages = service.pages

    async def unavailable(request: Request, exc: Exception) -> Response:
        service.log_unavailable(exc)
        return pages.error(
            503,
            "Temporarily unavailable",
            "The list cannot be reached right now, so nothing was changed. "
            "Please try again in a few minutes.",
            headers={"Retry-After": "60"},
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        titles = {
            404: ("Not found", "There is nothing at this address."),
            405: (
                "Method not allowed",
                f"This address does not accept {request.method} requests.",
            ),
        }
        title, text = titles.get(exc.status_code, ("Bad request", str(exc.detail)))
        return pages.error(exc.status_code, title, text, headers=exc.headers)

    async def server_error(request: Request, exc: Exception) -> Response:
        return pages.error(
            500,
            "Something went wrong",
            "The service could not handle this request. Please try again later.",
        )

    return {HTTPException: http_error, DatabaseUnavailable: unavailable, 500: server_error}


# -- forms ------------------------------------------------------------------------------------


async def read_form(request: Request, *, untyped: bool = False) -> dict[str, str]:
    """The fields of a small form body, each at most once. Raises :class:`FormError`.

    URL-encoded bodies are parsed strictly (ASCII, UTF-8 after percent-decoding);
    multipart bodies by Starlette, without files. With ``untyped=True`` a body without
    a Content-Type is read as URL-encoded (some RFC 8058 clients send none).
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        try:
            form = await request.form(max_files=0, max_fields=MAX_FIELDS)
        except HTTPException as exc:
            raise FormError(400, f"The form data is malformed: {exc.detail}") from None
        pairs: list[tuple[str, str]] = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                raise FormError(400, "Files are not accepted.")
            pairs.append((key, value))
    elif ctype == "application/x-www-form-urlencoded" or (untyped and not ctype):
        body = await request.body()
        try:
            pairs = parse_qsl(
                body.decode("ascii"),
                keep_blank_values=True,
                strict_parsing=bool(body),
                encoding="utf-8",
                errors="strict",
                max_num_fields=MAX_FIELDS,
            )
        except ValueError:
            raise FormError(400, "The form data is malformed.") from None
    else:
        raise FormError(415, "Send the form as application/x-www-form-urlencoded.")
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise FormError(400, f"The field '{key}' is given twice.")
        fields[key] = value
    return fields


def client_key(request: Request) -> str:
    """Who is asking, for the rate limit: the client's IPv4 address or IPv6 /64 network
    (one household or server gets a whole /64). Behind a trusted proxy uvicorn takes the
    address from ``X-Forwarded-For``."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def consent_record(request: Request, fields: dict[str, str]) -> dict[str, str]:
    """What a form post tells about the consent it gives: the client's address (as
    uvicorn sees it behind the trusted proxy), its user agent, the page that showed the
    form (its hidden field, else the ``Referer``), and the version and SHA-256 of the
    consent sentence that version shows (both empty when the form names no known
    version). Client-sent values are cut to :data:`CONSENT_LIMITS` and have their control
    characters replaced."""
    version = fields.get(CONSENT_FIELD, "")
    text_hash = consent_hash(version)
    values = {
        "client": request.client.host if request.client else "",
        "user_agent": request.headers.get("user-agent", ""),
        "page": fields.get(PAGE_FIELD) or request.headers.get("referer", ""),
        "text_version": version if text_hash else "",
    }
    record = {k: str(printable(v.strip()))[: CONSENT_LIMITS[k]] for k, v in values.items()}
    return {"source": "web", **record, "text_hash": text_hash}


# -- handlers ---------------------------------------------------------------------------------


async def _subscribe(service: Service, request: Request) -> Response:
    if not allowed_origin(request.headers.get("origin"), service.origins):
        return service.pages.error(
            403, "Forbidden", "This form may only be sent from the newsletter's own pages."
        )
    wait = service.per_client.hit(client_key(request))
    if wait:
        return _too_many(service, wait)
    try:
        fields = await read_form(request)
    except FormError as exc:
        return _bad_form(service, exc)
    if fields.get(HONEYPOT_FIELD, "").strip():
        # A bot filled the hidden field: it gets the usual answer, and nothing happens.
        log.info("sign-up dropped: honeypot filled")
        return _check_inbox(service)
    signing_up = _sign_up_fields(service, fields)
    if isinstance(signing_up, Response):
        return signing_up
    address, name = signing_up
    wait = service.per_email.hit(mailbox_key(address))
    if wait:
        return _too_many(service, wait)
    wait = service.confirmations.hit("all")
    if wait:
        log.warning("confirmation limit reached: sign-ups refused for %.0f s", wait)
        return _too_many(service, wait)
    # The answer must not tell a new address from a known one, not even by how long it
    # takes: every sign-up does the same work before it (is the database there?), and
    # all that depends on the address runs after the answer was sent.
    await service.run(_reachable)
    response = _check_inbox(service)
    consent = consent_record(request, fields)
    response.background = BackgroundTask(_sign_up, service, address, name, consent)
    return response


def _sign_up_fields(service: Service, fields: dict[str, str]) -> tuple[str, str] | Response:
    """The address and name of a sign-up, or the form again saying what is wrong."""
    raw_email = fields.get(EMAIL_FIELD, "")
    raw_name = fields.get(NAME_FIELD, "")
    if EMAIL_FIELD not in fields:
        return service.pages.error(400, "Bad request", "The form has no email field.", form=True)
    if not raw_email.strip():
        return service.pages.error(
            400,
            "Email address missing",
            "Please enter your email address.",
            form=True,
            name=raw_name,
        )
    try:
        if len(raw_email) > MAX_EMAIL:
            raise InvalidAddress(f"the address is longer than {MAX_EMAIL} characters")
        return normalise_email(raw_email), clean_name(raw_name)
    except InvalidAddress as exc:
        return service.pages.error(
            400,
            "Please check the form",
            f"That cannot be subscribed: {str(exc).rstrip('.')}.",
            form=True,
            email=raw_email[:MAX_EMAIL],
            name=raw_name[:200],
        )


def _bad_form(service: Service, exc: FormError) -> Response:
    return service.pages.error(exc.status, "Bad request", exc.reason)


def _reachable(store: Store) -> None:
    """A cheap read that fails when the database is not usable."""
    store.ping()


def _check_inbox(service: Service) -> Response:
    return service.pages.message(
        "Check your inbox",
        "If the address can be subscribed, a message with a confirmation link is on its "
        f"way. Follow the link within {confirmation.CONFIRM_DAYS} days to start receiving "
        f"{service.settings.newsletter_name}.",
        "Nothing arrived? Look in the spam folder, or try again later.",
    )


def _too_many(service: Service, wait: float) -> Response:
    seconds = retry_after(wait)
    minutes = max(1, round(int(seconds) / 60))
    return service.pages.error(
        429,
        "Too many requests",
        f"Please try again in about {minutes} minute{'s' if minutes != 1 else ''}.",
        headers={"Retry-After": seconds},
    )


def _sign_up(service: Service, address: str, name: str, consent: dict[str, str]) -> None:
    """Record a sign-up (with its consent) and mail the confirmation when one is due. Runs
    after the answer was sent (see :func:`_subscribe`); failures are logged, without the
    address."""
    try:
        with open_existing(service.database) as store:
            subscriber = subscriptions.request_subscription(store, address, name, consent)
            if subscriber is None:
                return  # already active: nothing to send
            token = confirmation.confirmation_token(service.secret, store, subscriber)
    except (DatabaseUnavailable, NewsdeskError, sqlite3.Error) as exc:
        log.error("a sign-up was not recorded: %s", exc)
        return
    try:
        url = f"{service.service_url}/confirm/{token}"
        message = confirmation.confirmation_message(service.settings, subscriber, url)
        confirmation.deliver(service.settings, subscriber, message)
    except (DeliveryError, NewsdeskError, OSError) as exc:
        log.error("confirmation for subscriber %d not delivered: %s", subscriber.id, exc)
    else:
        log.info("confirmation sent to subscriber %d", subscriber.id)


def _invalid_link(service: Service) -> Response:
    return service.pages.error(
        400,
        "This link is not valid",
        "The link is incomplete, has been changed, or has expired "
        f"(confirmation links work for {confirmation.CONFIRM_DAYS} days).",
        "Check that you copied the whole link from the email, or subscribe again.",
    )


def _confirmation_claim(service: Service, token: str) -> confirmation.ConfirmationClaim | Response:
    if len(token) > service.limits.max_token:
        return _invalid_link(service)
    claim = confirmation.read_confirmation_token(service.secret, token)
    if claim is None:
        return _invalid_link(service)
    return claim


async def _confirm_page(service: Service, token: str) -> Response:
    """The page behind the confirmation link: one button. Changes nothing."""
    claim = _confirmation_claim(service, token)
    if isinstance(claim, Response):
        return claim
    outcome, sub = await service.run(subscriptions.check_confirmation, claim)
    if outcome is subscriptions.Confirmed.NOW:
        assert sub is not None
        # Relative to /confirm/, so it works under any path prefix of the proxy.
        return service.pages.confirm(sub.email, action=token)
    return _confirmed(service, outcome, sub)


async def _confirm(service: Service, request: Request) -> Response:
    pages = service.pages
    token = request.path_params["token"]
    if not allowed_post(
        request.headers.get("origin"), request.headers.get("referer"), service.origins
    ):
        return pages.error(
            403,
            "Forbidden",
            "A subscription may only be confirmed with the button on the confirmation page.",
        )
    claim = _confirmation_claim(service, token)
    if isinstance(claim, Response):
        return claim
    try:
        fields = await read_form(request)
    except FormError as exc:
        return _bad_form(service, exc)
    if fields.get("action") != "confirm":
        return pages.error(
            400,
            "Bad request",
            "A subscription is confirmed with the button on the confirmation page.",
        )
    consent = consent_record(request, fields)
    outcome, sub = await service.run(subscriptions.confirm, claim, consent, service.secret)
    response = _confirmed(service, outcome, sub)
    if outcome is subscriptions.Confirmed.NOW:
        assert sub is not None
        response.background = BackgroundTask(_welcome, service, sub.id)
    return response


def _welcome(service: Service, subscriber_id: int) -> None:
    """Send the welcome (``email.welcome``) after the answer; failures are logged."""
    try:
        done = welcome.welcome(service.settings, service.secret, subscriber_id)
    except Exception as exc:  # the subscription stands; the ledger says what happened
        why = exc if isinstance(exc, DeliveryError | NewsdeskError | OSError) else repr(exc)
        log.error("welcome for subscriber %d not delivered: %s", subscriber_id, why)
    else:
        log.info("welcome for subscriber %d: %s", subscriber_id, done)


def _confirmed(
    service: Service, outcome: subscriptions.Confirmed, sub: Subscriber | None
) -> Response:
    pages = service.pages
    name = service.settings.newsletter_name
    if outcome is subscriptions.Confirmed.NOW:
        assert sub is not None
        return pages.message(
            "You are subscribed",
            f"Thank you! {sub.email} will receive each new issue of {name}.",
            "Every message has a link to unsubscribe with one click.",
        )
    if outcome is subscriptions.Confirmed.ALREADY:
        assert sub is not None
        return pages.message(
            "You are subscribed", f"{sub.email} is already confirmed; nothing changed."
        )
    if outcome is subscriptions.Confirmed.STALE:
        return pages.error(
            400,
            "This link is no longer valid",
            "The subscription changed after this link was sent. To subscribe, please sign up "
            "again.",
            form=True,
        )
    return _invalid_link(service)


async def _unsubscriber(service: Service, token: str) -> Subscriber | Response | None:
    if len(token) > service.limits.max_token:
        return _invalid_link(service)
    sid = confirmation.unsubscribe_subscriber_id(service.secret, token)
    if sid is None:
        return _invalid_link(service)
    return await service.run(lambda store: store.get(sid))


def _not_on_list(service: Service) -> Response:
    return service.pages.message(
        "Not on the list", "This address is not on the list: there is nothing to unsubscribe."
    )


def _unsubscribed(service: Service, sub: Subscriber) -> Response:
    return service.pages.message(
        "You are unsubscribed",
        f"{sub.email} will receive no more issues of {service.settings.newsletter_name}.",
        "Changed your mind? You can subscribe again at any time.",
    )


async def _unsubscribe_page(service: Service, token: str) -> Response:
    found = await _unsubscriber(service, token)
    if isinstance(found, Response):
        return found
    if found is None:
        return _not_on_list(service)
    if found.status == "unsubscribed":
        return _unsubscribed(service, found)
    # Relative to /unsubscribe/, so it works under any path prefix of the proxy.
    return service.pages.unsubscribe(found.email, action=token)


async def _unsubscribe(service: Service, request: Request) -> Response:
    token = request.path_params["token"]
    found = await _unsubscriber(service, token)
    if isinstance(found, Response):
        return found
    try:
        fields = await read_form(request, untyped=True)
    except FormError as exc:
        return _bad_form(service, exc)
    if fields.get(ONE_CLICK[0]) == ONE_CLICK[1]:
        source = "one-click"
    elif fields.get("action") == "unsubscribe":
        source = "web"
    else:
        return service.pages.error(
            400,
            "Bad request",
            "An unsubscribe request carries List-Unsubscribe=One-Click (RFC 8058) or comes "
            "from the button on the unsubscribe page.",
        )
    if found is None:
        return _not_on_list(service)
    sub = await service.run(subscriptions.unsubscribe, found.id, source)
    if sub is None:
        return _not_on_list(service)
    return _unsubscribed(service, sub)
