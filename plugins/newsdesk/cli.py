"""The ``newsdesk`` command: subscribers, sending, status and previews of the email edition.

Reads ``./mkdocs.yml`` (``-f`` for another). Exit status: 0 when everything ended, 75
(``EX_TEMPFAIL``) when deliveries wait for the next run, 1 for a configuration or usage
error, reported as a message without a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from newsdesk.errors import EX_ERROR, EX_OK, EX_TEMPFAIL, NewsdeskError
from newsdesk.settings import Settings
from newsdesk.textsafe import spreadsheet_safe, terminal_safe


def load_settings_for(args: argparse.Namespace) -> Settings:
    """The settings of the project named by ``-f`` (default ``./mkdocs.yml``)."""
    from newsdesk.adapter.engine import load_settings

    return load_settings(Path(args.config_file))


def _out(text: str = "", stream: TextIO | None = None) -> None:
    print(text, file=stream or sys.stdout, flush=True)


def _err(text: str) -> None:
    _out(text, sys.stderr)


def _display(settings: Settings, path: Path) -> str:
    return settings.relative(path)


# -- renderings ------------------------------------------------------------------------------


def fresh_renderings(settings: Settings, config_file: Path) -> list:
    """The issues' renderings, running the site build first unless they are current.

    They are current when the last build's stamp holds today's date and the fingerprint of
    the sources as they are now (see :func:`newsdesk.rendering.source_fingerprint`): an
    issue whose date has arrived, an edited, renamed or deleted file all rebuild.
    """
    from newsdesk.rendering import (
        read_renderings,
        renderings_are_current,
        source_fingerprint,
        write_fingerprint,
    )

    if not renderings_are_current(settings, config_file):
        from newsdesk.adapter.engine import build_site

        # Taken before the build reads the sources, so a change during the build is seen
        # by the next run.
        fingerprint = source_fingerprint(settings, config_file)
        _err("newsdesk: building the site first (the renderings are missing or stale)")
        build_site(config_file)
        write_fingerprint(settings.state_dir, fingerprint)
    return read_renderings(settings.state_dir, root=settings.root)


# -- subscribers -----------------------------------------------------------------------------


@contextmanager
def _store(settings: Settings) -> Iterator:
    from newsdesk.mail.store import Store

    database = settings.email.database
    with Store.open(database, display=settings.relative(database)) as store:
        yield store


def _key(settings: Settings) -> bytes:
    """The list's secret: the key of the suppression list's hashes."""
    from newsdesk.mail.tokens import load_secret

    return load_secret(settings.state_dir)


def cmd_import(args: argparse.Namespace) -> int:
    settings = load_settings_for(args)
    path = Path(args.file)
    key = _key(settings)
    with _store(settings) as store:
        result = store.import_csv(
            path, display=args.file, suppression_key=key, reason=args.reason or ""
        )
    for r in result.rejected:
        # The file's text, echoed: escape sequences in it must not reach the terminal.
        _err(terminal_safe(f"{args.file}:{r.line}: {r.email or '(no address)'}: {r.reason}"))
    for r in result.skipped:
        _err(terminal_safe(f"{args.file}:{r.line}: skipped {r.email}: {r.reason}"))
    _out(
        f"imported {result.imported}, already subscribed {result.existing}, "
        f"skipped {len(result.skipped)}, rejected {len(result.rejected)}"
    )
    return EX_ERROR if result.rejected else EX_OK


def cmd_add(args: argparse.Namespace) -> int:
    from newsdesk.mail.addresses import InvalidAddress

    settings = load_settings_for(args)
    address = _address_argument(args.email, "subscribers add")
    key = _key(settings)
    how = "with the person's request: newsdesk subscribers add ADDRESS --resubscribe --reason '…'"
    with _store(settings) as store:
        existing = store.get(address)
        try:
            if args.resubscribe:
                sub = store.resubscribe(address, key, reason=args.reason or "")
                _out(f"resubscribed {sub.email} (active)")
                return EX_OK
            if existing is not None and existing.status in ("unsubscribed", "bounced"):
                raise NewsdeskError(f"{address} is {existing.status}; to bring them back {how}")
            if existing is None and store.is_suppressed(address, key):
                raise NewsdeskError(f"{address} was forgotten on request; {how}")
            sub = store.add(address, args.name or "", source="cli")
            store.record_consent(sub.id, "add", source="cli", reason=args.reason or "")
        except InvalidAddress as exc:
            raise NewsdeskError(f"{_shown(args.email)}: {exc}") from None
    _out(f"added {sub.email} (active)")
    return EX_OK


def cmd_remove(args: argparse.Namespace) -> int:
    settings = load_settings_for(args)
    address = _address_argument(args.email, "subscribers remove")
    with _store(settings) as store:
        sub = store.set_status(address, "unsubscribed", "cli")
    if sub is None:
        raise NewsdeskError(f"{address}: not on the list")
    _out(f"unsubscribed {sub.email} (the record is kept)")
    return EX_OK


def cmd_list(args: argparse.Namespace) -> int:
    settings = load_settings_for(args)
    with _store(settings) as store:
        subs = store.subscribers(args.status)
    # One field per column, each safe to paste into a spreadsheet and to print.
    for s in subs:
        fields = (s.email, s.status, s.created_at, s.source, s.name)
        _out("\t".join(spreadsheet_safe(f) for f in fields))
    return EX_OK


def cmd_show(args: argparse.Namespace) -> int:
    from newsdesk.mail.export import record

    settings = load_settings_for(args)
    address = _address_argument(args.email, "subscribers show")
    with _store(settings) as store:
        sub = store.get(address)
        if sub is None:
            forgotten = store.is_suppressed(address, _key(settings))
            raise NewsdeskError(
                f"{address}: not on the list"
                + (" (forgotten on request: only a keyed hash is kept)" if forgotten else "")
            )
        data = record(store, sub)
    _out(terminal_safe(f"{data['email']}  {data['status']}  since {data['created_at']}"))
    _out(terminal_safe(f"  name: {data['name'] or '-'}; joined through: {data['source']}"))
    _out("consent:")
    for c in data["consents"] or [{"at": "-", "kind": "none on record"}]:
        details = ", ".join(f"{k} {v}" for k, v in c.items() if v and k not in ("at", "kind"))
        _out(terminal_safe(f"  {c['at']}  {c['kind']}" + (f"  ({details})" if details else "")))
    _out("history:")
    for e in data["events"]:
        was = e["old_status"] or "new"
        detail = f"  ({e['detail']})" if e["detail"] else ""
        _out(terminal_safe(f"  {e['at']}  {was} -> {e['new_status']}  by {e['source']}{detail}"))
    return EX_OK


def cmd_export(args: argparse.Namespace) -> int:
    from newsdesk.mail.export import export_csv, export_json

    settings = load_settings_for(args)
    with _store(settings) as store:
        text = (export_json if args.format == "json" else export_csv)(store, args.status)
    if args.output:
        path = Path(args.output)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        except OSError as exc:
            raise NewsdeskError(f"cannot write the export: {exc.strerror or exc}", path) from None
        _err(f"newsdesk: wrote {path} (personal data: mode 0600)")
    else:
        sys.stdout.write(text)
    return EX_OK


def cmd_forget(args: argparse.Namespace) -> int:
    settings = load_settings_for(args)
    address = _address_argument(args.email, "subscribers forget")
    with _store(settings) as store:
        was = store.forget(address, _key(settings))
    if was:
        _out(
            f"forgot {address}: record, history, consent and deliveries erased; a keyed hash "
            "keeps imports and 'add' from bringing the address back"
        )
    else:
        _out(f"{address} was not on the list; its keyed hash is now on the suppression list")
    return EX_OK


# -- send ------------------------------------------------------------------------------------


@contextmanager
def _interruptible(stop: threading.Event) -> Iterator[None]:
    """First Ctrl+C: finish the messages in flight and stop; a second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        _err("\nnewsdesk: stopping after the messages in flight (Ctrl+C again to abort)")
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    tasks: dict[str, object] = {}
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:

        def update(slug: str, done: int, total: int) -> None:
            if slug not in tasks:
                tasks[slug] = bar.add_task(slug, total=total)
            bar.update(tasks[slug], completed=done, total=total)  # type: ignore[arg-type]

        yield update


