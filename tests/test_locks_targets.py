"""The apply lock of the files, ruler, AMP and CloudWatch targets (issue 13, case 1).

Files: two real ``slogen apply`` processes of one plan, a held ``flock`` refusing an apply,
``--lock-timeout`` waiting for it, and the lock of a killed process gone with it. Ruler, AMP and
CloudWatch: two real ``slogen apply`` processes against the in-process fakes, and a crowd of
threads taking the lock directly that never holds it two at once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from botocore.retries.standard import ExponentialBackoff

import slogen.backends.cloudwatch.aws as cloudwatch_aws
import slogen.backends.cloudwatch.limits as cloudwatch_limits
import tests.fakes.faults as faults
import tests.fakes.ruler as ruler_fake
from slogen.backends.cloudwatch.lock import AlarmLeases, lock_region, region_lock
from slogen.backends.prometheus.amp import client as amp_client
from slogen.backends.prometheus.amp.lock import LOCK_NAMESPACE, amp_lock, lock_data
from slogen.backends.prometheus.ruler.client import Connection, RulerClient
from slogen.backends.prometheus.ruler.lock import lock_namespace, ruler_lock
from slogen.plan import lock as lock_mod
from slogen.spec.model import Target
from tests.cli import run
from tests.conftest import SPECS, example_policies
from tests.fakes.amp import MotoAmp
from tests.fakes.cloudwatch import MotoCloudWatch
from tests.fakes.ruler import FakeRuler
from tests.test_locks import ROOT, one_applied, race

SPEC = """\
service: {name}
slos:
  - name: availability
    objective: 99.5
    window: 30d
    indicator:
      prometheus:
        errors: sum(rate(http_requests_total{{job="{name}",code=~"5.."}}[{{{{ window }}}}]))
        total: sum(rate(http_requests_total{{job="{name}"}}[{{{{ window }}}}]))
