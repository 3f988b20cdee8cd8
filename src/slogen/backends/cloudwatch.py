"""CloudWatch: per tier, two metric-math alarms (long and short window) and a composite alarm.

What is generated for an SLO with a ``cloudwatch`` indicator, in the indicator's region (alarm
names are ``slogen/<key>``; keys are ``<service>/<slo>/<tier>[/long|/short]``):

``metric-alarm <service>/<slo>/<tier>/long`` and ``.../short``
    One alarm per window of the tier. ``Metrics`` holds ``m1`` (bad events: the ``errors``
    metric, or the expression ``m2 - FILL(g1, 0)`` when the spec gives ``good`` as ``g1``),
    ``m2`` (total events) and the returned expression ``e1 = m1/m2``; only ``e1`` has
    ``ReturnData`` true. Every metric has ``Period`` = the window and the alarm looks at one
    datapoint (``EvaluationPeriods`` = ``DatapointsToAlarm`` = 1), so the alarm compares the
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

AWS's rules checked here before any call (sources: the CloudWatch API reference as shipped in
botocore's ``cloudwatch/2010-08-01/service-2.json``, unless noted):

* ``Period``: "Valid values are 10, 20, 30, and any multiple of 60"; "Period multiplied by
  EvaluationPeriods can't be more than 604,800 seconds. For alarms with a period of less than
  one hour (3,600 seconds), the total evaluation period can't be longer than one day".
* A ``PutMetricAlarm`` takes at most 10 ``MetricStat`` and 10 expressions (MetricDataQuery);
  "Alarms based on metric math expressions can have up to 10 metrics" (CloudWatch service
  quotas); an expression is at most 2,048 characters.
* ``AlarmName`` 1-255 characters; ``AlarmDescription`` at most 1,024; ``AlarmRule`` at most
  10,240; at most 5 actions per list; ``Namespace``/``MetricName`` at most 255, dimension names
  255 and values 1,024 characters.
* At most 50 tags per alarm; tag keys 1-128 and values at most 256 characters, of letters,
  digits, spaces and ``_ . : / = + - @`` (AWS "Tag naming limits and requirements").
* An alarm's actions must be in the alarm's Region: AWS answers ``Invalid region ca-central-1
  specified. Only us-west-2 is supported.`` otherwise (cds-snc/notification-terraform#128).

A tier that CloudWatch cannot express (a window over 7 days, or one that is not 10 s, 20 s,
30 s or whole minutes) is an error that says what to change. There is no exact fallback: an
alarm over several shorter periods checks each period's ratio separately (M out of N), which
is not the ratio of the sums over the window, so slogen refuses rather than change a tier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from slogen import templating
from slogen.backends import common
from slogen.durations import format_duration, humanize_duration
from slogen.engine import TierMath, analyse_slo
from slogen.errors import Problems, SlogenError
from slogen.numbers import fmt, fmt_percent
from slogen.resources import MANAGED_BY, LiveState, Resource
from slogen.spec.model import SLO, CloudWatchMetric, Project, Service, Target

BACKEND = "cloudwatch"
METRIC_ALARM = "metric-alarm"
COMPOSITE_ALARM = "composite-alarm"
NAME_PREFIX = "slogen/"

# Ownership tags: an alarm is slogen's only with both, and the key must match its name.
OWNER_TAG = "managed-by"
KEY_TAG = "slogen-key"

# -- AWS's rules (see the module docstring for the sources) --------------------------------------
HIGH_RESOLUTION_PERIODS = (10, 20, 30)
MAX_EVALUATION_RANGE = 604_800  # Period x EvaluationPeriods, seconds (7 days)
MAX_EVALUATION_RANGE_SHORT_PERIOD = 86_400  # ... when Period < 1 h
SHORT_PERIOD = 3_600
MAX_METRIC_STATS = 10
MAX_EXPRESSIONS = 10
MAX_EXPRESSION_LENGTH = 2_048
MAX_NAME_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 1_024
MAX_RULE_LENGTH = 10_240
MAX_ACTIONS = 5
MAX_TAGS = 50
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 256
MAX_NAMESPACE_LENGTH = 255
MAX_METRIC_NAME_LENGTH = 255
MAX_DIMENSION_NAME_LENGTH = 255
MAX_DIMENSION_VALUE_LENGTH = 1_024
TAG_TEXT_RE = re.compile(r"^[\w\s.:/=+\-@]*$", re.UNICODE)

# The alarm's region is part of what it is: moving it is a replacement (create in the new
# region, then delete in the old one).
IMMUTABLE: dict[str, set[str]] = {METRIC_ALARM: {"Region"}, COMPOSITE_ALARM: {"Region"}}

_ARN_REGION_RE = re.compile(r"^arn:[^:]+:[^:]+:([a-z0-9-]*):")
_RULE_REF_RE = re.compile(r'\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*"?([^")]+?)"?\s*\)')


# -- names, numbers, text --------------------------------------------------------------------


def alarm_name(key: str) -> str:
    return NAME_PREFIX + key


def key_of(name: str) -> str | None:
    """The slogen key an alarm name stands for, or None for names outside ``slogen/``."""
    if not name.startswith(NAME_PREFIX) or len(name) == len(NAME_PREFIX):
        return None
    return name[len(NAME_PREFIX) :]


def threshold_number(value: Any) -> float:
    """A threshold as CloudWatch stores it (a double) without float noise: 12 significant
    digits, so ``0.0009999999999999432`` read back from the API equals the ``0.001`` sent."""
    return float(f"{float(value):.12g}")


def config_threshold(math: TierMath) -> float:
    """The tier's exact threshold, rounded the way slogen writes every config number."""
    return threshold_number(fmt(math.threshold))


