"""A scripted month of one service's traffic, and Prometheus's own verdict on slogen's alerts.

**History** (:func:`make_scenario`): 30 days of ``http_requests_total{job="shop",code=...}``
at 60 s, about 1,000 requests a minute with a 0.01 % error ratio, and five labelled episodes
far enough apart that no window of one reaches into another (the longest window, 3d, is
cleared between them):

* ``outage``: every request fails for 20 minutes (~46 % of the 30-day budget);
* ``spike``: 30 % errors for 2 minutes: 1.4 % of the budget, under the workbook's 2 %/1h page;
* ``night``: traffic down 1,000x (one request a minute) for 5 hours, with an error at 70, 145
  and 220 minutes: a 1h window then holds one error in ~62 requests (1.6 %, above the 1.44 %
  page threshold) but fewer than ``min_events: 100`` requests; the errors are over an hour
  from the night's edges, so no window that reaches 100 requests sees one;
* ``slow-burn``: 0.2 % errors (2x the budget rate of a 99.9 % SLO) for two days;
* ``noisy-week``: an hourly error ratio drawn from 0.01 %-0.07 % (mean 0.4x the budget rate).

**Prometheus's evaluation** (:func:`record`, :func:`prometheus_firings`). ``promtool test
rules`` cannot judge a month: its input series are spelled out in the test file and it checks
alerts at chosen instants, not when each alert starts and stops over 43,200 evaluations. A live
server only evaluates rules from now on. So the rules are evaluated in the past, the way
``promtool tsdb create-blocks-from rules`` does it (cmd/promtool/rules.go ``importRule``): each
recording rule's ``expr`` as a range query at the group interval against a Prometheus holding
the raw counters, every returned sample stored under the rule's name with the rule's labels set
over the query's. That tool documents two limits (docs/storage.md, "Backfilling for Recording
Rules"): alerting rules are ignored, and rules cannot see what other rules of the same run
record ("backfill multiple times and create the dependent data first"). Hence passes, with
Prometheus restarted between them so that the next pass reads the blocks of the previous one:

1. ``slogen:sli_errors:rate5m`` / ``slogen:sli_total:rate5m`` over the raw counters;
2. the window ratios and event counts over those;
3. each tier's alert ``expr`` recorded as ``slogen_backtest:firing`` with the alert's labels
   (plus ``policy``): a filter expression, so a sample exists exactly at the evaluations where
   the alert condition holds (slogen writes no ``for:``, so that is when the alert fires).

promtool itself writes one block per rule and 2 h span; here that is 29 rules x 360 spans,
and each block cost 20-60 ms on the 2-CPU test machine: several minutes, where the whole
test file should take one or two. :func:`record` makes the same range queries (7-day ranges
instead of 2 h ones: the engine evaluates each step alike) and imports every rule's samples of a
pass together with ``create-blocks-from openmetrics``: one block per 2 h span for all of them.
:func:`promtool_record` runs the real ``create-blocks-from rules`` over a few hours so that the
test can hold the two against each other.

Every pass evaluates at whole minutes, like the evaluations ``slogen backtest`` replays.
promtool starts its range queries at the group's evaluation slot (``grp.EvalTimestamp`` in
``importRule``), a hash of the group's file and name modulo the interval (rules/group.go; the
formula of tests/prom_server.py ``slot``). :data:`GROUP` is a name whose slot, for the file name
:data:`RULE_FILE` given relative to promtool's working directory, is 44 µs, which the API's
millisecond timestamps round away. :func:`prometheus_firings` checks that the recordings
sit on whole minutes; the promtool comparison would fail on samples off them.
"""

from __future__ import annotations

import json
import math
import random
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from bench._promdata import move_blocks

from tests.backfill import (
    PROMTOOL_TIMEOUT,
    BackfilledPrometheus,
    _promtool,
    create_blocks,
    write_openmetrics,
)
from tests.prom_server import slot

STEP = 60
DAY = 86400
START = 1748736000  # 2025-06-01T00:00:00Z: a fixed past, so every run sees the same month
DAYS = 30
TRAFFIC = 1000.0  # requests a minute
BASELINE = 0.0001  # error ratio outside the episodes
SEED = 20250601
SERVICE = "shop"
RULE_FILE = "backtest.yml"
GROUP = "slogen-backtest-378945"  # slot(RULE_FILE, GROUP) < 0.5 ms (module docstring)
FIRING = "slogen_backtest:firing"
QUERY_POINTS = 10_000  # per range query; more than 11,000 is refused (web/api/v1/api.go)
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


@dataclass(frozen=True)
class Incident:
    """A labelled episode: ``[start, end)`` in epoch seconds, whole minutes."""

    name: str
    start: int
    end: int


@dataclass(frozen=True)
class Scenario:
    """Per-minute increments of the two counters: index ``k`` is the minute that ends at
    ``start + (k + 1)·step`` (the counters are 0 at ``start``)."""

    start: int
    step: int
    ok: tuple[int, ...]
    errors: tuple[int, ...]
    incidents: tuple[Incident, ...]

    @property
    def end(self) -> int:
        return self.start + len(self.ok) * self.step

    def incident(self, name: str) -> Incident:
        return next(i for i in self.incidents if i.name == name)