"""
SERVICES = ("billing", "checkout", "search")


def write_specs(root: Path, target: str) -> Path:
    specs = root / "specs"
    specs.mkdir(exist_ok=True)
    for name in SERVICES:
        (specs / f"{name}.yaml").write_text(SPEC.format(name=name), encoding="utf-8")
    (specs / "slogen.yaml").write_text(f"targets:\n  prometheus: {target}\n", encoding="utf-8")
    return specs


def crowd(take: Callable[[], AbstractContextManager[None]], threads: int = 4) -> int:
    """``threads`` threads each take the lock once (waiting for it); the most that held it at
    the same moment."""
    state = {"inside": 0, "most": 0, "done": 0}
    guard = threading.Lock()
    errors: list[BaseException] = []

    def one() -> None:
        try:
            with take():
                with guard:
                    state["inside"] += 1
                    state["most"] = max(state["most"], state["inside"])
                time.sleep(0.2)
                with guard:
                    state["inside"] -= 1
                    state["done"] += 1
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert not errors, errors
    assert state["done"] == threads
    return state["most"]


# -- files ------------------------------------------------------------------------------------


@pytest.fixture
def files(in_tmp: Path) -> Path:
    write_specs(in_tmp, "{type: files, dir: rules}")
    run("plan", "specs", "-o", "p.json")
    return in_tmp


def test_two_applies_of_one_plan_to_a_files_target_write_once(files: Path) -> None:
    one_applied(race(files, "p.json"))
    assert sorted(p.name for p in (files / "rules").iterdir()) == [  # no lock file left
        "billing.rules.yml",
        "checkout.rules.yml",
        "search.rules.yml",
    ]
    assert "No changes." in run("plan", "specs").stdout


def test_a_held_file_lock_refuses_and_nothing_is_written(files: Path) -> None:
    with lock_mod.file_lock(files / "rules", "x", "someone@host pid 7", 0):
        result = run("apply", "p.json", exit_code=1)
    assert "Error: prometheus (files:rules) is locked by someone@host pid 7 since " in (
        result.stderr
    )
    assert "(released when that process ends)" in result.stderr
    assert "--lock-timeout" in result.stderr and "Traceback" not in result.stderr
    assert list((files / "rules").iterdir()) == []
    run("apply", "p.json")  # released with the context
    assert (files / "rules" / "billing.rules.yml").exists()


def test_lock_timeout_waits_for_a_file_lock_held_by_another_process(files: Path) -> None:
    holder = _hold_file_lock(files / "rules", seconds=1.5)
    try:
        started = time.monotonic()
        run("apply", "p.json", "--lock-timeout", "30")
        assert time.monotonic() - started >= 0.5
    finally:
        holder.kill()
        holder.wait(10)


def test_the_file_lock_of_a_killed_apply_is_gone_with_it(files: Path) -> None:
    holder = _hold_file_lock(files / "rules", seconds=600)
    try:
        refused = run("apply", "p.json", exit_code=1)
        assert "is locked by holder-process" in refused.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    assert (files / "rules" / ".slogen.lock").exists()  # left behind, but nobody holds it
    assert "Plan: " in run("plan", "specs").stdout  # and it is not read as a rule file
    run("apply", "p.json")
    assert not (files / "rules" / ".slogen.lock").exists()


def _hold_file_lock(directory: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the directory's lock for ``seconds`` (started and holding when
    this returns)."""
    code = (
        "import sys, time; from pathlib import Path; from slogen.plan.lock import file_lock\n"
        f"with file_lock(Path({str(directory)!r}), 'x', 'holder-process', 0):\n"
        "    print('held', flush=True); time.sleep(float(sys.argv[1]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(seconds)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


# -- ruler ------------------------------------------------------------------------------------


@pytest.fixture
def ruler(in_tmp: Path) -> Iterator[FakeRuler]:
    with FakeRuler(tenant="team-a", latency=0.01) as fake:
        write_specs(in_tmp, f'{{type: ruler, url: "{fake.url}", tenant: team-a}}')
        yield fake


def hold_ruler_writes_until_both_read(
    monkeypatch: pytest.MonkeyPatch, lists: int = 4, limit: float = 3.0
) -> None:
    """Make the race certain: the first write to slogen's namespace waits (at most ``limit``
    seconds) until ``lists`` list requests were made - the two staleness checks of each apply,
    had they no lock. Unlocked, both then write; locked, the second apply's first check and
    the first apply's lock and checks open the gate (or the wait runs out)."""
    original = ruler_fake._Handler._handle
    state = {"lists": 0, "deadline": 0.0}
    guard = threading.Lock()

    def handle(self: ruler_fake._Handler, method: str) -> None:
        path = self.path.split("?", 1)[0]
        if method == "GET" and path == ruler_fake.PREFIX:
            with guard:
                state["lists"] += 1
        elif method == "POST" and path == ruler_fake.PREFIX + "/slogen":
            with guard:
                state["deadline"] = state["deadline"] or time.monotonic() + limit
            while state["lists"] < lists and time.monotonic() < state["deadline"]:
                time.sleep(0.01)
        original(self, method)

    monkeypatch.setattr(ruler_fake._Handler, "_handle", handle)


def test_two_applies_to_a_ruler_apply_once_and_leave_no_lock(
    ruler: FakeRuler, in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("plan", "specs", "-o", "p.json")
    hold_ruler_writes_until_both_read(monkeypatch)
    one_applied(race(in_tmp, "p.json"))
    assert len(ruler.groups("slogen")) == 3
    assert ruler.groups(lock_namespace("slogen")) == {}
    assert "No changes." in run("plan", "specs").stdout


def test_ruler_lock_groups_are_never_held_twice(
    ruler: FakeRuler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lock_mod, "POLL_SECONDS", 0.1)
    conn = Connection(ruler.url, "slogen", "team-a")
    most = crowd(lambda: ruler_lock(RulerClient(conn), "ruler", "t", 60))
    assert most == 1
    assert ruler.groups(lock_namespace("slogen")) == {}
    assert ruler.groups("slogen") == {}  # the lock never lands in slogen's namespace


# -- AMP --------------------------------------------------------------------------------------


@pytest.fixture
def amp(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MotoAmp, str]]:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = in_tmp / "aws-empty"
    empty.write_text("")
    env = {
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": "AKIATESTING",
        "AWS_SECRET_ACCESS_KEY": "not-a-secret",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.02)
    monkeypatch.setattr(amp_client, "TPS", {})
    monkeypatch.setattr(amp_client, "POLL_INTERVAL", 0.01)
    with MotoAmp() as fake:
        workspace = fake.create_workspace()
        write_specs(
            in_tmp,
            f'{{type: amp, workspace_id: "{workspace}", region: eu-west-1, '
            f'endpoint_url: "{fake.url}"}}',
        )
        yield fake, workspace


def test_two_applies_to_amp_apply_once_and_leave_no_lock(
    amp: tuple[MotoAmp, str], in_tmp: Path
) -> None:
    fake, workspace = amp
    run("plan", "specs", "-o", "p.json")
    one_applied(race(in_tmp, "p.json", env=dict(os.environ)))
    assert sorted(fake.namespaces(workspace)) == [f"slogen-{s}" for s in SERVICES]
    assert "No changes." in run("plan", "specs").stdout


def test_amp_lock_namespace_is_never_held_twice(
    amp: tuple[MotoAmp, str], monkeypatch: pytest.MonkeyPatch, in_tmp: Path
) -> None:
    fake, workspace = amp
    monkeypatch.setattr(lock_mod, "POLL_SECONDS", 0.1)
    settings = Target(
        "prometheus",
        "amp",
        (("workspace_id", workspace), ("region", "eu-west-1"), ("endpoint_url", fake.url)),
    )
    most = crowd(lambda: amp_lock(settings, "amp", "t", 60))
    assert most == 1
    assert LOCK_NAMESPACE not in fake.namespaces(workspace)


def test_an_expired_amp_lock_is_taken_over(
    amp: tuple[MotoAmp, str], monkeypatch: pytest.MonkeyPatch, in_tmp: Path
) -> None:
    fake, workspace = amp
    settings = Target(
        "prometheus",
        "amp",
        (("workspace_id", workspace), ("region", "eu-west-1"), ("endpoint_url", fake.url)),
    )
    past = time.time() - 3600
    crashed = lock_mod.Lease("old", "crashed@ci pid 1", past, past + 900, True)
    amp_client.writer(settings).call(
        "CreateRuleGroupsNamespace", name=LOCK_NAMESPACE, data=lock_data(crashed).encode()
    )
    assert LOCK_NAMESPACE in fake.namespaces(workspace)
    result = run("apply", "specs", "--auto-approve")
    assert "taking over the lock of crashed@ci pid 1, whose lease expired" in (result.stderr)
    assert LOCK_NAMESPACE not in fake.namespaces(workspace)


# -- CloudWatch -------------------------------------------------------------------------------


@pytest.fixture
def cloudwatch(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoCloudWatch]:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = in_tmp / "aws-empty"
    empty.write_text("")
    for name, value in {
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": "AKIATESTING",
        "AWS_SECRET_ACCESS_KEY": "not-a-secret",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cloudwatch_limits, "TPS", {})
    monkeypatch.setitem(ExponentialBackoff._DEFAULT_BACKOFF_CONFIG, "throttling_base_scale", 0.02)
    specs = in_tmp / "specs"
    shutil.copytree(SPECS, specs)
    with MotoCloudWatch() as fake:
        fake.reset()  # moto's state is per process: start from an empty account
        target = f'{{type: api, endpoint_url: "{fake.url}", regions: [eu-west-1, us-east-1]}}'
        (specs / "slogen.yaml").write_text(
            example_policies() + f"targets:\n  cloudwatch: {target}\n", encoding="utf-8"
        )
        yield fake


def _cloudwatch_settings(fake: MotoCloudWatch) -> Target:
    return Target(
        "cloudwatch", "api", (("endpoint_url", fake.url), ("regions", ["eu-west-1", "us-east-1"]))
    )


def _lock_alarms(fake: MotoCloudWatch) -> list[str]:
    answer = fake.client("cloudwatch", "eu-west-1").describe_alarms(AlarmNamePrefix="slogen-lock/")
    return [a["AlarmName"] for a in answer["MetricAlarms"]]


def test_cloudwatch_lock_alarms_are_never_held_twice(
    cloudwatch: MotoCloudWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lock_mod, "POLL_SECONDS", 0.1)
    settings = _cloudwatch_settings(cloudwatch)
    assert lock_region(settings) == "eu-west-1"  # the first configured region
    most = crowd(lambda: region_lock(settings, "cloudwatch", "t", 60))
    assert most == 1
    assert _lock_alarms(cloudwatch) == []


def test_a_cloudwatch_lock_alarm_is_not_owned_and_refuses_an_apply(
    cloudwatch: MotoCloudWatch,
) -> None:
    settings = _cloudwatch_settings(cloudwatch)
    store = AlarmLeases(cloudwatch_aws.writer(settings), "eu-west-1")
    now = time.time()
    lease = store.put(lock_mod.Lease("t9", "ci@runner pid 9", now, now + 600, True))
    plan = run("plan", "specs", "--target", "cloudwatch")
    assert "slogen-lock" not in plan.stdout and "to destroy" in plan.stdout
    assert ", 0 to destroy." in plan.stdout
    refused = run("apply", "specs", "--target", "cloudwatch", "--auto-approve", exit_code=1)
    assert "Error: cloudwatch (api) is locked by ci@runner pid 9 since " in refused.stderr
    store.remove(lease)
    run("apply", "specs", "--target", "cloudwatch", "--auto-approve")
    assert _lock_alarms(cloudwatch) == []
    assert "No changes." in run("plan", "specs", "--target", "cloudwatch").stdout


# -- every target ---------------------------------------------------------------------------


def test_every_target_of_every_backend_has_a_lock() -> None:
    """The contract's ``lock``, on every target type a backend declares (and the fourth
    backend's, written only against the contract)."""
    import tests.fourth_backend as fourth
    from slogen.backends import registry

    options = {"dir": "x", "url": "http://127.0.0.1:9", "workspace_id": "w", "region": "r"}
    for backend in [*registry.backends(), fourth.BACKEND]:
        for kind, names in backend.capabilities.target_options.items():
            given = tuple((n, options[n]) for n in names if n in options)
            target = backend.target(Target(backend.name, kind, given))
            assert callable(getattr(target, "lock", None)), (backend.name, kind)


def test_two_applies_to_cloudwatch_create_each_alarm_once(
    cloudwatch: MotoCloudWatch, in_tmp: Path
) -> None:
    run("plan", "specs", "--target", "cloudwatch", "-o", "p.json")
    one_applied(race(in_tmp, "p.json", env=dict(os.environ)))
    assert _lock_alarms(cloudwatch) == []
    assert "No changes." in run("plan", "specs", "--target", "cloudwatch").stdout


@pytest.mark.parametrize("kind", [faults.COMMIT_THEN_5XX, faults.COMMIT_THEN_TIMEOUT])
def test_amp_lock_whose_create_answer_is_lost_is_still_taken(
    amp: tuple[MotoAmp, str], monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The lock's own create stored but its answer lost: the retry is answered Conflict, and
    the namespace found there holds this run's token, so the lock is held (not waited for)."""
    fake, workspace = amp
    monkeypatch.setenv("SLOGEN_HTTP_TIMEOUT", "0.5")
    fake.inject_fault(kind, 1, f"CreateRuleGroupsNamespace {LOCK_NAMESPACE}")
    result = run("apply", "specs", "--auto-approve")
    assert "Apply complete" in result.stdout
    assert "is locked by" not in result.stderr
    assert sorted(fake.namespaces(workspace)) == [f"slogen-{s}" for s in SERVICES]
    assert "No changes." in run("plan", "specs").stdout
