"""Render: per tier, two metric-math alarms (long and short window) and a composite alarm.

What is generated for an SLO with a ``cloudwatch`` indicator, in the indicator's region (alarm
names are ``slogen/<key>``; keys are ``<service>/<slo>/<tier>[/long|/short]``):

``metric-alarm <service>/<slo>/<tier>/long`` and ``.../short``
    One alarm per window of the tier. ``Metrics`` holds ``m1`` (bad events: the ``errors``
    metric, or the expression ``m2 - FILL(g1, 0)`` when the spec gives ``good`` as ``g1``),
    ``m2`` (total events) and the returned expression ``e1 = m1/m2``; only ``e1`` has
    ``ReturnData`` true. A side given as a list of metrics is the sum of its metrics
    (``m1 = FILL(m1_1, 0) + FILL(m1_2, 0)``, see :func:`side_queries`). Every metric has
    ``Period`` = the window and the alarm looks at one datapoint (``EvaluationPeriods`` =
    ``DatapointsToAlarm`` = 1), so the alarm compares the
    ratio of the sums over the whole window (not an average of ratios) with the tier's
    threshold: ``GreaterThanThreshold``, ``TreatMissingData: notBreaching`` (no traffic is not
    an outage), no actions. With ``min_events`` the long window's expression is
    ``IF(m2 >= N, m1/m2, 0)``: it cannot breach unless the long window saw N events.
``composite-alarm <service>/<slo>/<tier>``
    ``ALARM("<long>") AND ALARM("<short>")`` with the severity's actions as ``AlarmActions`` and
    ``OKActions`` (so paging tools also see the recovery) and a description from
    ``templates/cloudwatch/composite_description.txt.j2``.

Windows shared by tiers get one alarm per tier, not one per window. An alarm has exactly one
threshold, and the tiers that share a window use it with different thresholds (in the
Workbook's policy 6h is the ``page-6h`` long window at burn rate 6 and the ``ticket-3d`` short
window at burn rate 1), so one alarm could serve only tiers whose thresholds are equal. One
alarm per tier also keeps every alarm's key, description and lifetime tied to one tier.

Rendering never rejects a project: whatever AWS would refuse is found by :mod:`.checks` first
(``validate`` runs before ``render``), so this module only builds bodies.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from slogen import templating
from slogen.backends import common
from slogen.backends.cloudwatch.names import (
    BACKEND,
    CATEGORY_TAG,
    COMPOSITE_ALARM,
    KEY_TAG,
    METRIC_ALARM,
    OWNER_TAG,
    PROJECT_TAG,
    actions_of,
    alarm_name,
    source_of,
    window_text,
)
from slogen.backends.cloudwatch.normalise import normal_text, threshold_number
from slogen.backends.cloudwatch.source import CloudWatchMetric, Side
from slogen.durations import humanize_duration
from slogen.engine import TierMath, analyse_slo
from slogen.memo import ByIdentity
from slogen.numbers import fmt, fmt_percent
from slogen.resources import MANAGED_BY, Resource
from slogen.spec.model import SLO, Project, Service


def config_threshold(math: TierMath) -> float:
    """The tier's exact threshold, rounded the way slogen writes every config number."""
    return threshold_number(fmt(math.threshold))


def _strip_period(text: str) -> str:
    return text.strip().rstrip(".")


def slo_context(service: Service, slo: SLO) -> dict[str, Any]:
    """The names and numbers templates may use that are the SLO's (the same for each of its
    tiers, so made once per SLO), rounded for people."""
    return {
        **common.slo_fields(service, slo),
        "slo_description": _strip_period(slo.description),
        "error_budget": fmt_percent(1 - slo.target),
    }


def context(slo_ctx: dict[str, Any], slo: SLO, math: TierMath, key: str) -> dict[str, Any]:
    """Names and numbers the templates may use: the SLO's (:func:`slo_context`) and the
    tier's."""
    return {
        **slo_ctx,
        **common.tier_fields(math),
        "exhaustion": humanize_duration(float(slo.window / math.burn_rate)),
        "actions": list(actions_of(slo, math.severity)),
        "key": key,
    }


