"""Run every benchmark, print the tables and write ``benchmarks/RESULTS.md``.

``python -m benchmarks.run`` (``make bench``) runs them all; ``--only build,linker`` runs
some and takes the others' figures from their last run (``benchmarks/work/results/``);
``--report`` only rewrites RESULTS.md from those; ``--quick`` is the tiny smoke run (its
figures are not written to RESULTS.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import bench_build, bench_linker, bench_pdf, bench_send
from benchmarks.common import RESULTS, Section, machine

OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"
TOTAL = RESULTS / "total-seconds.txt"
#: Hand-written: what the profiles of the misses showed (spliced into RESULTS.md).
PROFILES = Path(__file__).resolve().parent / "profiles.md"
BENCHMARKS: dict[str, Callable[[bool], Section]] = {
    "build": bench_build.run,
    "linker": bench_linker.run,
    "send": bench_send.run,
    "pdf": bench_pdf.run,
}


def _stamp(section: Section) -> str:
    path = RESULTS / f"{section.name}.json"
    when = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def report(sections: list[Section], total: float | None) -> str:
    """RESULTS.md from the sections."""
    info = machine()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Benchmarks",
        "",
        f"Written {now} by `python -m benchmarks.run` (`make bench`); each section says "
        "when it was measured.",
        "",
        f"Machine: {info['cores']} cores ({info['cpu']}), {info['memory']} memory, "
        f"Python {info['python']}, {info['system']}.",
        "",
    ]
    if total is None and TOTAL.exists():
        total = float(TOTAL.read_text())
    if total is not None:
        out += [f"The last full `make bench` took {total / 60:.1f} minutes.", ""]
    out += [README, ""]
    out += [
        "## Targets at a glance",
        "",
        "| Benchmark | Target | Measured | Wanted | Met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in sections:
        for t in s.targets:
            out.append(f"| {s.name} | {t.what} | {t.measured} | {t.target} | {t.met_text} |")
    out.append("")
    for s in sections:
        out.append(s.markdown().rstrip())
        commit = f" at commit `{s.commit}`" if s.commit else ""
        out.append(f"_Measured {_stamp(s)}{commit}._")
        out.append("")
    out.append(scale({s.name: s.figures for s in sections}))
    if PROFILES.exists():
        out.append(PROFILES.read_text(encoding="utf-8").rstrip())
        out.append("")
    return "\n".join(out)


def _round(value: float) -> int:
    """Two significant digits: figures from a noisy machine carry no more."""
    return int(float(f"{value:.2g}"))


def _millions(value: float) -> str:
    if value >= 1_000_000:
        return f"about {value / 1_000_000:.1f} million"
    return f"about {_round(value):,}"


def scale(figures: dict[str, dict[str, float]]) -> str:
    """The "scale on paper" section, computed from this run's figures."""
    build = figures.get("build", {})
    send = figures.get("send", {})
    pdf = figures.get("pdf", {})
    out = ["## 5. Scale on paper", ""]
    lines: list[str] = []
    if "newsdesk_1000" in build:
        full = build["newsdesk_1000"]
        lines.append(
            f"- **Publishing**: a full `mkdocs build` of a 1,000-issue site (300 terms, PDFs "
            f"off) takes {full:.0f} s here, so one machine can rebuild it about "
            f"{_round(3600 / full):,} times an hour. Publishing is one rebuild per new issue, so "
            "the build is never what limits a weekly newsletter; it grows about linearly "
            "with the number of issues (see the 100/300/1,000 rows)."
        )
    if "newsletter_newsdesk_1000" in build:
        lines.append(
            f"- **Real-shaped newsletters** (weekly link digests, ~3,000 words an issue): 1,000 "
            f"issues build cold in {build['newsletter_newsdesk_1000']:.0f} s "
            f"(plain Material {build['newsletter_plain_1000']:.0f} s); with the page cache "
            f"warm in {build['newsletter_warm_newsdesk_1000']:.0f} s, and after one edit in "
            f"{build['newsletter_edit_newsdesk_1000']:.0f} s – each save in `mkdocs serve`. "
            f"The build peaks at {build['newsletter_peak_mb_1000']:.0f} MB of memory "
            f"(plain {build['newsletter_plain_peak_mb_1000']:.0f} MB)."
        )
    if "per_issue_1" in pdf:
        per = pdf["per_issue_all"]
        lines.append(
            f"- **PDFs**: {pdf['per_issue_1']:.2f} s per issue in one process, "
            f"{per:.2f} s per issue of wall time on all {pdf['cores']:.0f} cores, so "
            f"about {_round(3600 / per):,} PDFs an hour. Only new or changed issues render (the "
            "cache), so a new issue costs one PDF; a change to the print template re-renders "
            f"all: {1000 * per / 60:.0f} minutes for 1,000 issues here."
        )
    if "rate_2000" in send:
        fast = send["rate_2000"]
        lines.append(
            f"- **Sending, CPU bound**: `newsdesk send` reaches {fast:,.0f} messages/s over one "
            f"connection to a server that answers at once (the sink on this machine), "
            f"{_millions(fast * 3600)} messages an hour; with 4 connections "
            f"{send.get('memory_rate', 0):,.0f}/s ({_millions(send.get('memory_rate', 0) * 3600)}"
            " an hour) in the 100,000-subscriber run. The sink shares these 2 cores, so a real "
            "relay elsewhere leaves the sender more CPU."
        )
    if "slow_4" in send:
        lines.append(
            f"- **Sending, latency bound**: against a server that takes 10 ms per reply, one "
            f"connection makes {send['slow_1']:,.0f} messages/s and 4 connections "
            f"{send['slow_4']:,.0f}/s ({_millions(send['slow_4'] * 3600)} an hour): over the "
            "internet the round trips, not the CPU, set the pace, and `email.smtp.connections` "
            "is the lever. A 100,000-subscriber list at that pace takes "
            f"{100_000 / send['slow_4'] / 60:.0f} minutes."
        )
    if "import_seconds" in send:
        lines.append(
            f"- **Subscribers**: importing 100,000 from CSV takes {send['import_seconds']:.0f} s; "
            f"sending to them peaks at {send.get('peak_mb', 0):.0f} MB of memory."
        )
    lines.append(
        "- **Past one machine: a provider's SMTP relay.** Amazon SES, Postmark and similar "
        "services accept mail over authenticated SMTP with TLS and deliver it from their own "
        "reputation-managed IP addresses; newsdesk then only has to hand messages over. Their "
        "limits map onto two options: the provider's maximum send rate (messages, or for SES "
        "recipients, per second – newsdesk sends one recipient per message, so the two are "
        "the same) goes into `email.smtp.rate`, and the number of simultaneous SMTP "
        "connections the provider allows into `email.smtp.connections`. Example: an SES "
        "account in the sandbox may send 1 message/s and 200 a day (`rate: 1`); out of the "
        "sandbox SES sets a per-account rate shown in its console, which goes into `rate` "
        "as is. At a rate of R messages/s a list of N subscribers takes N/R seconds "
        "(100,000 at 14/s: 2 hours; at 100/s: 17 minutes), and since the measured sender "
        "does hundreds per second, up to that many the provider's rate, not newsdesk, is "
        "the limit. Above that, several connections hide the relay's round trips (the slow-"
        "sink row). A relay that refuses for exceeding its rate answers 4xx, which newsdesk "
        "retries with backoff and, if still refused, leaves pending for the next run "
        "(exit status 75): a `rate` set slightly too high slows the run instead of losing "
        "messages. A daily quota (SES: 200 in the sandbox) must hold the whole list, or the "
        "rest waits for the next day's run."
    )
    out += lines
    out.append("")
    return "\n".join(out)


