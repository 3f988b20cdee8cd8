"""Prometheus: the opt-in no-traffic alert (``alerting.no_traffic``) of an SLO.

The burn-rate alerts divide errors by total, so a total of zero (or no series at all) makes no
ratio and nothing fires: right for them, since no traffic is no error, but then a service that
stops receiving requests, or whose metrics vanish, alerts nowhere. This alert, in the SLO's own
rule group after its tiers, watches the recorded total instead::

    slogen:sli_total:rate5m{service="checkout",slo="availability"} == 0
    or
    absent(slogen:sli_total:rate5m{service="checkout",slo="availability"})

with ``for: <no_traffic>``. ``== 0`` catches counters that still exist but stopped increasing;
``absent()`` catches the series vanishing (the raw series stop, ``sum(rate(...))`` then has no
input and the recording rule writes nothing). ``for:`` rather than an ``*_over_time`` window,
so a freshly deployed rule also waits the whole duration, and Prometheus keeps the pending
state across restarts (``ALERTS_FOR_STATE``). The recorded rate covers the base range (5m), so
the alert fires between ``for`` and ``for`` + 5m after the last event.
"""

from __future__ import annotations

from typing import Any

from slogen import templating
from slogen.backends import common
from slogen.backends.prometheus.render import literal_labels, literal_text, recording_rules
from slogen.backends.scope import PROJECT_ANNOTATION
from slogen.durations import format_duration
from slogen.resources import Resource
from slogen.spec.model import SLO, Service

TOTAL_RECORD_PREFIX = "slogen:sli_total:"  # the recorded total, whatever its range


def alert_name(service: Service, slo: SLO) -> str:
    """``CheckoutAvailabilityNoTraffic``: apart from the tiers' ``...BudgetBurn``, because it
    says something else (and routing may treat it differently)."""
    words = f"{service.name}-{slo.name}-no-traffic".replace("_", "-").split("-")
    return "".join(word.capitalize() for word in words if word)


def total_record(service: Service, slo: SLO) -> str:
    """The name of the recording rule that holds the SLO's total (read from the rules)."""
    names = [r["record"] for r in recording_rules(service, slo)]
    return next(name for name in names if name.startswith(TOTAL_RECORD_PREFIX))


def alert_rule(
    service: Service, slo: SLO, templates: str | None, project: str | None = None
) -> dict[str, Any]:
    """The alerting rule of one SLO's no-traffic alert (which must be set), with the project's
    annotation as on the tiers' alerts (:class:`.render.SloAlerts`)."""
    no_traffic = slo.alerting.no_traffic
    assert no_traffic is not None
    series = f'{total_record(service, slo)}{{service="{service.name}",slo="{slo.name}"}}'
    labels: dict[str, str] = dict(service.labels)
    if service.owner:
        labels["team"] = service.owner
    labels.update(dict(slo.alerting.for_severity(no_traffic.severity).route("prometheus")))
    labels.update(
        {
            "severity": no_traffic.severity,
            "service": service.name,
            "slo": slo.name,
            "tier": no_traffic.id,
        }
    )
    context = literal_text(
        {**common.no_traffic_fields(service, slo), "slo_description": slo.description}
    )
    annotations = {
        "summary": templating.render("prometheus/no_traffic_summary.txt.j2", templates, **context),
        "description": templating.render(
            "prometheus/no_traffic_description.txt.j2", templates, **context
        ),
    }
    if slo.alerting.runbook:
        annotations["runbook_url"] = context["runbook"]
    if project:
        annotations[PROJECT_ANNOTATION] = project
    return {
        "alert": alert_name(service, slo),
        "expr": f"{series} == 0\nor\nabsent({series})",
        "for": format_duration(no_traffic.duration),
        "labels": dict(sorted(literal_labels(labels).items())),
        "annotations": annotations,
    }


def alert(
    service: Service, slo: SLO, templates: str | None, tname: str, project: str | None = None
) -> Resource:
    """The SLO's no-traffic alert at the target ``tname``, keyed ``<service>/<slo>/no-traffic``
    and written into the SLO's group after its tiers."""
    base_key = f"{service.name}/{slo.name}"
    body = alert_rule(service, slo, templates, project)
    key = f"{base_key}/{body['labels']['tier']}"
    return Resource("prometheus", tname, "alert", key, body, depends_on=(base_key,))


def tier_forms(slo: SLO) -> dict[str, str]:
    """How the no-traffic alert is expressed (empty without one), for ``slogen explain``."""
    no_traffic = slo.alerting.no_traffic
    if no_traffic is None:
        return {}
    quiet = format_duration(no_traffic.duration)
    return {no_traffic.id: f"alert rule: the recorded total is 0 or absent, for {quiet}"}
