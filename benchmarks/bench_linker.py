"""The glossary linker on 10 MB of issue HTML with 30, 300 and 3,000 terms, against a naive
baseline: one ``re.sub`` per term over the whole page, skipping nothing.

The corpus is content HTML rendered with the site's Markdown extensions: about 1 MB of
distinct synthetic issues, repeated with the mentions shifted to other terms until it
reaches 10 MB, so every term count sees the same text and the same number of mentions.
Both sides are rates (MB/s): the naive baseline is linear in the size by construction, so
it is measured on a slice of the corpus (the full 10 MB at 300 terms would take ~2 min a
run); the slice sizes are in the table. Targets: ≥ 10× the naive rate at 300 terms; time
at 3,000 terms ≤ 1.5× the time at 30.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
from pathlib import Path

from benchmarks import generate
from benchmarks.common import Section, Target, main_for, median
from benchmarks.generate import WORK, SyntheticTerm, html_pages, make_terms

MB = 1_000_000
FULL_SIZE = 10 * MB
DISTINCT = 1 * MB
VOCABULARY = 3000
#: terms: (naive slice in bytes, linker runs, naive runs)
FULL = {30: (2 * MB, 5, 3), 300: (MB // 2, 5, 5), 3000: (MB // 10, 5, 1)}
QUICK = {5: (20_000, 1, 1), 50: (20_000, 1, 1)}
_PLACEHOLDER = re.compile(r"NDTERM(\d+)X")


def _corpus_template(distinct: int, seed: int = 2) -> list[str]:
    """Distinct pages whose mentions are placeholders ``NDTERM<k>X``; cached in work/."""
    # Keyed by the generator's source too, so a changed generator makes a new corpus.
    version = hashlib.sha256(Path(generate.__file__).read_bytes()).hexdigest()[:12]
    path = WORK / f"linker-corpus-{distinct}-{seed}-{version}.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    placeholders = [SyntheticTerm(f"NDTERM{k}X", "", "", ()) for k in range(VOCABULARY)]
    pages = html_pages(distinct, placeholders, seed)
    WORK.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(pages), encoding="utf-8")
    return pages


def corpus(terms: list[SyntheticTerm], size: int, distinct: int) -> list[str]:
    """Pages adding up to ``size`` bytes, mentioning ``terms`` (repeats shift the terms)."""
    template = _corpus_template(distinct)
    count = len(terms)
    pages: list[str] = []
    total = 0
    rep = 0
    while total < size:
        for page in template:
            shift = rep * 7919

            def name(m: re.Match[str], _shift: int = shift) -> str:
                term = terms[(int(m.group(1)) + _shift) % count]
                k = int(m.group(1))
                # Every tenth mention of a term with an alias uses the alias.
                if term.aliases and k % 10 == 0:
                    return term.aliases[0]
                return term.name

            text = _PLACEHOLDER.sub(name, page)
            pages.append(text)
            total += len(text.encode("utf-8"))
            if total >= size:
                break
        rep += 1
    return pages


def make_glossary(terms: list[SyntheticTerm]):  # -> newsdesk.glossary.Glossary
    """The synthetic terms as a newsdesk glossary."""
    from newsdesk.glossary import Glossary, Term, slugify

    return Glossary(
        Term(
            term=t.name,
            slug=slugify(t.name),
            expansion=t.expansion,
            aliases=t.aliases,
            definition_html=html.escape(t.definition),
            source="newsletters/glossary.yml",
        )
        for t in terms
    )


def naive_linker(terms: list[SyntheticTerm]):
    """The baseline: one compiled pattern per term, applied one after another."""
    subs = []
    for t in terms:
        flags = 0 if t.name.isupper() else re.I
        pattern = re.compile(r"\b" + re.escape(t.name) + r"(?:s|'s)?\b", flags)
        title = html.escape(t.definition, quote=True)
        repl = f'<a class="nd-term" href="../glossary/#{t.name.lower()}" title="{title}">\\g<0></a>'
        subs.append((pattern, repl))

    def link(page: str) -> str:
        for pattern, repl in subs:
            page = pattern.sub(repl, page)
        return page

    return link


def _size(pages: list[str]) -> int:
    return sum(len(p.encode("utf-8")) for p in pages)


def run(quick: bool = False, plan: dict[int, tuple[int, int, int]] | None = None) -> Section:
    """Measure each term count; return the section for RESULTS.md."""
    from newsdesk.linker import Linker

    started = time.perf_counter()
    plan = plan or (QUICK if quick else FULL)
    size = 40_000 if quick else FULL_SIZE
    distinct = 20_000 if quick else DISTINCT
    vocabulary = make_terms(max(plan), seed=0)
    section = Section(
        name="linker",
        title="2. Glossary linker against one re.sub per term",
        columns=[
            "Terms",
            "Linker: MB",
            "Linker time",
            "Linker MB/s",
            "Naive: MB",
            "Naive MB/s",
            "Speed-up",
            "Automaton build",
            "Links made",
        ],
        quick=quick,
    )
    cases = []
    for count, (naive_bytes, runs, naive_runs) in plan.items():
        terms = vocabulary[:count]
        pages = corpus(terms, size, distinct)
        sample: list[str] = []
        for page in pages:
            if _size(sample) >= naive_bytes:
                break
            sample.append(page)
        built = time.perf_counter()
        linker = Linker(make_glossary(terms))
        build_seconds = time.perf_counter() - built
        cases.append(
            (count, pages, sample, linker, naive_linker(terms), runs, naive_runs, build_seconds)
        )

    links: dict[int, int] = {}

    def fast(count: int, pages: list[str], linker: Linker) -> float:
        t0 = time.perf_counter()
        n = 0
        for page in pages:
            n += len(linker.link(page, glossary_url="../glossary/").mentions)
        links[count] = n
        return time.perf_counter() - t0

    def slow(pages: list[str], naive) -> float:
        t0 = time.perf_counter()
        for page in pages:
            naive(page)
        return time.perf_counter() - t0

    # Rounds: every term count in turn (the order reversed each round), each linker run
    # followed by a naive run of the same count while that count still needs some.
    fast_times: dict[int, list[float]] = {c[0]: [] for c in cases}
    slow_times: dict[int, list[float]] = {c[0]: [] for c in cases}
    if not quick:
        for count, pages, sample, linker, naive, _runs, naive_runs, _b in cases:
            fast(count, pages, linker)
            if naive_runs > 1:
                slow(sample, naive)
    for r in range(max(max(c[5], c[6]) for c in cases)):
        for count, pages, sample, linker, naive, runs, naive_runs, _b in (
            cases if r % 2 == 0 else cases[::-1]
        ):
            if r < runs:
                fast_times[count].append(fast(count, pages, linker))
            if r < naive_runs:
                slow_times[count].append(slow(sample, naive))

    times: dict[int, float] = {}
    speedups: dict[int, float] = {}
    for count, pages, sample, _linker, _naive, _runs, _nr, build_seconds in cases:
        total, sample_size = _size(pages), _size(sample)
        t_fast, t_slow = median(fast_times[count]), median(slow_times[count])
        rate_fast = total / MB / t_fast
        rate_slow = sample_size / MB / t_slow
        times[count] = t_fast
        speedups[count] = rate_fast / rate_slow
        section.figures[f"mbps_{count}"] = rate_fast
        section.figures[f"naive_mbps_{count}"] = rate_slow
        section.rows.append(
            [
                f"{count:,}",
                f"{total / MB:.2f}",
                f"{t_fast:.2f} s (median of {len(fast_times[count])})",
                f"{rate_fast:.1f}",
                f"{sample_size / MB:.2f}",
                f"{rate_slow:.3f} (median of {len(slow_times[count])})",
                f"{rate_fast / rate_slow:,.0f}×",
                f"{build_seconds * 1000:.0f} ms",
                f"{links[count]:,}",
            ]
        )
        print(
            f"linker {count} terms: {rate_fast:.1f} MB/s, naive {rate_slow:.3f} MB/s, "
            f"{rate_fast / rate_slow:.0f}x",
            flush=True,
        )
    if not quick:
        section.targets.append(
            Target(
                "linker against naive at 300 terms",
                f"{speedups[300]:,.0f}×",
                "≥ 10×",
                speedups[300] >= 10,
            )
        )
        growth = times[3000] / times[30]
        section.targets.append(
            Target("time at 3,000 terms / time at 30", f"{growth:.2f}", "≤ 1.5", growth <= 1.5)
        )
    section.notes.append(
        "The linker runs `newsdesk.linker.Linker.link(page, glossary_url=…)` page by page "
        "(mode `first`), the way the build calls it; the automaton build is separate. The naive "
        "baseline is one compiled `re.sub` per term (case-insensitive except acronyms, with "
        "plural and possessive endings) on each page, skipping nothing – which also makes it "
        "wrong (it links inside code, links and attributes); it is the speed floor a "
        "straightforward implementation starts from. Linker and naive runs alternate, and "
        "so do the term counts (round by round, in reversed order every other round). "
        "`Links made` differs between term counts because mode `first` links each term once "
        "per page: more distinct terms, more links."
    )
    section.seconds = time.perf_counter() - started
    return section


def main() -> None:
    main_for(run, __doc__)


if __name__ == "__main__":
    main()
