"""CloudWatch: the opt-in no-traffic alarm (``alerting.no_traffic``) of an SLO.

The tiers' alarms treat missing data as not breaching (no traffic is no error), so a service
that stops receiving requests, or whose metrics vanish, alarms nowhere. This one metric alarm
``slogen/<service>/<slo>/no-traffic``, in the region of the SLO's source, reads the total
(``m2``, the same queries as the tiers' alarms: one metric, or the sum of several) over one
``Period`` of the no-traffic duration and alarms when it is at most 0
(``LessThanOrEqualToThreshold`` 0) or when the period has no datapoint at all
(``TreatMissingData: breaching``: load balancers publish ``RequestCount`` only for periods
with requests). It notifies the severity's actions itself (``AlarmActions`` and ``OKActions``,
so paging tools see the recovery), without a composite.

One period of the whole duration, like the tiers' windows, so AWS's ``Period`` rules apply to
it: :func:`validate` reports a duration CloudWatch cannot take, and the rendered alarm is
checked against every other limit (description length, actions and their region, tags)
exactly as the tiers' alarms are.
"""

from __future__ import annotations

from typing import Any

from slogen import templating
from slogen.backends import common
from slogen.backends.cloudwatch.checks import request_problems
from slogen.backends.cloudwatch.limits import window_obstacle
from slogen.backends.cloudwatch.names import (
    BACKEND,
    METRIC_ALARM,
    actions_of,
    alarm_name,
    source_of,
    window_text,
)
from slogen.backends.cloudwatch.normalise import normalise_metric_alarm
from slogen.backends.cloudwatch.render import _tags, side_queries
from slogen.backends.contract import target_label
from slogen.errors import Problem, Problems
from slogen.resources import Resource
from slogen.spec.model import SLO, Project, Service

TOTAL_ID = "m2"  # as in the tiers' alarms


def alarm(
    service: Service, slo: SLO, templates: str | None, tname: str, project: str | None = None
) -> Resource:
    """The no-traffic alarm of one SLO (which has a ``cloudwatch`` source and ``no_traffic``),
    tagged with ``project`` as the tiers' alarms are."""
    source = source_of(slo)
    no_traffic = slo.alerting.no_traffic
    assert source is not None and no_traffic is not None
    key = f"{service.name}/{slo.name}/{no_traffic.id}"
    actions = list(actions_of(slo, no_traffic.severity))
    context = {
        **common.no_traffic_fields(service, slo),
        "slo_description": slo.description.strip().rstrip("."),
        "key": key,
    }
    period = no_traffic.duration
    metrics = side_queries(TOTAL_ID, "total events", source.total, period)
    for query in metrics:
        query["ReturnData"] = query["Id"] == TOTAL_ID
    raw: dict[str, Any] = {
        "AlarmName": alarm_name(key),
        "AlarmDescription": templating.render(
            "cloudwatch/no_traffic_description.txt.j2", templates, **context
        ),
        "ActionsEnabled": True,
        "AlarmActions": actions,
        "OKActions": actions,
        "InsufficientDataActions": [],
        "Metrics": metrics,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 0,
        "ComparisonOperator": "LessThanOrEqualToThreshold",
        "TreatMissingData": "breaching",
    }
    # the tiers' tags; no_traffic has the id and severity they read from a tier's math
    tags = _tags(service, slo, key, no_traffic, project)  # type: ignore[arg-type]
    body = normalise_metric_alarm(raw, source.region, tags)
    return Resource(BACKEND, tname, METRIC_ALARM, key, body)


def _opted_in(project: Project) -> list[tuple[int, Service, SLO]]:
    return [
        (index, service, slo)
        for service in project.services
        for index, slo in enumerate(service.slos)
        if source_of(slo) is not None and slo.alerting.no_traffic is not None
    ]


def validate(project: Project, templates: str | None = None) -> list[Problem]:
    """Everything AWS would refuse in the no-traffic alarms: a duration that is no valid
    ``Period``, and the limits every rendered alarm is checked against (:mod:`.checks`)."""
    problems = Problems()
    tname = target_label(project.target(BACKEND))
    for index, service, slo in _opted_in(project):
        no_traffic = slo.alerting.no_traffic
        assert no_traffic is not None
        where = f"slos[{index}].alerting.no_traffic"
        obstacle = window_obstacle(no_traffic.duration)
        if obstacle:
            problems.error(
                no_traffic.location,
                where,
                f"the no-traffic alarm reads one Period of the whole duration, but {obstacle}",
                "use a no-traffic duration of at most 7d (e.g. 15m or 1h)",
            )
            continue
        res = alarm(service, slo, templates, tname)
        for field, message in request_problems(res):
            if field in ("labels", "indicator"):
                continue  # the tiers' alarms carry the same tags and metrics: reported there
            problems.error(
                no_traffic.location,
                where,
                f"CloudWatch alarm {res.body['AlarmName'][:80]}: {message}",
                "shorten or change the spec (or override templates/cloudwatch/"
                "no_traffic_description.txt.j2 with --templates) to fit AWS's limits",
            )
    return list(problems)


def tier_forms(slo: SLO) -> dict[str, str]:
    """How the no-traffic alarm is expressed (empty without one), for ``slogen explain``."""
    no_traffic = slo.alerting.no_traffic
    if no_traffic is None or source_of(slo) is None:
        return {}
    seconds = no_traffic.duration
    obstacle = window_obstacle(seconds)
    if obstacle:
        return {no_traffic.id: f"cannot be expressed in CloudWatch: {obstacle}"}
    return {
        no_traffic.id: f"metric alarm: total events <= 0 over one datapoint of "
        f"{window_text(seconds)} (Period {seconds}), missing data breaching, notifying the "
        f"{no_traffic.severity} actions"
    }
