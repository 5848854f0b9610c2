"""What the core needs from MkDocs, in one place: loading mkdocs.yml and running a build.

Used by the plugin and the command line; the rest of the core never imports MkDocs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from newsdesk.errors import NewsdeskError
from newsdesk.pagecache import capture_logs, replay
from newsdesk.prefill import Prefill, workers_for
from newsdesk.settings import Settings, from_mapping


def settings_from_config(config: Any, plugin_config: Any) -> Settings:
    """Plain :class:`Settings` from MkDocs' validated config and the plugin's options."""
    root = Path(config.config_file_path or "mkdocs.yml").resolve().parent
    return from_mapping(
        _plain(plugin_config),
        root=root,
        site={
            "site_url": config.site_url,
            "site_name": config.site_name,
            "site_dir": config.site_dir,
            "use_directory_urls": config.use_directory_urls,
            "language": _theme_language(config),
            "config_file": config.config_file_path,
        },
    )


def _theme_language(config: Any) -> str:
    """``theme.language`` (Material's default: en)."""
    theme = config.get("theme") if hasattr(config, "get") else None
    try:
        language = theme["language"] if theme is not None else None
    except (KeyError, TypeError):
        language = None
    return str(language or "en")


def _plain(value: Any) -> Any:
    """MkDocs config objects as plain dicts and lists."""
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _load(config_file: Path, **overrides: Any):
    from mkdocs import exceptions
    from mkdocs.config import load_config

    if not config_file.exists():
        raise NewsdeskError("no such file (use -f to name your mkdocs.yml)", config_file)
    # MkDocs logs what is wrong and then aborts with a bare "Aborted with a configuration
    # error!": keep what it logged, so the message says which option and why.
    problems = _Collect()
    logger = logging.getLogger("mkdocs.config")
    logger.addHandler(problems)
    try:
        return load_config(str(config_file), **overrides)
    except (exceptions.ConfigurationError, exceptions.Abort) as exc:
        detail = "; ".join(problems.messages) or str(exc)
        raise NewsdeskError(f"invalid configuration: {detail}", config_file) from None
    finally:
        logger.removeHandler(problems)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def load_settings(config_file: Path) -> Settings:
    """Load and validate ``mkdocs.yml`` (``!ENV`` resolved) and return newsdesk's settings."""
    config = _load(config_file)
    plugin = config.plugins.get("newsdesk")
    if plugin is None:
        raise NewsdeskError("the 'newsdesk' plugin is not listed under 'plugins:'", config_file)
    return settings_from_config(config, plugin.config)


def build_site(config_file: Path, *, quiet: bool = True) -> None:
    """Run ``mkdocs build`` for ``config_file`` in this process."""
    logging.getLogger("mkdocs").setLevel(logging.WARNING if quiet else logging.INFO)
    _run_build(_load(config_file), config_file, "the site build")


def _run_build(config: Any, config_file: Path, what: str) -> None:
    from mkdocs import exceptions
    from mkdocs.commands.build import build

    config.plugins.on_startup(command="build", dirty=False)
    try:
        build(config)
    except exceptions.MkDocsException as exc:
        raise NewsdeskError(f"{what} failed: {exc}", config_file) from None
    finally:
        config.plugins.on_shutdown()


def build_preview(config_file: Path, state_dir: Path) -> Path:
    """Build the site as a preview (drafts and scheduled issues included) into a scratch
    folder, and write every issue's rendering under ``state_dir``; returns that folder
    (read it with :func:`newsdesk.rendering.read_renderings`). The real ``site/`` and the
    renderings ``send`` uses are not touched."""
    import tempfile

    logging.getLogger("mkdocs").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="newsdesk-preview-") as site_dir:
        config = _load(config_file, site_dir=site_dir)
        plugin = config.plugins.get("newsdesk")
        if plugin is None:
            raise NewsdeskError("the 'newsdesk' plugin is not listed under 'plugins:'", config_file)
        plugin.unpublished_to = state_dir
        _run_build(config, config_file, "the preview build")
    return state_dir


# The page cache ---------------------------------------------------------------------------


def page_cache_settings(config: Any) -> dict[str, Any]:
    """What MkDocs' conversion of any page depends on, besides the page (see
    :func:`newsdesk.pagecache.environment_salt`)."""
    validation = config.validation
    theme = config.theme
    return {
        "markdown_extensions": list(config.markdown_extensions),
        "mdx_configs": dict(config.mdx_configs or {}),
        "use_directory_urls": config.use_directory_urls,
        "validation": {
            "links": {k: _plain(v) for k, v in validation.links.items()},
            "nav": {k: _plain(v) for k, v in validation.nav.items()},
        },
        "theme": {"name": theme.name, **{k: _plain(v) for k, v in theme.items()}},
    }


