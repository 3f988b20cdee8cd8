"""``slogen status`` output: a table per SLO for people, a compact markdown table for a
pull-request comment, and JSON for programs.

The markdown is what the GitHub action appends under the plan, so it leads with one row per SLO
(the question a reviewer has: is this SLO healthy, is anything paging?) and folds the per-tier
burn rates away. JSON follows ``slogen backtest --format json``: ratios as fractions, times in
RFC 3339 and epoch seconds, and no value (null) where the backend's window has none.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from slogen.backtest.status import SeriesBurn, SLOStatus, Status, TierStatus
from slogen.backtest.timespec import rfc3339
from slogen.durations import format_duration, humanize_duration
from slogen.numbers import HUMAN_DIGITS, fmt
from slogen.plural import plural
from slogen.texttable import table


def percent(value: float | None) -> str:
    return "-" if value is None else f"{fmt(value * 100, HUMAN_DIGITS)}%"


def attainment_text(value: float | None) -> str:
    """Attainment needs more digits than a budget: 99.95% and 99.949% differ by a lot."""
    return "-" if value is None else f"{fmt(value * 100, 8)}%"


def burn(value: float | None) -> str:
    return "-" if value is None else f"{fmt(value, 3)}×"


def count(value: float) -> str:
    return f"{round(value):,}"


def labels_text(labels: tuple[tuple[str, str], ...]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in labels) + "}"


def short_time(when: int, at: int) -> str:
    """``13:40`` on the day of ``at``, else ``2026-12-02 23:10`` (UTC)."""
    text = rfc3339(when).replace("T", " ")[:16]
    return text[11:] if text[:10] == rfc3339(at)[:10] else text


def firing_since(tier: TierStatus) -> int | None:
    found = [s.since for s in tier.firing_series if s.since is not None]
    return min(found) if found else None


def held_back(series: SeriesBurn | None, tier: TierStatus, min_events: int | None) -> str:
    """Why a tier whose ratios are both over the threshold does not fire: too few events."""
    if series is None or series.firing or not min_events:
        return ""
    ratios = (series.long_ratio, series.short_ratio)
    if all(r is not None and r > tier.threshold for r in ratios):
        events = series.long_events or 0.0
        return f" (min_events: {count(events)} < {min_events})"
    return ""


def firing_text(tier: TierStatus, status: SLOStatus) -> str:
    if not tier.firing:
        return "no" + held_back(tier.worst, tier, status.min_events)
    since = firing_since(tier)
    text = "FIRING"
    if since is not None:
        text += f" since {short_time(since, status.at)} ({humanize_duration(status.at - since)})"
    if status.series_count > 1:
        text += f", {len(tier.firing_series)} of {status.series_count} label sets"
    return text


def figures_line(s: SLOStatus) -> str:
    head = f"objective {fmt(s.objective, HUMAN_DIGITS)}% over {format_duration(s.window)}"
    if s.attainment is None:
        return f"{head}: no events in the window"
    left = percent(s.budget_left)
    if s.budget_left is not None and s.budget_left < 0:
        left += " (overspent)"
    return (
        f"{head}: attainment {attainment_text(s.attainment)}, error budget left {left} "
        f"({count(s.error_events)} failed of {count(s.total_events)} events, "
        f"{count(s.allowed_errors)} allowed)"
    )


def slo_text(s: SLOStatus) -> list[str]:
    lines = [
        f"{s.service}/{s.slo}  ({s.backend}: {s.source}; policy {s.policy})",
        "  " + figures_line(s),
    ]
    rows = []
    for t in s.tiers:
        worst = t.worst
        rows.append(
            [
                t.math.id,
                f"{format_duration(t.math.long)}/{format_duration(t.math.short)}",
                burn(None if worst is None else worst.long_burn),
                burn(None if worst is None else worst.short_burn),
                burn(t.burn_threshold),
                firing_text(t, s),
            ]
        )
    headers = ["tier", "windows", "burn long", "burn short", "threshold", "firing"]
    lines += ["  " + line for line in table(headers, rows, right={2, 3, 4}).splitlines()]
    if s.series_count > 1:
        lines.append(f"  {s.series_count} label sets: each tier shows the one nearest to firing")
        for t in s.tiers:
            for series in t.firing_series:
                lines.append(f"  firing: {t.math.id} {labels_text(series.labels)}")
    lines += [f"  note: {note}" for note in s.notes]
    return lines


def render_text(status: Status) -> str:
    firing = sum(len(s.firing) for s in status.slos)
    head = (
        f"SLO status at {rfc3339(status.at)}: {plural(len(status.slos), 'SLO')} read, "
        f"{plural(firing, 'tier')} firing"
    )
    lines = [head, ""]
    for s in status.slos:
        lines += [*slo_text(s), ""]
    for service, slo, backend, why in status.unread:
        lines.append(f"not read: {service}/{slo} ({backend}): {why}")
    lines += [f"note: {note}" for note in status.notes]
    return "\n".join(lines).rstrip() + "\n"


# markdown ------------------------------------------------------------------------------------


def cell(text: str) -> str:
    """A table cell that cannot end the cell or the row early."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def budget_cell(s: SLOStatus) -> str:
    if s.budget_left is None:
        return "no events"
    text = percent(s.budget_left)
    return f"**{text}** (overspent)" if s.budget_left < 0 else text


