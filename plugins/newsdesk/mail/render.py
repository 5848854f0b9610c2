"""The email edition of an issue: one ``multipart/alternative`` message per subscriber.

The expensive work (the layout, CSS inlining, the plain-text rendering, quoted-printable
encoding, folding the common headers) is done once per issue by :func:`prepare_message`.
What differs per subscriber – ``To``, ``Message-ID``, ``List-Unsubscribe``, and the
address and unsubscribe link in the footer – is cut out of the encoded body as separate
segments, so :meth:`PreparedMessage.personalise` only joins bytes. No placeholder is ever
substituted in the finished text: the slots are found once, while the parts are built,
with markers made of a random nonce that cannot occur in the issue.

Quoted-printable segments are joined with soft line breaks (``=`` CRLF), which is valid
quoted-printable wherever the cut falls; the boundary contains ``=_``, which no
quoted-printable text can contain.
"""

from __future__ import annotations

import binascii
import datetime as dt
import email.utils
import hashlib
import html
import re
import secrets
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import css_inline
import html2text
import jinja2
import lxml.html
import nh3

from newsdesk.i18n import Strings
from newsdesk.mail.dkim import PreparedSigner, issue_signer
from newsdesk.mail.headers import (
    address_header,
    mailbox_header,
    one_line,
    parse_mailbox,
    structured_header,
    text_header,
)
from newsdesk.rendering import IssueRendering
from newsdesk.settings import EmailSettings, Settings

GMAIL_CLIP = 100 * 1024
_CSS = Path(__file__).resolve().parent.parent / "assets" / "email.css"
_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_SLOTS = ("email", "unsubscribe")


@dataclass(frozen=True)
class Recipient:
    """Who a message goes to: the subscriber's id (for tokens and Message-ID) and address."""

    id: int
    email: str
    name: str = ""


@dataclass(frozen=True)
class Links:
    """The per-subscriber links of a message."""

    unsubscribe_url: str | None
    """``{service_url}/unsubscribe/{token}``, when the service is configured."""
    unsubscribe_mailto: str | None
    """``mailto:…?subject=unsubscribe%20{token}``, when a mailto address is configured."""

    @property
    def footer_url(self) -> str:
        return self.unsubscribe_url or self.unsubscribe_mailto or ""


def unsubscribe_links(settings: EmailSettings, token: str) -> Links:
    """The List-Unsubscribe targets for a subscriber's ``token``."""
    web = None
    if settings.service_url:
        web = f"{settings.service_url.rstrip('/')}/unsubscribe/{token}"
    mailto = None
    if settings.unsubscribe_mailto:
        mailto = f"mailto:{settings.unsubscribe_mailto}?subject=unsubscribe%20{token}"
    return Links(web, mailto)


