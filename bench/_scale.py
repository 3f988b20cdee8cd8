"""The scale table of ``bench/compile.py``: build and plan at several project sizes.

For each size (1,000 and 5,000 SLOs by default) the project is generated with the same
generator and seed, built once with ``-o out`` from its own directory (the generated
``slogen.yaml`` points its ``files`` targets at ``out/...`` relative to the working directory),
and checked: ``slogen plan specs`` must print "No changes." (and exit 0 with
``--detailed-exitcode`` where slogen has it). Then, round-robin over every size so that all
subjects see the same load, each round runs per size:

* the floor: a fresh interpreter that parses every spec file with ``yaml.CSafeLoader``;
* ``python -m slogen build specs -o out``;
* ``python -m slogen plan specs`` (nothing to change, since the build just wrote the files);
* ``python -m slogen plan specs -o plan.json``, the same plan saved as the GitHub action saves
  it (for information: it holds every desired resource, so it has no memory target).

Every run is its own child process, reaped with ``os.wait4`` so that its wall clock, CPU time
(user + system) and peak resident set (``ru_maxrss``, KiB on Linux) belong to that one process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from _common import Argv, CommandFailed, Row, Summary, Timing, _table, python_argv, seconds

BUILD_RATIO = 3.0  # build <= 3x the floor of the same size (wall clock and CPU)
PLAN_RATIO = 4.0  # plan with nothing to change <= 4x the floor
# Growth allowed from the smallest size to a larger one: linear plus 6% (5.3 for 5x the SLOs).
SCALING_SLACK = 1.06
PLAN_RSS_MIB = {5000: 250.0}  # peak RSS of plan, by SLO count
NO_CHANGES = "No changes."
SUBJECTS = ("floor", "build", "plan", "saved")  # saved: plan -o, as the GitHub action runs it


@dataclass(frozen=True)
class ChildRun:
    """One child process: wall clock, its own CPU seconds and peak RSS, and its output."""

    wall: float
    cpu: float
    maxrss_kib: int
    returncode: int
    stdout: str
    stderr: str


def run_child(argv: Argv, cwd: Path) -> ChildRun:
    """Run ``argv`` with output captured to files and reap it with ``os.wait4``.

    ``wait4`` gives the resource usage of exactly this child (and of any children it waited
    for), which ``RUSAGE_CHILDREN`` would only give as a running total or maximum.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(a) for a in argv], cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait again
        out.seek(0)
        err.seek(0)
        maxrss = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
        return ChildRun(
            wall,
            usage.ru_utime + usage.ru_stime,
            maxrss,
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )


def checked(argv: Argv, cwd: Path, ok_codes: Sequence[int] = (0,)) -> ChildRun:
    run = run_child(argv, cwd)
    if run.returncode not in ok_codes:
        raise CommandFailed(argv, run.returncode, run.stderr or run.stdout)
    return run


@dataclass
class Size:
    """One generated project and its measurements."""

    slos: int
    services: int
    root: Path  # working directory: specs/ and out/ under it
    runs: dict[str, list[ChildRun]] = field(default_factory=lambda: {s: [] for s in SUBJECTS})

    def argv(self, subject: str, floor_code: str) -> list[str]:
        if subject == "floor":
            return python_argv("-c", floor_code, "specs")
        if subject == "build":
            return python_argv("-m", "slogen", "build", "specs", "-o", "out")
        if subject == "saved":
            return python_argv("-m", "slogen", "plan", "specs", "-o", "plan.json")
        return python_argv("-m", "slogen", "plan", "specs")

    def timing(self, subject: str) -> Timing:
        runs = self.runs[subject]
        return Timing(tuple(r.wall for r in runs), tuple(r.cpu for r in runs))

    def peak_kib(self, subject: str) -> int:
        return max(r.maxrss_kib for r in self.runs[subject])


