"""Every API target through every shared fault of the fakes, with the real CLI.

For each target (Datadog api, CloudWatch api, Prometheus ruler, Prometheus amp) and each fault
of tests/fakes/faults.py: the example specs for checkout and search are applied cleanly; then
search leaves and billing-worker arrives (deletes and creates; for CloudWatch the last SLO of
us-east-1 leaves, the AWS default region: issue 13 case 6), the fault is injected, and the
change is applied (on a short page the apply must refuse to plan, case 3). Then plan
and apply run until the plan says "No changes" (at most :data:`ROUNDS` rounds), and the fake's
own store is counted with the backends' ownership helpers: no key may have two objects
(duplicates, case 2), no owned object may be outside the desired set (orphans), every desired
object must exist, and no secret may appear in any output.

The table (faults x targets: duplicates / orphans / secrets leaked / rounds) is printed at the
end of the module (``pytest -s tests/test_fault_injection.py``) and written as JSON to
``$SLOGEN_FAULTS_TABLE`` when that is set (bench/faults.py runs it so).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.retries.bucket import TokenBucket
from botocore.retries.standard import ExponentialBackoff

import slogen.backends.cloudwatch.limits as cloudwatch_limits
import slogen.backends.prometheus.amp.client as amp_client
import slogen.backends.prometheus.ruler.client as ruler_client
from slogen.backends import registry
from slogen.backends.cloudwatch.dashboard import ownership as board_owner
from slogen.backends.cloudwatch.normalise import ownership as alarm_owner
from slogen.backends.datadog.api import client as dd_client
from slogen.backends.datadog.dashboard import ownership as dd_board
from slogen.backends.datadog.normalise import ownership as dd_owner
from slogen.backends.prometheus import rulefiles
from slogen.backends.prometheus.amp.requests import service_of
from slogen.backends.prometheus.ruler import groups as ruler_groups
from slogen.spec.loader import load_project
from tests.cli import Result, run
from tests.conftest import SPECS, example_policies
from tests.fakes import faults
from tests.fakes.amp import REGION as AMP_REGION
from tests.fakes.amp import MotoAmp
from tests.fakes.cloudwatch import MotoCloudWatch
from tests.fakes.datadog_api import FakeDatadog
from tests.fakes.ruler import FakeRuler

DD_API_KEY = "dd-api-FAULTS-0123456789abcdef"
DD_APP_KEY = "dd-app-FAULTS-fedcba9876543210"
AWS_SECRET = "aws-secret-FAULTS-0123456789abcdef"
AWS_TOKEN = "aws-session-FAULTS-0123456789abcdef"
RULER_TOKEN = "ruler-token-FAULTS-0123456789abcdef"
SECRETS = (DD_API_KEY, DD_APP_KEY, AWS_SECRET, AWS_TOKEN, RULER_TOKEN)
# plan/apply rounds after the faulty one before convergence is given up: a fault on a create
# can cost a round of its own, after the round its dependency failed in (a dashboard waits for
# its SLO), so the bound grew with the dashboard operations
ROUNDS = 8
TARGETS = ("datadog", "cloudwatch", "ruler", "amp")
BACKEND = {"datadog": "datadog", "cloudwatch": "cloudwatch", "ruler": "prometheus"}
BACKEND["amp"] = "prometheus"
# The operations each fault is injected on (the fakes' own names), and how many requests get it.
WRITES = {
    "datadog": (
        "POST slo",
        "POST monitor",
        "POST dashboard",
        "DELETE monitor",
        "DELETE slo",
        "DELETE dashboard",
    ),
    "cloudwatch": (
        "PutMetricAlarm",
        "PutCompositeAlarm",
        "DeleteAlarms",
        "PutDashboard",
        "DeleteDashboards",
    ),
    "ruler": ("POST", "DELETE"),
    # not the lock's namespace (slogen.lock): see the report of issue 13 on locks
    "amp": (
        "CreateRuleGroupsNamespace slogen-billing-worker",
        "DeleteRuleGroupsNamespace slogen-search",
    ),
}
LISTS = {
    "datadog": ("GET monitor", "GET slo", "GET dashboard"),
    "cloudwatch": ("DescribeAlarms",),
    "ruler": ("GET",),
    "amp": ("ListRuleGroupsNamespaces",),
}
ON_LISTS = (faults.SHORT_PAGE, faults.TRUNCATED_BODY)
# A short page must stop the plan where the API lets slogen tell (totals, a confirming read,
# or a second listing to check against); the ruler's single document has nothing to check a
# missing group against, and its POST is an upsert: it plans to write the group again.
REFUSES_SHORT_PAGES = ("datadog", "cloudwatch", "amp")


@dataclass
class Outcome:
    early_duplicates: int = 0  # right after the faulty command, before any later round
    duplicates: int = 0
    orphans: int = 0
    missing: int = 0
    leaked: int = 0
    rounds: int = 0
    refused: bool = False
    fired: int = 0
    first_exit: int = -1  # of the faulty apply


@dataclass
class Harness:
    """One target's fake, its specs and how to count what it holds."""

    name: str
    specs: Path
    inject: Callable[[str, str, int], None]
    owned: Callable[[], Counter[str]]
    fired: Callable[[], int]
    outputs: list[str] = field(default_factory=list)

    def cli(self, *args: str) -> Result:
        result = run(*args, str(self.specs), "--target", BACKEND[self.name], exit_code=None)
        self.outputs.append(result.output)
        assert "Traceback" not in result.output, result.output
        return result

    def desired(self) -> set[str]:
        backend = registry.get(BACKEND[self.name])
        return {
            _desired_key(self.name, r)
            for r in backend.render(load_project([str(self.specs)]), None)
        }