def _qp(text: str) -> bytes:
    """Quoted-printable with CRLF line ends (``text`` uses LF)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    encoded = binascii.b2a_qp(text.encode("utf-8"), istext=True)
    return encoded.replace(b"\n", b"\r\n")


def _qp_segment(text: str) -> bytes:
    """A quoted-printable piece that can be followed by any other piece."""
    encoded = _qp(text)
    return encoded if not encoded or encoded.endswith(b"\r\n") else encoded + b"=\r\n"


def plain_message(headers: list[bytes], text: str) -> bytes:
    """A ``text/plain`` UTF-8 message: ``headers`` (from :mod:`newsdesk.mail.headers`)
    and ``text`` in quoted-printable."""
    return b"".join(
        [
            *headers,
            structured_header("MIME-Version", "1.0"),
            structured_header("Content-Type", 'text/plain; charset="utf-8"'),
            structured_header("Content-Transfer-Encoding", "quoted-printable"),
            b"\r\n",
            _qp(text),
        ]
    )


def notice_headers(
    settings: EmailSettings, name: str, address: str, subject: str, kind: str
) -> list[bytes]:
    """The opening headers of a message to one person outside the issues (a confirmation, a
    welcome): From, To, Reply-To, Subject, Date, and a Message-ID made for ``kind``."""
    return [
        mailbox_header("From", settings.from_),
        address_header("To", name, address),
        mailbox_header("Reply-To", settings.reply_to) if settings.reply_to else b"",
        text_header("Subject", subject),
        structured_header("Date", email.utils.formatdate(localtime=False, usegmt=True)),
        structured_header(
            "Message-ID", email.utils.make_msgid(kind, domain=message_domain(settings.from_))
        ),
    ]


def message_domain(address: str) -> str:
    """The domain of a configured From address, for Message-IDs."""
    return _domain(address)


def _domain(address: str) -> str:
    return parse_mailbox(address)[1].rpartition("@")[2] or "newsdesk.invalid"


@dataclass
class PreparedMessage:
    """An issue's message, ready to be personalised for each subscriber."""

    slug: str
    subject: str
    envelope_from: str
    html_size: int
    warnings: list[str] = field(default_factory=list)
    _static_headers: bytes = b""
    _msgid_prefix: str = ""
    _msgid_domain: str = ""
    _body: list[bytes | tuple[str, str]] = field(default_factory=list)
    _html_pieces: list[str | tuple[str, str]] = field(default_factory=list)
    _email_settings: EmailSettings = field(default_factory=EmailSettings)
    signer: PreparedSigner | None = None
    """Adds the DKIM signatures (``email.dkim``); ``None`` sends unsigned."""

    def message_id(self, recipient: Recipient) -> str:
        """``<slug.newsdesk.id@from-domain>``: the same for a resend, unique per reader."""
        return f"<{self._msgid_prefix}.{recipient.id}@{self._msgid_domain}>"

    def personalise(self, recipient: Recipient, token: str) -> bytes:
        """The complete message (CRLF line ends) for one subscriber."""
        links = unsubscribe_links(self._email_settings, token)
        parts = [
            address_header("To", recipient.name, recipient.email),
            structured_header("Message-ID", self.message_id(recipient)),
        ]
        targets = [u for u in (links.unsubscribe_url, links.unsubscribe_mailto) if u]
        if targets:
            parts.append(
                structured_header("List-Unsubscribe", ", ".join(f"<{u}>" for u in targets))
            )
        if links.unsubscribe_url:
            parts.append(structured_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        personal = len(parts)
        parts.append(self._static_headers)
        values = {"email": recipient.email, "unsubscribe": links.footer_url}
        for piece in self._body:
            if isinstance(piece, bytes):
                parts.append(piece)
            else:
                kind, slot = piece
                value = values[slot]
                parts.append(_qp_segment(html.escape(value) if kind == "html" else value))
        if self.signer is not None:
            return self.signer.sign_parts(parts, personal)
        return b"".join(parts)

    def html_for(self, recipient: Recipient, token: str) -> str:
        """The HTML part for one subscriber, decoded (for previews)."""
        links = unsubscribe_links(self._email_settings, token)
        values = {"email": recipient.email, "unsubscribe": links.footer_url}
        return "".join(
            p if isinstance(p, str) else html.escape(values[p[1]]) for p in self._html_pieces
        )


_STYLE_PROPERTIES = {
    # Colour and type an author may set in raw HTML; nothing that loads a URL (background,
    # list-style-image), positions or hides content.
    "color",
    "background-color",
    "font-weight",
    "font-style",
    "font-size",
    "text-align",
    "text-decoration",
    "vertical-align",
    "white-space",
    "width",
    "height",
    "padding",
    "margin",
    "border",
    "border-collapse",
}
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,", re.I)
_TAGS = (nh3.ALLOWED_TAGS | {"tfoot", "section"}) - {"area", "map"}
_ATTRIBUTES = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"class", "id", "title", "lang", "dir", "style"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start", "type"},
}


_CSS_FUNCTION = re.compile(r"([a-z-]+)\s*\(", re.I)


