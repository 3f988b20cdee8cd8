"""What every backend derives the same way from a spec: the template contexts.

The template contexts are the names and numbers alert messages, annotations and descriptions
may use, rounded for people. Every backend formats the same figures the same way (so an alert
reads alike in Prometheus, Datadog and CloudWatch); each adds its own extras on top.
"""

from __future__ import annotations

from typing import Any

from slogen.durations import format_duration
from slogen.engine import TierMath
from slogen.numbers import HUMAN_DIGITS, fmt, fmt_percent
from slogen.spec.model import SLO, Service


def slo_fields(service: Service, slo: SLO) -> dict[str, Any]:
    """The SLO's names and numbers for templates (``slo_description`` is each backend's own)."""
    return {
        "service": service.name,
        "slo": slo.name,
        "owner": service.owner or "",
        "objective": fmt(slo.objective, 6),
        "window": format_duration(slo.window),
        "runbook": slo.alerting.runbook or "",
        "min_events": slo.alerting.min_events,
    }


def tier_fields(math: TierMath) -> dict[str, Any]:
    """One tier's figures for templates, rounded for people."""
    return {
        "tier_id": math.id,
        "severity": math.severity,
        "burn_rate": fmt(math.burn_rate, HUMAN_DIGITS),
        "threshold": fmt(math.threshold),
        "threshold_percent": fmt_percent(math.threshold),
        "budget": fmt_percent(math.budget),
        "long": format_duration(math.long),
        "short": format_duration(math.short),
    }


def template_context(service: Service, slo: SLO, math: TierMath) -> dict[str, Any]:
    """:func:`slo_fields` and :func:`tier_fields` of one tier of one SLO, together."""
    return {**slo_fields(service, slo), **tier_fields(math)}
