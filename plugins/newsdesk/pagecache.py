"""Per-page work remembered across builds: a page whose inputs did not change is not
converted from Markdown again.

A front end (the MkDocs adapter, :func:`newsdesk.adapter.engine.render_cached`) asks
:meth:`PageCache.get` before converting a page and hands the result to
:meth:`PageCache.put` after. What a conversion depends on is split in three:

- the **environment**, the same for every page of a build (:func:`environment_salt`): the
  versions of newsdesk (and a digest of its code), MkDocs, Material, Python-Markdown and
  pymdown-extensions, the Markdown extensions with their configuration, link validation
  levels, ``use_directory_urls`` and the theme's settings;
- the **page** itself, part of the entry's name (:meth:`PageCache.key`): its source path,
  URL and inclusion level, the Markdown handed to the converter and the file's raw text
  (warnings name lines counted in the file, front matter included);
- the **links**, checked when an entry is read: every file the conversion looked up (a
  link's target, or a guess for a broken link's suggestion) with the URL and inclusion
  level it had, or its absence. A page is converted again when any of them differs, so
  adding an issue converts no other page, while renaming or deleting one converts the
  pages that link to it.

Warnings and other messages logged while a page was converted are stored with it and
logged again, with the same logger, level and text, when the entry is used: strict builds
and the per-issue problem list (:class:`newsdesk.problems.BuildLog`) see them every time.

Entries are rows of ``.newsdesk/page-cache/entries.sqlite`` (JSON text by key); a build
deletes those it did not use (:meth:`PageCache.prune`), so it holds one build's worth.
When many pages are new (a cold build), worker processes make entries ahead of the build
(:mod:`newsdesk.prefill`) and hand them over (:meth:`PageCache.adopt`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import logging
import platform
import shutil
import sqlite3
import sys
import threading
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

SCHEMA = 1
FOLDER = "page-cache"
#: The database of the entries, in :data:`FOLDER`.
DATABASE = "entries.sqlite"
#: Seconds to wait for a database another build holds locked.
LOCK_WAIT = 30.0
#: SQLite's errors that say the file is not a sound database (a locked or unreadable one
#: is left alone).
DAMAGED = ("SQLITE_NOTADB", "SQLITE_CORRUPT")
#: Characters of remembered entries held before they are saved in one transaction.
SAVE_EVERY = 16_000_000
#: The libraries whose code shapes a page's HTML.
LIBRARIES = ("mkdocs", "mkdocs-material", "markdown", "pymdown-extensions", "pygments")


#: Markdown extensions that read other files while converting a page (snippets, images
#: inlined as base64, includes): what they read is not known in advance, so with any of
#: them the cache is off.
READS_FILES = ("pymdownx.snippets", "pymdownx.b64", "markdown_include", "mdx_include")


class Unstable(ValueError):
    """A setting has no stable text (an object printed with its memory address), or an
    extension reads files the key cannot know of."""


def cache_dir(state_dir: Path) -> Path:
    return state_dir / FOLDER


def clear(state_dir: Path) -> int:
    """Delete the page cache; returns how many entries it held."""
    folder = cache_dir(state_dir)
    if not folder.is_dir():
        return 0
    count = sum(1 for _ in folder.glob("*.json"))  # the cache's earlier form: a file each
    try:
        with contextlib.closing(sqlite3.connect(folder / DATABASE)) as db:
            count += db.execute("SELECT count(*) FROM entries").fetchone()[0]
    except sqlite3.Error:
        pass
    shutil.rmtree(folder, ignore_errors=True)
    return count


def stable_repr(value: Any) -> str:
    """``value`` as text that is the same in every process, for a cache key.

    Functions and classes (``!!python/name:`` in ``mkdocs.yml``) are named by module and
    qualified name (their code is covered by the library versions), Markdown extension
    objects by class and configuration. Anything else whose ``repr`` shows a memory address
    raises :class:`Unstable`: no key, no caching.
    """
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return repr(value)
    if isinstance(value, Path):
        return repr(str(value))
    if isinstance(value, Mapping):
        items = sorted((stable_repr(k), stable_repr(v)) for k, v in value.items())
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(stable_repr(v) for v in value) + "]"
    if isinstance(value, set | frozenset):
        return "{" + ",".join(sorted(stable_repr(v) for v in value)) + "}"
    if isinstance(value, types.FunctionType | types.BuiltinFunctionType | type):
        name = f"{value.__module__}.{value.__qualname__}"
        code = getattr(value, "__code__", None)
        if "<locals>" in name or "<lambda>" in name:
            if code is None:
                raise Unstable(f"a setting has no stable form: {name}")
            # A closure or lambda: its code and constants, not just its name.
            return f"<{name} {hashlib.sha256(code.co_code).hexdigest()} {code.co_consts!r}>"
        return f"<{name}>"
    if isinstance(value, types.MethodType):
        return f"<method {stable_repr(value.__func__)} of {stable_repr(value.__self__)}>"
    get_configs = getattr(value, "getConfigs", None)
    if callable(get_configs):  # a markdown.Extension instance
        cls = type(value)
        return f"<{cls.__module__}.{cls.__qualname__} {stable_repr(get_configs())}>"
    text = repr(value)
    if " at 0x" in text or " object at " in text:
        raise Unstable(f"a setting has no stable form: {text}")
    return f"{type(value).__module__}.{type(value).__qualname__}:{text}"


def code_digest() -> str:
    """A digest of newsdesk's own code and templates: an edited checkout counts as new."""
    root = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".html", ".yml", ".css") and path.is_file():
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "implementation": sys.implementation.name}
    for name in ("newsdesk", *LIBRARIES):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = ""
    return out


