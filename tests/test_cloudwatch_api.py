"""The CloudWatch ``api`` target end to end: the CLI, real boto3 clients, moto on 127.0.0.1.

One moto server (tests/fakes/cloudwatch.py: composite alarms, AWS's validations and paging,
the tagging API, throttling) serves the whole module; every test starts from an empty account
(``reset()``). The example specs name eu-west-1 (checkout, billing-worker: 24 alarms) and
us-east-1 (search: 18 alarms). The client-side pacing is switched off and botocore's
throttling backoff scaled down, so storms of throttling stay fast; pacing has its own test.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.retries.bucket import TokenBucket
from botocore.retries.standard import ExponentialBackoff

import slogen.backends.cloudwatch.aws as cloudwatch_aws
import slogen.backends.cloudwatch.limits as cloudwatch_limits
import slogen.backends.cloudwatch.read as cloudwatch_read
from slogen.backends.cloudwatch import marker, names
from slogen.plan.executor import RateLimiter
from slogen.plan.progress import Progress
from tests.cli import Result, run
from tests.conftest import SPECS, example_policies
from tests.fakes.cloudwatch import MotoCloudWatch

SECRET = "cw-secret-0123456789abcdefSECRET"
ALARMS = {"eu-west-1": 25, "us-east-1": 18}  # checkout/availability has a no-traffic alarm
DASHBOARDS = 3  # one per service (global: kept in the home region's API)
CREATES = sum(ALARMS.values()) + DASHBOARDS
POLICIES = example_policies()


@pytest.fixture(scope="module")
def server() -> Iterator[MotoCloudWatch]:
    # Strict AWS reading: a composite's children cannot go in the same DeleteAlarms call.
    with MotoCloudWatch(allow_parent_and_children_in_one_delete=False) as fake:
        yield fake


@pytest.fixture
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and nothing else from this machine's AWS setup."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = tmp_path / "aws-empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


@dataclass
class Env:
    fake: MotoCloudWatch
    specs: Path

    def configure(self, regions: list[str] | None = None, url: str | None = None) -> None:
        target = f'type: api, endpoint_url: "{url or self.fake.url}"'
        if regions:
            target += f", regions: [{', '.join(regions)}]"
        (self.specs / "slogen.yaml").write_text(
            POLICIES + f"targets:\n  cloudwatch: {{{target}}}\n", encoding="utf-8"
        )

    def plan(self, *args: str, exit_code: int = 0) -> Result:
        result = run("plan", str(self.specs), "--target", "cloudwatch", *args, exit_code=exit_code)
        assert SECRET not in result.output
        return result

    def apply(self, *args: str, exit_code: int = 0) -> Result:
        result = run(  # --no-lock: the apply's own requests; the lock's are tests/test_locks*
            "apply",
            str(self.specs),
            "--target",
            "cloudwatch",
            "--auto-approve",
            "--no-lock",
            *args,
            exit_code=exit_code,
        )
        assert SECRET not in result.output
        return result

    def client(self, region: str = "eu-west-1", service: str = "cloudwatch") -> Any:
        return self.fake.client(service, region=region)

    def alarms(self, region: str = "eu-west-1", markers: bool = False) -> dict[str, dict[str, Any]]:
        """Every alarm of the region by name (both types, all pages); the regions marker
        (``slogen-regions/...``, see tests/test_cloudwatch_regions.py) only with ``markers``."""
        found: dict[str, dict[str, Any]] = {}
        paginator = self.client(region).get_paginator("describe_alarms")
        for page in paginator.paginate(AlarmTypes=["CompositeAlarm", "MetricAlarm"]):
            for alarm in page["MetricAlarms"] + page["CompositeAlarms"]:
                if markers or not alarm["AlarmName"].startswith(marker.MARKER_PREFIX):
                    found[alarm["AlarmName"]] = alarm
        return found

    def put_marker(self, regions: str, project: str = "specs", home: str = "us-east-1") -> None:
        """A regions marker as slogen writes it (``regions``: its tag value)."""
        self.client(home).put_metric_alarm(
            AlarmName=marker.marker_name(project),
            Namespace="slogen",
            MetricName="regions_marker",
            Statistic="Maximum",
            Period=3600,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanThreshold",
            ActionsEnabled=False,
            Tags=[
                {"Key": marker.REGIONS_TAG, "Value": regions},
                {"Key": "slogen-project", "Value": project},
            ],
        )

    def tags(self, name: str, region: str = "eu-west-1") -> dict[str, str]:
        arn = f"arn:aws:cloudwatch:{region}:123456789012:alarm:{name}"
        answer = self.client(region).list_tags_for_resource(ResourceARN=arn)
        return {t["Key"]: t["Value"] for t in answer["Tags"]}


@pytest.fixture
def env(
    server: MotoCloudWatch,
    aws_env: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_tmp: Path,
) -> Env:
    server.reset()
    monkeypatch.setattr(cloudwatch_limits, "TPS", {})
    # Short settings: botocore's backoff after a throttle starts at up to 1 s, and adaptive
    # mode's rate limiter may drop a fresh client to 0.5 requests/s after one; both are
    # scaled up here so that the tests stay fast (the logic stays botocore's).
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.02)
    monkeypatch.setattr(TokenBucket.__init__, "__defaults__", (50.0,))
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    environment = Env(server, specs)
    environment.configure()
    return environment


def counts(result: Result) -> str:
    return result.stdout.strip().splitlines()[-1]


# -- create, converge, drift ----------------------------------------------------------------------


def test_create_from_empty_then_nothing_to_do(env: Env) -> None:
    first = env.plan()
    assert counts(first) == f"Plan: {CREATES} to add, 0 to change, 0 to destroy."
    assert "reading alarms in eu-west-1, us-east-1 only" in first.output
    env.fake.calls.clear()
    applied = env.apply()
    assert f"Apply complete: {CREATES} changes made." in applied.output
    # each dashboard's name checked free, then written; the account id asked once for ARNs
    assert env.fake.calls["GetDashboard"] == DASHBOARDS
    assert env.fake.calls["PutDashboard"] == DASHBOARDS
    assert env.fake.calls["GetCallerIdentity"] == 1
    # + the regions marker (slogen-regions/<project> in the home region), written once
    assert env.fake.calls["PutMetricAlarm"] == 29 + 1 and env.fake.calls["PutCompositeAlarm"] == 14
    # Names are checked to be free first: one DescribeAlarms per region and kind; + the plan's
    # read, one page per region; + the regions marker, read by the plan and twice by the
    # apply (before its first write, and again before pruning it).
    assert env.fake.calls["DescribeAlarms"] == 4 + 2 + 3
    for region, number in ALARMS.items():
        assert len(env.alarms(region)) == number
    composite = env.alarms()["slogen/checkout/availability/page-1h"]
    assert composite["AlarmRule"] == (
        'ALARM("slogen/checkout/availability/page-1h/long") AND '
        'ALARM("slogen/checkout/availability/page-1h/short")'
    )
    assert composite["AlarmActions"] == ["arn:aws:sns:eu-west-1:123456789012:checkout-page"]
    assert composite["OKActions"] == composite["AlarmActions"]
    long_ = env.alarms()["slogen/checkout/availability/page-1h/long"]
    # the example sums two metrics per side: 4 metrics, 2 sums, the returned ratio
    assert [m["ReturnData"] for m in long_["Metrics"]] == [False] * 6 + [True]
    assert long_["AlarmActions"] == []
    assert env.tags("slogen/search/availability/page-1h", "us-east-1")["slogen-key"] == (
        "search/availability/page-1h"
    )

    env.fake.calls.clear()
    again = env.plan("--detailed-exitcode")
    assert "No changes." in again.stdout
    # The floor: one DescribeAlarms page and one GetResources page per region, nothing per
    # alarm; and the regions marker in the home region (us-east-1 here: no default region);
    # the dashboards there: one list page, and one GetDashboard each (the list has no bodies).
    assert dict(env.fake.calls) == {
        "DescribeAlarms": 2 + 1,
        "GetResources": 2,
        "ListTagsForResource": 1,
        "ListDashboards": 1,
        "GetDashboard": DASHBOARDS,
    }


def test_drift_shows_as_an_update_and_is_repaired(env: Env) -> None:
    env.apply()
    client = env.client()
    name = "slogen/checkout/availability/page-1h/long"
    alarm = env.alarms()[name]
    keep = (
        "AlarmName",
        "AlarmDescription",
        "Metrics",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "ComparisonOperator",
        "TreatMissingData",
    )
    client.put_metric_alarm(**{k: alarm[k] for k in keep}, Threshold=0.02)
    plan = env.plan()
    assert "~ metric-alarm checkout/availability/page-1h/long" in plan.stdout
    assert "Threshold: 0.02 → 0.0144" in plan.stdout
    assert counts(plan) == "Plan: 0 to add, 1 to change, 0 to destroy."
    env.fake.calls.clear()
    env.apply()
    assert env.fake.calls["PutMetricAlarm"] == 1 and env.fake.calls["TagResource"] == 0
    assert env.alarms()[name]["Threshold"] == 0.0144
    assert "No changes." in env.plan().stdout


def test_tag_drift_goes_through_the_tagging_calls(env: Env) -> None:
    env.apply()
    name = "slogen/checkout/latency/page-6h"
    arn = env.alarms()[name]["AlarmArn"]
    env.client().tag_resource(
        ResourceARN=arn, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "extra", "Value": "x"}]
    )
    plan = env.plan()
    assert 'Tags.env: "dev" → "prod"' in plan.stdout
    assert '      - Tags.extra: "x"\n' in plan.stdout  # a tag removed
    env.fake.calls.clear()
    env.apply()
    # PutCompositeAlarm ignores Tags on an existing alarm: only the tagging calls are made.
    assert env.fake.calls["PutCompositeAlarm"] == 0
    assert env.fake.calls["TagResource"] == 1 and env.fake.calls["UntagResource"] == 1
    assert env.tags(name)["env"] == "prod" and "extra" not in env.tags(name)
    assert "No changes." in env.plan().stdout


# -- ownership and deletion -----------------------------------------------------------------------


def test_only_owned_alarms_are_deleted(env: Env) -> None:
    env.apply()
    client = env.client()
    plain = {
        "MetricName": "Errors",
        "Namespace": "Other",
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    client.put_metric_alarm(AlarmName="slogen/other", **plain)  # no tags
    client.put_metric_alarm(
        AlarmName="slogen/checkout/latency/page-1h/extra",
        Tags=[{"Key": "managed-by", "Value": "terraform"}],
        **plain,
    )
    client.put_metric_alarm(  # slogen's tags, but the key does not match the name
        AlarmName="slogen/checkout/latency/copy",
        Tags=[
            {"Key": "managed-by", "Value": "slogen"},
            {"Key": "slogen-key", "Value": "checkout/latency/page-1h/long"},
        ],
        **plain,
    )
    client.put_metric_alarm(AlarmName="slogen-checkout/latency", **plain)
    checkout = (env.specs / "checkout.yaml").read_text()
    (env.specs / "checkout.yaml").write_text(checkout.split("\n  - name: latency")[0] + "\n")

    plan = env.plan()
    # the SLO's alarms go, and the service's dashboard loses its widgets
    assert counts(plan) == "Plan: 0 to add, 1 to change, 9 to destroy."
    assert "3 alarm(s) named slogen/... in eu-west-1 are not managed by slogen" in plan.output
    env.fake.calls.clear()
    applied = env.apply()
    assert "Apply complete: 10 changes made." in applied.output
    # Composites one per call (AWS's rule), then the six window alarms in one batch.
    assert env.fake.calls["DeleteAlarms"] == 3 + 1
    left = env.alarms()
    gone = [
        f"slogen/checkout/latency/{tier}{role}"
        for tier in ("page-1h", "page-6h", "ticket-3d")
        for role in ("", "/long", "/short")
    ]
    assert not set(gone) & set(left)
    for name in (
        "slogen/other",
        "slogen/checkout/latency/page-1h/extra",
        "slogen/checkout/latency/copy",
        "slogen-checkout/latency",
    ):
        assert name in left
    assert len(left) == ALARMS["eu-west-1"] - 9 + 4
    assert "No changes." in env.plan().stdout


def test_an_unowned_alarm_with_a_wanted_name_stops_the_plan(env: Env) -> None:
    name = "slogen/checkout/availability/page-1h/short"
    env.client().put_metric_alarm(
        AlarmName=name,
        MetricName="Errors",
        Namespace="Other",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=7.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    result = env.plan(exit_code=1)
    assert f"the alarm {name} in eu-west-1 exists but is not managed by slogen" in result.stderr
    assert "Traceback" not in result.output
    env.apply(exit_code=1)
    assert env.alarms()[name]["Threshold"] == 7.0
    assert len(env.alarms()) == 1 and env.alarms("us-east-1") == {}


def test_a_region_no_spec_names_is_cleaned_up_only_when_listed(env: Env) -> None:
    env.apply()
    (env.specs / "search.yaml").unlink()
    # no regions marker (alarms written by a slogen before it): us-east-1 is not read
    # (with it, tests/test_cloudwatch_regions.py)
    env.client("us-east-1").delete_alarms(AlarmNames=[marker.marker_name("specs")])
    plan = env.plan()
    # the service's dashboard is global (always read): it goes; its alarms are not seen
    assert counts(plan) == "Plan: 0 to add, 0 to change, 1 to destroy."
    assert "  - dashboard search" in plan.stdout
    assert "reading alarms in eu-west-1 only" in plan.output
    env.configure(regions=["eu-west-1", "us-east-1"])
    plan = env.plan()
    assert counts(plan) == "Plan: 0 to add, 0 to change, 19 to destroy."
    assert "reading alarms" not in plan.output
    env.apply()
    assert env.alarms("us-east-1") == {}
    assert len(env.alarms("eu-west-1")) == ALARMS["eu-west-1"]


def test_moving_an_slo_to_another_region_replaces_its_alarms(env: Env) -> None:
    env.configure(regions=["eu-west-1", "us-east-1"])
    env.apply()
    search = (env.specs / "search.yaml").read_text()
    (env.specs / "search.yaml").write_text(search.replace("us-east-1", "eu-west-1"))
    plan = env.plan()
    # the dashboard stays and shows the alarms in their new region
    assert counts(plan) == "Plan: 18 to add, 1 to change, 18 to destroy."
    assert "-/+ metric-alarm search/availability/page-1h/long" in plan.stdout
    env.apply()
    assert env.alarms("us-east-1") == {}
    assert len(env.alarms("eu-west-1")) == 43
    assert "No changes." in env.plan().stdout


# -- throttling, failures, interruptions ----------------------------------------------------------


def test_throttling_is_retried_until_it_converges(env: Env) -> None:
    env.fake.inject_throttling(2, ["DescribeAlarms", "GetResources"])
    assert counts(env.plan()) == f"Plan: {CREATES} to add, 0 to change, 0 to destroy."
    env.fake.calls.clear()
    env.fake.inject_throttling(5, ["PutMetricAlarm", "PutCompositeAlarm"])
    applied = env.apply()
    assert f"Apply complete: {CREATES} changes made." in applied.output
    puts = env.fake.calls["PutMetricAlarm"] + env.fake.calls["PutCompositeAlarm"]
    assert puts == 43 + 5 + 1  # + the regions marker
    assert "No changes." in env.plan().stdout


def test_a_failure_skips_its_dependants_and_the_next_plan_shows_the_rest(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    (env.specs / "search.yaml").unlink()  # one region: one worker, so the order is fixed
    monkeypatch.setattr(cloudwatch_aws, "WORKERS", 1)
    monkeypatch.setattr(cloudwatch_aws, "WRITE_RETRIES", 1)
    env.put_marker("eu-west-1")  # recorded already: the apply's first Put is an alarm's
    env.fake.inject_throttling(2, ["PutMetricAlarm"])  # both attempts of the first call
    result = env.apply(exit_code=1)
    # the two dashboards do not depend on the alarms: they are written all the same
    assert "Apply incomplete: 25 done, 1 failed, 1 not attempted." in result.stderr
    assert "PutMetricAlarm in eu-west-1: Throttling: Rate exceeded" in result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("  failed")]
    skipped = [line for line in result.stderr.splitlines() if "not attempted  +" in line]
    (failed_key,) = [line.split("metric-alarm.")[1].split(":")[0] for line in failed]
    (skipped_key,) = [line.split("composite-alarm.")[1] for line in skipped]
    assert failed_key.rsplit("/", 1)[0] == skipped_key
    plan = env.plan()
    assert counts(plan) == "Plan: 2 to add, 0 to change, 0 to destroy."
    assert f"+ metric-alarm {failed_key}" in plan.stdout
    env.apply()
    assert "No changes." in env.plan().stdout


def test_an_interrupted_apply_is_finished_by_the_next_one(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Progress.step

    def interrupt_at_ten(self: Progress, label: str) -> None:
        original(self, label)
        if self.done == 10:
            raise KeyboardInterrupt

    monkeypatch.setattr(Progress, "step", interrupt_at_ten)
    result = env.apply(exit_code=130)
    assert "Interrupted." in result.stderr
    monkeypatch.setattr(Progress, "step", original)
    left = counts(env.plan())
    added = int(left.split()[1])
    assert 0 < added <= 33, left
    assert left.endswith("0 to change, 0 to destroy.")
    env.apply()
    assert "No changes." in env.plan().stdout
    assert len(env.alarms()) + len(env.alarms("us-east-1")) == 43


# -- saved plans ----------------------------------------------------------------------------------


def test_a_saved_plan_applies_and_a_stale_one_is_refused(env: Env, in_tmp: Path) -> None:
    env.configure(regions=["eu-west-1", "us-east-1"])  # saved with the plan, read back as a list
    env.plan("-o", "plan.json")
    result = run("apply", "plan.json")
    assert f"Apply complete: {CREATES} changes made." in result.output
    checkout = (env.specs / "checkout.yaml").read_text()
    (env.specs / "checkout.yaml").write_text(checkout.replace("objective: 99.9", "objective: 99.5"))
    env.plan("-o", "plan2.json")
    env.client("us-east-1").delete_alarms(AlarmNames=["slogen/search/availability/page-1h"])
    stale = run("apply", "plan2.json", exit_code=1)
    assert "the plan is stale" in stale.stderr
    assert "objective: 99.5" in (env.specs / "checkout.yaml").read_text()
    env.plan("-o", "plan3.json")
    run("apply", "plan3.json")
    assert "No changes." in env.plan().stdout


def test_alarms_the_tagging_api_has_not_listed_yet_are_checked_one_by_one(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.apply()
    listing = cloudwatch_read.owned_tags

    def lagging(aws: Any, region: str) -> dict[str, dict[str, str]]:
        found = listing(aws, region)
        return {arn: tags for arn, tags in found.items() if "/checkout/latency/" not in arn}

    monkeypatch.setattr(cloudwatch_read, "owned_tags", lagging)
    env.fake.calls.clear()
    plan = env.plan()
    assert "No changes." in plan.stdout
    assert "the tagging API did not list 9 of slogen's alarms in eu-west-1 yet" in plan.output
    assert env.fake.calls["ListTagsForResource"] == 9 + 1  # + the regions marker's


# -- credentials and endpoints --------------------------------------------------------------------


def test_missing_credentials_is_a_clear_error(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = env.plan(exit_code=1)
    assert "Error: AWS credentials are missing: set AWS_ACCESS_KEY_ID and " in result.stderr
    assert "AWS_PROFILE" in result.stderr
    assert "Traceback" not in result.output
    assert env.fake.calls == {}
    result = env.apply(exit_code=1)
    assert "AWS credentials are missing" in result.stderr


def test_an_unknown_profile_is_a_clear_error(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_PROFILE", "nowhere")
    result = env.plan(exit_code=1)
    assert "cannot load AWS credentials: The config profile (nowhere) could not be found" in (
        result.stderr
    )


def test_an_unreachable_endpoint_is_a_clear_error(env: Env) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env.configure(url=f"http://127.0.0.1:{port}")
    result = env.plan(exit_code=1)
    assert f"cannot reach CloudWatch at http://127.0.0.1:{port}" in result.stderr
    assert "hint: check targets.cloudwatch.endpoint_url" in result.stderr
    assert "Traceback" not in result.output


def test_no_region_to_read_needs_no_credentials(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("checkout.yaml", "search.yaml", "billing-worker.yaml"):
        (env.specs / name).unlink()
    (env.specs / "other.yaml").write_text(
        "service: other\nslos:\n  - name: a\n    objective: 99\n    window: 30d\n"
        "    indicator:\n      datadog:\n        errors: sum:e{*}.as_count()\n"
        "        total: sum:t{*}.as_count()\n"
    )
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    result = env.plan()
    assert "No changes." in result.stdout
    assert "no SLO has a cloudwatch indicator" in result.output


# -- pacing ---------------------------------------------------------------------------------------


def test_the_rate_limiter_spaces_calls_per_region_and_operation() -> None:
    limiter = RateLimiter({"PutMetricAlarm": 20.0})
    stamps: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        limiter.wait("eu-west-1", "PutMetricAlarm")
        with lock:
            stamps.append(time.monotonic())

    threads = [threading.Thread(target=call) for _ in range(6)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    assert stamps[-1] - start >= 5 / 20 - 0.01
    assert all(b - a >= 1 / 20 - 0.01 for a, b in itertools.pairwise(stamps))
    other = time.monotonic()
    limiter.wait("us-east-1", "PutMetricAlarm")  # another region has its own quota
    limiter.wait("eu-west-1", "DescribeAlarms")  # and an unpaced operation does not wait
    assert time.monotonic() - other < 0.05


def test_a_key_left_in_two_regions_keeps_the_spec_region_and_loses_the_other() -> None:
    """An interrupted move leaves one tier in two regions: the copy outside the spec's region
    gets its own key, so the plan deletes it instead of hiding it behind the other."""
    key = "shop/availability/page-1h"

    def alarms(region: str) -> cloudwatch_read.RegionAlarms:
        state = cloudwatch_read.RegionAlarms(region)
        for name, kind, extra in (
            (f"{key}/long", names.METRIC_ALARM, {}),
            (key, names.COMPOSITE_ALARM, {"AlarmRule": f'ALARM("slogen/{key}/long")'}),
        ):
            arn = f"arn:aws:cloudwatch:{region}:1:alarm:slogen/{name}"
            state.alarms.append((kind, {"AlarmName": f"slogen/{name}", "AlarmArn": arn, **extra}))
            state.tags[arn] = {"managed-by": "slogen", "slogen-key": name}
        return state

    snap = cloudwatch_read.snapshot(
        [alarms("eu-west-1"), alarms("us-east-1")], "api", {"shop/availability": "us-east-1"}
    )
    by_key = {r.key: r for r in snap.resources}
    assert sorted(by_key) == [
        key,
        f"{key}#eu-west-1",
        f"{key}/long",
        f"{key}/long#eu-west-1",
    ]
    assert by_key[key].body["Region"] == "us-east-1"
    assert by_key[f"{key}#eu-west-1"].depends_on == (f"{key}/long#eu-west-1",)
    assert snap.strays == [key, f"{key}/long"]


def test_the_no_traffic_alarm_is_accepted_and_reads_back_unchanged(env: Env) -> None:
    """checkout/availability opts in (``no_traffic: 15m``): moto takes the alarm on the summed
    total (missing data breaching, at most 0 over one 15-minute period, the page topic as
    alarm and OK action) and a plan after apply sees no drift."""
    env.apply()
    alarm = env.alarms()["slogen/checkout/availability/no-traffic"]
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["ComparisonOperator"] == "LessThanOrEqualToThreshold"
    assert alarm["Threshold"] == 0 and alarm["EvaluationPeriods"] == 1
    assert [m["Id"] for m in alarm["Metrics"] if m["ReturnData"]] == ["m2"]
    assert {m["MetricStat"]["Period"] for m in alarm["Metrics"] if "MetricStat" in m} == {900}
    assert alarm["AlarmActions"] == ["arn:aws:sns:eu-west-1:123456789012:checkout-page"]
    assert alarm["OKActions"] == alarm["AlarmActions"]
    tags = env.tags("slogen/checkout/availability/no-traffic", "eu-west-1")
    assert tags["tier"] == "no-traffic" and tags["slogen-key"] == "checkout/availability/no-traffic"
    assert "No changes." in env.plan().stdout
