"""Run generated rules through the real ``promtool``: ``check rules`` and rule unit tests.

Two layers, kept apart so a future ``slogen test`` can reuse them:

* **promtool plumbing** (no slogen knowledge): :func:`find_promtool`, :func:`check_rules`,
  :class:`TestGroup` / :class:`ExprCheck` / :class:`InputSeries`, and :func:`run_tests`, which
  writes a unit-test file next to the rule files, runs ``promtool test rules`` with a timeout and
  returns a :class:`TestRun` with one :class:`CheckOutcome` per check.
* **SLO scenarios**: :class:`RenderedSLO` (the rule file and alert rules slogen renders for one
  SLO), :class:`Traffic` (synthetic success/error counters) and builders for the scenarios the
  SRE Workbook reasons about: a constant error ratio from a known instant, checked against the
  engine's predicted detection time (:func:`detection_group`), and a burn that must never fire
  (:func:`quiet_group`).

Every assertion is a ``promql_expr_test`` on ``ALERTS{alertname=...,alertstate="firing",
tier=...}``: it names the tier (several tiers of one SLO share an alert name) and, when the alert
must fire, compares the full label set taken from the rendered rule. Each check carries an id in
a PromQL comment (``... # check: <id>``) so promtool's failure report maps back to it.

A check is either an *assertion* (its failure fails the run) or a *probe*: a probe expects no
result, and when promtool reports otherwise, what it got is recorded as an observation. Probes
cost nothing extra (they read the same evaluated series) and report when an alert actually
started firing.
"""

from __future__ import annotations

import math
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from slogen.backends import prometheus
from slogen.durations import format_duration
from slogen.engine import TierMath, analyse_slo
from slogen.numbers import to_fraction
from slogen.spec.model import Project

PROMTOOL_ENV = "PROMTOOL"
# Seconds per promtool process: a guard against hangs, not a performance budget (a days-long
# scenario takes tens of seconds of CPU, and much longer on a loaded machine).
DEFAULT_TIMEOUT = 600.0
EPSILON = 1e-6  # seconds; guards float comparisons of predicted instants against the grid


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


def duration(seconds: float) -> str:
    """A Prometheus duration for whole seconds (``3780`` → ``1h3m``)."""
    if seconds != int(seconds):
        raise ValueError(f"promtool durations are whole seconds here, got {seconds}")
    return format_duration(int(seconds))


