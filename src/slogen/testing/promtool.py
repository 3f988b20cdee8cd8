"""promtool plumbing: ``check rules`` and rule unit tests, with no knowledge of SLOs.

:func:`find_promtool`, :func:`check_rules`, :class:`TestGroup` / :class:`ExprCheck` /
:class:`InputSeries`, and :func:`run_tests`, which writes a unit-test file next to the rule files,
runs ``promtool test rules`` with a timeout and returns a :class:`TestRun` with one
:class:`CheckOutcome` per check, read back from promtool's failure report. The test files
themselves are :mod:`slogen.testing.testfile`.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from slogen import yamltext
from slogen.plural import plural
from slogen.testing.testfile import ExprCheck, TestGroup, duration, test_file_text

PROMTOOL_ENV = "PROMTOOL"
# Seconds per promtool process: a guard against hangs, not a performance budget (a days-long
# scenario takes tens of seconds of CPU, and much longer on a loaded machine).
DEFAULT_TIMEOUT = 600.0
UNTRUSTED = "(no trustworthy result)"  # what a check "got" when promtool's run went wrong


class PromtoolMissing(RuntimeError):
    """``promtool`` is not installed (or ``$PROMTOOL`` points nowhere)."""


def find_promtool() -> str:
    """Path of the promtool binary: ``$PROMTOOL`` if set, else the one on ``PATH``."""
    configured = os.environ.get(PROMTOOL_ENV)
    if configured:
        if Path(configured).is_file() and os.access(configured, os.X_OK):
            return configured
        raise PromtoolMissing(f"${PROMTOOL_ENV} is {configured!r}, which is not an executable")
    found = shutil.which("promtool")
    if found is None:
        raise PromtoolMissing(
            "promtool is not on PATH. It comes with Prometheus (Debian/Ubuntu: "
            "`apt-get install prometheus`; .ci/run installs it), or set "
            f"${PROMTOOL_ENV} to its path."
        )
    return found


_GO_UNITS = {"y": 31536000, "w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}


def parse_go_duration(text: str) -> float:
    """Seconds in a duration as promtool prints it (``1h3m``, ``1h3m0s``, ``0s``)."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|[ywdhms])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * _GO_UNITS[u] for n, u in parts)


def probe_value(outcome: CheckOutcome) -> float | None:
    """The value a probe saw (the last number promtool printed), None when it saw nothing."""
    if outcome.passed or not outcome.got:
        return None
    found = re.findall(r"(?<![\w.])([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$", outcome.got)
    return float(found[-1]) if found else None


@dataclass(frozen=True)
class CheckOutcome:
    group: str
    check: ExprCheck
    passed: bool  # for a probe: whether it saw nothing; False when the run went wrong
    got: str | None = None  # what promtool reported instead, when it differed
    expected: str | None = None


@dataclass
class TestRun:
    """The result of ``promtool test rules`` over some test groups."""

    __test__ = False

    returncode: int | None  # None: timed out
    outcomes: list[CheckOutcome]
    stdout: str
    stderr: str
    seconds: float
    unmatched: list[str] = field(default_factory=list)  # failures not tied to a known check
    cpu_seconds: float = 0.0  # user + system time of the promtool processes (all of them)
    processes: int = 1

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    @property
    def failures(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if not o.passed and not o.check.probe]

    @property
    def ok(self) -> bool:
        """No assertion failed, nothing unexplained was reported, and promtool agreed."""
        if self.timed_out or self.unmatched or self.failures:
            return False
        return self.returncode == 0 or (
            self.returncode == 1 and any(not o.passed for o in self.outcomes)
        )

    def outcome(self, check_id: str) -> CheckOutcome:
        matches = [o for o in self.outcomes if o.check.id == check_id]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} checks have id {check_id!r}")
        return matches[0]

    def report(self) -> str:
        lines = [
            f"promtool test rules: exit {self.returncode}, {self.seconds:.1f}s, "
            f"{plural(len(self.failures), 'failed assertion')}"
        ]
        for o in self.failures:
            lines.append(
                f"  FAILED {o.group} / {o.check.id} at {duration(o.check.eval_time)}:\n"
                f"    expr: {o.check.expr}\n    expected: {o.expected}\n    got: {o.got}"
            )
        lines.extend(f"  unexplained: {u}" for u in self.unmatched)
        if self.timed_out:
            lines.append("  timed out")
        if self.unmatched or (self.returncode not in (0, 1)):
            lines.append(f"--- stderr\n{self.stderr}")
        return "\n".join(lines)


