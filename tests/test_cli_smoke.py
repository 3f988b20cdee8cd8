"""End-to-end CLI runs over the example specs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import run
from tests.conftest import SPECS


def test_validate_examples() -> None:
    result = run("validate", str(SPECS))
    assert "Valid: 3 services, 5 SLOs." in result.stdout


def test_build_writes_one_rule_file_per_service(in_tmp: Path) -> None:
    run("build", str(SPECS), "-o", "out")
    names = sorted(p.name for p in (in_tmp / "out" / "prometheus").iterdir())
    assert names == ["billing-worker.rules.yml", "checkout.rules.yml", "search.rules.yml"]


def test_explain_json_has_workbook_numbers() -> None:
    result = run("explain", str(SPECS), "--slo", "checkout/availability", "--format", "json")
    (report,) = json.loads(result.stdout)
    assert [t["burn_rate"] for t in report["tiers"]] == [14.4, 6, 1]
    assert [t["threshold"] for t in report["tiers"]] == [0.0144, 0.006, 0.001]
    assert [t["burn_rate_exact"] for t in report["tiers"]] == ["14.4", "6", "1"]
    assert [t["threshold_exact"] for t in report["tiers"]] == ["0.0144", "0.006", "0.001"]


def test_explain_unknown_slo_is_a_clean_error() -> None:
    result = run("explain", str(SPECS), "--slo", "nope/nope", exit_code=1)
    assert "no SLO matches 'nope/nope'" in result.stderr
    assert "Traceback" not in result.output
