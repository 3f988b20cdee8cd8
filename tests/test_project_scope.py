"""Project scope: two slogen projects pointed at the same place never touch each other's objects.

Project ``alpha`` holds the example specs; project ``beta`` holds one service of its own
(``billing-batch``, the example ``billing-worker`` renamed). Both point at the same fake
Datadog, the same moto CloudWatch, the same files directories, the same fake ruler and the same
AMP workspace. For each: beta plans only its own (0 to destroy, a warning naming alpha), alpha
still plans "No changes." after beta applied, a key both want is a clear error, and objects
written before projects (today's markers, no project) are adopted by alpha as updates that show
the project marker being added, then "No changes.". The name itself: ``project:`` or the
directory's name, the same however the path is written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.retries.bucket import TokenBucket
from botocore.retries.standard import ExponentialBackoff

import slogen.backends.cloudwatch.limits as cloudwatch_limits
import slogen.backends.prometheus.amp.client as amp_client
from slogen.errors import SlogenError
from slogen.spec.loader import load_project
from tests.cli import Result, run
from tests.conftest import SPECS, example_policies
from tests.fakes.amp import REGION, MotoAmp
from tests.fakes.cloudwatch import MotoCloudWatch
from tests.fakes.datadog_api import FakeDatadog
from tests.fakes.ruler import FakeRuler

API_KEY = "dd-api-0123456789abcdef"
APP_KEY = "dd-app-fedcba9876543210"
TENANT = "team-a"
TOKEN = "tok-scope-secret"
LEFT_ALONE = re.compile(r"(\d+) [\w ]+? owned by slogen project '(\w+)' left alone")


# -- two projects -----------------------------------------------------------------------------


def project(root: Path, name: str, targets: str, beta: bool = False, collide: bool = False) -> Path:
    """A spec directory ``root/<name>/specs`` with ``project: <name>``: alpha holds the example
    specs; beta holds billing-batch (with ``collide``, also alpha's billing-worker)."""
    specs = root / name / "specs"
    specs.mkdir(parents=True)
    if beta:
        text = (SPECS / "billing-worker.yaml").read_text(encoding="utf-8")
        (specs / "billing-batch.yaml").write_text(
            text.replace("service: billing-worker", "service: billing-batch"), encoding="utf-8"
        )
        if collide:
            shutil.copy(SPECS / "billing-worker.yaml", specs / "billing-worker.yaml")
    else:
        for path in SPECS.glob("*.yaml"):
            if path.name != "slogen.yaml":
                shutil.copy(path, specs / path.name)
    settings = f"project: {name}\n" + example_policies() + "targets:\n" + targets
    (specs / "slogen.yaml").write_text(settings, encoding="utf-8")
    return specs


def plan(specs: Path, backend: str, exit_code: int = 0) -> Result:
    result = run("plan", str(specs), "--target", backend, exit_code=exit_code)
    assert "Traceback" not in result.output
    return result


def apply(specs: Path, backend: str, exit_code: int = 0) -> Result:
    result = run("apply", str(specs), "--target", backend, "--auto-approve", exit_code=exit_code)
    assert "Traceback" not in result.output
    return result


def summary(result: Result) -> str:
    lines = [x for x in result.stdout.splitlines() if x.startswith(("Plan:", "No changes."))]
    assert len(lines) == 1, result.stdout
    return lines[0]


def left_alone(result: Result) -> dict[str, int]:
    """Project -> how many of its objects the plan says it left alone (summed per backend)."""
    found: dict[str, int] = {}
    for count, name in LEFT_ALONE.findall(result.stdout):
        found[name] = found.get(name, 0) + int(count)
    return found


def keep_to_their_own(alpha: Path, beta: Path, backend: str, alpha_objects: int) -> None:
    """The scenario every target must pass (see the module docstring)."""
    apply(alpha, backend)
    first = plan(beta, backend)
    assert re.match(r"Plan: \d+ to add, 0 to change, 0 to destroy\.", summary(first)), first.stdout
    assert left_alone(first) == {"alpha": alpha_objects}, first.stdout
    apply(beta, backend)
    assert summary(plan(beta, backend)) == "No changes."
    again = plan(alpha, backend)
    assert summary(again) == "No changes.", again.stdout
    assert set(left_alone(again)) == {"beta"}


def collision_is_an_error(alpha: Path, root: Path, targets: str, backend: str) -> None:
    """A project that wants alpha's billing-worker too is stopped, naming the holder."""
    apply(alpha, backend)
    both = project(root, "gamma", targets, beta=True, collide=True)
    result = plan(both, backend, exit_code=1)
    assert "held by slogen project 'alpha'" in result.stderr, result.output
    result = apply(both, backend, exit_code=1)
    assert "held by slogen project 'alpha'" in result.stderr
    assert summary(plan(alpha, backend)) == "No changes."


def adopted_as_updates(alpha: Path, beta: Path, backend: str, changed: int, marker: str) -> None:
    """After the project markers were removed (objects as slogen wrote them before projects):
    beta leaves them alone, alpha adopts each as an update showing ``marker`` added."""
    first = plan(beta, backend)
    assert "0 to destroy" in summary(first)
    assert "written by slogen before projects" in first.stdout
    result = plan(alpha, backend)
    assert summary(result) == f"Plan: 0 to add, {changed} to change, 0 to destroy.", result.stdout
    assert marker in result.stdout
    apply(alpha, backend)
    assert summary(plan(alpha, backend)) == "No changes."
    after = plan(beta, backend)
    assert set(left_alone(after)) == {"alpha"}, after.stdout
    assert "written by slogen before projects" not in after.stdout


def strip_rule_text(text: str) -> str:
    """A rule file as slogen wrote it before projects: no header line, no alert annotation."""
    return "".join(
        line
        for line in text.splitlines(keepends=True)
        if not line.startswith("# slogen-project:") and "slogen_project:" not in line
    )


# -- Datadog ----------------------------------------------------------------------------------


@pytest.fixture
def datadog(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeDatadog, str]]:
    monkeypatch.setenv("DD_API_KEY", API_KEY)
    monkeypatch.setenv("DD_APP_KEY", APP_KEY)
    monkeypatch.delenv("DD_APPLICATION_KEY", raising=False)
    with FakeDatadog(api_key=API_KEY, app_key=APP_KEY) as fake:
        yield fake, f'  datadog: {{type: api, host: "{fake.url}"}}\n'


