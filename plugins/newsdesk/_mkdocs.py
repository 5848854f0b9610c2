"""What the core needs from MkDocs, in one place: loading mkdocs.yml and running a build.

Used by the plugin and the command line; the rest of the core never imports MkDocs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from newsdesk.errors import NewsdeskError
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
