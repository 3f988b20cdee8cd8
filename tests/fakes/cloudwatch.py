"""An in-process moto CloudWatch server, extended where moto falls short of AWS.

``MotoCloudWatch`` starts ``moto.server.ThreadedMotoServer`` on 127.0.0.1 (a free port by
default) and patches moto's classes in this process, once, so that CloudWatch follows the
rules AWS documents (see tests/fakes/PINS.md for the versions this was verified with):

* PutCompositeAlarm exists, validates its rule and every alarm the rule references;
* DescribeAlarms honours AlarmTypes (default: metric alarms only), AlarmNames,
  AlarmNamePrefix, StateValue, ActionPrefix, ChildrenOfAlarmName, ParentsOfAlarmName,
  MaxRecords (1-100, default 50) and NextToken, for both alarm types;
* DeleteAlarms refuses to delete an alarm that a composite alarm still depends on and more
  than one composite alarm per call;
* PutMetricAlarm validates Period, the evaluation range, the Metrics array and the lengths;
* tags: Tags are only applied when an alarm is created; deleting an alarm drops its tags;
  the Resource Groups Tagging API (tag:GetResources) pages through alarms of both types;
* dashboards are global (one store per account), names and bodies are checked, and a delete
  deletes what it can (tests/fakes/cloudwatch_dashboards.py, which also says what it leaves
  out);
* ``inject_throttling`` makes the next N matching requests fail the way AWS throttles them;
* ``calls`` counts requests per operation name (throttled attempts included);
* ``inject_fault`` adds the shared faults of tests/fakes/faults.py (``operation`` an API
  operation name): commit-then-5xx (the write is carried out, then 500 InternalFailure),
  commit-then-timeout (carried out, then the answer waits past the client timeout), short
  pages (DescribeAlarms and GetResources answer half a page and no next token), truncated
  bodies, header echo (400 ValidationError), 429 (the service's throttling error).

Facts taken from AWS are marked "AWS:" in comments, with where they come from; behaviour
AWS does not document is marked "ASSUMPTION:".

Usage (no conftest needed)::

    with MotoCloudWatch() as cw:
        client = cw.client()                     # boto3 cloudwatch client, eu-west-1
        tagging = cw.client("resourcegroupstaggingapi")
        ...
        cw.reset()                               # wipe state between tests

Standalone, e.g. for a benchmark::

    python tests/fakes/cloudwatch.py --port 0    # prints the URL, serves until SIGINT/SIGTERM

State lives in moto's process-global backends, keyed by account id: two instances in one
process share state unless they are given different ``account_id`` values.
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import json
import logging
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import boto3
import botocore.session
import moto.backends
import moto.core.serialize
from botocore.config import Config
from moto.cloudwatch.models import Alarm, CloudWatchBackend
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.base_backend import BackendDict
from moto.core.errors import ErrorLookupFactory, ErrorShape
from moto.core.exceptions import ServiceException
from moto.core.parse import PROTOCOL_PARSERS
from moto.core.resource_tagging import TaggedResource
from moto.core.responses import ActionResult, BaseResponse, EmptyResult
from moto.core.utils import utcnow
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.resourcegroupstaggingapi.models import resourcegroupstaggingapi_backends
from moto.resourcegroupstaggingapi.responses import ResourceGroupsTaggingAPIResponse
from werkzeug.serving import make_server

try:
    from tests.fakes import cloudwatch_dashboards
    from tests.fakes import faults as shared_faults
except ImportError:  # run as a script (python tests/fakes/<fake>.py): its directory is on the path
    import cloudwatch_dashboards  # type: ignore[no-redef]
    import faults as shared_faults  # type: ignore[no-redef]

__all__ = ["DEFAULT_ACCOUNT_ID", "FakeAwsError", "MotoCloudWatch", "install_patches"]

DEFAULT_ACCOUNT_ID = "123456789012"  # moto's default account
HOST = "127.0.0.1"
STOP_TIMEOUT_S = 5.0

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------
# AWS limits (sources: the CloudWatch API reference, as shipped in botocore's
# cloudwatch/2010-08-01/service-2.json docs, unless noted)
# --------------------------------------------------------------------------------------
# AWS (DescribeAlarms): MaxRecords 1..100. The default of 50 is ASSUMPTION (not documented).
DESCRIBE_MAX_RECORDS = 100
DESCRIBE_DEFAULT_RECORDS = 50
# AWS (DeleteAlarms): "You can delete up to 100 alarms in one operation. However, this total
# can include no more than one composite alarm."
DELETE_MAX_ALARMS = 100
DELETE_MAX_COMPOSITES = 1
# AWS (PutCompositeAlarm): "The AlarmRule can specify as many as 100 'children' alarms. The
# AlarmRule expression can have as many as 500 elements. Elements are child alarms, TRUE or
# FALSE statements, and parentheses." and "Any single alarm can be included in the rule
# expressions of as many as 150 composite alarms."  AlarmRule length 1..10240 (model).
RULE_MAX_CHILDREN = 100
RULE_MAX_ELEMENTS = 500
MAX_PARENTS_PER_ALARM = 150
# AWS (PutMetricAlarm Period): "Valid values are 10, 20, 30, and any multiple of 60." and
# "Period multiplied by EvaluationPeriods can't be more than 604,800 seconds. For alarms with
# a period of less than one hour (3,600 seconds), the total evaluation period can't be
# longer than one day (86,400 seconds)."
ALARM_HIGH_RES_PERIODS = (10, 20, 30)
MAX_EVAL_RANGE_S = 604_800
MAX_EVAL_RANGE_SHORT_PERIOD_S = 86_400
SHORT_PERIOD_S = 3_600
# AWS (MetricDataQuery / MetricStat Period): "the period can be 1, 5, 10, 20, 30, 60, or any
# multiple of 60".  ASSUMPTION: inside an alarm's Metrics array this wider set is accepted.
METRIC_STAT_HIGH_RES_PERIODS = (1, 5, 10, 20, 30)
# AWS (MetricDataQuery): "A single PutMetricAlarm call can include up to 20 MetricDataQuery
# structures in the array. The 20 structures can include as many as 10 structures that
# contain a MetricStat parameter ... and as many as 10 structures that contain the
# Expression parameter"; Id: "The valid characters are letters, numbers, and underscore. The
# first character must be a lowercase letter."
METRICS_MAX = 20
METRICS_MAX_STAT = 10
METRICS_MAX_EXPRESSION = 10
METRIC_ID_RE = re.compile(r"^[a-z][A-Za-z0-9_]*$")
# AWS (PutMetricAlarm TreatMissingData): "Valid Values: breaching | notBreaching | ignore |
# missing".
TREAT_MISSING_DATA = ("breaching", "notBreaching", "ignore", "missing")
# AWS (PutMetricAlarm / PutCompositeAlarm / TagResource Tags): "You can associate as many as
# 50 tags with an alarm."
MAX_TAGS = 50
# AWS (Resource Groups Tagging API GetResources): ResourcesPerPage 1..100, TagsPerPage
# 100..500.  Default ResourcesPerPage of 50 is ASSUMPTION (moto's; AWS does not say).
# ASSUMPTION: a PaginationToken stays valid for 15 minutes.
TAGGING_MAX_PER_PAGE = 100
TAGGING_DEFAULT_PER_PAGE = 50
TAGGING_TAGS_PER_PAGE = (100, 500)
TAGGING_TOKEN_TTL_S = 15 * 60

INITIAL_STATE_REASON = "Unchecked: Initial alarm creation"

# Throttling error per service: AWS: CloudWatch answers HTTP 400, code "Throttling",
# message "Rate exceeded" (the query-protocol error the JSON protocol reports through the
# x-amzn-query-error header); the tagging API models "ThrottledException".  Both codes are in
# botocore's retryable throttling list.  ASSUMPTION: "ThrottlingException" for other services.
THROTTLE_ERRORS = {
    "cloudwatch": ("Throttling", "Rate exceeded"),
    "resourcegroupstaggingapi": ("ThrottledException", "Rate exceeded"),
}
DEFAULT_THROTTLE_ERROR = ("ThrottlingException", "Rate exceeded")

# One lock around every patched operation: moto's backends are plain dicts and the server
# answers requests on several threads.
_STATE_LOCK = threading.RLock()
_PATCH_LOCK = threading.Lock()
_PATCHED = False
# The MotoCloudWatch whose server is handling the request on this thread.
_ACTIVE = threading.local()


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------
class FakeAwsError(ServiceException):
    """An AWS error answered by the fake (serialized by moto for the request's protocol).

    Its class lives outside moto on purpose: moto looks an error's shape up by the code in the
    service's model and, for classes in moto packages, in the model named by the package.
    """

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(code, message)
        self.status = status


def _error(code: str, message: str, status: int = 400) -> FakeAwsError:
    return FakeAwsError(code, message, status)


def _get_error_model(error: Exception, default_service_model: Any) -> ErrorShape:
    """moto's get_error_model, without the warning for codes its models lack (Throttling,
    ValidationError): those become a sender-fault error shape with our HTTP status."""
    if isinstance(error, FakeAwsError):
        shape = ErrorLookupFactory().for_service(default_service_model).from_code(error.code)
        if shape is not None:
            return shape
        return ErrorShape(
            shape_name=error.code,
            shape_model={
                "exception": True,
                "type": "structure",
                "members": {},
                "error": {"code": error.code, "httpStatusCode": error.status, "senderFault": True},
            },
        )
    return _ORIGINALS["get_error_model"](error, default_service_model)


def _validation(message: str) -> FakeAwsError:
    # AWS answers all of these with HTTP 400, code ValidationError.
    return _error("ValidationError", message)


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


class _ConstraintChecker:
    """Length and count limits of an operation's top-level members, from the service model.

    botocore validates only minimums on the client side; AWS validates maximums on the
    server and reports them as a smithy-style ValidationError, e.g. "1 validation error
    detected: Value '...' at 'alarmName' failed to satisfy constraint: Member must have
    length less than or equal to 255" (AWS: seen in CloudWatch's query-protocol errors).
    """

    def __init__(self, service: str) -> None:
        self._model = botocore.session.get_session().get_service_model(service)

    def check(self, operation: str, get: Callable[[str], Any]) -> None:
        shape = self._model.operation_model(operation).input_shape
        problems: list[str] = []
        for name, member in shape.members.items():
            value = get(name)
            if value is None:
                continue
            limit = member.metadata.get("max")
            if member.type_name == "string" and limit is not None and len(value) > limit:
                problems.append(
                    f"Value '{value}' at '{_camel(name)}' failed to satisfy constraint: "
                    f"Member must have length less than or equal to {limit}"
                )
            elif member.type_name == "list" and isinstance(value, list):
                if limit is not None and len(value) > limit:
                    problems.append(
                        f"Value '{_show(value)}' at '{_camel(name)}' failed to satisfy "
                        f"constraint: Member must have length less than or equal to {limit}"
                    )
                inner = member.member
                inner_max = inner.metadata.get("max")
                if (
                    inner.type_name == "string"
                    and inner_max is not None
                    and any(isinstance(v, str) and len(v) > inner_max for v in value)
                ):
                    problems.append(
                        f"Value '{_show(value)}' at '{_camel(name)}' failed to satisfy "
                        "constraint: Member must satisfy constraint: [Member must have "
                        f"length less than or equal to {inner_max}]"
                    )
            elif member.type_name == "integer" and isinstance(value, int):
                low, high = member.metadata.get("min"), member.metadata.get("max")
                if high is not None and value > high:
                    problems.append(
                        f"Value '{value}' at '{_camel(name)}' failed to satisfy constraint: "
                        f"Member must have value less than or equal to {high}"
                    )
                if low is not None and value < low:
                    problems.append(
                        f"Value '{value}' at '{_camel(name)}' failed to satisfy constraint: "
                        f"Member must have value greater than or equal to {low}"
                    )
        if problems:
            count = len(problems)
            noun = "error" if count == 1 else "errors"
            raise _validation(f"{count} validation {noun} detected: " + "; ".join(problems))


_CHECKERS: dict[str, _ConstraintChecker] = {}


def _check_constraints(response: BaseResponse, service: str, operation: str) -> None:
    checker = _CHECKERS.get(service)
    if checker is None:
        checker = _CHECKERS[service] = _ConstraintChecker(service)
    checker.check(operation, response._get_param)


# --------------------------------------------------------------------------------------
# AlarmRule parsing
# --------------------------------------------------------------------------------------
_RULE_FUNCTIONS = ("ALARM", "OK", "INSUFFICIENT_DATA")
_RULE_WORD = re.compile(r"[A-Za-z_]+")


class _RuleError(ValueError):
    pass


def _tokenize_rule(rule: str) -> list[tuple[str, str]]:
    """Tokens: ("(", ""), (")", ""), ("REF", name), ("BOOL", v), ("OP", AND|OR|NOT).

    AWS (PutCompositeAlarm AlarmRule): functions ALARM(...), OK(...), INSUFFICIENT_DATA(...)
    take an alarm name or ARN, "can be surrounded with double-quotes, but do not have to
    be"; TRUE and FALSE; operators AND, OR, NOT; parentheses.
    ASSUMPTION: operators and TRUE/FALSE are case-insensitive (the DeleteAlarms docs write
    `false`); function names must be upper case.
    """
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(rule)
    while i < n:
        ch = rule[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            tokens.append((ch, ""))
            i += 1
            continue
        match = _RULE_WORD.match(rule, i)
        if not match:
            raise _RuleError(f"unexpected character {ch!r} at position {i}")
        word = match.group(0)
        i = match.end()
        if word in _RULE_FUNCTIONS:
            while i < n and rule[i].isspace():
                i += 1
            if i >= n or rule[i] != "(":
                raise _RuleError(f"{word} must be followed by '('")
            i += 1
            while i < n and rule[i].isspace():
                i += 1
            if i < n and rule[i] == '"':
                end = rule.find('"', i + 1)
                if end < 0:
                    raise _RuleError("unterminated quoted alarm name")
                name = rule[i + 1 : end]
                i = end + 1
                while i < n and rule[i].isspace():
                    i += 1
                if i >= n or rule[i] != ")":
                    raise _RuleError(f"missing ')' after {word}(\"{name}\"")
            else:
                end = rule.find(")", i)
                if end < 0:
                    raise _RuleError(f"missing ')' after {word}(")
                name = rule[i:end].strip()
                i = end
            i += 1  # the closing parenthesis
            if not name:
                raise _RuleError(f"{word}() needs an alarm name or ARN")
            tokens.append(("REF", name))
            continue
        upper = word.upper()
        if upper in ("TRUE", "FALSE"):
            tokens.append(("BOOL", upper))
        elif upper in ("AND", "OR", "NOT"):
            tokens.append(("OP", upper))
        else:
            raise _RuleError(f"unknown word {word!r}")
    return tokens


def _parse_rule(rule: str) -> tuple[list[str], int]:
    """Return (referenced names/ARNs in order, element count); raise _RuleError."""
    tokens = _tokenize_rule(rule)
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def expect_operand() -> None:
        nonlocal pos
        tok = peek()
        if tok is None:
            raise _RuleError("unexpected end of rule")
        kind, value = tok
        if kind == "OP" and value == "NOT":
            pos += 1
            expect_operand()
        elif kind == "(":
            pos += 1
            expression()
            if peek() is None or peek()[0] != ")":
                raise _RuleError("missing ')'")
            pos += 1
        elif kind in ("REF", "BOOL"):
            pos += 1
        else:
            raise _RuleError(f"unexpected {value or kind!r}")

    def expression() -> None:
        nonlocal pos
        expect_operand()
        while True:
            tok = peek()
            if tok is None or tok[0] == ")":
                return
            if tok[0] == "OP" and tok[1] in ("AND", "OR"):
                pos += 1
                expect_operand()
                continue
            raise _RuleError(f"expected AND or OR, got {tok[1] or tok[0]!r}")

    expression()
    if pos != len(tokens):
        raise _RuleError("unbalanced ')'")
    refs = [value for kind, value in tokens if kind == "REF"]
    # ASSUMPTION: each grouping parenthesis counts as one element; a function's own
    # parentheses do not.
    elements = sum(1 for kind, _ in tokens if kind in ("REF", "BOOL", "(", ")"))
    return refs, elements


# --------------------------------------------------------------------------------------
# Helpers over moto's CloudWatch backend
# --------------------------------------------------------------------------------------
def _alarm_arn(backend: CloudWatchBackend, name: str) -> str:
    region, account = backend.region_name, backend.account_id
    return f"arn:{backend.partition}:cloudwatch:{region}:{account}:alarm:{name}"


def _is_composite(alarm: Alarm) -> bool:
    return alarm.rule is not None


def _children(alarm: Alarm) -> set[str]:
    return set(getattr(alarm, "slogen_children", ()))


def _resolve_ref(backend: CloudWatchBackend, ref: str) -> str | None:
    """An alarm name or ARN from a rule -> the name of an alarm of this backend, or None."""
    prefix = _alarm_arn(backend, "")
    if ref.startswith("arn:"):
        return ref[len(prefix) :] if ref.startswith(prefix) and ref[len(prefix) :] else None
    return ref


def _parents_of(backend: CloudWatchBackend, name: str) -> list[str]:
    return sorted(
        a.name for a in backend.alarms.values() if _is_composite(a) and name in _children(a)
    )


def _ever_tagged(backend: CloudWatchBackend) -> set[str]:
    tagged = getattr(backend, "slogen_ever_tagged", None)
    if tagged is None:
        tagged = backend.slogen_ever_tagged = set()
    return tagged


def _tags_from(params: Any) -> list[dict[str, str]]:
    return list(params or [])


def _check_tag_count(tags: list[dict[str, str]] | dict[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        # ASSUMPTION: the error code and message.
        raise _error("InvalidParameterValue", f"A resource can have at most {MAX_TAGS} tags.")


def _keep_state(new: Alarm, old: Alarm | None) -> None:
    """AWS (PutMetricAlarm/PutCompositeAlarm): on create "the alarm state is immediately set
    to INSUFFICIENT_DATA"; "When you update an existing alarm, its state is left unchanged,
    but the update completely overwrites the previous configuration of the alarm."
    """
    now = utcnow()
    new.configuration_updated_timestamp = now
    if old is None:
        new.state_value = "INSUFFICIENT_DATA"
        new.state_reason = INITIAL_STATE_REASON
        new.state_reason_data = "{}"
        new.state_updated_timestamp = now
        new.state_transitioned_timestamp = now
        return
    new.state_value = old.state_value
    new.state_reason = old.state_reason
    new.state_reason_data = old.state_reason_data
    new.state_updated_timestamp = old.state_updated_timestamp
    new.state_transitioned_timestamp = getattr(
        old, "state_transitioned_timestamp", old.state_updated_timestamp
    )
    new.history = old.history


# --------------------------------------------------------------------------------------
# PutMetricAlarm validation
# --------------------------------------------------------------------------------------
def _valid_alarm_period(period: int) -> bool:
    return period in ALARM_HIGH_RES_PERIODS or (period >= 60 and period % 60 == 0)


def _valid_metric_stat_period(period: int) -> bool:
    return period in METRIC_STAT_HIGH_RES_PERIODS or (period >= 60 and period % 60 == 0)


def _check_alarm_name(name: str) -> None:
    # AWS (AlarmName): "The name must contain only UTF-8 characters, and can't contain ASCII
    # control characters".  ASSUMPTION: the message.
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise _validation("AlarmName must not contain ASCII control characters")


def _validate_metric_alarm(get: Callable[[str], Any]) -> None:
    _check_alarm_name(get("AlarmName") or "")
    metrics = get("Metrics") or []
    promql = get("EvaluationCriteria") is not None
    evaluation_periods = get("EvaluationPeriods")
    if not promql:
        # ASSUMPTION: these messages follow the "MetricName must not be null" pattern that
        # AWS returns when neither MetricName nor Metrics is given.
        if not metrics and not get("MetricName"):
            raise _validation("MetricName must not be null")
        if evaluation_periods is None:
            raise _validation("EvaluationPeriods must not be null")
        if get("ComparisonOperator") is None:
            raise _validation("ComparisonOperator must not be null")

    datapoints = get("DatapointsToAlarm")
    if (
        datapoints is not None
        and evaluation_periods is not None
        and datapoints > evaluation_periods
    ):
        # AWS: message as returned by CloudWatch (terraform issue #24070).
        raise _validation("DatapointsToAlarm must be less than or equal to EvaluationPeriods")

    treat = get("TreatMissingData")
    if treat is not None and treat not in TREAT_MISSING_DATA:
        # ASSUMPTION: the message.
        raise _validation(
            f"Option {treat} is not supported. Supported options for parameter "
            "TreatMissingData are " + ", ".join(TREAT_MISSING_DATA) + "."
        )

    period: int | None
    if metrics:
        # AWS (PutMetricAlarm Metrics): "If you use the Metrics parameter, you cannot include
        # the Namespace, MetricName, Dimensions, Period, Unit, Statistic, or
        # ExtendedStatistic parameters".  AWS message for Unit: "Unit should not be set if
        # list of Metrics is set."; ASSUMPTION: the same wording for the others.
        for param in (
            "Namespace",
            "MetricName",
            "Dimensions",
            "Period",
            "Unit",
            "Statistic",
            "ExtendedStatistic",
        ):
            if get(param):
                raise _validation(f"{param} should not be set if list of Metrics is set.")
        period = _validate_metrics(metrics, get("ThresholdMetricId"))
    else:
        period = get("Period")
        if period is not None and not _valid_alarm_period(period):
            # AWS: "Period must be 10, 30 or a multiple of 60" before 20 s periods were
            # added; ASSUMPTION: 20 is now in the message too.
            raise _validation("Period must be 10, 20, 30 or a multiple of 60")
        if period is None and not promql:
            raise _validation("Period must not be null")

    if period and evaluation_periods:
        total = period * evaluation_periods
        limit = MAX_EVAL_RANGE_SHORT_PERIOD_S if period < SHORT_PERIOD_S else MAX_EVAL_RANGE_S
        if total > limit:
            # ASSUMPTION: the message (the rule itself is AWS's, see the constants above).
            raise _validation(
                f"The evaluation range (Period {period} x EvaluationPeriods "
                f"{evaluation_periods} = {total} seconds) must not exceed {limit} seconds"
                + (" for periods shorter than one hour" if period < SHORT_PERIOD_S else "")
            )

    tags = get("Tags") or []
    _check_tag_count(tags)


def _validate_metrics(metrics: list[dict[str, Any]], threshold_metric_id: str | None) -> int:
    """Validate an alarm's Metrics array; return the longest period in it (0 if none)."""
    if len(metrics) > METRICS_MAX:
        raise _validation(
            f"The list of Metrics must contain at most {METRICS_MAX} elements"
        )  # ASSUMPTION: message
    stats = [m for m in metrics if m.get("MetricStat")]
    expressions = [m for m in metrics if m.get("Expression")]
    if len(stats) > METRICS_MAX_STAT:
        raise _validation(
            f"The list of Metrics must contain at most {METRICS_MAX_STAT} MetricStat elements"
        )  # ASSUMPTION: message
    if len(expressions) > METRICS_MAX_EXPRESSION:
        raise _validation(
            f"The list of Metrics must contain at most {METRICS_MAX_EXPRESSION} Expression elements"
        )  # ASSUMPTION: message
    seen: set[str] = set()
    periods: list[int] = []
    for metric in metrics:
        metric_id = metric.get("Id") or ""
        if not METRIC_ID_RE.match(metric_id):
            # ASSUMPTION: message (the rule is AWS's, see METRIC_ID_RE).
            raise _validation(
                f"Invalid metrics list: Id '{metric_id}' must start with a lowercase letter "
                "and contain only letters, numbers and underscores"
            )
        if metric_id in seen:
            raise _validation(f"Invalid metrics list: duplicate Id '{metric_id}'")
        seen.add(metric_id)
        has_stat, has_expr = bool(metric.get("MetricStat")), bool(metric.get("Expression"))
        if has_stat == has_expr:
            # AWS (MetricDataQuery): "you must specify either Expression or MetricStat but
            # not both".  ASSUMPTION: message.
            raise _validation(
                f"Invalid metrics list: {metric_id} must have exactly one of MetricStat and "
                "Expression"
            )
        if has_stat:
            stat_period = metric["MetricStat"].get("Period")
            if stat_period is not None:
                if not _valid_metric_stat_period(stat_period):
                    raise _validation(
                        f"Period must be 1, 5, 10, 20, 30 or a multiple of 60 (Metrics {metric_id})"
                    )  # ASSUMPTION: message
                periods.append(stat_period)
        if metric.get("Period") is not None:
            periods.append(metric["Period"])
    # AWS (MetricDataQuery ReturnData): in PutMetricAlarm "specify true for the one
    # expression result to use as the alarm.  For all other metrics and expressions ...
    # specify ReturnData as False"; an omitted ReturnData counts as true (CloudWatch's
    # default).  AWS messages: "Exactly one element of the metrics list should return data."
    # and, with ThresholdMetricId, "Exactly two elements of the metrics list should return
    # data." / "Metrics list must contain exactly one metric matching the ThresholdMetricId
    # parameter" (terraform-provider-aws issues #29894 and PR #42504).
    returning = [m for m in metrics if m.get("ReturnData") is not False]
    if threshold_metric_id:
        if sum(1 for m in metrics if m.get("Id") == threshold_metric_id) != 1:
            raise _validation(
                "Metrics list must contain exactly one metric matching the ThresholdMetricId "
                "parameter"
            )
        if len(returning) != 2:
            raise _validation("Exactly two elements of the metrics list should return data.")
    elif len(returning) != 1:
        raise _validation("Exactly one element of the metrics list should return data.")
    return max(periods, default=0)