def _tags(
    service: Service, slo: SLO, key: str, math: TierMath, project: str | None = None
) -> dict[str, str]:
    """The alarm's tags in normal form (sorted by key), the project's ownership tag among them
    (see :mod:`slogen.backends.scope`)."""
    tags = dict(service.labels)
    if service.owner:
        tags["team"] = service.owner
    if slo.category:  # the SLO's kind (availability, latency...), to filter and group by
        tags[CATEGORY_TAG] = slo.category
    tags.update(
        {
            OWNER_TAG: MANAGED_BY,
            KEY_TAG: key,
            "service": service.name,
            "slo": slo.name,
            "tier": math.id,
            "severity": math.severity,
        }
    )
    if project:
        tags[PROJECT_TAG] = project
    return dict(sorted(tags.items()))


@lru_cache(maxsize=8192)
def _metric(metric: CloudWatchMetric) -> dict[str, Any]:
    """A ``MetricStat``'s ``Metric`` (dimensions sorted, as in normal form), made once per
    metric and shared by every query that reads it: the long and short alarm of each tier read
    the same metrics, and these dicts were a third of the alarms that validate keeps for render
    (some 11 MiB at 5,000 SLOs). Rendered bodies are never changed in place (requests, files
    and plans are made from them), so sharing a part of one cannot change another."""
    return {
        "Namespace": metric.namespace,
        "MetricName": metric.metric,
        "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(metric.dimensions)],
    }


def _metric_stat(metric_id: str, label: str, metric: CloudWatchMetric, period: int) -> dict:
    return {
        "Id": metric_id,
        "Label": label,
        "MetricStat": {
            "Metric": _metric(metric),
            "Period": period,
            "Stat": metric.stat,
        },
        "ReturnData": False,
    }


def side_queries(metric_id: str, label: str, side: Side, period: int) -> list[dict[str, Any]]:
    """The queries that make ``metric_id`` one side's event count: its one metric, or each of
    several metrics as ``<id>_<n>`` and ``<id>`` their sum, ``FILL(<id>_1, 0) + ...``.

    FILL: a load balancer reports its ``HTTPCode_*`` counts only for periods with a non-zero
    value ("Reporting criteria: There is a nonzero value", ELB docs, "CloudWatch metrics for
    your Application Load Balancer"), so in most windows one of the summed metrics has no
    datapoint; ``FILL(m, 0)`` gives it the value 0 there (CloudWatch docs, "Use metric math",
    the FILL function fills a time series' missing values with the given value), so the sum
    counts the metrics that did report instead of leaving the period without a value.
    """
    if len(side) == 1:
        return [_metric_stat(metric_id, label, side[0], period)]
    parts = [
        _metric_stat(f"{metric_id}_{n}", f"{label}: {metric.metric}", metric, period)
        for n, metric in enumerate(side, 1)
    ]
    expression = " + ".join(f"FILL({part['Id']}, 0)" for part in parts)
    return [
        *parts,
        {"Id": metric_id, "Label": label, "Expression": expression, "ReturnData": False},
    ]


def metric_queries(slo: SLO, period: int, guard: int | None) -> list[dict[str, Any]]:
    """``m1`` bad events, ``m2`` total, (``g1`` good), ``e1`` the returned error ratio; a side
    of several metrics adds their queries and a sum (:func:`side_queries`)."""
    source = source_of(slo)
    assert source is not None
    queries: list[dict[str, Any]] = []
    if source.errors is not None:
        queries.extend(side_queries("m1", "bad events", source.errors, period))
    else:
        # FILL: a window without a single good event (everything failed) must count as all bad,
        # not as missing data, which the alarm treats as not breaching.
        queries.append(
            {
                "Id": "m1",
                "Label": "bad events",
                "Expression": "m2 - FILL(g1, 0)",
                "ReturnData": False,
            }
        )
    queries.extend(side_queries("m2", "total events", source.total, period))
    if source.errors is None:
        assert source.good is not None
        queries.extend(side_queries("g1", "good events", source.good, period))
    ratio = "m1/m2" if not guard else f"IF(m2 >= {guard}, m1/m2, 0)"
    queries.append(
        {
            "Id": "e1",
            "Label": f"error ratio over {window_text(period)}",
            "Expression": ratio,
            "ReturnData": True,
        }
    )
    return queries


# validate renders every SLO to measure it against AWS's limits, then build and plan render
# the same SLOs again: the second time takes the first one's alarms (same objects, same
# templates, target and project), as long as the model objects are the very same ones.
_rendered: ByIdentity[list[Resource]] = ByIdentity()


