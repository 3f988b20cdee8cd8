"""``slogen backtest`` for people: per SLO its figures, a table of tiers, firings and misses;
then, with several policies, the side-by-side comparison."""

from __future__ import annotations

from slogen.backtest.report import Firing, Outcome, Report
from slogen.backtest.summary import policy_rows
from slogen.backtest.timespec import rfc3339
from slogen.durations import format_duration, humanize_duration
from slogen.numbers import HUMAN_DIGITS, fmt
from slogen.plural import plural
from slogen.texttable import table

FIRINGS_SHOWN = 20  # per tier; the JSON has them all


def percent(value: float | None) -> str:
    return "-" if value is None else f"{fmt(value * 100, HUMAN_DIGITS)}%"


def count(value: float) -> str:
    return f"{round(value):,}"


def when(start: int, end: int | None) -> str:
    """``2026-11-03 04:10 → 04:32`` (the date repeated only when it changes)."""
    a = rfc3339(start).replace("T", " ")[:16]
    if end is None:
        return f"{a} → (still firing)"
    b = rfc3339(end).replace("T", " ")[:16]
    return f"{a} → {b[11:] if b[:10] == a[:10] else b}"


def _labels(f: Firing) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in f.labels) + "} " if f.labels else ""


def firing_line(tier: str, f: Firing, until: int) -> str:
    parts = [f"{tier:<12} {when(f.start, f.end)} ({humanize_duration(f.duration(until))})"]
    if f.budget_spent is not None:
        parts.append(f"burnt {percent(f.budget_spent)} of the budget")
    if f.detection is not None:
        parts.append(f"{humanize_duration(f.detection)} after the burn began")
    if f.noise:
        parts.append(f"NOISE: at most {percent(f.peak_share)} spent over the long window")
    return "    " + _labels(f) + ", ".join(parts)


def outcome_text(o: Outcome) -> list[str]:
    lines = [
        f"{o.service}/{o.slo}  ({o.backend}: {o.source}; policy {o.policy})",
    ]
    if o.attainment is None:
        lines.append("  no events in the span: nothing to judge")
    else:
        allowed = (1 - float(o.objective) / 100) * o.total_events
        lines.append(
            f"  objective {fmt(o.objective, HUMAN_DIGITS)}% over {format_duration(o.period)}; "
            f"attainment {fmt(o.attainment * 100, 6)}%; budget spent {percent(o.budget_spent)} "
            f"({count(o.error_events)} failed of {count(o.total_events)} events, "
            f"{count(allowed)} allowed)"
        )
    rows = []
    for t in o.tiers:
        detections = [f.detection for f in t.firings if f.detection is not None]
        rows.append(
            [
                t.math.id,
                f"{fmt(t.math.burn_rate, HUMAN_DIGITS)}×",
                str(len(t.firings)),
                fmt(len(t.firings) / o.weeks, 3) if o.weeks else "-",
                fmt(t.seconds_firing(o.end) / 60, 4),
                str(sum(1 for f in t.firings if f.noise)),
                humanize_duration(sorted(detections)[len(detections) // 2]) if detections else "-",
            ]
        )
    headers = ["tier", "burn", "firings", "per week", "minutes", "noise", "detection"]
    lines += ["  " + line for line in table(headers, rows, right={1, 2, 3, 4, 5}).splitlines()]
    shown = [(t.math.id, f) for t in o.tiers for f in t.firings[:FIRINGS_SHOWN]]
    if shown:
        lines.append("  firings:")
        lines += [
            firing_line(tier, f, o.end) for tier, f in sorted(shown, key=lambda x: x[1].start)
        ]
        hidden = sum(max(0, len(t.firings) - FIRINGS_SHOWN) for t in o.tiers)
        if hidden:
            lines.append(f"    ... and {plural(hidden, 'more firing')} (--format json lists all)")
    if o.misses:
        lines.append("  misses (budget burnt, nothing of that severity fired):")
        for m in o.misses:
            lines.append(
                f"    {m.severity:<8} {when(m.start, m.end)}: {percent(m.peak_share)} of the "
                f"budget over {m.tier}'s long window (its share: {percent(float(m.budget))})"
            )
    lines += [f"  note: {note}" for note in o.notes]
    return lines


def comparison_text(report: Report) -> list[str]:
    rows = policy_rows(report)
    severities = list(dict.fromkeys(s for r in rows for s, _ in r.firings))
    body = []
    for r in rows:
        name = f"{r.service}/{r.slo} ({r.backend})" if r.slo else "all SLOs"
        counts = dict(r.firings)
        body.append(
            [
                name,
                r.policy,
                *(str(counts.get(s, 0)) for s in severities),
                str(r.misses),
                str(r.noise),
                humanize_duration(r.median_detection) if r.median_detection is not None else "-",
            ]
        )
    headers = ["slo", "policy", *severities, "misses", "noise", "median detection"]
    right = set(range(2, len(headers)))
    return ["Policies compared on the same history:", *table(headers, body, right).splitlines()]


def render(report: Report) -> str:
    days = (report.end - report.start) / 86400
    head = (
        f"Backtest {rfc3339(report.start)} → {rfc3339(report.end)} ({fmt(days, 3)} days): "
        f"{plural(len({(o.service, o.slo) for o in report.outcomes}), 'SLO')} replayed, "
        f"{plural(report.requests, 'request')}"
    )
    lines = [head, ""]
    for o in report.outcomes:
        lines += [*outcome_text(o), ""]
    if report.compared():
        lines += [*comparison_text(report), ""]
    for service, slo, backend, why in report.unread:
        lines.append(f"not replayed: {service}/{slo} ({backend}): {why}")
    return "\n".join(lines).rstrip() + "\n"