def dd_objects(fake: FakeDatadog, project_name: str | None = None) -> list[dict[str, Any]]:
    with fake.lock:
        found = list(fake.monitors.values()) + list(fake.slos.values())
    found = [o for o in found if "managed-by:slogen" in (o.get("tags") or [])]
    if project_name is None:
        return found
    return [o for o in found if f"slogen-project:{project_name}" in o["tags"]]


def test_datadog_projects_keep_to_their_own(datadog: tuple[FakeDatadog, str], in_tmp: Path):
    fake, targets = datadog
    alpha = project(in_tmp, "alpha", targets)
    beta = project(in_tmp, "beta", targets, beta=True)
    apply(alpha, "datadog")
    mine = {o["id"]: json.dumps(o, sort_keys=True) for o in dd_objects(fake, "alpha")}
    assert len(mine) == 43  # 40 monitors and 3 SLOs, each tagged with its project
    boards = {i: json.dumps(d, sort_keys=True) for i, d in fake.dashboards.items()}
    keep_to_their_own(alpha, beta, "datadog", 43 + 3)  # + a dashboard per service (marked)
    assert all(fake.dashboards.get(i) == json.loads(b) for i, b in boards.items())
    assert {o["id"]: json.dumps(o, sort_keys=True) for o in dd_objects(fake, "alpha")} == mine
    assert len(dd_objects(fake, "beta")) > 0


def test_datadog_key_of_another_project_is_an_error(
    datadog: tuple[FakeDatadog, str], in_tmp: Path
) -> None:
    fake, targets = datadog
    collision_is_an_error(project(in_tmp, "alpha", targets), in_tmp, targets, "datadog")
    assert dd_objects(fake, "gamma") == []


def test_datadog_objects_from_before_projects_are_adopted_as_updates(
    datadog: tuple[FakeDatadog, str], in_tmp: Path
) -> None:
    fake, targets = datadog
    alpha = project(in_tmp, "alpha", targets)
    beta = project(in_tmp, "beta", targets, beta=True)
    apply(alpha, "datadog")
    ids = sorted(str(o["id"]) for o in dd_objects(fake))
    with fake.lock:  # as slogen tagged them before projects
        for obj in [*fake.monitors.values(), *fake.slos.values()]:
            obj["tags"] = [t for t in obj["tags"] if not t.startswith("slogen-project:")]
        for board in fake.dashboards.values():  # and a dashboard's marker line without one
            board["description"] = board["description"].replace("; slogen-project: alpha", "")
    adopted_as_updates(alpha, beta, "datadog", 43 + 3, '"slogen-project:alpha"')
    assert sorted(str(o["id"]) for o in dd_objects(fake, "alpha")) == ids  # updated in place


