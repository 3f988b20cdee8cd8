"""CloudWatch alarms of a region whose last SLO left the specs are deleted (issue 13, case 6).

The regions marker (src/slogen/backends/cloudwatch/marker.py) records every region slogen wrote
a project's alarms in, on a disabled alarm ``slogen-regions/<project>`` in the home region. Here
the AWS default region is eu-west-1 (the home region: no ``regions`` set), and the example's
search service is the only SLO in us-east-1. Moto on 127.0.0.1, fixtures of
tests/test_cloudwatch_api.py.
"""

from __future__ import annotations

import pytest

from slogen.backends.cloudwatch import marker
from tests.test_cloudwatch_api import ALARMS, Env, aws_env, counts, env, server

__all__ = ["aws_env", "env", "server"]  # fixtures, used by name
MARKER = marker.marker_name("specs")  # the project's name: its spec directory's


@pytest.fixture
def home(env: Env, monkeypatch: pytest.MonkeyPatch) -> Env:
    """The environment with the AWS default region eu-west-1 and no ``regions`` setting."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    return env


def recorded(env: Env) -> str:
    """The regions tag of the project's marker in eu-west-1."""
    return env.tags(MARKER)[marker.REGIONS_TAG]


def test_the_last_slo_of_a_region_leaving_deletes_its_alarms(home: Env) -> None:
    home.apply()
    assert len(home.alarms("us-east-1")) == ALARMS["us-east-1"]
    assert recorded(home) == "eu-west-1 us-east-1"  # AWS tag values take no comma
    marker_alarm = home.alarms(markers=True)[MARKER]
    assert marker_alarm["ActionsEnabled"] is False and marker_alarm["AlarmActions"] == []
    assert home.alarms("us-east-1", markers=True).keys() == home.alarms("us-east-1").keys()
    (home.specs / "search.yaml").unlink()
    plan = home.plan()
    # + the service's dashboard (global: always read)
    assert counts(plan) == f"Plan: 0 to add, 0 to change, {ALARMS['us-east-1'] + 1} to destroy."
    assert "also read us-east-1: slogen wrote this project's alarms there before" in plan.output
    assert "slogen-regions" not in plan.stdout.split("cloudwatch (api):", 1)[1].split("Plan:")[0]
    home.apply()
    assert home.alarms("us-east-1") == {}
    assert len(home.alarms()) == ALARMS["eu-west-1"]
    assert recorded(home) == "eu-west-1"  # us-east-1 holds no alarm of ours any more
    again = home.plan()
    assert "No changes." in again.stdout
    assert "also read" not in again.output


def test_a_marker_of_another_project_is_ignored(home: Env) -> None:
    home.apply()
    (home.specs / "search.yaml").unlink()
    # the marker carries another project's tag: its regions are not this project's
    home.client().untag_resource(
        ResourceARN=home.alarms(markers=True)[MARKER]["AlarmArn"], TagKeys=["slogen-project"]
    )
    home.client().tag_resource(
        ResourceARN=home.alarms(markers=True)[MARKER]["AlarmArn"],
        Tags=[{"Key": "slogen-project", "Value": "other"}],
    )
    plan = home.plan()
    assert counts(plan) == "Plan: 0 to add, 0 to change, 1 to destroy."  # the dashboard only
    assert "  - dashboard search" in plan.stdout
    assert "also read" not in plan.output
    assert len(home.alarms("us-east-1")) == ALARMS["us-east-1"]


def test_a_missing_marker_is_fine_and_written_by_the_next_apply(home: Env) -> None:
    home.apply()
    home.client().delete_alarms(AlarmNames=[MARKER])  # as after an upgrade: no marker yet
    (home.specs / "search.yaml").unlink()
    plan = home.plan()
    # us-east-1 is not known: its alarms stay; the service's dashboard (global) goes
    assert counts(plan) == "Plan: 0 to add, 0 to change, 1 to destroy."
    assert len(home.alarms("us-east-1")) == ALARMS["us-east-1"]
    (home.specs / "checkout.yaml").unlink()
    home.apply()
    assert recorded(home) == "eu-west-1"
    assert "No changes." in home.plan().stdout