def _safe_style(value: str) -> str | None:
    """Inline CSS without functions other than colours: no ``url()`` (a tracking pixel),
    no ``expression()``."""
    kept = []
    for declaration in value.split(";"):
        functions = {f.lower() for f in _CSS_FUNCTION.findall(declaration)}
        if functions <= {"rgb", "rgba", "hsl", "hsla"} and "\\" not in declaration:
            kept.append(declaration.strip())
    text = "; ".join(d for d in kept if d)
    return text or None


def _safe_url(element: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: links only to the web, mail and phone (or relative, which
    the pre-flight check reports); images only from the web or as inline PNG, JPEG, GIF or
    WebP data; inline styles through :func:`_safe_style`."""
    if attribute == "style":
        return _safe_style(value)
    if attribute not in ("href", "src", "cite"):
        return value
    scheme = urlsplit(value).scheme.lower()
    if attribute == "src" and scheme == "data":
        return value if _DATA_IMAGE.match(value) else None
    if scheme in ("", "http", "https") or (attribute == "href" and scheme in ("mailto", "tel")):
        return value  # "": relative, left for ``newsdesk check`` to report
    return None


def _clean_content(content: str, base_url: str) -> str:
    """The issue's HTML made email-safe: absolute links, no permalinks, then cleaned by the
    nh3 sanitizer with an allow-list (no scripts, event handlers, forms, ``<meta>``,
    ``<base>``, styles or ``javascript:`` links, whatever the author's raw HTML held)."""
    if not content.strip():
        return ""
    root = lxml.html.fragment_fromstring(content, create_parent="div")
    for bad in root.xpath(
        ".//a[@class='headerlink']|.//a[contains(concat(' ', @class, ' '), ' headerlink ')]"
    ):
        bad.drop_tree()
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in ("href", "src"):
            value = el.get(attr)
            if value is not None and not value.startswith(("mailto:", "tel:", "data:")):
                el.set(attr, urljoin(base_url, value.strip()))
    html_text = (
        "".join(lxml.html.tostring(child, encoding="unicode") for child in root)
        if len(root)
        else lxml.html.tostring(root, encoding="unicode")
    )
    return nh3.clean(
        html_text,
        tags=_TAGS,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "form", "template"},
        attributes=_ATTRIBUTES,
        attribute_filter=_safe_url,
        filter_style_properties=_STYLE_PROPERTIES,
        url_schemes={"http", "https", "mailto", "tel", "data"},
        link_rel=None,
    )


PLAIN_WIDTH = 78
"""The widest line the plain-text part aims for (RFC 5322 recommends 78)."""
_BODY_WIDTH = 76


def _plain_content(content: str) -> str:
    """The issue's content HTML as plain text for the ``text/plain`` part.

    html2text does the prose (``## headings``, links as numbered references ``[1]``).
    Tables and footnotes are laid out here first, since html2text would break a wide table
    into bogus rows and run footnote numbers into the text: a table becomes aligned columns
    when it fits :data:`PLAIN_WIDTH` characters and one block per row ("Protocol: SMTP ·
    Port: 25 · …") when not; its cells are plain text. A footnote reference reads ``[^1]``
    and the note ``[^1]: …`` at the end, distinct from link references.
    """
    root = lxml.html.fragment_fromstring(content, create_parent="div")
    _plain_footnotes(root)
    nonce = secrets.token_hex(8)
    blocks: dict[str, str] = {}
    for n, table in enumerate(root.xpath(".//table[not(ancestor::table)]")):
        key = f"ndtable{nonce}x{n}"
        blocks[key] = plain_table(table)
        stand_in = lxml.html.Element("p")
        stand_in.text, stand_in.tail = key, table.tail
        table.getparent().replace(table, stand_in)
    converter = html2text.HTML2Text()
    converter.body_width = _BODY_WIDTH
    converter.inline_links = False
    converter.protect_links = True
    converter.wrap_links = False
    converter.wrap_list_items = True
    converter.pad_tables = True
    converter.images_to_alt = True
    converter.unicode_snob = True
    text = converter.handle(lxml.html.tostring(root, encoding="unicode"))
    for key, block in blocks.items():
        text = text.replace(key, block)
    text = "\n".join(line.rstrip() for line in text.replace("\xa0", " ").split("\n"))
    return text.strip() + "\n"


def _cell_text(cell: lxml.html.HtmlElement) -> str:
    return " ".join(cell.text_content().split())


def plain_table(table: lxml.html.HtmlElement, width: int = PLAIN_WIDTH) -> str:
    """A table as plain text: aligned columns under an underlined header when every line
    fits ``width``, else one block per row, each cell labelled with its column's header
    and separated by " · " (wrapped at ``width``)."""
    own = [tr for tr in table.iter("tr") if next(tr.iterancestors("table")) is table]
    rows = [[_cell_text(c) for c in tr.xpath("./th|./td")] for tr in own]
    rows = [r for r in rows if r] or [[]]
    has_head = bool(own) and (
        own[0].getparent().tag == "thead" or bool(own[0].xpath("./th") and not own[0].xpath("./td"))
    )
    head, body = (rows[0], rows[1:]) if has_head else ([], rows)
    columns = max(len(r) for r in [head, *body])
    grid = [r + [""] * (columns - len(r)) for r in [head, *body] if r or head]
    widths = [max(len(r[i]) for r in grid) for i in range(columns)]
    if sum(widths) + 2 * (columns - 1) <= width:
        lines = []
        for n, r in enumerate(grid):
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
            if n == 0 and head:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)
    out = []
    for r in body:
        cells = r + [""] * (columns - len(r))
        parts = [
            f"{label}: {cell}" if label else cell
            for label, cell in zip(head or [""] * columns, cells, strict=False)
            if cell
        ]
        out.append(_join_wrapped(parts, width))
    return "\n\n".join(out)


