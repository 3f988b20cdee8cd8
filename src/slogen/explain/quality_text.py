"""The alert-quality section of the text of ``slogen explain``.

It renders what :func:`slogen.quality.quality_report` computed, from the report's JSON-ready
data only, so the text and ``--format json`` cannot disagree.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from slogen.durations import humanize_duration
from slogen.numbers import HUMAN_DIGITS, fmt, fmt_percent
from slogen.texttable import table


def _when(seconds: float | None) -> str:
    return "never" if seconds is None else humanize_duration(seconds)


def _count(text: str) -> str:
    """1234567.5 → 1,234,568; small numbers keep their digits (3.472)."""
    value = Fraction(text)
    if value >= 100:
        return f"{round(value):,}"
    return text


def _num(text: str) -> str:
    return fmt(Fraction(text), HUMAN_DIGITS)


def _pct(text: str | None) -> str:
    return "-" if text is None else fmt_percent(Fraction(text))


def render_text(rep: dict[str, Any], window: str) -> str:
    """The quality section of one SLO's ``slogen explain`` block."""
    quality = rep["quality"]
    tier_ids = [t["tier"] for t in rep["tiers"]]
    headers = ["error ratio", "burn rate", *tier_ids, "first alert"]
    rows = []
    for row in quality["error_ratios"]:
        cells = [_pct(row["error_ratio"]), fmt(Fraction(row["burn_rate"]), HUMAN_DIGITS)]
        cells += [_when(row["tiers"][t]["detection_seconds"]) for t in tier_ids]
        first = row["first"]
        if first is None:
            cells.append("none: goes unnoticed")
        else:
            cells.append(
                f"{first['tier']} ({first['severity']}) after "
                f"{_pct(first['budget_spent'])} of the budget"
            )
        rows.append(cells)
    lines = [
        "Alert quality (SRE Workbook ch. 5); detection time at a constant error ratio:",
        table(headers, rows, right=set(range(len(headers) - 1))),
    ]
    tiers = quality["tiers"]
    resets = ", ".join(f"{t} {_when(tiers[t]['reset_seconds'])}" for t in tier_ids)
    line = f"reset after a long full outage: {resets}"
    if all("prometheus_reset_seconds" in tiers[t] for t in tier_ids):
        prom = ", ".join(_when(tiers[t]["prometheus_reset_seconds"]) for t in tier_ids)
        line += f" (Prometheus rules: {prom})"
    lines.append(line)
    lines.append(
        "precision: a tier fires only once its share of the budget is spent: "
        + ", ".join(f"{t} {_pct(tiers[t]['budget_spent_before_firing'])}" for t in tier_ids)
    )
    recall = []
    for t in tier_ids:
        below = tiers[t]["unnoticed_below"]
        text = f"{t} up to {_pct(below['error_ratio'])} (burn rate {_num(below['burn_rate'])})"
        if below["budget_exhausted_after_seconds"] is not None:
            text += f" exhausts the budget in {_when(below['budget_exhausted_after_seconds'])}"
        else:
            text += f" spends {_pct(below['budget_spent_in_period'])} of it per {window}"
        recall.append(text)
    lines.append(
        "recall: a burn just under a tier's threshold goes unnoticed by it: " + "; ".join(recall)
    )
    parts = []
    for r in quality["policy"]:
        if r["severity"] is None:
            parts.append(
                f"burn rate ≤ {_num(r['burn_rate_up_to'])} (error ratio ≤ "
                f"{_pct(r['error_ratio_up_to'])}) goes unnoticed, spending up to "
                f"{_pct(r['budget_spent_unnoticed'])} of the budget per {window}"
            )
        elif r["burn_rate_up_to"] is None:
            parts.append(
                f"burn rate > {_num(r['burn_rate_above'])} (error ratio > "
                f"{_pct(r['error_ratio_above'])}) raises a {r['severity']}"
            )
        else:
            parts.append(
                f"{_num(r['burn_rate_above'])} < burn rate ≤ {_num(r['burn_rate_up_to'])} "
                f"({_pct(r['error_ratio_above'])} to {_pct(r['error_ratio_up_to'])}) "
                f"raises a {r['severity']}"
            )
    lines.append("policy: " + "; ".join(parts))
    if "traffic" in quality:
        traffic = quality["traffic"]
        per_tier = ", ".join(
            f"{t} after ~{_count(traffic['tiers'][t]['budget_events_before_firing'])} "
            f"({_count(traffic['tiers'][t]['long_window_events'])} events per "
            f"{_long_window(rep, t)})"
            for t in tier_ids
        )
        lines.append(
            f"traffic {traffic['expected']} ({traffic['events_per_second']}/s): error budget "
            f"{_count(traffic['error_budget_events'])} failed events per {window}; failed events "
            f"before each tier fires: {per_tier}"
        )
        for advice in quality["low_traffic"]:
            lines.append(_advice_text(advice, rep["min_events"]))
    return "\n".join(lines)


def _long_window(rep: dict[str, Any], tier: str) -> str:
    return next(t["long_window"] for t in rep["tiers"] if t["tier"] == tier)


def _advice_text(a: dict[str, Any], min_events: int | None) -> str:
    ratio = a["one_failure_error_ratio"]
    text = (
        f"low traffic (Workbook 5.3): {a['tier']}: its {a['short_window']} short window expects "
        f"~{_count(a['short_window_events'])} events, so "
    )
    if ratio is None:
        text += "it is usually empty"
    else:
        text += (
            f"one failed event is an error ratio of {_pct(ratio)}, above its threshold of "
            f"{_pct(a['threshold'])}"
        )
    if a["fires_on_one_failure"]:
        text += (
            f"; even its {a['long_window']} long window (~{_count(a['long_window_events'])} "
            "events) fires on a single failed event"
        )
    options = []
    if a["suggest_min_events"] is not None:
        option = f"min_events: {a['suggest_min_events']} (one failure can then never fire it"
        if a["min_events_would_silence"]:
            option += (
                f"; but at this traffic its {a['long_window']} window rarely sees that many "
                "events, so it would stay silent"
            )
        options.append(option + ")")
    elif min_events:
        options.append(f"min_events {min_events} already keeps a single failure from firing it")
    if a["suggest_short_window"] is not None:
        options.append(
            f"a short window of at least {a['suggest_short_window']} (a policy of its own)"
        )
    else:
        options.append(
            f"no short window shorter than its {a['long_window']} long window holds enough events"
        )
    options.append(
        "aggregate it with related low-traffic services or endpoints, or add synthetic traffic"
    )
    return text + ". Options: " + "; ".join(options) + "."