def _poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw: Knuth's product method while it is cheap, a rounded normal beyond."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def make_scenario(start: int = START, days: int = DAYS, seed: int = SEED) -> Scenario:
    """The month described in the module docstring (``days`` >= 30 keeps every episode)."""
    assert start % STEP == 0 and days >= 30
    minutes = days * DAY // STEP
    rng = random.Random(seed)

    def span(name: str, day: float, hour: float, length_minutes: int) -> Incident:
        first = start + round(day * DAY + hour * 3600)
        return Incident(name, first, first + length_minutes * STEP)

    incidents = (
        span("outage", 4, 10, 20),
        span("spike", 8, 14, 2),
        span("night", 12, 0, 5 * 60),
        span("slow-burn", 16, 0, 2 * 1440),
        span("noisy-week", 22, 0, 7 * 1440),
    )
    night = incidents[2]
    night_errors = {night.start + m * STEP for m in (70, 145, 220)}
    hourly = [rng.uniform(0.0001, 0.0007) for _ in range(7 * 24)]
    ok, errors = [], []
    for k in range(minutes):
        t = start + k * STEP  # the minute (t, t + step]
        active = next((i.name for i in incidents if i.start <= t < i.end), None)
        total = max(0, round(rng.gauss(TRAFFIC, 30.0)))
        if active == "outage":
            bad = total
        elif active == "spike":
            bad = round(0.3 * total)
        elif active == "night":
            total, bad = (2, 1) if t in night_errors else (1, 0)
        elif active == "slow-burn":
            bad = _poisson(rng, 0.002 * total)
        elif active == "noisy-week":
            bad = _poisson(rng, hourly[(t - incidents[4].start) // 3600] * total)
        else:
            bad = _poisson(rng, BASELINE * total)
        ok.append(total - bad)
        errors.append(bad)
    return Scenario(start, STEP, tuple(ok), tuple(errors), incidents)


def counters(scenario: Scenario, job: str = SERVICE) -> list[tuple[str, dict[str, str], list]]:
    """The two counters as tests/backfill.py ``write_openmetrics`` series."""
    out = []
    for code, increments in (("200", scenario.ok), ("500", scenario.errors)):
        value, samples = 0, [(scenario.start, 0.0)]
        for k, inc in enumerate(increments, 1):
            value += inc
            samples.append((scenario.start + k * scenario.step, float(value)))
        out.append(("http_requests_total", {"job": job, "code": code}, samples))
    return out


def write_history(scenario: Scenario, path: Path) -> Path:
    return write_openmetrics(path, counters(scenario))


# -- Prometheus's evaluation ----------------------------------------------------------------


Key = tuple[str, str, str]  # (policy, slo, tier)
Span = tuple[int, int | None]  # [start, end); end None: still firing at the last evaluation


def condition_rules(rule_files: dict[str, Path]) -> list[dict[str, Any]]:
    """The recording rules of the built rule files (once each: the policies share them) and
    every alert's condition as a recording of :data:`FIRING` (module docstring).

    ``rule_files`` maps a policy name to the rule file slogen built with every SLO on it."""
    recordings: dict[tuple[str, str], dict[str, Any]] = {}
    conditions = []
    for policy, path in rule_files.items():
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            assert group.get("interval") == "1m", group.get("interval")
            for rule in group["rules"]:
                if "alert" in rule:
                    labels = {**rule["labels"], "policy": policy}
                    conditions.append({"record": FIRING, "expr": rule["expr"], "labels": labels})
                    continue
                key = (rule["record"], yaml.safe_dump(rule.get("labels"), sort_keys=True))
                seen = recordings.setdefault(key, rule)
                assert seen["expr"] == rule["expr"], f"policies record {key} differently"
    return [*recordings.values(), *conditions]


def passes(rules: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The rules in dependency order: each pass reads only raw series and earlier passes."""
    names = {r["record"] for r in rules}
    level: dict[str, int] = {}
    for _ in rules:  # bounded: one more name settles per round, or there is a cycle
        for r in rules:
            deps = set(_NAME.findall(r["expr"])) & names
            if r["record"] not in level and all(d in level for d in deps):
                level[r["record"]] = 1 + max((level[d] for d in deps), default=0)
    assert len(level) == len(names), f"recording rules read each other in a cycle: {names}"
    return [[r for r in rules if level[r["record"]] == n] for n in sorted(set(level.values()))]


def _gauge_file(path: Path, series: dict[tuple[str, str], list[tuple[int, float]]]) -> Path:
    """OpenMetrics with every recorded name as a gauge family (tests/backfill.py writes
    counters only); ``series`` maps ``(name, rendered labels)`` to samples."""
    lines: list[str] = []
    for name in sorted({n for n, _ in series}):
        lines.append(f"# TYPE {name} gauge")
        for (n, labels), samples in sorted(series.items()):
            if n == name:
                lines.extend(f"{name}{{{labels}}} {v!r} {t}" for t, v in samples)
    path.write_text("\n".join([*lines, "# EOF"]) + "\n", encoding="utf-8")
    return path


def record(prom: BackfilledPrometheus, rules: list[dict], start: int, end: int, work: Path) -> int:
    """Record ``rules`` at every minute of ``[start, end]`` pass by pass and load the results
    into ``prom`` (restarted after each pass: a new port); returns the blocks written.

    Each rule's ``expr`` is evaluated as promtool evaluates it (range queries at the group
    interval; its labels set over the query's, its name as ``__name__``) and the samples are
    imported as blocks (module docstring)."""
    blocks = 0
    for number, batch in enumerate(passes(rules), 1):
        series: dict[tuple[str, str], list[tuple[int, float]]] = {}
        for rule in batch:
            for a, b in _chunks(start, end):
                for found in prom.query_range(rule["expr"], a, b, STEP):
                    labels = {**found["metric"], **rule.get("labels", {})}
                    labels.pop("__name__", None)
                    text = ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items()))
                    samples = series.setdefault((rule["record"], text), [])
                    samples.extend((int(float(t)), float(v)) for t, v in found["values"])
        here = work / f"pass{number}"
        here.mkdir(parents=True, exist_ok=True)
        blocks += create_blocks(_gauge_file(here / "recorded.om", series), prom.data_dir, here)
        prom.restart()
    return blocks


def promtool_record(
    prom: BackfilledPrometheus, rules: list[dict], start: int, end: int, work: Path, name: str
) -> int:
    """``rules`` backfilled by ``promtool tsdb create-blocks-from rules`` itself over
    ``[start, end]``, recorded as ``name``, to hold :func:`record` against the tool it
    stands in for; the blocks go into ``prom``'s data (load them with a restart)."""
    assert slot(RULE_FILE, GROUP) < 0.0005, "GROUP no longer has a whole-minute slot"
    keep = [{"record": name, "expr": r["expr"], "labels": r.get("labels", {})} for r in rules]
    group = {"name": GROUP, "interval": "1m", "rules": keep}
    work.mkdir(parents=True, exist_ok=True)
    (work / RULE_FILE).write_text(yaml.safe_dump({"groups": [group]}, sort_keys=False))
    argv = [_promtool(), "tsdb", "create-blocks-from", "rules", "--quiet", f"--url={prom.url}"]
    argv += [f"--start={start}", f"--end={end}", "--eval-interval=1m", "--output-dir=out"]
    done = subprocess.run(
        [*argv, RULE_FILE], cwd=work, capture_output=True, text=True, timeout=PROMTOOL_TIMEOUT
    )
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout[-2000:]}{done.stderr}"
    return move_blocks(work / "out", prom.data_dir)


def spans_of(times: list[int], last: int, step: int = STEP) -> list[Span]:
    """Firing spans from the evaluation times at which the condition held: each run of
    consecutive times is ``[first, first time after it)``, open (None) if it reaches ``last``."""
    out: list[tuple[int, int]] = []
    for t in sorted(times):
        if out and out[-1][1] == t:
            out[-1] = (out[-1][0], t + step)
        else:
            out.append((t, t + step))
    return [(a, None if b > last else b) for a, b in out]


def _chunks(start: int, end: int) -> Iterator[tuple[int, int]]:
    for a in range(start, end + 1, QUERY_POINTS * STEP):
        yield a, min(end, a + (QUERY_POINTS - 1) * STEP)


def prometheus_firings(prom: BackfilledPrometheus, start: int, end: int) -> dict[Key, list[Span]]:
    """Every condition series' firing spans over the evaluations ``start..end`` (whole minutes).

    A range query at a step of 60 s fills every step with the newest sample up to 5 minutes
    old (the lookback delta: docs/querying/basics.md, "Staleness"), so the condition is read
    as ``last_over_time(...[30s])``: a value only at the steps where a sample was written at
    that very minute. ``timestamp(v)`` gives each selected sample's own time
    (docs/querying/functions.md), which shows any recording off the minute."""
    for name in ("slogen:sli_total:rate5m", "slogen:sli_error_ratio:rate1h", FIRING):
        probe = prom.query_range(f"timestamp({name})", start, end, 3600)
        stamps = {float(v) for s in probe for _, v in s["values"]}
        assert stamps, f"nothing recorded as {name}"
        assert all(v % STEP == 0 for v in stamps), f"{name} off the minute: {min(stamps)}"
    times: dict[Key, list[int]] = {}
    for a, b in _chunks(start, end):
        for series in prom.query_range(f"last_over_time({FIRING}[30s])", a, b, STEP):
            m = series["metric"]
            key = (m["policy"], m["slo"], m["tier"])
            times.setdefault(key, []).extend(int(float(t)) for t, _ in series["values"])
    return {key: spans_of(ts, end) for key, ts in times.items()}