def _join_wrapped(parts: list[str], width: int) -> str:
    """``parts`` joined by " · ", lines broken between parts (a line ends in "·"); a part
    longer than a line is wrapped on its own."""
    lines: list[str] = []
    current = ""
    for part in parts:
        if current and len(current) + 3 + len(part) <= width:
            current += " · " + part
            continue
        if current:
            lines.append(current + " ·")
        wrapped = textwrap.wrap(part, width=width - 2, break_on_hyphens=False) or [""]
        lines += wrapped[:-1]
        current = wrapped[-1]
    lines.append(current)
    return "\n".join(lines)


def _plain_footnotes(root: lxml.html.HtmlElement) -> None:
    """Footnotes as ``[^1]`` in the text and ``[^1]: the note`` at the end, in place."""
    for ref in root.xpath(".//a[contains(concat(' ', @class, ' '), ' footnote-ref ')]"):
        sup = (
            ref.getparent() if ref.getparent() is not None and ref.getparent().tag == "sup" else ref
        )
        marker = lxml.html.Element("span")
        marker.text, marker.tail = f"[^{_cell_text(ref)}]", sup.tail
        sup.getparent().replace(sup, marker)
    for back in root.xpath(".//a[contains(concat(' ', @class, ' '), ' footnote-backref ')]"):
        back.drop_tree()
    for div in root.xpath(".//div[contains(concat(' ', @class, ' '), ' footnote ')]"):
        for number, li in enumerate(div.xpath("./ol/li"), start=1):
            label = (li.get("id") or "").removeprefix("fn:") or str(number)
            first = li.xpath("./p")
            target = first[0] if first else li
            target.text = f"[^{label}]: " + (target.text or "").lstrip()
        for ol in div.xpath("./ol"):
            for li in ol.xpath("./li"):
                for child in li:
                    ol.addprevious(child)
            ol.drop_tree()


def issue_mark(rendering: IssueRendering, *, test: bool = False) -> str:
    """What a message must say at its top and in its subject when it is not the issue as
    subscribers get it: a test, a draft, a scheduled issue. Empty for the real thing."""
    words = []
    if test:
        words.append("TEST")
    if rendering.draft == "draft":
        words.append("DRAFT")
    elif rendering.draft == "scheduled":
        words.append(f"SCHEDULED for {rendering.date.isoformat()}")
    return ", ".join(words)


