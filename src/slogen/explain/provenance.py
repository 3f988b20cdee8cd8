"""What ``slogen explain`` says about request classes: where an SLO's values came from, the
Workbook's latency guidance for its class, and entries of a class that builds nothing.

Only SLOs that name a class get these fields, so the reports (and the golden outputs) of specs
without classes are exactly what they were. The data is JSON-ready; :func:`sources_text` and
:func:`exempt_text` render the same data as text.
"""

from __future__ import annotations

from typing import Any

from slogen.durations import format_duration
from slogen.numbers import fmt
from slogen.spec.classes import BUILTIN_CLASSES
from slogen.spec.model import FROM_BUILTIN_CLASS, SLO, ExemptSLO, Origin, Service

# The values a class may set, in the order explain lists them.
RESOLVED = ("objective", "window", "policy", "min_events")
LATENCY_NOTE = (
    "guidance only: a latency SLI's threshold is the bucket its query counts, which no class "
    "can change"
)


def origin_report(origin: Origin) -> dict[str, Any]:
    where = origin.location
    return {
        "source": origin.source,
        "class": origin.request_class,
        "location": str(where) if where is not None else None,
        "from": origin.describe(),
    }


def latency_guidance(class_origin: Origin | None, name: str) -> dict[str, str] | None:
    """The Workbook's latency thresholds of a built-in class (None for a class of slogen.yaml,
    which replaces the built-in one with its own thresholds unknown)."""
    if class_origin is None or class_origin.source != FROM_BUILTIN_CLASS:
        return None
    builtin = BUILTIN_CLASSES.get(name)
    if builtin is None or not builtin.latency:
        return None
    return dict(builtin.latency)


def class_fields(slo: SLO) -> dict[str, Any]:
    """The report fields of an SLO's class (none without one)."""
    if slo.request_class is None:
        return {}
    origins = dict(slo.origins)
    fields: dict[str, Any] = {
        "class": slo.request_class,
        "alerts": True,
        "sources": {key: origin_report(origins[key]) for key in RESOLVED if key in origins},
    }
    if "class" in origins:
        fields["class_defined"] = origin_report(origins["class"])
    guidance = latency_guidance(origins.get("class"), slo.request_class)
    if guidance is not None:
        fields["latency_guidance"] = {**guidance, "note": LATENCY_NOTE}
    return fields


def exempt_report(service: Service, entry: ExemptSLO) -> dict[str, Any]:
    """The report of an entry whose class builds no alerts: what it gives, and that nothing is
    built. It has the keys of every report (empty where nothing applies), so a reader of the
    JSON that iterates ``tiers`` needs no special case."""
    report: dict[str, Any] = {
        "service": service.name,
        "slo": entry.name,
        "objective": None if entry.objective is None else fmt(entry.objective),
        "window": None if entry.window is None else format_duration(entry.window),
        "error_budget": None,
        "policy": None,
        "min_events": None,
        "backends": [],
        "tiers": [],
        "no_traffic": None,
        "traffic": None,
        "class": entry.request_class,
        "alerts": False,
        "note": f"class {entry.request_class} builds no alerts: no backend renders anything "
        "for this SLO",
    }
    if entry.origin is not None:
        report["class_defined"] = origin_report(entry.origin)
    return report


def _value_text(rep: dict[str, Any], key: str) -> str:
    value = rep.get(key)
    if key == "objective":
        return f"{value}%"
    if value is None:
        return "not set"
    return str(value)


def _defined(rep: dict[str, Any]) -> str:
    """Where the report's class is defined, in a few words."""
    defined = rep.get("class_defined") or {}
    if defined.get("source") == FROM_BUILTIN_CLASS:
        return "built in"
    return f"defined in {defined.get('location')}" if defined.get("location") else "slogen.yaml"


def sources_text(rep: dict[str, Any]) -> str:
    """The lines on an SLO's class ("" without one)."""
    if "class" not in rep or not rep.get("alerts", True):
        return ""
    defined = _defined(rep)
    parts = [
        f"{key} {_value_text(rep, key)} ({source['from']})"
        for key, source in rep["sources"].items()
    ]
    text = f"\nclass {rep['class']} ({defined}); values from: " + ", ".join(parts)
    guidance = rep.get("latency_guidance")
    if guidance:
        thresholds = ", ".join(
            f"{key[1:]}% of requests within {value}"
            for key, value in guidance.items()
            if key != "note"
        )
        text += f"\nthe Workbook's latency thresholds for {rep['class']}: {thresholds} ("
        text += f"{guidance['note']})"
    return text


def exempt_text(rep: dict[str, Any]) -> str:
    """The block of an entry whose class builds no alerts."""
    return (
        f"{rep['service']}/{rep['slo']}: class {rep['class']} ({_defined(rep)}) builds no "
        "alerts: no backend renders anything for this SLO."
    )