def _text(value: Any) -> str:
    """Text as compared: line endings unified, trailing spaces and edge blank lines removed."""
    if value is None:
        return ""
    lines = [line.rstrip() for line in str(value).replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()


def _strip_period(text: str) -> str:
    return text.strip().rstrip(".")


def window_text(seconds: int) -> str:
    return format_duration(seconds)


def action_region(arn: str) -> str | None:
    match = _ARN_REGION_RE.match(arn)
    return match.group(1) if match and match.group(1) else None


def rule_references(rule: str) -> list[str]:
    """Alarm names an ``AlarmRule`` refers to (ARNs reduced to names), in order, unique."""
    found: list[str] = []
    for ref in _RULE_REF_RE.findall(rule or ""):
        name = ref.split(":alarm:", 1)[1] if ref.startswith("arn:") and ":alarm:" in ref else ref
        if name not in found:
            found.append(name)
    return found


# -- normal form (shared by render, the files target and the API target) --------------------------


def _dimensions(raw: Iterable[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    dims = [{"Name": str(d.get("Name")), "Value": str(d.get("Value"))} for d in raw or []]
    return sorted(dims, key=lambda d: (d["Name"], d["Value"]))


def _metric_query(raw: Mapping[str, Any]) -> dict[str, Any]:
    """One MetricDataQuery in canonical form: dimensions sorted, ReturnData explicit (it
    defaults to true), empty optional fields dropped."""
    out: dict[str, Any] = {"Id": str(raw.get("Id"))}
    if raw.get("Label"):
        out["Label"] = str(raw["Label"])
    stat = raw.get("MetricStat")
    if stat:
        metric = stat.get("Metric") or {}
        metric_out: dict[str, Any] = {
            "Namespace": metric.get("Namespace"),
            "MetricName": metric.get("MetricName"),
            "Dimensions": _dimensions(metric.get("Dimensions")),
        }
        stat_out: dict[str, Any] = {
            "Metric": metric_out,
            "Period": int(stat.get("Period") or 0),
            "Stat": stat.get("Stat"),
        }
        if stat.get("Unit"):
            stat_out["Unit"] = stat["Unit"]
        out["MetricStat"] = stat_out
    if raw.get("Expression"):
        out["Expression"] = str(raw["Expression"])
    for optional in ("Period", "AccountId"):
        if raw.get(optional):
            out[optional] = raw[optional]
    out["ReturnData"] = bool(raw.get("ReturnData", True))
    return out


def _actions(raw: Any) -> list[str]:
    return sorted(str(a) for a in raw or [])


# Fields a metric alarm can have that slogen never sets: kept in the normal form only when a
# live alarm has them, so the plan shows (and apply removes) what someone changed by hand.
_METRIC_ALARM_EXTRAS = (
    "Namespace",
    "MetricName",
    "Statistic",
    "ExtendedStatistic",
    "Period",
    "Unit",
    "ThresholdMetricId",
    "EvaluateLowSampleCountPercentile",
    "EvaluationCriteria",
)
_COMPOSITE_EXTRAS = (
    "ActionsSuppressor",
    "ActionsSuppressorWaitPeriod",
    "ActionsSuppressorExtensionPeriod",
)


def normalise_metric_alarm(
    raw: Mapping[str, Any], region: str, tags: Mapping[str, str]
) -> dict[str, Any]:
    """Exactly the metric-alarm fields slogen manages, in one canonical form.

    Drops what the server sets (ARN, state, timestamps), fills defaults AWS applies when a
    field is omitted (``ActionsEnabled`` true, empty action lists, ``DatapointsToAlarm`` equal
    to ``EvaluationPeriods``, ``TreatMissingData`` missing), sorts dimensions, actions and tags,
    and rounds the threshold. Used for desired bodies too, so both sides have one shape.
    """
    evaluation = int(raw.get("EvaluationPeriods") or 1)
    body: dict[str, Any] = {
        "Region": region,
        "AlarmName": str(raw.get("AlarmName")),
        "AlarmDescription": _text(raw.get("AlarmDescription")),
        "ActionsEnabled": bool(raw.get("ActionsEnabled", True)),
        "AlarmActions": _actions(raw.get("AlarmActions")),
        "OKActions": _actions(raw.get("OKActions")),
        "InsufficientDataActions": _actions(raw.get("InsufficientDataActions")),
        "Metrics": [_metric_query(m) for m in raw.get("Metrics") or []],
        "EvaluationPeriods": evaluation,
        "DatapointsToAlarm": int(raw.get("DatapointsToAlarm") or evaluation),
        "Threshold": threshold_number(raw.get("Threshold") or 0),
        "ComparisonOperator": raw.get("ComparisonOperator"),
        "TreatMissingData": raw.get("TreatMissingData") or "missing",
    }
    for name in _METRIC_ALARM_EXTRAS:
        if raw.get(name):
            body[name] = raw[name]
    if raw.get("Dimensions"):
        body["Dimensions"] = _dimensions(raw["Dimensions"])
    body["Tags"] = dict(sorted(tags.items()))
    return body


def normalise_composite_alarm(
    raw: Mapping[str, Any], region: str, tags: Mapping[str, str]
) -> dict[str, Any]:
    """Exactly the composite-alarm fields slogen manages, in one canonical form (see
    :func:`normalise_metric_alarm`); action suppression is kept only when someone set it."""
    body: dict[str, Any] = {
        "Region": region,
        "AlarmName": str(raw.get("AlarmName")),
        "AlarmDescription": _text(raw.get("AlarmDescription")),
        "AlarmRule": " ".join(str(raw.get("AlarmRule") or "").split()),
        "ActionsEnabled": bool(raw.get("ActionsEnabled", True)),
        "AlarmActions": _actions(raw.get("AlarmActions")),
        "OKActions": _actions(raw.get("OKActions")),
        "InsufficientDataActions": _actions(raw.get("InsufficientDataActions")),
    }
    for name in _COMPOSITE_EXTRAS:
        if raw.get(name):
            body[name] = raw[name]
    body["Tags"] = dict(sorted(tags.items()))
    return body


def request_of(body: Mapping[str, Any], with_tags: bool = True) -> dict[str, Any]:
    """The exact ``PutMetricAlarm`` / ``PutCompositeAlarm`` parameters for a body.

    ``Region`` selects the client, it is not a parameter; tags become AWS's list form. Tags are
    left out on updates: AWS ignores them there (TagResource/UntagResource change them).
    """
    request = {k: v for k, v in body.items() if k not in ("Region", "Tags")}
    if with_tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(body["Tags"].items())]
    return request


def body_of(kind: str, region: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`request_of`: a request as stored by the files target -> body."""
    tags = {str(t["Key"]): str(t["Value"]) for t in request.get("Tags") or []}
    if kind == COMPOSITE_ALARM:
        return normalise_composite_alarm(request, region, tags)
    return normalise_metric_alarm(request, region, tags)


def operation_of(kind: str) -> str:
    return "PutCompositeAlarm" if kind == COMPOSITE_ALARM else "PutMetricAlarm"


def ownership(name: str, tags: Mapping[str, str] | None) -> str | None:
    """The slogen key of an alarm, or None when slogen does not own it.

    Owned means a name under ``slogen/``, the tag ``managed-by=slogen`` AND the tag
    ``slogen-key`` equal to the key in the name. An alarm named ``slogen/...`` without them, or
    tagged by someone else, is never updated or deleted.
    """
    key = key_of(name)
    if key is None or not tags or tags.get(OWNER_TAG) != MANAGED_BY:
        return None
    return key if tags.get(KEY_TAG) == key else None


def dependencies(kind: str, body: Mapping[str, Any]) -> tuple[str, ...]:
    """Keys of the slogen alarms a composite's rule refers to (what must exist before it)."""
    if kind != COMPOSITE_ALARM:
        return ()
    keys = [key_of(name) for name in rule_references(str(body.get("AlarmRule", "")))]
    return tuple(k for k in keys if k)


# -- how each tier is expressed ----------------------------------------------------------------


def window_obstacle(seconds: int) -> str:
    """Why an alarm cannot have ``Period`` = this window ("" when it can)."""
    if not (seconds in HIGH_RESOLUTION_PERIODS or (seconds >= 60 and seconds % 60 == 0)):
        return (
            f"{window_text(seconds)} ({seconds} s) is not a valid CloudWatch alarm Period, "
            "which must be 10, 20 or 30 seconds or a whole number of minutes"
        )
    limit = MAX_EVALUATION_RANGE_SHORT_PERIOD if seconds < SHORT_PERIOD else MAX_EVALUATION_RANGE
    if seconds > limit:
        days = f"{limit // 86400} day" + ("s" if limit > 86400 else "")
        return (
            f"{window_text(seconds)} ({seconds} s) is longer than the {days} ({limit:,} s) "
            "CloudWatch allows for Period x EvaluationPeriods"
        )
    return ""


def describe_form(slo: SLO, math: TierMath) -> str:
    """One line for ``slogen explain``: which CloudWatch alarms carry the tier."""
    parts = []
    for seconds in (math.long, math.short):
        text = f"{window_text(seconds)} (Period {seconds}"
        if seconds in HIGH_RESOLUTION_PERIODS:
            text += ", high-resolution: needs metrics stored at 1-second resolution"
        parts.append(text + ")")
    guard = ""
    if slo.alerting.min_events:
        guard = f", the long one only with >= {slo.alerting.min_events} events"
    return (
        f"composite alarm ALARM(long) AND ALARM(short) over two metric-math alarms, error "
        f"ratio sum(bad)/sum(total) > {fmt(math.threshold)} over one datapoint of "
        f"{parts[0]} and of {parts[1]}{guard}"
    )


def tier_forms(service: Service, slo: SLO) -> dict[str, str]:
    """How each tier is expressed (shown by ``slogen explain``)."""
    if slo.indicator.cloudwatch is None:
        return {}
    out = {}
    for math in analyse_slo(slo):
        obstacles = [o for o in (window_obstacle(math.long), window_obstacle(math.short)) if o]
        if obstacles:
            out[math.id] = "cannot be expressed in CloudWatch: " + "; ".join(obstacles)
        else:
            out[math.id] = describe_form(slo, math)
    return out


def _list_names(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def configured_regions(target: Target) -> tuple[str, ...]:
    """``targets.cloudwatch.regions``: the full list of regions slogen manages, if given."""
    value = target.option("regions")
    if not value:
        return ()
    if isinstance(value, str):
        value = [value]
    return tuple(sorted({str(v) for v in value}))  # type: ignore[union-attr]


def spec_regions(project: Project) -> tuple[str, ...]:
    return tuple(
        sorted({o.indicator.cloudwatch.region for _, o in project.slos() if o.indicator.cloudwatch})
    )


def plan_notes(project: Project) -> list[str]:
    """Warnings for the plan: which regions are read, and tiers whose alarm notifies nobody.

    Grouped by tier, so 1,000 SLOs do not print 3,000 lines.
    """
    notes: list[str] = []
    target = project.target(BACKEND)
    if target.type == "api" and not configured_regions(target):
        used = spec_regions(project)
        if used:
            notes.append(
                f"reading alarms in {', '.join(used)} only (the regions the specs name); alarms "
                "slogen made in a region no spec names any more are not seen and not deleted. "
                "List every region slogen manages in targets.cloudwatch.regions to keep them in "
                "view"
            )
        else:
            notes.append(
                "no SLO has a cloudwatch indicator and targets.cloudwatch.regions is not set, "
                "so no region is read; alarms slogen made earlier stay until their regions are "
                "listed there"
            )
    silent: dict[str, list[str]] = {}
    for service, slo in project.slos():
        if slo.indicator.cloudwatch is None:
            continue
        for math in analyse_slo(slo):
            if not slo.alerting.for_severity(math.severity).cloudwatch:
                silent.setdefault(math.id, []).append(f"{service.name}/{slo.name}")
    for tier_id, names in sorted(silent.items()):
        notes.append(
            f"{_list_names(names)}: tier {tier_id} has no CloudWatch actions "
            "(alerting.<severity>.cloudwatch), so its composite alarm notifies nobody"
        )
    return notes


# -- render -------------------------------------------------------------------------------------


target_name = common.target_name


def context(service: Service, slo: SLO, math: TierMath, key: str) -> dict[str, Any]:
    """Names and numbers the templates may use, rounded for people."""
    return {
        **common.template_context(service, slo, math),
        "slo_description": _strip_period(slo.description),
        "error_budget": fmt_percent(1 - slo.target),
        "exhaustion": humanize_duration(float(slo.window / math.burn_rate)),
        "actions": list(slo.alerting.for_severity(math.severity).cloudwatch),
        "key": key,
    }


def _tags(service: Service, slo: SLO, key: str, math: TierMath) -> dict[str, str]:
    tags = dict(service.labels)
    if service.owner:
        tags["team"] = service.owner
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
    return tags


def _metric_stat(metric_id: str, label: str, metric: CloudWatchMetric, period: int) -> dict:
    return {
        "Id": metric_id,
        "Label": label,
        "MetricStat": {
            "Metric": {
                "Namespace": metric.namespace,
                "MetricName": metric.metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in metric.dimensions],
            },
            "Period": period,
            "Stat": metric.stat,
        },
        "ReturnData": False,
    }


def metric_queries(slo: SLO, period: int, guard: int | None) -> list[dict[str, Any]]:
    """``m1`` bad events, ``m2`` total, (``g1`` good), ``e1`` the returned error ratio."""
    source = slo.indicator.cloudwatch
    assert source is not None
    queries: list[dict[str, Any]] = []
    if source.errors is not None:
        queries.append(_metric_stat("m1", "bad events", source.errors, period))
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
    queries.append(_metric_stat("m2", "total events", source.total, period))
    if source.errors is None:
        assert source.good is not None
        queries.append(_metric_stat("g1", "good events", source.good, period))
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


def render_slo(service: Service, slo: SLO, templates: str | None, tname: str) -> list[Resource]:
    """Every alarm of one SLO: per tier the long and short metric alarms and the composite."""
    source = slo.indicator.cloudwatch
    assert source is not None
    region = source.region
    base_key = f"{service.name}/{slo.name}"
    resources: list[Resource] = []
    for math in analyse_slo(slo):
        key = f"{base_key}/{math.id}"
        ctx = context(service, slo, math, key)
        threshold = config_threshold(math)
        tags = _tags(service, slo, key, math)
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
                "parent_name": alarm_name(key),
            }
            raw = {
                "AlarmName": alarm_name(child_key),
                "AlarmDescription": templating.render(
                    "cloudwatch/window_description.txt.j2", templates, **cctx
                ),
                "ActionsEnabled": True,
                "AlarmActions": [],
                "OKActions": [],
                "InsufficientDataActions": [],
                "Metrics": metric_queries(slo, seconds, guard),
                "EvaluationPeriods": 1,
                "DatapointsToAlarm": 1,
                "Threshold": threshold,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
            }
            body = normalise_metric_alarm(raw, region, {**tags, KEY_TAG: child_key})
            resources.append(Resource(BACKEND, tname, METRIC_ALARM, child_key, body))
            children.append(child_key)
        actions = list(ctx["actions"])
        raw = {
            "AlarmName": alarm_name(key),
            "AlarmDescription": templating.render(
                "cloudwatch/composite_description.txt.j2", templates, **ctx
            ),
            "AlarmRule": " AND ".join(f'ALARM("{alarm_name(c)}")' for c in children),
            "ActionsEnabled": True,
            "AlarmActions": actions,
            "OKActions": actions,
            "InsufficientDataActions": [],
        }
        body = normalise_composite_alarm(raw, region, tags)
        resources.append(
            Resource(BACKEND, tname, COMPOSITE_ALARM, key, body, depends_on=tuple(children))
        )
    return resources


# -- validation ---------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _tag_text_ok(text: str) -> bool:
    """Cached: the same few tag texts repeat on every alarm of a service."""
    return bool(TAG_TEXT_RE.match(text))


def _length(out: list[tuple[str, str]], field: str, what: str, value: str, limit: int) -> None:
    if len(value) > limit:
        out.append((field, f"{what} is {len(value)} characters long; AWS allows at most {limit}"))


def request_problems(res: Resource) -> list[tuple[str, str]]:
    """AWS's rules for one rendered alarm that are not about windows (see the module
    docstring), as (spec field the problem comes from, message); empty when AWS would accept
    the alarm."""
    body = res.body
    out: list[tuple[str, str]] = []
    name = body["AlarmName"]
    _length(out, "name", f"the alarm name {name[:60]!r}", name, MAX_NAME_LENGTH)
    _length(
        out,
        "description",
        "the alarm description",
        body["AlarmDescription"],
        MAX_DESCRIPTION_LENGTH,
    )
    for field in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        if len(body[field]) > MAX_ACTIONS:
            out.append(
                (
                    "alerting",
                    f"{field} has {len(body[field])} actions; AWS allows at most {MAX_ACTIONS}",
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
    if len(tags) > MAX_TAGS:
        out.append(
            ("labels", f"the alarm would carry {len(tags)} tags; AWS allows at most {MAX_TAGS}")
        )
    for key, value in tags.items():
        _length(out, "labels", f"the tag key {key!r}", key, MAX_TAG_KEY_LENGTH)
        _length(out, "labels", f"the value of tag {key!r}", value, MAX_TAG_VALUE_LENGTH)
        if not (_tag_text_ok(key) and _tag_text_ok(value)):
            out.append(
                (
                    "labels",
                    f"the tag {key}={value!r} has characters AWS tags do not allow (letters, "
                    "digits, spaces and _ . : / = + - @ only)",
                )
            )
    if res.kind == COMPOSITE_ALARM:
        _length(out, "name", "the composite alarm rule", body["AlarmRule"], MAX_RULE_LENGTH)
        return out
    stats = [m for m in body["Metrics"] if "MetricStat" in m]
    expressions = [m for m in body["Metrics"] if "Expression" in m]
    if len(stats) > MAX_METRIC_STATS:
        out.append(
            (
                "indicator",
                f"the alarm uses {len(stats)} metrics; AWS allows at most {MAX_METRIC_STATS}",
            )
        )
    if len(expressions) > MAX_EXPRESSIONS:
        out.append(
            (
                "indicator",
                f"the alarm uses {len(expressions)} expressions; AWS allows "
                f"at most {MAX_EXPRESSIONS}",
            )
        )
    for query in expressions:
        _length(
            out, "indicator", "a metric math expression", query["Expression"], MAX_EXPRESSION_LENGTH
        )
    for query in stats:
        metric = query["MetricStat"]["Metric"]
        _length(out, "indicator", "the namespace", metric["Namespace"], MAX_NAMESPACE_LENGTH)
        _length(out, "indicator", "the metric name", metric["MetricName"], MAX_METRIC_NAME_LENGTH)
        for dim in metric["Dimensions"]:
            _length(out, "indicator", "a dimension name", dim["Name"], MAX_DIMENSION_NAME_LENGTH)
            _length(
                out,
                "indicator",
                f"dimension {dim['Name']}",
                dim["Value"],
                MAX_DIMENSION_VALUE_LENGTH,
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
    where = f"slos[{index}]"
    loc = slo.location
    source = slo.indicator.cloudwatch
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


def render(project: Project, target: Target, templates: str | None = None) -> list[Resource]:
    """Desired alarms for every SLO with a ``cloudwatch`` indicator, checked against AWS's
    rules first: every problem of every SLO is reported at once, before any API call."""
    tname = target_name(target)
    allowed = configured_regions(target) if target.type == "api" else ()
    problems = Problems()
    resources: list[Resource] = []
    for service in project.services:
        for index, slo in enumerate(service.slos):
            if slo.indicator.cloudwatch is None:
                continue
            rendered = render_slo(service, slo, templates, tname)
            _slo_problems(service, index, slo, rendered, allowed, problems)
            resources.extend(rendered)
    if problems:
        raise SlogenError(f"{len(problems.errors)} error(s) for CloudWatch", problems)
    return resources


# -- targets --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which regions a read covers, and in which region each key is wanted (to tell the
    wanted copy of a key from a stray one left in another region)."""

    regions: tuple[str, ...]
    preferred: Mapping[str, str]


def scope_for_project(target: Target, project: Project | None) -> Scope:
    regions = set(configured_regions(target))
    preferred: dict[str, str] = {}
    if project is not None:
        for service, slo in project.slos():
            if slo.indicator.cloudwatch is not None:
                regions.add(slo.indicator.cloudwatch.region)
                preferred[f"{service.name}/{slo.name}"] = slo.indicator.cloudwatch.region
    return Scope(tuple(sorted(regions)), preferred)


def scope_for_resources(target: Target, desired: Iterable[Resource]) -> Scope:
    """The same scope as at plan time, rebuilt from a saved plan's desired resources (every
    region a spec names has desired alarms, and they carry their region)."""
    regions = set(configured_regions(target))
    preferred: dict[str, str] = {}
    for res in desired:
        if res.backend == BACKEND:
            regions.add(res.body["Region"])
            preferred["/".join(res.key.split("/")[:2])] = res.body["Region"]
    return Scope(tuple(sorted(regions)), preferred)


def _target_module(target: Target):
    if target.type == "files":
        from slogen.backends import cloudwatch_files

        return cloudwatch_files
    if target.type == "api":
        from slogen.backends import cloudwatch_api

        return cloudwatch_api
    raise SlogenError(
        f"cloudwatch target type '{target.type}' is not supported", hint="files or api"
    )


def read_live(target: Target, project: Project | None = None) -> LiveState:
    module = _target_module(target)
    if target.type == "api":
        return module.read_live(target, scope_for_project(target, project))
    return module.read_live(target)


def read_live_for_plan(target: Target, plan: Any) -> LiveState:
    """Read what a saved plan was made against (``slogen apply PLANFILE`` checks freshness
    without the specs, so the regions come from the plan's desired alarms)."""
    module = _target_module(target)
    if target.type == "api":
        return module.read_live(target, scope_for_resources(target, plan.desired))
    return module.read_live(target)


def conflicts(target: Target, desired: list[Resource], live: LiveState) -> list[str]:
    return _target_module(target).conflicts(target, desired, live)


def apply(target: Target, changes, desired, progress, report) -> None:
    _target_module(target).apply(target, changes, desired, progress, report)
