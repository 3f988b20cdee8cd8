"""SLO scenarios for promtool rule unit tests: what slogen renders for one SLO, synthetic
traffic, and builders for the situations the SRE Workbook reasons about.

:class:`RenderedSLO` is the rule file and alert rules slogen renders for one SLO; :class:`Traffic`
(two counters, failed and successful requests) and :class:`SeriesTraffic` (any set of counters,
for example synthesised from a spec's own queries by :mod:`slogen.testing.synth`) produce the
input series. :func:`detection_group` checks a constant error ratio from a known instant against
the engine's predicted detection time; :func:`quiet_group` a burn that must never fire.

Every assertion is a ``promql_expr_test`` on ``ALERTS{alertname=...,alertstate="firing",
tier=...}``: it names the tier (several tiers of one SLO share an alert name) and, when the alert
must fire, compares the full label set taken from the rendered rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Protocol

import yaml

from slogen.backends import prometheus
from slogen.durations import format_duration
from slogen.engine import TierMath, analyse_slo
from slogen.numbers import to_fraction
from slogen.spec.model import Project
from slogen.testing.promtool import (
    EPSILON,
    ExprCheck,
    InputSeries,
    Sample,
    TestGroup,
    TestRun,
    _number,
    selector,
)


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
    # Labels the SLI queries keep on the recorded series (``sum by (...)``), for exact samples.
    output_labels: Mapping[str, str] = field(default_factory=dict)

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

    @property
    def group_name(self) -> str:
        return f"{prometheus.GROUP_PREFIX}{self.service}/{self.slo}"

    def only_group(self) -> RenderedSLO:
        """The same SLO reduced to its own rule group (other SLOs of the service dropped)."""
        files: dict[str, str] = {}
        for file_name, text in self.rule_files.items():
            doc = yaml.safe_load(text) or {}
            groups = [g for g in doc.get("groups", []) if g.get("name") == self.group_name]
            if groups:
                files[file_name] = prometheus.dump_yaml({"groups": groups})
        if not files:
            raise ValueError(f"no rule group {self.group_name!r}")
        return replace(self, rule_files=files)

    def edit_rules(self, transform: Callable[[str], str]) -> RenderedSLO:
        """The same SLO with every rule file's text passed through ``transform``."""
        return replace(self, rule_files={k: transform(v) for k, v in self.rule_files.items()})

    def only_tier(self, tier: str) -> RenderedSLO:
        """The same SLO reduced to the rules ``tier``'s alert needs, unchanged otherwise.

        Rules are pure functions of the series they read, so dropping the recording rules and
        alerts the tier does not reference changes nothing it computes; it only saves promtool
        from evaluating them (each rule costs time at every evaluation of a days-long run).
        """
        group_name = self.group_name
        files: dict[str, str] = {}
        for file_name, text in self.rule_files.items():
            doc = yaml.safe_load(text) or {}
            for group in doc.get("groups", []):
                if group.get("name") != group_name:
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
                files[file_name] = prometheus.dump_yaml(doc)
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
        labels = dict(self.output_labels)
        labels.update({"alertname": str(rule["alert"]), "alertstate": "firing"})
        labels.update({str(k): str(v) for k, v in rule["labels"].items()})
        labels["__name__"] = "ALERTS"
        return Sample(labels, 1.0)

    def record_labels(self) -> dict[str, str]:
        """The labels that select this SLO's recorded series."""
        return {"service": self.service, "slo": self.slo}

    def record_sample_labels(self) -> dict[str, str]:
        """The complete label set of one of its recorded series (without the name)."""
        return {**self.output_labels, **self.record_labels()}


Phases = Sequence[tuple[float, float]]  # (from this instant in seconds, error ratio)


class TrafficSource(Protocol):
    """Anything that produces input series for a timeline of error ratios."""

    @property
    def interval(self) -> int: ...

    def timeline(self, phases: Phases, *, end: int) -> list[InputSeries]: ...

    def series(
        self, *, incident_start: float, error_ratio: float, end: int
    ) -> list[InputSeries]: ...


def counter_values(rates: Sequence[tuple[Fraction, Fraction]], end: int, step: int) -> str:
    """promtool's expanding notation for a counter sampled every ``step`` seconds from 0 to
    ``end`` (rounded down to a sample), growing at a piecewise constant rate: ``rates`` is
    ``[(from_second, per_second), ...]`` in time order, the first from 0.

    Each sample holds the exact integral of the rate up to its instant, so a change between two
    samples shows in the next one only for the part of the interval after it.
    """
    last = end // step
    if last <= 0:
        return "0"

    def integral(t: Fraction) -> Fraction:
        total = Fraction(0)
        for index, (since, rate) in enumerate(rates):
            until = rates[index + 1][0] if index + 1 < len(rates) else None
            if t <= since:
                break
            total += rate * ((t if until is None else min(t, until)) - since)
        return total

    def increment(k: int) -> Fraction:  # growth over the interval ending at sample k
        return integral(Fraction(k * step)) - integral(Fraction((k - 1) * step))

    # Increments change only at the interval holding a rate change and the one after it.
    breaks = {1}
    for since, _ in rates:
        k = math.ceil(since / step)
        breaks.update({k, k + 1})
    points = sorted(b for b in breaks if 1 <= b <= last)
    runs: list[list[Any]] = []  # [count, increment]
    for index, first in enumerate(points):
        count = (points[index + 1] if index + 1 < len(points) else last + 1) - first
        inc = increment(first)
        if runs and runs[-1][1] == inc:
            runs[-1][0] += count
        else:
            runs.append([count, inc])
    tokens: list[str] = []
    value = Fraction(0)
    bare = True  # the last token is a lone value that a run of increments may extend
    tokens.append("0")
    for count, inc in runs:
        if not bare:  # a new token starts with an explicit value: one increment goes into it
            value += inc
            count -= 1
            tokens.append(_number(value))
        if count:
            tokens[-1] += f"+{_number(inc)}x{count}" if inc else f"x{count}"
        value += inc * count
        bare = count == 0
    return " ".join(tokens)


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
        return self.timeline([(0, 0.0), (incident_start, error_ratio)], end=end)

    def timeline(self, phases: Phases, *, end: int) -> list[InputSeries]:
        """Constant total traffic; from each phase's instant on, its error ratio."""
        # Exact decimal arithmetic: 6000 × 0.0288 is 172.8, not 172.79999999999998.
        per_second = to_fraction(self.requests_per_interval) / self.interval
        changes = [(to_fraction(at), to_fraction(ratio)) for at, ratio in phases]
        errors = [(at, per_second * ratio) for at, ratio in changes]
        success = [(at, per_second * (1 - ratio)) for at, ratio in changes]
        return [
            InputSeries(self.errors_series, counter_values(errors, end, self.interval)),
            InputSeries(self.success_series, counter_values(success, end, self.interval)),
        ]


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
    traffic: TrafficSource,
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
    return ExprCheck(check_id, expr, at, (Sample(slo.record_sample_labels(), 1.0),))


def _close_check(
    slo: RenderedSLO, check_id: str, record: str, value: float | Fraction, at: int, rel: float
) -> ExprCheck:
    tolerance = _number(abs(float(value)) * rel or rel)
    expr = f"abs({record} - {_number(value)}) <= bool {tolerance}"
    return ExprCheck(check_id, expr, at, (Sample(slo.record_sample_labels(), 1.0),))


def quiet_group(
    slo: RenderedSLO,
    tier: str,
    error_ratio: float | Fraction,
    traffic: TrafficSource,
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
