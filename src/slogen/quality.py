"""How good an SLO's alerts are, in the SRE Workbook's terms (ch. 5, "Alerting on SLOs").

The Workbook judges an alerting setup by four properties. For each tier of a policy:

* **detection time**: how long a constant error ratio takes to fire it (here across a range of
  error ratios, 100 % down to below the lowest threshold);
* **reset time**: how long it keeps firing after a long incident ends;
* **precision**: how much of the error budget is gone when it fires (its budget share ``b``;
  a tier never fires for a burn that would not spend it);
* **recall**: the lowest sustained error ratio it catches, and how much budget a burn just
  under that spends over the period without it ever firing.

For the policy as a whole: which burn rates page, which ticket and which go unnoticed. With
expected traffic the budget is also counted in events, and tiers that a single failed event
trips are flagged with the Workbook's remedies for low traffic (5.3).

Pure functions of the engine's numbers, returning JSON-ready data: no I/O and no text.
:mod:`slogen.explain.quality_text` renders them for ``slogen explain``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from slogen.durations import format_duration
from slogen.engine import TierMath, analyse_slo
from slogen.numbers import HUMAN_DIGITS, fmt
from slogen.spec.model import SLO
from slogen.spec.traffic import ExpectedTraffic

INFINITY = float("inf")


def _seconds(value: float) -> float | None:
    return None if value == INFINITY else round(value, 3)


def _frac(value: float) -> str:
    return fmt(Fraction(value).limit_denominator(10**9))


def error_ratio_grid(thresholds: list[Fraction]) -> list[Fraction]:
    """1-2-5 steps from 100 % down to the first step at or below the lowest threshold."""
    lowest = min(thresholds)
    grid: list[Fraction] = []
    exponent = 0
    while True:
        for mantissa in (1, Fraction(1, 2), Fraction(1, 5)):
            ratio = mantissa * Fraction(1, 10**exponent)
            grid.append(ratio)
            if ratio <= lowest:
                return grid
        exponent += 1


def _first(tiers: list[TierMath], ratio: float, resolution: int) -> TierMath | None:
    firing = [(m.detection_time(ratio, resolution), i, m) for i, m in enumerate(tiers)]
    firing = [f for f in firing if f[0] != INFINITY]
    return min(firing)[2] if firing else None


def policy_ranges(slo: SLO, tiers: list[TierMath]) -> list[dict[str, Any]]:
    """Burn-rate ranges by the most urgent severity that eventually fires, then unnoticed.

    A severity is more urgent when it needs a faster burn (``page`` before ``ticket`` in the
    Workbook's policy); a burn that pages also tickets eventually, but it is handled as a page.
    """
    budget = 1 - slo.target
    lowest: dict[str, Fraction] = {}
    members: dict[str, list[str]] = {}
    for m in tiers:
        lowest[m.severity] = min(lowest.get(m.severity, m.burn_rate), m.burn_rate)
        members.setdefault(m.severity, []).append(m.id)
    order = sorted(lowest, key=lambda s: -lowest[s])
    ranges: list[dict[str, Any]] = []
    above: Fraction | None = None
    for severity in order:
        low = lowest[severity]
        if above is not None and low >= above:
            continue  # never the most urgent: a more urgent severity fires for all of its burns
        ranges.append(
            {
                "severity": severity,
                "tiers": members[severity],
                "burn_rate_above": fmt(low),
                "burn_rate_up_to": None if above is None else fmt(above),
                "error_ratio_above": fmt(low * budget),
                "error_ratio_up_to": None if above is None else fmt(above * budget),
            }
        )
        above = low
    floor = min(lowest.values())
    ranges.append(
        {
            "severity": None,
            "tiers": [],
            "burn_rate_above": None,
            "burn_rate_up_to": fmt(floor),
            "error_ratio_above": None,
            "error_ratio_up_to": fmt(floor * budget),
            # a burn just under the lowest threshold, for the whole period, unnoticed
            "budget_spent_unnoticed": fmt(floor),
        }
    )
    return ranges


def low_traffic_advice(
    slo: SLO, tiers: list[TierMath], traffic: ExpectedTraffic
) -> list[dict[str, Any]]:
    """Tiers where one failed event in the short window already exceeds the threshold."""
    advice = []
    for m in tiers:
        short_events = traffic.events_in(m.short)
        long_events = traffic.events_in(m.long)
        one_failure = 1 / short_events if short_events else None
        if one_failure is not None and one_failure <= m.threshold:
            continue
        needed = math.ceil(1 / m.threshold)  # events for one failure to stay ≤ T
        current = slo.alerting.min_events
        window = math.ceil(1 / (traffic.per_second * m.threshold) / 60) * 60
        advice.append(
            {
                "tier": m.id,
                "short_window": format_duration(m.short),
                "short_window_events": fmt(short_events, HUMAN_DIGITS),
                "long_window": format_duration(m.long),
                "long_window_events": fmt(long_events, HUMAN_DIGITS),
                "one_failure_error_ratio": None if one_failure is None else fmt(one_failure),
                "threshold": fmt(m.threshold),
                "fires_on_one_failure": long_events * m.threshold < 1,
                "suggest_min_events": None if current and current >= needed else needed,
                "min_events_would_silence": long_events < needed,
                "suggest_short_window": format_duration(window) if window < m.long else None,
            }
        )
    return advice


def quality_report(
    slo: SLO, resolution: int | None, traffic: ExpectedTraffic | None = None
) -> dict[str, Any]:
    """The Workbook's four properties per tier, the policy's burn-rate ranges and, with
    expected traffic, event counts and low-traffic advice. ``resolution``: the range of the
    Prometheus base rates (None without a Prometheus indicator)."""
    tiers = analyse_slo(slo)
    budget = 1 - slo.target
    res = resolution or 0
    grid = []
    for ratio in error_ratio_grid([m.threshold for m in tiers]):
        e = float(ratio)
        row: dict[str, Any] = {
            "error_ratio": fmt(ratio),
            "burn_rate": fmt(ratio / budget),
            "tiers": {},
        }
        for m in tiers:
            entry: dict[str, Any] = {
                "detection_seconds": _seconds(m.detection_time(e)),
                "budget_spent": None
                if m.detection_time(e) == INFINITY
                else _frac(m.budget_spent(e)),
            }
            if resolution is not None:
                entry["prometheus_detection_seconds"] = _seconds(m.detection_time(e, res))
                spent = m.budget_spent(e, res)
                entry["prometheus_budget_spent"] = None if spent == INFINITY else _frac(spent)
            row["tiers"][m.id] = entry
        first = _first(tiers, e, 0)
        row["first"] = (
            None
            if first is None
            else {
                "tier": first.id,
                "severity": first.severity,
                "detection_seconds": _seconds(first.detection_time(e)),
                "budget_spent": _frac(first.budget_spent(e)),
            }
        )
        grid.append(row)
    per_tier = {}
    for m in tiers:
        b = m.burn_rate
        entry = {
            "reset_seconds": _seconds(m.reset_time(1.0)),
            "budget_spent_before_firing": fmt(m.budget),
            "lowest_error_ratio_caught": fmt(m.threshold),
            "unnoticed_below": {
                "error_ratio": fmt(m.threshold),
                "burn_rate": fmt(b),
                "budget_spent_in_period": fmt(b),
                "budget_exhausted_after_seconds": _seconds(slo.window / float(b))
                if b > 1
                else None,
            },
        }
        if resolution is not None:
            entry["prometheus_reset_seconds"] = _seconds(m.reset_time(1.0, res))
        per_tier[m.id] = entry
    report: dict[str, Any] = {
        "error_ratios": grid,
        "tiers": per_tier,
        "policy": policy_ranges(slo, tiers),
    }
    if traffic is not None:
        period_events = traffic.events_in(slo.window)
        budget_events = period_events * budget
        report["traffic"] = {
            "expected": str(traffic),
            "events_per_second": fmt(traffic.per_second, HUMAN_DIGITS),
            "events_per_period": fmt(period_events, HUMAN_DIGITS),
            "error_budget_events": fmt(budget_events, HUMAN_DIGITS),
            "tiers": {
                m.id: {
                    "long_window_events": fmt(traffic.events_in(m.long), HUMAN_DIGITS),
                    "short_window_events": fmt(traffic.events_in(m.short), HUMAN_DIGITS),
                    "budget_events_before_firing": fmt(budget_events * m.budget, HUMAN_DIGITS),
                }
                for m in tiers
            },
        }
        report["low_traffic"] = low_traffic_advice(slo, tiers, traffic)
    return report
