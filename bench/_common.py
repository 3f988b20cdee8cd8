"""Shared helpers for the benchmarks in ``bench/``: timing with repeats, and a report table.

A benchmark times a *subject* (what slogen does) and, where it makes sense, a *floor* (the least
any implementation could do for the same input, e.g. just parsing the YAML), then prints one row
per comparison with the targets it is held to::

    build = measure([sys.executable, "-m", "slogen", "build", specs], repeats=5)
    floor = measure(lambda: parse_everything(specs), repeats=5)
    report([Row("slogen build", build, floor, max_seconds=1.5, max_ratio=3.0)])

Figures, not assertions: :func:`report` prints PASS/MISS against each target and returns
whether everything passed, but never raises, so a benchmark can always exit 0.
"""

from __future__ import annotations

import gc
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

Argv = Sequence[str | os.PathLike[str]]


class CommandFailed(RuntimeError):
    """A timed subprocess exited non-zero: its timings would mean nothing."""

    def __init__(self, argv: Argv, returncode: int, stderr: str):
        self.argv = [str(a) for a in argv]
        self.returncode = returncode
        self.stderr = stderr
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        super().__init__(f"{' '.join(self.argv)} exited {returncode}\n{tail}")


@dataclass(frozen=True)
class Timing:
    """Seconds of each timed run (warm-up runs excluded): wall clock, and CPU (user + system).

    On a shared machine the CPU figure is the steadier one: it does not grow while the run
    waits for a core, so a wall time far above it means contention, not slowness.
    """

    samples: tuple[float, ...]
    cpu: tuple[float, ...] = ()

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu) if self.cpu else None

    def __str__(self) -> str:
        cpu = f", cpu median {seconds(self.cpu_median)}" if self.cpu_median is not None else ""
        return (
            f"median {seconds(self.median)}, min {seconds(self.min)}, max {seconds(self.max)}"
            f"{cpu} ({len(self.samples)} runs)"
        )


