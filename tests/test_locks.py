"""Two ``slogen apply`` runs at once never both write: a lock per target (issue 13, case 1).

The concurrency tests run two real ``python -m slogen apply`` processes side by side against
the fakes on 127.0.0.1 (served by threads of this test process) and count what exists after:
exactly one object per slogen key, exactly one apply that wrote, and the other either refused
with "is locked by ..." or (having waited) refused as stale. The rest checks the pieces: leases
expire and are taken over, ``--lock-timeout`` waits, locks are released after failures, a killed
process's file lock is gone with it, and lock objects are never read as owned resources.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import tests.fakes.faults as faults
from slogen.backends.datadog.api import client as dd_client
from slogen.backends.datadog.api.lock import LOCK_TAG
from slogen.plan import lock as lock_mod
from tests.cli import run
from tests.conftest import SPECS, example_policies
from tests.fakes.datadog_api import FakeDatadog

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "dd-api-0123456789abcdef"
APP_KEY = "dd-app-fedcba9876543210"
KEYS = {"monitors": 40, "slos": 3}  # rendered from specs/ (see tests/test_datadog_api.py)
PROCESS_TIMEOUT = 120


def start_apply(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A real ``slogen apply`` process (the installed package, this interpreter). Its output
    goes to a file, not a pipe: a plan longer than a pipe's buffer (64 KiB) would block the
    process in its first print while the test waits for it to take the lock."""
    environ = {**os.environ, "NO_COLOR": "1", **(env or {})}
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    output = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 (closed by finish)
    proc = subprocess.Popen(
        [sys.executable, "-m", "slogen", "apply", *args],
        cwd=cwd,
        env=environ,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )
    proc.output_file = output  # type: ignore[attr-defined]
    return proc


@dataclass
class Finished:
    code: int
    out: str


def finish(proc: subprocess.Popen) -> Finished:
    try:
        proc.wait(timeout=PROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    output = proc.output_file  # type: ignore[attr-defined]
    output.seek(0)
    text = output.read()
    output.close()
    return Finished(proc.returncode, text)


def race(cwd: Path, *args: str, env: dict[str, str] | None = None) -> list[Finished]:
    """Two applies started together; their results, in start order."""
    procs = [start_apply(cwd, *args, env=env) for _ in range(2)]
    return [finish(p) for p in procs]


def one_applied(results: list[Finished]) -> tuple[Finished, Finished]:
    """The apply that wrote and the one that was refused (asserts there is one of each)."""
    codes = sorted(r.code for r in results)
    detail = "\n\n".join(f"exit {r.code}:\n{r.out}" for r in results)
    assert codes == [0, 1], detail
    won = next(r for r in results if r.code == 0)
    lost = next(r for r in results if r.code == 1)
    assert "Apply complete" in won.out, detail
    # refused, nothing written: locked; or, having waited, stale; or (planning while the other
    # wrote) a read that changed under it, which the reads refuse as possibly incomplete
    refusals = ("is locked by", "the plan is stale", "looks incomplete")
    assert any(text in lost.out for text in refusals), detail
    assert "Traceback" not in detail
    return won, lost


# -- Datadog ------------------------------------------------------------------------------------


@dataclass
class Datadog:
    fake: FakeDatadog
    root: Path
    env: dict[str, str]

    def owned_keys(self) -> Counter[str]:
        """How many live objects carry each slogen key (monitors and SLOs)."""
        counts: Counter[str] = Counter()
        with self.fake.lock:
            objects = [*self.fake.monitors.values(), *self.fake.slos.values()]
            for obj in objects:
                tags = obj.get("tags") or []
                for tag in tags:
                    if tag.startswith("slogen-key:") and "managed-by:slogen" in tags:
                        counts[tag] += 1
        return counts

    def lock_monitors(self) -> list[dict[str, Any]]:
        with self.fake.lock:
            return [m for m in self.fake.monitors.values() if LOCK_TAG in (m.get("tags") or [])]


@pytest.fixture
def datadog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_tmp: Path) -> Iterator[Datadog]:
    env = {"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(
        dd_client, "RETRY", dd_client.RetryPolicy(attempts=8, max_sleep=0.02, backoff=0.005)
    )
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    # a little latency per request, so that the two applies overlap for certain
    with FakeDatadog(api_key=API_KEY, app_key=APP_KEY, latency=0.01) as fake:
        config = example_policies() + f'targets:\n  datadog: {{type: api, host: "{fake.url}"}}\n'
        (specs / "slogen.yaml").write_text(config, encoding="utf-8")
        yield Datadog(fake, tmp_path, env)


def _plan_datadog(dd: Datadog) -> None:
    run("plan", "specs", "--target", "datadog", "-o", "p.json")


