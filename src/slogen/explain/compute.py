"""What ``slogen explain`` reports: the engine's numbers per SLO and tier, as data.

The reports are JSON-ready dicts: ``--format json`` prints them as they are and
:mod:`slogen.explain.text` renders the same dicts, so the two outputs come from one source.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from slogen.backends import registry
from slogen.backends.contract import uses
from slogen.backends.prometheus import base_window
from slogen.durations import format_duration
from slogen.engine import TierMath, analyse_slo
from slogen.explain.provenance import class_fields, exempt_report
from slogen.numbers import fmt
from slogen.quality import quality_report
from slogen.spec.model import SLO, Project, Service
from slogen.spec.traffic import ExpectedTraffic


def _seconds(value: float) -> float | None:
    return None if value == float("inf") else round(value, 3)


def tier_report(math: TierMath, prometheus_resolution: int | None) -> dict[str, Any]:
    """One tier's numbers; with ``prometheus_resolution`` (the rules' base rate range), also
    when the generated Prometheus rules detect a full outage."""
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
    """Per tier, how each backend the SLO uses expresses it (the backends' ``tier_forms``)."""
    forms: dict[str, dict[str, str]] = {}
    for name in registry.NAMES:
        if not uses(name, slo):
            continue
        for tier_id, text in registry.get(name).tier_forms(service, slo).items():
            forms.setdefault(tier_id, {})[name] = text
    return forms


def no_traffic_report(slo: SLO, forms: dict[str, dict[str, str]]) -> dict[str, Any] | None:
    """The SLO's opt-in no-traffic alert (None without one): its tier id, severity, duration
    and how each backend expresses it."""
    no_traffic = slo.alerting.no_traffic
    if no_traffic is None:
        return None
    return {
        "tier": no_traffic.id,
        "severity": no_traffic.severity,
        "for": format_duration(no_traffic.duration),
        "forms": forms.get(no_traffic.id, {}),
    }


def slo_report(
    service: Service, slo: SLO, traffic: ExpectedTraffic | None = None
) -> dict[str, Any]:
    """One SLO's numbers. ``traffic`` overrides the spec's expected traffic."""
    resolution = base_window(slo) if uses("prometheus", slo) else None
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
        "backends": [name for name in registry.NAMES if uses(name, slo)],
        "tiers": tiers,
        "no_traffic": no_traffic_report(slo, forms),
        "traffic": None if expected is None else str(expected),
        "quality": quality_report(slo, resolution, expected),
        **class_fields(slo),
    }


def selected(project: Project, only: str | None = None) -> list[tuple[Service, SLO]]:
    """The SLOs ``only`` names (a service, or ``service/slo``); every SLO without it."""
    return [(service, slo) for service, slo in project.slos() if _matches(service, slo.name, only)]


def explain(
    project: Project, only: str | None = None, traffic: ExpectedTraffic | None = None
) -> list[dict[str, Any]]:
    """One report per selected SLO, in project order; after a service's SLOs, its entries of
    a class that builds no alerts (NO_SLO), which say so."""
    reports = []
    for service in project.services:
        for slo in service.slos:
            if _matches(service, slo.name, only):
                reports.append(slo_report(service, slo, traffic))
        for entry in service.exempt:
            if _matches(service, entry.name, only):
                reports.append(exempt_report(service, entry))
    return reports


def _matches(service: Service, name: str, only: str | None) -> bool:
    return only is None or only in (service.name, f"{service.name}/{name}")
