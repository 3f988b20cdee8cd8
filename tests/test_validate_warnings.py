"""Warnings: located like errors, printed by every command, fatal only with ``--strict``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run

HEAD = """\
service: shop
slos:
  - name: availability
    objective: 99.9
    window: 30d
    indicator:
"""
SILENT = (
    HEAD
    + """\
      datadog:
        errors: sum:shop.requests.errors{env:prod}.as_count()
        total: sum:shop.requests{env:prod}.as_count()
    alerting:
      page:
        datadog: ["@pagerduty-shop"]
"""
)
EXPERIMENTAL = (
    HEAD
    + """\
      prometheus:
        errors: sum(limitk(3, rate(http_requests_total{code=~"5.."}[{{ window }}])))
        total: sum(rate(http_requests_total[{{ window }}]))
"""
)


@pytest.fixture
def silent(in_tmp: Path) -> Path:
    (in_tmp / "shop.yaml").write_text(SILENT, encoding="utf-8")
    return in_tmp / "shop.yaml"


def test_a_severity_that_notifies_nobody_is_a_located_warning(silent: Path) -> None:
    result = run("validate", "shop.yaml")
    assert (
        "shop.yaml:3:5: warning: slos[0].alerting.ticket.datadog: the ticket alerts of this SLO "
        "in datadog notify nobody" in result.stderr
    )
    assert "hint: add recipients under alerting.ticket.datadog" in result.stderr
    assert "alerting.page" not in result.stderr  # the page tier has a handle
    assert "Valid: 1 service, 1 SLO (1 warning)." in result.stdout


def test_strict_makes_warnings_errors(silent: Path) -> None:
    result = run("validate", "shop.yaml", "--strict", exit_code=1)
    assert "shop.yaml:3:5: error: slos[0].alerting.ticket.datadog" in result.stderr
    assert "Error: 1 error in the specs." in result.stderr


def test_json_lists_warnings_with_their_severity(silent: Path) -> None:
    report = json.loads(run("validate", "shop.yaml", "--format", "json").stdout)
    assert report["valid"] is True
    (problem,) = report["problems"]
    assert problem["severity"] == "warning"
    assert (problem["line"], problem["column"]) == (3, 5)
    strict = json.loads(
        run("validate", "shop.yaml", "--format", "json", "--strict", exit_code=1).stdout
    )
    assert strict["valid"] is False and strict["problems"][0]["severity"] == "error"


def test_github_annotations_carry_warnings(silent: Path) -> None:
    result = run("validate", "shop.yaml", "--format", "github")
    assert result.stdout.startswith("::warning file=shop.yaml,line=3,col=5")
    run("validate", "shop.yaml", "--format", "github", "--strict", exit_code=1)


def test_build_and_plan_print_warnings_and_go_on(silent: Path) -> None:
    build = run("build", "shop.yaml", "-o", "built")
    assert "warning: slos[0].alerting.ticket.datadog" in build.stderr
    assert (Path("built") / "datadog" / "shop.datadog.json").is_file()
    plan = run("plan", "shop.yaml")
    assert "warning: slos[0].alerting.ticket.datadog" in plan.stderr
    assert "Plan: 7 to add" in plan.stdout  # with the Datadog dashboard of the service


def test_experimental_promql_is_a_warning_at_the_query(in_tmp: Path) -> None:
    (in_tmp / "shop.yaml").write_text(EXPERIMENTAL, encoding="utf-8")
    result = run("validate", "shop.yaml")
    assert (
        "shop.yaml:8:17: warning: slos[0].indicator.prometheus.errors: uses experimental PromQL "
        "(limitk)" in result.stderr
    )
    run("validate", "shop.yaml", "--strict", exit_code=1)
