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

Entries live under ``.newsdesk/page-cache/``, one JSON file each; a build deletes those it
did not use (:meth:`PageCache.prune`), so the folder holds one build's worth.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import shutil
import sys
import threading
import types
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

SCHEMA = 1
FOLDER = "page-cache"
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
    count = sum(1 for _ in folder.glob("*.json"))
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
    """The entries of ``folder``, for the pages of one build (see the module's notes)."""

    def __init__(self, folder: Path, salt: str) -> None:
        self.folder = folder
        self.salt = salt
        self.hits = 0
        self.misses = 0
        self.linked = 0
        """Pages whose glossary links and port tables were made (not recalled) this build."""
        self.relinked = 0
        """Pages whose glossary links and port tables came from the cache."""
        self._used: set[str] = set()
        self._present: set[str] | None = None
        """The names in the folder when it was first read, and those written since."""
        self._made = False
        """Whether the folder exists (made once per build, not once per entry)."""
        self._pending: dict[str, str] = {}
        """Entries handed to the writer and not written yet, by key."""
        self._writer: ThreadPoolExecutor | None = None
        """Writes entries while the build goes on (file writes release the GIL); joined
        by :meth:`flush`."""

    def key(self, **parts: str) -> str:
        digest = hashlib.sha256(self.salt.encode())
        for name in sorted(parts):
            value = parts[name].encode("utf-8", "surrogatepass")
            digest.update(f"\0{name}\0{len(value)}\0".encode())
            digest.update(value)
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def recall(self, key: str) -> dict[str, Any] | None:
        """What :meth:`remember` stored under ``key``, or ``None``."""
        self._used.add(key)
        pending = self._pending.get(key)
        if pending is not None:  # remembered by this build, not written yet
            return json.loads(pending)
        if self._present is None:
            # One listing instead of a failed open per page in a cold build (an entry
            # another process writes meanwhile is only converted again).
            try:
                self._present = set(os.listdir(self.folder))
            except OSError:
                self._present = set()
        if f"{key}.json" not in self._present:
            return None
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def remember(self, key: str, data: dict[str, Any]) -> None:
        """Store ``data`` (JSON-safe) under ``key``; a folder that cannot be written is not
        an error. The file is written in the background: :meth:`flush` waits for it."""
        self._used.add(key)
        text = json.dumps(data, ensure_ascii=False, check_circular=False)
        self._pending[key] = text
        if self._present is not None:
            self._present.add(f"{key}.json")
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="newsdesk-page-cache")
        self._writer.submit(self._write, key, text)

    def _write(self, key: str, text: str) -> None:
        path = self._path(key)
        try:
            if not self._made:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._made = True
            tmp = path.with_name(f"{key}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass
        finally:
            self._pending.pop(key, None)

    def flush(self) -> None:
        """Wait until every entry :meth:`remember` was given is written."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

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
        self.hits += 1
        return entry

    def put(self, key: str, entry: PageEntry) -> None:
        """Store ``entry``."""
        # Not dataclasses.asdict: it deep-copies every table of contents, and the fields are
        # JSON-safe as they are.
        self.remember(key, {f.name: getattr(entry, f.name) for f in fields(entry)})

    def prune(self) -> None:
        """Finish writing, then delete the entries this build did not use."""
        self.flush()
        try:
            names = list(self.folder.iterdir())
        except OSError:
            return
        for path in names:
            if path.suffix == ".json" and path.stem not in self._used:
                path.unlink(missing_ok=True)

    def summary(self) -> str:
        return (
            f"newsdesk: pages: {self.misses} converted, {self.hits} from the cache; "
            f"links and port tables: {self.linked} made, {self.relinked} from the cache"
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
