"""What every backend derives the same way from a spec: the template contexts (and where the
resources of an SLO's opt-in extras, such as its no-traffic alert, go among its others).

The template contexts are the names and numbers alert messages, annotations and descriptions
may use, rounded for people. Every backend formats the same figures the same way (so an alert
reads alike in Prometheus, Datadog and CloudWatch); each adds its own extras on top.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from slogen.backends.contract import target_label
from slogen.durations import format_duration
from slogen.engine import TierMath
from slogen.memo import ByIdentity
from slogen.numbers import HUMAN_DIGITS, fmt, fmt_percent
from slogen.resources import Resource
from slogen.spec.model import CATEGORIES, SLO, Project, Service

# Every backend asks for these per tier of every SLO; formatting goes through lru_caches keyed
# by Fractions, whose hash is a modular inverse each time, so the answers are kept per object.
_slo_memo: ByIdentity[dict[str, Any]] = ByIdentity()
_tier_memo: ByIdentity[dict[str, Any]] = ByIdentity()


def slo_fields(service: Service, slo: SLO) -> dict[str, Any]:
    """The SLO's names and numbers for templates (``slo_description`` is each backend's own)."""
    return dict(_kept_slo_fields(service, slo))


def _kept_slo_fields(service: Service, slo: SLO) -> dict[str, Any]:
    """:func:`slo_fields` as kept for the SLO: shared, so only copies of it leave this module."""
    fields = _slo_memo.get((service, slo))
    if fields is None:
        fields = _slo_memo.put((service, slo), _slo_fields(service, slo))
    return fields


def _slo_fields(service: Service, slo: SLO) -> dict[str, Any]:
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
    return dict(_kept_tier_fields(math))


def _kept_tier_fields(math: TierMath) -> dict[str, Any]:
    """:func:`tier_fields` as kept for the tier: shared, like :func:`_kept_slo_fields`."""
    fields = _tier_memo.get((math,))
    if fields is None:
        fields = _tier_memo.put((math,), _tier_fields(math))
    return fields


def _tier_fields(math: TierMath) -> dict[str, Any]:
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


def slos_by_category(slos: Iterable[SLO]) -> list[tuple[str | None, list[SLO]]]:
    """SLOs grouped by category for the dashboards: the known categories in their order, then
    those without one; spec order within a group."""
    groups: dict[str | None, list[SLO]] = {}
    for slo in slos:
        groups.setdefault(slo.category, []).append(slo)
    order = {name: i for i, name in enumerate(CATEGORIES)}
    return sorted(groups.items(), key=lambda kv: order.get(kv[0], len(order)) if kv[0] else 1e9)


def template_context(service: Service, slo: SLO, math: TierMath) -> dict[str, Any]:
    """:func:`slo_fields` and :func:`tier_fields` of one tier of one SLO, together."""
    return {**_kept_slo_fields(service, slo), **_kept_tier_fields(math)}  # one copy, not three


def no_traffic_fields(service: Service, slo: SLO) -> dict[str, Any]:
    """:func:`slo_fields` plus the SLO's no-traffic alert (``alerting.no_traffic``, which the
    caller has checked is set), for the texts of that alert in every backend."""
    no_traffic = slo.alerting.no_traffic
    assert no_traffic is not None
    return {
        **_kept_slo_fields(service, slo),
        "tier_id": no_traffic.id,
        "severity": no_traffic.severity,
        "quiet_for": format_duration(no_traffic.duration),
    }


def with_no_traffic(
    project: Project,
    resources: list[Resource],
    backend: str,
    make: Callable[[Service, SLO, str | None, str], Resource],
    templates: str | None,
) -> list[Resource]:
    """``resources`` plus ``make(service, slo, templates, target name)``, the no-traffic
    resource, for every SLO that names ``backend`` and opts in with ``alerting.no_traffic``,
    each after its SLO's others."""
    tname = target_label(project.target(backend))
    extra = {
        f"{service.name}/{slo.name}": [make(service, slo, templates, tname)]
        for service, slo in project.slos()
        if slo.alerting.no_traffic is not None and slo.indicator.source(backend) is not None
    }
    return after_each_slo(resources, extra)


def after_each_slo(resources: list[Resource], extra: dict[str, list[Resource]]) -> list[Resource]:
    """``resources`` with each SLO's ``extra`` resources (by ``<service>/<slo>``) placed right
    after that SLO's own, so a file or plan lists an SLO's resources together; an SLO with no
    resources of its own gets its extras at the end."""
    if not extra:  # most projects: no SLO opts in, nothing to place
        return list(resources)
    extra = dict(extra)
    slo_keys = ["/".join(res.key.split("/", 2)[:2]) for res in resources]
    out: list[Resource] = []
    for index, res in enumerate(resources):
        out.append(res)
        slo_key = slo_keys[index]
        if index + 1 == len(resources) or slo_keys[index + 1] != slo_key:
            out.extend(extra.pop(slo_key, []))
    for rest in extra.values():
        out.extend(rest)
    return out
