"""The opt-in no-traffic alert (``alerting.no_traffic``): spec, every backend, explain, promtool.

The ratio tiers treat missing data as healthy, so a service that stops receiving requests (or
whose metrics vanish) alerts nowhere; this alert, one per opted-in SLO with the tier id
``no-traffic``, is the answer. Here: the loader's two spellings and its checks, what each
backend renders and what its ``validate`` refuses, ``explain``, a plan/apply round trip on the
files targets, and promtool proving the Prometheus rule fires after the duration when the
total stops (flat counters or vanished series) and stays quiet with traffic.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from slogen.backends import registry
from slogen.errors import SlogenError
from slogen.explain.compute import explain
from slogen.spec.loader import load_project
from slogen.spec.model import NO_TRAFFIC_TIER, SLO, Project
from slogen.validation import validate_project
from tests import promtool as pt
from tests.cli import run

SPEC = """\
service: shop
owner: web
labels: {{env: test}}
slos:
  - name: availability
    objective: 99.9
    window: 30d
    indicator:
      prometheus:
        errors: sum(rate(shop_requests_total{{code=~"5.."}}[{{{{ window }}}}]))
        total: sum(rate(shop_requests_total[{{{{ window }}}}]))
      datadog:
        errors: sum:shop.requests.errors{{env:test}}.as_count()
        total: sum:shop.requests{{env:test}}.as_count()
      cloudwatch:
        region: eu-west-1
        errors: {{namespace: Shop, metric: Errors}}
        total: {{namespace: Shop, metric: Requests}}
    alerting:
      no_traffic: {no_traffic}
      page:
        datadog: ["@pagerduty-shop"]
        cloudwatch: ["arn:aws:sns:eu-west-1:123456789012:shop-page"]
        prometheus: {{route: pager}}
      ticket:
        datadog: ["@slack-shop"]
        cloudwatch: ["arn:aws:sns:eu-west-1:123456789012:shop-ticket"]
