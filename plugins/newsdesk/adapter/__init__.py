"""The MkDocs boundary: the only package of newsdesk that imports MkDocs.

- :mod:`~newsdesk.adapter.plugin` – the MkDocs plugin: translates MkDocs events into
  calls on the core's build phases, in MkDocs' call order;
- :mod:`~newsdesk.adapter.config` – the typed options of ``mkdocs.yml``, whose defaults are
  the ones :mod:`newsdesk.settings` declares;
- :mod:`~newsdesk.adapter.engine` – what the command line needs from MkDocs: loading
  ``mkdocs.yml``, a build, a preview build that includes drafts.

Material reaches end of life in May 2027 and MkDocs 2.0 drops plugins; the rest of the core
must outlive both, so ruff's banned-import rule (``TID251``) keeps MkDocs out of it. This
package is imported on demand only (by MkDocs through the plugin's entry point, and by the
command line when it builds): importing :mod:`newsdesk` does not import MkDocs.
"""
