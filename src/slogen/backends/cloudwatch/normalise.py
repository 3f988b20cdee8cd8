"""The comparison form of alarms, shared by render, the files target and the API target.

Desired and live alarms are compared as *bodies*: exactly the fields slogen manages, in one
canonical form (dimensions, actions and tags sorted, AWS's defaults filled in, thresholds
rounded), so that an alarm read back from AWS or from a file equals the one rendered unless
someone really changed it. This module also turns bodies into the exact API requests and back,
and says which alarms slogen owns and what a composite depends on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from slogen.backends.cloudwatch.names import (
    COMPOSITE_ALARM,
    KEY_TAG,
    OWNER_TAG,
    key_of,
    rule_references,
)
from slogen.backends.scope import PROJECT_TAG, belongs
from slogen.resources import MANAGED_BY


def threshold_number(value: Any) -> float:
    """A threshold as CloudWatch stores it (a double) without float noise: 12 significant
    digits, so ``0.0009999999999999432`` read back from the API equals the ``0.001`` sent."""
    return float(f"{float(value):.12g}")


def normal_text(value: Any) -> str:
    """Text as compared: line endings unified, trailing spaces and edge blank lines removed."""
    if value is None:
        return ""
    lines = [line.rstrip() for line in str(value).replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()


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
        "AlarmDescription": normal_text(raw.get("AlarmDescription")),
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
        "AlarmDescription": normal_text(raw.get("AlarmDescription")),
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


def ownership(name: str, tags: Mapping[str, str] | None, project: str | None = None) -> str | None:
    """The slogen key of an alarm, or None when slogen does not own it.

    Owned means a name under ``slogen/``, the tag ``managed-by=slogen`` AND the tag
    ``slogen-key`` equal to the key in the name. An alarm named ``slogen/...`` without them, or
    tagged by someone else, is never updated or deleted. With ``project``, neither is one
    tagged ``slogen-project`` with another project (:mod:`slogen.backends.scope`).
    """
    key = key_of(name)
    if key is None or not tags or tags.get(OWNER_TAG) != MANAGED_BY:
        return None
    if not belongs(project, tags.get(PROJECT_TAG)):
        return None
    return key if tags.get(KEY_TAG) == key else None


def dependencies(kind: str, body: Mapping[str, Any]) -> tuple[str, ...]:
    """Keys of the slogen alarms a composite's rule refers to (what must exist before it)."""
    if kind != COMPOSITE_ALARM:
        return ()
    keys = [key_of(name) for name in rule_references(str(body.get("AlarmRule", "")))]
    return tuple(k for k in keys if k)
