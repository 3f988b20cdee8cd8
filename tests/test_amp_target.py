"""The Prometheus ``amp`` target through the real CLI, against moto's AMP (tests/fakes/amp.py).

moto (5.2.5) implements the rule groups namespace calls with tags and paging, but validates
nothing (not the rule YAML, names, sizes or tags), has no status transitions (always ACTIVE)
and lets a Create overwrite an existing namespace; the fake adds AWS's ConflictException for
that, scripted statuses (CREATING/UPDATING/..._FAILED) and injected errors (429, 500, 409).
Each test makes its own workspace, so tests share one server but no state.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from botocore.retries.bucket import TokenBucket
from botocore.retries.standard import ExponentialBackoff

import slogen.backends.prometheus.amp.client as amp_client
from tests.cli import Result, run
from tests.fakes.amp import REGION, MotoAmp
from tests.test_plan_apply import BILLING

CHECKOUT = """\
service: checkout
description: Checkout API
owner: payments
slos:
  - name: availability
    category: availability
    objective: 99.9
    window: 30d
    indicator:
      prometheus:
        errors: sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{ window }}]))
        total: sum(rate(http_requests_total{job="checkout"}[{{ window }}]))
  - name: latency
    category: latency
    objective: 99
    window: 30d
    indicator:
      prometheus:
        good: sum(rate(http_request_duration_seconds_bucket{job="checkout",le="0.4"}[{{ window }}]))
        total: sum(rate(http_request_duration_seconds_count{job="checkout"}[{{ window }}]))
"""

SEARCH = """\
service: search
description: Product search
owner: discovery
slos:
  - name: availability
    category: availability
    objective: 99.95
    window: 28d
    indicator:
      prometheus:
        errors: sum(rate(grpc_server_handled_total{grpc_code="Unavailable"}[{{ window }}]))
        total: sum(rate(grpc_server_handled_total[{{ window }}]))
"""

SERVICES = {"billing": BILLING, "checkout": CHECKOUT, "search": SEARCH}
COUNTS = {"billing": 4, "checkout": 8, "search": 4}  # recording rules + 3 alerts per SLO
TOTAL = sum(COUNTS.values())
OWNED = {f"slogen-{s}" for s in SERVICES}
SECRET = "amp-secret-0123456789abcdefSECRET"


@pytest.fixture(scope="module")
def fake() -> Iterator[MotoAmp]:
    with MotoAmp() as server:
        yield server


@pytest.fixture
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and nothing else from this machine's AWS setup; fast retries."""
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
    # botocore's own backoff and adaptive rate, scaled down (the logic stays botocore's)
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.02)
    monkeypatch.setitem(
        ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "non_throttling_base_scale", 0.01
    )
    monkeypatch.setattr(TokenBucket.__init__, "__defaults__", (50.0,))
    monkeypatch.setattr(amp_client, "TPS", {})
    monkeypatch.setattr(amp_client, "POLL_INTERVAL", 0.01)
    monkeypatch.setattr(amp_client, "MAX_POLL_INTERVAL", 0.02)


class Env:
    def __init__(self, fake: MotoAmp, root: Path) -> None:
        self.fake = fake
        self.specs = root / "specs"
        self.specs.mkdir()
        for service, text in SERVICES.items():
            (self.specs / f"{service}.yaml").write_text(text)
        self.workspace = fake.create_workspace()
        self.configure(self.workspace)
        fake.reset()

    def configure(self, workspace: str, url: str | None = None) -> None:
        target = (
            f'{{type: amp, workspace_id: "{workspace}", region: {REGION}, '
            f'endpoint_url: "{url or self.fake.url}"}}'
        )
        (self.specs / "slogen.yaml").write_text(f"targets:\n  prometheus: {target}\n")

    def cli(self, *args: str, exit_code: int | None = 0) -> Result:
        result = run(*args, exit_code=exit_code)
        assert SECRET not in result.output
        assert "Traceback" not in result.output
        return result

    # --target prometheus: these specs' Grafana dashboards (files under out/grafana by default)
    # are not what these tests count
    def plan(self, *args: str, exit_code: int | None = 0) -> Result:
        return self.cli(
            "plan", str(self.specs), "--target", "prometheus", *args, exit_code=exit_code
        )

    def apply(self, *args: str, exit_code: int | None = 0) -> Result:
        # --no-lock: these tests count the apply's own requests; the lock's are tests/test_locks*
        return self.cli(
            "apply",
            str(self.specs),
            "--target",
            "prometheus",
            "--auto-approve",
            "--no-lock",
            *args,
            exit_code=exit_code,
        )

    def namespaces(self) -> dict[str, tuple[str, dict]]:
        return self.fake.namespaces(self.workspace)

    def edit(self, service: str, old: str, new: str) -> None:
        path = self.specs / f"{service}.yaml"
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))