def render_markdown(status: Status) -> str:
    lines = [
        f"As of {rfc3339(status.at).replace('T', ' ')[:16]} UTC: attainment and error budget "
        "over each SLO's window; burn rates as the alerts see them.",
        "",
    ]
    if status.slos:
        lines += [
            "| SLO | backend | attainment | objective | budget left | firing |",
            "| --- | --- | ---: | ---: | ---: | --- |",
        ]
        for s in status.slos:
            firing = ", ".join(f"**{tier}**" for tier in s.firing) or "none"
            lines.append(
                f"| {cell(f'{s.service}/{s.slo}')} | {cell(s.backend)} | "
                f"{attainment_text(s.attainment)} | "
                f"{fmt(s.objective, HUMAN_DIGITS)}% / {format_duration(s.window)} | "
                f"{budget_cell(s)} | {firing} |"
            )
        lines += [
            "",
            "<details><summary>Burn rates per tier</summary>",
            "",
            "| SLO | tier | windows | long | short | threshold | firing |",
            "| --- | --- | --- | ---: | ---: | ---: | --- |",
        ]
        for s in status.slos:
            for t in s.tiers:
                worst = t.worst
                lines.append(
                    f"| {cell(f'{s.service}/{s.slo}')} ({cell(s.backend)}) | {t.math.id} | "
                    f"{format_duration(t.math.long)} / {format_duration(t.math.short)} | "
                    f"{burn(None if worst is None else worst.long_burn)} | "
                    f"{burn(None if worst is None else worst.short_burn)} | "
                    f"{burn(t.burn_threshold)} | "
                    f"{cell(firing_text(t, s)) if t.firing else 'no'} |"
                )
        lines += ["", "</details>"]
    else:
        lines.append("No SLO could be read.")
    extra = [f"not read: {s}/{o} ({b}): {why}" for s, o, b, why in status.unread]
    extra += [f"note: {note}" for note in status.notes]
    extra += [f"{s.service}/{s.slo} ({s.backend}): {note}" for s in status.slos for note in s.notes]
    if extra:
        lines += ["", *("- " + line.replace("\n", " ") for line in extra)]
    return "\n".join(lines).rstrip() + "\n"


# JSON ----------------------------------------------------------------------------------------


def number(value: float | None, digits: int = 10) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(fmt(value, digits))


def _time(prefix: str, when: int | None) -> dict[str, Any]:
    return {prefix: None if when is None else rfc3339(when), f"{prefix}_epoch": when}


def series_json(series: SeriesBurn) -> dict[str, Any]:
    return {
        "labels": dict(series.labels),
        "long": {
            "ratio": number(series.long_ratio),
            "burn_rate": number(series.long_burn),
            "events": number(series.long_events),
        },
        "short": {"ratio": number(series.short_ratio), "burn_rate": number(series.short_burn)},
        "firing": series.firing,
        **_time("since", series.since),
    }


def tier_json(tier: TierStatus) -> dict[str, Any]:
    worst = tier.worst
    return {
        "id": tier.math.id,
        "severity": tier.math.severity,
        "budget": float(tier.math.budget),
        "long": format_duration(tier.math.long),
        "short": format_duration(tier.math.short),
        "long_seconds": tier.math.long,
        "short_seconds": tier.math.short,
        "burn_rate_threshold": number(tier.burn_threshold),
        "threshold": tier.threshold,
        "long_burn_rate": None if worst is None else number(worst.long_burn),
        "short_burn_rate": None if worst is None else number(worst.short_burn),
        "firing": tier.firing,
        **_time("firing_since", firing_since(tier)),
        "series": [series_json(s) for s in tier.series],
    }


def slo_json(s: SLOStatus) -> dict[str, Any]:
    return {
        "service": s.service,
        "slo": s.slo,
        "backend": s.backend,
        "source": s.source,
        "policy": s.policy,
        "objective": float(s.objective),
        "window": format_duration(s.window),
        "window_seconds": s.window,
        **_time("from", s.since),
        **_time("to", s.at),
        "events": {
            "total": number(s.total_events),
            "errors": number(s.error_events),
            "allowed": number(s.allowed_errors),
        },
        "attainment": number(s.attainment),
        "budget_left": number(s.budget_left),
        "min_events": s.min_events,
        "firing": list(s.firing),
        "label_sets": s.series_count,
        "tiers": [tier_json(t) for t in s.tiers],
        "notes": list(s.notes),
    }


def render_json(status: Status) -> str:
    data = {
        **_time("at", status.at),
        "requests": status.requests,
        "slos": [slo_json(s) for s in status.slos],
        "unread": [
            {"service": s, "slo": o, "backend": b, "reason": why} for s, o, b, why in status.unread
        ],
        "notes": list(status.notes),
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}