def hold_writes_until_both_read(fake: FakeDatadog, reads: int = 4, limit: float = 3.0) -> None:
    """Make the race certain: the first write of slogen's objects waits (at most ``limit``
    seconds) until ``reads`` lists of owned monitors were made - the staleness check and the
    apply's own read of each process, had neither a lock. Unlocked, both applies then pass
    every check before either writes (which is what duplicated before the lock); locked, the
    second never gets that far and the wait simply runs out."""
    original = fake._handle
    state = {"lists": 0, "deadline": 0.0}

    def handle(method: str, path: str, headers: Any, raw: bytes):
        if method == "GET" and path.startswith("/api/v1/monitor?") and "managed-by" in path:
            with fake.lock:
                state["lists"] += 1
        elif method == "POST" and LOCK_TAG.encode() not in raw:
            with fake.lock:
                state["deadline"] = state["deadline"] or time.monotonic() + limit
            while state["lists"] < reads and time.monotonic() < state["deadline"]:
                time.sleep(0.01)
        return original(method, path, headers, raw)

    fake._handle = handle  # type: ignore[method-assign]


def test_two_applies_of_one_plan_create_each_object_once(datadog: Datadog) -> None:
    _plan_datadog(datadog)
    hold_writes_until_both_read(datadog.fake)
    one_applied(race(datadog.root, "p.json", env=datadog.env))
    counts = datadog.owned_keys()
    assert len(counts) == KEYS["monitors"] + KEYS["slos"]
    assert set(counts.values()) == {1}, [k for k, n in counts.items() if n > 1]
    assert datadog.lock_monitors() == []  # released
    assert "No changes." in run("plan", "specs", "--target", "datadog").stdout


def test_a_waiting_apply_finds_the_plan_stale_after_the_first(datadog: Datadog) -> None:
    _plan_datadog(datadog)
    hold_writes_until_both_read(datadog.fake)
    results = race(datadog.root, "p.json", "--lock-timeout", "60", env=datadog.env)
    _won, lost = one_applied(results)
    assert "the plan is stale" in lost.out  # it waited, then re-checked under the lock
    assert set(datadog.owned_keys().values()) == {1}
    assert datadog.lock_monitors() == []


def test_two_plan_and_apply_runs_create_each_object_once(datadog: Datadog) -> None:
    args = ("specs", "--target", "datadog", "--auto-approve", "--lock-timeout", "60")
    hold_writes_until_both_read(datadog.fake)
    one_applied(race(datadog.root, *args, env=datadog.env))
    counts = datadog.owned_keys()
    assert len(counts) == KEYS["monitors"] + KEYS["slos"] and set(counts.values()) == {1}


def test_the_lock_monitor_is_never_an_owned_resource(datadog: Datadog) -> None:
    from slogen.backends.datadog.api.client import Client
    from slogen.backends.datadog.api.lock import MonitorLeases
    from slogen.spec.model import Target

    settings = Target("datadog", "api", (("host", datadog.fake.url),))
    with Client(settings) as client:
        store = MonitorLeases(client)
        lease = store.put(lock_mod.Lease("t0", "someone", time.time(), time.time() + 60, True))
        assert [e.token for e in store.entries()] == ["t0"]
        plan = run("plan", "specs", "--target", "datadog")
        assert "Plan: 46 to add, 0 to change, 0 to destroy." in plan.stdout  # + 3 dashboards
        # held by someone else: apply refuses at once, nothing written
        result = run("apply", "specs", "--target", "datadog", "--auto-approve", exit_code=1)
        assert "Error: datadog (api) is locked by someone since " in result.stderr
        assert "(expires " in result.stderr and "Traceback" not in result.stderr
        assert datadog.owned_keys() == Counter()
        store.remove(lease)
        assert store.entries() == []


def test_an_expired_lease_is_taken_over_with_a_note(datadog: Datadog) -> None:
    from slogen.backends.datadog.api.client import Client
    from slogen.backends.datadog.api.lock import MonitorLeases
    from slogen.spec.model import Target

    settings = Target("datadog", "api", (("host", datadog.fake.url),))
    with Client(settings) as client:
        past = time.time() - 3600
        MonitorLeases(client).put(lock_mod.Lease("old", "crashed@ci pid 1", past, past + 900, True))
    result = run("apply", "specs", "--target", "datadog", "--auto-approve")
    assert "took over the lock of crashed@ci pid 1, whose lease expired" in result.stderr
    assert len(datadog.owned_keys()) == 43
    assert datadog.lock_monitors() == []


def test_the_lock_is_released_after_a_failed_apply(datadog: Datadog) -> None:
    original = datadog.fake._route

    def refuse_slos(method: str, path: str, params: dict[str, str], body: Any) -> Any:
        if method == "POST" and path == "/api/v1/slo":
            from tests.fakes.datadog_api import _bad_request

            raise _bad_request("refused for the test")
        return original(method, path, params, body)

    datadog.fake._route = refuse_slos  # type: ignore[method-assign]
    result = run("apply", "specs", "--target", "datadog", "--auto-approve", exit_code=1)
    assert "refused for the test" in result.output
    assert datadog.lock_monitors() == []
    datadog.fake._route = original  # type: ignore[method-assign]
    run("apply", "specs", "--target", "datadog", "--auto-approve")
    assert len(datadog.owned_keys()) == 43