# --------------------------------------------------------------------------------------
# Patched CloudWatch operations
# --------------------------------------------------------------------------------------
_ORIGINALS: dict[str, Any] = {}


def _put_metric_alarm(self: CloudWatchResponse) -> ActionResult:
    _check_constraints(self, "cloudwatch", "PutMetricAlarm")
    _validate_metric_alarm(self._get_param)
    with _STATE_LOCK:
        backend = self.cloudwatch_backend
        name = self._get_param("AlarmName")
        old = backend.alarms.get(name)
        if old is not None and _is_composite(old):
            # ASSUMPTION: AWS keeps one name space per Region for both alarm types ("This
            # name must be unique within the Region"); changing the type is refused.
            raise _validation(f"An alarm named {name} already exists as a composite alarm")
        if old is not None:
            # AWS: "If you are using this operation to update an existing alarm, any tags you
            # specify in this parameter are ignored."
            self.params.pop("Tags", None)
        result = _ORIGINALS["put_metric_alarm"](self)
        new = backend.alarms[name]
        _keep_state(new, old)
        if old is None and self._get_param("Tags"):
            _ever_tagged(backend).add(new.alarm_arn)
        return result


def _put_composite_alarm(self: CloudWatchResponse) -> ActionResult:
    _check_constraints(self, "cloudwatch", "PutCompositeAlarm")
    name = self._get_param("AlarmName")
    rule = self._get_param("AlarmRule")
    _check_alarm_name(name)
    try:
        refs, elements = _parse_rule(rule)
    except _RuleError as exc:
        # ASSUMPTION: the message.
        raise _validation(f"Invalid AlarmRule: {exc}") from None
    if elements > RULE_MAX_ELEMENTS:
        raise _validation(
            f"The AlarmRule can have at most {RULE_MAX_ELEMENTS} elements"
        )  # ASSUMPTION: message
    tags = _tags_from(self._get_param("Tags"))
    _check_tag_count(tags)
    with _STATE_LOCK:
        backend = self.cloudwatch_backend
        old = backend.alarms.get(name)
        if old is not None and not _is_composite(old):
            raise _validation(f"An alarm named {name} already exists as a metric alarm")
        resolved: list[str] = []
        missing: list[str] = []
        for ref in refs:
            target = _resolve_ref(backend, ref)
            if target is not None and target in backend.alarms:
                if target not in resolved:
                    resolved.append(target)
            elif ref not in missing:
                missing.append(ref)
        if missing:
            # AWS: "Could not save the composite alarm as alarms [...] in the alarm rule do
            # not exist" (CloudFormation error in awsdocs/aws-cloudformation-user-guide#911).
            # ASSUMPTION: the names inside the brackets are joined with ", ".
            raise _validation(
                "Could not save the composite alarm as alarms "
                f"[{', '.join(missing)}] in the alarm rule do not exist"
            )
        if len(resolved) > RULE_MAX_CHILDREN:
            raise _validation(
                f"The AlarmRule can reference at most {RULE_MAX_CHILDREN} alarms"
            )  # ASSUMPTION: message
        previous_children = _children(old) if old is not None else set()
        for child in resolved:
            if child in previous_children:
                continue
            if len(_parents_of(backend, child)) >= MAX_PARENTS_PER_ALARM:
                # ASSUMPTION: code and message.
                raise _error(
                    "LimitExceeded",
                    f"Alarm {child} is already referenced by {MAX_PARENTS_PER_ALARM} "
                    "composite alarms",
                )
        actions_enabled = self._get_param("ActionsEnabled")
        alarm = backend.put_metric_alarm(
            name=name,
            namespace=None,  # type: ignore[arg-type]
            metric_name=None,  # type: ignore[arg-type]
            comparison_operator=None,  # type: ignore[arg-type]
            evaluation_periods=None,  # type: ignore[arg-type]
            period=None,  # type: ignore[arg-type]
            threshold=None,  # type: ignore[arg-type]
            statistic=None,  # type: ignore[arg-type]
            description=self._get_param("AlarmDescription"),
            dimensions=[],
            alarm_actions=self._get_param("AlarmActions") or [],
            ok_actions=self._get_param("OKActions") or [],
            insufficient_data_actions=self._get_param("InsufficientDataActions") or [],
            # AWS: "The default is TRUE."
            actions_enabled=True if actions_enabled is None else bool(actions_enabled),
            rule=rule,
            # AWS: tags given on update are ignored.
            tags=tags if old is None else None,
        )
        alarm.slogen_children = resolved
        alarm.actions_suppressor = self._get_param("ActionsSuppressor")
        alarm.actions_suppressor_wait_period = self._get_param("ActionsSuppressorWaitPeriod")
        alarm.actions_suppressor_extension_period = self._get_param(
            "ActionsSuppressorExtensionPeriod"
        )
        _keep_state(alarm, old)
        if old is None and tags:
            _ever_tagged(backend).add(alarm.alarm_arn)
    return EmptyResult()