def _desired_key(target: str, res: Any) -> str:
    if target == "datadog":
        return f"{res.kind} {res.key}"
    if target == "cloudwatch":
        return res.key
    if target == "ruler":
        return rulefiles.GROUP_PREFIX + "/".join(res.key.split("/")[:2])
    return service_of(res.key)


def _specs(root: Path, target_yaml: str) -> Path:
    specs = root / "specs"
    specs.mkdir()
    for name in ("checkout.yaml", "search.yaml"):
        shutil.copy(SPECS / name, specs / name)
    (specs / "slogen.yaml").write_text(example_policies() + "targets:\n" + target_yaml)
    return specs


def _change(specs: Path) -> None:
    """search leaves (deletes; for CloudWatch all of us-east-1), billing-worker arrives."""
    (specs / "search.yaml").unlink()
    shutil.copy(SPECS / "billing-worker.yaml", specs / "billing-worker.yaml")


@contextmanager
def _datadog(root: Path, mp: pytest.MonkeyPatch) -> Iterator[Harness]:
    mp.setenv("DD_API_KEY", DD_API_KEY)
    mp.setenv("DD_APP_KEY", DD_APP_KEY)
    mp.setattr(dd_client, "RETRY", dd_client.RetryPolicy(attempts=8, max_sleep=0.02, backoff=0.005))
    with FakeDatadog(api_key=DD_API_KEY, app_key=DD_APP_KEY) as fake:
        specs = _specs(root, f'  datadog: {{type: api, host: "{fake.url}"}}\n')

        def owned() -> Counter[str]:
            with fake.lock:
                found = [("monitor", m.get("tags")) for m in fake.monitors.values()]
                found += [("slo", s.get("tags")) for s in fake.slos.values()]
                boards = [d.get("description") for d in fake.dashboards.values()]
            keys = Counter(f"{kind} {dd_owner(tags)}" for kind, tags in found if dd_owner(tags))
            keys.update(f"dashboard {dd_board(d)}" for d in boards if dd_board(d))
            return keys

        yield Harness(
            "datadog",
            specs,
            lambda kind, op, n: fake.inject_fault(kind, n, op),
            owned,
            lambda: len(fake.faults.fired),
        )