"""


def write_spec(directory: Path, no_traffic: str = "15m") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "shop.yaml").write_text(SPEC.format(no_traffic=no_traffic), encoding="utf-8")
    return directory


def project_with(tmp_path: Path, no_traffic: str = "15m") -> Project:
    return load_project([str(write_spec(tmp_path / "specs", no_traffic))])


def the_slo(project: Project) -> SLO:
    return project.services[0].slos[0]


def load_errors(tmp_path: Path, no_traffic: str) -> list[str]:
    with pytest.raises(SlogenError) as caught:
        project_with(tmp_path, no_traffic)
    return [p.render() for p in caught.value.problems.errors]


def rendered(project: Project, backend: str) -> dict[str, dict]:
    return {r.key: r.body for r in registry.get(backend).render(project, None)}


# -- the spec ---------------------------------------------------------------------------------


def test_short_form_takes_the_policys_first_severity(tmp_path: Path) -> None:
    no_traffic = the_slo(project_with(tmp_path, "15m")).alerting.no_traffic
    assert no_traffic is not None
    assert (no_traffic.duration, no_traffic.severity, no_traffic.id) == (900, "page", "no-traffic")
    assert no_traffic.location.line == 20


def test_mapping_form_names_the_severity(tmp_path: Path) -> None:
    no_traffic = the_slo(project_with(tmp_path, "{for: 1h30m, severity: ticket}")).alerting
    assert no_traffic.no_traffic is not None
    assert (no_traffic.no_traffic.duration, no_traffic.no_traffic.severity) == (5400, "ticket")


def test_without_it_there_is_no_no_traffic_alert_anywhere(tmp_path: Path) -> None:
    directory = tmp_path / "specs"
    directory.mkdir()
    spec = SPEC.format(no_traffic="15m").replace("      no_traffic: 15m\n", "")
    (directory / "shop.yaml").write_text(spec, encoding="utf-8")
    project = load_project([str(directory)])
    assert the_slo(project).alerting.no_traffic is None
    for backend in registry.NAMES:
        assert not [k for k in rendered(project, backend) if NO_TRAFFIC_TIER in k], backend


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("90s", "slos[0].alerting.no_traffic: expected a whole number of minutes"),
        ("15 m", "slos[0].alerting.no_traffic: expected a duration such as 5m"),
        ("true", "slos[0].alerting.no_traffic: expected a duration or a mapping"),
        ("{for: 15m, severity: warning}", "policy 'workbook' has no 'warning' severity"),
        ("{for: 15m, severty: page}", "slos[0].alerting.no_traffic.severty: unknown key"),
        ("{severity: page}", "slos[0].alerting.no_traffic.for: missing required key 'for'"),
    ],
)
def test_mistakes_are_located_with_a_hint(tmp_path: Path, value: str, message: str) -> None:
    errors = load_errors(tmp_path, value)
    assert len(errors) == 1 and message in errors[0], errors
    assert "shop.yaml:20:" in errors[0] and "hint:" in errors[0]


# -- what each backend renders ----------------------------------------------------------------


def test_prometheus_alert_in_the_slo_group_after_the_tiers(tmp_path: Path) -> None:
    project = project_with(tmp_path)
    backend = registry.get("prometheus")
    (text,) = backend.files(backend.render(project, None), {}).values()
    (group,) = yaml.safe_load(text)["groups"]
    rule = group["rules"][-1]
    series = 'slogen:sli_total:rate5m{service="shop",slo="availability"}'
    assert any(r.get("record") == "slogen:sli_total:rate5m" for r in group["rules"])
    assert rule["alert"] == "ShopAvailabilityNoTraffic"
    assert rule["expr"] == f"{series} == 0\nor\nabsent({series})"
    assert rule["for"] == "15m"
    assert rule["labels"] == {
        "env": "test",
        "route": "pager",
        "service": "shop",
        "severity": "page",
        "slo": "availability",
        "team": "web",
        "tier": "no-traffic",
    }
    assert "no events counted for 15m" in rule["annotations"]["summary"]


def test_datadog_monitor_on_the_total_notifies_on_zero_and_on_no_data(tmp_path: Path) -> None:
    from slogen.backends.datadog.normalise import normalise_monitor_body

    body = rendered(project_with(tmp_path, "{for: 2h, severity: ticket}"), "datadog")[
        "shop/availability/no-traffic"
    ]
    assert body["type"] == "query alert"
    assert body["query"] == "sum(last_2h):sum:shop.requests{env:test}.as_count() <= 0"
    assert body["options"] == {
        "thresholds": {"critical": 0},
        "on_missing_data": "show_and_notify_no_data",
        "require_full_window": False,
    }
    assert body["priority"] == 3  # ticket
    assert "@slack-shop" in body["message"] and "@pagerduty-shop" not in body["message"]
    assert "tier:no-traffic" in body["tags"] and "severity:ticket" in body["tags"]
    assert normalise_monitor_body(body) == body  # what a live read compares it with


def test_cloudwatch_alarm_on_the_total_breaches_on_missing_data(tmp_path: Path) -> None:
    body = rendered(project_with(tmp_path), "cloudwatch")["shop/availability/no-traffic"]
    assert body["AlarmName"] == "slogen/shop/availability/no-traffic"
    assert body["Region"] == "eu-west-1"
    (metric,) = body["Metrics"]
    assert metric["MetricStat"]["Metric"]["MetricName"] == "Requests"
    assert metric["MetricStat"]["Period"] == 900 and metric["ReturnData"] is True
    assert (body["EvaluationPeriods"], body["DatapointsToAlarm"]) == (1, 1)
    assert body["Threshold"] == 0 and body["ComparisonOperator"] == "LessThanOrEqualToThreshold"
    assert body["TreatMissingData"] == "breaching"
    topic = ["arn:aws:sns:eu-west-1:123456789012:shop-page"]
    assert body["AlarmActions"] == topic and body["OKActions"] == topic
    assert body["Tags"]["tier"] == "no-traffic" and body["Tags"]["severity"] == "page"


# -- what validate refuses --------------------------------------------------------------------


def test_backends_refuse_durations_they_cannot_take(tmp_path: Path) -> None:
    project = project_with(tmp_path, "8d")  # longer than a week
    problems = [p for p in validate_project(project).errors]
    by_backend = {
        name: [p.render() for p in problems if name in p.message.lower()] for name in registry.NAMES
    }
    assert by_backend["prometheus"] == []  # for: takes any duration
    (datadog,) = [p.render() for p in problems if "Datadog metric monitor" in p.message]
    assert "shop.yaml:20:19: error: slos[0].alerting.no_traffic:" in datadog
    (cloudwatch,) = [p.render() for p in problems if "no-traffic alarm" in p.message]
    assert "slos[0].alerting.no_traffic" in cloudwatch and "Period" in cloudwatch
    assert validate_project(project_with(tmp_path / "ok", "1w")).errors == []


def test_cloudwatch_checks_the_rendered_alarm_against_aws_limits(tmp_path: Path) -> None:
    templates = tmp_path / "templates" / "cloudwatch"
    templates.mkdir(parents=True)
    (templates / "no_traffic_description.txt.j2").write_text("x" * 1100, encoding="utf-8")
    project = project_with(tmp_path)
    problems = registry.get("cloudwatch").validate(project, str(tmp_path / "templates"))
    (problem,) = [p for p in problems if p.path == "slos[0].alerting.no_traffic"]
    assert "description is 1100 characters long" in problem.message


# -- explain ----------------------------------------------------------------------------------


def test_explain_lists_the_alert_with_each_backends_form(tmp_path: Path) -> None:
    (report,) = explain(project_with(tmp_path))
    assert [t["tier"] for t in report["tiers"]] == ["page-1h", "page-6h", "ticket-3d"]
    no_traffic = report["no_traffic"]
    assert (no_traffic["tier"], no_traffic["severity"], no_traffic["for"]) == (
        "no-traffic",
        "page",
        "15m",
    )
    assert set(no_traffic["forms"]) == set(registry.NAMES)
    text = run("explain", str(tmp_path / "specs")).stdout
    assert "no-traffic: severity page once the total has counted no events for 15m" in text
    assert "cloudwatch no-traffic: metric alarm" in text


# -- plan and apply on the files targets ------------------------------------------------------


def test_plan_apply_round_trip_on_the_files_targets(in_tmp: Path) -> None:
    specs = write_spec(in_tmp / "specs")
    plan = run("plan", str(specs)).stdout
    for address in (
        "+ alert shop/availability/no-traffic",
        "+ monitor shop/availability/no-traffic",
        "+ metric-alarm shop/availability/no-traffic",
    ):
        assert address in plan, plan
    run("apply", str(specs), "--auto-approve")
    assert "No changes." in run("plan", str(specs)).stdout
    datadog = json.loads((in_tmp / "out/datadog/shop.datadog.json").read_text())
    assert "shop/availability/no-traffic" in json.dumps(datadog)
    # a changed duration is an in-place update of the three resources, nothing else
    write_spec(in_tmp / "specs", "30m")
    again = run("plan", str(specs)).stdout
    assert "Plan: 0 to add, 3 to change, 0 to destroy." in again.replace("\n", " ") or (
        again.count("~ ") == 3
    ), again
    run("apply", str(specs), "--auto-approve")
    assert "No changes." in run("plan", str(specs)).stdout


# -- promtool: the Prometheus rule fires after the duration, and only then --------------------

INTERVAL = 60
STOP = 30 * 60  # traffic stops here
FOR = 15 * 60
BASE = 5 * 60  # the recorded rate's range: the total reads 0 (or nothing) from STOP + BASE


@pytest.fixture(scope="module")
def shop_rules(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict]:
    project = project_with(tmp_path_factory.mktemp("no-traffic"))
    backend = registry.get("prometheus")
    resources = backend.render(project, None)
    alert = next(r.body for r in resources if r.key.endswith("/no-traffic"))
    return backend.files(resources, {}), alert


def _firing(alert: dict) -> pt.Sample:
    labels = {"alertname": alert["alert"], "alertstate": "firing", **alert["labels"]}
    return pt.Sample({"__name__": "ALERTS", **labels}, 1.0)


def _checks(name: str, alert: dict, quiet: list[int], firing: list[int]) -> list[pt.ExprCheck]:
    query = pt.selector("ALERTS", {"alertname": alert["alert"], "alertstate": "firing"})
    return [pt.ExprCheck(f"{name}.quiet.{t}", query, t) for t in quiet] + [
        pt.ExprCheck(f"{name}.firing.{t}", query, t, (_firing(alert),)) for t in firing
    ]


def test_promtool_fires_after_the_duration_and_stays_quiet_with_traffic(
    shop_rules: tuple[dict[str, str], dict],
) -> None:
    promtool = pt.need_promtool(pt.promtool_or_none())
    files, alert = shop_rules
    per_minute = 60
    minutes = STOP // INTERVAL
    ok, failed = 'shop_requests_total{code="200"}', 'shop_requests_total{code="500"}'
    # The earliest the alert may fire: the recorded rate reads 0 (or nothing) once the newest
    # sample in its range is the last one before the stop (Prometheus 3 ranges are left-open,
    # 2.x closed: one interval apart), then ``for`` elapses.
    earliest = STOP + BASE - INTERVAL + FOR
    quiet = [STOP, STOP + FOR, earliest - INTERVAL]
    firing = [earliest + INTERVAL, STOP + 3 * FOR]
    stopped = pt.TestGroup(
        "flat-counters",
        [
            pt.InputSeries(ok, f"0+{per_minute}x{minutes} {per_minute * minutes}+0x120"),
            pt.InputSeries(failed, f"0+0x{minutes + 120}"),
        ],
        _checks("flat-counters", alert, quiet, firing),
    )
    vanished = pt.TestGroup(
        "vanished-series",
        [
            pt.InputSeries(ok, f"0+{per_minute}x{minutes}"),
            pt.InputSeries(failed, f"0+0x{minutes}"),
        ],
        _checks("vanished-series", alert, quiet, firing),
    )
    steady_end = 3 * 3600
    steady = pt.TestGroup(
        "steady-traffic",
        [
            pt.InputSeries(ok, f"0+{per_minute}x{steady_end // INTERVAL}"),
            pt.InputSeries(failed, f"0+0x{steady_end // INTERVAL}"),
        ],
        _checks("steady-traffic", alert, [FOR + INTERVAL, 3600, 2 * 3600, steady_end], []),
    )
    result = pt.run_tests(files, [stopped, vanished, steady], promtool=promtool)
    assert not result.unmatched and not result.timed_out, result.report()
    assert result.ok, result.report()