EXAMPLE_POSTAL_ADDRESS = "Happy Computing, 1 Example Street, Springfield"
"""The shipped example's postal address: a newsletter of one's own needs its own."""
_RESERVED = re.compile(r"(^|\.)(example\.(org|com|net)|example|invalid|test|localhost)$", re.I)


def identity_warnings(settings: EmailSettings) -> list[str]:
    """What in the email identity is still the example's or cannot receive mail: replies,
    bounces and complaints to a reserved domain (RFC 2606) go nowhere."""
    out = []
    for option, value in (
        ("email.from", settings.from_),
        ("email.reply_to", settings.reply_to),
        ("email.bounce_address", settings.bounce_address),
    ):
        if not value:
            continue
        domain = parse_mailbox(value)[1].rpartition("@")[2]
        if _RESERVED.search(domain):
            out.append(
                f"{option} is at {domain}, a reserved example domain: replies and bounces "
                "go nowhere; set your own address (README: Start your own newsletter)"
            )
    if settings.postal_address.strip() == EXAMPLE_POSTAL_ADDRESS:
        out.append(
            "email.postal_address is still the example's; bulk-mail rules (CAN-SPAM) ask for "
            "your real postal address in every message"
        )
    elif not settings.postal_address.strip():
        out.append("email.postal_address is empty; bulk-mail rules (CAN-SPAM) ask for one")
    return out


def _subject(rendering: IssueRendering, name: str, mark: str = "") -> str:
    title = one_line(rendering.title)
    prefix = f"[{mark}] " if mark else ""
    if rendering.number is not None:
        return f"{prefix}{name} #{rendering.number}: {title}"
    return f"{prefix}{name}: {title}"


def _split(text: str, markers: dict[str, str]) -> list[str | tuple[str, str]]:
    pattern = re.compile("|".join(re.escape(m) for m in markers.values()))
    by_marker = {m: slot for slot, m in markers.items()}
    pieces: list[str | tuple[str, str]] = []
    pos = 0
    for match in pattern.finditer(text):
        pieces.append(text[pos : match.start()])
        pieces.append(("", by_marker[match.group()]))
        pos = match.end()
    pieces.append(text[pos:])
    return pieces


def _encode_pieces(kind: str, pieces: list[str | tuple[str, str]]) -> list[bytes | tuple[str, str]]:
    out: list[bytes | tuple[str, str]] = []
    for piece in pieces:
        if isinstance(piece, str):
            if piece:
                out.append(_qp_segment(piece))
        else:
            out.append((kind, piece[1]))
    return out


def issue_message(settings: Settings, rendering: IssueRendering, **options: Any) -> PreparedMessage:
    """:func:`prepare_message` for a project: its email settings, name, site address and
    template overrides; ``options`` are the others (``test``, ``welcome``)."""
    return prepare_message(
        rendering,
        settings.email,
        newsletter_name=settings.newsletter_name,
        site_url=settings.site_url,
        overrides=settings.template_overrides,
        **options,
    )


