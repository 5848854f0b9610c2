"""An author's first day: a fresh machine, their own issues, their own mistakes.

Real ``mkdocs build --strict`` runs of temporary projects (see ``conftest.py``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import Project

NO_HARFBUZZ_SUBSET = """\
# Written by tests/test_first_day.py: every Python process of the build behaves as on a
# machine without libharfbuzz-subset0, so WeasyPrint logs its fontTools warning.
try:
    import weasyprint.pdf.fonts
except Exception:
    pass
else:
    weasyprint.pdf.fonts.harfbuzz_subset = None
"""


def test_font_advice_is_one_info_line_and_a_strict_build_passes(
    project: Project, tmp_path: Path
) -> None:
    project.config("pdf: {enabled: true, jobs: 1}")
    project.issue(
        "2026-01-05-hello.md", "Hello **bold** and `code`.\n", title="Hello", date="2026-01-05"
    )
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(NO_HARFBUZZ_SUBSET, encoding="utf-8")
    env = {"PYTHONPATH": str(hooks)}

    first = project.build(env=env)
    assert first.ok, first.log
    advice = [line for line in first.log.splitlines() if "HarfBuzz" in line]
    assert len(advice) == 1, first.log
    assert advice[0].startswith("INFO") and "libharfbuzz-subset0" in advice[0]
    assert "WARNING" not in first.log
    assert (first.site / "issues/2026/hello/hello.pdf").read_bytes().startswith(b"%PDF-")
    entry = json.loads((project.root / ".newsdesk/pdf-cache/hello.json").read_text("utf-8"))
    assert entry["warnings"] == []

    again = project.build(env=env)
    assert again.ok, again.log
    assert "PDFs: 0 rendered, 1 reused" in again.log
    assert not re.search("harfbuzz|fonttools", again.log, re.IGNORECASE)
