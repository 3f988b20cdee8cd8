"""Every check the CloudWatch backend makes, run by ``validate`` before anything else.

``slogen validate`` must answer "will this build and apply?", so everything AWS would refuse
is checked here from the project alone: windows CloudWatch cannot take as one alarm
``Period``, every limit of a rendered alarm (names, descriptions, actions and their region,
tags, metrics; see :mod:`.limits`), and the ``api`` target's ``regions`` list, which is
complete when given, so a spec naming another region is an error. The alarms are rendered
here to be checked (the description's length depends on the templates), and each problem is
located at the SLO it comes from, with a field path and a hint; render and apply never reject
a project these checks accepted.
"""

from __future__ import annotations

from typing import Any

import slogen.backends.cloudwatch.limits as limits
from slogen.backends.cloudwatch.limits import tag_text_ok, window_obstacle
from slogen.backends.cloudwatch.names import (
    BACKEND,
    COMPOSITE_ALARM,
    action_region,
    configured_regions,
    source_of,
)
from slogen.backends.cloudwatch.render import render_slo
from slogen.backends.contract import target_label
from slogen.engine import analyse_slo
from slogen.errors import Problem, Problems
from slogen.resources import Resource
from slogen.spec.model import SLO, Project, Service


def _too_long(what: str, value: str, limit: int) -> str:
    return f"{what} is {len(value)} characters long; AWS allows at most {limit}"


# Every alarm of every SLO passes through request_problems, nearly always without a problem:
# each rule is one comparison inline, and what its message names (``the tag key 'team'``...)
# is formatted only when the rule is broken, not for every tag of every alarm.


def request_problems(res: Resource) -> list[tuple[str, str]]:
    """AWS's rules for one rendered alarm that are not about windows (see the module
    docstring), as (spec field the problem comes from, message); empty when AWS would accept
    the alarm."""
    body = res.body
    out: list[tuple[str, str]] = []
    name = body["AlarmName"]
    if len(name) > limits.MAX_NAME_LENGTH:
        what = f"the alarm name {name[:60]!r}"
        out.append(("name", _too_long(what, name, limits.MAX_NAME_LENGTH)))
    description = body["AlarmDescription"]
    if len(description) > limits.MAX_DESCRIPTION_LENGTH:
        what = "the alarm description"
        out.append(("description", _too_long(what, description, limits.MAX_DESCRIPTION_LENGTH)))
    for field in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        if len(body[field]) > limits.MAX_ACTIONS:
            out.append(
                (
                    "alerting",
                    f"{field} has {len(body[field])} actions; "
                    f"AWS allows at most {limits.MAX_ACTIONS}",
                )
            )
        for arn in body[field]:
            region = action_region(arn)
            if region and region != body["Region"]:
                out.append(
                    (
                        "alerting",
                        f"the action {arn} is in region {region}, but the alarm is in "
                        f"{body['Region']}; CloudWatch only runs actions in the alarm's own "
                        "region",
                    )
                )
    tags = body["Tags"]
    if len(tags) > limits.MAX_TAGS:
        out.append(
            (
                "labels",
                f"the alarm would carry {len(tags)} tags; AWS allows at most {limits.MAX_TAGS}",
            )
        )
    for key, value in tags.items():
        if len(key) > limits.MAX_TAG_KEY_LENGTH:
            what = f"the tag key {key!r}"
            out.append(("labels", _too_long(what, key, limits.MAX_TAG_KEY_LENGTH)))
        if len(value) > limits.MAX_TAG_VALUE_LENGTH:
            what = f"the value of tag {key!r}"
            out.append(("labels", _too_long(what, value, limits.MAX_TAG_VALUE_LENGTH)))
        if not (tag_text_ok(key) and tag_text_ok(value)):
            out.append(
                (
                    "labels",
                    f"the tag {key}={value!r} has characters AWS tags do not allow (letters, "
                    "digits, spaces and _ . : / = + - @ only; no tab or newline)",
                )
            )
    if res.kind == COMPOSITE_ALARM:
        rule = body["AlarmRule"]
        if len(rule) > limits.MAX_RULE_LENGTH:
            what = "the composite alarm rule"
            out.append(("name", _too_long(what, rule, limits.MAX_RULE_LENGTH)))
        return out
    out.extend(_metrics_problems(body["Metrics"]))
    return out


