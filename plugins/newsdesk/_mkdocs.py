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
        },
    )


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
    try:
        return load_config(str(config_file), **overrides)
    except exceptions.ConfigurationError as exc:
        raise NewsdeskError(f"invalid configuration: {exc}", config_file) from None
    except exceptions.Abort as exc:
        raise NewsdeskError(f"invalid configuration: {exc}", config_file) from None


def load_settings(config_file: Path) -> Settings:
    """Load and validate ``mkdocs.yml`` (``!ENV`` resolved) and return newsdesk's settings."""
    config = _load(config_file)
    plugin = config.plugins.get("newsdesk")
    if plugin is None:
        raise NewsdeskError("the 'newsdesk' plugin is not listed under 'plugins:'", config_file)
    return settings_from_config(config, plugin.config)


def build_site(config_file: Path, *, quiet: bool = True) -> None:
    """Run ``mkdocs build`` for ``config_file`` in this process."""
    from mkdocs import exceptions
    from mkdocs.commands.build import build

    logging.getLogger("mkdocs").setLevel(logging.WARNING if quiet else logging.INFO)
    config = _load(config_file)
    config.plugins.on_startup(command="build", dirty=False)
    try:
        build(config)
    except exceptions.MkDocsException as exc:
        raise NewsdeskError(f"the site build failed: {exc}", config_file) from None
    finally:
        config.plugins.on_shutdown()