README = """\
## How to run

`make bench` runs every benchmark below (25–30 minutes on 2 cores) and rewrites this
file. Parts: `.venv/bin/python -m benchmarks.run --only linker` (the others keep their last
figures, each section says when it was measured); one benchmark alone:
`python -m benchmarks.bench_build`, `bench_linker`, `bench_send`, `bench_pdf` (add
`--quick` for a tiny smoke run, as `tests/test_bench_smoke.py` does). Synthetic projects
come from `benchmarks/generate.py` (`python -m benchmarks.generate DIR --issues N --terms M
--plain DIR2`) and are written under `benchmarks/work/` (git-ignored).

Method: every comparison is a ratio of two sides measured in the same run, alternating
which goes first; the middle sizes are medians of at least 5 runs after a warm-up run of
each side, the largest sizes run once (the build's page-cache cases at 1,000 issues: 5
rounds on the synthetic corpus, 3 on the real-shaped one, whose builds take ~3× as long).
Peak memory is each process's maximum resident set size. The machine is shared and noisy:
read the ratios, not the absolute times; a single run at the largest size moves by ±15 %."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help="comma-separated: " + ",".join(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="tiny sizes; no RESULTS.md")
    parser.add_argument("--report", action="store_true", help="only rewrite RESULTS.md")
    args = parser.parse_args(argv)
    names = list(BENCHMARKS) if not args.only else args.only.split(",")
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}")
    started = time.perf_counter()
    failed: list[str] = []
    if not args.report:
        for name in names:
            print(f"== {name}", flush=True)
            try:
                section = BENCHMARKS[name](args.quick)
            except Exception as exc:  # one broken benchmark must not lose the others
                print(f"{name}: FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
                failed.append(name)
                continue
            section.save()
            print(section.markdown(), flush=True)
    total = time.perf_counter() - started if not args.only and not args.report else None
    if total is not None and not args.quick and not failed:
        TOTAL.write_text(f"{total:.1f}")
    if args.quick:
        return 1 if failed else 0
    sections = [
        Section.load(RESULTS / f"{name}.json")
        for name in BENCHMARKS
        if (RESULTS / f"{name}.json").exists()
    ]
    OUTPUT.write_text(report(sections, total), encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