# -- CloudWatch -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_cloudwatch() -> Iterator[MotoCloudWatch]:
    with MotoCloudWatch() as fake:
        yield fake


def _aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and nothing from this machine's AWS setup; fast retries."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = tmp_path / "aws-empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.02)
    monkeypatch.setattr(TokenBucket.__init__, "__defaults__", (50.0,))


@pytest.fixture
def cloudwatch(
    moto_cloudwatch: MotoCloudWatch, in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[MotoCloudWatch, str]:
    moto_cloudwatch.reset()
    _aws_env(in_tmp, monkeypatch)
    monkeypatch.setattr(cloudwatch_limits, "TPS", {})
    return moto_cloudwatch, f'  cloudwatch: {{type: api, endpoint_url: "{moto_cloudwatch.url}"}}\n'


def cw_tags(fake: MotoCloudWatch) -> dict[str, dict[str, str]]:
    """ARN -> tags of every alarm named slogen/... in both regions of the example specs."""
    found = {}
    for region in ("eu-west-1", "us-east-1"):
        client = fake.client("cloudwatch", region=region)
        pages = client.get_paginator("describe_alarms").paginate(
            AlarmNamePrefix="slogen/", AlarmTypes=["CompositeAlarm", "MetricAlarm"]
        )
        for page in pages:
            for alarm in page["MetricAlarms"] + page["CompositeAlarms"]:
                answer = client.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])
                found[alarm["AlarmArn"]] = {t["Key"]: t["Value"] for t in answer["Tags"]}
    return found


def test_cloudwatch_projects_keep_to_their_own(
    cloudwatch: tuple[MotoCloudWatch, str], in_tmp: Path
) -> None:
    fake, targets = cloudwatch
    alpha = project(in_tmp, "alpha", targets)
    beta = project(in_tmp, "beta", targets, beta=True)
    # beta reads only eu-west-1, its region: alpha has 25 alarms there (and 18 in us-east-1)
    keep_to_their_own(alpha, beta, "cloudwatch", 25)
    projects = [tags.get("slogen-project") for tags in cw_tags(fake).values()]
    assert projects.count("alpha") == 43 and projects.count("beta") > 0
    assert set(projects) == {"alpha", "beta"}


def test_cloudwatch_key_of_another_project_is_an_error(
    cloudwatch: tuple[MotoCloudWatch, str], in_tmp: Path
) -> None:
    _fake, targets = cloudwatch
    collision_is_an_error(project(in_tmp, "alpha", targets), in_tmp, targets, "cloudwatch")


def test_cloudwatch_alarms_from_before_projects_are_adopted_as_updates(
    cloudwatch: tuple[MotoCloudWatch, str], in_tmp: Path
) -> None:
    fake, targets = cloudwatch
    alpha = project(in_tmp, "alpha", targets)
    beta = project(in_tmp, "beta", targets, beta=True)
    apply(alpha, "cloudwatch")
    for arn in cw_tags(fake):
        region = arn.split(":")[3]
        fake.client("cloudwatch", region=region).untag_resource(
            ResourceARN=arn, TagKeys=["slogen-project"]
        )
    adopted_as_updates(alpha, beta, "cloudwatch", 43, '+ Tags.slogen-project: "alpha"')
    assert {tags.get("slogen-project") for tags in cw_tags(fake).values()} == {"alpha"}


# -- files --------------------------------------------------------------------------------------

FILES = (
    "  prometheus: {type: files, dir: shared/prometheus}\n"
    "  datadog: {type: files, dir: shared/datadog}\n"
    "  cloudwatch: {type: files, dir: shared/cloudwatch}\n"
)


def test_files_projects_keep_to_their_own(in_tmp: Path) -> None:
    alpha = project(in_tmp, "alpha", FILES)
    beta = project(in_tmp, "beta", FILES, beta=True)
    for backend in ("prometheus", "datadog", "cloudwatch"):
        keep_to_their_own(alpha, beta, backend, 3)  # one file per service
    rules = (in_tmp / "shared/prometheus/checkout.rules.yml").read_text()
    assert "# slogen-project: alpha\n" in rules
    assert (
        "# slogen-project: beta\n"
        in (in_tmp / "shared/prometheus/billing-batch.rules.yml").read_text()
    )
    doc = json.loads((in_tmp / "shared/datadog/checkout.datadog.json").read_text())
    assert doc["slogen-project"] == "alpha"


