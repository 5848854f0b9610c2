"""newsdesk's glossary links and port tables as a Python-Markdown extension.

Without MkDocs::

    import markdown
    from newsdesk.markdown import NewsdeskExtension

    html = markdown.markdown(
        text,
        extensions=["attr_list", "def_list", "tables",
                    NewsdeskExtension(glossary_file="newsletters/glossary.yml")],
    )

or by name, ``extensions=["newsdesk.markdown"]`` with ``extension_configs``. The glossary is
made like the site's: the terms the converted text defines (``**POP** (Post Office
Protocol) – …``), those of the issues in ``newsletters_dir`` when given, and the curated
entries of ``glossary_file``. Mentions link to ``glossary_url#slug`` with the explanation
as their title; ``port 993`` links to the ports page (``ports_url``), and a "Port
reference" table goes where ``<!-- ports -->`` is written or, with ``tables: auto``, at the
end. Problems the site build reports as warnings are kept in ``md.newsdesk_warnings``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markdown import Extension, Markdown
from markdown.postprocessors import Postprocessor
from markdown.preprocessors import Preprocessor

from newsdesk.claims import default_names, named_protocols
from newsdesk.glossary import (
    Glossary,
    build_glossary,
    default_markdown_to_html,
    extract_terms,
    load_glossary_file,
)
from newsdesk.i18n import Strings
from newsdesk.issues import load_issues
from newsdesk.linker import Linker
from newsdesk.ports import Registry, link_port_mentions, load_registry, place_port_tables


class NewsdeskExtension(Extension):
    """Glossary term links and port tables for plain Python-Markdown."""

    def __init__(self, **kwargs: Any) -> None:
        self.config = {
            "glossary_file": ["", "curated glossary (glossary.yml); empty: none"],
            "newsletters_dir": ["", "folder of issues whose terms join the glossary"],
            "root": ["", "project folder that names in messages are relative to"],
            "glossary_url": ["../../../glossary/", "URL of the glossary page"],
            "ports_url": ["../../../ports/", "URL of the ports page"],
            "link": ["first", "link the first mention of a term, or 'all'"],
            "tables": ["auto", "port tables: auto, marker or off"],
            "extra_ports": [[], "rows added to the port registry (as ports.extra)"],
            "source": ["", "the converted file's name, for messages"],
            "language": ["en", "language of newsdesk's own words (en, de, fr, es)"],
        }
        super().__init__(**kwargs)

    def extendMarkdown(self, md: Markdown) -> None:
        md.registerExtension(self)
        keep = _KeepSource(md)
        md.preprocessors.register(keep, "newsdesk_source", 1000)
        # After raw HTML (the <!-- ports --> markers) is put back (priority 30).
        md.postprocessors.register(_Newsdesk(md, self, keep), "newsdesk", 5)
        md.newsdesk_warnings = []  # type: ignore[attr-defined]

    def reset(self) -> None:
        pass


class _KeepSource(Preprocessor):
    def __init__(self, md: Markdown) -> None:
        super().__init__(md)
        self.text = ""

    def run(self, lines: list[str]) -> list[str]:
        self.text = "\n".join(lines)
        return lines


class _Newsdesk(Postprocessor):
    def __init__(self, md: Markdown, ext: NewsdeskExtension, source: _KeepSource) -> None:
        super().__init__(md)
        self.ext = ext
        self.source = source
        self._registry: Registry | None = None

    def option(self, name: str) -> Any:
        return self.ext.getConfig(name)

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = load_registry(self.option("extra_ports") or ())
        return self._registry

    def glossary(self, html: str, source: str) -> Glossary:
        root = Path(self.option("root") or ".")
        extracted = extract_terms(html, source)
        folder = self.option("newsletters_dir")
        if folder:
            for issue in load_issues(Path(folder), root)[0]:
                if issue.source == source:
                    continue
                body = default_markdown_to_html(issue.body)
                extracted += extract_terms(body, issue.source)
        curated = []
        name = self.option("glossary_file")
        if name:
            path = Path(name)
            curated = load_glossary_file(path if path.is_absolute() else root / path, root)
        glossary, warnings = build_glossary(extracted, curated, str(name or "glossary.yml"))
        self.md.newsdesk_warnings += warnings  # type: ignore[attr-defined]
        return glossary

    def run(self, text: str) -> str:
        source = self.option("source") or "document"
        glossary = self.glossary(text, source)
        result = Linker(glossary).link(
            text, glossary_url=self.option("glossary_url"), mode=self.option("link")
        )
        registry = self.registry
        ports_url = self.option("ports_url")
        html = link_port_mentions(result.html, registry, ports_url)

        names = default_names(registry)
        for term in glossary:
            protocol = registry.protocol(term.term)
            if protocol is not None:
                for name in (term.term, *term.aliases, term.expansion):
                    if name:
                        names.setdefault(name, protocol)
        defined = {term.slug for term in glossary if term.source == source}
        unglossed = any(glossary.lookup(p) is None for p in registry.protocols())
        protocols = named_protocols(self.source.text, registry, names) if unglossed else []
        for slug in sorted(set(result.mentions) | defined):
            term = glossary.get(slug)
            protocol = registry.protocol(term.term) if term else None
            if protocol and protocol not in protocols:
                protocols.append(protocol)
        return place_port_tables(
            html,
            protocols,
            registry,
            self.option("tables"),
            ports_url,
            source=source,
            names=names,
            t=Strings(self.option("language")),
        )


def makeExtension(**kwargs: Any) -> NewsdeskExtension:
    """For ``markdown.markdown(text, extensions=["newsdesk.markdown"])``."""
    return NewsdeskExtension(**kwargs)
