"""What every benchmark shares: timing side by side, figures, and their JSON records."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.generate import WORK

BIN = Path(sys.executable).parent
MKDOCS = BIN / "mkdocs"
NEWSDESK = BIN / "newsdesk"
RESULTS = WORK / "results"


@dataclass
class Target:
    """A target of issue 9 and whether this run met it."""

    what: str
    measured: str
    target: str
    met: bool | None
    """``None`` when the figure could not be measured."""
    figure_only: bool = False
    """A figure the issue asks to report, without a limit: its Met column says so."""

    @property
    def met_text(self) -> str:
        """The Met column: yes, **no**, not measured, or a dash for a figure only."""
        if self.figure_only:
            return "– (a figure)"
        if self.met is None:
            return "not measured"
        return "yes" if self.met else "**no**"


@dataclass
class Section:
    """One benchmark's results: a table, targets and notes, ready for RESULTS.md."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    """Named figures for the scale-on-paper estimates."""
    tables: list[list[list[str]]] = field(default_factory=list)
    """More tables after the first, each a list of rows whose first row is the header."""
    seconds: float = 0.0
    quick: bool = False
    commit: str = ""
    """The commit measured (``+`` when the working tree had changes)."""

    def save(self) -> Path:
        """Write the section to ``work/results/<name>.json`` for :mod:`benchmarks.run`."""
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.commit = self.commit or _commit()
        path = RESULTS / f"{self.name}{'-quick' if self.quick else ''}.json"
        path.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> Section:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["targets"] = [Target(**t) for t in data.get("targets", [])]
        return cls(**data)

    def markdown(self) -> str:
        """The section as Markdown: table, targets, notes."""
        out = [f"## {self.title}", ""]
        if self.rows:
            out.append("| " + " | ".join(self.columns) + " |")
            out.append("|" + "|".join(" --- " for _ in self.columns) + "|")
            out += ["| " + " | ".join(row) + " |" for row in self.rows]
            out.append("")
        for header, *rows in self.tables:
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "|".join(" --- " for _ in header) + "|")
            out += ["| " + " | ".join(row) + " |" for row in rows]
            out.append("")
        if self.targets:
            out += ["| Target | Measured | Wanted | Met |", "| --- | --- | --- | --- |"]
            for t in self.targets:
                out.append(f"| {t.what} | {t.measured} | {t.target} | {t.met_text} |")
            out.append("")
        out += [f"- {note}" for note in self.notes]
        if self.notes:
            out.append("")
        out.append(f"_This benchmark took {self.seconds:.0f} s._")
        out.append("")
        return "\n".join(out)


def _commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "plugins"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return ""
    return head + ("+" if dirty else "")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def side_by_side(
    first: Callable[[], float],
    second: Callable[[], float],
    *,
    runs: int,
    warmup: bool = True,
) -> tuple[list[float], list[float]]:
    """Run two measurements ``runs`` times each, alternating which goes first.

    Each callable returns its own figure (usually seconds). A warm-up run of each comes
    first when ``warmup``; its figures are dropped.
    """
    if warmup:
        first()
        second()
    a: list[float] = []
    b: list[float] = []
    for i in range(runs):
        if i % 2 == 0:
            a.append(first())
            b.append(second())
        else:
            b.append(second())
            a.append(first())
    return a, b


def run_timed(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run a command; return its wall-clock seconds and the finished process."""
    seconds, _, proc = run_measured(cmd, env=env, cwd=cwd, check=check)
    return seconds, proc


def run_measured(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    cpu: list[float] | None = None,
) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """Run a command; return its wall-clock seconds, its peak memory (maximum resident set
    size in KiB, of the process or its largest waited-for child) and the finished process.
    With ``cpu``, its CPU seconds (user + system, its waited-for children's included: a
    build's worker processes) are appended to it.

    The process is reaped with ``os.wait4``, whose usage is that one process's (unlike
    ``RUSAGE_CHILDREN``, the maximum over every child this process ever had). Its output
    goes to temporary files, so a chatty command cannot fill a pipe and block.
    """
    full_env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})}
    args = [str(c) for c in cmd]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(args, env=full_env, cwd=cwd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        proc = subprocess.CompletedProcess(args, child.returncode, out.read(), err.read())
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}"
            f"\n{proc.stderr[-4000:]}"
        )
    if cpu is not None:
        cpu.append(usage.ru_utime + usage.ru_stime)
    return seconds, usage.ru_maxrss, proc


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def fmt(seconds: float) -> str:
    """Seconds with sensible precision."""
    if seconds >= 100:
        return f"{seconds:.0f} s"
    if seconds >= 10:
        return f"{seconds:.1f} s"
    return f"{seconds:.2f} s"


def main_for(run: Callable[[bool], Section], doc: str | None) -> None:
    """The command line of one benchmark module: ``--quick``, print and save its section."""
    import argparse

    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    section = run(args.quick)
    print(section.markdown())
    section.save()
