"""Smoke run of the benchmarks: the generator makes a valid project that builds, and every
benchmark entry point runs at a tiny size. The real figures come from ``make bench``."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks import bench_build, bench_linker, bench_pdf, bench_send
from benchmarks.generate import WORK, generate_project, html_pages, make_terms
from bs4 import BeautifulSoup


@pytest.mark.slow
def test_generated_project_builds_with_terms_linked() -> None:
    section = bench_build.run(quick=True)  # builds both sites of 3 issues × 12 terms
    assert len(section.rows) == 1
    assert section.rows[0][-1] == "0"  # the generated project builds without a warning
    assert section.figures["newsdesk_3"] > 0 and section.figures["plain_3"] > 0
    # The page cache's cases ran on both corpora, with every build's peak memory.
    for prefix in ("", "newsletter_"):
        for case in ("warm", "edit", "cold", "first"):
            assert section.figures[f"{prefix}{case}_ratio_3"] > 0, (prefix, case)
        assert section.figures[f"{prefix}peak_mb_3"] > 10
        assert section.figures[f"{prefix}plain_peak_mb_3"] > 10
    assert [table[0][0].split(":")[0] for table in section.tables] == [
        "synthetic issues",
        "real-shaped link digests",
    ]

    root = WORK / "build-3x12"
    site, plain = root / "newsdesk/site", root / "plain/site"
    issue = BeautifulSoup(
        (site / "issues/2026/issue-0003/index.html").read_text(encoding="utf-8"), "html.parser"
    )
    words = len(issue.select_one("article").get_text(" ").split())
    assert 1000 < words < 2500
    assert issue.select("table") and issue.select("pre") and issue.select("ul")
    glossary = BeautifulSoup(
        (site / "glossary/index.html").read_text(encoding="utf-8"), "html.parser"
    )
    # Terms defined in the issues and in glossary.yml are entries; mentions link to them.
    for term in make_terms(12, seed=1):  # as generate_project makes them
        assert glossary.find(id=term.name.lower().replace(" ", "-")) is not None, term.name
    assert issue.select("a.nd-term")
    # The plain site holds the same issues as plain pages, without newsdesk's additions.
    assert len(list((plain / "issues").glob("*/index.html"))) == 4
    assert not (plain / "glossary").exists()


def test_real_shaped_issues_are_link_digests(tmp_path: Path) -> None:
    project = generate_project(tmp_path / "p", 4, 12, shape="newsletter")
    texts = [path.read_text(encoding="utf-8") for path in project.issues[:-1]]  # not the seed
    for text in texts:
        assert 100 <= text.count("](https://") <= 260  # 100–250 links, and a few others
        assert text.count("\n## ") >= 6 and "```" in text
    assert any("\n### " in t for t in texts) and any("\n> " in t for t in texts)
    assert texts == [
        path.read_text(encoding="utf-8")
        for path in generate_project(tmp_path / "q", 4, 12, shape="newsletter").issues[:-1]
    ]
    with pytest.raises(ValueError, match="unknown corpus shape"):
        generate_project(tmp_path / "r", 1, 1, shape="weekly")


def test_terms_and_html_are_deterministic() -> None:
    terms = make_terms(40)
    assert len({t.name.casefold() for t in terms}) == 40
    assert any(t.acronym for t in terms) and any(not t.acronym for t in terms)
    assert make_terms(40) == terms
    pages = html_pages(5000, terms)
    assert sum(len(p) for p in pages) >= 5000
    assert any(t.name in "".join(pages) for t in terms)


def test_linker_benchmark_runs() -> None:
    section = bench_linker.run(quick=True)
    assert [row[0] for row in section.rows] == ["5", "50"]
    assert all(int(row[-1].replace(",", "")) > 0 for row in section.rows)  # links were made


@pytest.mark.slow
def test_send_benchmark_runs() -> None:
    section = bench_send.run(quick=True)
    assert section.figures["rate_5"] > 0 and section.figures["floor_5"] > 0
    assert section.figures["slow_1"] > 0 and section.figures["slow_4"] > 0
    assert "import_seconds" in section.figures
    assert section.figures["signed"] > 0 and section.figures["unsigned"] > 0


@pytest.mark.slow
def test_pdf_benchmark_runs() -> None:
    section = bench_pdf.run(quick=True)
    rebuild = next(row for row in section.rows if row[0].startswith("`mkdocs build` again"))
    assert "0 rendered" in rebuild[2]
    assert section.figures["per_issue_1"] > 0