_FAILURE = re.compile(
    r'^\s*expr: (?P<expr>".*"), time: (?P<time>\S+),\n'
    r"\s*exp: (?P<exp>.*)\n"
    r"\s*got: (?P<got>.*)$",
    re.MULTILINE,
)
_CHECK_ID = re.compile(r"# check: ([\w.:@%=+-]+)$")


def _parse_failures(
    text: str, checks: Mapping[str, tuple[str, ExprCheck]]
) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """Failed checks (id → (expected, got)) in promtool's report, and everything in it that is
    not a failed check of ours (rule-file errors, unknown checks): those make a run fail."""
    found: dict[str, tuple[str, str]] = {}
    unmatched: list[str] = []
    for m in _FAILURE.finditer(text):
        ident = _CHECK_ID.search(m["expr"].rstrip('"'))
        key = ident.group(1) if ident else None
        if key is None or key not in checks:
            unmatched.append(m.group(0).strip())
            continue
        try:
            at = parse_go_duration(m["time"])
        except ValueError:
            at = None
        if at != checks[key][1].eval_time:
            unmatched.append(m.group(0).strip())
            continue
        found[key] = (m["exp"].strip(), m["got"].strip())
    rest = _FAILURE.sub("", text)
    unmatched.extend(
        line.strip() for line in rest.splitlines() if line.strip() and line.strip() != "FAILED:"
    )
    return found, unmatched


def _write_rules(directory: Path, rule_files: Mapping[str, str]) -> list[str]:
    names = []
    for name, text in rule_files.items():
        (directory / name).write_text(text, encoding="utf-8")
        names.append(name)
    return names


@dataclass(frozen=True)
class _Proc:
    returncode: int | None  # None: killed after the timeout
    stdout: str
    stderr: str
    seconds: float  # wall time


# promtool's rule evaluation allocates a lot of short-lived garbage (a window's samples at every
# evaluation); collecting less often cuts its CPU time by about a fifth for ~200 MB of memory.
GO_GC_PERCENT = "400"


