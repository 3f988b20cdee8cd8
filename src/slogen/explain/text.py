"""The text of ``slogen explain``, from the reports of :func:`slogen.explain.compute.explain`.

Works on the JSON-ready reports only, so the text and ``--format json`` cannot disagree.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from slogen.durations import humanize_duration
from slogen.explain.provenance import exempt_text, sources_text
from slogen.explain.quality_text import render_text as render_quality
from slogen.numbers import HUMAN_DIGITS, fmt, fmt_percent
from slogen.texttable import table


def _when(seconds: float | None) -> str:
    return "-" if seconds is None else humanize_duration(seconds)


def _no_traffic_text(report: dict[str, Any] | None) -> str:
    """The lines of the SLO's no-traffic alert ("" without one): when it fires, and how."""
    if report is None:
        return ""
    text = (
        f"\n{report['tier']}: severity {report['severity']} once the total has counted no "
        f"events for {report['for']} (the tiers above cannot see that: no events, no ratio)"
    )
    for backend, form in report["forms"].items():
        text += f"\n{backend} {report['tier']}: {form}"
    return text


def render_text(reports: list[dict[str, Any]]) -> str:
    """The text of ``slogen explain``: per SLO, its tiers' table and the quality section."""
    blocks = []
    for rep in reports:
        if rep.get("alerts") is False:
            blocks.append(exempt_text(rep))
            continue
        head = (
            f"{rep['service']}/{rep['slo']}: objective {rep['objective']}% over {rep['window']} "
            f"(error budget {fmt_percent(Fraction(rep['error_budget']))}), "
            f"policy {rep['policy']}"
        )
        if rep["min_events"]:
            head += f", min_events {rep['min_events']}"
        headers = [
            "tier",
            "severity",
            "long",
            "short",
            "burn rate",
            "threshold",
            "detect@100%",
            "detect@10×T",
            "detect@2×T",
            "reset@100%",
            "budget spent",
            "lowest caught",
        ]
        rows = []
        for t in rep["tiers"]:
            d = t["detection_seconds"]
            rows.append(
                [
                    t["tier"],
                    t["severity"],
                    t["long_window"],
                    t["short_window"],
                    fmt(Fraction(t["burn_rate"]), HUMAN_DIGITS),
                    fmt_percent(Fraction(t["threshold"])),
                    _when(d["error_ratio_1"]),
                    _when(d["threshold_x10"]),
                    _when(d["threshold_x2"]),
                    _when(t["reset_seconds"]),
                    fmt_percent(Fraction(t["budget_spent_before_firing"])),
                    "> " + fmt_percent(Fraction(t["lowest_error_ratio_caught"])),
                ]
            )
        text = head + sources_text(rep) + "\n" + table(headers, rows, right=set(range(4, 12)))
        prom = [t["prometheus"] for t in rep["tiers"] if "prometheus" in t]
        if prom:
            delays = ", ".join(
                f"{t['tier']} {_when(t['prometheus']['detection_seconds_error_ratio_1'])}"
                for t in rep["tiers"]
            )
            text += (
                f"\nPrometheus (windows built from {prom[0]['rate_window']} rates) detects a full "
                f"outage after: {delays}"
            )
        for t in rep["tiers"]:
            for backend, form in t.get("forms", {}).items():
                if backend != "prometheus":
                    text += f"\n{backend} {t['tier']}: {form}"
        text += _no_traffic_text(rep.get("no_traffic"))
        if "quality" in rep:
            text += "\n" + render_quality(rep, rep["window"])
        blocks.append(text)
    blocks.append(
        "detect@X: time from the start of a constant error ratio X until the tier fires "
        "(T = threshold); reset: time after a long full outage ends until the alert clears; "
        "budget spent: share of the period's error budget gone when it fires. "
        "Alert quality: detection times are the Workbook's (windows read directly); "
        "recall and policy lines say which sustained burns no tier catches."
    )
    return "\n\n".join(blocks)