def render_slo(
    service: Service, slo: SLO, templates: str | None, tname: str, project: str | None = None
) -> list[Resource]:
    """Every alarm of one SLO (see :func:`_render_slo`), rendered once per process."""
    extra = (templates, tname, project)
    resources = _rendered.get((service, slo), extra)
    if resources is None:
        resources = _rendered.put(
            (service, slo), _render_slo(service, slo, templates, tname, project), extra
        )
    return list(resources)


# The bodies below are built in the normal form of :mod:`.normalise` (its field order, actions
# and tags sorted, ``Metrics`` as :func:`metric_queries` makes them, which is that form
# already, the threshold rounded by :func:`config_threshold`) rather than passed through
# ``normalise_metric_alarm``: copying every query of every alarm again was a fifth of
# rendering. tests/test_cloudwatch_render.py checks that every rendered body is its own
# normal form.


def _metric_alarm(
    region: str,
    name: str,
    description: str,
    metrics: list[dict[str, Any]],
    threshold: float,
    tags: dict[str, str],
) -> dict[str, Any]:
    """The body of one window's alarm (no actions: the composite notifies)."""
    return {
        "Region": region,
        "AlarmName": name,
        "AlarmDescription": normal_text(description),
        "ActionsEnabled": True,
        "AlarmActions": [],
        "OKActions": [],
        "InsufficientDataActions": [],
        "Metrics": metrics,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "Tags": tags,
    }


def _composite_alarm(
    region: str,
    name: str,
    description: str,
    rule: str,
    actions: tuple[str, ...],
    tags: dict[str, str],
) -> dict[str, Any]:
    """The body of a tier's composite alarm, notifying ``actions`` on ALARM and on OK."""
    return {
        "Region": region,
        "AlarmName": name,
        "AlarmDescription": normal_text(description),
        "AlarmRule": " ".join(rule.split()),
        "ActionsEnabled": True,
        "AlarmActions": sorted(actions),
        "OKActions": sorted(actions),
        "InsufficientDataActions": [],
        "Tags": tags,
    }


def _render_slo(
    service: Service, slo: SLO, templates: str | None, tname: str, project: str | None
) -> list[Resource]:
    """Every alarm of one SLO: per tier the long and short metric alarms and the composite."""
    source = source_of(slo)
    assert source is not None
    region = source.region
    base_key = f"{service.name}/{slo.name}"
    resources: list[Resource] = []
    slo_ctx = slo_context(service, slo)
    for math in analyse_slo(slo):
        key = f"{base_key}/{math.id}"
        name = alarm_name(key)
        ctx = context(slo_ctx, slo, math, key)
        threshold = config_threshold(math)
        tags = _tags(service, slo, key, math, project)
        children = []
        for role, seconds in (("long", math.long), ("short", math.short)):
            child_key = f"{key}/{role}"
            guard = slo.alerting.min_events if role == "long" else None
            cctx = {
                **ctx,
                "key": child_key,
                "role": role,
                "role_window": window_text(seconds),
                "guarded": bool(guard),
                "parent_name": name,
            }
            description = templating.render(
                "cloudwatch/window_description.txt.j2", templates, **cctx
            )
            body = _metric_alarm(
                region,
                alarm_name(child_key),
                description,
                metric_queries(slo, seconds, guard),
                threshold,
                {**tags, KEY_TAG: child_key},  # same key, so still sorted
            )
            resources.append(Resource(BACKEND, tname, METRIC_ALARM, child_key, body))
            children.append(child_key)
        description = templating.render("cloudwatch/composite_description.txt.j2", templates, **ctx)
        rule = " AND ".join(f'ALARM("{alarm_name(c)}")' for c in children)
        actions = actions_of(slo, math.severity)
        body = _composite_alarm(region, name, description, rule, actions, tags)
        resources.append(
            Resource(BACKEND, tname, COMPOSITE_ALARM, key, body, depends_on=tuple(children))
        )
    return resources


def render(project: Project, tname: str, templates: str | None = None) -> list[Resource]:
    """Desired alarms for every SLO with a ``cloudwatch`` indicator, at the target ``tname``,
    tagged with the project (:mod:`slogen.backends.scope`)."""
    resources: list[Resource] = []
    for service, slo in project.slos():
        if source_of(slo) is not None:
            resources.extend(render_slo(service, slo, templates, tname, project.project))
            # Taken: the memo would otherwise keep a second reference to every alarm alive for
            # the rest of the command.
            _rendered.discard((service, slo), (templates, tname, project.project))
    return resources
