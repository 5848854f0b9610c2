"""Sending: ``newsdesk send`` to a local aiosmtpd sink in its own process on 127.0.0.1,
against the floor: a plain ``smtplib`` loop sending the same pre-built message over one
reused connection to the same sink.

Figures: messages per second as the sink sees them (first to last message, so both sides'
start-up is left out) and the wall-clock time of each command (start-up included). The
slow sink waits 10 ms before each reply to MAIL, RCPT and end of DATA. Peak memory of
``newsdesk send`` to 100,000 subscribers is the process's maximum resident set size; the
CSV import is ``newsdesk subscribers import`` of 100,000 rows into an empty database.
Targets: one connection ≥ 0.8× the floor; 4 connections ≥ 3× one against the slow sink;
peak memory < 150 MB. DKIM: the same send signed (RSA-2048 and Ed25519, keys in the
environment) against unsigned, over one connection; the aim is ≥ 0.9× (a figure, not a target).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import (
    MKDOCS,
    NEWSDESK,
    Section,
    Target,
    fmt,
    main_for,
    median,
    run_measured,
    run_timed,
    side_by_side,
)
from benchmarks.generate import WORK, generate_project
from benchmarks.sink import Sink

FLOOR_TARGET = 0.8
PARALLEL_TARGET = 3.0
MEMORY_TARGET_MB = 150
SEED_SLUG = "email-servers"


@dataclass
class Plan:
    middle: int = 2000
    middle_runs: int = 5
    large: int = 10_000
    slow: int = 200
    slow_runs: int = 5
    memory: int = 100_000
    csv_rows: int = 100_000
    signed: int = 2000
    signed_runs: int = 5


#: The smoke run: every step once at a tiny size (0 skips a step).
QUICK = Plan(
    middle=5,
    middle_runs=1,
    large=0,
    slow=5,
    slow_runs=1,
    memory=0,
    csv_rows=5,
    signed=5,
    signed_runs=1,
)


class Bench:
    """A small generated project with subscriber databases of each size."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.project = generate_project(root / "project", 2, 6)
        self.config = self.project.config
        run_timed([MKDOCS, "build", "--quiet", "-f", self.config, "-d", root / "project/site"])
        self.dbs = root / "db"
        self.dbs.mkdir(exist_ok=True)
        self.message = root / "message.eml"

    def csv(self, rows: int) -> Path:
        path = self.root / f"subscribers-{rows}.csv"
        if not path.exists():
            with path.open("w", encoding="utf-8") as f:
                f.write("email,name\n")
                for i in range(rows):
                    f.write(f"reader{i:06d}@example.net,Reader {i}\n")
        return path

    def dkim_env(self) -> dict[str, str]:
        """Environment that makes ``newsdesk send`` sign (keys made once, as PEM text)."""
        from newsdesk.mail.dkim import default_key_files, generate_keys

        rsa_file, ed_file = default_key_files(self.root / "dkim", "bench")
        if not rsa_file.exists():
            generate_keys(rsa_file, ed_file)
        return {
            "BENCH_DKIM_DOMAIN": "example.org",
            "BENCH_DKIM_SELECTOR": "bench",
            "NEWSDESK_DKIM_KEY": rsa_file.read_text(),
            "NEWSDESK_DKIM_ED25519_KEY": ed_file.read_text(),
        }

    def env(self, db: Path, port: int | None = None, connections: int = 1) -> dict[str, str]:
        env = {"NEWSDESK_DB": str(db), "BENCH_SMTP_CONNECTIONS": str(connections)}
        if port is not None:
            env |= {
                "NEWSDESK_SMTP_HOST": "127.0.0.1",
                "NEWSDESK_SMTP_PORT": str(port),
                "NEWSDESK_SMTP_SECURITY": "none",
            }
        return env

    def import_csv(self, rows: int, db: Path) -> float:
        """Import ``rows`` subscribers into a new database ``db``; the command's seconds."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        seconds, proc = run_timed(
            [NEWSDESK, "-f", self.config, "subscribers", "import", self.csv(rows)],
            env=self.env(db),
        )
        if f"imported {rows}" not in proc.stdout:
            raise RuntimeError(f"import of {rows} rows: {proc.stdout} {proc.stderr}")
        return seconds

    def template(self, rows: int) -> Path:
        """A database holding ``rows`` active subscribers and no deliveries."""
        db = self.dbs / f"template-{rows}.sqlite3"
        if not db.exists():
            self.import_csv(rows, db)
        return db

    def fresh(self, rows: int) -> Path:
        db = self.dbs / "run.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        shutil.copy(self.template(rows), db)
        return db

    def prepare_message(self) -> Path:
        """The message one subscriber gets, from ``newsdesk preview``: the floor sends it."""
        out = self.root / "preview"
        run_timed(
            [NEWSDESK, "-f", self.config, "preview", SEED_SLUG, "-o", out],
            env=self.env(self.dbs / "preview.sqlite3"),
        )
        eml = next(out.glob("*.eml"))
        shutil.copy(eml, self.message)
        return self.message

    def send(
        self, sink: Sink, rows: int, connections: int, *, signed: bool = False
    ) -> tuple[float, float, int]:
        """``newsdesk send`` to ``rows`` subscribers: (seconds, sink rate, max RSS in KB)."""
        db = self.fresh(rows)
        sink.reset()
        env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", **self.env(db, sink.port, connections)}
        if signed:
            env |= self.dkim_env()
        cmd = [
            str(NEWSDESK),
            "-f",
            str(self.config),
            "send",
            "--issue",
            SEED_SLUG,
            "--no-live-check",
            "--no-check",  # the pre-flight is not sending; measured as before
        ]
        seconds, rss_kb, proc = run_measured(cmd, env=env, check=False)
        if proc.returncode != 0 or f"sent {rows}," not in proc.stdout:
            raise RuntimeError(
                f"newsdesk send ({proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-3000:]}"
            )
        _settle(sink, rows)
        return seconds, sink.rate(), rss_kb

    def floor(self, sink: Sink, rows: int) -> tuple[float, float]:
        """The smtplib loop: (seconds, sink rate)."""
        sink.reset()
        seconds, _ = run_timed(
            [
                str(NEWSDESK.with_name("python")),
                "-m",
                "benchmarks.sink",
                "floor",
                "--port",
                str(sink.port),
                "--count",
                str(rows),
                "--message",
                str(self.message),
            ],
            cwd=Path(__file__).resolve().parent.parent,
        )
        _settle(sink, rows)
        return seconds, sink.rate()


def _settle(sink: Sink, expected: int) -> None:
    deadline = time.monotonic() + 5
    while sink.count < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    if sink.count != expected:
        raise RuntimeError(f"the sink received {sink.count} messages, not {expected}")


def run(quick: bool = False, plan: Plan | None = None) -> Section:
    """Measure sending; return the section for RESULTS.md."""
    started = time.perf_counter()
    plan = plan or (QUICK if quick else Plan())
    section = Section(
        name="send",
        title="3. Sending: newsdesk send against a plain smtplib loop",
        columns=["Case", "Runs", "newsdesk send", "Baseline", "Ratio"],
        quick=quick,
    )
    bench = Bench(WORK / ("send-quick" if quick else "send"))
    bench.prepare_message()
    for rows in {plan.middle, plan.large, plan.slow} - {0}:
        bench.template(rows)

    with Sink() as sink:
        for rows, runs in ((plan.middle, plan.middle_runs), (plan.large, 1)):
            if not rows:
                continue
            nd: list[tuple[float, float, int]] = []
            fl: list[tuple[float, float]] = []

            def newsdesk(_rows: int = rows, _nd: list = nd) -> float:
                _nd.append(bench.send(sink, _rows, 1))
                return _nd[-1][1]

            def baseline(_rows: int = rows, _fl: list = fl) -> float:
                _fl.append(bench.floor(sink, _rows))
                return _fl[-1][1]

            if runs > 1:  # warm-up: a tenth of the messages, each side, not counted
                bench.send(sink, max(rows // 10, 1), 1)
                bench.floor(sink, max(rows // 10, 1))
            rates_nd, rates_fl = side_by_side(newsdesk, baseline, runs=runs, warmup=False)
            ratio = median(rates_nd) / median(rates_fl)
            wall_nd = median([x[0] for x in nd])
            wall_fl = median([x[0] for x in fl])
            section.rows.append(
                [
                    f"{rows:,} subscribers, fast sink, 1 connection: messages/s at the sink",
                    str(runs),
                    f"{median(rates_nd):,.0f}/s",
                    f"{median(rates_fl):,.0f}/s",
                    f"{ratio:.2f}",
                ]
            )
            section.rows.append(
                [
                    f"{rows:,} subscribers, fast sink, 1 connection: command wall time",
                    str(runs),
                    fmt(wall_nd),
                    fmt(wall_fl),
                    f"{wall_fl / wall_nd:.2f}",
                ]
            )
            print(
                f"send {rows}: newsdesk {median(rates_nd):.0f}/s, floor "
                f"{median(rates_fl):.0f}/s ({ratio:.2f}); wall {wall_nd:.1f} s vs "
                f"{wall_fl:.1f} s",
                flush=True,
            )
            section.figures[f"rate_{rows}"] = median(rates_nd)
            section.figures[f"floor_{rows}"] = median(rates_fl)
            section.figures[f"wall_{rows}"] = wall_nd
            if rows == plan.middle and not quick:
                section.targets.append(
                    Target(
                        f"1 connection against the floor ({rows:,} messages, rate)",
                        f"{ratio:.2f}×",
                        f"≥ {FLOOR_TARGET}×",
                        ratio >= FLOOR_TARGET,
                    )
                )

    if plan.signed:
        with Sink() as sink:
            rates_s, rates_u = side_by_side(
                lambda: bench.send(sink, plan.signed, 1, signed=True)[1],
                lambda: bench.send(sink, plan.signed, 1)[1],
                runs=plan.signed_runs,
                warmup=plan.signed_runs > 1,
            )
        ratio = median(rates_s) / median(rates_u)
        section.figures["signed"] = median(rates_s)
        section.figures["unsigned"] = median(rates_u)
        section.rows.append(
            [
                f"{plan.signed:,} subscribers, fast sink, 1 connection: DKIM-signed (RSA + "
                "Ed25519) against unsigned (messages/s)",
                str(plan.signed_runs),
                f"{median(rates_s):,.0f}/s",
                f"{median(rates_u):,.0f}/s",
                f"{ratio:.2f}",
            ]
        )
        if not quick:
            section.targets.append(
                Target(
                    f"DKIM-signed against unsigned sending rate ({plan.signed:,} messages)",
                    f"{ratio:.2f}×",
                    "≥ 0.9× (an aim)",
                    None,
                    figure_only=True,
                )
            )
        print(
            f"send {plan.signed} signed: {median(rates_s):.0f}/s, unsigned "
            f"{median(rates_u):.0f}/s ({ratio:.2f})",
            flush=True,
        )

    with Sink(delay=0.010) as slow:
        one: list[float] = []
        four: list[float] = []

        def single() -> float:
            one.append(bench.send(slow, plan.slow, 1)[1])
            return one[-1]

        def parallel() -> float:
            four.append(bench.send(slow, plan.slow, 4)[1])
            return four[-1]

        r1, r4 = side_by_side(single, parallel, runs=plan.slow_runs, warmup=plan.slow_runs > 1)
        speedup = median(r4) / median(r1)
        section.figures["slow_1"] = median(r1)
        section.figures["slow_4"] = median(r4)
        section.rows.append(
            [
                f"{plan.slow:,} subscribers, sink waiting 10 ms per reply: 4 connections "
                "against 1 (messages/s)",
                str(plan.slow_runs),
                f"{median(r4):,.0f}/s",
                f"{median(r1):,.0f}/s",
                f"{speedup:.2f}",
            ]
        )
        print(f"slow sink: 1 conn {median(r1):.0f}/s, 4 conns {median(r4):.0f}/s", flush=True)
        if not quick:
            section.targets.append(
                Target(
                    "4 connections against 1, slow sink",
                    f"{speedup:.2f}×",
                    f"≥ {PARALLEL_TARGET}×",
                    speedup >= PARALLEL_TARGET,
                )
            )

    if plan.memory:
        with Sink() as sink:
            seconds, rate, rss_kb = bench.send(sink, plan.memory, 4)
            peak = rss_kb / 1024
            section.figures |= {"peak_mb": peak, "memory_rate": rate, "memory_seconds": seconds}
            section.rows.append(
                [
                    f"{plan.memory:,} subscribers, fast sink, 4 connections: peak memory (max RSS)",
                    "1",
                    f"{peak:.0f} MB ({fmt(seconds)}, {rate:,.0f}/s)",
                    "",
                    "",
                ]
            )
            print(
                f"send {plan.memory}: peak {peak:.0f} MB, {seconds:.1f} s, {rate:.0f}/s", flush=True
            )
            if not quick:
                section.targets.append(
                    Target(
                        f"peak memory of newsdesk send, {plan.memory:,} subscribers",
                        f"{peak:.0f} MB",
                        f"< {MEMORY_TARGET_MB} MB",
                        peak < MEMORY_TARGET_MB,
                    )
                )

    seconds = bench.import_csv(plan.csv_rows, bench.dbs / "import.sqlite3")
    section.rows.append(
        [
            f"CSV import of {plan.csv_rows:,} rows (newsdesk subscribers import)",
            "1",
            fmt(seconds),
            "",
            "",
        ]
    )
    print(f"import {plan.csv_rows}: {seconds:.1f} s", flush=True)
    section.figures["import_seconds"] = seconds
    size_kb = bench.message.stat().st_size / 1024
    section.notes.append(
        "The sink is aiosmtpd in a process of its own on 127.0.0.1; both sides send the same "
        f"message (`newsdesk preview` of the seed issue, ~{size_kb:.0f} KB), one recipient each. "
        "On this 2-core machine the sink shares the CPU with the sender, on both sides alike."
    )
    section.seconds = time.perf_counter() - started
    return section


def main() -> None:
    main_for(run, __doc__)


if __name__ == "__main__":
    main()