def cmd_send(args: argparse.Namespace) -> int:
    from newsdesk.mail.lock import SendLocked
    from newsdesk.mail.send import deliver_new_issues

    if args.test:
        return cmd_send_test(args)
    settings = load_settings_for(args)
    renderings = fresh_renderings(settings, Path(args.config_file))
    stop = threading.Event()
    live = False if args.no_live_check else None
    check = None
    if not args.no_check:
        from newsdesk.mail.check import preflight

        check = preflight(settings)
    try:
        with (
            _interruptible(stop),
            _progress(sys.stderr.isatty() and not args.dry_run) as progress,
        ):
            report = deliver_new_issues(
                settings,
                renderings,
                only=args.issue,
                dry_run=args.dry_run,
                live_check=live,
                stop=stop,
                progress=progress,
                preflight=check,
            )
    except SendLocked as exc:
        _err(f"newsdesk: {exc}")
        return EX_TEMPFAIL
    _warn(*dict.fromkeys(report.warnings))
    for note in report.notes:
        _out(note)
    for address, error in report.rejected:
        _out(f"rejected: {address}: {error}")
    if report.fatal:
        _err(f"newsdesk: {report.fatal}")
    if report.interrupted:
        _out("interrupted: the remaining deliveries are recorded as pending")
    _out(report.summary())
    return report.exit_code