def test_files_of_another_project_are_an_error(in_tmp: Path) -> None:
    alpha = project(in_tmp, "alpha", FILES)
    for backend in ("prometheus", "datadog"):
        collision_is_an_error(alpha, in_tmp / backend, FILES, backend)
    assert not list((in_tmp / "shared").rglob("*billing-batch*"))


def test_files_from_before_projects_are_adopted_as_updates(in_tmp: Path) -> None:
    alpha = project(in_tmp, "alpha", FILES)
    beta = project(in_tmp, "beta", FILES, beta=True)
    apply(alpha, "prometheus")
    apply(alpha, "datadog")
    for path in (in_tmp / "shared/prometheus").glob("*.yml"):
        path.write_text(strip_rule_text(path.read_text()))
    for path in (in_tmp / "shared/datadog").glob("*.json"):
        doc = json.loads(path.read_text())
        del doc["slogen-project"]
        for item in doc["resources"]:
            if item["kind"] == "dashboard":  # its marker line names the project
                body = item["body"]
                body["description"] = body["description"].replace("; slogen-project: alpha", "")
                continue
            item["body"]["tags"] = [t for t in item["body"]["tags"] if "slogen-project" not in t]
        path.write_text(json.dumps(doc, indent=2))
    # every alert changes (recording rules have no annotations); every Datadog object
    alerts = sum(
        1
        for path in (in_tmp / "shared/prometheus").glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    )
    adopted_as_updates(alpha, beta, "prometheus", alerts, '+ annotations.slogen_project: "alpha"')
    adopted_as_updates(alpha, beta, "datadog", 43 + 3, '"slogen-project:alpha"')
    assert "# slogen-project: alpha" in (in_tmp / "shared/prometheus/search.rules.yml").read_text()


# -- ruler --------------------------------------------------------------------------------------

RULER = (
    "  prometheus: {type: ruler, url: '${MIMIR_URL}', tenant: '${MIMIR_TENANT}', "
    "token: '${MIMIR_TOKEN}'}\n"
)


@pytest.fixture
def ruler(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRuler]:
    with FakeRuler(tenant=TENANT, token=TOKEN) as fake:
        monkeypatch.setenv("MIMIR_URL", fake.url)
        monkeypatch.setenv("MIMIR_TENANT", TENANT)
        monkeypatch.setenv("MIMIR_TOKEN", TOKEN)
        yield fake


def test_ruler_projects_keep_to_their_own(ruler: FakeRuler, in_tmp: Path) -> None:
    alpha = project(in_tmp, "alpha", RULER)
    beta = project(in_tmp, "beta", RULER, beta=True)
    keep_to_their_own(alpha, beta, "prometheus", 5)  # one group per SLO
    groups = ruler.groups("slogen")
    assert "slogen/billing-batch/freshness" in groups and len(groups) == 6


def test_ruler_group_of_another_project_is_an_error(ruler: FakeRuler, in_tmp: Path) -> None:
    collision_is_an_error(project(in_tmp, "alpha", RULER), in_tmp, RULER, "prometheus")
    assert len(ruler.groups("slogen")) == 5


def test_ruler_groups_from_before_projects_are_adopted_as_updates(
    ruler: FakeRuler, in_tmp: Path
) -> None:
    alpha = project(in_tmp, "alpha", RULER)
    beta = project(in_tmp, "beta", RULER, beta=True)
    apply(alpha, "prometheus")
    alerts = 0
    for group in ruler.groups("slogen").values():
        for rule in group["rules"]:
            if "alert" in rule:
                del rule["annotations"]["slogen_project"]
                alerts += 1
        ruler.put_group("slogen", group)
    adopted_as_updates(alpha, beta, "prometheus", alerts, '+ annotations.slogen_project: "alpha"')


# -- AMP ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_amp() -> Iterator[MotoAmp]:
    with MotoAmp() as fake:
        yield fake


