"""CloudWatch rendering, local validation of AWS's rules, normal form and the ``files`` target.

No AWS here (not even moto): these tests cover what slogen decides before it makes a call.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from slogen.backends import registry
from slogen.backends.cloudwatch import checks, names, normalise
from slogen.backends.cloudwatch import files as cloudwatch_files
from slogen.resources import Resource
from slogen.spec.loader import load_project
from tests.cli import run
from tests.conftest import SPECS

BACKEND = registry.get("cloudwatch")


def example_resources() -> dict[str, Resource]:
    project = load_project([str(SPECS)])
    return {f"{r.kind} {r.key}": r for r in BACKEND.render(project, None)}


SPEC = """\
service: shop
owner: web
labels: {{env: {env}}}
slos:
  - name: availability
    objective: 99.9
    window: 30d
    indicator:
      cloudwatch:
        region: eu-west-1
        errors: {{namespace: Shop, metric: Errors, dimensions: {{Stage: prod, App: shop}}}}
        total: {{namespace: Shop, metric: Requests, dimensions: {{Stage: prod, App: shop}}}}
    alerting:
      policy: {policy}
      runbook: {runbook}
      page:
        cloudwatch: ["{topic}"]
      ticket:
        cloudwatch: ["arn:aws:sns:eu-west-1:123456789012:shop-ticket"]
"""
CONFIG = """\
policies:
  odd:
    - {severity: page, budget: 2%, long: 1h, short: 90s}
    - {severity: ticket, budget: 30%, long: 14d, short: 1d}