@dataclass(frozen=True)
class ScaleRow(Row):
    """A :class:`Row` whose ratio target also applies to CPU, with an optional peak RSS."""

    peak_kib: int | None = None
    max_rss_mib: float | None = None

    def checks(self) -> list[tuple[str, bool]]:
        out = []
        if self.max_ratio is not None:
            for kind, ratio in (("wall", self.ratio), ("cpu", self.cpu_ratio)):
                if ratio is not None:
                    out.append((f"{kind} <= {self.max_ratio:g}x", ratio <= self.max_ratio))
        if self.max_rss_mib is not None and self.peak_kib is not None:
            out.append(
                (f"RSS <= {self.max_rss_mib:g} MiB", self.peak_kib / 1024 <= self.max_rss_mib)
            )
        return out


def mib(kib: int | None) -> str:
    return "" if kib is None else f"{kib / 1024:.0f} MiB"


def scale_report(rows: Sequence[ScaleRow], title: str, notes: Sequence[str] = ()) -> bool:
    """Like :func:`_common.report`, with a peak RSS column; True if every target is met."""
    headers = ["benchmark", "median", "min", "cpu med", "peak RSS", "vs", "vs med", "vs cpu"]
    headers += ["ratio", "cpu ratio", "target", "result"]
    lines: list[list[str]] = []
    every = True
    for row in rows:
        first = [
            row.name,
            seconds(row.subject.median),
            seconds(row.subject.min),
            seconds(row.subject.cpu_median) if row.subject.cpu_median is not None else "",
            mib(row.peak_kib),
            row.floor_name if row.floor is not None else "",
            seconds(row.floor.median) if row.floor is not None else "",
            seconds(row.floor.cpu_median)
            if row.floor is not None and row.floor.cpu_median is not None
            else "",
            f"{row.ratio:.2f}x" if row.ratio is not None else "",
            f"{row.cpu_ratio:.2f}x" if row.cpu_ratio is not None else "",
        ]
        for i, (target, met) in enumerate(row.checks() or [("", None)]):
            result = "" if met is None else ("PASS" if met else "MISS")
            every &= met is not False
            lines.append([*(first if i == 0 else [""] * len(first)), target, result])
    print(f"\n{title}")
    print(_table(headers, lines, right={1, 2, 3, 4, 6, 7, 8, 9}))
    for note in notes:
        print(f"  {note}")
    return every


def prepare(size: Size, floor_code: str, detailed: bool, checks: Summary) -> bool:
    """Build once, then check that plan has nothing to change; True if it has not.

    These runs double as the warm-up (bytecode and page caches) of the timed rounds.
    """
    label = f"{size.slos:,} SLOs"
    checked(size.argv("build", floor_code), size.root)
    checked(size.argv("floor", floor_code), size.root)
    argv = size.argv("plan", floor_code) + (["--detailed-exitcode"] if detailed else [])
    # With --detailed-exitcode, 2 means "there are changes": a wrong answer, not a failure.
    plan = checked(argv, size.root, (0, 2) if detailed else (0,))
    clean = NO_CHANGES in plan.stdout
    text = f'prints "{NO_CHANGES}" ' + ("OK" if clean else "WRONG")
    if detailed:
        clean &= plan.returncode == 0
        text += f"; --detailed-exitcode -> {plan.returncode} " + (
            "OK" if plan.returncode == 0 else "WRONG"
        )
    else:
        text += "; --detailed-exitcode: not supported by this slogen"
    checks.add(f"plan after build, {label}", text)
    return clean


