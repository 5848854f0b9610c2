"""The MkDocs adapter: translates MkDocs events into calls on the newsdesk core.

Nothing here decides what a page says; it only moves files, pages and settings between
MkDocs and the build's phases, and hands each phase's value to the next:

- ``on_files``: :func:`newsdesk.sources.read_sources` → :class:`~newsdesk.sources.Sources`
  (the issues become MkDocs files);
- ``on_nav``: in a cold build, worker processes start converting pages
  (:func:`newsdesk.adapter.engine.prefill_conversions`);
- ``on_page_content``: each page's rendered HTML is kept as a
  :class:`~newsdesk.siteindex.RenderedPage`;
- ``on_env`` (every page rendered): :func:`newsdesk.siteindex.index_site` →
  :class:`~newsdesk.siteindex.SiteIndex`; :func:`newsdesk.finishing.finish_pages` →
  each page's final content; :func:`newsdesk.latepages.late_pages` → the glossary and
  ports pages, rendered here and finished by :func:`newsdesk.latepages.finish_late_page`;
- ``on_post_build``: :func:`newsdesk.editions.issue_renderings` → feeds, PDFs, the
  renderings the email is made from.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from html import escape
from pathlib import Path
from typing import Any

import markdown
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page

from newsdesk import feeds, pages, pdf, sharing
from newsdesk.a11y import theme_fixes
from newsdesk.adapter.config import NewsdeskConfig
from newsdesk.adapter.engine import (
    PageBuilding,
    cache_search_entries,
    engine_logger,
    page_cache_settings,
    prefill_conversions,
    render_cached,
    settings_from_config,
)
from newsdesk.checks import LinkLines, fence_warning
from newsdesk.editions import issue_renderings
from newsdesk.errors import NewsdeskError
from newsdesk.finishing import FinishedPage, finish_pages
from newsdesk.i18n import fallback_note
from newsdesk.latepages import finish_late_page, late_pages, stand_in_markdown
from newsdesk.pagecache import PageCache, Unstable, cache_dir, environment_salt
from newsdesk.prefill import Prefill
from newsdesk.problems import BANNER_PLACES, BuildLog, banner_html, with_banner
from newsdesk.rendering import (
    IssueRendering,
    source_fingerprint,
    write_fingerprint,
    write_renderings,
)
from newsdesk.siteindex import RenderedPage, SiteIndex, index_site
from newsdesk.sources import Site, Sources, read_sources

log = logging.getLogger("mkdocs.plugins.newsdesk")
# The logger the build engine logs under: "mkdocs", or "properdocs" when ProperDocs runs the
# build (its `properdocs` command answers `import mkdocs` with itself and makes the
# "mkdocs" logger, ours included, a child of "properdocs").
ENGINE_LOGGER = engine_logger()

ASSETS = Path(__file__).parent.parent / "assets"
SITE_CSS = "assets/newsdesk/newsdesk.css"
SITE_JS = "assets/newsdesk/newsdesk.js"
_LINK_LINES = LinkLines()


class NewsdeskPlugin(BasePlugin[NewsdeskConfig]):
    """Builds the newsletter's issue pages, archive, feeds and more from ``newsletters/``.

    The hooks are listed in MkDocs' call order. Between events the plugin holds only the
    values the phases returned (``site``, ``sources``, ``rendered``, ``index``,
    ``finished``), each replaced at the start of every build.
    """

    supports_multiple_instances = False

    def __init__(self) -> None:
        self.command = "build"
        self.dirty = False
        self.site: Site | None = None
        self.sources: Sources | None = None
        self.rendered: dict[str, RenderedPage] = {}
        self.index: SiteIndex | None = None
        self.finished: dict[str, FinishedPage] = {}
        self.renderings: list[IssueRendering] = []
        self.fingerprint: dict[str, Any] = {}
        self.problems = BuildLog()
        """Every warning and error of the current build: the preview's box shows them, and
        each rendering carries those naming its issue (``send`` refuses such an issue)."""
        self.unpublished_to: Path | None = None
        """Set by :func:`newsdesk.adapter.engine.build_preview`: a preview build that writes the
        renderings of every issue, drafts and scheduled ones too, under this folder."""
        self._banner_count = 0
        self.page_cache: PageCache | None = None
        self._uncacheable = False
        self._converting = Prefill()
        """Worker processes converting pages ahead of MkDocs (a cold build)."""
        self._building = PageBuilding()
        """Worker processes making pages from the theme's template ahead of MkDocs."""
        self._nav: Any = None

    def load_config(self, options: dict[str, Any], config_file_path: str | None = None):
        """MkDocs validates the plugin's options: a mistyped option is an error here, not
        a warning that silently does nothing."""
        errors, warnings = super().load_config(options, config_file_path)
        unknown = [(k, w) for k, w in warnings if "Unrecognised configuration name" in str(w)]
        warnings = [w for w in warnings if w not in unknown]
        return errors + [(k, f"{w} (newsdesk)") for k, w in unknown], warnings

    def on_startup(self, *, command: str, dirty: bool) -> None:
        """Once per ``mkdocs`` command: remember it (``serve`` previews drafts) and start
        listening to the engine's log (link lines, the build log)."""
        self.command = command
        self.dirty = dirty
        logging.getLogger(f"{ENGINE_LOGGER}.structure.pages").addFilter(_LINK_LINES)
        self.problems.attach(ENGINE_LOGGER)

    def on_shutdown(self) -> None:
        """The command ends: stop listening to the engine's log."""
        logging.getLogger(f"{ENGINE_LOGGER}.structure.pages").removeFilter(_LINK_LINES)
        self.problems.detach()

    @property
    def preview(self) -> bool:
        return self.command == "serve" or self.unpublished_to is not None

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        """Each build starts here: the settings become a :class:`~newsdesk.sources.Site`;
        newsdesk's stylesheet and script join the theme's."""
        if not config.site_url:
            raise PluginError(
                f"{config.config_file_path}: newsdesk needs 'site_url' (the address the site "
                "is published at): feeds, PDFs and emails carry absolute links"
            )
        # A new build (each rebuild of the live preview): its own messages and values only.
        self.problems.clear()
        self._banner_count = 0
        self.page_cache = None
        self._uncacheable = False
        self._stop_workers()
        self.sources, self.index, self.rendered, self.finished = None, None, {}, {}
        self.renderings = []
        settings = settings_from_config(config, self.config)
        note = fallback_note(settings.language)
        if note:
            log.info(note)
        md = markdown.Markdown(
            extensions=config.markdown_extensions, extension_configs=config.mdx_configs
        )

        def markdown_to_html(text: str) -> str:
            return md.reset().convert(text)

        self.site = Site(
            settings,
            today=dt.date.today(),
            preview=self.preview,
            pdfs=settings.pdf.enabled and (not self.preview or settings.pdf.on_serve),
            markdown_to_html=markdown_to_html,
            markdown_salt=repr(
                (config.markdown_extensions, config.mdx_configs, markdown.__version__)
            ),
        )
        # Taken before the sources are read, so an edit during the build counts as newer.
        self.fingerprint = source_fingerprint(
            settings, Path(config.config_file_path), today=self.site.today
        )
        if SITE_CSS not in config.extra_css:
            config.extra_css.append(SITE_CSS)
        if SITE_JS not in [str(s) for s in config.extra_javascript]:
            config.extra_javascript.append(SITE_JS)
        return config

    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        """Phase 1, reading the sources: each shown issue (and its PDF, its images) becomes
        a file of the site, and the generated pages join them."""
        site = self._site
        try:
            sources = self.sources = read_sources(site)
        except NewsdeskError as exc:
            raise PluginError(str(exc)) from None
        # A live preview keeps running: the errors show in the log and on every page.
        for error in sources.errors:
            log.error(str(error))
        self._log(warnings=sources.warnings)
        for issue in sources.issues:
            f = File.generated(
                config,
                issue.source,
                abs_src_path=str(issue.path),
                inclusion=InclusionLevel.NOT_IN_NAV,
            )
            f.dest_uri = site.issue_dest(issue)
            files.append(f)
            if site.pdf_path(issue):
                pdf = File.generated(config, site.pdf_source(issue), content=b"")
                pdf.dest_uri = site.pdf_path(issue)
                files.append(pdf)
        for src_uri, path in sources.assets():
            files.append(File.generated(config, src_uri, abs_src_path=str(path)))
        _LINK_LINES.name = site.settings.relative
        _LINK_LINES.sources = {
            f.src_uri: f.abs_src_path for f in files.documentation_pages() if f.abs_src_path
        }
        files.append(
            File.generated(config, pages.ARCHIVE_PATH, content=pages.archive_page(sources))
        )
        for late in (pages.GLOSSARY_PATH, pages.PORTS_PATH):
            files.append(
                File.generated(config, late, content=stand_in_markdown(late, site.strings))
            )
        files.append(File.generated(config, SITE_CSS, abs_src_path=str(ASSETS / "newsdesk.css")))
        files.append(File.generated(config, SITE_JS, abs_src_path=str(ASSETS / "newsdesk.js")))
        return files

    def on_nav(self, nav, config: MkDocsConfig, files: Files):
        """Every page is known, none read yet: when the page cache lacks many pages (a cold
        build), worker processes start converting them from the last one on."""
        self._nav = nav
        cache = self._page_cache(config)
        if cache is not None and not self.dirty:  # --dirty converts only edited pages
            self._converting = prefill_conversions(config, files, cache, self._site.settings.jobs)
        return nav

    def on_pre_page(self, page: Page, config: MkDocsConfig, files: Files) -> Page:
        """Before a page is rendered: pages whose inputs did not change are not converted
        again (:mod:`newsdesk.pagecache`), nor those a worker converted."""
        cache = self._page_cache(config)
        if cache is not None:
            page.render = partial(  # type: ignore[method-assign]
                render_cached, page, cache=cache, ahead=self._converting
            )
        return page

    def _page_cache(self, config: MkDocsConfig) -> PageCache | None:
        settings = self._site.settings
        if self.page_cache is None and settings.cache and not self._uncacheable:
            try:
                salt = environment_salt(page_cache_settings(config))
            except Unstable as exc:
                log.info(f"newsdesk: pages are not cached: {exc}")
                self._uncacheable = True
                return None
            self.page_cache = PageCache(cache_dir(settings.state_dir), salt)
        return self.page_cache

    def on_page_markdown(
        self, markdown: str, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        """A page's Markdown: escape what themes print raw, check a hand-written page's
        fences, fill the home-page and sign-up markers."""
        for key in ("title", "author", "description"):
            if isinstance(page.meta.get(key), str):
                page.meta[key] = escape(page.meta[key])
        sources = self._sources
        source = page.file.src_uri
        if page.file.abs_src_path and sources.issue_for_source(source) is None:
            # A hand-written page; issues are checked when they are loaded.
            path = Path(page.file.abs_src_path)
            warning = fence_warning(
                path.read_text(encoding="utf-8-sig"), sources.settings.relative(path)
            )
            if warning:
                log.warning(warning)
        return pages.expand_markers(markdown, source, sources)

    def on_page_content(self, html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        """A page's rendered HTML is kept until every page is rendered (phase 2 needs the
        terms every issue defines)."""
        self.rendered[page.file.src_uri] = RenderedPage(page.file.src_uri, page.url, html)
        return html

    def on_env(self, env, config: MkDocsConfig, files: Files):
        """Every page is rendered: phase 2 indexes the site, phase 3 finishes each page,
        phase 4 makes the glossary and ports pages, which are rendered here."""
        self._converting.close()
        try:
            index = self.index = index_site(self._sources, self.rendered, self.page_cache)
            self.finished = finish_pages(self.rendered, index, self.page_cache)
            late = late_pages(index, self.finished)
        except NewsdeskError as exc:
            raise PluginError(str(exc)) from None
        for error in index.errors:
            log.error(str(error))
        for file in files.documentation_pages():
            page = file.page
            if page is not None and file.src_uri in self.finished:
                page.content = self.finished[file.src_uri].content
        for src_uri, text in late.markdown.items():
            file = files.get_file_from_path(src_uri)
            if file is None or file.page is None:
                continue
            file.page.markdown = text
            file.page.render(config, files)
            file.page.content = finish_late_page(
                src_uri, file.page.url, file.page.content, index, late
            )
        self._log(notes=index.notes, warnings=index.warnings + late.warnings)
        self.rendered = {}  # finished: MkDocs holds each page's content from here on
        if self.page_cache is not None:
            # Every page's content is final from here: the search plugin indexes it next,
            cache_search_entries(config, self.page_cache)
        if self.page_cache is not None and not self.preview and not self.dirty:
            # and worker processes can make pages from the theme's template (`mkdocs build`
            # only: the preview builds drafts too, --dirty only edited pages).
            self._building.start(
                config,
                files,
                self._nav,
                env,
                self.page_cache,
                self._site.settings.jobs,
                before=self._renderings_head_start(),
            )
        return env

    def _renderings_head_start(self) -> Callable[[], object] | None:
        """The renderings as this build knows them so far, written by a worker while MkDocs
        makes the pages; ``on_post_build`` writes again only those that differ (a problem
        found since), and stamps them. Until then the stamp says the sources are unknown,
        so ``newsdesk send`` does not take what a failed build left for current."""
        if self.preview or self.index is None:
            return None
        write_fingerprint(self._site.settings.state_dir, None)
        self.renderings = issue_renderings(self.index, self.finished)
        known = [replace(r, problems=self.problems.about(r.source)) for r in self.renderings]
        return partial(write_renderings, self._site.settings.state_dir, known, stamp=False)

    @event_priority(100)  # before the search plugin's: it finds a worker's entries then
    def on_page_context(self, context, page: Page, config: MkDocsConfig, nav):
        """MkDocs is about to make a page from the theme's template: if a worker made it,
        its HTML and search entries are taken."""
        self._building.take(page, nav)
        return context

    def _log(self, *, notes: tuple[str, ...] = (), warnings: tuple[str, ...] = ()) -> None:
        for note in notes:
            log.info(note)  # "newsletters/glossary.yml:12: 'MX record' replaces …"
        for warning in warnings:
            log.warning(warning)

    def on_post_page(self, output: str, page: Page, config: MkDocsConfig) -> str:
        """A page's whole HTML: feed links, sharing metadata, the theme's accessibility
        fixes and, in a preview, the box of this build's problems."""
        site = self._site
        head = feeds.head_links(site.settings.site_url, config.site_name)
        output = output.replace("</head>", head + "</head>", 1)
        share = sharing.page_share_meta(
            self._sources,
            page.file.src_uri,
            page.url,
            page.title or "",
            config.site_description or "",
        )
        output = sharing.add_share_meta(output, share)
        return self._banner(theme_fixes(output, search_label=site.strings("Search")))

    def on_post_template(self, output_content: str, template_name: str, config: MkDocsConfig):
        """A page of the theme's own (its 404 page: what the preview shows for an issue
        that failed to load) gets the same fixes and box."""
        if template_name.endswith(".html"):
            label = self._site.strings("Search")
            return self._banner(theme_fixes(output_content, search_label=label))
        return output_content

    def _banner(self, output: str) -> str:
        """The page with the preview's box of this build's errors and warnings."""
        if self.preview:
            self._banner_count = self.problems.count
            return with_banner(output, banner_html(self.problems.errors, self.problems.warnings))
        return output

    def _refresh_banners(self, site_dir: Path) -> None:
        """Pages are written before MkDocs checks anchors and before the PDFs: when that
        brought new messages, the preview's pages get the whole list."""
        if not self.preview or self.problems.count == self._banner_count:
            return
        banner = banner_html(self.problems.errors, self.problems.warnings)
        for path in site_dir.rglob("*.html"):
            text = path.read_text(encoding="utf-8")
            if any(place in text for place in BANNER_PLACES):
                path.write_text(with_banner(text, banner), encoding="utf-8")
        self._banner_count = self.problems.count

    def on_post_build(self, config: MkDocsConfig) -> None:
        """The site is written: phase 5 makes the renderings, from which the feeds, the
        PDFs and (with ``send_on_build``) the emails are made."""
        made_ahead = self._building.used
        self._building.close()
        site, index = self._site, self.index
        if index is None:  # pragma: no cover - MkDocs calls on_env before on_post_build
            return
        renderings = self.renderings or issue_renderings(index, self.finished)
        site_dir = Path(config.site_dir)
        fg = feeds.build_feed(
            renderings,
            site_url=site.settings.site_url,
            title=config.site_name,
            description=config.site_description or "",
            limit=site.settings.feed_limit,
            language=site.settings.language,
        )
        feeds.write_feeds(fg, site_dir)
        if site.pdfs:
            self._render_pdfs(renderings, site_dir)
        renderings = [replace(r, problems=self.problems.about(r.source)) for r in renderings]
        if not self.preview:
            write_renderings(site.settings.state_dir, renderings, self.fingerprint)
        if self.unpublished_to is not None:
            everything = issue_renderings(index, self.finished, unpublished=True)
            write_renderings(
                self.unpublished_to,
                [replace(r, problems=self.problems.about(r.source)) for r in everything],
            )
        if self.page_cache is not None:
            self.page_cache.prune()
            log.info(self.page_cache.summary(made_ahead))
        if site.settings.email.send_on_build and not self.preview:
            self._send(renderings)
        self._refresh_banners(site_dir)

    def _send(self, renderings: list) -> None:
        """``email.send_on_build``: deliver new issues once the site is written."""
        from newsdesk.mail.send import deliver_new_issues

        try:
            report = deliver_new_issues(self._site.settings, renderings)
        except NewsdeskError as exc:
            raise PluginError(f"newsdesk: sending failed: {exc}") from None
        for note in report.notes:
            log.info(f"newsdesk: {note}")
        for slug in report.refused:
            log.warning(f"newsdesk: {slug} was not mailed: the strict build does not accept it")
        for warning in report.warnings:
            log.warning(warning)
        log.info(f"newsdesk: {report.summary()}")

    def _render_pdfs(self, renderings: list, site_dir: Path) -> None:
        settings = self._site.settings
        report = pdf.render_pdfs(
            renderings,
            site_dir=site_dir,
            site_url=settings.site_url,
            cache_dir=settings.state_dir / "pdf-cache",
            paper=settings.pdf.paper,
            timeout=settings.pdf.timeout,
            jobs=settings.pdf.jobs,
            newsletter_name=settings.newsletter_name,
            overrides=settings.template_overrides,
        )
        for message in report.warnings + report.errors:
            log.warning(message)
        if report.advice_line:
            log.info(report.advice_line)
        log.info(report.summary)

    def on_build_error(self, error: Exception) -> None:
        """The build failed: stop the worker processes, let go of the page cache."""
        self._stop_workers()
        if self.page_cache is not None:
            self.page_cache.close()

    def _stop_workers(self) -> None:
        self._converting.close()
        self._building.close()
        self._converting = Prefill()

    def on_serve(self, server, config: MkDocsConfig, builder):
        """``mkdocs serve``: watch the newsletters folder and the glossary file too."""
        settings = self._site.settings
        server.watch(str(settings.newsletters_dir))
        if settings.glossary.file.exists():
            server.watch(str(settings.glossary.file))
        return server

    @property
    def _site(self) -> Site:
        if self.site is None:  # pragma: no cover - MkDocs always calls on_config first
            raise PluginError("newsdesk: the plugin was used before its configuration was loaded")
        return self.site

    @property
    def _sources(self) -> Sources:
        if self.sources is None:  # pragma: no cover - MkDocs calls on_files first
            raise PluginError("newsdesk: a page was rendered before the sources were read")
        return self.sources