def _aws_env(root: Path, mp: pytest.MonkeyPatch, region: str) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            mp.delenv(name)
    empty = root / "aws-empty"
    empty.write_text("")
    for name, value in {
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": "AKIAFAULTS",
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "AWS_SESSION_TOKEN": AWS_TOKEN,
        "AWS_DEFAULT_REGION": region,
    }.items():
        mp.setenv(name, value)
    mp.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.02)
    mp.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "non_throttling_base_scale", 0.01)
    mp.setattr(TokenBucket.__init__, "__defaults__", (50.0,))


@contextmanager
def _cloudwatch(root: Path, mp: pytest.MonkeyPatch) -> Iterator[Harness]:
    # us-east-1 is the default region: the only place search's alarms are found once it left
    _aws_env(root, mp, "us-east-1")
    mp.setattr(cloudwatch_limits, "TPS", {})
    with MotoCloudWatch() as fake:
        fake.reset()
        specs = _specs(root, f'  cloudwatch: {{type: api, endpoint_url: "{fake.url}"}}\n')

        def owned() -> Counter[str]:
            keys: Counter[str] = Counter()
            for region in fake.regions:
                client = fake.client("cloudwatch", region)
                pages = client.get_paginator("describe_alarms").paginate(
                    AlarmTypes=["MetricAlarm", "CompositeAlarm"]
                )
                for page in pages:
                    for alarm in page["MetricAlarms"] + page["CompositeAlarms"]:
                        tags = client.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])
                        mapping = {t["Key"]: t["Value"] for t in tags["Tags"]}
                        key = alarm_owner(alarm["AlarmName"], mapping)
                        if key:
                            keys[key] += 1
            client = fake.client("cloudwatch", fake.regions[0])  # dashboards are global
            for entry in client.list_dashboards()["DashboardEntries"]:
                name = entry["DashboardName"]
                body = json.loads(client.get_dashboard(DashboardName=name)["DashboardBody"])
                key = board_owner(name, body)
                if key:
                    keys[key] += 1
            return keys

        yield Harness(
            "cloudwatch",
            specs,
            lambda kind, op, n: fake.inject_fault(kind, n, op),
            owned,
            lambda: len(fake.shared.fired),
        )
        fake.reset()


@contextmanager
def _ruler(root: Path, mp: pytest.MonkeyPatch) -> Iterator[Harness]:
    mp.setattr(ruler_client, "_sleep", lambda seconds: None)
    with FakeRuler(tenant="faults", token=RULER_TOKEN) as fake:
        mp.setenv("MIMIR_TOKEN", RULER_TOKEN)
        target = f'  prometheus: {{type: ruler, url: "{fake.url}", tenant: faults, '
        specs = _specs(root, target + 'token: "${MIMIR_TOKEN}"}\n')

        def owned() -> Counter[str]:
            groups = fake.groups("slogen").values()
            return Counter(g["name"] for g in groups if ruler_groups.is_marked(g))

        yield Harness(
            "ruler",
            specs,
            lambda kind, op, n: fake.inject_fault(kind, n, op),
            owned,
            lambda: len(fake.shared.fired),
        )


@contextmanager
def _amp(root: Path, mp: pytest.MonkeyPatch) -> Iterator[Harness]:
    _aws_env(root, mp, AMP_REGION)
    mp.setattr(amp_client, "TPS", {})
    mp.setattr(amp_client, "POLL_INTERVAL", 0.01)
    mp.setattr(amp_client, "MAX_POLL_INTERVAL", 0.02)
    with MotoAmp() as fake:
        workspace = fake.create_workspace()
        target = f'  prometheus: {{type: amp, workspace_id: "{workspace}", region: {AMP_REGION}, '
        specs = _specs(root, target + f'endpoint_url: "{fake.url}"}}\n')

        def owned() -> Counter[str]:
            found = fake.namespaces(workspace).items()
            return Counter(
                s for s in (amp_client.owner(n, tags) for n, (_, tags) in found) if s is not None
            )

        yield Harness(
            "amp",
            specs,
            lambda kind, op, n: fake.inject_fault(kind, n, op),
            owned,
            lambda: len(fake.shared.fired),
        )


