"""The example settings for deploying from CI (examples/deploy/slogen.yaml).

They must stay a drop-in for the offline specs/slogen.yaml (same policies, so the plan in a pull
request is about the same alerts `slogen build` shows), validate without any secret, and fail
clearly, naming the variable, when a target is used without its environment.
"""

from __future__ import annotations

import pytest

from slogen.spec.loader import load_project
from tests.cli import run
from tests.conftest import ROOT, SPECS

DEPLOY = ROOT / "examples" / "deploy" / "slogen.yaml"
VARIABLES = ("MIMIR_URL", "MIMIR_TENANT", "MIMIR_USER", "MIMIR_PASSWORD")


def test_same_policies_as_the_offline_settings() -> None:
    offline = load_project([str(SPECS)])
    deploy = load_project([str(SPECS)], config=str(DEPLOY))
    assert deploy.policies == offline.policies
    assert deploy.default_policy == offline.default_policy
    assert {t.type for t in deploy.targets} == {"ruler", "api"}


def test_validates_and_builds_without_secrets(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    run("validate", str(SPECS), "--config", str(DEPLOY), "--strict")
    run("build", str(SPECS), "--config", str(DEPLOY), "-o", str(tmp_path / "out"))
    assert list((tmp_path / "out" / "prometheus").glob("*.rules.yml"))
    fragment = (tmp_path / "out" / "alertmanager" / "alertmanager.yml").read_text()
    assert "receiver: payments-pager" in fragment


def test_plan_without_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    result = run("plan", str(SPECS), "--config", str(DEPLOY), "--target", "prometheus", exit_code=1)
    assert "MIMIR_URL is not set" in result.output
    assert "targets.prometheus.url" in result.output
    assert "Traceback" not in result.output
