"""The scenarios ``slogen test`` proves for one SLO, as promtool test groups.

* **outage** (100 % errors after a healthy history that fills the long window): each tier fires
  within one evaluation interval of ``detection_time(1, resolution)``;
* **reset**: when that outage ends (it lasted long enough to fill the short window), each tier
  stops firing within one interval of ``reset_time(1, resolution)``;
* **just below** the threshold (95 % of it, from the first sample, until both windows are full):
  never fires, and both windows hold exactly that ratio (so the check is not vacuous);
* **slow burn** at 2× the threshold on top of that: it fires within one interval of the engine's
  detection time for the equivalent burn from zero, ``T·(e − b)/(T − b)``;
* **low traffic** (with ``min_events``): 100 % errors at a rate whose long window sees just
  under ``min_events`` events never fires, and its windows really hold 100 % errors.

The outages of tiers whose long window is at most 6 hours share one test group on the SLO's whole
rule group; a days-long tier runs alone, on only the rules its alert reads (rules are pure
functions of their inputs, so that changes nothing it computes, and it is where the CPU goes).
Scenario traffic is synthetic (at least 100 events per second, enough for any ``min_events``),
independent of the SLO's expected traffic, and always stated in events: for an ``increase()``
SLI the total query reads ``base`` times the events per second (:class:`SeriesTraffic`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Context, Decimal
from fractions import Fraction

import yaml

from slogen import yamltext
from slogen.backends.prometheus import base_window
from slogen.durations import format_duration
from slogen.numbers import fmt, fmt_percent
from slogen.spec.model import SLO
from slogen.testing.rendered import RenderedSLO, events_check, ratio_check
from slogen.testing.synth import Synthesis
from slogen.testing.testfile import ExprCheck, TestGroup, duration
from slogen.testing.timing import (
    INTERVAL,
    Bracket,
    band_text,
    bracket,
    on_grid,
    timing,
)
from slogen.testing.traffic import SeriesTraffic

LONG_HISTORY = 6 * 3600  # tiers with a longer window run alone, on their own rules only
BELOW = Fraction(95, 100)  # "just below the threshold"
SLOW_BURN = Fraction(2)  # × threshold, on top of BELOW
LOW_TRAFFIC = Fraction(9, 10)  # share of min_events the long window sees in "low traffic"
DEFAULT_RATE = Fraction(100)  # events per second (SeriesTraffic converts to query units)


def _id(*parts: object) -> str:
    """A check or group id from parts (promtool's check ids are one word)."""
    return ".".join(re.sub(r"[^\w.:@%=+-]", "_", str(p)) for p in parts)


@dataclass(frozen=True)
class Scenario:
    """One claim about one tier, the checks that prove it and the probe that observes it."""

    service: str
    slo: str
    tier: str
    kind: str  # outage, reset, slow-burn, below-threshold, low-traffic
    title: str  # "outage at 100%"
    group: str
    checks: tuple[str, ...]  # assertion ids: all must pass
    expected: str  # "fires 2m 56s after the incident began (±1m)"
    expected_seconds: float | None  # None: must never fire
    observe: str | None = None  # probe id; its value is a timestamp
    observe_last: bool = False  # the probe is the last firing (reset), not the first
    reference: float = 0.0  # the instant the expected time is measured from
    horizon: float = 0.0  # seconds the scenario watched (for "never fired in ...")

    @property
    def name(self) -> str:
        return f"{self.service}/{self.slo} {self.tier} {self.title}"


@dataclass
class SLOTests:
    """One SLO's test groups and scenarios, or (``problem``) why it cannot be tested."""

    service: str
    slo: str
    rendered: RenderedSLO | None
    synthesis: Synthesis | None
    groups: list[TestGroup] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    # rule-file set name → files, for --out (name is the file stem of the test file)
    rule_sets: dict[str, Mapping[str, str]] = field(default_factory=dict)
    group_sets: dict[str, str] = field(default_factory=dict)  # group name → rule-set name
    problem: str | None = None  # why it cannot be tested


def _rate_for(slo: SLO) -> Fraction:
    """Scenario traffic: 100 events/s, or more when min_events needs it in every long window."""
    rate = DEFAULT_RATE
    if slo.alerting.min_events:
        shortest = min(t.long for t in slo.policy.tiers)
        rate = max(rate, Fraction(math.ceil(10 * slo.alerting.min_events / shortest)))
    return rate


def _nice_floor(value: Fraction, digits: int = 2) -> Fraction:
    """``value`` rounded down to ``digits`` significant digits (a rate people can read)."""
    ctx = Context(prec=digits, rounding=ROUND_FLOOR)
    dec = ctx.divide(Decimal(value.numerator), Decimal(value.denominator))
    return Fraction(dec)


class ScenarioBuilder:
    """Builds the test groups and scenarios of one SLO."""

    def __init__(self, tests: SLOTests, slo: SLO, rendered: RenderedSLO, synthesis: Synthesis):
        self.tests = tests
        self.model = slo
        self.full = rendered.only_group()
        self.synthesis = synthesis
        self.rate = _rate_for(slo)
        self.traffic = SeriesTraffic(synthesis, self.rate)
        self.base = base_window(slo)
        self.timing = {
            tier: timing(m, self.base, synthesis.irate_only) for tier, m in self.full.tiers.items()
        }
        self.prefix = f"{tests.service}.{tests.slo}"
        self.title = f"{tests.service}/{tests.slo}"

    def history(self, tier: str) -> int:
        """Healthy samples that fill the tier's long window (as evaluated) with full rates."""
        high = self.timing[tier].high
        return (
            math.ceil((high.long + self.timing[tier].resolution + INTERVAL) / INTERVAL) * INTERVAL
        )

    # which rules a set of tiers runs on
    def _rules_for(self, tiers: Sequence[str]) -> tuple[str, RenderedSLO]:
        if len(tiers) == 1 and self.full.tiers[tiers[0]].long > LONG_HISTORY:
            return f"{self.prefix}.{tiers[0]}", self.full.only_tier(tiers[0])
        return self.prefix, self.full

    def _add(self, group: TestGroup, rules_key: str, rendered: RenderedSLO, long: int) -> None:
        group.rule_files = {f"{rules_key}.rules.yml": _single_text(rendered.rule_files)}
        # Cost: evaluations × samples in the longest window read (what promtool spends on).
        group.cost = group.end / INTERVAL * (1 + long / INTERVAL)
        self.tests.rule_sets[rules_key] = group.rule_files
        self.tests.group_sets[group.name] = rules_key
        self.tests.groups.append(group)

    def _scenario(self, tier: str, kind: str, title: str, group: str, **kw) -> None:
        self.tests.scenarios.append(
            Scenario(self.tests.service, self.tests.slo, tier, kind, title, group, **kw)
        )

    def _probe(self, slo: RenderedSLO, tier: str, ident: str, since: int, at: int, fn: str):
        """The first (``min``) or last (``max``) instant the tier fired in ``[since, at]``."""
        query = slo.firing_query(tier)
        span = duration(max(at - since, INTERVAL))
        return ExprCheck(ident, f"{fn}_over_time(timestamp({query})[{span}:1m])", at, probe=True)

    def _never(self, slo: RenderedSLO, tier: str, ident: str, end: int) -> ExprCheck:
        query = slo.firing_query(tier)
        return ExprCheck(ident, f"count_over_time({query}[{duration(end + INTERVAL)}])", end)

    def build(self, only: Sequence[str] = ()) -> None:
        tiers = [t for t in self.full.tiers if not only or t in only]
        short = [t for t in tiers if self.full.tiers[t].long <= LONG_HISTORY]
        sets = ([short] if short else []) + [[t] for t in tiers if t not in short]
        for subset in sets:
            self.outage(subset)
        for tier in tiers:
            self.below_then_burn(tier)
        if self.model.alerting.min_events:
            for tier in tiers:
                self.low_traffic(tier)

    def _detection_checks(
        self, slo: RenderedSLO, tier: str, prefix: str, start: float, band: tuple[float, float]
    ) -> tuple[list[ExprCheck], Bracket]:
        query, sample = slo.firing_query(tier), slo.firing_sample(tier)
        b = bracket(start, *band)
        checks = [ExprCheck(_id(prefix, "healthy"), query, on_grid(start))]
        if b.before is not None and b.before > on_grid(start):
            checks.append(ExprCheck(_id(prefix, "quiet"), query, b.before))
        checks.append(ExprCheck(_id(prefix, "firing"), query, b.after, (sample,)))
        return checks, b

    def outage(self, tiers: Sequence[str]) -> None:
        key, slo = self._rules_for(tiers)
        name = f"{self.title} outage ({', '.join(tiers)})"
        start = max(self.history(t) for t in tiers) + INTERVAL / 2
        detect = {t: self.timing[t].detection(1.0) for t in tiers}
        length = max(
            max(
                detect[t][1] + 2 * INTERVAL,
                self.timing[t].high.short + self.timing[t].resolution + 2 * INTERVAL,
            )
            for t in tiers
        )
        end = start + math.ceil(length / INTERVAL) * INTERVAL
        checks: list[ExprCheck] = []
        plans = []
        for t in tiers:
            prefix, rprefix = _id(self.prefix, t, "outage"), _id(self.prefix, t, "reset")
            found, _ = self._detection_checks(slo, t, prefix, start, detect[t])
            checks.extend(found)
            reset = self.timing[t].reset(1.0)
            rb = bracket(end, *reset, floor_before=on_grid(end))
            query, sample = slo.firing_query(t), slo.firing_sample(t)
            checks.append(ExprCheck(_id(rprefix, "firing"), query, rb.before, (sample,)))
            checks.append(ExprCheck(_id(rprefix, "cleared"), query, rb.after))
            plans.append((t, prefix, rprefix, [c.id for c in found], reset, rb.after))
        group_end = max(p[-1] for p in plans)
        for t, prefix, rprefix, ids, reset, _after in plans:
            first = self._probe(slo, t, _id(prefix, "first"), on_grid(start), on_grid(end), "min")
            last = self._probe(slo, t, _id(rprefix, "last"), on_grid(start), group_end, "max")
            checks.extend([first, last])
            self._scenario(
                t,
                "outage",
                "outage at 100%",
                name,
                checks=tuple(ids),
                expected=f"fires {band_text(*detect[t])} after the incident began (±1m)",
                expected_seconds=detect[t][0],
                observe=first.id,
                reference=start,
            )
            self._scenario(
                t,
                "reset",
                "reset after the outage",
                name,
                checks=(_id(rprefix, "firing"), _id(rprefix, "cleared")),
                expected=f"clears {band_text(*reset)} after the incident ended (±1m)",
                expected_seconds=reset[0],
                observe=last.id,
                observe_last=True,
                reference=end,
            )
        series = self.traffic.timeline([(0, 0), (start, 1), (end, 0)], end=group_end)
        group = TestGroup(name, series, checks, INTERVAL)
        self._add(group, key, slo, max(slo.tiers[t].long for t in tiers))

    def below_then_burn(self, tier: str) -> None:
        """Just below the threshold until both windows hold nothing else (never fires), then a
        slow burn on top of it (fires when predicted).

        The windows then average ``b + (e − b)·m/W`` (``b`` the ratio below, ``e`` the burn,
        ``m`` the burn's weight in the window), which crosses ``T`` exactly when a burn of
        ``T·(e − b)/(T − b)`` from zero would: the engine predicts it with that ratio. One
        window fill serves both scenarios, which halves the cost of days-long tiers.
        """
        key, slo = self._rules_for([tier])
        math_ = slo.tiers[tier]
        threshold = math_.threshold
        below = BELOW * threshold
        factor = SLOW_BURN
        burn = min(factor * threshold, Fraction(1))
        equivalent = threshold * (burn - below) / (threshold - below)
        prefix = _id(self.prefix, tier, "below")
        bprefix = _id(self.prefix, tier, "slow-burn")
        name = f"{self.title} {tier} just below the threshold, then a slow burn"
        start = self.history(tier) + INTERVAL / 2
        quiet_end = on_grid(start)
        query = slo.firing_query(tier)
        checks = [
            ExprCheck(_id(prefix, "quiet", t), query, t)
            for t in sorted({on_grid(math_.short), on_grid(math_.long / 2), on_grid(math_.long)})
            if t < quiet_end
        ]
        checks.append(self._never(slo, tier, _id(prefix, "never"), quiet_end))
        for label, window in (("long", math_.long), ("short", math_.short)):
            checks.append(ratio_check(slo, _id(prefix, label, "ratio"), window, below, quiet_end))
        if self.model.alerting.min_events:  # the event gate is open: the check is not vacuous
            checks.append(
                events_check(
                    slo,
                    _id(prefix, "events"),
                    math_.long,
                    quiet_end,
                    at_least=self.model.alerting.min_events,
                    below=1e18,
                )
            )
        for other in slo.alerts:
            if other != tier and slo.tiers[other].threshold > below:
                checks.append(self._never(slo, other, _id(prefix, "other", other), quiet_end))
        below_ids = tuple(c.id for c in checks)
        checks.append(self._probe(slo, tier, _id(prefix, "first"), 0, quiet_end, "min"))
        band = self.timing[tier].detection(float(equivalent))
        burn_checks, b = self._detection_checks(slo, tier, bprefix, start, band)
        burn_ids = tuple(c.id for c in burn_checks if c.id != _id(bprefix, "healthy"))
        checks.extend(c for c in burn_checks if c.id in burn_ids)
        checks.append(self._probe(slo, tier, _id(bprefix, "first"), quiet_end, b.after, "min"))
        self._scenario(
            tier,
            "below-threshold",
            f"just below the threshold at {fmt_percent(below)}",
            name,
            checks=below_ids,
            expected=f"never fires (both windows hold {fmt_percent(below)})",
            expected_seconds=None,
            observe=_id(prefix, "first"),
            reference=0,
            horizon=quiet_end,
        )
        self._scenario(
            tier,
            "slow-burn",
            f"slow burn at {fmt_percent(burn)} ({fmt(factor)}× threshold) on top of it",
            name,
            checks=burn_ids,
            expected=f"fires {band_text(*band)} after the burn began (±1m)",
            expected_seconds=band[0],
            observe=_id(bprefix, "first"),
            reference=start,
        )
        series = self.traffic.timeline([(0, below), (start, burn)], end=b.after)
        self._add(TestGroup(name, series, checks, INTERVAL), key, slo, math_.long)

    def low_traffic(self, tier: str) -> None:
        key, slo = self._rules_for([tier])
        math_ = slo.tiers[tier]
        min_events = self.model.alerting.min_events
        assert min_events
        # Per interval: a round number such that the long window (W/interval + 1 samples in
        # Prometheus 2's closed ranges) sees just under min_events events.
        per_interval = _nice_floor(LOW_TRAFFIC * min_events * INTERVAL / (math_.long + INTERVAL))
        traffic = SeriesTraffic(self.synthesis, per_interval / INTERVAL)
        prefix = _id(self.prefix, tier, "low-traffic")
        name = f"{self.title} {tier} low traffic"
        end = self.history(tier) + INTERVAL
        query = slo.firing_query(tier)
        seen = per_interval * (math_.long // INTERVAL)  # at least, whatever the range semantics
        check_stated_traffic(traffic, seen, math_.long, min_events)
        checks = [
            ExprCheck(_id(prefix, "quiet", t), query, t)
            for t in sorted({on_grid(math_.short), on_grid(math_.long / 2), end})
        ]
        checks.append(self._never(slo, tier, _id(prefix, "never"), end))
        checks.append(ratio_check(slo, _id(prefix, "long.ratio"), math_.long, 1, end))
        checks.append(ratio_check(slo, _id(prefix, "short.ratio"), math_.short, 1, end))
        checks.append(
            events_check(
                slo, _id(prefix, "events"), math_.long, end, at_least=seen, below=min_events
            )
        )
        checks.append(self._probe(slo, tier, _id(prefix, "first"), 0, end, "min"))
        group = TestGroup(name, traffic.timeline([(0, 1)], end=end), checks, INTERVAL)
        self._scenario(
            tier,
            "low-traffic",
            f"low traffic ({fmt(seen, 4)}+ events per {format_duration(math_.long)} < "
            f"min_events {min_events})",
            name,
            checks=tuple(c.id for c in checks if not c.probe),
            expected="never fires, although every event fails",
            expected_seconds=None,
            observe=_id(prefix, "first"),
            reference=0,
            horizon=end,
        )
        self._add(group, key, slo, math_.long)


def check_stated_traffic(
    traffic: SeriesTraffic, seen: Fraction, window: int, min_events: int
) -> None:
    """The low-traffic scenario's label ("``seen``+ events per window < min_events") is what its
    series carry: counted from the counters, ``seen`` over ``window`` and fewer than
    ``min_events`` over the one more interval a closed range may also see.

    An ``increase()`` SLI once fed 0.28 events an hour under a label of 84+: the check passed
    for the wrong reason, and an event-count rule wrong by 300× went unnoticed.
    """
    per_second = traffic.events_per_second()
    carried = per_second * (window // INTERVAL * INTERVAL)
    if carried != seen or per_second * (window + INTERVAL) >= min_events:
        raise AssertionError(
            f"the low-traffic scenario states {fmt(seen, 4)}+ events per "
            f"{format_duration(window)} (< {min_events}) but its series carry "
            f"{fmt(float(carried), 4)}"
        )


def _single_text(rule_files: Mapping[str, str]) -> str:
    """Rule files reduced to one SLO's group are one file; join defensively if not."""
    texts = list(rule_files.values())
    if len(texts) == 1:
        return texts[0]
    groups = []
    for text in texts:
        groups.extend((yamltext.load(text) or {}).get("groups", []))
    return yaml.safe_dump({"groups": groups}, sort_keys=False, width=10_000)
