"""The MkDocs adapter: translates MkDocs events into calls on the newsdesk core.

Nothing here decides what a page says; it only moves files, pages and settings between
MkDocs and :class:`newsdesk.publication.Publication`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from html import escape
from pathlib import Path
from typing import Any

import markdown
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page

from newsdesk import feeds, pages, pdf, sharing
from newsdesk._mkdocs import (
    engine_logger,
    page_cache_settings,
    render_cached,
    settings_from_config,
)
from newsdesk.a11y import theme_fixes
from newsdesk.checks import fence_warning, link_line
from newsdesk.config import NewsdeskConfig
from newsdesk.errors import NewsdeskError
from newsdesk.i18n import fallback_note
from newsdesk.pagecache import PageCache, Unstable, cache_dir, environment_salt
from newsdesk.problems import BANNER_PLACES, BuildLog, banner_html, with_banner
from newsdesk.publication import Publication
from newsdesk.rendering import source_fingerprint, write_renderings

log = logging.getLogger("mkdocs.plugins.newsdesk")
# The logger the build engine logs under: "mkdocs", or "properdocs" when ProperDocs runs the
# build (its `properdocs` command answers `import mkdocs` with itself and makes the
# "mkdocs" logger, ours included, a child of "properdocs").
ENGINE_LOGGER = engine_logger()

ASSETS = Path(__file__).parent / "assets"
SITE_CSS = "assets/newsdesk/newsdesk.css"
SITE_JS = "assets/newsdesk/newsdesk.js"
_MKDOCS_LINK = re.compile(
    r"Doc file '(?P<src>[^']+)' contains (?P<kind>a link to|a link|an unrecognized relative "
    r"link|an absolute link) '(?P<url>[^']+)'(?P<rest>.*)",
    re.S,
)


class _LinkLines(logging.Filter):
    """Gives MkDocs' link warnings the file and line where the author wrote the link.

    MkDocs names only the page (``Doc file 'newsletters/x.md' contains a link …``); this
    finds the link in the source and says ``newsletters/x.md:12: link to 'missing.md': …``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sources: dict[str, str] = {}
        """Page source URI → its file."""
        self.name: Callable[[Path], str] = str
        """The name the author knows a file by (relative to the project)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            message = record.getMessage()
            match = _MKDOCS_LINK.fullmatch(message)
            if match is not None and match.group("src") in self.sources:
                record.msg, record.args = self._describe(match), ()
        return True

    def _describe(self, match: re.Match[str]) -> str:
        path = Path(self.sources[match.group("src")])
        name = self.name(path)
        url, kind, rest = match.group("url"), match.group("kind"), match.group("rest")
        try:
            line = link_line(path.read_text(encoding="utf-8-sig"), url)
        except OSError:
            line = None
        where = f"{name}:{line}" if line else name
        suggestion = ""
        if " Did you mean " in rest:
            rest, suggestion = rest.split(" Did you mean ", 1)
            suggestion = " Did you mean " + suggestion
        if kind == "an unrecognized relative link":
            return (
                f"{where}: link to '{url}' names no page of the site: link to an issue by its "
                "file name (2026-11-19-dns.md) and to a page by its path under docs/ "
                f"(../about.md).{suggestion}"
            )
        if kind == "an absolute link":
            return f"{where}: absolute link '{url}'{rest}{suggestion}"
        if rest.startswith(", but "):
            rest = ": " + rest[len(", but ") :]
        return f"{where}: link to '{url}'{rest}{suggestion}"


_LINK_LINES = _LinkLines()


class NewsdeskPlugin(BasePlugin[NewsdeskConfig]):
    """Builds the newsletter's issue pages, archive, feeds and more from ``newsletters/``."""

    supports_multiple_instances = False

    def __init__(self) -> None:
        self.command = "build"
        self.publication: Publication | None = None
        self.fingerprint: dict[str, Any] = {}
        self.problems = BuildLog()
        """Every warning and error of the current build: the preview's box shows them, and
        each rendering carries those naming its issue (``send`` refuses such an issue)."""
        self.unpublished_to: Path | None = None
        """Set by :func:`newsdesk._mkdocs.build_preview`: a preview build that writes the
        renderings of every issue, drafts and scheduled ones too, under this folder."""
        self._banner_count = 0
        self.page_cache: PageCache | None = None
        self._uncacheable = False

    def load_config(self, options: dict[str, Any], config_file_path: str | None = None):
        errors, warnings = super().load_config(options, config_file_path)
        # A mistyped option silently does nothing; make it an error, not a warning.
        unknown = [(k, w) for k, w in warnings if "Unrecognised configuration name" in str(w)]
        warnings = [w for w in warnings if w not in unknown]
        return errors + [(k, f"{w} (newsdesk)") for k, w in unknown], warnings

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.command = command
        logging.getLogger(f"{ENGINE_LOGGER}.structure.pages").addFilter(_LINK_LINES)
        self.problems.attach(ENGINE_LOGGER)

    def on_shutdown(self) -> None:
        logging.getLogger(f"{ENGINE_LOGGER}.structure.pages").removeFilter(_LINK_LINES)
        self.problems.detach()

    @property
    def preview(self) -> bool:
        return self.command == "serve" or self.unpublished_to is not None

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        if not config.site_url:
            raise PluginError(
                f"{config.config_file_path}: newsdesk needs 'site_url' (the address the site "
                "is published at): feeds, PDFs and emails carry absolute links"
            )
        # A new build (each rebuild of the live preview): its own messages only.
        self.problems.clear()
        self._banner_count = 0
        self.page_cache = None
        self._uncacheable = False
        settings = settings_from_config(config, self.config)
        note = fallback_note(settings.language)
        if note:
            log.info(note)
        pdfs = settings.pdf.enabled and (not self.preview or settings.pdf.on_serve)

        md = markdown.Markdown(
            extensions=config.markdown_extensions, extension_configs=config.mdx_configs
        )

        def markdown_to_html(text: str) -> str:
            return md.reset().convert(text)

        self.publication = Publication(
            settings,
            today=dt.date.today(),
            preview=self.preview,
            pdfs=pdfs,
            markdown_to_html=markdown_to_html,
            markdown_salt=repr(
                (config.markdown_extensions, config.mdx_configs, markdown.__version__)
            ),
        )
        # Taken before the sources are read, so an edit during the build counts as newer.
        self.fingerprint = source_fingerprint(
            settings, Path(config.config_file_path), today=self.publication.today
        )
        if SITE_CSS not in config.extra_css:
            config.extra_css.append(SITE_CSS)
        if SITE_JS not in [str(s) for s in config.extra_javascript]:
            config.extra_javascript.append(SITE_JS)
        return config

    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        pub = self._pub
        try:
            pub.load()
        except NewsdeskError as exc:
            raise PluginError(str(exc)) from None
        # A live preview keeps running: the errors show in the log and on every page.
        for error in pub.errors:
            log.error(str(error))
        self._log_warnings()

        for issue in pub.issues:
            f = File.generated(
                config,
                issue.source,
                abs_src_path=str(issue.path),
                inclusion=InclusionLevel.NOT_IN_NAV,
            )
            f.dest_uri = pub.issue_dest(issue)
            files.append(f)
            if pub.pdf_path(issue):
                pdf = File.generated(config, pub.pdf_source(issue), content=b"")
                pdf.dest_uri = pub.pdf_path(issue)
                files.append(pdf)
        self._add_newsletter_assets(files, config)
        _LINK_LINES.name = pub.settings.relative
        _LINK_LINES.sources = {
            f.src_uri: f.abs_src_path for f in files.documentation_pages() if f.abs_src_path
        }
        files.append(File.generated(config, pages.ARCHIVE_PATH, content=pub.archive_markdown()))
        files.append(File.generated(config, pages.GLOSSARY_PATH, content=pub.glossary_markdown()))
        files.append(File.generated(config, pages.PORTS_PATH, content=pub.ports_markdown()))
        files.append(File.generated(config, SITE_CSS, abs_src_path=str(ASSETS / "newsdesk.css")))
        files.append(File.generated(config, SITE_JS, abs_src_path=str(ASSETS / "newsdesk.js")))
        return files

    def _add_newsletter_assets(self, files: Files, config: MkDocsConfig) -> None:
        for src_uri, path in self._pub.assets():
            files.append(File.generated(config, src_uri, abs_src_path=str(path)))

    def on_pre_page(self, page: Page, config: MkDocsConfig, files: Files) -> Page:
        # Pages whose inputs did not change are not converted again (newsdesk.pagecache).
        cache = self._page_cache(config)
        if cache is not None:
            page.render = partial(render_cached, page, cache=cache)  # type: ignore[method-assign]
        return page

    def _page_cache(self, config: MkDocsConfig) -> PageCache | None:
        settings = self._pub.settings
        if self.page_cache is None and settings.cache and not self._uncacheable:
            try:
                salt = environment_salt(page_cache_settings(config))
            except Unstable as exc:
                log.info(f"newsdesk: pages are not cached: {exc}")
                self._uncacheable = True
                return None
            self.page_cache = PageCache(cache_dir(settings.state_dir), salt)
            self._pub.memo = self.page_cache
        return self.page_cache

    def on_page_markdown(
        self, markdown: str, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        # Themes print these front-matter values into HTML unescaped.
        for key in ("title", "author", "description"):
            if isinstance(page.meta.get(key), str):
                page.meta[key] = escape(page.meta[key])
        source = page.file.src_uri
        if page.file.abs_src_path and self._pub.issue_for_source(source) is None:
            # A hand-written page; issues are checked when they are loaded.
            path = Path(page.file.abs_src_path)
            warning = fence_warning(
                path.read_text(encoding="utf-8-sig"), self._pub.settings.relative(path)
            )
            if warning:
                log.warning(warning)
        return self._pub.expand_markers(markdown, source)

    def on_page_content(self, html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
        self._pub.record(page.file.src_uri, page.url, html)
        return html

    def on_env(self, env, config: MkDocsConfig, files: Files):
        pub = self._pub
        known = len(pub.errors)
        try:
            final = pub.finish()
            late = pub.late_pages()
        except NewsdeskError as exc:
            raise PluginError(str(exc)) from None
        for error in pub.errors[known:]:
            log.error(str(error))
        for file in files.documentation_pages():
            page = file.page
            if page is not None and file.src_uri in final:
                page.content = final[file.src_uri]
        for src_uri, text in late.items():
            file = files.get_file_from_path(src_uri)
            if file is None or file.page is None:
                continue
            # Glossary and ports are made from every other page, so they render last.
            file.page.markdown = text
            file.page.render(config, files)
            file.page.content = pub.finish_late_page(src_uri, file.page.content)
        self._log_warnings()
        return env

    def _log_warnings(self) -> None:
        for note in self._pub.notes:
            log.info(note)  # "newsletters/glossary.yml:12: 'MX record' replaces …"
        self._pub.notes.clear()
        for warning in self._pub.warnings:
            log.warning(warning)
        self._pub.warnings.clear()

    def on_post_page(self, output: str, page: Page, config: MkDocsConfig) -> str:
        pub = self._pub
        head = feeds.head_links(pub.settings.site_url, config.site_name)
        output = output.replace("</head>", head + "</head>", 1)
        share = sharing.page_share_meta(
            pub, page.file.src_uri, page.url, page.title or "", config.site_description or ""
        )
        output = sharing.add_share_meta(output, share)
        return self._banner(theme_fixes(output, search_label=pub.strings("Search")))

    def on_post_template(self, output_content: str, template_name: str, config: MkDocsConfig):
        # The theme's 404 page: what the preview shows for an issue that failed to load.
        if template_name.endswith(".html"):
            label = self._pub.strings("Search")
            return self._banner(theme_fixes(output_content, search_label=label))
        return output_content

    def _banner(self, output: str) -> str:
        """The page with the preview's box of this build's errors and warnings."""
        if self.preview:
            self._banner_count = self.problems.count
            return with_banner(output, banner_html(self.problems.errors, self.problems.warnings))
        if self._pub.errors:  # pragma: no cover - a build with errors stops before pages
            return with_banner(output, banner_html([str(e) for e in self._pub.errors], []))
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
        pub = self._pub
        renderings = pub.renderings()
        site_dir = Path(config.site_dir)
        fg = feeds.build_feed(
            renderings,
            site_url=pub.settings.site_url,
            title=config.site_name,
            description=config.site_description or "",
            limit=pub.settings.feed_limit,
            language=pub.settings.language,
        )
        feeds.write_feeds(fg, site_dir)
        if pub.pdfs:
            self._render_pdfs(renderings, site_dir)
        renderings = [replace(r, problems=self.problems.about(r.source)) for r in renderings]
        if not self.preview:
            write_renderings(pub.settings.state_dir, renderings, self.fingerprint)
        if self.unpublished_to is not None:
            everything = pub.renderings(unpublished=True)
            write_renderings(
                self.unpublished_to,
                [replace(r, problems=self.problems.about(r.source)) for r in everything],
            )
        if self.page_cache is not None:
            self.page_cache.prune()
            log.info(self.page_cache.summary())
        if pub.settings.email.send_on_build and not self.preview:
            self._send(renderings)
        self._refresh_banners(site_dir)

    def _send(self, renderings: list) -> None:
        """``email.send_on_build``: deliver new issues once the site is written."""
        from newsdesk.mail.send import deliver_new_issues

        try:
            report = deliver_new_issues(self._pub.settings, renderings)
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
        settings = self._pub.settings
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

    def on_serve(self, server, config: MkDocsConfig, builder):
        pub = self._pub
        server.watch(str(pub.settings.newsletters_dir))
        if pub.settings.glossary.file.exists():
            server.watch(str(pub.settings.glossary.file))
        return server

    @property
    def _pub(self) -> Publication:
        if self.publication is None:  # pragma: no cover - MkDocs always calls on_config first
            raise PluginError("newsdesk: the plugin was used before its configuration was loaded")
        return self.publication