HARNESSES: dict[str, Callable[[Path, pytest.MonkeyPatch], AbstractContextManager[Harness]]] = {
    "datadog": _datadog,
    "cloudwatch": _cloudwatch,
    "ruler": _ruler,
    "amp": _amp,
}
TABLE: dict[tuple[str, str], Outcome] = {}
PERSISTENT = "short-page x3"  # the table's row for test_a_persistent_short_page_never_duplicates


def _converge(h: Harness) -> int:
    """Plan and apply until no changes; the number of rounds it took (ROUNDS + 1: never)."""
    for round_ in range(1, ROUNDS + 1):
        if "No changes." in h.cli("plan").stdout:
            return round_
        h.cli("apply", "--auto-approve")
    return ROUNDS + 1


def scenario(h: Harness, kind: str, count: int = 0) -> Outcome:
    """The scenario of the module docstring for one target and one fault (``count``: requests
    per operation that get it; by default 1 for list faults, 2 for the others)."""
    first = h.cli("apply", "--auto-approve")
    assert first.exit_code == 0, first.output
    _change(h.specs)
    ops = LISTS[h.name] if kind in ON_LISTS else WRITES[h.name]
    for op in ops:
        h.inject(kind, op, count or (1 if kind in ON_LISTS else 2))
    outcome = Outcome()
    faulty = h.cli("apply", "--auto-approve")
    outcome.first_exit = faulty.exit_code
    outcome.refused = "looks incomplete" in faulty.output
    if outcome.refused:
        assert faulty.exit_code == 1 and "nothing was planned" in faulty.output
    outcome.fired = h.fired()
    outcome.early_duplicates = sum(n - 1 for n in h.owned().values() if n > 1)
    outcome.rounds = _converge(h)
    found, wanted = h.owned(), h.desired()
    outcome.duplicates = sum(n - 1 for n in found.values() if n > 1)
    outcome.orphans = len(set(found) - wanted)
    outcome.missing = len(wanted - set(found))
    outcome.leaked = sum(out.count(secret) for out in h.outputs for secret in SECRETS)
    return outcome


@pytest.fixture(scope="module", autouse=True)
def table() -> Iterator[dict[tuple[str, str], Outcome]]:
    """Print (and save, with $SLOGEN_FAULTS_TABLE) the faults x targets table at the end."""
    yield TABLE
    if not TABLE:
        return
    lines = [
        "dup: duplicates after the faulty apply / after convergence; orph: orphans after "
        "convergence; leak: secrets in any output; r: plan rounds to 'No changes'",
        f"{'fault':<20}" + "".join(f"{t:>28}" for t in TARGETS),
    ]
    for kind in (*faults.KINDS, PERSISTENT):
        cells = []
        for target in TARGETS:
            o = TABLE.get((kind, target))
            text = "-"
            if o is not None:
                text = (
                    f"dup {o.early_duplicates}/{o.duplicates} orph {o.orphans} "
                    f"leak {o.leaked} r{o.rounds}"
                )
            cells.append(f"{text:>28}")
        lines.append(f"{kind:<20}" + "".join(cells))
    print("\n" + "\n".join(lines))
    path = os.environ.get("SLOGEN_FAULTS_TABLE")
    if path:
        Path(path).write_text(
            json.dumps({f"{k} x {t}": vars(o) for (k, t), o in sorted(TABLE.items())}, indent=1)
        )


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("kind", faults.KINDS)
def test_no_duplicate_no_orphan_no_leak(
    kind: str, target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_tmp: Path
) -> None:
    # client timeouts below the time a commit-then-timeout answer hangs
    monkeypatch.setenv("SLOGEN_HTTP_TIMEOUT", str(faults.HANG / 3))
    with HARNESSES[target](tmp_path, monkeypatch) as h:
        outcome = scenario(h, kind)
    TABLE[(kind, target)] = outcome
    assert outcome.fired > 0, "the fault never fired: the scenario tested nothing"
    assert outcome.rounds <= ROUNDS, "never converged"
    assert outcome.early_duplicates == 0, "a lost create answer made a second object"
    assert outcome.duplicates == 0
    assert outcome.orphans == 0
    assert outcome.missing == 0
    assert outcome.leaked == 0
    if kind == faults.SHORT_PAGE and target in REFUSES_SHORT_PAGES:
        assert outcome.refused, "a short page was planned on"


