"""The print edition: one PDF per published issue, made with WeasyPrint.

Each issue's :class:`~newsdesk.rendering.IssueRendering` is laid into the project's own
print template (``templates/print.html`` with ``assets/print.css``), never Material's
screen page. PDFs are cached under ``cache_dir`` by a key of everything that shapes them,
so a rebuild with nothing changed renders none. The rest run in worker processes, one
per PDF and at most ``jobs`` at a time; a worker that passes the time limit is killed and
its PDF skipped with a warning. Nothing is fetched from the network: the site's own
files are read from ``site_dir``.

One module per job: :mod:`~newsdesk.pdf.body` (the print document),
:mod:`~newsdesk.pdf.render` (WeasyPrint, and its advice about the machine told apart),
:mod:`~newsdesk.pdf.cache`, :mod:`~newsdesk.pdf.workers` (processes and time limits),
:mod:`~newsdesk.pdf.site` (paths in the built site) and :mod:`~newsdesk.pdf.edition`
(the step that uses them all).
"""

from __future__ import annotations

from newsdesk.pdf.body import STYLESHEET, TEMPLATE, print_body, print_html, template_loader
from newsdesk.pdf.cache import setup_fingerprint
from newsdesk.pdf.edition import PdfReport, render_pdfs
from newsdesk.pdf.render import (
    PAPERS,
    PDF_VARIANT,
    SUBSET_ADVICE,
    is_environment_advice,
    write_pdf,
)
from newsdesk.pdf.site import pdf_path

_setup_fingerprint = setup_fingerprint  # its name before the split (tests use it)

__all__ = [
    "PAPERS",
    "PDF_VARIANT",
    "STYLESHEET",
    "SUBSET_ADVICE",
    "TEMPLATE",
    "PdfReport",
    "is_environment_advice",
    "pdf_path",
    "print_body",
    "print_html",
    "render_pdfs",
    "setup_fingerprint",
    "template_loader",
    "write_pdf",
]
