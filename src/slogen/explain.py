"""What ``slogen explain`` reports: the engine's numbers per SLO and tier, as data.

Kept apart from the CLI so that the JSON output and the text table come from one source.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from slogen.durations import format_duration, humanize_duration
from slogen.engine import TierMath, analyse_slo
from slogen.numbers import HUMAN_DIGITS, fmt, fmt_percent
from slogen.quality import quality_report
from slogen.quality import render_text as render_quality
from slogen.spec.model import SLO, Project, Service
from slogen.spec.traffic import ExpectedTraffic


def _seconds(value: float) -> float | None:
    return None if value == float("inf") else round(value, 3)


def tier_report(math: TierMath, prometheus_resolution: int | None) -> dict[str, Any]:
    full, ten, two = 1.0, float(math.threshold * 10), float(math.threshold * 2)
    report: dict[str, Any] = {
        "tier": math.id,
        "severity": math.severity,
        "budget": fmt(math.budget),
        "long_window": format_duration(math.long),
        "short_window": format_duration(math.short),
        "burn_rate": fmt(math.burn_rate),
        "threshold": fmt(math.threshold),
        "detection_seconds": {
            "error_ratio_1": _seconds(math.detection_time(full)),
            "threshold_x10": _seconds(math.detection_time(ten)) if ten <= 1 else None,
            "threshold_x2": _seconds(math.detection_time(two)) if two <= 1 else None,
        },
        "reset_seconds": _seconds(math.reset_time(full)),
        "budget_spent_before_firing": fmt(
            Fraction(math.budget_spent(full)).limit_denominator(10**9)
        ),
        "lowest_error_ratio_caught": fmt(math.min_error_ratio),
    }
    if prometheus_resolution is not None:
        report["prometheus"] = {
            "rate_window": format_duration(prometheus_resolution),
            "detection_seconds_error_ratio_1": _seconds(
                math.detection_time(full, prometheus_resolution)
            ),
        }
    return report


def tier_forms(service: Service, slo: SLO) -> dict[str, dict[str, str]]:
    """Per tier, how each backend expresses it (a backend module's ``tier_forms`` hook)."""
    import importlib.util

    from slogen.backends import backend_module

    forms: dict[str, dict[str, str]] = {}
    for backend in ("prometheus", "datadog", "cloudwatch"):
        if getattr(slo.indicator, backend) is None:
            continue
        if importlib.util.find_spec(f"slogen.backends.{backend}") is None:
            continue
        module = backend_module(backend)
        if hasattr(module, "tier_forms"):
            for tier_id, text in module.tier_forms(service, slo).items():
                forms.setdefault(tier_id, {})[backend] = text
    return forms


def slo_report(
    service: Service, slo: SLO, traffic: ExpectedTraffic | None = None
) -> dict[str, Any]:
    """One SLO's numbers. ``traffic`` overrides the spec's expected traffic."""
    from slogen.backends.prometheus import base_window

    resolution = base_window(slo) if slo.indicator.prometheus else None
    expected = traffic or slo.traffic
    forms = tier_forms(service, slo)
    tiers = [tier_report(m, resolution) for m in analyse_slo(slo)]
    for tier in tiers:
        tier["forms"] = forms.get(tier["tier"], {})
    return {
        "service": service.name,
        "slo": slo.name,
        "objective": fmt(slo.objective),
        "window": format_duration(slo.window),
        "error_budget": fmt(1 - slo.target),
        "policy": slo.policy.name,
        "min_events": slo.alerting.min_events,
        "backends": [
            name
            for name in ("prometheus", "datadog", "cloudwatch")
            if getattr(slo.indicator, name) is not None
        ],
        "tiers": tiers,
        "traffic": None if expected is None else str(expected),
        "quality": quality_report(slo, resolution, expected),
    }


def selected(project: Project, only: str | None = None) -> list[tuple[Service, SLO]]:
    return [
        (service, slo)
        for service, slo in project.slos()
        if only is None or only in (service.name, f"{service.name}/{slo.name}")
    ]


def explain(
    project: Project, only: str | None = None, traffic: ExpectedTraffic | None = None
) -> list[dict[str, Any]]:
    return [slo_report(service, slo, traffic) for service, slo in selected(project, only)]


def _when(seconds: float | None) -> str:
    return "-" if seconds is None else humanize_duration(seconds)


def render_text(reports: list[dict[str, Any]]) -> str:
    from slogen.cli.table import table

    blocks = []
    for rep in reports:
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
        text = head + "\n" + table(headers, rows, right=set(range(4, 12)))
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