def environment_salt(settings: Mapping[str, Any]) -> str:
    """The part of every page's key that is the same for the whole build.

    ``settings`` holds what the front end's conversion depends on (Markdown extensions and
    their configuration, link validation, URL style, theme); versions and newsdesk's code
    digest are added here. Raises :class:`Unstable` when a setting has no stable text.
    """
    for extension in settings.get("markdown_extensions") or ():
        name = extension if isinstance(extension, str) else type(extension).__module__
        if any(name == n or name.startswith(n + ".") for n in READS_FILES):
            raise Unstable(f"the Markdown extension {name} reads other files")
    text = stable_repr(
        {"schema": SCHEMA, "versions": versions(), "code": code_digest(), **settings}
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class PageEntry:
    """What converting one page produced, as the front end needs it back."""

    content: str
    toc: list[Any]
    """The table of contents as the converter's tokens (nested dicts)."""
    title: str | None
    anchors: list[str]
    """The anchor ids the page contains (for other pages' anchor links)."""
    links_to_anchors: dict[str, dict[str, str]]
    """By the source path of the target page: anchor → the link as written."""
    lookups: dict[str, list[str] | None]
    """Each file the conversion looked up → ``[url, inclusion]``, or ``None`` if missing."""
    logs: list[list[Any]] = field(default_factory=list)
    """``[logger name, level, message]`` of what the conversion logged."""


class PageCache:
    """The entries of ``folder``, for the pages of one build (see the module's notes).

    The entries are rows of one SQLite database (:data:`DATABASE`): a cold build makes
    thousands of them, and creating a file each cost more than making most of them.
    """

    def __init__(self, folder: Path, salt: str) -> None:
        self.folder = folder
        self.salt = salt
        self.hits = 0
        self.misses = 0
        self.linked = 0
        """Pages whose glossary links and port tables were made (not recalled) this build."""
        self.relinked = 0
        """Pages whose glossary links and port tables came from the cache."""
        self.ahead = 0
        """Pages converted by worker processes this build (counted as converted)."""
        self._used: set[str] = set()
        self._keys: set[str] | None = None
        """The keys in the database when it was first read, and those remembered since."""
        self._db: sqlite3.Connection | None = None
        """This thread's connection, for reading."""
        self._pending: dict[str, str] = {}
        """Entries remembered and not saved yet, by key. They are saved in batches, one
        transaction each, from the build's own thread (:meth:`flush`): no writer thread
        competes with the build for the GIL."""
        self._pending_size = 0
        self._adopted: dict[str, str | None] = {}
        """Entries a worker process made this build (:mod:`newsdesk.prefill`), by key; the
        text until it is recalled."""
        self._collected: list[tuple[str, str]] | None = None
        """In a worker process: what it remembered, to hand back to the build."""

    def key(self, **parts: str) -> str:
        """The key of an entry made from ``parts`` (``step`` names the build step, the
        page's conversion by default): the step, a prefix of the build's salt, a digest."""
        digest = hashlib.sha256(self.salt.encode())
        for name in sorted(parts):
            value = parts[name].encode("utf-8", "surrogatepass")
            digest.update(f"\0{name}\0{len(value)}\0".encode())
            digest.update(value)
        return f"{self._prefix(parts.get('step', 'page'))}{digest.hexdigest()}"

    def _prefix(self, step: str) -> str:
        return f"{step}-{self.salt[:12]}-"

    def _connect(self) -> sqlite3.Connection | None:
        """A connection to the database, made (and, if damaged, made anew) as needed; ``None``
        when it cannot be opened (a folder that cannot be written, a database another build
        holds locked for long): no cache then, and no error."""
        path = self.folder / DATABASE
        for attempt in (1, 2):
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(path, timeout=LOCK_WAIT)
                try:
                    db.execute("PRAGMA auto_vacuum = INCREMENTAL")
                    db.execute("PRAGMA synchronous = NORMAL")
                    db.execute(
                        "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, data TEXT)"
                    )
                    db.commit()
                except BaseException:
                    db.close()
                    raise
                return db
            except sqlite3.DatabaseError as exc:
                if attempt == 2 or getattr(exc, "sqlite_errorname", "") not in DAMAGED:
                    return None
                try:  # not a database, or a damaged one: start afresh
                    for name in (DATABASE, f"{DATABASE}-journal", f"{DATABASE}-wal"):
                        (self.folder / name).unlink(missing_ok=True)
                except OSError:
                    return None
            except (OSError, sqlite3.Error):
                return None
        return None  # pragma: no cover - the loop returns

    def _reader(self) -> sqlite3.Connection | None:
        if self._db is None and (self.folder / DATABASE).exists():
            self._db = self._connect()
        return self._db

    def _listing(self) -> set[str]:
        if self._keys is None:
            # One query instead of a failed lookup per page in a cold build (an entry
            # another process saves meanwhile is only made again).
            db = self._reader()
            try:
                self._keys = {k for (k,) in db.execute("SELECT key FROM entries")} if db else set()
            except sqlite3.Error:
                self._keys = set()
        return self._keys

    def has(self, key: str) -> bool:
        """Whether an entry for ``key`` exists (without reading it)."""
        return key in self._pending or key in self._adopted or key in self._listing()

    def size(self, step: str = "page") -> int:
        """How many entries of ``step`` made with this build's salt (by this version, with
        these settings) the database held when the build started, plus those since."""
        prefix = self._prefix(step)
        return sum(1 for key in self._listing() if key.startswith(prefix))

    def recall(self, key: str) -> dict[str, Any] | None:
        """What :meth:`remember` stored under ``key``, or ``None``."""
        self._used.add(key)
        text = self._adopted.get(key)
        if text is not None:
            self._adopted[key] = None  # read once; it is saved like any other entry
        else:
            text = self._pending.get(key)  # remembered by this build, not saved yet
        if text is None:
            db = self._reader() if key in self._listing() else None
            if db is None:
                return None
            try:
                row = db.execute("SELECT data FROM entries WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error:
                return None
            if row is None:
                return None
            text = row[0]
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def remember(self, key: str, data: dict[str, Any]) -> None:
        """Store ``data`` (JSON-safe) under ``key``; a folder that cannot be written is not
        an error. The entry is saved with the next batch (:meth:`flush`)."""
        self._used.add(key)
        text = json.dumps(data, ensure_ascii=False, check_circular=False)
        if self._collected is not None:  # in a worker: handed back to the build
            self._collected.append((key, text))
            return
        self._save(key, text)

    def _save(self, key: str, text: str) -> None:
        self._pending[key] = text
        self._listing().add(key)
        self._pending_size += len(text)
        if self._pending_size >= SAVE_EVERY:
            self.flush()

    def flush(self) -> None:
        """Save every entry :meth:`remember` was given (one transaction)."""
        pending, self._pending, self._pending_size = self._pending, {}, 0
        if not pending:
            return
        db = self._reader() or self._connect()
        self._db = db
        if db is None:
            return
        try:
            with db:
                db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?)", pending.items())
        except sqlite3.Error:
            pass  # a full disk, say: the next build makes these again

    def made_ahead(self, key: str) -> bool:
        """Whether the entry for ``key`` was made this build by a worker process."""
        return key in self._adopted

    def adopt(self, entries: list[tuple[str, str]]) -> None:
        """Entries a worker process remembered this build, as (key, JSON text): saved as
        this process's own."""
        for key, text in entries:
            self._adopted[key] = text
            self._save(key, text)

    def work_in_worker(self) -> None:
        """In a forked worker process: collect what is remembered for :meth:`collected`.
        The build's connection is the build's (a connection must not be used across a
        fork): the worker reads through one of its own."""
        self._db = None
        self._pending = {}
        self._collected = []

    def collected(self) -> list[tuple[str, str]]:
        """In a worker: what it remembered since the last call."""
        out, self._collected = self._collected or [], []
        return out

    def get(self, key: str, lookup: Any) -> PageEntry | None:
        """The entry for ``key`` if every file it looked up is still the same.

        ``lookup(uri)`` returns ``[url, inclusion]`` of a file of this build, or ``None``.
        """
        try:
            entry = PageEntry(**(self.recall(key) or {}))
        except TypeError:
            self.misses += 1
            return None
        for uri, seen in entry.lookups.items():
            if lookup(uri) != seen:
                self.misses += 1
                return None
        if self.made_ahead(key):
            self.misses += 1
            self.ahead += 1
        else:
            self.hits += 1
        return entry

    def put(self, key: str, entry: PageEntry) -> None:
        """Store ``entry``."""
        # Not dataclasses.asdict: it deep-copies every table of contents, and the fields are
        # JSON-safe as they are.
        self.remember(key, {f.name: getattr(entry, f.name) for f in fields(entry)})

    def prune(self) -> None:
        """Finish saving, then delete the entries this build did not use."""
        self.flush()
        for old in self.folder.glob("*.json"):  # the cache's earlier form: a file each
            old.unlink(missing_ok=True)
        db = self._reader()
        if db is None:
            return
        try:
            with db:
                db.execute("CREATE TEMP TABLE IF NOT EXISTS used (key TEXT PRIMARY KEY)")
                db.execute("DELETE FROM used")
                db.executemany("INSERT OR IGNORE INTO used VALUES (?)", [(k,) for k in self._used])
                db.execute("DELETE FROM entries WHERE key NOT IN (SELECT key FROM used)")
            free = db.execute("PRAGMA freelist_count").fetchone()[0]
            if free > db.execute("PRAGMA page_count").fetchone()[0] // 2:
                db.execute("PRAGMA incremental_vacuum")
        except sqlite3.Error:
            pass
        finally:
            db.close()
            self._db = None

    def close(self) -> None:
        """Let go of the database without saving (a build that failed)."""
        self._pending, self._pending_size = {}, 0
        if self._db is not None:
            self._db.close()
            self._db = None

    def summary(self, templated: int = 0) -> str:
        """The build's log line; ``templated``: pages worker processes made from the theme's
        template."""
        ahead = ""
        if self.ahead or templated:
            ahead = (
                f"; worker processes: {self.ahead} pages converted, {templated} made from "
                "the theme's template"
            )
        return (
            f"newsdesk: pages: {self.misses} converted, {self.hits} from the cache; "
            f"links and port tables: {self.linked} made, {self.relinked} from the cache{ahead}"
        )


class LogCapture(logging.Handler):
    """Collects what is logged (INFO and above) while a page is converted."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.records: list[list[Any]] = []
        self._thread = threading.get_ident()
        self._last: logging.LogRecord | None = None

    def emit(self, record: logging.LogRecord) -> None:
        # Not another thread's (the live preview's server), and each record once: it
        # reaches every logger we listen on.
        if record.thread != self._thread or record is self._last:
            return
        self._last = record
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to fix
            return
        self.records.append([record.name, record.levelno, message])


@contextmanager
def capture_logs(*logger_names: str) -> Iterator[LogCapture]:
    """Collect what is logged through ``logger_names`` (and their children) meanwhile.

    MkDocs' logger does not pass its records on to the root logger, so name both.
    """
    handler = LogCapture()
    loggers = [logging.getLogger(name) for name in logger_names]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def replay(logs: list[list[Any]]) -> None:
    """Log again what a cached conversion logged: same logger, level and text."""
    for name, level, message in logs:
        logging.getLogger(name).log(level, message)