class _RecordingFiles:
    """``files`` as a page's conversion sees it, noting each file it looks up."""

    def __init__(self, files: Any) -> None:
        self._files = files
        self.lookups: dict[str, list[str] | None] = {}

    def get_file_from_path(self, path: str) -> Any:
        file = self._files.get_file_from_path(path)
        self.lookups[path] = _describe(file)
        return file

    def __getattr__(self, name: str) -> Any:
        return getattr(self._files, name)


def _describe(file: Any) -> list[str] | None:
    return None if file is None else [file.url, file.inclusion.name]


def engine_logger() -> str:
    """The logger the build engine logs under: ``mkdocs``, or ``properdocs`` when ProperDocs
    runs the build (its command answers ``import mkdocs`` with itself)."""
    from mkdocs.plugins import BasePlugin

    return BasePlugin.__module__.partition(".")[0]


#: The events of a page's reading and conversion a worker converting pages ahead of the
#: build runs too (:func:`prefill_conversions`).
_PAGE_EVENTS = ("pre_page", "page_read_source", "page_markdown")


def prefill_conversions(config: Any, files: Any, cache: Any, jobs: int) -> Prefill:
    """When the page cache holds fewer conversions (made by this version with these
    settings) than there are pages (a cold build), start worker processes that read and
    convert pages from the last one on, as MkDocs does:
    ``on_pre_page``, the source, ``on_page_markdown``, the conversion
    (:mod:`newsdesk.prefill`). :func:`render_cached` takes each page from them.

    Not when another plugin handles one of those events: a worker would run it too, and
    what another plugin does there may reach beyond the worker's process.
    """
    pages = [f.src_uri for f in files.documentation_pages() if f.page is not None]
    if _others_handle(config, _PAGE_EVENTS) or cache.size("page") >= len(pages):
        return Prefill()

    def work(uri: str) -> None:  # MkDocs' _populate_page up to the conversion
        page = files.get_file_from_path(uri).page
        config._current_page = page
        try:
            page = config.plugins.on_pre_page(page, config=config, files=files)
            page.read_source(config)
            page.markdown = config.plugins.on_page_markdown(
                page.markdown, page=page, config=config, files=files
            )
            page.render(config, files)
        finally:
            config._current_page = None

    return Prefill(pages, work, cache, workers_for(jobs)).start()


def render_cached(page: Any, config: Any, files: Any, *, cache: Any, ahead: Prefill) -> None:
    """``page.render(config, files)``, or its remembered result (a
    :class:`newsdesk.pagecache.PageCache`): content, table of contents, title, anchors and
    anchor links, with the messages the conversion logged logged again. A worker converting
    pages ahead (``ahead``, :func:`prefill_conversions`) may have made that result."""
    from mkdocs.structure.pages import Page

    if page.markdown is None:
        Page.render(page, config, files)  # MkDocs' own error
        return
    ahead.take(page.file.src_uri)
    key = _page_key(page, cache)
    entry = cache.get(key, lambda uri: _describe(files.get_file_from_path(uri)))
    if entry is None:
        _render_and_remember(page, config, files, cache, key)
    else:
        _restore(page, files, entry)


def _page_key(page: Any, cache: Any) -> str:
    """The page cache's key of a page's conversion (see :mod:`newsdesk.pagecache`)."""
    file = page.file
    raw = ""
    if file.abs_src_path:
        try:
            raw = Path(file.abs_src_path).read_text(encoding="utf-8-sig")
        except OSError:
            raw = "\0unreadable"
    return cache.key(
        src_uri=file.src_uri,
        url=file.url,
        inclusion=file.inclusion.name,
        markdown=page.markdown,
        raw=raw,
    )


def _render_and_remember(page: Any, config: Any, files: Any, cache: Any, key: str) -> None:
    """MkDocs' conversion of ``page``, remembered with the files it looked up and what it
    logged."""
    from mkdocs.structure.pages import Page

    from newsdesk.pagecache import PageEntry

    recording = _RecordingFiles(files)
    # The engine's logger does not pass records on to the root logger, where
    # Python-Markdown's and the extensions' end up: both are listened to.
    with capture_logs(engine_logger(), "") as logs:
        Page.render(page, config, recording)
    toc_tokens = _toc_tokens(page)
    links = {
        target.src_uri: dict(anchors) for target, anchors in (page.links_to_anchors or {}).items()
    }
    entry = PageEntry(
        content=page.content,
        toc=toc_tokens,
        title=page._title_from_render,
        anchors=sorted(page.present_anchor_ids or ()),
        links_to_anchors=links,
        lookups=recording.lookups,
        logs=logs.records,
    )
    if toc_tokens is not None:
        cache.put(key, entry)