def prepare_message(
    rendering: IssueRendering,
    settings: EmailSettings,
    *,
    newsletter_name: str = "",
    site_url: str = "",
    envelope_from: str | None = None,
    now: dt.datetime | None = None,
    test: bool = False,
    welcome: str = "",
    overrides: Path | None = None,
) -> PreparedMessage:
    """Build an issue's message once; personalise it per subscriber afterwards.

    The words are in the issue's language; ``overrides`` is a folder whose ``email.html``,
    if any, replaces newsdesk's template.

    ``test`` (and a draft or scheduled rendering) puts :func:`issue_mark` in the subject
    and at the top of both parts. ``welcome`` is a line above the issue in both parts
    (the welcome of a new subscriber).
    """
    name = one_line(newsletter_name or rendering.newsletter_name or "Newsletter")
    site = site_url or rendering.site_url or rendering.url
    mark = issue_mark(rendering, test=test)
    nonce = secrets.token_hex(8)
    frame = _Frame(
        newsletter_name=name,
        subject=_subject(rendering, name, mark),
        site=site,
        archive_url=urljoin(site, "issues/"),
        mark=mark,
        welcome=welcome,
        markers={slot: f"ndslot{nonce}{slot}" for slot in _SLOTS},
        t=Strings(rendering.language),
    )
    content = _clean_content(rendering.html, rendering.url)
    page = _html_page(rendering, content, frame, settings.postal_address, overrides)
    html_size = len(page.encode("utf-8"))
    plain = _plain_text(rendering, content, frame, settings)
    html_pieces = _split(page, frame.markers)
    head = _issue_headers(rendering, settings, frame, now or dt.datetime.now(dt.UTC))
    static_headers, body = _mime_body(head, _split(plain, frame.markers), html_pieces)
    prepared = PreparedMessage(
        slug=rendering.slug,
        subject=frame.subject,
        envelope_from=envelope_from or parse_mailbox(settings.from_)[1],
        html_size=html_size,
        warnings=_warnings(rendering, settings, html_size),
        _static_headers=static_headers,
        _msgid_prefix=f"{rendering.slug}.newsdesk",
        _msgid_domain=_domain(settings.from_),
        _body=body,
        _html_pieces=[p if isinstance(p, str) else ("html", p[1]) for p in html_pieces],
        _email_settings=settings,
    )
    prepared.signer = issue_signer(settings.dkim, prepared)
    return prepared


@dataclass(frozen=True)
class _Frame:
    """What both parts of an issue's message say around the issue's content."""

    newsletter_name: str
    subject: str
    site: str
    archive_url: str
    mark: str
    """:func:`issue_mark`: a test, a draft, a scheduled issue; empty for the real thing."""
    welcome: str
    """The line above the issue in a new subscriber's welcome, or empty (as given)."""
    markers: dict[str, str]
    """The marker of each per-reader slot (``email``, ``unsubscribe``) in the text."""
    t: Strings


def _warnings(rendering: IssueRendering, settings: EmailSettings, html_size: int) -> list[str]:
    """What the sender should know about the message: no unsubscribe, clipped by Gmail."""
    warnings = []
    if not settings.service_url and not settings.unsubscribe_mailto:
        warnings.append(
            "neither email.service_url nor email.unsubscribe_mailto is set: the messages "
            "carry no List-Unsubscribe header, and large providers may reject them"
        )
    if html_size > GMAIL_CLIP:
        warnings.append(
            f"the HTML of {rendering.slug} is {html_size // 1024} KB: Gmail clips messages "
            "over 100 KB behind a 'View entire message' link"
        )
    return warnings


def _html_page(
    rendering: IssueRendering,
    content: str,
    frame: _Frame,
    postal_address: str,
    overrides: Path | None,
) -> str:
    """The HTML part: the template (``email.html``, from ``overrides`` if it has one)
    around the issue's ``content``, with the CSS inlined."""
    folders = [str(overrides)] if overrides and Path(overrides).is_dir() else []
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*folders, str(_TEMPLATES)]),
        autoescape=True,
        keep_trailing_newline=True,
    )
    markup = jinja2.utils.markupsafe.Markup
    site, t = frame.site, frame.t
    page = env.get_template("email.html").render(
        t=t,
        issue=rendering,
        subject=frame.subject,
        css=markup(_CSS.read_text(encoding="utf-8")),
        content=markup(content),
        view_url=rendering.url,
        pdf_url=rendering.pdf_url,
        site_url=site,
        site_host=urlsplit(site).netloc or site,
        site_link=markup('<a href="{}">{}</a>').format(site, urlsplit(site).netloc or site),
        archive_url=frame.archive_url,
        newsletter_name=frame.newsletter_name,
        date_text=t.date(rendering.date),
        postal_address=postal_address,
        slot_email=frame.markers["email"],
        slot_unsubscribe=frame.markers["unsubscribe"],
        mark=frame.mark,
        welcome=one_line(frame.welcome),
    )
    inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
    return inliner.inline(page)


