"""CloudWatch dashboards (one per service) through plan and apply, against moto.

moto's dashboards are patched to be global and checked as AWS checks them
(tests/fakes/cloudwatch_dashboards.py); fixtures of tests/test_cloudwatch_api.py (no
``regions`` and no default region: the home region is us-east-1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from slogen.backends.cloudwatch import BACKEND, dashboard
from slogen.spec.loader import load_project
from tests.cli import run
from tests.conftest import SPECS
from tests.test_cloudwatch_api import Env, aws_env, counts, env, server

__all__ = ["aws_env", "env", "server"]  # fixtures, used by name
HOME = "us-east-1"
NAMES = ["slogen_specs_billing-worker", "slogen_specs_checkout", "slogen_specs_search"]


def live(env: Env, region: str = HOME) -> dict[str, dict[str, Any]]:
    """Every dashboard's body by name (asked in ``region``: dashboards are global)."""
    client = env.client(region)
    names = [e["DashboardName"] for e in client.list_dashboards()["DashboardEntries"]]
    return {n: json.loads(client.get_dashboard(DashboardName=n)["DashboardBody"]) for n in names}


def widgets(body: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [w for w in body["widgets"] if w["type"] == kind]


def test_body_shows_the_alarms_math_and_state_grouped_by_category() -> None:
    project = load_project([str(SPECS)])
    resources = {f"{r.kind} {r.key}": r for r in BACKEND.render(project, None)}
    board = resources["dashboard checkout"].body
    assert board["DashboardName"] == "slogen_specs_checkout"
    body = board["DashboardBody"]
    assert dashboard.ownership("slogen_specs_checkout", body, "specs") == "checkout"
    assert dashboard.ownership("slogen_specs_search", body, "specs") is None  # name and key
    (status,) = widgets(body, "alarm")
    assert status["properties"]["alarms"][0] == (
        "arn:${AWS::Partition}:cloudwatch:eu-west-1:${AWS::AccountId}:alarm:"
        "slogen/checkout/availability/page-1h"
    )
    headings = [w["properties"]["markdown"] for w in widgets(body, "text")[1:]]
    assert headings == ["### Availability SLOs", "### Latency SLOs"]
    # the metric widget of a tier holds the alarms' own metric math, window by window
    first = widgets(body, "metric")[0]["properties"]
    alarm = resources["metric-alarm checkout/availability/page-1h/long"].body
    ratio = next(m for m in alarm["Metrics"] if m["ReturnData"])
    shown = [m[0] for m in first["metrics"] if isinstance(m[0], dict) and m[0]["id"] == "le1"]
    assert shown == [
        {
            "expression": ratio["Expression"].replace("m2", "lm2").replace("m1", "lm1"),
            "id": "le1",
            "label": "error ratio over 1h",
            "visible": True,
        }
    ]
    periods = {m[-1]["period"] for m in first["metrics"] if isinstance(m[0], str)}
    assert periods == {3600, 300}  # the long and the short window
    assert first["annotations"]["horizontal"][0]["value"] == alarm["Threshold"]
    assert body["periodOverride"] == "inherit"


def test_a_name_aws_would_refuse_is_a_validate_error(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    long_name = "s" + "-x" * 130
    text = (SPECS / "search.yaml").read_text().replace("service: search", f"service: {long_name}")
    (specs / "search.yaml").write_text(text)
    (specs / "slogen.yaml").write_text((SPECS / "slogen.yaml").read_text())
    problems = BACKEND.validate(load_project([str(specs)]))
    (problem,) = [p for p in problems if "dashboard" in p.message]
    assert problem.path == "service" and "AWS allows at most 255" in problem.message
    assert problem.location.file.endswith("search.yaml")


def test_apply_creates_global_dashboards_with_real_arns_then_no_changes(env: Env) -> None:
    plan = env.plan()
    assert "  + dashboard checkout" in plan.stdout
    env.apply()
    boards = live(env)
    assert sorted(boards) == NAMES
    assert live(env, "eu-west-1").keys() == boards.keys()  # global, whichever region asks
    alarms = widgets(boards["slogen_specs_checkout"], "alarm")[0]["properties"]["alarms"]
    assert alarms[0] == (
        "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:slogen/checkout/availability/page-1h"
    )
    assert "No changes." in env.plan("--detailed-exitcode").stdout


def test_spec_changes_update_and_service_removal_deletes(env: Env) -> None:
    env.apply()
    spec = env.specs / "checkout.yaml"
    spec.write_text(spec.read_text().split("\n  - name: latency")[0] + "\n")
    plan = env.plan()
    assert "  ~ dashboard checkout" in plan.stdout
    env.apply()
    body = live(env)["slogen_specs_checkout"]
    assert [w["properties"]["markdown"] for w in widgets(body, "text")[1:]] == [
        "### Availability SLOs"
    ]
    assert len(widgets(body, "alarm")[0]["properties"]["alarms"]) == 3
    (env.specs / "billing-worker.yaml").unlink()
    plan = env.plan()
    assert "  - dashboard billing-worker" in plan.stdout
    env.apply()
    assert sorted(live(env)) == ["slogen_specs_checkout", "slogen_specs_search"]
    assert "No changes." in env.plan().stdout


def test_foreign_dashboards_are_never_touched(env: Env) -> None:
    client = env.client(HOME)
    empty = json.dumps({"widgets": []})
    client.put_dashboard(DashboardName="slogen_specs_checkout", DashboardBody=empty)
    client.put_dashboard(DashboardName="team-overview", DashboardBody=empty)
    other = json.dumps(
        {
            "widgets": [
                {
                    "type": "text",
                    "properties": {"markdown": dashboard.marker_line("checkout", "elsewhere")},
                }
            ]
        }
    )
    client.put_dashboard(DashboardName="slogen_elsewhere_checkout", DashboardBody=other)
    result = env.plan(exit_code=1)
    assert "the dashboard slogen_specs_checkout (read in us-east-1) exists but has no slogen" in (
        result.stderr
    )
    client.delete_dashboards(DashboardNames=["slogen_specs_checkout"])
    env.apply()
    (env.specs / "checkout.yaml").unlink()
    env.apply()
    boards = live(env)
    assert boards["team-overview"] == {"widgets": []}
    assert "slogen_elsewhere_checkout" in boards and "slogen_specs_checkout" not in boards


def test_a_hand_edit_makes_a_saved_plan_stale_and_apply_reverts_it(env: Env, in_tmp: Path) -> None:
    env.apply()
    spec = env.specs / "search.yaml"
    spec.write_text(spec.read_text().replace("objective: 99.5", "objective: 99.0"))
    env.plan("-o", "plan.json")
    client = env.client(HOME)
    body = live(env)["slogen_specs_checkout"]
    body["periodOverride"] = "auto"
    client.put_dashboard(DashboardName="slogen_specs_checkout", DashboardBody=json.dumps(body))
    assert "the plan is stale" in run("apply", "plan.json", exit_code=1).stderr
    plan = env.plan()
    assert "  ~ dashboard checkout" in plan.stdout and '"auto"' in plan.stdout
    env.apply()
    assert live(env)["slogen_specs_checkout"]["periodOverride"] == "inherit"
    assert counts(env.plan()) == "No changes."


def test_files_target_writes_the_dashboard_with_its_alarms(in_tmp: Path) -> None:
    run("build", str(SPECS), "-o", "built")
    doc = json.loads((in_tmp / "built/cloudwatch/checkout.cloudwatch.json").read_text())
    (board,) = doc["dashboards"]
    assert board["request"]["DashboardName"] == "slogen_specs_checkout"
    assert board["request"]["DashboardBody"]["periodOverride"] == "inherit"


def _many_slos(count: int) -> str:
    """A service with ``count`` CloudWatch SLOs over three categories (3 tiers each)."""
    slos = []
    for i in range(count):
        category = ("availability", "latency", "freshness")[i % 3]
        slos.append(
            f"""  - name: slo-{i}
    category: {category}
    objective: 99.9
    window: 30d
    indicator:
      cloudwatch:
        region: eu-west-1
        errors: {{namespace: Shop, metric: Errors{i}}}
        total: {{namespace: Shop, metric: Requests{i}}}
"""
        )
    return "service: shop\nslos:\n" + "".join(slos)


def test_widget_count_is_what_the_body_holds(tmp_path: Path) -> None:
    """validate counts a dashboard's widgets (AWS's limit) without making the body."""
    projects = [load_project([str(SPECS)])]
    for count in (1, 33, 34, 70):  # 99, 102 and 210 tiers: one, two and three alarm widgets
        spec = tmp_path / str(count) / "shop.yaml"
        spec.parent.mkdir()
        spec.write_text(_many_slos(count))
        projects.append(load_project([str(spec.parent)]))
    seen = set()
    for project in projects:
        for service, slos in dashboard.services_of(project):
            body = dashboard.dashboard_body(service, slos, project.project)
            assert dashboard.widget_count(slos) == len(body["widgets"]), service.name
            seen.add(len(widgets(body, "alarm")))
    assert seen >= {1, 2, 3}