@pytest.fixture
def env(fake: MotoAmp, aws_env: None, in_tmp: Path) -> Env:
    return Env(fake, in_tmp)


def summary(result: Result) -> str:
    lines = [x for x in result.stdout.splitlines() if x.startswith(("Plan:", "No changes."))]
    assert len(lines) == 1, result.stdout
    return lines[0]


def group_names(data: str) -> list[str]:
    return [g["name"] for g in yaml.safe_load(data)["groups"]]


# -- create, no-op, update, delete ------------------------------------------------------------


def test_create_from_empty_writes_one_tagged_namespace_per_service(env: Env) -> None:
    result = env.plan("--detailed-exitcode", exit_code=2)
    assert summary(result) == f"Plan: {TOTAL} to add, 0 to change, 0 to destroy."
    assert env.fake.writes() == 0, "plan must not write"

    result = env.apply()
    assert f"Apply complete: {TOTAL} changes made." in result.stdout
    assert f"[{TOTAL}/{TOTAL}] " in result.stderr, "one progress step per change"
    assert env.fake.calls["CreateRuleGroupsNamespace"] == 3
    assert env.fake.calls["PutRuleGroupsNamespace"] == 0

    found = env.namespaces()
    assert set(found) == OWNED
    env.cli("build", str(env.specs), "-o", "built")
    for service in SERVICES:
        data, tags = found[f"slogen-{service}"]
        assert tags == {"managed-by": "slogen", "slogen-key": service, "slogen-project": "specs"}
        built = Path("built/prometheus", f"{service}.rules.yml").read_text()
        assert data == built, "data is exactly the rule file slogen builds"
    assert group_names(found["slogen-checkout"][0]) == [
        "slogen/checkout/availability",
        "slogen/checkout/latency",
    ]


def test_no_op_plan_reads_one_list_and_one_describe_per_service_and_writes_nothing(
    env: Env,
) -> None:
    env.apply()
    env.fake.reset()
    assert summary(env.plan("--detailed-exitcode", exit_code=0)) == "No changes."
    assert dict(env.fake.calls) == {
        "ListRuleGroupsNamespaces": 1,
        "DescribeRuleGroupsNamespace": len(SERVICES),
    }
    env.fake.reset()
    env.apply()
    assert env.fake.writes() == 0


def test_an_edited_slo_puts_only_its_services_namespace(env: Env) -> None:
    env.apply()
    before = env.namespaces()
    env.edit("checkout", "objective: 99.9", "objective: 99.8")
    result = env.plan("--detailed-exitcode", exit_code=2)
    assert "checkout/availability" in result.stdout
    assert "billing" not in result.stdout and "search" not in result.stdout
    env.fake.reset()
    env.apply()
    assert env.fake.calls["PutRuleGroupsNamespace"] == 1
    assert env.fake.writes() == 1
    after = env.namespaces()
    assert after["slogen-billing"] == before["slogen-billing"]
    assert after["slogen-search"] == before["slogen-search"]
    assert after["slogen-checkout"][0] != before["slogen-checkout"][0]
    assert "0.998" in after["slogen-checkout"][0] or "99.8" in after["slogen-checkout"][0]
    assert summary(env.plan()) == "No changes."


def test_a_removed_service_has_its_namespace_deleted(env: Env) -> None:
    env.apply()
    (env.specs / "search.yaml").unlink()
    result = env.plan("--detailed-exitcode", exit_code=2)
    assert summary(result) == f"Plan: 0 to add, 0 to change, {COUNTS['search']} to destroy."
    env.fake.reset()
    env.apply()
    assert env.fake.calls["DeleteRuleGroupsNamespace"] == 1
    assert env.fake.writes() == 1
    assert set(env.namespaces()) == OWNED - {"slogen-search"}
    assert summary(env.plan()) == "No changes."


# -- ownership ----------------------------------------------------------------------------------


def test_namespaces_slogen_does_not_own_are_never_touched(env: Env) -> None:
    env.apply()
    rules = env.namespaces()["slogen-billing"][0]  # slogen's groups: read if ever owned
    foreign = {
        "team-rules": {},  # someone else's, no tags
        "slogen-legacy": {},  # slogen's prefix, no tags
        "custom": {"managed-by": "slogen", "slogen-key": "custom"},  # tags, another name
        "slogen-other": {"managed-by": "slogen", "slogen-key": "nope"},  # key not its name
        "slogen-half": {"managed-by": "slogen"},  # no key
    }
    client = env.fake.client()
    for name, tags in foreign.items():
        service = name.removeprefix("slogen-")
        data = rules.replace("billing", service).encode()
        client.create_rule_groups_namespace(
            workspaceId=env.workspace, name=name, data=data, tags=tags
        )
    before = {n: v for n, v in env.namespaces().items() if n in foreign}
    result = env.plan("--detailed-exitcode", exit_code=0)
    assert summary(result) == "No changes."
    (env.specs / "search.yaml").unlink()
    (env.specs / "billing.yaml").unlink()
    env.fake.reset()
    env.apply()
    assert env.fake.calls["DeleteRuleGroupsNamespace"] == 2
    assert env.fake.writes() == 2
    result = env.plan()
    assert summary(result) == "No changes."
    for name in foreign:
        assert name not in result.output
    after = env.namespaces()
    assert {n: v for n, v in after.items() if n in foreign} == before
    assert set(after) == set(foreign) | {"slogen-checkout"}