def _composite_view(alarm: Alarm) -> dict[str, Any]:
    view: dict[str, Any] = {
        "AlarmName": alarm.name,
        "AlarmArn": alarm.alarm_arn,
        "AlarmRule": alarm.rule,
        "ActionsEnabled": alarm.actions_enabled,
        "AlarmActions": list(alarm.alarm_actions or []),
        "OKActions": list(alarm.ok_actions or []),
        "InsufficientDataActions": list(alarm.insufficient_data_actions or []),
        "StateValue": alarm.state_value,
        "StateReason": alarm.state_reason,
        "StateReasonData": alarm.state_reason_data,
        "StateUpdatedTimestamp": alarm.state_updated_timestamp,
        "StateTransitionedTimestamp": getattr(
            alarm, "state_transitioned_timestamp", alarm.state_updated_timestamp
        ),
        "AlarmConfigurationUpdatedTimestamp": alarm.configuration_updated_timestamp,
    }
    if alarm.description is not None:
        view["AlarmDescription"] = alarm.description
    for key, attr in (
        ("ActionsSuppressor", "actions_suppressor"),
        ("ActionsSuppressorWaitPeriod", "actions_suppressor_wait_period"),
        ("ActionsSuppressorExtensionPeriod", "actions_suppressor_extension_period"),
    ):
        value = getattr(alarm, attr, None)
        if value is not None:
            view[key] = value
    return view


