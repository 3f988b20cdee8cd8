"""How each backend implements an SLO, for the document's "SLIs and their implementation".

Two things per backend: the SLI's queries as the spec wrote them (a reviewer checks that they
count what the description says), and the names of what slogen creates from them (an on-call
engineer looks for those names in Prometheus, Datadog or the AWS console). The names are read
from the very resources ``build`` and ``apply`` render, with the same templates, so the document
cannot name an alert that is called something else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from slogen.backends import registry
from slogen.backends.contract import uses
from slogen.resources import Resource
from slogen.spec.model import SLO, Project, Service

SIDES = ("errors", "good", "total")
# What a backend's queries are written in, where a Markdown code block has a name for it.
LANGUAGES = {"prometheus": "promql"}
# Where a name is kept in a rendered resource's body, by the backends that exist.
NAME_KEYS = ("alert", "record", "name", "AlarmName", "title")
# Resource kinds as the document words them; another backend's kinds read as they are.
KINDS = {
    "recording-rules": "recording rules",
    "alert": "alert rule",
    "slo": "SLO",
    "metric-alarm": "metric alarm",
    "composite-alarm": "composite alarm",
}


def _metric_text(metric: object) -> str:
    """A metric of a side: ``Sum of AWS/ApplicationELB RequestCount {LoadBalancer=...}``."""
    if not (hasattr(metric, "namespace") and hasattr(metric, "metric")):
        return str(metric)
    dims = ", ".join(f"{k}={v}" for k, v in getattr(metric, "dimensions", ()))
    stat = getattr(metric, "stat", "")
    text = f"{stat} of " if stat else ""
    return text + f"{metric.namespace} {metric.metric}" + (f" {{{dims}}}" if dims else "")


def _value_text(value: object) -> str:
    """A query as written; a side of several metrics as their sum."""
    if isinstance(value, tuple):
        return " + ".join(_metric_text(item) for item in value)
    return _metric_text(value) if not isinstance(value, str) else value


def source_lines(source: object) -> list[dict[str, str]]:
    """A backend's SLI source, one line per setting: the settings that are not a side of the
    ratio first (a CloudWatch region), then ``errors`` or ``good``, then ``total``. Read from
    the source's fields, so a backend needs nothing here to be documented."""
    if not dataclasses.is_dataclass(source):
        return [{"side": "source", "text": str(source)}]
    names = [f.name for f in dataclasses.fields(source) if f.compare]
    ordered = [n for n in names if n not in SIDES] + [n for n in SIDES if n in names]
    return [
        {"side": name, "text": _value_text(getattr(source, name))}
        for name in ordered
        if getattr(source, name) is not None
    ]


def _name(body: dict[str, Any]) -> str | None:
    for key in NAME_KEYS:
        if isinstance(body.get(key), str):
            return body[key]
    return None


def _objects(resources: Sequence[Resource], key: str) -> dict[str, Any]:
    """What one backend renders for the SLO ``key`` (``service/slo``): the SLO's own objects
    (recording rules, a Datadog SLO), the objects per tier (the alerts that notify, grouped
    when several tiers share a name) and how many parts those are built from."""
    own: list[dict[str, Any]] = []
    per_tier: dict[tuple[str, str], list[str]] = {}
    parts: dict[str, int] = {}
    for resource in resources:
        depth = resource.key.count("/") - key.count("/")
        kind = KINDS.get(resource.kind, resource.kind.replace("-", " "))
        if depth == 0:
            rules = resource.body.get("rules")
            names = (
                [n for n in (_name(r) for r in rules) if n]
                if isinstance(rules, list)
                else [n for n in (_name(resource.body),) if n]
            )
            own.append({"kind": kind, "names": list(dict.fromkeys(names))})
        elif depth == 1:
            name = _name(resource.body) or resource.key
            per_tier.setdefault((kind, name), []).append(resource.key.rsplit("/", 1)[1])
        else:
            parts[kind] = parts.get(kind, 0) + 1
    return {
        "own": own,
        "alerts": [
            {"kind": kind, "name": name, "tiers": tiers} for (kind, name), tiers in per_tier.items()
        ],
        "parts": [{"kind": kind, "count": count} for kind, count in parts.items()],
    }


# Per backend, the resources of each SLO (by ``service/slo``).
Rendered = dict[str, dict[str, list[Resource]]]


def rendered(project: Project, templates: str | None) -> Rendered:
    """Every used backend's resources, rendered once for all the documents and filed by SLO,
    so that finding an SLO's among thousands takes one look-up."""
    out: Rendered = {}
    for backend in registry.used_by(project):
        if backend.capabilities.shows is not None:
            continue  # a view (a dashboard) shows SLOs, it does not implement them
        by_slo = out.setdefault(backend.name, {})
        for resource in backend.render(project, templates):
            slo_key = "/".join(resource.key.split("/", 2)[:2])
            by_slo.setdefault(slo_key, []).append(resource)
    return out


def implementations(service: Service, slo: SLO, resources: Rendered) -> list[dict[str, Any]]:
    """Per backend the SLO names, in the registry's order: its queries and generated names."""
    out = []
    key = f"{service.name}/{slo.name}"
    for name in registry.NAMES:
        if not uses(name, slo):
            continue
        source = slo.indicator.source(name)
        out.append(
            {
                "backend": name,
                "language": LANGUAGES.get(name, "text"),
                "lines": source_lines(source),
                **_objects(resources.get(name, {}).get(key, []), key),
            }
        )
    return out