def test_alarms_of_a_region_no_spec_names_any_more_are_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_tmp: Path
) -> None:
    """Issue 13 case 6: search, the last SLO in us-east-1 (the AWS default region), leaves;
    without ``targets.cloudwatch.regions`` its alarms are deleted all the same."""
    with _cloudwatch(tmp_path, monkeypatch) as h:
        assert h.cli("apply", "--auto-approve").exit_code == 0
        assert any(key.startswith("search/") for key in h.owned())
        (h.specs / "search.yaml").unlink()
        planned = h.cli("plan")
        assert "search/availability" in planned.stdout and "to destroy" in planned.stdout
        assert h.cli("apply", "--auto-approve").exit_code == 0
        assert not any(key.startswith("search/") for key in h.owned())
        assert set(h.owned()) == h.desired()
        assert "No changes." in h.cli("plan").stdout


@pytest.mark.parametrize("target", TARGETS)
def test_a_persistent_short_page_never_duplicates(
    target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_tmp: Path
) -> None:
    """Three short list answers in a row: the plan's read and its confirming read agree, so
    only a total (Datadog's SLO list) or a second listing to check against (CloudWatch's
    tagging API) can tell; elsewhere the create-time checks must keep it from duplicating
    (Datadog's duplicate-monitor refusal, AMP's listing before creates, upserts by name)."""
    monkeypatch.setenv("SLOGEN_HTTP_TIMEOUT", str(faults.HANG / 3))
    with HARNESSES[target](tmp_path, monkeypatch) as h:
        outcome = scenario(h, faults.SHORT_PAGE, count=3)
    TABLE[(PERSISTENT, target)] = outcome
    assert outcome.fired > 0
    assert outcome.rounds <= ROUNDS
    assert (outcome.early_duplicates, outcome.duplicates, outcome.orphans) == (0, 0, 0)
    assert outcome.missing == 0 and outcome.leaked == 0
    if target in ("datadog", "cloudwatch"):
        assert outcome.refused


def test_a_next_page_token_met_twice_stops_the_read() -> None:
    """Paging that loops (a server answering the same NextToken again) is an incomplete read,
    not a list to plan on."""
    import slogen.backends.cloudwatch.read as cloudwatch_read
    from slogen.plan.creates import IncompleteRead

    class Looping:
        def call(self, region: str, service: str, operation: str, **params: Any) -> Any:
            if operation == "GetResources":
                return {"ResourceTagMappingList": [], "PaginationToken": "again"}
            return {"MetricAlarms": [], "CompositeAlarms": [], "NextToken": "again"}

    with pytest.raises(IncompleteRead, match="DescribeAlarms answered the same next-page token"):
        cloudwatch_read.describe(Looping(), "eu-west-1")  # type: ignore[arg-type]
    with pytest.raises(IncompleteRead, match="GetResources answered the same next-page token"):
        cloudwatch_read.owned_tags(Looping(), "eu-west-1")  # type: ignore[arg-type]
