"""``slogen backtest --format json``: the report as data, numbers as JSON numbers.

Times appear twice: RFC 3339 (``start``) for people and epoch seconds (``start_epoch``) for
programs. A firing or miss still open at the end of the span has ``end``/``end_epoch`` null.
Ratios are fractions (0.9995, not 99.95); events are counts as the backend reports them.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from slogen.backtest.report import Firing, Miss, Outcome, Report
from slogen.backtest.summary import policy_rows
from slogen.backtest.timespec import rfc3339
from slogen.durations import format_duration
from slogen.numbers import fmt


def _number(value: float | None, digits: int = 10) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(fmt(value, digits))


def _time(prefix: str, when: int | None) -> dict[str, Any]:
    return {
        prefix: None if when is None else rfc3339(when),
        f"{prefix}_epoch": when,
    }


def firing(f: Firing, until: int) -> dict[str, Any]:
    return {
        **_time("start", f.start),
        **_time("end", f.end),
        "duration_seconds": f.duration(until),
        "labels": dict(f.labels),
        "budget_spent": _number(f.budget_spent),
        "peak_budget_share": _number(f.peak_share),
        "detection_seconds": f.detection,
        "noise": f.noise,
    }


def miss(m: Miss) -> dict[str, Any]:
    return {
        "severity": m.severity,
        "tier": m.tier,
        **_time("start", m.start),
        **_time("end", m.end),
        "peak_budget_share": _number(m.peak_share),
        "tier_budget_share": float(m.budget),
    }


def outcome(o: Outcome) -> dict[str, Any]:
    return {
        "service": o.service,
        "slo": o.slo,
        "backend": o.backend,
        "policy": o.policy,
        "source": o.source,
        "objective": float(o.objective),
        "window": format_duration(o.period),
        **_time("start", o.start),
        **_time("end", o.end),
        "events": {"total": _number(o.total_events), "errors": _number(o.error_events)},
        "attainment": _number(o.attainment),
        "budget_spent": _number(o.budget_spent),
        "period_budget_events": _number(o.period_budget),
        "min_events": o.min_events,
        "tiers": [
            {
                "id": t.math.id,
                "severity": t.math.severity,
                "budget": float(t.math.budget),
                "burn_rate": float(t.math.burn_rate),
                "threshold": t.threshold,
                "long": format_duration(t.math.long),
                "short": format_duration(t.math.short),
                "firings": [firing(f, o.end) for f in t.firings],
                "count": len(t.firings),
                "per_week": _number(len(t.firings) / o.weeks, 4) if o.weeks else None,
                "minutes_firing": _number(t.seconds_firing(o.end) / 60, 6),
            }
            for t in o.tiers
        ],
        "misses": [miss(m) for m in o.misses],
        "noise": o.noise,
        "median_detection_seconds": o.median_detection,
        "notes": list(o.notes),
        "requests": o.requests,
    }


def render(report: Report) -> str:
    data = {
        **_time("from", report.start),
        **_time("to", report.end),
        "policies": list(report.policies),
        "requests": report.requests,
        "slos": [outcome(o) for o in report.outcomes],
        "unread": [
            {"service": s, "slo": o, "backend": b, "reason": why} for s, o, b, why in report.unread
        ],
        "comparison": [row.as_dict() for row in policy_rows(report)] if report.compared() else [],
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"
