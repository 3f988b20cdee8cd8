"""SLO scenarios for the promtool tests of the generated rules (``tests/test_promtool.py``).

The tests' own scenario engine, on the workbook policy with two plain counters: :class:`Traffic`
(failed and successful requests) produces the input series; :func:`detection_group` checks a
constant error ratio from a known instant against the engine's predicted detection time;
:func:`quiet_group` a burn that must never fire. ``slogen test`` itself uses
:mod:`slogen.testing.scenarios`; the building blocks (rule files, checks, counters) are shared.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Protocol

from slogen.backends import registry
from slogen.backends.prometheus import base_window
from slogen.engine import TierMath, analyse_slo
from slogen.numbers import to_fraction
from slogen.spec.model import Project
from slogen.testing import rendered
from slogen.testing.promtool import TestRun
from slogen.testing.rendered import ratio_check
from slogen.testing.testfile import ExprCheck, InputSeries, TestGroup
from slogen.testing.timing import EPSILON
from slogen.testing.traffic import Phases, counter_values


class RenderedSLO(rendered.RenderedSLO):
    """:class:`slogen.testing.rendered.RenderedSLO` with the tests' ways to make and break one."""

    @classmethod
    def from_project(cls, project: Project, service: str, slo: str) -> RenderedSLO:
        svc = next(s for s in project.services if s.name == service)
        model = next(o for o in svc.slos if o.name == slo)
        backend = registry.get("prometheus")
        mine = [r for r in backend.render(project, None) if r.key.startswith(f"{service}/")]
        files = backend.files(mine, {})
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
            base_window(model),
            model.alerting.min_events,
        )

    def edit_rules(self, transform: Callable[[str], str]) -> RenderedSLO:
        """The same SLO with every rule file's text passed through ``transform``."""
        return replace(self, rule_files={k: transform(v) for k, v in self.rule_files.items()})


class TrafficSource(Protocol):
    """Anything that produces input series for a timeline of error ratios."""

    @property
    def interval(self) -> int: ...

    def timeline(self, phases: Phases, *, end: int) -> list[InputSeries]: ...

    def series(
        self, *, incident_start: float, error_ratio: float, end: int
    ) -> list[InputSeries]: ...


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