def _encode_token(after: str, fingerprint: str) -> str:
    raw = json.dumps({"a": after, "f": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_token(token: str, fingerprint: str) -> str:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
        after, expected = data["a"], data["f"]
    except (ValueError, KeyError, TypeError):
        expected, after = None, None
    if expected != fingerprint or not isinstance(after, str):
        # AWS: DescribeAlarms models InvalidNextToken (HTTP 400).  ASSUMPTION: message, and
        # that a token is only valid with the filters it was issued for.
        raise _error("InvalidNextToken", "The NextToken is invalid for this request.")
    return after


def _describe_alarms(self: CloudWatchResponse) -> ActionResult:
    _check_constraints(self, "cloudwatch", "DescribeAlarms")
    get = self._get_param
    names = get("AlarmNames") or []
    prefix = get("AlarmNamePrefix")
    types = get("AlarmTypes") or []
    state = get("StateValue")
    action_prefix = get("ActionPrefix")
    children_of = get("ChildrenOfAlarmName")
    parents_of = get("ParentsOfAlarmName")
    max_records = get("MaxRecords") or DESCRIBE_DEFAULT_RECORDS
    next_token = get("NextToken")

    if children_of or parents_of:
        # AWS: with ChildrenOfAlarmName/ParentsOfAlarmName "you cannot specify any other
        # parameters in the request except for MaxRecords and NextToken. If you do so, you
        # receive a validation error."  ASSUMPTION: message.
        others = [names, prefix, types, state, action_prefix]
        if (children_of and parents_of) or any(others):
            raise _validation(
                "ChildrenOfAlarmName and ParentsOfAlarmName can only be combined with "
                "MaxRecords and NextToken"
            )
    if names and prefix:
        # AWS (AlarmNamePrefix): "If this parameter is specified, you cannot specify
        # AlarmNames."  ASSUMPTION: code and message.
        raise _validation("AlarmNames and AlarmNamePrefix cannot be specified together")

    with _STATE_LOCK:
        backend = self.cloudwatch_backend
        alarms = backend.alarms
        limited = None
        if children_of:
            parent = alarms.get(children_of)
            selected = [
                alarms[c]
                for c in (_children(parent) if parent is not None else ())
                if c in alarms and c != children_of
            ]
            limited = ("AlarmName", "AlarmArn", "StateValue", "StateUpdatedTimestamp")
            wanted = ("MetricAlarm", "CompositeAlarm")
        elif parents_of:
            selected = [alarms[p] for p in _parents_of(backend, parents_of) if p != parents_of]
            limited = ("AlarmName", "AlarmArn")
            wanted = ("MetricAlarm", "CompositeAlarm")
        else:
            # AWS (AlarmTypes): "If you omit this parameter, only metric alarms are returned,
            # even if composite alarms or log alarms exist in the account."  Log alarms are
            # not modelled here, so asking for them returns none.
            wanted = tuple(types) if types else ("MetricAlarm",)
            selected = list(alarms.values())
            if names:
                wanted_names = set(names)
                selected = [a for a in selected if a.name in wanted_names]
            if prefix:
                selected = [a for a in selected if a.name.startswith(prefix)]
            if state:
                selected = [a for a in selected if a.state_value == state]
            if action_prefix:
                selected = [
                    a
                    for a in selected
                    if any(x.startswith(action_prefix) for x in a.alarm_actions or [])
                ]
        selected = [
            a
            for a in selected
            if ("CompositeAlarm" if _is_composite(a) else "MetricAlarm") in wanted
        ]
        # ASSUMPTION: alarms come sorted by name, and MaxRecords/NextToken page through
        # both types together (one page may hold metric and composite alarms).
        selected.sort(key=lambda a: a.name)
        fingerprint = hashlib.sha256(
            json.dumps(
                [
                    sorted(names),
                    prefix,
                    sorted(wanted),
                    state,
                    action_prefix,
                    children_of,
                    parents_of,
                ]
            ).encode()
        ).hexdigest()[:16]
        if next_token:
            after = _decode_token(next_token, fingerprint)
            selected = [a for a in selected if a.name > after]
        page, rest = selected[:max_records], selected[max_records:]
        if getattr(_ACTIVE, "kind", None) == shared_faults.SHORT_PAGE:
            page, rest = shared_faults.shorten(page, shared_faults.SHORT_PAGE), []

        metric_alarms: list[Any] = []
        composite_alarms: list[Any] = []
        for alarm in page:
            if limited is not None:
                full = _composite_view(alarm)
                view: Any = {k: full[k] for k in limited}
            elif _is_composite(alarm):
                view = _composite_view(alarm)
            else:
                view = alarm
            (composite_alarms if _is_composite(alarm) else metric_alarms).append(view)
        result: dict[str, Any] = {
            "MetricAlarms": metric_alarms,
            "CompositeAlarms": composite_alarms,
        }
        if rest:
            result["NextToken"] = _encode_token(page[-1].name, fingerprint)
        return ActionResult(result)


def _delete_alarms(self: CloudWatchResponse) -> ActionResult:
    _check_constraints(self, "cloudwatch", "DeleteAlarms")
    names = list(dict.fromkeys(self._get_param("AlarmNames") or []))
    fake = getattr(_ACTIVE, "fake", None)
    lenient = fake.allow_parent_and_children_in_one_delete if fake is not None else True
    with _STATE_LOCK:
        backend = self.cloudwatch_backend
        alarms = backend.alarms
        # AWS: "If you specify any incorrect alarm names, the alarms you specify with correct
        # names are still deleted."  So unknown names are skipped silently.
        existing = [n for n in names if n in alarms]
        composites = [n for n in existing if _is_composite(alarms[n])]
        if len(composites) > DELETE_MAX_COMPOSITES:
            # AWS: "this total can include no more than one composite alarm ... you can't
            # delete two composite alarms with one operation."  ASSUMPTION: message; the
            # whole call fails and nothing is deleted.
            raise _validation(
                "You can delete at most one composite alarm in one DeleteAlarms call; "
                f"got {len(composites)}: {', '.join(composites)}"
            )
        deleting = set(existing)
        blocked = []
        for name in existing:
            parents = _parents_of(backend, name)
            if lenient:
                # AWS (DeleteAlarms note on cycles): "you can't delete any composite alarm
                # that is part of the cycle because there is always still a composite alarm
                # that depends on that alarm".  ASSUMPTION: "still" is read as "after this
                # call", so a composite deleted in the same call (at most one) no longer
                # holds its children: DeleteAlarms([parent, child]) succeeds, while a cycle
                # stays undeletable.  allow_parent_and_children_in_one_delete=False makes
                # every existing parent count, so children must go in a later call.
                parents = [p for p in parents if p not in deleting]
            if parents:
                blocked.append(name)
        if blocked:
            # AWS: ValidationError (HTTP 400), "Cannot delete abc,xyz as there are composite
            # alarm(s) depending on them." / "Cannot delete X as there are composite alarm(s)
            # depending on it." (cloud-custodian#7763, ekristen/aws-nuke#462); the whole call
            # fails (nothing is deleted).
            pronoun = "it" if len(blocked) == 1 else "them"
            raise _validation(
                f"Cannot delete {','.join(blocked)} as there are composite alarm(s) "
                f"depending on {pronoun}."
            )
        for name in existing:
            alarm = alarms.pop(name)
            # AWS: tags belong to the alarm; a re-created alarm starts without them.
            backend.tagger.delete_all_tags_for_resource(alarm.alarm_arn)
            _ever_tagged(backend).discard(alarm.alarm_arn)
    return EmptyResult()


def _tag_resource(self: CloudWatchResponse) -> ActionResult:
    _check_constraints(self, "cloudwatch", "TagResource")
    arn = self._get_param("ResourceARN")
    tags = {t["Key"]: t["Value"] for t in self._get_param("Tags") or []}
    with _STATE_LOCK:
        backend = self.cloudwatch_backend
        merged = {**backend.tagger.get_tag_dict_for_resource(arn), **tags}
        _check_tag_count(merged)
        backend.tag_resource(arn, tags)
        _ever_tagged(backend).add(arn)
    return EmptyResult()


def _untag_resource(self: CloudWatchResponse) -> ActionResult:
    _check_constraints(self, "cloudwatch", "UntagResource")
    arn = self._get_param("ResourceARN")
    keys = self._get_param("TagKeys") or []
    with _STATE_LOCK:
        backend = self.cloudwatch_backend
        # moto refuses to untag an alarm that has no tags; AWS only needs the alarm to exist.
        if arn not in {a.alarm_arn for a in backend.alarms.values()}:
            raise _error("ResourceNotFoundException", "Unknown")
        backend.tagger.untag_resource_using_names(arn, keys)
    return EmptyResult()


def _update_state(self: Alarm, reason: str, reason_data: str, state_value: str) -> None:
    # AWS (MetricAlarm/CompositeAlarm StateTransitionedTimestamp): "The date and time that
    # the alarm's StateValue most recently changed"; StateUpdatedTimestamp moves on every
    # state update.
    changed = state_value != self.state_value
    _ORIGINALS["update_state"](self, reason, reason_data, state_value)
    if changed or not hasattr(self, "state_transitioned_timestamp"):
        self.state_transitioned_timestamp = self.state_updated_timestamp


def _iter_tagged_resources(self: CloudWatchBackend) -> Iterable[TaggedResource]:
    # AWS (GetResources): returns "all the tagged or previously tagged resources";
    # "Resources that were previously tagged, but do not currently have tags, are shown with
    # an empty tag set".
    ever = _ever_tagged(self)
    for resource in _ORIGINALS["iter_tagged_resources"](self):
        if resource.arn in ever:
            resource.extra["include_untagged"] = True
        yield resource


# --------------------------------------------------------------------------------------
# Resource Groups Tagging API: GetResources with snapshot paging
# --------------------------------------------------------------------------------------
def _tagging_error(message: str) -> FakeAwsError:
    return _error("InvalidParameterException", message)


def _get_resources(self: ResourceGroupsTaggingAPIResponse) -> ActionResult:
    get = self._get_param
    token = get("PaginationToken")
    tag_filters = get("TagFilters") or []
    type_filters = get("ResourceTypeFilters") or []
    arn_list = get("ResourceARNList") or []
    per_page = get("ResourcesPerPage")
    tags_per_page = get("TagsPerPage")
    # AWS (GetResources ResourceARNList): can't be combined with TagFilters,
    # ResourceTypeFilters or the pagination parameters -> InvalidParameterException.
    if arn_list and (tag_filters or type_filters):
        raise _tagging_error(
            "ResourceARNList can't be specified with TagFilters or ResourceTypeFilters"
        )
    if arn_list and (token or per_page is not None or tags_per_page is not None):
        raise _tagging_error("ResourceARNList can't be specified with pagination parameters")
    if per_page is not None and not 1 <= per_page <= TAGGING_MAX_PER_PAGE:
        raise _tagging_error(f"ResourcesPerPage must be between 1 and {TAGGING_MAX_PER_PAGE}")
    low, high = TAGGING_TAGS_PER_PAGE
    if tags_per_page is not None and not low <= tags_per_page <= high:
        raise _tagging_error(f"TagsPerPage must be between {low} and {high}")
    per_page = per_page or TAGGING_DEFAULT_PER_PAGE

    with _STATE_LOCK:
        backend = resourcegroupstaggingapi_backends[self.current_account][self.region]
        pages = getattr(backend, "slogen_pages", None)
        if pages is None:
            pages = backend.slogen_pages = {}
        now = time.monotonic()
        for key in [k for k, (_, expires) in pages.items() if expires < now]:
            del pages[key]
        if token:
            if token not in pages:
                raise _error("PaginationTokenExpiredException", "Token does not exist")
            remaining = pages.pop(token)[0]
        else:
            # Snapshot the matching resources once, so later pages are stable while the
            # caller changes alarms between pages.
            remaining = [
                (r.arn, dict(r.tags))
                for r in backend._get_resources_generator(
                    tag_filters=tag_filters,
                    resource_type_filters=type_filters,
                    resource_arn_list=arn_list,
                )
            ]
        page: list[tuple[str, dict[str, str]]] = []
        tag_count = 0
        for arn, tags in remaining:
            # AWS (TagsPerPage): "A resource with no tags is counted as having one tag";
            # "GetResources does not split a resource and its associated tags across pages".
            weight = max(1, len(tags))
            if len(page) >= per_page:
                break
            if tags_per_page is not None and page and tag_count + weight > tags_per_page:
                break
            page.append((arn, tags))
            tag_count += weight
        rest = remaining[len(page) :]
        if getattr(_ACTIVE, "kind", None) == shared_faults.SHORT_PAGE:
            page, rest = shared_faults.shorten(page, shared_faults.SHORT_PAGE), []
        result: dict[str, Any] = {
            "ResourceTagMappingList": [
                {"ResourceARN": arn, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
                for arn, tags in page
            ],
            # AWS: "A null value for PaginationToken indicates that there are no more results"
            # (the real service sends an empty string).
            "PaginationToken": "",
        }
        if rest:
            new_token = uuid.uuid4().hex
            pages[new_token] = (rest, now + TAGGING_TOKEN_TTL_S)
            result["PaginationToken"] = new_token
        return ActionResult(result)


# --------------------------------------------------------------------------------------
# Counting and throttling: every moto response class goes through call_action.
# --------------------------------------------------------------------------------------
def _call_action(self: BaseResponse) -> Any:
    fake: MotoCloudWatch | None = getattr(_ACTIVE, "fake", None)
    if fake is None:
        return _ORIGINALS["call_action"](self)
    operation = self._get_action() or ""
    service = self.service_name or ""
    if fake._register_call(service, operation):
        code, message = THROTTLE_ERRORS.get(service, DEFAULT_THROTTLE_ERROR)
        return self.serialized(ActionResult(_error(code, message)))
    kind = fake.shared.take(
        operation, operation in FAULT_WRITES, operation in ("DescribeAlarms", "GetResources")
    )
    _ACTIVE.kind = kind
    if kind == shared_faults.RATE_LIMITED:
        code, message = THROTTLE_ERRORS.get(service, DEFAULT_THROTTLE_ERROR)
        return self.serialized(ActionResult(_error(code, message)))
    if kind == shared_faults.HEADER_ECHO:
        sent = shared_faults.echo({k: str(v) for k, v in self.headers.items()})
        return self.serialized(ActionResult(_error("ValidationError", sent)))
    result = _ORIGINALS["call_action"](self)
    if kind == shared_faults.COMMIT_THEN_5XX:
        failure = _error("InternalFailure", "An internal error occurred", 500)
        return self.serialized(ActionResult(failure))
    if kind == shared_faults.COMMIT_THEN_TIMEOUT:
        time.sleep(shared_faults.HANG)  # carried out; the client gave up on the answer
    return result


FAULT_WRITES = frozenset(
    {
        "PutMetricAlarm",
        "PutCompositeAlarm",
        "DeleteAlarms",
        "TagResource",
        "UntagResource",
        "PutDashboard",
        "DeleteDashboards",
    }
)


def _check_client_protocol() -> None:
    """Fail early if botocore talks a protocol moto cannot parse (e.g. CBOR)."""
    model = botocore.session.get_session().get_service_model("cloudwatch")
    protocol = getattr(model, "resolved_protocol", model.protocol)
    if protocol not in PROTOCOL_PARSERS:
        raise RuntimeError(
            f"botocore {botocore.__version__} sends CloudWatch requests as {protocol!r}, "
            f"which this moto cannot parse ({sorted(PROTOCOL_PARSERS)}); "
            "see tests/fakes/PINS.md for versions that work together"
        )


def install_patches() -> None:
    """Patch moto's classes in this process (idempotent)."""
    global _PATCHED
    with _PATCH_LOCK:
        if _PATCHED:
            return
        _check_client_protocol()
        _ORIGINALS["put_metric_alarm"] = CloudWatchResponse.put_metric_alarm
        _ORIGINALS["call_action"] = BaseResponse.call_action
        _ORIGINALS["iter_tagged_resources"] = CloudWatchBackend.iter_tagged_resources
        _ORIGINALS["get_error_model"] = moto.core.serialize.get_error_model
        _ORIGINALS["update_state"] = Alarm.update_state
        _ORIGINALS["list_of_moto_modules"] = moto.backends.list_of_moto_modules
        # Speed only: moto's dispatcher lists its own package directory on disk for every
        # request (about 7 ms each); the list cannot change while the process runs.
        modules = tuple(moto.backends.list_of_moto_modules())
        moto.backends.list_of_moto_modules = lambda: modules
        Alarm.update_state = _update_state
        moto.core.serialize.get_error_model = _get_error_model
        CloudWatchResponse.put_metric_alarm = _put_metric_alarm
        CloudWatchResponse.put_composite_alarm = _put_composite_alarm
        CloudWatchResponse.describe_alarms = _describe_alarms
        CloudWatchResponse.delete_alarms = _delete_alarms
        CloudWatchResponse.tag_resource = _tag_resource
        CloudWatchResponse.untag_resource = _untag_resource
        cloudwatch_dashboards.install(_ORIGINALS)
        CloudWatchBackend.iter_tagged_resources = _iter_tagged_resources
        ResourceGroupsTaggingAPIResponse.get_resources = _get_resources
        BaseResponse.call_action = _call_action
        _PATCHED = True


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------
class _Server(ThreadedMotoServer):
    """ThreadedMotoServer whose WSGI app marks requests as belonging to one fake."""

    def __init__(self, fake: MotoCloudWatch, port: int) -> None:
        super().__init__(ip_address=HOST, port=port, verbose=False)
        self._fake = fake
        self._startup_error: BaseException | None = None

    def _server_entry(self) -> None:
        try:
            app = DomainDispatcherApplication(create_backend_app)
            self._server = make_server(
                self._ip_address,
                self._port,
                self._fake._wsgi(app),
                True,
                request_handler=MotoRequestHandler,
            )
        except BaseException as exc:  # reported by start()
            self._startup_error = exc
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever(poll_interval=0.1)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server_entry, name="moto-cloudwatch", daemon=True
        )
        self._thread.start()
        if not self._server_ready_event.wait(STOP_TIMEOUT_S):
            raise RuntimeError("moto server did not start")
        if self._startup_error is not None:
            raise RuntimeError(f"moto server failed to start: {self._startup_error}")

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        server, thread = self._server, self._thread
        if server is not None:
            stopper = threading.Thread(target=server.shutdown, daemon=True)
            stopper.start()
            stopper.join(timeout)
            server.server_close()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("moto server thread did not stop within %.1fs", timeout)
        self._server = None


class MotoCloudWatch:
    """moto's server on 127.0.0.1, in this process, extended to follow AWS's rules.

    Parameters:
        regions: the regions tests talk to; ``client()`` refuses others so that a wrong
            region shows up as an error rather than as an empty result.
        port: 0 picks a free port.
        account_id: every request is served as this account (moto keys state by account).
        allow_parent_and_children_in_one_delete: see ``_delete_alarms``.
        quiet: silence werkzeug's per-request log lines.
    """

    def __init__(
        self,
        regions: Iterable[str] = ("eu-west-1", "us-east-1"),
        *,
        port: int = 0,
        account_id: str = DEFAULT_ACCOUNT_ID,
        allow_parent_and_children_in_one_delete: bool = True,
        quiet: bool = True,
    ) -> None:
        self.regions = tuple(regions)
        if not self.regions:
            raise ValueError("regions must not be empty")
        self.account_id = account_id
        self.allow_parent_and_children_in_one_delete = allow_parent_and_children_in_one_delete
        self.calls: collections.Counter[str] = collections.Counter()
        self.service_calls: collections.Counter[tuple[str, str]] = collections.Counter()
        self._port = port
        self._quiet = quiet
        self._lock = threading.Lock()
        self._throttles: list[list[Any]] = []  # [remaining, frozenset(ops) | None]
        self.shared = shared_faults.Faults()  # the shared kinds, see inject_fault
        self._server: _Server | None = None
        self._session: boto3.session.Session | None = None
        self._werkzeug_level: int | None = None
        self.url = ""

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> MotoCloudWatch:
        if self._server is not None:
            return self
        install_patches()
        if self._quiet:
            werkzeug_log = logging.getLogger("werkzeug")
            self._werkzeug_level = werkzeug_log.level
            werkzeug_log.setLevel(logging.ERROR)
        server = _Server(self, self._port)
        server.start()
        self._server = server
        host, port = server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        """Shut the server down; returns within a few seconds even if a request hangs."""
        server, self._server = self._server, None
        self.url = ""
        if server is not None:
            server.stop()
        if self._werkzeug_level is not None:
            logging.getLogger("werkzeug").setLevel(self._werkzeug_level)
            self._werkzeug_level = None

    def __enter__(self) -> MotoCloudWatch:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Wipe this account's state in every moto backend, the counters and throttles."""
        with _STATE_LOCK:
            for backend_dict in list(BackendDict._instances):
                if self.account_id in backend_dict:
                    backend_dict[self.account_id].reset()
        with self._lock:
            self.calls.clear()
            self.service_calls.clear()
            self._throttles.clear()
        self.shared.clear()

    # -- clients -------------------------------------------------------------------------
    def client(
        self,
        service: str = "cloudwatch",
        region: str = "eu-west-1",
        config: Config | None = None,
    ) -> Any:
        """A boto3 client for this server, with fake credentials."""
        if not self.url:
            raise RuntimeError("MotoCloudWatch is not started")
        if region not in self.regions:
            raise ValueError(f"region {region!r} is not one of {self.regions}")
        with self._lock:
            # One session for all clients: a new session loads every service model again.
            if self._session is None:
                self._session = boto3.session.Session()
            return self._session.client(
                service,
                region_name=region,
                endpoint_url=self.url,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                aws_session_token=None,
                config=config,
            )

    # -- throttling and counting ---------------------------------------------------------
    def inject_throttling(self, count: int, operations: Iterable[str] | None = None) -> None:
        """Make the next ``count`` requests for ``operations`` (all if None) fail with the
        service's throttling error, so that botocore's retries kick in."""
        if count < 0:
            raise ValueError("count must be >= 0")
        ops = frozenset(operations) if operations is not None else None
        with self._lock:
            self._throttles.append([count, ops])

    def inject_fault(self, kind: str, count: int = 1, operation: str | None = None) -> None:
        """One of the shared faults (tests/fakes/faults.py) for the next ``count`` requests
        for ``operation`` (an API operation name such as ``PutMetricAlarm``; all if None)."""
        self.shared.inject(kind, count, operation)

    def _register_call(self, service: str, operation: str) -> bool:
        """Count a request; return True if it must be throttled."""
        with self._lock:
            self.calls[operation] += 1
            self.service_calls[(service, operation)] += 1
            for rule in self._throttles:
                remaining, ops = rule
                if remaining > 0 and (ops is None or operation in ops):
                    rule[0] -= 1
                    return True
            return False

    def _wsgi(self, app: Callable[..., Any]) -> Callable[..., Any]:
        account_id = self.account_id

        def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            environ.setdefault("HTTP_X_MOTO_ACCOUNT_ID", account_id)
            _ACTIVE.fake = self
            _ACTIVE.kind = None
            try:
                answer = app(environ, start_response)
                if _ACTIVE.kind == shared_faults.TRUNCATED_BODY:  # full length announced
                    body = b"".join(answer)
                    return [body[: len(body) // 2]]
                return answer
            finally:
                _ACTIVE.fake = None
                _ACTIVE.kind = None

        return middleware


# --------------------------------------------------------------------------------------
# Standalone
# --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID)
    parser.add_argument(
        "--regions", default="eu-west-1,us-east-1", help="comma-separated region names"
    )
    args = parser.parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    fake = MotoCloudWatch(
        regions=[r for r in args.regions.split(",") if r],
        port=args.port,
        account_id=args.account_id,
    )
    with fake:
        print(fake.url, flush=True)
        while not stop.wait(0.5):
            pass
        total = sum(fake.calls.values())
        print(f"stopping after {total} requests: {dict(fake.calls)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