def _run(args: list[str], cwd: Path, timeout: float) -> _Proc:
    """Run a command with a timeout; on timeout it is killed and ``returncode`` is None."""
    started = time.monotonic()
    env = {**os.environ, "GOGC": os.environ.get("GOGC", GO_GC_PERCENT)}
    try:
        proc = subprocess.run(
            args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
        return _Proc(None, out, err, time.monotonic() - started)
    return _Proc(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_one_file(
    promtool: str,
    rule_files: Mapping[str, str],
    groups: Sequence[TestGroup],
    evaluation_interval: int,
    timeout: float,
) -> TestRun:
    checks: dict[str, tuple[str, ExprCheck]] = {}
    for group in groups:
        for check in group.checks:
            if check.id in checks:
                raise ValueError(f"duplicate check id {check.id!r}")
            checks[check.id] = (group.name, check)
    with tempfile.TemporaryDirectory(prefix="slogen-promtool-") as tmp:
        directory = Path(tmp)
        names = _write_rules(directory, rule_files)
        text = test_file_text(names, groups, evaluation_interval=evaluation_interval)
        (directory / "tests.yml").write_text(text, encoding="utf-8")
        proc = _run([promtool, "test", "rules", "tests.yml"], directory, timeout)
    code, out, err = proc.returncode, proc.stdout, proc.stderr
    failed, unmatched = _parse_failures(err, checks)
    if code == 1 and not failed and not unmatched:
        unmatched.append("promtool failed without reporting a failed check")
    if code is None:
        unmatched.append(f"promtool was killed after the {timeout:g}s timeout")
    elif code not in (0, 1):
        unmatched.append(f"promtool exited {code}")
    # When the run itself went wrong, no check counts as passed: silence is not success.
    trusted = not unmatched
    outcomes = []
    for key, (group_name, check) in checks.items():
        if key in failed:
            exp, got = failed[key]
            outcomes.append(CheckOutcome(group_name, check, False, got=got, expected=exp))
        elif trusted:
            outcomes.append(CheckOutcome(group_name, check, True))
        else:
            outcomes.append(CheckOutcome(group_name, check, False, got=UNTRUSTED))
    return TestRun(code, outcomes, out, err, proc.seconds, unmatched)


def run_tests(
    rule_files: Mapping[str, str] | None,
    groups: Sequence[TestGroup],
    *,
    evaluation_interval: int = 60,
    timeout: float = DEFAULT_TIMEOUT,
    jobs: int | None = None,
    promtool: str | None = None,
    split: bool = False,
) -> TestRun:
    """Run ``promtool test rules`` on ``groups`` against ``rule_files`` (name → text), or
    against each group's own ``rule_files``.

    Groups are independent (each starts from an empty database), so they are spread over up to
    ``jobs`` promtool processes (default: one per CPU) running at once, longest first; the result
    merges them. ``seconds`` is the wall time of the whole run. With ``split``, every group runs
    in a process of its own (finer scheduling when there are many rule sets and groups).
    """
    binary = promtool or find_promtool()
    if not groups:
        raise ValueError("no test groups")
    ids = [c.id for g in groups for c in g.checks]
    if len(ids) != len(set(ids)):
        raise ValueError(f"duplicate check ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    jobs = max(1, jobs or os.cpu_count() or 1)
    # One promtool process reads one test file, which names one set of rule files; within a
    # set, balance the evaluated time range (what promtool spends its time on) over processes.
    buckets: list[tuple[Mapping[str, str], list[TestGroup], list[int]]] = []
    for group in sorted(groups, key=lambda g: -g.weight):
        files = group.rule_files if group.rule_files is not None else rule_files
        if files is None:
            raise ValueError(f"no rule files for test group {group.name!r}")
        same = [b for b in buckets if b[0] == files]
        if split or len(same) < jobs:
            buckets.append((files, [group], [group.weight]))
        else:
            target = min(same, key=lambda b: b[2][0])
            target[1].append(group)
            target[2][0] += group.weight
    buckets.sort(key=lambda b: -b[2][0])
    started, cpu = time.monotonic(), _children_cpu()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = list(
            pool.map(
                lambda b: _run_one_file(binary, b[0], b[1], evaluation_interval, timeout),
                buckets,
            )
        )
    seconds = time.monotonic() - started
    codes = [r.returncode for r in runs]
    code = None if None in codes else max(c for c in codes if c is not None)
    return TestRun(
        code,
        [o for r in runs for o in r.outcomes],
        "".join(r.stdout for r in runs),
        "".join(r.stderr for r in runs),
        seconds,
        [u for r in runs for u in r.unmatched],
        cpu_seconds=_children_cpu() - cpu,
        processes=len(runs),
    )


def rule_file_from_prometheusrule(text: str) -> str:
    """The plain rule file inside a Kubernetes ``PrometheusRule`` document (its spec.groups)."""
    doc = yamltext.load(text)
    if not isinstance(doc, dict) or doc.get("kind") != "PrometheusRule":
        raise ValueError("not a PrometheusRule document")
    return yaml.safe_dump({"groups": doc["spec"]["groups"]}, sort_keys=False, width=10_000)
