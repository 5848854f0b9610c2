"""The on-disk render cache: same output, less work, no growth."""

from __future__ import annotations

from pathlib import Path

from newsdesk.cache import RenderCache


def test_render_cache_remembers_across_builds_and_forgets_unused(tmp_path: Path) -> None:
    calls: list[str] = []

    def render(text: str) -> str:
        calls.append(text)
        return f"<p>{text}</p>"

    path = tmp_path / "cache" / "definitions.json"
    first = RenderCache(render, path, salt="ext-a")
    assert [first("one"), first("two")] == ["<p>one</p>", "<p>two</p>"]
    first.save()
    second = RenderCache(render, path, salt="ext-a")
    assert second("one") == "<p>one</p>"
    assert calls == ["one", "two"], "the second build renders nothing again"
    second.save()
    third = RenderCache(render, path, salt="ext-a")
    third("two")
    assert calls == ["one", "two", "two"], "'two' was not used by the second build: forgotten"
    other = RenderCache(render, path, salt="ext-b")
    other("one")
    assert calls[-1] == "one", "other Markdown extensions: rendered again"


def test_a_damaged_cache_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "definitions.json"
    path.write_text("{not json")
    cache = RenderCache(lambda t: t.upper(), path)
    assert cache("x") == "X"
    cache.save()
    assert RenderCache(lambda t: "changed", path)("x") == "X"