def run_scale(
    work: Path,
    sizes: Sequence[int],
    per_service: int,
    repeats: int,
    floor_code: str,
    generate: Callable[[Path, int, int], object],
    existing: dict[int, Path] | None = None,
) -> int:
    """Measure and print the scale table; 0, or 2 if a command under test failed.

    ``generate(spec_dir, services, per_service)`` writes a project; ``existing`` maps a service
    count to a working directory whose ``specs/`` already holds that project.
    """
    started = time.perf_counter()
    existing = existing or {}
    info = Summary("Scale: projects")
    projects: list[Size] = []
    for slos in sorted(set(sizes)):
        services = slos // per_service
        root = existing.get(services) or work / str(slos)
        if services not in existing:
            t0 = time.perf_counter()
            generate(root / "specs", services, per_service)
            made = f"generated in {seconds(time.perf_counter() - t0)}"
        else:
            made = "the project above"
        size_kib = sum(p.stat().st_size for p in (root / "specs").rglob("*.yaml")) / 1024
        info.add(
            f"{slos:,} SLOs",
            f"{services:,} services x {per_service}, {size_kib:,.0f} KiB of YAML, {made} ({root})",
        )
        projects.append(Size(slos, services, root))
    info.print()

    help_text = checked(python_argv("-m", "slogen", "plan", "--help"), work).stdout
    detailed = "--detailed-exitcode" in help_text
    checks = Summary("Scale: checks")
    plans_clean = True
    try:
        for size in projects:
            plans_clean &= prepare(size, floor_code, detailed, checks)
        dirty = 0
        for _ in range(repeats):
            for size in projects:
                for subject in SUBJECTS:
                    run = checked(size.argv(subject, floor_code), size.root)
                    size.runs[subject].append(run)
                    dirty += subject in ("plan", "saved") and NO_CHANGES not in run.stdout
    except CommandFailed as exc:
        print(f"\nScale: a command under test FAILED, nothing to measure:\n{exc}", file=sys.stderr)
        return 2
    checks.add(
        "timed plan runs",
        f"{2 * repeats * len(projects) - dirty} of {2 * repeats * len(projects)} printed "
        f'"{NO_CHANGES}"',
    )
    checks.add("scale measurement took", seconds(time.perf_counter() - started))
    checks.print()

    rows: list[ScaleRow] = []
    for size in projects:
        n = f"{size.slos:,} SLOs"
        floor = size.timing("floor")
        rows.append(
            ScaleRow(f"floor: CSafeLoader parse, {n}", floor, peak_kib=size.peak_kib("floor"))
        )
        for subject, what, ratio in (
            ("build", "slogen build -o out", BUILD_RATIO),
            ("plan", "slogen plan (no changes)", PLAN_RATIO),
            ("saved", "slogen plan -o plan.json (no changes)", None),
        ):
            rows.append(
                ScaleRow(
                    f"{what}, {n}",
                    size.timing(subject),
                    floor,
                    max_ratio=ratio,
                    floor_name="floor",
                    peak_kib=size.peak_kib(subject),
                    max_rss_mib=PLAN_RSS_MIB.get(size.slos) if subject == "plan" else None,
                )
            )
    base = projects[0]
    for size in projects[1:]:
        target = SCALING_SLACK * size.slos / base.slos
        for subject, what in (("floor", "floor"), ("build", "build"), ("plan", "plan")):
            rows.append(
                ScaleRow(
                    f"scaling: {what} {size.slos:,} / {base.slos:,} SLOs",
                    size.timing(subject),
                    base.timing(subject),
                    max_ratio=None if subject == "floor" else round(target, 2),
                    floor_name=f"{what} {base.slos:,}",
                )
            )
    load = os.getloadavg()
    busy = load[0] > (os.cpu_count() or 1)
    scale_report(
        rows,
        f"Scale: build and plan by project size (median of {repeats} round-robin runs each)",
        [
            "ratio / cpu ratio: against the floor of the same size; for scaling rows, against "
            f"the {base.slos:,}-SLO run ({SCALING_SLACK * 5:g} allowed for 5x the SLOs).",
            "CPU: user + system of the child; peak RSS: ru_maxrss of each child from os.wait4, "
            "the highest of its runs.",
            f"all scale targets: {'PASS' if all_met(rows) else 'MISS'}"
            + ("" if plans_clean else "; plan after build showed changes: WRONG"),
            "load average "
            + " ".join(f"{x:.2f}" for x in load)
            + f" ({os.cpu_count()} CPUs)"
            + (" busy: wall clock includes waiting for a CPU, compare CPU figures" if busy else ""),
        ],
    )
    return 0


def all_met(rows: Sequence[ScaleRow]) -> bool:
    return all(met for row in rows for _, met in row.checks())