def cmd_status(args: argparse.Namespace) -> int:
    settings = load_settings_for(args)
    database = settings.email.database
    if not database.exists():
        # Opening would create it (and its folder): a status query must change nothing.
        _out(f"no subscribers yet ({_display(settings, database)} does not exist)")
        return EX_OK
    with _store(settings) as store:
        counts = store.issue_counts()
        subs = store.counts()
        soft = store.soft_bouncing()
        outbox = store.outbox_counts()
        waiting = _not_sent_yet(settings, store)
    _out(
        "subscribers: "
        + ", ".join(f"{n} {status}" for status, n in subs.items())
        + f" ({_display(settings, settings.email.database)})"
    )
    if soft:
        _out(f"soft bounces: {soft} active subscribers have bounced softly of late")
    if not counts:
        _out("no issue sent yet")
    else:
        width = max(len(c.slug) for c in counts)
        _out(f"{'issue':<{width}}  {'#':>4}  {'state':<8}  recipients  sent  failed  pending")
        for c in counts:
            number = "" if c.number is None else str(c.number)
            _out(
                f"{c.slug:<{width}}  {number:>4}  {c.state:<8}  {c.recipients:>10}  "
                f"{c.sent:>4}  {c.failed:>6}  {c.pending:>7}"
            )
    if outbox:
        _out(
            "outbox copies (rehearsals: nothing was sent): "
            + ", ".join(f"{slug} {n}" for slug, n in sorted(outbox.items()))
            + f" in {_display(settings, settings.email.outbox)}/"
        )
    for line in waiting:
        _out(line)
    return EX_OK


def _not_sent_yet(settings: Settings, store: object) -> list[str]:
    """What the next ``send`` would mail, from the last build's renderings (no build)."""
    from newsdesk.mail.plan import plan_issues
    from newsdesk.rendering import read_renderings

    try:
        renderings = read_renderings(settings.state_dir, root=settings.root)
    except NewsdeskError:
        return []
    plan = plan_issues(store, renderings)  # type: ignore[arg-type]
    lines = []
    if plan.send:
        lines.append(
            "not sent yet: "
            + ", ".join(r.slug for r in plan.send)
            + " (the next 'newsdesk send' mails "
            + ("it" if len(plan.send) == 1 else "them")
            + ")"
        )
    if plan.archive:
        lines.append(
            "back catalogue, never to be mailed: " + ", ".join(r.slug for r in plan.archive)
        )
    return lines


def find_rendering(settings: Settings, config_file: Path, slug: str | None):
    """The rendering of issue ``slug`` (``None``: the newest), drafts and scheduled issues
    included: a published issue comes from the last build, any other from a preview build.
    """
    from newsdesk.adapter.engine import build_preview
    from newsdesk.rendering import read_renderings

    if slug is not None:
        published = fresh_renderings(settings, config_file)
        chosen = next((r for r in published if r.slug == slug), None)
        if chosen is not None:
            return chosen
    _err("newsdesk: building a preview (drafts and scheduled issues included)")
    folder = build_preview(config_file, settings.state_dir / "preview-build")
    every = read_renderings(folder, root=settings.root)
    if slug is None:
        if not every:
            raise NewsdeskError('there is no issue yet (newsdesk new "Title" writes one)')
        return max(every, key=lambda r: (r.date, r.number or 0, r.slug))
    chosen = next((r for r in every if r.slug == slug), None)
    if chosen is None:
        known = ", ".join(r.slug for r in every) or "none"
        raise NewsdeskError(f"no issue '{slug}' (issues: {known})")
    return chosen


def _address_argument(value: str, option: str) -> str:
    from newsdesk.mail.addresses import InvalidAddress, normalise_email

    try:
        return normalise_email(value)
    except InvalidAddress as exc:
        raise NewsdeskError(f"{option} {_shown(value)}: {exc}") from None


