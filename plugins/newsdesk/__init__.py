"""newsdesk: one set of Markdown issues becomes a website, a PDF per issue and an email.

The core (issues, glossary, ports, pdf, mail) has no MkDocs imports; :mod:`newsdesk.adapter`
is the thin MkDocs adapter and :mod:`newsdesk.cli` the command line. ``ARCHITECTURE.md``
at the project's root shows how data flows between them.
"""

from newsdesk.errors import NewsdeskError
from newsdesk.issues import Issue, load_issues

__all__ = ["Issue", "NewsdeskError", "load_issues"]
__version__ = "0.1.0"