def _metrics_problems(queries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """AWS's rules for a metric alarm's ``Metrics`` (all from the spec's ``indicator``)."""
    out: list[tuple[str, str]] = []
    stats = [m for m in queries if "MetricStat" in m]
    expressions = [m for m in queries if "Expression" in m]
    if len(stats) > limits.MAX_METRIC_STATS:
        out.append(
            (
                "indicator",
                f"the alarm uses {len(stats)} metrics; "
                f"AWS allows at most {limits.MAX_METRIC_STATS}",
            )
        )
    if len(expressions) > limits.MAX_EXPRESSIONS:
        out.append(
            (
                "indicator",
                f"the alarm uses {len(expressions)} expressions; AWS allows "
                f"at most {limits.MAX_EXPRESSIONS}",
            )
        )
    for query in expressions:
        expression = query["Expression"]
        if len(expression) > limits.MAX_EXPRESSION_LENGTH:
            what = "a metric math expression"
            out.append(("indicator", _too_long(what, expression, limits.MAX_EXPRESSION_LENGTH)))
    for query in stats:
        metric = query["MetricStat"]["Metric"]
        for what, value, limit in (
            ("the namespace", metric["Namespace"], limits.MAX_NAMESPACE_LENGTH),
            ("the metric name", metric["MetricName"], limits.MAX_METRIC_NAME_LENGTH),
        ):
            if len(value) > limit:
                out.append(("indicator", _too_long(what, value, limit)))
        for dim in metric["Dimensions"]:
            if len(dim["Name"]) > limits.MAX_DIMENSION_NAME_LENGTH:
                what = "a dimension name"
                out.append(
                    ("indicator", _too_long(what, dim["Name"], limits.MAX_DIMENSION_NAME_LENGTH))
                )
            if len(dim["Value"]) > limits.MAX_DIMENSION_VALUE_LENGTH:
                what = f"dimension {dim['Name']}"
                out.append(
                    ("indicator", _too_long(what, dim["Value"], limits.MAX_DIMENSION_VALUE_LENGTH))
                )
    return out


def _slo_problems(
    service: Service,
    index: int,
    slo: SLO,
    resources: list[Resource],
    allowed_regions: tuple[str, ...],
    problems: Problems,
) -> None:
    """One SLO's problems, at the SLO's location (labels: the service's) with the spec field
    each comes from, so the user edits the spec rather than guessing from an alarm name."""
    where = f"slos[{index}]"
    loc = slo.location
    source = source_of(slo)
    assert source is not None
    if allowed_regions and source.region not in allowed_regions:
        problems.error(
            loc,
            f"{where}.indicator.cloudwatch.region",
            f"region {source.region} is not one of targets.cloudwatch.regions "
            f"({', '.join(allowed_regions)})",
            "add it to targets.cloudwatch.regions in slogen.yaml: that list is every region "
            "slogen manages (and cleans up)",
        )
    for math in analyse_slo(slo):
        for label, seconds in (("long", math.long), ("short", math.short)):
            obstacle = window_obstacle(seconds)
            if obstacle:
                problems.error(
                    loc,
                    f"{where}.alerting.policy",
                    f"policy '{slo.policy.name}' tier '{math.id}' needs a CloudWatch alarm over "
                    f"its {label} window, but {obstacle}",
                    "use windows of 10s, 20s, 30s or whole minutes up to 7d for SLOs with a "
                    "cloudwatch indicator (the Workbook's 3d is fine), or a policy without this "
                    "tier; slogen does not approximate a window with several shorter periods, "
                    "whose separate ratios are not the ratio over the window",
                )
    paths = {
        "name": where,
        "description": f"{where}.description",
        "alerting": f"{where}.alerting",
        "labels": "labels",
        "indicator": f"{where}.indicator.cloudwatch",
    }
    seen: set[tuple[str, str]] = set()
    for res in resources:
        for field, message in request_problems(res):
            if (field, message) in seen:
                continue
            seen.add((field, message))
            problems.error(
                service.location if field == "labels" else loc,
                paths[field],
                f"CloudWatch alarm {res.body['AlarmName'][:80]}: {message}",
                "shorten or change the spec (or override the template under "
                "templates/cloudwatch/ with --templates) so the alarm fits AWS's limits",
            )


def validate(project: Project, templates: str | None = None) -> list[Problem]:
    """Every problem of every SLO with a ``cloudwatch`` indicator, found before any call.

    ``templates`` are the ``--templates`` overrides render will use (the descriptions they
    make count against AWS's length limit); without them the built-in templates are checked.
    """
    settings = project.target(BACKEND)
    tname = target_label(settings)
    allowed = configured_regions(settings) if settings.type == "api" else ()
    problems = Problems()
    for service in project.services:
        for index, slo in enumerate(service.slos):
            if source_of(slo) is None:
                continue
            # with the project tag, as render makes them: it counts against AWS's 50 tags
            rendered = render_slo(service, slo, templates, tname, project.project)
            _slo_problems(service, index, slo, rendered, allowed, problems)
    return list(problems)  # sorted by location and path, as the CLI shows them