def _shown(value: str) -> str:
    """``value`` safe to print on a terminal: control characters escaped."""
    return terminal_safe(value)


def _one_message(settings: Settings, config_file: str, slug: str | None, *, test: bool):
    """The rendering of one issue and its prepared message, for a preview or a test."""
    from newsdesk.mail.render import issue_message

    chosen = find_rendering(settings, Path(config_file), slug)
    prepared = issue_message(settings, chosen, test=test)
    return chosen, prepared


def _throwaway_token() -> str:
    """An unsubscribe token signed with a random key: the links of a preview or a test
    message must never unsubscribe anyone."""
    from newsdesk.mail.tokens import make_token

    return make_token(os.urandom(32), "unsubscribe", 0)


def cmd_preview(args: argparse.Namespace) -> int:
    from newsdesk.mail.render import Recipient

    settings = load_settings_for(args)
    to = _address_argument(args.to, "--to")
    chosen, prepared = _one_message(settings, args.config_file, args.slug, test=False)
    recipient = Recipient(0, to, "Preview Reader")
    token = _throwaway_token()
    out = Path(args.output) if args.output else settings.state_dir / "preview"
    eml = out / f"{chosen.slug}.eml"
    html = out / f"{chosen.slug}.html"
    try:
        out.mkdir(parents=True, exist_ok=True)
        eml.write_bytes(prepared.personalise(recipient, token))
        html.write_text(prepared.html_for(recipient, token), encoding="utf-8")
    except OSError as exc:
        where = exc.filename if isinstance(exc.filename, str) else str(out)
        raise NewsdeskError(
            f"cannot write the preview: {exc.strerror or exc}", _display(settings, Path(where))
        ) from None
    _warn(*prepared.warnings, *chosen.problems)
    _out(
        f"wrote {_display(settings, eml)} and {_display(settings, html)} "
        f"({prepared.html_size // 1024} KB of HTML){_state_note(chosen)}"
    )
    return EX_OK


def _warn(*warnings: str) -> None:
    for warning in warnings:
        _err(f"warning: {warning}")


def _state_note(rendering) -> str:
    if rendering.draft == "draft":
        return " – a draft, marked DRAFT"
    if rendering.draft == "scheduled":
        return f" – scheduled for {rendering.date.isoformat()}, marked SCHEDULED"
    return ""


def cmd_send_test(args: argparse.Namespace) -> int:
    """``send --test ADDRESS``: one message, marked as a test, recorded nowhere."""
    from newsdesk.mail.headers import parse_mailbox
    from newsdesk.mail.render import Recipient
    from newsdesk.mail.transports import DeliveryError, transport_factory

    settings = load_settings_for(args)
    to = _address_argument(args.test, "--test")
    chosen, prepared = _one_message(settings, args.config_file, args.issue, test=True)
    data = prepared.personalise(Recipient(0, to, ""), _throwaway_token())
    make, _ = transport_factory(settings)
    transport = make()
    try:
        transport.send(parse_mailbox(settings.email.from_)[1], to, data)
    except DeliveryError as exc:
        raise NewsdeskError(f"the test message to {to} was not sent: {exc.message}") from None
    finally:
        transport.close()
    _warn(*prepared.warnings, *chosen.problems)
    if settings.email.smtp.host:
        where = f"sent over {settings.email.smtp.host}"
    else:
        where = (
            f"written to the outbox {_display(settings, settings.email.outbox)}/ (no SMTP "
            "server is configured: set NEWSDESK_SMTP_HOST to send)"
        )
    _out(f"test message of {chosen.slug} to {to} {where}{_state_note(chosen)}; not recorded")
    return EX_OK


def cmd_new(args: argparse.Namespace) -> int:
    import datetime as dt

    from newsdesk.scaffold import new_issue

    settings = load_settings_for(args)
    try:
        day = dt.date.fromisoformat(args.date) if args.date else None
    except ValueError:
        raise NewsdeskError(f"--date {_shown(args.date)}: not a date (YYYY-MM-DD)") from None
    try:
        path = new_issue(
            settings.newsletters_dir, args.title, date=day, author=args.author, root=settings.root
        )
    except FileExistsError as exc:
        raise NewsdeskError("the file exists already", str(exc.filename)) from None
    _out(_display(settings, path))
    _err("newsdesk: a draft: write it, look at it with 'make serve', remove 'draft: true'")
    return EX_OK