def test_lock_timeout_waits_for_the_holder_to_release(
    datadog: Datadog, monkeypatch: pytest.MonkeyPatch
) -> None:
    from slogen.backends.datadog.api.client import Client
    from slogen.backends.datadog.api.lock import MonitorLeases
    from slogen.spec.model import Target

    monkeypatch.setattr(lock_mod, "POLL_SECONDS", 0.2)
    settings = Target("datadog", "api", (("host", datadog.fake.url),))
    client = Client(settings)
    store = MonitorLeases(client)
    lease = store.put(lock_mod.Lease("t1", "other", time.time(), time.time() + 60, True))
    import threading

    releaser = threading.Timer(1.5, lambda: store.remove(lease))
    releaser.start()
    try:
        started = time.monotonic()
        run("apply", "specs", "--target", "datadog", "--auto-approve", "--lock-timeout", "30")
        assert time.monotonic() - started >= 1.4
    finally:
        releaser.cancel()
        releaser.join(5)
        client.close()
    assert len(datadog.owned_keys()) == 43


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_a_terminated_apply_releases_its_lock(datadog: Datadog) -> None:
    """SIGTERM (a cancelled CI job) unwinds like Ctrl-C: the lease is removed on the way out."""
    _plan_datadog(datadog)
    datadog.fake.latency = 0.2  # slow enough to be caught in the middle
    proc = start_apply(datadog.root, "p.json", env=datadog.env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any('"held": true' in m["message"] for m in datadog.lock_monitors()):
                break
            time.sleep(0.05)
        assert datadog.lock_monitors(), "the apply never took its lock"
        time.sleep(0.3)  # into the apply's own requests
        proc.send_signal(signal.SIGTERM)
        result = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert result.code == 130, result.out
    assert "Interrupted." in result.out and "Traceback" not in result.out
    assert datadog.lock_monitors() == []


def test_a_running_apply_renews_its_lease(
    datadog: Datadog, monkeypatch: pytest.MonkeyPatch
) -> None:
    from slogen.backends.datadog.api.client import Client
    from slogen.backends.datadog.api.lock import MonitorLeases
    from slogen.spec.model import Target

    monkeypatch.setattr(lock_mod, "RENEW_SECONDS", 0.2)
    settings = Target("datadog", "api", (("host", datadog.fake.url),))
    with Client(settings) as client:
        store = MonitorLeases(client)
        with lock_mod.lease_lock(store, "datadog", "me", 0):
            first = store.entries()[0]
            assert first.held
            deadline = time.monotonic() + 10
            while store.entries()[0].expires == first.expires and time.monotonic() < deadline:
                time.sleep(0.05)
            assert store.entries()[0].expires > first.expires
        assert store.entries() == []


def test_holder_names_the_user_host_process_and_ci_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_RUN_ID", raising=False)
    monkeypatch.delenv("GITHUB_WORKFLOW", raising=False)
    plain = lock_mod.holder()
    assert plain.endswith(f" pid {os.getpid()}") and "@" in plain
    monkeypatch.setenv("GITHUB_RUN_ID", "912")
    monkeypatch.setenv("GITHUB_WORKFLOW", "deploy")
    assert lock_mod.holder() == f"{plain} (GitHub Actions run 912 of 'deploy')"


def test_no_lock_applies_past_a_held_lock(datadog: Datadog) -> None:
    """--no-lock is the escape hatch for credentials that cannot write the lock object."""
    from slogen.backends.datadog.api.client import Client
    from slogen.backends.datadog.api.lock import MonitorLeases
    from slogen.spec.model import Target

    settings = Target("datadog", "api", (("host", datadog.fake.url),))
    with Client(settings) as client:
        MonitorLeases(client).put(lock_mod.Lease("x", "other", time.time(), time.time() + 60, True))
    run("apply", "specs", "--target", "datadog", "--auto-approve", "--no-lock")
    assert len(datadog.owned_keys()) == 43
    assert len(datadog.lock_monitors()) == 1  # someone else's: left alone


@pytest.mark.parametrize("kind", [faults.COMMIT_THEN_5XX, faults.COMMIT_THEN_TIMEOUT])
def test_a_lock_create_whose_answer_is_lost_is_recognised_by_its_token(
    datadog: Datadog, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The lock monitor's create is stored but its answer lost: it is sent once (never
    repeated blindly; the fake refusing a duplicate monitor must not be what saves it), found
    again by its token, held, and deleted at the end."""
    monkeypatch.setenv("SLOGEN_HTTP_TIMEOUT", "0.5")
    sent: list[str] = []  # lock creates that reached the fake (a retry refused as duplicate too)
    original = datadog.fake._create_monitor

    def counting(body: Any, *args: Any, **kwargs: Any) -> Any:
        if LOCK_TAG in (body.get("tags") or []):
            sent.append(str(body.get("message")))
        return original(body, *args, **kwargs)

    monkeypatch.setattr(datadog.fake, "_create_monitor", counting)
    datadog.fake.inject_fault(kind, 1, "POST monitor")
    result = run("apply", "specs", "--target", "datadog", "--auto-approve")
    assert "Apply complete" in result.stdout
    assert "is locked by" not in result.stderr
    assert len(sent) == 1  # sent once: a create is never repeated blindly
    assert len(datadog.owned_keys()) == 43
    assert datadog.lock_monitors() == []
