"""``newsdesk check``: a pre-flight of an issue's email before it goes to every subscriber.

What it looks at, in the message a subscriber would get:

* size against Gmail's clipping limit (102 KB): a clipped message hides its footer, with
  the unsubscribe link and the postal address, behind "View entire message";
* images without alt text; relative links (they lead nowhere in a mail client); links into
  the site that the built site does not have; with ``--online``, links that answer an error;
* text and background colours set in the inlined styles whose contrast fails WCAG AA, in
  light mode and in the dark mode of ``email.css`` (a best-effort check of the explicit
  pairs: colours a client or an image behind the text may change are not known);
* List-Unsubscribe (and the one-click List-Unsubscribe-Post) present and covered by the
  DKIM signature, which must verify;
* DMARC alignment: the From domain against the DKIM domain and the envelope sender's;
* with ``--dns``, the published DKIM, SPF and DMARC records, compared with the keys.

``newsdesk send`` runs the offline checks before sending over SMTP (``--no-check`` skips).
Errors stop sending (exit 1); warnings are shown and do not.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import lxml.html

from newsdesk.errors import NewsdeskError
from newsdesk.mail.dkim import (
    ALGORITHMS,
    Signer,
    aligned,
    from_domain,
    key_records,
    organisational_domain,
    record_name,
)
from newsdesk.mail.headers import parse_mailbox
from newsdesk.mail.render import PreparedMessage, Recipient, issue_message
from newsdesk.mail.tokens import make_token
from newsdesk.rendering import IssueRendering
from newsdesk.settings import Settings

#: Gmail clips a message whose size passes about 102 KB.
CLIP_LIMIT = 102 * 1024
AA_NORMAL, AA_LARGE = 4.5, 3.0
SAMPLE_RECIPIENT = Recipient(0, "reader@example.org", "Preview Reader")


@dataclass(frozen=True)
class Finding:
    severity: str  # "error", "warning" or "note"
    issue: str
    what: str
    why: str = ""
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.severity}: {self.issue}: {self.what}"
        if self.why:
            text += f" – {self.why}"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


class DnsUnavailable(Exception):
    """No DNS answer at all (no network, no resolver): the DNS checks are skipped."""


TxtLookup = Callable[[str], list[str]]
"""The TXT strings of a name (each record's strings joined), ``[]`` when there are none;
raises :class:`DnsUnavailable` when DNS cannot be asked."""


# -- colours ---------------------------------------------------------------------------------

_NAMED = {
    "black": "000000",
    "white": "ffffff",
    "red": "ff0000",
    "green": "008000",
    "blue": "0000ff",
    "yellow": "ffff00",
    "gray": "808080",
    "grey": "808080",
    "silver": "c0c0c0",
    "navy": "000080",
    "maroon": "800000",
    "purple": "800080",
    "orange": "ffa500",
    "lightgray": "d3d3d3",
    "lightgrey": "d3d3d3",
    "darkgray": "a9a9a9",
    "darkgrey": "a9a9a9",
    "whitesmoke": "f5f5f5",
    "gainsboro": "dcdcdc",
    "lightyellow": "ffffe0",
    "pink": "ffc0cb",
    "teal": "008080",
    "aqua": "00ffff",
    "cyan": "00ffff",
    "lime": "00ff00",
    "fuchsia": "ff00ff",
    "magenta": "ff00ff",
    "olive": "808000",
}
_HEX = re.compile(r"#([0-9a-f]{3}|[0-9a-f]{6})\b")
_RGB = re.compile(
    r"rgba?\(\s*([\d.]+)%?\s*[, ]\s*([\d.]+)%?\s*[, ]\s*([\d.]+)%?\s*(?:[,/]\s*([\d.]+%?))?\)"
)

Rgb = tuple[int, int, int]


def parse_colour(value: str) -> Rgb | None:
    """A CSS colour as RGB; ``None`` for what is not an opaque colour (transparent,
    translucent, ``inherit``, a gradient, a variable)."""
    text = value.strip().lower().replace("!important", "").strip()
    match = _HEX.search(text)
    if match and text.startswith("#"):
        h = match.group(1)
        if len(h) == 3:
            h = "".join(c * 2 for c in h)
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    match = _RGB.search(text)
    if match:
        alpha = match.group(4)
        if alpha is not None:
            a = float(alpha[:-1]) / 100 if alpha.endswith("%") else float(alpha)
            if a < 1:
                return None
        r, g, b = (min(255, round(float(x))) for x in match.groups()[:3])
        return r, g, b
    word = text.split()[0] if text.split() else ""
    if word in _NAMED:
        h = _NAMED[word]
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    return None


def _background_colour(value: str) -> Rgb | None:
    """The colour of a ``background`` shorthand (the first colour-looking word)."""
    if "url(" in value or "gradient" in value:
        return None
    for word in re.findall(r"#[0-9a-fA-F]{3,6}\b|rgba?\([^)]*\)|[a-zA-Z]+", value):
        colour = parse_colour(word)
        if colour is not None:
            return colour
    return None


def _luminance(rgb: Rgb) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: Rgb, b: Rgb) -> float:
    """The WCAG 2 contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _hex(rgb: Rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _style(el) -> dict[str, str]:
    out = {}
    for decl in (el.get("style") or "").split(";"):
        name, sep, value = decl.partition(":")
        if sep:
            out[name.strip().lower()] = value.strip()
    return out


def _font_px(value: str) -> float | None:
    match = re.match(r"([\d.]+)(px|pt)", value.strip())
    if not match:
        return None
    size = float(match.group(1))
    return size * 4 / 3 if match.group(2) == "pt" else size


def contrast_failures(page: str) -> list[tuple[float, float, Rgb, Rgb, str]]:
    """``(ratio, needed, text colour, background, sample text)`` for each text whose colour
    and background come from explicit styles (or ``bgcolor``) and fail WCAG AA."""
    root = lxml.html.document_fromstring(page)
    failures = []
    seen: set[tuple[Rgb, Rgb, float]] = set()
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in ("style", "script", "head", "title"):
            continue
        # The element's own text: before its first child and after each child.
        text = " ".join(t.strip() for t in [el.text, *(c.tail for c in el)] if t and t.strip())
        if not text:
            continue
        colour = background = None
        size = None
        bold = el.tag in ("b", "strong", "h1", "h2", "h3", "th")
        hidden = False
        node = el
        while node is not None:
            style = _style(node)
            if style.get("display", "").startswith("none") or "mso-hide" in style:
                hidden = True
                break
            if colour is None and "color" in style:
                colour = parse_colour(style["color"])
            if background is None:
                value = style.get("background-color") or style.get("background")
                if value:
                    background = parse_colour(value) or _background_colour(value)
                elif node.get("bgcolor"):
                    background = parse_colour(node.get("bgcolor"))
            if size is None and "font-size" in style:
                size = _font_px(style["font-size"])
            if "font-weight" in style and style["font-weight"].split()[0] in (
                "bold",
                "bolder",
                "600",
                "700",
                "800",
                "900",
            ):
                bold = True
            node = node.getparent()
        if hidden or colour is None or background is None:
            continue
        large = size is not None and (size >= 24 or (bold and size >= 18.66))
        needed = AA_LARGE if large else AA_NORMAL
        ratio = contrast(colour, background)
        if ratio < needed and (colour, background, needed) not in seen:
            seen.add((colour, background, needed))
            failures.append((ratio, needed, colour, background, text[:40]))
    return failures


_DARK = re.compile(r"@media[^{]*prefers-color-scheme\s*:\s*dark[^{]*\{", re.I)


def dark_mode_page(page: str) -> str | None:
    """``page`` with the rules of its ``prefers-color-scheme: dark`` block inlined (what
    Apple Mail and others show in dark mode), or ``None`` without such a block."""
    import css_inline

    css = "\n".join(re.findall(r"<style[^>]*>(.*?)</style>", page, re.S | re.I))
    match = _DARK.search(css)
    if not match:
        return None
    depth, i = 1, match.end()
    while i < len(css) and depth:
        depth += {"{": 1, "}": -1}.get(css[i], 0)
        i += 1
    rules = css[match.end() : i - 1]
    body = re.sub(r"<style[^>]*>.*?</style>", "", page, flags=re.S | re.I)
    return css_inline.CSSInliner(keep_style_tags=False, extra_css=rules).inline(body)


# -- links -----------------------------------------------------------------------------------


def _links(page: str) -> tuple[list[tuple[str, str]], list[str]]:
    """``(tag, url)`` of every link and image, and the images without an ``alt``."""
    root = lxml.html.document_fromstring(page)
    links, no_alt = [], []
    for el in root.iter("a", "img"):
        attr = "href" if el.tag == "a" else "src"
        if el.tag == "a" and el.get("href") is None:
            continue  # an anchor, or a link the sanitizer took out (see below)
        url = (el.get(attr) or "").strip()
        links.append((el.tag, url))
        if el.tag == "img" and el.get("alt") is None:
            no_alt.append(url or "(no src)")
    return links, no_alt


def _site_file(site_dir: Path, site_url: str, url: str) -> Path | None:
    """The file of the built site a link to ``site_url`` names, or ``None`` if none."""
    path = unquote(urlsplit(url).path)
    base = urlsplit(site_url).path
    rel = path[len(base) :] if path.startswith(base) else path.lstrip("/")
    target = site_dir / rel
    candidates = [target / "index.html"] if rel.endswith("/") or not rel else [target]
    if not rel.endswith("/"):
        candidates.append(target / "index.html")
    for c in candidates:
        try:
            c.resolve().relative_to(site_dir.resolve())
        except ValueError:
            continue
        if c.is_file():
            return c
    return None


def check_online(urls: Iterable[str], timeout: float = 10) -> dict[str, str]:
    """``{url: problem}`` for links that answer an error or do not answer."""

    def one(url: str) -> tuple[str, str | None]:
        headers = {"User-Agent": "newsdesk check (link checker)"}
        for method in ("HEAD", "GET"):
            request = urllib.request.Request(url, method=method, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=timeout):
                    return url, None
            except urllib.error.HTTPError as exc:
                if method == "HEAD" and exc.code in (403, 405, 501):
                    continue  # some servers refuse HEAD only
                return url, f"answers {exc.code} {exc.reason}"
            except (urllib.error.URLError, OSError, ValueError) as exc:
                return url, f"does not answer ({getattr(exc, 'reason', exc)})"
        return url, None

    unique = sorted(set(urls))
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        return {url: problem for url, problem in pool.map(one, unique) if problem}


# -- DNS -------------------------------------------------------------------------------------


def dnspython_lookup(
    probe: str,
    timeout: float = 5,
    *,
    nameservers: list[str] | None = None,
    port: int = 53,
) -> TxtLookup:
    """A :data:`TxtLookup` asking the system's resolver through dnspython.

    The SOA record of ``probe`` (the From address's domain) is asked first: without an
    answer – no network, or a resolver that knows nothing – the DNS checks would only
    report records missing that may well be there, so they are skipped.
    """
    import dns.exception
    import dns.resolver

    try:
        resolver = dns.resolver.Resolver(configure=nameservers is None)
    except (dns.resolver.NoResolverConfiguration, OSError) as exc:
        raise DnsUnavailable(str(exc)) from None
    if nameservers is not None:
        resolver.nameservers = nameservers
        resolver.port = port
    resolver.lifetime = timeout
    try:
        resolver.resolve(probe, "SOA", search=False)
    except dns.exception.DNSException as exc:
        raise DnsUnavailable(f"cannot find the SOA record of {probe}: {exc}") from None

    def lookup(name: str) -> list[str]:
        try:
            answer = resolver.resolve(name, "TXT", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:
            raise DnsUnavailable(str(exc)) from None
        return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]

    return lookup


def _tags(record: str) -> dict[str, str]:
    out = {}
    for part in record.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip().lower()] = (
                re.sub(r"\s+", "", value) if key.strip() == "p" else value.strip()
            )
    return out


# -- the checks ------------------------------------------------------------------------------


def sample_message(settings: Settings, rendering: IssueRendering) -> tuple[PreparedMessage, bytes]:
    """The prepared message of ``rendering`` and one subscriber's copy (a throwaway token)."""
    prepared = issue_message(settings, rendering)
    token = make_token(os.urandom(32), "unsubscribe", 0)
    return prepared, prepared.personalise(SAMPLE_RECIPIENT, token)


def _header_block(message: bytes) -> dict[str, list[str]]:
    import email.parser
    import email.policy

    head = message.partition(b"\r\n\r\n")[0] + b"\r\n\r\n"
    msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
    out: dict[str, list[str]] = {}
    for name, value in msg.items():
        out.setdefault(name.lower(), []).append(re.sub(r"\s+", " ", str(value)).strip())
    return out


class _Findings(list[Finding]):
    """The findings of one issue, as each check adds them."""

    def __init__(self, slug: str):
        super().__init__()
        self.slug = slug

    def add(self, severity: str, what: str, why: str = "", fix: str = "") -> None:
        self.append(Finding(severity, self.slug, what, why, fix))


def check_issue(
    settings: Settings,
    rendering: IssueRendering,
    *,
    online: bool = False,
    dns: bool = False,
    lookup: TxtLookup | None = None,
) -> list[Finding]:
    """Every finding for one issue, errors first."""
    found = _Findings(rendering.slug)
    try:
        prepared, message = sample_message(settings, rendering)
    except NewsdeskError as exc:  # a missing DKIM key, say
        found.add("error", str(exc), "nothing can be sent until this is fixed")
        return list(found)
    page = prepared.html_for(SAMPLE_RECIPIENT, "t")
    _check_size(found, message, prepared)
    _check_links(found, settings, rendering, page, online=online)
    _check_contrast(found, page)
    headers = _header_block(message)
    _check_unsubscribe(found, headers, settings.config_name)
    _check_signing(found, settings, message, prepared, headers)
    sender, bounce_domain = _check_alignment(found, settings)
    if dns:
        _check_dns(found, settings, sender, bounce_domain, lookup)
    order = {"error": 0, "warning": 1, "note": 2}
    return sorted(found, key=lambda f: order.get(f.severity, 3))


def _check_size(found: _Findings, message: bytes, prepared: PreparedMessage) -> None:
    """The message against Gmail's clipping limit."""
    size = len(message)
    if size > CLIP_LIMIT:
        found.add(
            "error",
            f"the message is {size / 1024:.0f} KB (HTML {prepared.html_size / 1024:.0f} KB)",
            "Gmail clips messages over 102 KB: the rest, with the unsubscribe link and "
            "the postal address, hides behind 'View entire message'",
            "shorten the issue, move long tables or code to the website and link to them, "
            "or split it into two issues",
        )
    elif size > 0.85 * CLIP_LIMIT:
        found.add(
            "warning",
            f"the message is {size / 1024:.0f} KB, close to Gmail's 102 KB clipping limit",
            "a little more text and Gmail hides the end of the message",
            "keep the issue shorter, or move long parts to the website",
        )


def _check_links(
    found: _Findings, settings: Settings, rendering: IssueRendering, page: str, *, online: bool
) -> None:
    """Images without alt text; relative, unusable and broken links; with ``online``, the
    links that answer an error. The links are those of the message, and those of the issue
    that the email's sanitizer removed (a javascript: link never reaches the reader, but
    the author should know it is gone)."""
    links, no_alt = _links(page)
    if rendering.html.strip():
        source_links, _ = _links(rendering.html)
        links += [
            (tag, url)
            for tag, url in source_links
            if urlsplit(url).scheme.lower() not in ("", "http", "https", "mailto", "tel", "data")
        ]
    for src in no_alt:
        found.add(
            "warning",
            f"image without alt text: {src}",
            "many mail clients block images until the reader allows them and show the alt "
            "text instead; screen readers read it out",
            "describe the image: ![What it shows](image.png) in Markdown",
        )
    built = (settings.site_dir / "index.html").is_file()
    checked: set[str] = set()
    web_links = []
    for tag, url in links:
        if url in checked:
            continue
        checked.add(url)
        if _check_link(found, settings, tag, url, built=built):
            web_links.append(url)
    if not built:
        found.add(
            "note",
            f"links into the site not checked: {settings.relative(settings.site_dir)}/ is not "
            "built",
            fix="run mkdocs build first",
        )
    if online:
        to_check = [u for u in web_links if not _into_service(settings, u)]
        for url, problem in sorted(check_online(to_check).items()):
            found.add(
                "error" if re.search(r"answers (404|410)\b", problem) else "warning",
                f"link {url} {problem}",
                "readers who follow it get an error page",
                "correct or remove the link (a page not deployed yet: deploy first)",
            )


def _into_service(settings: Settings, url: str) -> bool:
    """Whether ``url`` leads to the subscription service (``email.service_url``)."""
    service = (settings.email.service_url or "").rstrip("/") + "/"
    return bool(settings.email.service_url) and url.startswith(service)


def _check_link(found: _Findings, settings: Settings, tag: str, url: str, *, built: bool) -> bool:
    """The findings on one link or image (``tag`` ``a`` or ``img``); whether it is a web
    link (http or https, absolute)."""
    what = "image" if tag == "img" else "link"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("mailto", "tel") or (scheme == "data" and tag == "img"):
        return False
    if not url or not scheme or (scheme in ("http", "https") and not parts.netloc):
        found.add(
            "error",
            f"relative {what}: {url or '(empty)'}",
            "a relative address works on the website but leads nowhere in a mail client",
            f"set site_url in {settings.config_name} (emails carry absolute links) or write "
            "the full https:// address",
        )
        return False
    if scheme not in ("http", "https"):
        found.add(
            "error",
            f"{what} with the scheme '{scheme}:': {url}",
            "mail clients block or cannot open it",
            "link to an https:// page instead",
        )
        return False
    site_dir = settings.site_dir
    if (
        built
        and url.startswith(settings.site_url)
        and not _into_service(settings, url)
        and _site_file(site_dir, settings.site_url, url) is None
    ):
        found.add(
            "error",
            f"broken {what}: {url} is not in the built site ({settings.relative(site_dir)}/)",
            "readers who follow it get a 'page not found'",
            "correct the link in the issue's Markdown (mkdocs build --strict names it)",
        )
    return True


def _check_contrast(found: _Findings, page: str) -> None:
    """Text colours against their backgrounds, in light mode and in dark mode."""
    for mode, html_page, severity in (
        ("light mode", page, "error"),
        ("dark mode", dark_mode_page(page), "warning"),
    ):
        if html_page is None:
            continue
        for ratio, needed, fg, bg, sample in contrast_failures(html_page):
            found.add(
                severity,
                f"low contrast in {mode}: text {_hex(fg)} on {_hex(bg)} is {ratio:.1f}:1 "
                f"('{sample}')",
                f"WCAG AA asks for at least {needed:g}:1; readers with weak sight or in "
                "sunlight cannot read it",
                "choose a darker text colour (or a lighter background; in dark mode the "
                "reverse) in the issue's inline style or in email.css",
            )


def _check_unsubscribe(found: _Findings, headers: dict[str, list[str]], config: str) -> None:
    """List-Unsubscribe, and its one-click form."""
    if "list-unsubscribe" not in headers:
        found.add(
            "error",
            "no List-Unsubscribe header",
            "Gmail and Yahoo require one-click unsubscribe from bulk senders and may "
            "reject or junk the mail",
            f"set email.service_url (one-click) or email.unsubscribe_mailto in {config}",
        )
    elif "list-unsubscribe-post" not in headers:
        found.add(
            "warning",
            "List-Unsubscribe has no one-click (List-Unsubscribe-Post) form",
            "Gmail and Yahoo ask bulk senders for RFC 8058 one-click unsubscribe",
            "set email.service_url and run newsdesk serve",
        )


def _check_signing(
    found: _Findings,
    settings: Settings,
    message: bytes,
    prepared: PreparedMessage,
    headers: dict[str, list[str]],
) -> None:
    """The message is DKIM-signed, the signatures verify, the private keys are private."""
    dkim_settings = settings.email.dkim
    if not dkim_settings.enabled:
        found.add(
            "warning",
            "the messages are not DKIM-signed",
            "Gmail, Yahoo and Microsoft require DKIM (and DMARC) from bulk senders; "
            "unsigned mail is often junked",
            "newsdesk dkim keygen --selector nd1 --domain YOUR-DOMAIN, publish the records "
            "it prints, then set email.dkim: {domain: YOUR-DOMAIN, selector: nd1}",
        )
        return
    found.extend(_signature_findings(found.slug, message, prepared, headers))
    for key_file, pem in (
        (dkim_settings.rsa_key_file, dkim_settings.rsa_key),
        (dkim_settings.ed25519_key_file, dkim_settings.ed25519_key),
    ):
        if pem or key_file is None or not key_file.is_file():
            continue
        if key_file.stat().st_mode & 0o077:
            found.add(
                "warning",
                f"the DKIM private key {settings.relative(key_file)} is readable by others",
                "whoever reads it can sign mail as your domain",
                f"chmod 600 {settings.relative(key_file)}",
            )


def _check_alignment(found: _Findings, settings: Settings) -> tuple[str, str]:
    """DMARC alignment of the DKIM domain and the envelope sender's with the From domain;
    the From domain and the envelope sender's domain."""
    dkim_settings = settings.email.dkim
    sender = from_domain(settings.email.from_)
    bounce = settings.email.bounce_address or parse_mailbox(settings.email.from_)[1]
    bounce_domain = bounce.rpartition("@")[2].lower()
    if dkim_settings.enabled and not aligned(sender, str(dkim_settings.domain)):
        found.add(
            "error",
            f"the DKIM domain {dkim_settings.domain} is not aligned with the From domain {sender}",
            "DMARC passes only when the signing domain shares the From address's domain",
            f"sign with {sender} (newsdesk dkim keygen --domain {sender}) or send from an "
            f"address at {dkim_settings.domain}",
        )
    if not aligned(sender, bounce_domain):
        found.add(
            "warning" if dkim_settings.enabled else "error",
            f"the envelope sender's domain {bounce_domain} (email.bounce_address) is not "
            f"aligned with the From domain {sender}",
            "SPF then cannot count for DMARC"
            + (
                ", which rests on DKIM alone"
                if dkim_settings.enabled
                else ", and nothing else does"
            ),
            f"use a bounce address at {sender} or a subdomain of it",
        )
    return sender, bounce_domain


def _signature_findings(
    slug: str, message: bytes, prepared: PreparedMessage, headers: dict[str, list[str]]
) -> list[Finding]:
    """The signatures verify with the local public keys and cover List-Unsubscribe."""
    import dkim as dkimpy

    found = []
    signer = prepared.signer.signer if prepared.signer is not None else None
    records = key_records(signer.keys) if signer else {}
    sigs = headers.get("dkim-signature", [])
    for alg in ALGORITHMS:
        sig = next((s for s in sigs if f"a={alg}" in s.replace(" ", "")), None)
        if sig is None:
            found.append(Finding("error", slug, f"no {alg} DKIM signature", "", ""))
            continue
        names = [n.strip().lower() for n in (_tags(sig).get("h", "")).split(":")]
        if "list-unsubscribe" in headers and "list-unsubscribe" not in names:
            found.append(
                Finding(
                    "error",
                    slug,
                    f"the {alg} signature does not cover List-Unsubscribe",
                    "anyone on the way could change the unsubscribe address",
                    "report this as a newsdesk bug",
                )
            )
    if signer is not None:
        # dkimpy's idx counts the DKIM-Signature fields from the top.
        for idx, sig in enumerate(sigs):
            alg = _tags(sig).get("a", "")
            if alg not in records:
                continue

            def local(name: bytes | str, timeout: float = 5, _value: str = records[alg]) -> bytes:
                return _value.encode("ascii")

            try:
                ok = dkimpy.DKIM(message).verify(idx=idx, dnsfunc=local)
            except dkimpy.DKIMException:
                ok = False
            if not ok:
                found.append(
                    Finding(
                        "error",
                        slug,
                        f"the {alg} signature does not verify with the local key",
                        "receivers would reject the signature",
                        "report this as a newsdesk bug",
                    )
                )
    return found


def _check_dns(
    found: _Findings,
    settings: Settings,
    sender: str,
    bounce_domain: str,
    lookup: TxtLookup | None,
) -> None:
    """The published DKIM keys, SPF and DMARC records; a note when DNS does not answer."""
    try:
        ask = lookup or dnspython_lookup(organisational_domain(sender))
        if settings.email.dkim.enabled:
            _check_dkim_records(found, settings, ask)
        _check_spf(found, bounce_domain, ask)
        _check_dmarc(found, sender, ask)
    except DnsUnavailable as exc:
        found.add("note", f"DNS checks skipped: no DNS answer ({exc}); offline?")


def _records(ask: TxtLookup, name: str, version: str) -> list[str]:
    """The TXT records at ``name`` that start with ``version`` (``v=spf1``; any case)."""
    return [r for r in ask(name) if r.lower().startswith(version)]


def _unpublished(found: _Findings, record: str, why: str, publish: str) -> None:
    """A warning that no ``record`` is published; the fix: publish ``publish``."""
    found.add("warning", f"no {record}", why, f"publish {publish}")


def _check_dkim_records(found: _Findings, settings: Settings, ask: TxtLookup) -> None:
    """Each key newsdesk signs with is the one published at the selector."""
    dkim_settings = settings.email.dkim
    name = record_name(str(dkim_settings.selector), str(dkim_settings.domain))
    published = [_tags(r) for r in ask(name) if "p=" in r]
    expected = key_records(Signer(dkim_settings).keys)
    for alg in ALGORITHMS:
        k = alg.split("-")[0]
        want = _tags(expected[alg])["p"]
        mine = [t for t in published if t.get("k", "rsa") == k]
        if not mine:
            found.add(
                "error",
                f"no {k} DKIM key published at {name}",
                "receivers cannot verify the signature and treat the mail as unsigned",
                "publish the record newsdesk dkim keygen printed",
            )
        elif not any(t.get("p") == want for t in mine):
            found.add(
                "error",
                f"the {k} DKIM key published at {name} is not the one newsdesk signs with",
                "every signature fails",
                "publish the record for the key in use (a new selector for new keys)",
            )


def _check_spf(found: _Findings, bounce_domain: str, ask: TxtLookup) -> None:
    """One SPF record at the envelope sender's domain."""
    spf = _records(ask, bounce_domain, "v=spf1")
    if not spf:
        _unpublished(
            found,
            f"SPF record at {bounce_domain}",
            "receivers cannot tell whether the sending server may send for the domain",
            f'{bounce_domain}. IN TXT "v=spf1 include:YOUR-PROVIDER ~all"',
        )
    elif len(spf) > 1:
        found.add(
            "error",
            f"{len(spf)} SPF records at {bounce_domain}",
            "more than one SPF record is a permanent error (RFC 7208): SPF fails",
            "merge them into one v=spf1 record",
        )


def _check_dmarc(found: _Findings, sender: str, ask: TxtLookup) -> None:
    """A DMARC record for the From domain (or its organisational domain), not p=none."""
    organisation = organisational_domain(sender)
    dmarc_name = f"_dmarc.{sender}"
    dmarc = _records(ask, dmarc_name, "v=dmarc1")
    if not dmarc and organisation != sender:
        dmarc_name = f"_dmarc.{organisation}"
        dmarc = _records(ask, dmarc_name, "v=dmarc1")
    if not dmarc:
        _unpublished(
            found,
            f"DMARC record for {sender}",
            "Gmail and Yahoo require a DMARC record from bulk senders",
            f'_dmarc.{organisation}. IN TXT "v=DMARC1; p=none; '
            f'rua=mailto:dmarc-reports@{organisation}"',
        )
    elif _tags(dmarc[0]).get("p", "none") == "none":
        found.add(
            "note",
            f"DMARC at {dmarc_name} is p=none (monitoring only)",
            fix="once the reports show your mail passing, move to p=quarantine",
        )


# -- the command -----------------------------------------------------------------------------


def preflight(settings: Settings) -> Callable[[IssueRendering], list[tuple[str, str]]]:
    """The hook ``newsdesk send`` runs before mailing an issue over SMTP: the offline
    checks, as ``(severity, text)``."""

    def run(rendering: IssueRendering) -> list[tuple[str, str]]:
        return [
            (f.severity, str(f).partition(": ")[2])
            for f in check_issue(settings, rendering)
            if f.severity in ("error", "warning")
        ]

    return run


def next_issue(settings: Settings, config_file: Path, slug: str | None) -> IssueRendering:
    """Issue ``slug`` (drafts too), or the one the next ``send`` mails, else the newest."""
    from newsdesk.cli import find_rendering, fresh_renderings

    if slug is not None:
        return find_rendering(settings, config_file, slug)
    renderings = fresh_renderings(settings, config_file)
    database = settings.email.database
    if database.exists():
        from newsdesk.mail.plan import plan_issues
        from newsdesk.mail.store import Store

        with Store.open(database, display=settings.relative(database)) as store:
            plan = plan_issues(store, renderings)
        if plan.send:
            return plan.send[0]
    return (
        find_rendering(settings, config_file, None)
        if not renderings
        else max(renderings, key=lambda r: (r.date, r.number or 0, r.slug))
    )