def cmd_inbox(args: argparse.Namespace) -> int:
    from newsdesk.mail.inbox import inbox_command

    return inbox_command(load_settings_for(args), args.dry_run, if_configured=args.if_configured)


def cmd_dkim_keygen(args: argparse.Namespace) -> int:
    from newsdesk.mail.dkim import check_names, default_key_files, dns_instructions, generate_keys

    check_names(args.selector, args.domain)
    settings = load_settings_for(args)
    rsa_file, ed_file = default_key_files(settings.state_dir, args.selector)
    keys = generate_keys(rsa_file, ed_file)
    _out(
        f"wrote {settings.relative(rsa_file)} and {settings.relative(ed_file)} (mode 0600; "
        "keep them secret, out of version control)\n"
    )
    _out(
        dns_instructions(
            keys, args.selector, args.domain, settings.email.from_, settings.config_name
        )
    )
    return EX_OK


def cmd_check(args: argparse.Namespace) -> int:
    from newsdesk.mail.check import check_issue, next_issue

    settings = load_settings_for(args)
    rendering = next_issue(settings, Path(args.config_file), args.slug)
    findings = check_issue(settings, rendering, online=args.online, dns=args.dns)
    for finding in findings:
        _out(str(finding))
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    _out(f"{rendering.slug}: {errors} errors, {warnings} warnings")
    return EX_ERROR if errors else EX_OK


def cmd_cache_clear(args: argparse.Namespace) -> int:
    from newsdesk import pagecache

    settings = load_settings_for(args)
    count = pagecache.clear(settings.state_dir)
    where = settings.relative(pagecache.cache_dir(settings.state_dir))
    _out(f"newsdesk: cleared the page cache {where}/ ({count} entries)")
    return EX_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from newsdesk.service import serve  # noqa: TID251 - the command line starts the service

    settings = load_settings_for(args)
    serve(settings, host=args.host, port=args.port)
    return EX_OK


# -- the parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with every command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-f",
        "--config-file",
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="the project's mkdocs.yml (default: ./mkdocs.yml)",
    )
    parser = argparse.ArgumentParser(
        prog="newsdesk",
        description="Subscribers and the email edition of a newsdesk newsletter.",
        parents=[common],
    )
    commands = _Commands(
        parser.add_subparsers(dest="command", metavar="COMMAND", required=True), common
    )
    _subscriber_commands(commands)
    _send_commands(commands)
    _issue_commands(commands)
    _mail_commands(commands)
    _upkeep_commands(commands)
    return parser


class _Commands:
    """Adds (sub)commands that all take the common options (``-f``)."""

    def __init__(self, group: argparse._SubParsersAction, common: argparse.ArgumentParser):
        self.group = group
        self.common = common

    def add(
        self, name: str, handler: Callable[[argparse.Namespace], int] | None, **kwargs: str
    ) -> argparse.ArgumentParser:
        """A command ``name`` run by ``handler`` (None: a group of subcommands)."""
        p = self.group.add_parser(name, parents=[self.common], **kwargs)
        if handler is not None:
            p.set_defaults(handler=handler)
        return p

    def actions(self, name: str, **kwargs: str) -> _Commands:
        """A command ``name`` whose subcommands (actions) the result adds."""
        p = self.add(name, None, **kwargs)
        return _Commands(
            p.add_subparsers(dest="action", metavar="ACTION", required=True), self.common
        )


def _flag(p: argparse.ArgumentParser, name: str, help: str) -> None:
    p.add_argument(name, action="store_true", help=help)


# mail.store.STATUSES, written out: importing the store would slow down every command.
_STATUSES = ("pending", "active", "unsubscribed", "bounced")


def _subscriber_commands(commands: _Commands) -> None:
    subs = commands.actions("subscribers", help="manage the subscribers")
    p = subs.add("import", cmd_import, help="import email,name rows from a CSV file")
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--reason", help="where the consent came from (recorded with each person)")
    p = subs.add("add", cmd_add, help="add one subscriber")
    p.add_argument("email")
    p.add_argument("--name", default="")
    p.add_argument("--reason", help="why: the person's request (recorded as consent)")
    _flag(
        p,
        "--resubscribe",
        "bring back someone who unsubscribed, bounced or was forgotten (needs --reason)",
    )
    p = subs.add("show", cmd_show, help="a person's record, consent and history")
    p.add_argument("email")
    p = subs.add("export", cmd_export, help="subscribers with their consent, as CSV or JSON")
    p.add_argument("--status", choices=_STATUSES)
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    p = subs.add(
        "forget", cmd_forget, help="erase a person's data (a keyed hash stops re-adding them)"
    )
    p.add_argument("email")
    p = subs.add("remove", cmd_remove, help="unsubscribe (the record is kept)")
    p.add_argument("email")
    p = subs.add("list", cmd_list, help="one subscriber a line")
    p.add_argument("--status", choices=_STATUSES)


