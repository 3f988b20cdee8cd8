"""The example checkout spec pages during an ELB-only outage: its alarms, applied to moto.

When every target is down the load balancer answers 502/503/504 itself: those are counted in
``HTTPCode_ELB_5XX_Count`` only, so an availability SLO on ``HTTPCode_Target_5XX_Count`` sees
no errors at all. ``specs/checkout.yaml`` sums both (and adds the ELB's 5XX to the total).

moto does not evaluate alarms: ``PutMetricData`` only stores datums (nothing in
``moto/cloudwatch/models.py`` changes an alarm's state except ``set_alarm_state``), and its
metric math (``metric_data_expression_parser.parse_expression``) only returns another query's
result by Id, without arithmetic or FILL. So the test does CloudWatch's part in the open: it
reads each window alarm's ``Metrics`` back from moto, asks moto's ``GetMetricData`` for every
``MetricStat`` in it over the alarm's one period, evaluates the alarm's own expressions on
those sums (:func:`evaluate`), compares with the alarm's threshold the way its
``ComparisonOperator`` and ``TreatMissingData`` say, and records the result with
``SetAlarmState``; the composite's rule is evaluated from its children's states the same way.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from slogen.backends import registry
from slogen.spec.loader import load_project
from tests.cli import run
from tests.conftest import SPECS
from tests.fakes.cloudwatch import MotoCloudWatch

LB = [{"Name": "LoadBalancer", "Value": "app/checkout/50dc6c495c0c9188"}]
PAGE = "slogen/checkout/availability/page-1h"
Value = float | None


@pytest.fixture(scope="module")
def server() -> Iterator[MotoCloudWatch]:
    with MotoCloudWatch() as fake:
        yield fake


@pytest.fixture
def cloudwatch(
    server: MotoCloudWatch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_tmp: Path
) -> Any:
    """The example specs applied to an empty moto account; its eu-west-1 client."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    server.reset()
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    settings = specs / "slogen.yaml"
    text = settings.read_text(encoding="utf-8")
    target = f'  cloudwatch: {{type: api, endpoint_url: "{server.url}"}}\n'
    settings.write_text(re.sub(r"  cloudwatch: \{.*\}\n", target, text), encoding="utf-8")
    run("apply", str(specs), "--target", "cloudwatch", "--auto-approve")
    return server.client("cloudwatch", region="eu-west-1")


# -- CloudWatch's part: metric math on one datapoint per query, alarm state ----------------------


def evaluate(expression: str, values: dict[str, Value]) -> Value:
    """One datapoint of a metric math expression of the shapes slogen writes (``m1/m2``,
    ``IF(m2 >= 100, m1/m2, 0)``, ``FILL(m1_1, 0) + FILL(m1_2, 0)``, ``m2 - FILL(g1, 0)``):
    a metric without a datapoint is None, and so is any arithmetic on it, except FILL."""

    def walk(node: ast.AST) -> Value:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = [walk(arg) for arg in node.args]
            if node.func.id == "FILL":
                return args[1] if args[0] is None else args[0]
            if node.func.id == "IF":
                return None if args[0] is None else (args[1] if args[0] else args[2])
        if isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.GtE):
            left, right = walk(node.left), walk(node.comparators[0])
            return None if left is None or right is None else float(left >= right)
        if isinstance(node, ast.BinOp):
            left, right = walk(node.left), walk(node.right)
            if left is None or right is None:
                return None
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Div):
                return left / right if right else None  # no datapoint for a division by 0
        raise AssertionError(f"metric math the test does not know: {ast.dump(node)}")

    return walk(ast.parse(expression, mode="eval").body)


def alarm_value(client: Any, metrics: list[dict[str, Any]], end: datetime) -> Value:
    """The datapoint CloudWatch would compare: each MetricStat summed by moto over the alarm's
    one period ending at ``end``, then the alarm's expressions, then the returned one."""
    values: dict[str, Value] = {}
    for query in metrics:
        if "MetricStat" not in query:
            continue
        period = query["MetricStat"]["Period"]
        answer = client.get_metric_data(
            MetricDataQueries=[{**query, "ReturnData": True}],
            StartTime=end - timedelta(seconds=period),
            EndTime=end,
        )
        points = answer["MetricDataResults"][0]["Values"]
        values[query["Id"]] = sum(points) if points else None
    expressions = [q for q in metrics if "Expression" in q]
    while expressions:  # an expression may use one listed after it (m1 = m2 - FILL(g1, 0))
        ready = [
            q
            for q in expressions
            if all(
                name.id in values
                for name in ast.walk(ast.parse(q["Expression"], mode="eval"))
                if isinstance(name, ast.Name) and name.id not in ("FILL", "IF")
            )
        ]
        assert ready, f"metric math with a cycle: {expressions}"
        for query in ready:
            values[query["Id"]] = evaluate(query["Expression"], values)
            expressions.remove(query)
    (returned,) = [q["Id"] for q in metrics if q["ReturnData"]]
    return values[returned]