def _restore(page: Any, files: Any, entry: Any) -> None:
    """``page`` as its remembered conversion left it; what that logged is logged again."""
    from mkdocs.structure.toc import get_toc

    replay(entry.logs)
    page.content = entry.content
    page.toc = get_toc(entry.toc)
    page._title_from_render = entry.title
    page.present_anchor_ids = set(entry.anchors)
    if logging.getLogger("mkdocs.structure.pages").getEffectiveLevel() > logging.DEBUG:
        file = page.file
        page.links_to_anchors = {
            (file if uri == file.src_uri else files.get_file_from_path(uri)): dict(anchors)
            for uri, anchors in entry.links_to_anchors.items()
        }


def _toc_tokens(page: Any) -> list[dict[str, Any]] | None:
    """The page's table of contents as the tokens :func:`get_toc` builds it from, or
    ``None`` when an entry carries more than those hold (then nothing is cached)."""

    def token(link: Any) -> dict[str, Any] | None:
        if set(vars(link)) - {"title", "id", "level", "children", "active"}:
            return None
        children = [token(child) for child in link.children]
        if any(child is None for child in children):
            return None
        return {"level": link.level, "id": link.id, "name": link.title, "children": children}

    tokens = [token(link) for link in page.toc]
    return None if any(t is None for t in tokens) else tokens  # type: ignore[return-value]


# The search index -------------------------------------------------------------------------


def cache_search_entries(config: Any, cache: Any) -> None:
    """Remember what Material's search plugin indexes for each page, across builds.

    Indexing parses every page's final HTML again (``html.parser``): on a rebuild whose
    pages all come from the cache it is the largest part of the build. The plugin's
    ``search_index.add_entry_from_context`` is wrapped for this build so that a page whose
    final content, URL, title, table of contents and search metadata are the same as in an
    earlier build (with the same search settings; the page cache's key covers Material's
    version) gets the same entries without the parse. Nothing is wrapped when the plugin
    is missing or off, or when it reads a dictionary file (jieba) the key cannot know of.
    """
    from newsdesk.pagecache import Unstable, stable_repr

    search = next(
        (p for name, p in config.plugins.items() if name in ("search", "material/search")), None
    )
    index = getattr(search, "search_index", None)
    if index is None or not hasattr(index, "add_entry_from_context"):
        return
    options = dict(search.config)
    if (
        not options.get("enabled", True)
        or options.get("jieba_dict")
        or options.get("jieba_dict_user")
    ):
        return
    try:
        settings = stable_repr(options)
    except Unstable:
        return
    index_page = index.add_entry_from_context

    def add_entry_from_context(page: Any) -> None:
        try:
            meta = stable_repr({k: page.meta.get(k) for k in ("search", "tags", "title")})
        except Unstable:
            index_page(page)
            return
        key = cache.key(
            step="search",
            settings=settings,
            content=page.content or "",
            url=page.url,
            title=str(page.title),
            toc=repr(_toc_items(page.toc)),
            meta=meta,
        )
        data = cache.recall(key)
        if data is not None and isinstance(data.get("entries"), list):
            index.entries.extend(data["entries"])
            return
        before = len(index.entries)
        index_page(page)
        cache.remember(key, {"entries": index.entries[before:]})

    index.add_entry_from_context = add_entry_from_context


#: The event of a page's build (between its context and its template) a worker making
#: pages ahead of the build runs too (:class:`PageBuilding`).
_BUILD_EVENTS = ("page_context",)
#: Plugins whose ``page_context`` a worker runs as well as the build: the search plugins,
#: whose entries reach the build through the page cache.
_SEARCH_PLUGINS = ("material.plugins.search.plugin", "mkdocs.contrib.search")