def run_command(
    argv: Argv, *, cwd: str | Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to completion, output captured; raise :class:`CommandFailed` on non-zero."""
    proc = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise CommandFailed(argv, proc.returncode, proc.stderr)
    return proc


def measure(
    fn_or_argv: Callable[[], object] | Argv,
    repeats: int = 5,
    *,
    warmup: int = 1,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
) -> Timing:
    """Time ``repeats`` runs of a callable (in this process) or of a command (a subprocess).

    A command is an argv list, timed end to end including interpreter start-up; its output is
    captured (and discarded) so terminal speed does not count, and a non-zero exit raises
    :class:`CommandFailed`. ``warmup`` untimed runs go first (bytecode caches, page cache).
    Each run records wall-clock and CPU seconds (:func:`cpu_seconds`).
    The garbage collector is collected before each in-process run, not disabled during it:
    the subject pays for its own garbage, as it does in real use.
    """
    if callable(fn_or_argv):
        fn = fn_or_argv
    else:
        argv = list(fn_or_argv)

        def fn() -> object:
            return run_command(argv, cwd=cwd, env=env)

    in_process = callable(fn_or_argv)
    samples, cpu = [], []
    for i in range(warmup + repeats):
        if in_process:
            gc.collect()
        cpu_start = cpu_seconds()
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        cpu_elapsed = cpu_seconds() - cpu_start
        if i >= warmup:
            samples.append(elapsed)
            cpu.append(cpu_elapsed)
    return Timing(tuple(samples), tuple(cpu))


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of every child it has waited for.

    The difference over a run counts a subprocess's CPU as well as in-process work (and, for
    a callable, anything else this process does meanwhile, such as a fake server's threads).
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + usage.ru_utime + usage.ru_stime


def measure_many(
    subjects: Mapping[str, Callable[[], object] | Argv],
    repeats: int = 5,
    *,
    warmup: int = 1,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Timing]:
    """:func:`measure` several subjects round-robin (a, b, c, a, b, c...), not one after another.

    On a shared machine the load drifts; interleaving gives every subject the same conditions,
    which matters most when the figure of interest is a ratio (subject / floor).
    """
    runs: dict[str, list[Timing]] = {name: [] for name in subjects}
    for i in range(warmup + repeats):
        for name, subject in subjects.items():
            timing = measure(subject, 1, warmup=0, cwd=cwd, env=env)
            if i >= warmup:
                runs[name].append(timing)
    return {
        name: Timing(tuple(t.samples[0] for t in timings), tuple(c for t in timings for c in t.cpu))
        for name, timings in runs.items()
    }


def python_argv(*args: str | os.PathLike[str]) -> list[str]:
    """``[this interpreter, *args]``: subprocesses use the same venv as the benchmark."""
    return [sys.executable, *(str(a) for a in args)]


# -- report -------------------------------------------------------------------------------------


def seconds(value: float) -> str:
    """``1.234 s``, ``85.3 ms`` or ``412 µs``: three significant-ish digits, unit that fits."""
    if value >= 1:
        return f"{value:.3f} s"
    if value >= 0.001:
        return f"{value * 1000:.1f} ms"
    return f"{value * 1_000_000:.0f} µs"


@dataclass(frozen=True)
class Row:
    """One comparison: a subject's timing, optionally a floor's, and the targets it must meet.

    ``max_seconds`` applies to the subject's median; ``max_ratio`` to median(subject) /
    median(floor). A row without targets is informational.
    """

    name: str
    subject: Timing
    floor: Timing | None = None
    max_seconds: float | None = None
    max_ratio: float | None = None
    note: str = ""
    floor_name: str = ""

    @property
    def ratio(self) -> float | None:
        """median(subject) / median(floor), wall clock."""
        if self.floor is None or self.floor.median <= 0:
            return None
        return self.subject.median / self.floor.median

    @property
    def cpu_ratio(self) -> float | None:
        """The same ratio in CPU seconds: steadier than wall clock on a busy machine."""
        if self.floor is None or not self.floor.cpu_median or self.subject.cpu_median is None:
            return None
        return self.subject.cpu_median / self.floor.cpu_median

    def checks(self) -> list[tuple[str, bool]]:
        """``(target text, met?)`` for each target this row has."""
        out = []
        if self.max_seconds is not None:
            out.append(
                (f"median <= {seconds(self.max_seconds)}", self.subject.median <= self.max_seconds)
            )
        if self.max_ratio is not None and self.ratio is not None:
            out.append((f"<= {self.max_ratio:g}x floor", self.ratio <= self.max_ratio))
        return out


def _table(headers: Sequence[str], lines: Sequence[Sequence[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(headers), rule, *(fmt(line) for line in lines)])


def report(rows: Sequence[Row], title: str = "", file=None) -> bool:
    """Print one table of all rows (one line per target) and return True if every target is met."""
    out = file or sys.stdout
    headers = ["benchmark", "median", "min", "cpu med", "floor", "floor med", "ratio"]
    headers += ["cpu ratio", "target", "result"]
    lines: list[list[str]] = []
    all_met = True
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        cpu_ratio = f"{row.cpu_ratio:.2f}x" if row.cpu_ratio is not None else ""
        first = [
            row.name,
            seconds(row.subject.median),
            seconds(row.subject.min),
            seconds(row.subject.cpu_median) if row.subject.cpu_median is not None else "",
            row.floor_name if row.floor is not None else "",
            seconds(row.floor.median) if row.floor is not None else "",
            ratio,
            cpu_ratio,
        ]
        checks = row.checks() or [("", None)]
        for i, (target, met) in enumerate(checks):
            result = "" if met is None else ("PASS" if met else "MISS")
            all_met &= met is not False
            lines.append([*(first if i == 0 else [""] * len(first)), target, result])
        if row.note:
            lines.append([f"  {row.note}", *[""] * (len(headers) - 1)])
    if title:
        print(f"\n{title}", file=out)
    print(_table(headers, lines, right={1, 2, 3, 5, 6, 7}), file=out)
    return all_met


@dataclass
class Summary:
    """Free-form ``label: value`` facts printed under a heading (counts, sizes, versions)."""

    title: str
    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, label: str, value: object) -> None:
        self.items.append((label, str(value)))

    def print(self, file=None) -> None:
        out = file or sys.stdout
        print(f"\n{self.title}", file=out)
        width = max((len(label) for label, _ in self.items), default=0)
        for label, value in self.items:
            print(f"  {label.ljust(width)}  {value}", file=out)