_GO_UNITS = {"y": 31536000, "w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}


def parse_go_duration(text: str) -> float:
    """Seconds in a duration as promtool prints it (``1h3m``, ``1h3m0s``, ``0s``)."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|[ywdhms])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * _GO_UNITS[u] for n, u in parts)


def _number(value: float | Fraction) -> str:
    """Shortest text of a number for series values and PromQL (no ``1e-05`` surprises)."""
    if value == int(value):
        return str(int(value))
    value = float(value)
    text = repr(value)
    if "e" in text:
        text = f"{value:.17f}".rstrip("0")
    return text


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def selector(name: str, labels: Mapping[str, str]) -> str:
    """``name{a="x",b="y"}`` in the given label order."""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return f"{name}{{{inner}}}"


# -- promtool unit-test files -----------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One expected sample of an instant query: its complete label set and value."""

    labels: Mapping[str, str]
    value: float = 1.0

    def series_text(self) -> str:
        labels = dict(self.labels)
        name = labels.pop("__name__", "")
        return selector(name, dict(sorted(labels.items())))


@dataclass(frozen=True)
class InputSeries:
    series: str  # e.g. 'http_requests_total{code="500"}'
    values: str  # promtool expanding notation, e.g. '0+6000x4000'


@dataclass(frozen=True)
class ExprCheck:
    """``expr`` evaluated at ``eval_time`` (seconds) must return exactly ``expected``.

    An empty ``expected`` means "no result". A ``probe`` never fails the run: when promtool
    reports something other than nothing, that becomes an observation.
    """

    id: str
    expr: str
    eval_time: int
    expected: tuple[Sample, ...] = ()
    probe: bool = False

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[\w.:@%=+-]+", self.id):
            raise ValueError(f"check ids are one word (letters, digits, ._:@%=+-): {self.id!r}")
        if self.probe and self.expected:
            raise ValueError("a probe expects no result")

    def to_yaml(self) -> dict[str, Any]:
        return {
            "expr": f"{self.expr} # check: {self.id}",
            "eval_time": duration(self.eval_time),
            "exp_samples": [{"labels": s.series_text(), "value": s.value} for s in self.expected],
        }


@dataclass
class TestGroup:
    """One promtool test group: its own input series, evaluated from time 0."""

    __test__ = False  # not a pytest class

    name: str
    series: list[InputSeries]
    checks: list[ExprCheck] = field(default_factory=list)
    interval: int = 60
    # Rule files (name → text) for this group; None: the ones given to run_tests.
    rule_files: Mapping[str, str] | None = None

    @property
    def end(self) -> int:
        """The last evaluation instant promtool needs (it evaluates rules up to here)."""
        return max(c.eval_time for c in self.checks)

    def to_yaml(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "interval": duration(self.interval),
            "input_series": [{"series": s.series, "values": s.values} for s in self.series],
            "promql_expr_test": [c.to_yaml() for c in self.checks],
        }


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
            f"{len(self.failures)} failed assertion(s)"
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
        doc = {
            "rule_files": names,
            "evaluation_interval": duration(evaluation_interval),
            "tests": [g.to_yaml() for g in groups],
        }
        (directory / "tests.yml").write_text(
            yaml.safe_dump(doc, sort_keys=False, width=10_000), encoding="utf-8"
        )
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
            outcomes.append(CheckOutcome(group_name, check, False, got="(no trustworthy result)"))
    return TestRun(code, outcomes, out, err, proc.seconds, unmatched)


def run_tests(
    rule_files: Mapping[str, str] | None,
    groups: Sequence[TestGroup],
    *,
    evaluation_interval: int = 60,
    timeout: float = DEFAULT_TIMEOUT,
    jobs: int | None = None,
    promtool: str | None = None,
) -> TestRun:
    """Run ``promtool test rules`` on ``groups`` against ``rule_files`` (name → text), or
    against each group's own ``rule_files``.

    Groups are independent (each starts from an empty database), so they are spread over up to
    ``jobs`` promtool processes (default: one per CPU) running at once, longest first; the result
    merges them. ``seconds`` is the wall time of the whole run.
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
    for group in sorted(groups, key=lambda g: -g.end):
        files = group.rule_files if group.rule_files is not None else rule_files
        if files is None:
            raise ValueError(f"no rule files for test group {group.name!r}")
        same = [b for b in buckets if b[0] == files]
        if len(same) < jobs:
            buckets.append((files, [group], [group.end]))
        else:
            target = min(same, key=lambda b: b[2][0])
            target[1].append(group)
            target[2][0] += group.end
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


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    rules: int | None  # rule count promtool reported, when it succeeded
    output: str
    seconds: float


def check_rules(
    path: str | Path, *, timeout: float = 60.0, promtool: str | None = None
) -> CheckResult:
    """``promtool check rules PATH``."""
    binary = promtool or find_promtool()
    path = Path(path)
    proc = _run([binary, "check", "rules", str(path)], path.parent, timeout)
    found = re.search(r"SUCCESS: (\d+) rules found", proc.stdout)
    return CheckResult(
        proc.returncode == 0,
        int(found.group(1)) if found else None,
        proc.stdout + proc.stderr,
        proc.seconds,
    )


def rule_file_from_prometheusrule(text: str) -> str:
    """The plain rule file inside a Kubernetes ``PrometheusRule`` document (its spec.groups)."""
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or doc.get("kind") != "PrometheusRule":
        raise ValueError("not a PrometheusRule document")
    return yaml.safe_dump({"groups": doc["spec"]["groups"]}, sort_keys=False, width=10_000)


# -- SLO scenarios ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedSLO:
    """What slogen renders for one SLO: its service's rule file, alert rules and tier math."""

    service: str
    slo: str
    rule_files: Mapping[str, str]
    alerts: Mapping[str, Mapping[str, Any]]  # tier id → rendered alerting rule
    tiers: Mapping[str, TierMath]
    resolution: int  # seconds; the range of the base rates (the engine's ``resolution``)
    min_events: int | None

    @classmethod
    def from_project(cls, project: Project, service: str, slo: str) -> RenderedSLO:
        svc = next(s for s in project.services if s.name == service)
        model = next(o for o in svc.slos if o.name == slo)
        resources = prometheus.render(project, project.target("prometheus"))
        mine = [r for r in resources if r.key.startswith(f"{service}/")]
        files = prometheus.rule_files(mine)
        alerts = {
            r.key.split("/")[2]: r.body
            for r in mine
            if r.kind == "alert" and r.key.startswith(f"{service}/{slo}/")
        }
        return cls(
            service,
            slo,
            files,
            alerts,
            {m.id: m for m in analyse_slo(model)},
            prometheus.base_window(model),
            model.alerting.min_events,
        )

    def edit_rules(self, transform: Callable[[str], str]) -> RenderedSLO:
        """The same SLO with every rule file's text passed through ``transform``."""
        return replace(self, rule_files={k: transform(v) for k, v in self.rule_files.items()})

    def only_tier(self, tier: str) -> RenderedSLO:
        """The same SLO reduced to the rules ``tier``'s alert needs, unchanged otherwise.

        Rules are pure functions of the series they read, so dropping the recording rules and
        alerts the tier does not reference changes nothing it computes; it only saves promtool
        from evaluating them (each rule costs time at every evaluation of a days-long run).
        """
        group_name = f"{prometheus.GROUP_PREFIX}{self.service}/{self.slo}"
        files: dict[str, str] = {}
        for file_name, text in self.rule_files.items():
            doc = yaml.safe_load(text)
            for group in doc.get("groups", []):
                if group["name"] != group_name:
                    continue
                rules = group["rules"]
                alert = [
                    r for r in rules if "alert" in r and r.get("labels", {}).get("tier") == tier
                ]
                if len(alert) != 1:
                    raise ValueError(f"{len(alert)} alert rules for tier {tier!r} in {file_name}")
                records = {r["record"]: r for r in rules if "record" in r}
                needed: set[str] = set()
                pending = [alert[0]["expr"]]
                while pending:
                    for name in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", pending.pop()):
                        if name in records and name not in needed:
                            needed.add(name)
                            pending.append(records[name]["expr"])
                kept = [r for r in rules if r.get("record") in needed] + alert
                doc = {"groups": [{**group, "rules": kept}]}
                files[file_name] = yaml.safe_dump(doc, sort_keys=False, width=10_000)
        if not files:
            raise ValueError(f"no rule group {group_name!r}")
        return replace(self, rule_files=files, alerts={tier: self.alerts[tier]})

    def alert_selector(self, tier: str) -> dict[str, str]:
        return {
            "alertname": str(self.alerts[tier]["alert"]),
            "alertstate": "firing",
            "service": self.service,
            "slo": self.slo,
            "tier": tier,
        }

    def firing_query(self, tier: str) -> str:
        return selector("ALERTS", self.alert_selector(tier))

    def firing_sample(self, tier: str) -> Sample:
        """The exact ALERTS series of a firing tier: alert name, state and the rule's labels."""
        rule = self.alerts[tier]
        labels = {"__name__": "ALERTS", "alertname": str(rule["alert"]), "alertstate": "firing"}
        labels.update({str(k): str(v) for k, v in rule["labels"].items()})
        return Sample(labels, 1.0)

    def record_labels(self) -> dict[str, str]:
        return {"service": self.service, "slo": self.slo}


@dataclass(frozen=True)
class Traffic:
    """Synthetic request counters, one for failed and one for successful requests, sampled
    every ``interval`` seconds from time 0 (both start at 0, so both series always exist).

    Total traffic is constant; from ``incident_start`` on, a share ``error_ratio`` of it fails.
    The counters hold the exact integral of these rates, so when the incident starts between
    two scrapes, the first sample after it carries only the part of that interval it covered.
    """

    errors_series: str  # e.g. 'shop_requests_total{code="500"}'
    success_series: str  # e.g. 'shop_requests_total{code="200"}'
    requests_per_interval: float
    interval: int = 60

    def series(self, *, incident_start: float, error_ratio: float, end: int) -> list[InputSeries]:
        """Samples from 0 through ``end`` (rounded down to a scrape)."""
        # Exact decimal arithmetic: 6000 × 0.0288 is 172.8, not 172.79999999999998.
        rate, ratio = to_fraction(self.requests_per_interval), to_fraction(error_ratio)
        start = to_fraction(incident_start)
        return [
            InputSeries(self.errors_series, self._counter(Fraction(0), rate * ratio, start, end)),
            InputSeries(self.success_series, self._counter(rate, rate * (1 - ratio), start, end)),
        ]

    def _counter(self, before: Fraction, after: Fraction, start: Fraction, end: int) -> str:
        """Expanding notation for a counter growing by ``before`` per interval until ``start``
        and by ``after`` per interval from then on."""
        step = self.interval
        last = end // step  # index of the last sample
        quiet = min(last, math.floor(start / step))  # samples 0..quiet precede the change
        values = f"0+{_number(before)}x{quiet}" if before else f"0x{quiet}"
        if quiet < last:
            first = before * start / step + after * ((quiet + 1) * step - start) / step
            values += f" {_number(first)}"
            if last - quiet - 1 > 0:
                values += f"+{_number(after)}x{last - quiet - 1}"
        return values


@dataclass(frozen=True)
class DetectionWindow:
    """When the engine says a tier fires, and the evaluation instants that bracket it.

    ``quiet_at`` is the last evaluation strictly before ``prediction − interval`` (None when that
    is not after the incident start); ``firing_at`` the last one at or before ``prediction +
    interval``. Firing is monotonic under a constant error ratio, so "quiet at quiet_at and
    firing at firing_at" is exactly "first fires within one interval of the prediction".
    """

    tier: str
    error_ratio: float
    incident_start: float  # seconds since the first sample
    predicted: float  # seconds after incident_start
    quiet_at: int | None
    firing_at: int
    query: str = ""  # the PromQL that selects this tier's firing alert

    @property
    def predicted_at(self) -> float:
        return self.incident_start + self.predicted


def detection_window(
    math_: TierMath, error_ratio: float, resolution: int, incident_start: float, interval: int = 60
) -> DetectionWindow:
    predicted = math_.detection_time(error_ratio, resolution)
    if predicted == math.inf:
        raise ValueError(f"{math_.id} never fires at error ratio {error_ratio}")
    at = incident_start + predicted
    quiet = (math.ceil((at - interval) / interval - EPSILON / interval) - 1) * interval
    firing = math.floor((at + interval) / interval + EPSILON / interval) * interval
    return DetectionWindow(
        math_.id,
        error_ratio,
        incident_start,
        predicted,
        quiet if quiet > incident_start else None,
        firing,
    )


def healthy_history(math_: TierMath, resolution: int, interval: int = 60) -> int:
    """Seconds of healthy samples that fill the tier's long window with full-range rates."""
    needed = math_.long + resolution + interval
    return math.ceil(needed / interval) * interval


def _id(*parts: object) -> str:
    return ".".join(re.sub(r"[^\w.:@%=+-]", "_", str(p)) for p in parts)


def detection_group(
    slo: RenderedSLO,
    tier: str,
    error_ratio: float,
    traffic: Traffic,
    *,
    offset: float | None = None,
    name: str | None = None,
) -> tuple[TestGroup, DetectionWindow]:
    """Healthy traffic that fills the tier's long window, then a constant ``error_ratio`` from
    ``history + offset`` (default offset: half an interval after a scrape).

    Asserts the tier is quiet at the last evaluation before the incident and at ``quiet_at``,
    and fires with its exact labels at ``firing_at``; probes every evaluation in between, so the
    run records when it really started. Every *other* tier of the SLO whose behaviour the engine
    also predicts here (its long window is full of healthy history, or it cannot see this error
    ratio at all) is asserted firing or quiet at those same instants, wherever its own bracket
    makes that certain: the tiers share an alert name, and only the ``tier`` label tells them
    apart.
    """
    step = traffic.interval
    math_ = slo.tiers[tier]
    start = healthy_history(math_, slo.resolution, step) + (step / 2 if offset is None else offset)
    query = slo.firing_query(tier)
    window = replace(detection_window(math_, error_ratio, slo.resolution, start, step), query=query)
    name = name or _id(slo.service, slo.slo, tier, f"e={error_ratio:g}", f"at+{start % step:g}s")
    baseline = math.floor(start / step) * step
    checks = [ExprCheck(_id(name, "healthy"), query, baseline)]
    if window.quiet_at is not None:
        checks.append(ExprCheck(_id(name, "quiet"), query, window.quiet_at))
    checks.append(
        ExprCheck(_id(name, "firing"), query, window.firing_at, (slo.firing_sample(tier),))
    )
    first_probe = window.quiet_at if window.quiet_at is not None else baseline
    checks.extend(
        ExprCheck(_id(name, "probe", t), query, t, probe=True)
        for t in range(first_probe + step, window.firing_at, step)
    )
    instants = sorted({c.eval_time for c in checks if not c.probe})
    for other in slo.alerts:
        if other == tier:
            continue
        state = _predicted_states(slo, other, error_ratio, start, step, instants)
        for t, firing in state.items():
            expected = (slo.firing_sample(other),) if firing else ()
            checks.append(
                ExprCheck(_id(name, "other", other, t), slo.firing_query(other), t, expected)
            )
    series = traffic.series(incident_start=start, error_ratio=error_ratio, end=window.firing_at)
    return TestGroup(name, series, checks, step), window


def _predicted_states(
    slo: RenderedSLO, tier: str, error_ratio: float, start: float, step: int, instants: list[int]
) -> dict[int, bool]:
    """Instants at which the engine says for sure whether ``tier`` fires (True) or not."""
    math_ = slo.tiers[tier]
    if error_ratio <= float(math_.threshold):
        # No window can average more than the error ratio itself, full or not.
        return dict.fromkeys(instants, False)
    if healthy_history(math_, slo.resolution, step) > start:
        return {}  # its long window is not full of healthy history: no prediction
    window = detection_window(math_, error_ratio, slo.resolution, start, step)
    states = {}
    for t in instants:
        if t <= start or (window.quiet_at is not None and t <= window.quiet_at):
            states[t] = False
        elif t >= window.firing_at:
            states[t] = True
    return states


def first_firing(run: TestRun, group: TestGroup, window: DetectionWindow) -> int | None:
    """The earliest evaluation at which the group's checks of the tier (assertions or probes)
    saw its alert firing; None when none did."""
    seen = [
        o.check.eval_time
        for o in run.outcomes
        if o.group == group.name
        and o.check.expr == window.query
        and (
            (o.passed and bool(o.check.expected))
            or (not o.passed and not o.check.expected and "alertstate" in (o.got or ""))
        )
    ]
    return min(seen) if seen else None


def ratio_check(
    slo: RenderedSLO,
    check_id: str,
    window: int,
    value: float | Fraction,
    at: int,
    rel: float = 1e-9,
) -> ExprCheck:
    """The recorded error ratio over ``window`` equals ``value`` (to ``rel``) at ``at``."""
    record = selector(f"slogen:sli_error_ratio:rate{format_duration(window)}", slo.record_labels())
    return _close_check(slo, check_id, record, value, at, rel)


def events_check(
    slo: RenderedSLO, check_id: str, window: int, at: int, *, at_least: float, below: float
) -> ExprCheck:
    """The recorded event count over ``window`` is in ``[at_least, below)`` at ``at``."""
    record = selector(f"slogen:sli_events:count{format_duration(window)}", slo.record_labels())
    expr = f"({record} >= bool {_number(at_least)}) * ({record} < bool {_number(below)})"
    return ExprCheck(check_id, expr, at, (Sample(slo.record_labels(), 1.0),))


def _close_check(
    slo: RenderedSLO, check_id: str, record: str, value: float | Fraction, at: int, rel: float
) -> ExprCheck:
    tolerance = _number(abs(float(value)) * rel or rel)
    expr = f"abs({record} - {_number(value)}) <= bool {tolerance}"
    return ExprCheck(check_id, expr, at, (Sample(slo.record_labels(), 1.0),))


def quiet_group(
    slo: RenderedSLO,
    tier: str,
    error_ratio: float | Fraction,
    traffic: Traffic,
    *,
    duration_: int,
    checkpoints: Iterable[float],
    name: str | None = None,
) -> TestGroup:
    """A constant ``error_ratio`` from the first sample on, for ``duration_`` seconds: every
    window sees nothing but the incident, the worst case for a ratio below the threshold. The
    tier must be quiet at each checkpoint (seconds, rounded down to an evaluation) and at the
    end, where both its windows must hold exactly ``error_ratio`` (so the run is not vacuous).
    """
    step = traffic.interval
    math_ = slo.tiers[tier]
    end = math.floor(duration_ / step) * step
    name = name or _id(slo.service, slo.slo, tier, f"quiet-e={float(error_ratio):g}")
    query = slo.firing_query(tier)
    times = sorted({min(end, math.floor(c / step) * step) for c in checkpoints} | {end})
    checks = [ExprCheck(_id(name, "quiet", t), query, t) for t in times]
    for label, window in (("long", math_.long), ("short", math_.short)):
        checks.append(ratio_check(slo, _id(name, label, "ratio"), window, error_ratio, end))
    series = traffic.series(incident_start=0, error_ratio=error_ratio, end=end)
    return TestGroup(name, series, checks, step)