def _issue_headers(
    rendering: IssueRendering, settings: EmailSettings, frame: _Frame, date: dt.datetime
) -> tuple[bytes, str]:
    """The headers every reader's copy shares, up to the preamble; and the MIME boundary."""
    boundary = (
        "=_nd_"
        + hashlib.sha256(f"{rendering.slug}{rendering.content_hash}".encode()).hexdigest()[:24]
    )
    headers = [
        mailbox_header("From", settings.from_),
        mailbox_header("Reply-To", settings.reply_to) if settings.reply_to else b"",
        text_header("Subject", frame.subject),
        structured_header("Date", email.utils.format_datetime(date)),
        structured_header("MIME-Version", "1.0"),
        text_header("List-Id", settings.list_id) if settings.list_id else b"",
        structured_header("List-Archive", f"<{frame.archive_url}>"),
        structured_header("X-Newsdesk-Issue", rendering.slug),
        structured_header("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        b"\r\n",
        b"This is a multi-part message in MIME format.\r\n",
    ]
    return b"".join(headers), boundary


def _mime_body(
    head: tuple[bytes, str],
    plain_pieces: list[str | tuple[str, str]],
    html_pieces: list[str | tuple[str, str]],
) -> tuple[bytes, list[bytes | tuple[str, str]]]:
    """The shared headers (``head``: the headers and the boundary) split off the rest of
    the message: the two parts, quoted-printable, as static bytes and slots. Adjacent
    static pieces are merged, so personalising joins as few objects as possible."""
    headers, boundary = head
    part_head = (
        '--{b}\r\nContent-Type: text/{t}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    body: list[bytes | tuple[str, str]] = [headers]
    body.append(part_head.format(b=boundary, t="plain").encode("ascii"))
    body += _encode_pieces("plain", plain_pieces)
    body.append(b"\r\n" + part_head.format(b=boundary, t="html").encode("ascii"))
    body += _encode_pieces("html", html_pieces)
    body.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    merged: list[bytes | tuple[str, str]] = []
    for piece in body:
        if isinstance(piece, bytes) and merged and isinstance(merged[-1], bytes):
            merged[-1] = merged[-1] + piece
        else:
            merged.append(piece)
    static_headers = merged.pop(0) if isinstance(merged[0], bytes) else b""
    return static_headers, merged


def _plain_text(
    rendering: IssueRendering, content: str, frame: _Frame, settings: EmailSettings
) -> str:
    """The text/plain part, with the slot markers of :attr:`_Frame.markers`."""
    t, name, markers, site = frame.t, frame.newsletter_name, frame.markers, frame.site
    lines = [name, "=" * len(name), ""]
    meta = []
    if rendering.number is not None:
        meta.append(t("Issue {number}", number=rendering.number))
    meta.append(t.date(rendering.date))
    if rendering.author:
        meta.append(rendering.author)
    lines += [" · ".join(meta), "", one_line(rendering.title), "-" * len(one_line(rendering.title))]
    if rendering.summary:
        lines += ["", one_line(rendering.summary)]
    lines += ["", f"{t('View in browser:')} {rendering.url}"]
    if rendering.pdf_url:
        lines.append(f"{t('Download PDF:')} {rendering.pdf_url}")
    lines += ["", _plain_content(content) if content else ""]
    if rendering.terms:
        glossary = t("Glossary")
        lines += [glossary, "-" * len(glossary), ""]
        for term in rendering.terms:
            head = f"{term.term} ({term.expansion})" if term.expansion else term.term
            lines += [f"{head}: {one_line(term.definition)}", f"  {term.url}", ""]
    lines += [
        "-- ",
        t(
            "You receive {newsletter} because {email} subscribed at {site}.",
            newsletter=name,
            email=markers["email"],
            site=site,
        ).rstrip("."),
        f"{t('Unsubscribe:')} {markers['unsubscribe']}",
    ]
    if settings.postal_address:
        lines.append(one_line(settings.postal_address))
    plain = "\n".join(lines) + "\n"
    if frame.welcome:
        plain = f"{one_line(frame.welcome)}\n\n{plain}"
    if frame.mark:
        plain = f"*** {frame.mark} ***\n\n{plain}"
    return plain