"""


def shop(
    tmp_path: Path,
    *,
    policy: str = "workbook",
    topic: str = "arn:aws:sns:eu-west-1:123456789012:shop-page",
    runbook: str = "https://runbooks.example.com/shop",
    env: str = "prod",
    config: str = CONFIG,
) -> Path:
    directory = tmp_path / "specs"
    directory.mkdir(parents=True, exist_ok=True)
    spec = SPEC.format(policy=policy, topic=topic, runbook=runbook, env=env)
    (directory / "shop.yaml").write_text(spec, encoding="utf-8")
    (directory / "slogen.yaml").write_text(textwrap.dedent(config), encoding="utf-8")
    return directory


def render_errors(directory: Path) -> list[str]:
    """The problems ``validate`` finds (render itself never rejects a project)."""
    project = load_project([str(directory)])
    problems = BACKEND.validate(project)
    BACKEND.render(project, None)  # still renders: validate runs first and stops the CLI
    return [p.render() for p in problems]


# -- what is rendered -----------------------------------------------------------------------------


def test_three_alarms_per_tier_in_the_spec_region() -> None:
    resources = example_resources()
    kinds = [r.kind for r in resources.values()]
    # 14 tiers x (long + short) + checkout/availability's no-traffic alarm
    assert kinds.count(names.METRIC_ALARM) == 29 and kinds.count(names.COMPOSITE_ALARM) == 14
    alarms = [r for r in resources.values() if r.kind != "dashboard"]
    regions = {r.key: r.body["Region"] for r in alarms}
    assert regions["checkout/availability/page-1h"] == "eu-west-1"
    assert regions["search/query-latency/page-1h/long"] == "us-east-1"
    for res in alarms:
        assert res.body["AlarmName"] == "slogen/" + res.key
    assert kinds.count("dashboard") == 3  # one per service, global: no region


def test_window_alarm_is_a_ratio_of_sums_over_one_datapoint() -> None:
    long_ = example_resources()["metric-alarm checkout/availability/page-1h/long"].body
    # Each side sums two metrics (target and load balancer 5XX; requests and ELB 5XX).
    ids = ["m1_1", "m1_2", "m1", "m2_1", "m2_2", "m2", "e1"]
    assert [m["Id"] for m in long_["Metrics"]] == ids
    assert [m["ReturnData"] for m in long_["Metrics"]] == [False] * 6 + [True]
    t5xx, elb5xx, m1, requests, _, m2, e1 = long_["Metrics"]
    assert t5xx["MetricStat"]["Metric"]["MetricName"] == "HTTPCode_Target_5XX_Count"
    assert elb5xx["MetricStat"]["Metric"]["MetricName"] == "HTTPCode_ELB_5XX_Count"
    assert requests["MetricStat"]["Metric"]["MetricName"] == "RequestCount"
    assert (m1["Expression"], m2["Expression"]) == (
        "FILL(m1_1, 0) + FILL(m1_2, 0)",
        "FILL(m2_1, 0) + FILL(m2_2, 0)",
    )
    assert t5xx["MetricStat"]["Period"] == requests["MetricStat"]["Period"] == 3600
    assert t5xx["MetricStat"]["Stat"] == "Sum"
    # min_events: 100 guards the long window only.
    assert e1["Expression"] == "IF(m2 >= 100, m1/m2, 0)"
    assert long_["EvaluationPeriods"] == 1 and long_["DatapointsToAlarm"] == 1
    assert long_["Threshold"] == 0.0144
    assert long_["ComparisonOperator"] == "GreaterThanThreshold"
    assert long_["TreatMissingData"] == "notBreaching"
    assert long_["AlarmActions"] == long_["OKActions"] == long_["InsufficientDataActions"] == []
    short = example_resources()["metric-alarm checkout/availability/page-1h/short"].body
    assert short["Metrics"][-1]["Expression"] == "m1/m2"
    assert short["Metrics"][0]["MetricStat"]["Period"] == 300
    assert short["Threshold"] == 0.0144


def test_thresholds_per_tier_also_for_a_shared_window() -> None:
    """6h is the page-6h long window and the ticket-3d short window, with different
    thresholds: one alarm per tier and window."""
    resources = example_resources()
    page = resources["metric-alarm checkout/availability/page-6h/long"].body
    ticket = resources["metric-alarm checkout/availability/ticket-3d/short"].body
    assert page["Metrics"][0]["MetricStat"]["Period"] == 21600
    assert ticket["Metrics"][0]["MetricStat"]["Period"] == 21600
    assert (page["Threshold"], ticket["Threshold"]) == (0.006, 0.001)
    assert (
        resources["metric-alarm checkout/availability/ticket-3d/long"].body["Metrics"][0][
            "MetricStat"
        ]["Period"]
        == 259200
    )


def test_good_events_become_total_minus_good_with_fill() -> None:
    body = example_resources()["metric-alarm search/query-latency/page-1h/short"].body
    by_id = {m["Id"]: m for m in body["Metrics"]}
    assert by_id["m1"]["Expression"] == "m2 - FILL(g1, 0)"
    assert by_id["g1"]["MetricStat"]["Metric"]["MetricName"] == "QueriesWithin250ms"
    assert by_id["m2"]["MetricStat"]["Metric"]["MetricName"] == "Queries"
    assert [m["Id"] for m in body["Metrics"] if m["ReturnData"]] == ["e1"]


def test_composite_joins_both_windows_and_notifies() -> None:
    res = example_resources()["composite-alarm checkout/availability/page-1h"]
    body = res.body
    assert body["AlarmRule"] == (
        'ALARM("slogen/checkout/availability/page-1h/long") AND '
        'ALARM("slogen/checkout/availability/page-1h/short")'
    )
    topic = "arn:aws:sns:eu-west-1:123456789012:checkout-page"
    assert body["AlarmActions"] == body["OKActions"] == [topic]
    assert body["ActionsEnabled"] is True
    assert res.depends_on == (
        "checkout/availability/page-1h/long",
        "checkout/availability/page-1h/short",
    )
    description = body["AlarmDescription"]
    assert "above 14.4x" in description
    assert "Runbook: https://runbooks.example.com/checkout/availability" in description
    assert "2% of the 30d error budget" in description
    # sent with ALARM and OK alike: states the condition and what clears it, claims neither
    assert (
        "In ALARM while all of these hold, OK once any one does not: error ratio above 1.44% "
        "over the last 1h; above 1.44% over the last 5m; at least 100 events in the last 1h."
    ) in description
    assert "is burning" not in description and "recovered" not in description


def test_tags_mark_ownership_and_carry_the_spec_labels() -> None:
    tags = example_resources()["metric-alarm search/availability/ticket-3d/short"].body["Tags"]
    assert tags == {
        "env": "prod",
        "managed-by": "slogen",
        "service": "search",
        "severity": "ticket",
        "slo": "availability",
        "slogen-key": "search/availability/ticket-3d/short",
        "slogen-category": "availability",  # the SLO's category
        "slogen-project": "specs",  # the project: the spec directory's name
        "team": "discovery",
        "tier": "ticket-3d",
        "tier_class": "gold",
    }


def test_rendered_bodies_are_already_in_normal_form() -> None:
    for res in example_resources().values():
        if res.kind == "dashboard":  # read back through its JSON text (tests of dashboards)
            continue
        request = normalise.request_of(res.body)
        assert normalise.body_of(res.kind, res.body["Region"], request) == res.body


# -- AWS's rules, checked locally -----------------------------------------------------------------


def test_windows_cloudwatch_cannot_express_are_located_errors(tmp_path: Path) -> None:
    errors = render_errors(shop(tmp_path, policy="odd"))
    text = "\n".join(errors)
    assert len(errors) == 2, text
    assert "shop.yaml:5:5: error: slos[0].alerting.policy: policy 'odd' tier 'page-1h'" in text
    assert "1m30s (90 s) is not a valid CloudWatch alarm Period" in text
    assert "tier 'ticket-2w' needs a CloudWatch alarm over its long window" in text
    assert "2w (1209600 s) is longer than the 7 days (604,800 s)" in text
    assert "hint: use windows of 10s, 20s, 30s or whole minutes up to 7d" in text


def test_actions_in_another_region_are_an_error(tmp_path: Path) -> None:
    errors = render_errors(shop(tmp_path, topic="arn:aws:sns:us-east-1:123456789012:shop-page"))
    assert len(errors) == 1
    assert "slos[0].alerting: CloudWatch alarm slogen/shop/availability/page-1h" in errors[0]
    assert "is in region us-east-1, but the alarm is in eu-west-1" in errors[0]


def test_label_values_aws_tags_cannot_hold_are_an_error(tmp_path: Path) -> None:
    errors = render_errors(shop(tmp_path, env='"prod,eu"'))
    assert len(errors) == 1 and "error: labels:" in errors[0]
    assert "characters AWS tags do not allow" in errors[0]


def test_a_description_over_1024_characters_is_an_error(tmp_path: Path) -> None:
    errors = render_errors(shop(tmp_path, runbook="https://runbooks.example.com/" + "x" * 1000))
    assert errors and all("slos[0].description" in e for e in errors)
    assert "the alarm description is" in errors[0] and "at most 1024" in errors[0]


def test_request_limits() -> None:
    body = example_resources()["metric-alarm checkout/latency/page-1h/long"].body
    many = {**body, "Metrics": body["Metrics"][:1] * 11, "AlarmName": "slogen/" + "n" * 300}
    problems = checks.request_problems(Resource("cloudwatch", "api", names.METRIC_ALARM, "k", many))
    text = " | ".join(m for _, m in problems)
    assert "uses 11 metrics; AWS allows at most 10" in text
    assert "characters long; AWS allows at most 255" in text


def test_regions_list_is_complete(tmp_path: Path) -> None:
    config = CONFIG + "targets:\n  cloudwatch: {type: api, regions: [us-east-1]}\n"
    errors = render_errors(shop(tmp_path, config=config))
    assert len(errors) == 1
    assert "slos[0].indicator.cloudwatch.region: region eu-west-1 is not one of" in errors[0]


def test_regions_option_is_validated(tmp_path: Path) -> None:
    config = CONFIG + "targets:\n  cloudwatch: {type: api, regions: [eu-west-1, Europe]}\n"
    result = run("validate", str(shop(tmp_path, config=config)), exit_code=1)
    assert "targets.cloudwatch.regions[1]: expected an AWS region" in result.stderr
    config = CONFIG + "targets:\n  cloudwatch: {type: api, regions: [us-east-1, eu-west-1]}\n"
    project = load_project([str(shop(tmp_path, config=config))])
    assert names.configured_regions(project.target("cloudwatch")) == ("eu-west-1", "us-east-1")


# -- normal form ----------------------------------------------------------------------------------


def _as_described(body: dict[str, Any]) -> dict[str, Any]:
    """A body as DescribeAlarms answers it: server fields, reordered dimensions, float noise,
    defaults left out."""
    raw = json.loads(json.dumps(normalise.request_of(body, with_tags=False)))
    raw.update(
        {
            "AlarmArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:" + body["AlarmName"],
            "StateValue": "ALARM",
            "StateUpdatedTimestamp": "2026-01-01T00:00:00Z",
            "AlarmConfigurationUpdatedTimestamp": "2026-01-01T00:00:00Z",
            "Threshold": body["Threshold"] + 1e-17,
            "Dimensions": [],
        }
    )
    for name in ("ActionsEnabled", "DatapointsToAlarm", "InsufficientDataActions"):
        raw.pop(name)
    for query in raw["Metrics"]:
        if "MetricStat" in query:
            query["MetricStat"]["Metric"]["Dimensions"].reverse()
    return raw


def test_live_alarm_normalises_to_the_rendered_body() -> None:
    res = example_resources()["metric-alarm checkout/availability/page-1h/long"]
    raw = _as_described(res.body)
    assert normalise.normalise_metric_alarm(raw, "eu-west-1", res.body["Tags"]) == res.body
    raw["Threshold"] = 0.0009999999999999432
    assert normalise.normalise_metric_alarm(raw, "eu-west-1", {})["Threshold"] == 0.001


def test_hand_made_changes_stay_visible() -> None:
    res = example_resources()["composite-alarm checkout/availability/page-1h"]
    raw = {**normalise.request_of(res.body, with_tags=False), "ActionsEnabled": False}
    raw["ActionsSuppressor"] = "slogen/maintenance"
    body = normalise.normalise_composite_alarm(raw, "eu-west-1", res.body["Tags"])
    assert body["ActionsEnabled"] is False
    assert body["ActionsSuppressor"] == "slogen/maintenance"


@pytest.mark.parametrize(
    ("name", "tags", "key"),
    [
        ("slogen/a/b/t", {"managed-by": "slogen", "slogen-key": "a/b/t"}, "a/b/t"),
        ("slogen/a/b/t", {"managed-by": "slogen"}, None),
        ("slogen/a/b/t", {"slogen-key": "a/b/t"}, None),
        ("slogen/a/b/t", {"managed-by": "terraform", "slogen-key": "a/b/t"}, None),
        ("slogen/a/b/t", {"managed-by": "slogen", "slogen-key": "a/b/other"}, None),
        ("other/a/b/t", {"managed-by": "slogen", "slogen-key": "a/b/t"}, None),
        ("slogen/a/b/t", None, None),
    ],
)
def test_ownership_needs_both_tags_and_a_matching_name(
    name: str, tags: dict[str, str] | None, key: str | None
) -> None:
    assert normalise.ownership(name, tags) == key


def test_rule_references_accept_names_and_arns() -> None:
    rule = 'ALARM("slogen/a/long") AND ALARM(arn:aws:cloudwatch:eu-west-1:1:alarm:slogen/a/short)'
    assert names.rule_references(rule) == ["slogen/a/long", "slogen/a/short"]
    assert normalise.dependencies(names.COMPOSITE_ALARM, {"AlarmRule": rule}) == (
        "a/long",
        "a/short",
    )


# -- explain and plan notes -----------------------------------------------------------------------


def test_explain_names_the_cloudwatch_form() -> None:
    out = json.loads(
        run("explain", str(SPECS), "--slo", "checkout/availability", "--format", "json").stdout
    )
    forms = out[0]["tiers"][0]["forms"]
    assert forms["cloudwatch"].startswith("composite alarm ALARM(long) AND ALARM(short)")
    assert "> 0.0144" in forms["cloudwatch"] and ">= 100 events" in forms["cloudwatch"]


def test_explain_says_which_tier_cloudwatch_cannot_express(tmp_path: Path) -> None:
    project = load_project([str(shop(tmp_path, policy="odd"))])
    service = project.services[0]
    forms = BACKEND.tier_forms(service, service.slos[0])
    assert forms["ticket-2w"].startswith("cannot be expressed in CloudWatch: 2w (1209600 s)")


def test_api_target_notes_which_regions_are_read(tmp_path: Path) -> None:
    config = "targets:\n  cloudwatch: {type: api}\n"
    project = load_project([str(shop(tmp_path, config=config))])
    (note,) = BACKEND.plan_notes(project)
    assert note.startswith("reading alarms in eu-west-1 only")
    config = "targets:\n  cloudwatch: {type: api, regions: [eu-west-1]}\n"
    assert BACKEND.plan_notes(load_project([str(shop(tmp_path, config=config))])) == []


# -- the files target -----------------------------------------------------------------------------


def test_files_target_plans_offline_and_converges(in_tmp: Path) -> None:
    first = run("plan", str(SPECS), "--target", "cloudwatch")
    assert "cloudwatch (files:out/cloudwatch):" in first.stdout
    # 14 tiers x 3 alarms + checkout/availability's no-traffic alarm + 3 dashboards
    assert "Plan: 46 to add, 0 to change, 0 to destroy." in first.stdout
    run("apply", str(SPECS), "--target", "cloudwatch", "--auto-approve")
    files = sorted(p.name for p in (in_tmp / "out" / "cloudwatch").iterdir())
    assert files == [
        "billing-worker.cloudwatch.json",
        "checkout.cloudwatch.json",
        "search.cloudwatch.json",
    ]
    doc = json.loads((in_tmp / "out/cloudwatch/checkout.cloudwatch.json").read_text())
    assert doc["managed-by"] == "slogen"
    first_alarm = doc["alarms"][0]
    assert first_alarm["operation"] == "PutMetricAlarm" and first_alarm["region"] == "eu-west-1"
    assert {"Key": "managed-by", "Value": "slogen"} in first_alarm["request"]["Tags"]
    kinds = [a["kind"] for a in doc["alarms"]]
    assert kinds == sorted(kinds, key=lambda k: k == "composite-alarm")  # children first
    (board,) = doc["dashboards"]
    assert board["operation"] == "PutDashboard" and board["key"] == "checkout"
    assert board["request"]["DashboardName"] == "slogen_specs_checkout"
    again = run("plan", str(SPECS), "--target", "cloudwatch", "--detailed-exitcode")
    assert "No changes." in again.stdout


def test_files_target_never_touches_other_files(in_tmp: Path) -> None:
    directory = in_tmp / "out" / "cloudwatch"
    directory.mkdir(parents=True)
    (directory / "notes.json").write_text('{"mine": true}\n')
    run("apply", str(SPECS), "--target", "cloudwatch", "--auto-approve")
    assert (directory / "notes.json").read_text() == '{"mine": true}\n'
    (directory / "search.cloudwatch.json").write_text('{"someone": "else"}\n')
    result = run("plan", str(SPECS), "--target", "cloudwatch", exit_code=1)
    assert "search.cloudwatch.json exists and is not managed by slogen" in result.stderr


def test_files_round_trip_through_the_reader(tmp_path: Path) -> None:
    resources = list(example_resources().values())
    texts = cloudwatch_files.files_for(resources)
    back = []
    for name, text in texts.items():
        back.extend(cloudwatch_files.resources_from(json.loads(text), tmp_path / name, "files:x"))
    assert sorted((r.key, r.kind, r.depends_on) for r in back) == sorted(
        (r.key, r.kind, r.depends_on) for r in resources
    )
    assert {r.key: r.body for r in back} == {r.key: r.body for r in resources}
