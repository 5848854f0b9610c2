"""Accessibility fixes to the theme's page HTML that CSS cannot make.

Found by axe-core in Chromium (``tests/test_a11y.py``); each fix names the rule it answers.
"""

from __future__ import annotations

import re
from html import escape

_SEARCH_DIALOG = re.compile(r'<div class="md-search" data-md-component="search" role="dialog"(?=>)')


def theme_fixes(html: str, *, search_label: str = "Search") -> str:
    """``html`` with Material's search dialog named (axe ``aria-dialog-name``: an element
    with ``role="dialog"`` needs an accessible name)."""
    return _SEARCH_DIALOG.sub(
        lambda m: f'{m.group(0)} aria-label="{escape(search_label)}"', html, count=1
    )
