"""Source checks: unclosed code fences and the line of a link."""

from __future__ import annotations

import pytest

from newsdesk.checks import fence_warning, link_line, unclosed_fence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("```\ncode\n```\n", None),
        ("text\n```python\ncode\n", (2, "```")),
        ("~~~\ncode\n```\n", (1, "~~~")),  # a backtick line does not close a tilde fence
        ("````\n```\nstill code\n````\n", None),  # a shorter fence inside is code
        ("```\ncode\n``` trailing\n", (1, "```")),  # a closing fence carries no info string
        ("``` `inline` ```\n", None),  # inline code, not a fence
        ("- item\n\n    ```\n    code\n    ```\n", None),  # fenced in a list
        ("```\na\n```\n\n~~~~\nb\n", (5, "~~~~")),
    ],
)
def test_unclosed_fence(text: str, expected: tuple[int, str] | None) -> None:
    assert unclosed_fence(text) == expected


def test_fence_warning_names_file_and_line() -> None:
    warning = fence_warning("a\n\n```sh\nls\n", "newsletters/2026-01-01-x.md", first_line=6)
    assert warning is not None
    assert warning.startswith("newsletters/2026-01-01-x.md:8: code block opened with ```")
    assert fence_warning("no code\n", "x.md") is None


def test_link_line_finds_the_written_link() -> None:
    text = (
        "Missing.md is mentioned in prose first.\n"
        'Then [a link](missing.md "title").\n'
        "[ref]: ../dns-email/\n"
        '<a href="raw.html">raw</a>\n'
    )
    assert link_line(text, "missing.md") == 2
    assert link_line(text, "../dns-email/") == 3
    assert link_line(text, "raw.html") == 4
    assert link_line(text, "nowhere.md") is None