def test_a_desired_name_taken_by_an_unowned_namespace_is_a_conflict(env: Env) -> None:
    env.fake.client().create_rule_groups_namespace(
        workspaceId=env.workspace, name="slogen-billing", data=b"groups: []\n", tags={}
    )
    env.fake.reset()
    result = env.plan(exit_code=1)
    assert "slogen-billing" in result.stderr
    assert "not managed by slogen" in result.stderr
    result = env.apply(exit_code=1)
    assert env.fake.writes() == 0
    assert env.namespaces()["slogen-billing"] == ("groups: []\n", {})


def test_a_name_taken_between_plan_and_apply_refuses_the_saved_plan(env: Env) -> None:
    """The saved plan's owned state is unchanged, but it would now create over a namespace
    slogen does not own: apply re-checks conflicts first and writes nothing at all."""
    env.plan("-o", "plan.json", "--detailed-exitcode", exit_code=2)
    env.fake.client().create_rule_groups_namespace(
        workspaceId=env.workspace, name="slogen-search", data=b"groups: []\n", tags={}
    )
    env.fake.reset()
    result = env.cli("apply", "plan.json", exit_code=1)
    assert "slogen-search" in result.stderr
    assert "not managed by slogen" in result.stderr
    assert "nothing was changed" in result.stderr
    assert env.fake.writes() == 0
    assert env.namespaces()["slogen-search"] == ("groups: []\n", {})


def test_an_owned_namespace_without_slogen_groups_is_adopted_not_created_twice(env: Env) -> None:
    env.fake.client().create_rule_groups_namespace(
        workspaceId=env.workspace,
        name="slogen-billing",
        data=b"groups: []\n",
        tags={"managed-by": "slogen", "slogen-key": "billing"},
    )
    env.fake.reset()
    env.apply()
    assert env.fake.calls["CreateRuleGroupsNamespace"] == 2
    assert env.fake.calls["PutRuleGroupsNamespace"] == 1
    assert group_names(env.namespaces()["slogen-billing"][0]) == ["slogen/billing/availability"]
    assert summary(env.plan()) == "No changes."


def test_a_stale_saved_plan_is_refused_and_nothing_is_written(env: Env) -> None:
    env.apply()
    env.edit("checkout", "objective: 99.9", "objective: 99.8")
    env.plan("-o", "plan.json", "--detailed-exitcode", exit_code=2)
    billing = env.namespaces()["slogen-billing"][0]
    env.fake.client().put_rule_groups_namespace(
        workspaceId=env.workspace,
        name="slogen-billing",
        data=billing.replace("long_window: 3d", "long_window: 4d", 1).encode(),
    )
    assert env.namespaces()["slogen-billing"][0] != billing, "the edit must change a rule"
    env.fake.reset()
    result = env.cli("apply", "plan.json", exit_code=1)
    assert "the plan is stale" in result.stderr
    assert "nothing was changed" in result.stderr
    assert env.fake.writes() == 0


@pytest.mark.parametrize(
    "data",
    [
        b"groups: [unclosed\n",
        b"- just a list\n",
        b"groups:\n- name: slogen/search/availability\n  rules:\n  - {alert: A, labels: oops}\n",
        b"groups:\n- name: slogen/billing/availability\n  rules:\n  - {record: r, expr: '1'}\n",
        b"\xff\xfe",
    ],
    ids=["yaml", "not a mapping", "labels not a mapping", "another service", "not utf-8"],
)
def test_damaged_data_in_an_owned_namespace_is_a_clear_error(env: Env, data: bytes) -> None:
    env.apply()
    env.fake.client().put_rule_groups_namespace(
        workspaceId=env.workspace, name="slogen-search", data=data
    )
    env.fake.reset()
    result = env.plan(exit_code=1)
    assert "cannot read the rule groups namespace slogen-search" in result.stderr
    assert "hint:" in result.stderr
    result = env.apply(exit_code=1)
    assert env.fake.writes() == 0


# -- AWS's failures -------------------------------------------------------------------------------