def state_of(alarm: dict[str, Any], value: Value) -> str:
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"  # no datapoint: not breaching, OK
    return "ALARM" if value is not None and value > alarm["Threshold"] else "OK"


def evaluate_page_tier(client: Any, end: datetime) -> str:
    """Evaluate the page tier's two window alarms and then its composite, as CloudWatch
    would at ``end``, record each state with SetAlarmState; the composite's state."""
    for role in ("long", "short"):
        (alarm,) = client.describe_alarms(AlarmNames=[f"{PAGE}/{role}"])["MetricAlarms"]
        value = alarm_value(client, alarm["Metrics"], end)
        client.set_alarm_state(
            AlarmName=alarm["AlarmName"],
            StateValue=state_of(alarm, value),
            StateReason=f"evaluated by the test: error ratio {value}",
        )
    answer = client.describe_alarms(AlarmNames=[PAGE], AlarmTypes=["CompositeAlarm"])
    (composite,) = answer["CompositeAlarms"]
    children = re.findall(r'ALARM\("([^"]+)"\)', composite["AlarmRule"])
    assert composite["AlarmRule"] == " AND ".join(f'ALARM("{c}")' for c in children)
    states = {a["AlarmName"]: a["StateValue"] for a in client.describe_alarms()["MetricAlarms"]}
    state = "ALARM" if all(states[c] == "ALARM" for c in children) else "OK"
    client.set_alarm_state(AlarmName=PAGE, StateValue=state, StateReason="children: " + state)
    answer = client.describe_alarms(AlarmNames=[PAGE], AlarmTypes=["CompositeAlarm"])
    return str(answer["CompositeAlarms"][0]["StateValue"])


def put(client: Any, metric: str, value: float, minutes: range, now: datetime) -> None:
    """One datum a minute, ``minutes`` minutes before ``now``, as the load balancer sends."""
    data = [
        {
            "MetricName": metric,
            "Dimensions": LB,
            "Timestamp": now - timedelta(minutes=m),
            "Value": value,
            "Unit": "Count",
        }
        for m in minutes
    ]
    client.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data)


# -- the outage ------------------------------------------------------------------------------------


def test_checkout_pages_when_only_the_load_balancer_answers_5xx(cloudwatch: Any) -> None:
    client = cloudwatch
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    # Three hours ago, a healthy hour: 1,000 requests a minute answered by the targets, a few
    # target 5XX now and then, no ELB 5XX (the load balancer reports none: the count is 0).
    put(client, "RequestCount", 1000, range(121, 181), now)
    put(client, "HTTPCode_Target_5XX_Count", 1, range(121, 181, 20), now)
    # The last hour: every target is down. The load balancer answers 503 to all 1,000
    # requests a minute itself; no target answers, so no target 5XX and RequestCount 0.
    put(client, "HTTPCode_ELB_5XX_Count", 1000, range(1, 61), now)
    put(client, "RequestCount", 0, range(1, 61), now)

    assert evaluate_page_tier(client, now - timedelta(minutes=120)) == "OK"
    assert evaluate_page_tier(client, now) == "ALARM"
    (long_,) = client.describe_alarms(AlarmNames=[f"{PAGE}/long"])["MetricAlarms"]
    assert alarm_value(client, long_["Metrics"], now) == 1.0  # 60,000 / (0 + 60,000)
    (page,) = client.describe_alarms(AlarmNames=[PAGE], AlarmTypes=["CompositeAlarm"])[
        "CompositeAlarms"
    ]
    assert page["AlarmActions"] == ["arn:aws:sns:eu-west-1:123456789012:checkout-page"]

    # The spec before the fix (target 5XX over RequestCount) sees no error in the same hour:
    # the long window's guard reads 0 requests (so 0), the short window has no datapoint
    # (not breaching). Neither alarm would have fired: nobody would have been paged.
    before = tmp_spec_without_elb_metrics()
    long_value = alarm_value(client, before["checkout/availability/page-1h/long"], now)
    short_value = alarm_value(client, before["checkout/availability/page-1h/short"], now)
    assert (long_value, short_value) == (0.0, None)
    assert state_of(long_, long_value) == state_of(long_, short_value) == "OK"


def tmp_spec_without_elb_metrics() -> dict[str, list[dict[str, Any]]]:
    """The Metrics of the example checkout alarms with one metric per side, as before."""
    data = yaml.safe_load((SPECS / "checkout.yaml").read_text(encoding="utf-8"))
    source = data["slos"][0]["indicator"]["cloudwatch"]
    assert source["errors"][1]["metric"] == "HTTPCode_ELB_5XX_Count"
    source["errors"], source["total"] = source["errors"][0], source["total"][0]
    directory = Path.cwd() / "before"
    directory.mkdir()
    (directory / "checkout.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    project = load_project([str(directory)])
    resources = registry.get("cloudwatch").render(project, None)
    return {r.key: r.body["Metrics"] for r in resources if r.kind == "metric-alarm"}
