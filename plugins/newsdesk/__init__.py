"""newsdesk: one set of Markdown issues becomes a website, a PDF per issue and an email.

The core (issues, glossary, ports, pdf, mail) has no MkDocs imports; ``newsdesk.plugin`` is
the thin MkDocs adapter and ``newsdesk.cli`` the command line.
"""

from newsdesk.errors import NewsdeskError
from newsdesk.issues import Issue, load_issues

__all__ = ["Issue", "NewsdeskError", "load_issues"]
__version__ = "0.1.0"