class PageBuilding:
    """Worker processes making pages' HTML from the theme's template ahead of MkDocs.

    After every page's content is final (``on_env``), workers take the pages from the last
    one on and do what MkDocs' ``_build_page`` does before its ``post_page`` event: the
    page's template context, the ``page_context`` event (the search plugin's entries, which
    reach the build through the page cache) and the template, with what that logged. The
    build goes on from the first page; for a page a worker made, :meth:`take` (from
    newsdesk's ``on_page_context``, which runs before any other plugin's) keeps the
    worker's HTML and logs its messages again, and the environment's templates return that
    HTML instead of rendering the page again. Template output is not cached across builds,
    so warm builds use the workers too.

    A worker's HTML is used only while what the templates read is what the workers read:
    every page's URL, title, content, table of contents and front matter, the navigation
    (the same object), and the settings themes show. Another plugin's ``on_env`` that runs
    after newsdesk's and changes a page (mkdocs-autorefs fixes links there), or a plugin
    that replaces the navigation, makes the build render every page itself.
    """

    def __init__(self) -> None:
        self.ahead = Prefill()
        self.used = 0
        """Pages of this build whose HTML a worker made."""
        self._made: dict[str, str] = {}
        self._nav: Any = None
        self._pages: dict[str, Any] = {}
        self._config: Any = None
        self._state: int | None = None
        """:func:`_site_state` when the workers were forked; ``None`` once checked."""
        self._trusted = False

    def start(
        self,
        config: Any,
        files: Any,
        nav: Any,
        env: Any,
        cache: Any,
        jobs: int,
        before: Callable[[], object] | None = None,
    ) -> None:
        """Fork the workers, unless another plugin handles ``page_context`` (a worker would
        run it too) or this MkDocs has no ``get_context`` to build a page's context with.
        ``before`` is a head start on later work (:attr:`newsdesk.prefill.Prefill.before`).
        For ``mkdocs build`` only: not the live preview, not ``--dirty``."""
        try:
            from mkdocs.commands.build import get_context
            from mkdocs.structure.files import InclusionLevel
        except ImportError:  # pragma: no cover - another engine
            return
        if _others_handle(config, _BUILD_EVENTS, _SEARCH_PLUGINS) or nav is None:
            return
        doc_files = files.documentation_pages(inclusion=InclusionLevel.is_included)
        pages = {f.src_uri: f.page for f in doc_files if f.page is not None}
        render = env.get_template
        logger = engine_logger()

        def work(uri: str) -> tuple[str, list[list[Any]]]:  # _build_page up to post_page
            page = pages[uri]
            config._current_page = page
            page.active = True
            try:
                with capture_logs(logger, "") as logs:
                    context = get_context(nav, doc_files, config, page)
                    template = render(page.meta.get("template", "main.html"))
                    context = config.plugins.on_page_context(
                        context, page=page, config=config, nav=nav
                    )
                    html = template.render(context)
                return html, logs.records
            finally:
                page.active = False
                config._current_page = None

        self._nav, self._pages, self._config = nav, pages, config
        self.used = 0
        self._state = _site_state(pages, nav, config)
        self._trusted = True
        self.ahead = Prefill(list(pages), work, cache, workers_for(jobs), before).start()
        env.get_template = partial(self._template, render)

    def take(self, page: Any, nav: Any) -> None:
        """MkDocs is about to build ``page`` with ``nav``: keep its HTML if a worker made
        it and what the templates read is unchanged since the workers were forked."""
        if self._state is not None:  # the first page: has anything changed since?
            now = _site_state(self._pages, self._nav, self._config)
            self._trusted = now == self._state
            self._state = None
        made = self.ahead.take(page.file.src_uri)  # search entries: keyed, used either way
        if made is None or not self._trusted or nav is not self._nav:
            return
        html, logs = made
        replay(logs)
        self._made[page.file.src_uri] = html
        self.used += 1

    def _template(self, get_template: Any, *args: Any, **kwargs: Any) -> Any:
        return _Made(get_template(*args, **kwargs), self._made)

    def close(self) -> None:
        self.ahead.close()
        self.ahead = Prefill()
        self._made.clear()
        self._pages = {}


def _site_state(pages: dict[str, Any], nav: Any, config: Any) -> int:
    """What a page's template reads besides the page itself, as one number: every page's
    URL, title, content, table of contents and front matter, the navigation object, and
    the settings themes show (``extra``, stylesheets and scripts, the theme's settings)."""
    shown = []
    for uri, page in pages.items():
        toc = repr(_toc_items(page.toc))
        shown.append((uri, page.url, str(page.title), hash(page.content or ""), page.meta, toc))
    settings = tuple(
        repr(config.get(name)) for name in ("extra", "extra_css", "extra_javascript", "theme")
    )
    return hash((id(nav), repr(shown), settings))


class _Made:
    """A theme template that, for a page a worker made, returns the worker's HTML."""

    def __init__(self, template: Any, made: dict[str, str]) -> None:
        self._template = template
        self._made = made

    def render(self, *args: Any, **kwargs: Any) -> str:
        context = args[0] if args else kwargs
        page = context.get("page") if hasattr(context, "get") else None
        file = getattr(page, "file", None)
        made = self._made.pop(file.src_uri, None) if file is not None else None
        return made if made is not None else self._template.render(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._template, name)


def _others_handle(config: Any, events: tuple[str, ...], allowed: tuple[str, ...] = ()) -> bool:
    """Whether a plugin besides newsdesk (and the modules ``allowed``) handles one of
    ``events``: a worker that runs those events would run it too."""
    for event in events:
        for handler in config.plugins.events.get(event, ()):
            module = type(getattr(handler, "__self__", None)).__module__
            if not module.startswith("newsdesk.") and module not in allowed:
                return True
    return False


def _toc_items(toc: Any) -> list[Any]:
    """A table of contents as plain values: each entry's URL, title, level, children."""
    return [(item.url, item.title, item.level, _toc_items(item.children)) for item in toc or ()]