def _send_commands(commands: _Commands) -> None:
    """Sending, its status, and a preview of a message."""
    p = commands.add("send", cmd_send, help="deliver new issues to the subscribers")
    p.add_argument("--issue", metavar="SLUG", help="send this issue (even an archived one)")
    p.add_argument(
        "--test",
        metavar="ADDRESS",
        help="send one message, marked as a test, to ADDRESS only (any issue, drafts "
        "included; default the newest); nothing is recorded",
    )
    _flag(p, "--dry-run", "say what would be sent")
    _flag(p, "--no-live-check", "do not check first that each issue's page is online")
    _flag(
        p,
        "--no-check",
        "do not run the pre-flight check (newsdesk check) before sending over SMTP",
    )
    commands.add("status", cmd_status, help="deliveries per issue")
    p = commands.add(
        "preview",
        cmd_preview,
        help="write an issue's message as .eml and .html (drafts and scheduled issues too)",
    )
    p.add_argument("slug", metavar="SLUG")
    p.add_argument("--to", default="reader@example.org", help="the recipient shown")
    p.add_argument("-o", "--output", metavar="DIR", help="default: .newsdesk/preview")


def _issue_commands(commands: _Commands) -> None:
    p = commands.add("new", cmd_new, help="write a new issue (a draft) and print its path")
    p.add_argument("title")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="default: today")
    p.add_argument("--author")


def _mail_commands(commands: _Commands) -> None:
    """The list's mailbox, the pre-flight check and the DKIM keys."""
    p = commands.add(
        "inbox",
        cmd_inbox,
        help="apply unsubscribe requests and bounces from the list's mailbox",
        description="Read the new messages of email.inbox.url (IMAP or POP3) and apply "
        "unsubscribe requests and bounces to the subscribers.",
    )
    _flag(p, "--dry-run", "say what would change; change and mark nothing")
    _flag(
        p,
        "--if-configured",
        "do nothing (exit 0) when no inbox is configured, as `make publish` runs it",
    )
    p = commands.add(
        "check",
        cmd_check,
        help="pre-flight an issue's email: size, images, links, contrast, unsubscribe, "
        "DKIM, alignment",
        description="Check the email of one issue (default: the next to be sent). Exit 1 "
        "on errors, 0 with warnings only.",
    )
    p.add_argument("slug", nargs="?", metavar="SLUG")
    _flag(p, "--online", "also fetch every link")
    _flag(p, "--dns", "also look up the DKIM, SPF and DMARC records")
    p = commands.actions("dkim", help="DKIM keys for signing the mail").add(
        "keygen",
        cmd_dkim_keygen,
        help="make the RSA and Ed25519 keys and print the DNS records to publish",
        description="Write .newsdesk/dkim/SELECTOR.rsa.key and SELECTOR.ed25519.key (mode "
        "0600, never overwritten) and print the DKIM, SPF and DMARC records to publish.",
    )
    p.add_argument("--selector", required=True, help="e.g. nd1 (a new one to rotate keys)")
    p.add_argument("--domain", required=True, help="the signing domain, that of email.from")


def _upkeep_commands(commands: _Commands) -> None:
    """The page cache and the subscription service."""
    cache = commands.actions(
        "cache",
        help="the build's page cache (.newsdesk/page-cache)",
        description="Pages whose inputs did not change are not converted again "
        "(see 'cache:' in mkdocs.yml); 'clear' forgets them all.",
    )
    cache.add("clear", cmd_cache_clear, help="delete the page cache; the next build converts all")
    p = commands.add("serve", cmd_serve, help="run the subscription service")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8025)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "config_file"):
        args.config_file = "mkdocs.yml"
    try:
        return int(args.handler(args))
    except NewsdeskError as exc:
        _err(f"newsdesk: {exc}")
        return EX_ERROR
    except (OSError, sqlite3.DatabaseError, ValueError) as exc:
        # The last resort for what no command turned into a NewsdeskError: a message, not
        # a traceback.
        _err(f"newsdesk: error: {exc}")
        return EX_ERROR
    except KeyboardInterrupt:
        _err("newsdesk: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