@pytest.fixture
def amp(
    moto_amp: MotoAmp, in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[MotoAmp, str, str]:
    _aws_env(in_tmp, monkeypatch)
    monkeypatch.setattr(amp_client, "TPS", {})
    monkeypatch.setattr(amp_client, "POLL_INTERVAL", 0.01)
    workspace = moto_amp.create_workspace()
    moto_amp.reset()
    target = (
        f'  prometheus: {{type: amp, workspace_id: "{workspace}", region: {REGION}, '
        f'endpoint_url: "{moto_amp.url}"}}\n'
    )
    return moto_amp, workspace, target


def test_amp_projects_keep_to_their_own(amp: tuple[MotoAmp, str, str], in_tmp: Path) -> None:
    fake, workspace, targets = amp
    alpha = project(in_tmp, "alpha", targets)
    beta = project(in_tmp, "beta", targets, beta=True)
    keep_to_their_own(alpha, beta, "prometheus", 3)  # one namespace per service
    tags = {
        name: t.get("slogen-project") for name, (_data, t) in fake.namespaces(workspace).items()
    }
    assert tags == {
        "slogen-billing-worker": "alpha",
        "slogen-checkout": "alpha",
        "slogen-search": "alpha",
        "slogen-billing-batch": "beta",
    }


def test_amp_namespace_of_another_project_is_an_error(
    amp: tuple[MotoAmp, str, str], in_tmp: Path
) -> None:
    _fake, _workspace, targets = amp
    collision_is_an_error(project(in_tmp, "alpha", targets), in_tmp, targets, "prometheus")


def test_amp_namespaces_from_before_projects_are_adopted_as_updates(
    amp: tuple[MotoAmp, str, str], in_tmp: Path
) -> None:
    fake, workspace, targets = amp
    alpha = project(in_tmp, "alpha", targets)
    beta = project(in_tmp, "beta", targets, beta=True)
    apply(alpha, "prometheus")
    client = fake.client()
    alerts = 0
    for name, (data, _tags) in fake.namespaces(workspace).items():
        alerts += data.count("slogen_project:")
        arn = client.describe_rule_groups_namespace(workspaceId=workspace, name=name)[
            "ruleGroupsNamespace"
        ]["arn"]
        client.untag_resource(resourceArn=arn, tagKeys=["slogen-project"])
        client.put_rule_groups_namespace(
            workspaceId=workspace, name=name, data=strip_rule_text(data).encode()
        )
    adopted_as_updates(alpha, beta, "prometheus", alerts, '+ annotations.slogen_project: "alpha"')
    tags = {t.get("slogen-project") for _data, t in fake.namespaces(workspace).values()}
    assert tags == {"alpha"}


# -- the name ------------------------------------------------------------------------------------


def test_the_default_name_is_the_spec_directory_however_it_is_written(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = in_tmp / "Team_Payments" / "specs"
    specs.mkdir(parents=True)
    shutil.copy(SPECS / "checkout.yaml", specs / "checkout.yaml")
    spellings = [str(specs), f"{specs}/", "Team_Payments/specs", "./Team_Payments/specs/"]
    assert {load_project([p]).project for p in spellings} == {"specs"}
    monkeypatch.chdir(specs)
    assert load_project(["."]).project == "specs"
    assert load_project(["checkout.yaml"]).project == "specs"  # a file: its directory
    link = in_tmp / "elsewhere"
    link.symlink_to(specs)
    assert load_project([str(link)]).project == "specs"
    # with slogen.yaml: the directory that holds it, here given with --config
    (in_tmp / "Team_Payments" / "slogen.yaml").write_text("default_policy: workbook\n")
    config = str(in_tmp / "Team_Payments" / "slogen.yaml")
    specs_only = [str(specs / "checkout.yaml")]
    assert load_project(specs_only, config).project == "team-payments"
    assert all(
        t.option("project") == "team-payments" for t in load_project(specs_only, config).targets
    )


def test_project_in_settings_names_it_and_a_bad_name_is_a_located_error(in_tmp: Path) -> None:
    specs = in_tmp / "specs"
    specs.mkdir()
    shutil.copy(SPECS / "checkout.yaml", specs / "checkout.yaml")
    (specs / "slogen.yaml").write_text("project: payments-eu\n")
    assert load_project([str(specs)]).project == "payments-eu"
    (specs / "slogen.yaml").write_text("project: Payments_EU\n")
    with pytest.raises(SlogenError) as raised:
        load_project([str(specs)])
    (problem,) = raised.value.problems.errors
    assert (problem.location.line, problem.path) == (1, "project")
    assert "expected a project name of lower-case letters" in problem.message
    result = run("validate", str(specs), exit_code=1)
    assert "slogen.yaml:1:10: error: project:" in result.output
    assert "Traceback" not in result.output
