"""Tests of the moto-based CloudWatch fake (tests/fakes/cloudwatch.py), driven by real boto3
clients against the in-process server, so they check what botocore actually sends and parses
(CloudWatch's JSON protocol with query-compatible error codes, see tests/fakes/PINS.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.fakes.cloudwatch import MotoCloudWatch

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "arn:aws:sns:eu-west-1:123456789012:slogen-page"
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture(scope="module")
def server() -> Iterator[MotoCloudWatch]:
    with MotoCloudWatch() as fake:
        yield fake


@pytest.fixture
def cw(server: MotoCloudWatch) -> Iterator[MotoCloudWatch]:
    server.reset()
    yield server
    server.allow_parent_and_children_in_one_delete = True


@pytest.fixture
def client(cw: MotoCloudWatch) -> Any:
    return cw.client(config=NO_RETRIES)


def metric_math_alarm(name: str, period: int = 3600, **overrides: Any) -> dict[str, Any]:
    """The shape of alarm slogen writes per SLO window."""

    def stat(metric_id: str, metric: str) -> dict[str, Any]:
        return {
            "Id": metric_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": "App",
                    "MetricName": metric,
                    "Dimensions": [{"Name": "service", "Value": "checkout"}],
                },
                "Period": period,
                "Stat": "Sum",
            },
            "ReturnData": False,
        }

    params: dict[str, Any] = {
        "AlarmName": name,
        "AlarmDescription": f"burn rate for {name}",
        "Metrics": [
            stat("m1", "errors"),
            stat("m2", "requests"),
            {"Id": "e1", "Expression": "m1/m2", "Label": "error ratio", "ReturnData": True},
        ],
        "EvaluationPeriods": 1,
        "Threshold": 0.0144,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "Tags": [{"Key": "slogen:slo", "Value": "checkout"}],
    }
    params.update(overrides)
    return params


def put_pair(client: Any, base: str) -> tuple[str, str]:
    short, long_ = f"{base}/short", f"{base}/long"
    client.put_metric_alarm(**metric_math_alarm(short, period=300))
    client.put_metric_alarm(**metric_math_alarm(long_, period=3600))
    return short, long_


def put_composite(client: Any, name: str, children: list[str], **extra: Any) -> None:
    rule = " AND ".join(f'ALARM("{c}")' for c in children)
    client.put_composite_alarm(
        AlarmName=name,
        AlarmRule=rule,
        AlarmActions=[TOPIC],
        OKActions=[TOPIC],
        Tags=[{"Key": "slogen:tier", "Value": "page"}],
        **extra,
    )


def error_of(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    response = info.value.response
    return {
        "code": response["Error"]["Code"],
        "message": response["Error"].get("Message", ""),
        "status": response["ResponseMetadata"]["HTTPStatusCode"],
    }


def in_parallel(call: Callable[..., Any], many: Iterable[dict[str, Any]]) -> None:
    """Seed many alarms at once (the server answers on several threads)."""
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda params: call(**params), many))


def all_alarm_names(client: Any, **kwargs: Any) -> list[str]:
    names: list[str] = []
    token = None
    while True:
        page = client.describe_alarms(**kwargs, **({"NextToken": token} if token else {}))
        names += [a["AlarmName"] for a in page["MetricAlarms"] + page["CompositeAlarms"]]
        token = page.get("NextToken")
        if not token:
            return names


# -- protocol ---------------------------------------------------------------------------
def test_botocore_sends_a_protocol_moto_parses(cw: MotoCloudWatch, client: Any) -> None:
    sent: list[tuple[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        headers = request.headers
        sent.append((headers.get("Content-Type", b"").decode(), headers.get("X-Amz-Target", b"")))

    client.meta.events.register("before-send", record)
    client.describe_alarms()
    assert client.meta.service_model.resolved_protocol == "json"
    assert sent == [
        ("application/x-amz-json-1.0", b"GraniteServiceVersion20100801.DescribeAlarms"),
    ]


# -- metric and composite alarms ----------------------------------------------------------
def test_metric_math_alarm_round_trip(client: Any) -> None:
    short, long_ = put_pair(client, "slogen/checkout/page")
    alarms = {a["AlarmName"]: a for a in client.describe_alarms()["MetricAlarms"]}
    assert set(alarms) == {short, long_}
    alarm = alarms[long_]
    assert alarm["AlarmArn"] == f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{long_}"
    assert [m["Id"] for m in alarm["Metrics"]] == ["m1", "m2", "e1"]
    assert [m["ReturnData"] for m in alarm["Metrics"]] == [False, False, True]
    assert alarm["Metrics"][0]["MetricStat"]["Period"] == 3600
    assert alarm["Metrics"][2]["Expression"] == "m1/m2"
    assert alarm["EvaluationPeriods"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    # AWS: a new alarm starts in INSUFFICIENT_DATA (moto alone says OK).
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert "StateUpdatedTimestamp" in alarm and "AlarmConfigurationUpdatedTimestamp" in alarm


def test_composite_alarm_is_stored_and_described(client: Any) -> None:
    short, long_ = put_pair(client, "slogen/checkout/page")
    put_composite(client, "slogen/checkout/page", [short, long_], AlarmDescription="page")

    composites = client.describe_alarms(AlarmTypes=["CompositeAlarm"])
    assert composites["MetricAlarms"] == []
    (alarm,) = composites["CompositeAlarms"]
    assert alarm["AlarmName"] == "slogen/checkout/page"
    assert alarm["AlarmRule"] == f'ALARM("{short}") AND ALARM("{long_}")'
    assert alarm["AlarmDescription"] == "page"
    assert alarm["AlarmActions"] == [TOPIC] and alarm["OKActions"] == [TOPIC]
    assert alarm["InsufficientDataActions"] == []
    assert alarm["ActionsEnabled"] is True
    assert alarm["AlarmArn"].endswith(":alarm:slogen/checkout/page")
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["StateReason"]
    for field in (
        "StateUpdatedTimestamp",
        "StateTransitionedTimestamp",
        "AlarmConfigurationUpdatedTimestamp",
    ):
        assert field in alarm, field

    tags = client.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
    assert tags == [{"Key": "slogen:tier", "Value": "page"}]


def test_composite_referencing_a_missing_alarm_fails(client: Any) -> None:
    short, _ = put_pair(client, "slogen/a")
    err = error_of(
        client.put_composite_alarm,
        AlarmName="slogen/a",
        AlarmRule=f'ALARM("{short}") AND (OK(slogen/gone) OR INSUFFICIENT_DATA("slogen/x"))',
    )
    assert err["code"] == "ValidationError" and err["status"] == 400
    assert err["message"] == (
        "Could not save the composite alarm as alarms [slogen/gone, slogen/x] "
        "in the alarm rule do not exist"
    )
    assert client.describe_alarms(AlarmTypes=["CompositeAlarm"])["CompositeAlarms"] == []


def test_composite_rule_by_arn_and_booleans_is_accepted(client: Any) -> None:
    short, long_ = put_pair(client, "slogen/a")
    arn = f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{long_}"
    client.put_composite_alarm(
        AlarmName="slogen/c", AlarmRule=f'(ALARM({short}) OR FALSE) AND NOT OK("{arn}")'
    )
    children = client.describe_alarms(ChildrenOfAlarmName="slogen/c")
    assert sorted(a["AlarmName"] for a in children["MetricAlarms"]) == sorted([short, long_])
    parents = client.describe_alarms(ParentsOfAlarmName=long_)
    assert [a["AlarmName"] for a in parents["CompositeAlarms"]] == ["slogen/c"]
    # An ARN of another Region does not name an alarm of this one.
    other = f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{long_}"
    err = error_of(client.put_composite_alarm, AlarmName="slogen/d", AlarmRule=f"ALARM({other})")
    assert err["code"] == "ValidationError"


@pytest.mark.parametrize(
    "rule",
    ["ALARM(slogen/a/short) AND", "ALARM(slogen/a/short", "alarm(slogen/a/short)", "MAYBE"],
)
def test_composite_rule_syntax_errors(client: Any, rule: str) -> None:
    put_pair(client, "slogen/a")
    err = error_of(client.put_composite_alarm, AlarmName="slogen/c", AlarmRule=rule)
    assert err["code"] == "ValidationError"
    assert "Invalid AlarmRule" in err["message"]


def test_composite_rule_length_limit(client: Any) -> None:
    short, _ = put_pair(client, "slogen/a")
    base = f'ALARM("{short}")'
    padding = " " * (10240 - len(base))
    client.put_composite_alarm(AlarmName="slogen/ok", AlarmRule=base + padding)
    err = error_of(
        client.put_composite_alarm, AlarmName="slogen/long", AlarmRule=base + padding + " "
    )
    assert err["code"] == "ValidationError"
    assert "'alarmRule'" in err["message"] and "10240" in err["message"]


def test_update_keeps_state_and_ignores_tags(client: Any) -> None:
    name = "slogen/a"
    client.put_metric_alarm(**metric_math_alarm(name))
    client.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")
    client.put_metric_alarm(
        **metric_math_alarm(name, AlarmDescription="v2", Tags=[{"Key": "new", "Value": "x"}])
    )
    (alarm,) = client.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["AlarmDescription"] == "v2"
    assert alarm["StateValue"] == "ALARM"
    tags = client.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
    assert tags == [{"Key": "slogen:slo", "Value": "checkout"}]


def test_alarm_types_cannot_be_swapped_under_one_name(client: Any) -> None:
    short, _ = put_pair(client, "slogen/a")
    err = error_of(client.put_composite_alarm, AlarmName=short, AlarmRule="TRUE")
    assert err["code"] == "ValidationError"


# -- DescribeAlarms -------------------------------------------------------------------
def test_describe_alarm_types_default_both_and_prefix(client: Any) -> None:
    short, long_ = put_pair(client, "slogen/a")
    put_composite(client, "slogen/a", [short, long_])
    client.put_metric_alarm(**metric_math_alarm("other/x"))

    default = client.describe_alarms()
    assert sorted(a["AlarmName"] for a in default["MetricAlarms"]) == sorted(
        ["other/x", short, long_]
    )
    assert default["CompositeAlarms"] == []

    both = client.describe_alarms(
        AlarmNamePrefix="slogen/", AlarmTypes=["CompositeAlarm", "MetricAlarm"]
    )
    assert sorted(a["AlarmName"] for a in both["MetricAlarms"]) == sorted([short, long_])
    assert [a["AlarmName"] for a in both["CompositeAlarms"]] == ["slogen/a"]

    only_composite = client.describe_alarms(AlarmTypes=["CompositeAlarm"], AlarmNamePrefix="o")
    assert only_composite["CompositeAlarms"] == [] and only_composite["MetricAlarms"] == []


def test_describe_pages_250_alarms_of_both_types(cw: MotoCloudWatch, client: Any) -> None:
    metric = [metric_math_alarm(f"slogen/svc{i:03d}/w") for i in range(225)]
    composite = [
        {"AlarmName": f"slogen/svc{i:03d}/tier", "AlarmRule": f"ALARM(slogen/svc{i:03d}/w)"}
        for i in range(25)
    ]
    in_parallel(client.put_metric_alarm, metric)
    in_parallel(client.put_composite_alarm, composite)
    expected = [p["AlarmName"] for p in metric + composite]
    client.put_metric_alarm(**metric_math_alarm("zzz/not-ours"))
    cw.calls.clear()

    pages = []
    token = None
    while True:
        kwargs: dict[str, Any] = {
            "AlarmNamePrefix": "slogen/",
            "AlarmTypes": ["CompositeAlarm", "MetricAlarm"],
            "MaxRecords": 100,
        }
        if token:
            kwargs["NextToken"] = token
        page = client.describe_alarms(**kwargs)
        pages.append([a["AlarmName"] for a in page["MetricAlarms"] + page["CompositeAlarms"]])
        token = page.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [100, 100, 50]
    seen = [name for page in pages for name in page]
    assert sorted(seen) == sorted(expected)
    assert len(set(seen)) == 250
    assert cw.calls["DescribeAlarms"] == 3

    # Default page size and the bounds of MaxRecords.
    assert len(client.describe_alarms(AlarmNamePrefix="slogen/")["MetricAlarms"]) == 50
    err = error_of(client.describe_alarms, MaxRecords=101)
    assert err["code"] == "ValidationError" and "maxRecords" in err["message"]


def test_describe_paginator_and_bad_token(client: Any) -> None:
    for i in range(7):
        client.put_metric_alarm(**metric_math_alarm(f"slogen/p{i}"))
    paginator = client.get_paginator("describe_alarms")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 3}))
    assert [len(p["MetricAlarms"]) for p in pages] == [3, 3, 1]
    err = error_of(client.describe_alarms, NextToken="not-a-token")
    assert err["code"] == "InvalidNextToken" and err["status"] == 400


# -- DeleteAlarms ---------------------------------------------------------------------
def test_delete_of_a_referenced_child_fails(client: Any) -> None:
    short, long_ = put_pair(client, "slogen/a")
    put_composite(client, "slogen/a", [short, long_])

    err = error_of(client.delete_alarms, AlarmNames=[short])
    assert err == {
        "code": "ValidationError",
        "message": f"Cannot delete {short} as there are composite alarm(s) depending on it.",
        "status": 400,
    }
    err = error_of(client.delete_alarms, AlarmNames=[short, "slogen/unrelated", long_])
    assert err["message"] == (
        f"Cannot delete {short},{long_} as there are composite alarm(s) depending on them."
    )
    assert len(all_alarm_names(client, AlarmTypes=["CompositeAlarm", "MetricAlarm"])) == 3


def test_delete_composite_then_children_succeeds(client: Any) -> None:
    short, long_ = put_pair(client, "slogen/a")
    put_composite(client, "slogen/a", [short, long_])
    client.delete_alarms(AlarmNames=["slogen/a"])
    client.delete_alarms(AlarmNames=[short, long_, "slogen/never-existed"])
    assert all_alarm_names(client, AlarmTypes=["CompositeAlarm", "MetricAlarm"]) == []


def test_delete_composite_with_its_children_in_one_call(cw: MotoCloudWatch, client: Any) -> None:
    short, long_ = put_pair(client, "slogen/a")
    put_composite(client, "slogen/a", [short, long_])

    cw.allow_parent_and_children_in_one_delete = False
    err = error_of(client.delete_alarms, AlarmNames=["slogen/a", short, long_])
    assert err["code"] == "ValidationError"
    assert len(all_alarm_names(client, AlarmTypes=["CompositeAlarm", "MetricAlarm"])) == 3

    cw.allow_parent_and_children_in_one_delete = True
    client.delete_alarms(AlarmNames=["slogen/a", short, long_])
    assert all_alarm_names(client, AlarmTypes=["CompositeAlarm", "MetricAlarm"]) == []


def test_delete_limits(client: Any) -> None:
    short, long_ = put_pair(client, "slogen/a")
    put_composite(client, "slogen/c1", [short])
    put_composite(client, "slogen/c2", [long_])
    err = error_of(client.delete_alarms, AlarmNames=["slogen/c1", "slogen/c2"])
    assert err["code"] == "ValidationError" and "one composite" in err["message"]
    err = error_of(client.delete_alarms, AlarmNames=[f"slogen/n{i}" for i in range(101)])
    assert err["code"] == "ValidationError" and "'alarmNames'" in err["message"]
    assert len(all_alarm_names(client, AlarmTypes=["CompositeAlarm", "MetricAlarm"])) == 4


def test_composite_cycle_cannot_be_deleted(client: Any) -> None:
    short, _ = put_pair(client, "slogen/a")
    client.put_composite_alarm(AlarmName="slogen/c1", AlarmRule=f"ALARM({short})")
    client.put_composite_alarm(AlarmName="slogen/c2", AlarmRule="ALARM(slogen/c1)")
    client.put_composite_alarm(AlarmName="slogen/c1", AlarmRule="ALARM(slogen/c2)")
    for name in ("slogen/c1", "slogen/c2"):
        assert error_of(client.delete_alarms, AlarmNames=[name])["code"] == "ValidationError"
    # AWS: break the cycle by setting one rule to false.
    client.put_composite_alarm(AlarmName="slogen/c1", AlarmRule="false")
    client.delete_alarms(AlarmNames=["slogen/c2"])
    client.delete_alarms(AlarmNames=["slogen/c1"])


# -- PutMetricAlarm validations -----------------------------------------------------------
def _eleven_metric_stats() -> list[dict[str, Any]]:
    metrics = metric_math_alarm("x")["Metrics"][:1] * 11
    metrics = [{**m, "Id": f"m{i}"} for i, m in enumerate(metrics)]
    return [*metrics, {"Id": "e1", "Expression": "m0/m1", "ReturnData": True}]


BAD_ALARMS = {
    "period not 10/20/30 or a multiple of 60": metric_math_alarm("x", period=90),
    "top-level period 45": {
        "AlarmName": "x",
        "Namespace": "App",
        "MetricName": "errors",
        "Statistic": "Sum",
        "Period": 45,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanThreshold",
    },
    "range over 7 days": metric_math_alarm("x", period=86400 * 8),
    "range over 1 day with a period under 1 hour": metric_math_alarm(
        "x", period=60, EvaluationPeriods=1441
    ),
    "more than 10 MetricStat entries": metric_math_alarm("x", Metrics=_eleven_metric_stats()),
    "two ReturnData true": metric_math_alarm(
        "x",
        Metrics=[
            {**m, "ReturnData": True} if m["Id"] == "m1" else m
            for m in metric_math_alarm("x")["Metrics"]
        ],
    ),
    "ReturnData omitted counts as true": metric_math_alarm(
        "x",
        Metrics=[
            {k: v for k, v in m.items() if k != "ReturnData"} if m["Id"] == "m1" else m
            for m in metric_math_alarm("x")["Metrics"]
        ],
    ),
    "name over 255": metric_math_alarm("s" * 256),
    "description over 1024": metric_math_alarm("x", AlarmDescription="d" * 1025),
    "Period beside Metrics": metric_math_alarm("x", Period=60),
    "DatapointsToAlarm over EvaluationPeriods": metric_math_alarm(
        "x", EvaluationPeriods=2, DatapointsToAlarm=3
    ),
    "bad TreatMissingData": metric_math_alarm("x", TreatMissingData="sometimes"),
    "six alarm actions": metric_math_alarm("x", AlarmActions=[TOPIC] * 6),
}


@pytest.mark.parametrize("params", BAD_ALARMS.values(), ids=BAD_ALARMS.keys())
def test_put_metric_alarm_validations(client: Any, params: dict[str, Any]) -> None:
    err = error_of(client.put_metric_alarm, **params)
    assert err["code"] == "ValidationError" and err["status"] == 400
    assert client.describe_alarms()["MetricAlarms"] == []


@pytest.mark.parametrize(
    ("period", "evaluation_periods"), [(20, 1), (60, 1440), (3600, 168), (604800, 1)]
)
def test_put_metric_alarm_accepts_the_limits(
    client: Any, period: int, evaluation_periods: int
) -> None:
    client.put_metric_alarm(
        **metric_math_alarm("ok", period=period, EvaluationPeriods=evaluation_periods)
    )
    assert len(client.describe_alarms()["MetricAlarms"]) == 1


# -- Resource Groups Tagging API --------------------------------------------------------
def test_tagging_api_lists_alarms_of_both_types_with_paging(
    cw: MotoCloudWatch, client: Any
) -> None:
    expected = {}
    in_parallel(
        client.put_metric_alarm, [metric_math_alarm(f"slogen/s{i:03d}/w") for i in range(120)]
    )
    expected.update({f"slogen/s{i:03d}/w": {"slogen:slo": "checkout"} for i in range(120)})
    in_parallel(
        lambda **kw: put_composite(client, **kw),
        [{"name": f"slogen/s{i:03d}/tier", "children": [f"slogen/s{i:03d}/w"]} for i in range(15)],
    )
    expected.update({f"slogen/s{i:03d}/tier": {"slogen:tier": "page"} for i in range(15)})
    untagged = metric_math_alarm("slogen/untagged")
    del untagged["Tags"]
    client.put_metric_alarm(**untagged)
    # Previously tagged, now without tags: AWS still lists it, with an empty tag set.
    client.put_metric_alarm(**metric_math_alarm("slogen/was-tagged"))
    arn = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:slogen/was-tagged"
    client.untag_resource(ResourceARN=arn, TagKeys=["slogen:slo"])
    expected["slogen/was-tagged"] = {}

    tagging = cw.client("resourcegroupstaggingapi", config=NO_RETRIES)
    cw.calls.clear()
    found: dict[str, dict[str, str]] = {}
    sizes = []
    token = ""
    while True:
        page = tagging.get_resources(
            ResourceTypeFilters=["cloudwatch:alarm"], ResourcesPerPage=100, PaginationToken=token
        )
        sizes.append(len(page["ResourceTagMappingList"]))
        for item in page["ResourceTagMappingList"]:
            name = item["ResourceARN"].split(":alarm:", 1)[1]
            found[name] = {t["Key"]: t["Value"] for t in item["Tags"]}
        token = page.get("PaginationToken", "")
        if not token:
            break
    assert sizes == [100, 36]
    assert found == expected
    assert cw.calls["GetResources"] == 2

    err = error_of(tagging.get_resources, ResourcesPerPage=101)
    assert err["code"] == "InvalidParameterException"


def test_tagging_api_tags_per_page_does_not_split_resources(
    cw: MotoCloudWatch, client: Any
) -> None:
    tags = [{"Key": f"k{j}", "Value": "v"} for j in range(10)]
    in_parallel(
        client.put_metric_alarm,
        [metric_math_alarm(f"slogen/t{i:02d}", Tags=tags) for i in range(22)],
    )
    tagging = cw.client("resourcegroupstaggingapi")
    sizes = []
    token = ""
    while True:
        page = tagging.get_resources(TagsPerPage=100, PaginationToken=token)
        sizes.append(len(page["ResourceTagMappingList"]))
        token = page.get("PaginationToken", "")
        if not token:
            break
    assert sizes == [10, 10, 2]  # AWS's own example for TagsPerPage


def test_deleted_alarm_takes_its_tags_along(cw: MotoCloudWatch, client: Any) -> None:
    client.put_metric_alarm(**metric_math_alarm("slogen/a"))
    client.delete_alarms(AlarmNames=["slogen/a"])
    untagged = metric_math_alarm("slogen/a")
    del untagged["Tags"]
    client.put_metric_alarm(**untagged)
    arn = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:slogen/a"
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == []
    tagging = cw.client("resourcegroupstaggingapi")
    assert tagging.get_resources()["ResourceTagMappingList"] == []


# -- throttling, counting, regions, reset ---------------------------------------------------
def test_throttling_is_retried_by_adaptive_mode(cw: MotoCloudWatch) -> None:
    adaptive = cw.client(config=Config(retries={"mode": "adaptive", "max_attempts": 10}))
    cw.inject_throttling(count=2, operations=("PutMetricAlarm",))
    adaptive.describe_alarms()  # other operations are not throttled
    response = adaptive.put_metric_alarm(**metric_math_alarm("slogen/a"))
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert cw.calls["PutMetricAlarm"] == 3
    assert cw.calls["DescribeAlarms"] == 1
    adaptive.put_metric_alarm(**metric_math_alarm("slogen/b"))
    assert cw.calls["PutMetricAlarm"] == 4
    assert len(adaptive.describe_alarms()["MetricAlarms"]) == 2


def test_throttling_error_is_awss(cw: MotoCloudWatch, client: Any) -> None:
    cw.inject_throttling(count=1)
    err = error_of(client.describe_alarms)
    assert err == {"code": "Throttling", "message": "Rate exceeded", "status": 400}
    cw.inject_throttling(count=1, operations=["GetResources"])
    tagging = cw.client("resourcegroupstaggingapi", config=NO_RETRIES)
    assert error_of(tagging.get_resources)["code"] == "ThrottledException"
    client.describe_alarms()
    assert cw.calls["DescribeAlarms"] == 2 and cw.calls["GetResources"] == 1


def test_regions_are_isolated(cw: MotoCloudWatch) -> None:
    eu, us = cw.client(region="eu-west-1"), cw.client(region="us-east-1")
    eu.put_metric_alarm(**metric_math_alarm("slogen/eu"))
    us.put_metric_alarm(**metric_math_alarm("slogen/us"))
    assert [a["AlarmName"] for a in eu.describe_alarms()["MetricAlarms"]] == ["slogen/eu"]
    assert [a["AlarmName"] for a in us.describe_alarms()["MetricAlarms"]] == ["slogen/us"]
    us_tags = cw.client("resourcegroupstaggingapi", region="us-east-1").get_resources()
    assert [r["ResourceARN"] for r in us_tags["ResourceTagMappingList"]] == [
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:slogen/us"
    ]
    with pytest.raises(ValueError):
        cw.client(region="ap-south-1")


def test_reset_wipes_alarms_counters_and_throttles(cw: MotoCloudWatch, client: Any) -> None:
    client.put_metric_alarm(**metric_math_alarm("slogen/a"))
    cw.inject_throttling(count=5)
    cw.reset()
    assert cw.calls == {}
    assert client.describe_alarms()["MetricAlarms"] == []
    assert cw.calls["DescribeAlarms"] == 1


def test_standalone_server_prints_url_and_stops_on_sigterm() -> None:
    script = ROOT / "tests" / "fakes" / "cloudwatch.py"
    proc = subprocess.Popen(
        [sys.executable, str(script), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        client = boto3.client(
            "cloudwatch",
            region_name="eu-west-1",
            endpoint_url=url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.put_metric_alarm(**metric_math_alarm("slogen/a"))
        assert len(client.describe_alarms()["MetricAlarms"]) == 1
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_stop_is_bounded() -> None:
    fake = MotoCloudWatch(account_id="210987654321").start()
    fake.client().describe_alarms()
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 3
    with pytest.raises(RuntimeError):
        fake.client()