def test_throttling_and_5xx_on_a_put_are_retried(env: Env) -> None:
    env.apply()
    env.edit("checkout", "objective: 99.9", "objective: 99.8")
    env.fake.reset()
    env.fake.inject(2, ["PutRuleGroupsNamespace"], 429, "ThrottlingException")
    env.fake.inject(1, ["PutRuleGroupsNamespace"], 500, "InternalServerException", "oops")
    result = env.apply()
    assert "Apply complete" in result.stdout
    assert env.fake.calls["PutRuleGroupsNamespace"] == 4, "3 refused attempts, then the put"
    assert summary(env.plan()) == "No changes."


def test_a_busy_namespace_is_waited_for(env: Env) -> None:
    env.apply()
    env.edit("checkout", "objective: 99.9", "objective: 99.8")
    env.fake.reset()
    env.fake.inject(2, ["PutRuleGroupsNamespace"], 409, "ConflictException", "UPDATING")
    env.fake.queue_statuses("slogen-checkout", [("UPDATING", ""), ("UPDATING", "")])
    env.apply()
    assert env.fake.calls["PutRuleGroupsNamespace"] == 3
    # the plan's reads, then UPDATING, UPDATING, ACTIVE after the put
    assert env.fake.calls["DescribeRuleGroupsNamespace"] == len(SERVICES) + 3
    assert summary(env.plan()) == "No changes."


def test_waiting_is_bounded(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env.apply()
    env.edit("checkout", "objective: 99.9", "objective: 99.8")
    env.edit("search", "objective: 99.95", "objective: 99.9")
    monkeypatch.setattr(amp_client, "BUSY_WAIT", 0.1)
    monkeypatch.setattr(amp_client, "SETTLE_WAIT", 0.1)
    env.fake.reset()
    env.fake.inject(1000, ["PutRuleGroupsNamespace"], 409, "ConflictException", "UPDATING")
    result = env.apply(exit_code=1)
    assert "ConflictException" in result.output
    assert 2 < env.fake.calls["PutRuleGroupsNamespace"] < 100
    env.fake.reset()
    env.fake.queue_statuses("slogen-checkout", [("UPDATING", "")] * 1000)
    env.fake.queue_statuses("slogen-search", [("UPDATING", "")] * 1000)
    result = env.apply(exit_code=1)
    assert "slogen-checkout is still UPDATING" in result.output
    assert env.fake.calls["PutRuleGroupsNamespace"] == 2


def test_throttled_reads_are_retried(env: Env) -> None:
    env.apply()
    env.fake.reset()
    env.fake.inject(2, ["ListRuleGroupsNamespaces"], 429, "ThrottlingException")
    env.fake.inject(1, ["DescribeRuleGroupsNamespace"], 503, "ServiceUnavailable", "busy")
    assert summary(env.plan()) == "No changes."
    assert env.fake.calls["ListRuleGroupsNamespaces"] == 3
    assert env.fake.calls["DescribeRuleGroupsNamespace"] == len(SERVICES) + 1


def test_rules_amp_refuses_after_accepting_them_fail_that_service_only(env: Env) -> None:
    env.fake.queue_statuses("slogen-search", [("CREATING", ""), ("CREATION_FAILED", "bad rule")])
    result = env.apply(exit_code=1)
    text = result.stdout + result.stderr
    assert "CREATION_FAILED" in text and "bad rule" in text
    assert f"{TOTAL - COUNTS['search']} done, {COUNTS['search']} failed" in text


def test_retries_give_up_and_report_the_failure(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(amp_client, "WRITE_RETRIES", 1)
    env.fake.inject(100, ["CreateRuleGroupsNamespace"], 500, "InternalServerException", "down")
    result = env.apply(exit_code=1)
    text = result.stdout + result.stderr
    assert "InternalServerException" in text
    assert f"0 done, {TOTAL} failed" in text
    assert env.namespaces() == {}


def test_a_wrong_workspace_id_is_a_clear_error(env: Env) -> None:
    env.configure("ws-doesnotexist")
    result = env.plan(exit_code=1)
    assert "ws-doesnotexist" in result.stderr
    assert REGION in result.stderr
    assert "does not exist" in result.stderr
    result = env.apply(exit_code=1)
    assert "ws-doesnotexist" in result.stderr


def test_options_may_refer_to_environment_variables(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMP_WORKSPACE", env.workspace)
    monkeypatch.setenv("AMP_URL", env.fake.url)
    env.configure("${AMP_WORKSPACE}", "${AMP_URL}")
    env.apply()
    assert set(env.namespaces()) == OWNED
    monkeypatch.delenv("AMP_WORKSPACE")
    result = env.plan(exit_code=1)
    assert "AMP_WORKSPACE is not set" in result.stderr


def test_missing_credentials_are_a_clear_error(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = env.plan(exit_code=1)
    assert "AWS credentials are missing" in result.stderr
    assert "targets.prometheus" in result.stderr
    assert env.fake.calls == {}
