"""The Datadog ``api`` target end to end: the CLI, the real datadog-api-client, the fake API.

Every test starts its own fake Datadog on 127.0.0.1 (tests/fakes/datadog_api.py) and points a
project's ``slogen.yaml`` at it. Retry sleeps are capped small so storms of 429s and 5xx stay
fast; one test checks that ``X-RateLimit-Reset`` is what decides the sleep.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from slogen.backends.datadog.api import client as dd_client
from slogen.backends.datadog.api import read as dd_read
from tests.cli import Result, run
from tests.conftest import SPECS, example_policies
from tests.fakes.datadog_api import FakeDatadog

API_KEY = "dd-api-0123456789abcdef"
APP_KEY = "dd-app-fedcba9876543210"
# rendered from specs/ (see the golden files): one dashboard per service
EXAMPLE_OBJECTS = {"monitors": 40, "slos": 3, "dashboards": 3}


@dataclass
class Env:
    fake: FakeDatadog
    specs: Path
    root: Path

    def plan(self, *args: str, exit_code: int = 0) -> Result:
        return run("plan", str(self.specs), "--target", "datadog", *args, exit_code=exit_code)

    def apply(self, *args: str, exit_code: int = 0) -> Result:
        return run(
            "apply",
            str(self.specs),
            "--target",
            "datadog",
            "--auto-approve",
            *args,
            exit_code=exit_code,
        )

    def owned(self) -> dict[str, dict[str, Any]]:
        """Live monitors by slogen key (only owned ones)."""
        out = {}
        with self.fake.lock:
            for monitor in self.fake.monitors.values():
                tags = monitor.get("tags") or []
                keys = [t.split(":", 1)[1] for t in tags if t.startswith("slogen-key:")]
                if "managed-by:slogen" in tags and keys:
                    out[keys[0]] = monitor
        return out

    def gets_since(self, start: int) -> list[tuple[str, str]]:
        with self.fake.lock:
            return list(self.fake.requests[start:])


def _config(host: str) -> str:
    return example_policies() + f'targets:\n  datadog: {{type: api, host: "{host}"}}\n'


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_tmp: Path) -> Iterator[Env]:
    monkeypatch.setenv("DD_API_KEY", API_KEY)
    monkeypatch.setenv("DD_APP_KEY", APP_KEY)
    monkeypatch.delenv("DD_APPLICATION_KEY", raising=False)
    # Retries stay bounded and fast in tests; test_rate_limit_reset_decides_the_sleep checks
    # the real delay computation.
    monkeypatch.setattr(
        dd_client, "RETRY", dd_client.RetryPolicy(attempts=8, max_sleep=0.02, backoff=0.005)
    )
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    with FakeDatadog(api_key=API_KEY, app_key=APP_KEY) as fake:
        (specs / "slogen.yaml").write_text(_config(fake.url), encoding="utf-8")
        yield Env(fake, specs, tmp_path)


def applied(env: Env) -> Env:
    env.apply()
    return env


# -- create, no-op, drift ----------------------------------------------------------------------


def test_create_from_empty_then_plan_shows_no_changes(env: Env) -> None:
    first = env.plan()
    total = sum(EXAMPLE_OBJECTS.values())
    assert f"Plan: {total} to add, 0 to change, 0 to destroy." in first.stdout
    result = env.apply()
    assert f"Apply complete: {total} changes made." in result.stdout
    assert len(env.fake.slos) == EXAMPLE_OBJECTS["slos"]
    assert len(env.fake.monitors) == EXAMPLE_OBJECTS["monitors"]
    assert len(env.fake.dashboards) == EXAMPLE_OBJECTS["dashboards"]
    # ids were substituted: every reference points at an object that exists
    slo_ids = set(env.fake.slos)
    for monitor in env.fake.monitors.values():
        assert "${" not in monitor["query"]
        if monitor["type"] == "slo alert":
            assert monitor["query"].split('"')[1] in slo_ids
    start = len(env.fake.requests)
    again = env.plan("--detailed-exitcode")
    assert "datadog (api): up to date" in again.stdout and "No changes." in again.stdout
    # reading live state costs list pages, and one GET per dashboard (the list has no widgets)
    assert sorted((m, p.split("?")[0]) for m, p in env.gets_since(start)) == [
        ("GET", "/api/v1/dashboard"),
        *sorted(("GET", f"/api/v1/dashboard/{i}") for i in env.fake.dashboards),
        ("GET", "/api/v1/monitor"),
        ("GET", "/api/v1/slo"),
    ]


def test_drift_shows_the_field_and_apply_keeps_unmanaged_options(env: Env) -> None:
    applied(env)
    key = "checkout/availability/ticket-3d/long"
    monitor_id = env.owned()[key]["id"]
    env.fake.edit_monitor(
        monitor_id, options={"thresholds": {"critical": 0.002}, "silenced": {"*": None}}
    )
    result = env.plan("--detailed-exitcode", exit_code=2)
    assert f"~ monitor {key}" in result.stdout
    assert "options.thresholds.critical: 0.002 → 0.001" in result.stdout
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in result.stdout
    env.apply()
    live = env.fake.monitors[monitor_id]
    assert live["options"]["thresholds"] == {"critical": 0.001}
    assert live["options"]["silenced"] == {"*": None}  # a mute is not slogen's to undo
    assert "No changes." in env.plan().stdout


def test_server_side_normalisations_are_not_drift(env: Env) -> None:
    applied(env)
    monitor = env.owned()["checkout/latency/page-1h"]
    env.fake.edit_monitor(
        monitor["id"],
        tags=list(reversed(monitor["tags"])),
        message=monitor["message"] + "\n\n",
        options={"new_host_delay": 600, "include_tags": False},
    )
    assert "No changes." in env.plan().stdout


# -- deletes and ownership -----------------------------------------------------------------------


def test_removing_an_slo_deletes_only_owned_objects(env: Env) -> None:
    applied(env)
    like = {
        "type": "metric alert",
        "query": "sum(last_1h):sum:search.query.errors{env:prod}.as_count() > 10",
        "message": "hand made",
        "options": {"thresholds": {"critical": 10}},
    }
    keep = [
        env.fake.add_monitor(
            {
                **like,
                "name": "[slogen] search/availability terraform twin",
                "tags": ["managed-by:terraform", "slogen-key:search/availability/page-1h"],
            }
        ),
        env.fake.add_monitor(
            {**like, "name": "[slogen] search no key", "tags": ["managed-by:slogen", "slo:a"]}
        ),
        env.fake.add_monitor({**like, "name": "search availability by hand", "tags": []}),
    ]
    keep_slo = env.fake.add_slo(
        {
            "name": "search/availability",
            "type": "metric",
            "query": {"numerator": "sum:a{*}.as_count()", "denominator": "sum:b{*}.as_count()"},
            "thresholds": [{"timeframe": "30d", "target": 99.9}],
            "tags": ["managed-by:terraform", "slogen-key:search/availability"],
        }
    )
    (env.specs / "search.yaml").unlink()
    result = env.plan()
    # the service's 15 monitors, 2 SLOs... and its dashboard
    assert "Plan: 0 to add, 0 to change, 19 to destroy." in result.stdout
    assert "no single slogen-key: tag; slogen leaves them alone" in result.stdout
    deleted = [line for line in result.stdout.splitlines() if line.startswith("  - ")]
    assert all(" search/" in line or line == "  - dashboard search" for line in deleted)
    env.apply()
    assert all(i in env.fake.monitors for i in keep)
    assert keep_slo in env.fake.slos
    assert not [k for k in env.owned() if k.startswith("search/")]
    assert "No changes." in env.plan().stdout


def test_a_copy_with_other_content_is_left_alone_and_reported(env: Env) -> None:
    # a monitor cloned in the Datadog UI keeps every tag, slogen's included, and is then
    # edited: it is someone's work, not a leftover of slogen's, so it is never deleted
    applied(env)
    original = env.owned()["checkout/latency/ticket-3d/long"]
    copy = {k: original[k] for k in ("type", "query", "tags", "options")}
    duplicate = env.fake.add_monitor({**copy, "name": "copy", "message": "my own variant"})
    result = env.plan()
    assert f"#{duplicate}" not in result.stdout
    assert "No changes." in result.stdout
    assert (
        f"monitor {duplicate} carries the tags of checkout/latency/ticket-3d/long" in result.stdout
    )
    assert "slogen leaves it alone" in result.stdout
    env.apply()
    assert duplicate in env.fake.monitors and original["id"] in env.fake.monitors
    assert env.fake.monitors[duplicate]["message"] == "my own variant"


def test_an_exact_duplicate_owned_object_is_deleted(env: Env) -> None:
    # what a create whose answer was lost and was sent again leaves: the same object twice
    # (Datadog refuses an exact duplicate monitor, validate=False stores it as if it raced)
    applied(env)
    original = env.owned()["checkout/latency/ticket-3d/long"]
    copy = {k: original[k] for k in ("name", "type", "query", "message", "tags", "options")}
    duplicate = env.fake.add_monitor({**copy, "priority": original.get("priority")}, validate=False)
    slo = next(s for s in env.fake.slos.values() if "slogen-key:checkout/latency" in s["tags"])
    slo_copy = {k: slo[k] for k in ("name", "description", "type", "query", "thresholds", "tags")}
    twin = env.fake.add_slo(slo_copy)
    result = env.plan()
    assert f"- monitor checkout/latency/ticket-3d/long#{duplicate}" in result.stdout
    assert f"- slo checkout/latency#{twin}" in result.stdout
    assert "Plan: 0 to add, 0 to change, 2 to destroy." in result.stdout
    env.apply()
    assert duplicate not in env.fake.monitors and original["id"] in env.fake.monitors
    assert twin not in env.fake.slos and slo["id"] in env.fake.slos
    assert "No changes." in env.plan().stdout


# -- replacement --------------------------------------------------------------------------------


def test_a_type_change_is_a_replacement_and_repoints_composites(env: Env) -> None:
    applied(env)
    spec = env.specs / "checkout.yaml"
    text = spec.read_text()
    start = text.index("name: latency")
    at = text.index("window: 30d", start)
    spec.write_text(text[:at] + "window: 28d" + text[at + len("window: 30d") :])
    result = env.plan()
    assert "-/+ monitor checkout/latency/page-1h" in result.stdout
    assert 'type: "slo alert" → "composite"  # forces replacement' in result.stdout
    assert "- slo checkout/latency" in result.stdout
    env.apply()
    assert "No changes." in env.plan().stdout
    assert env.owned()["checkout/latency/page-1h"]["type"] == "composite"
    spec.write_text(text)
    env.apply()
    assert "No changes." in env.plan().stdout
    assert env.owned()["checkout/latency/page-1h"]["type"] == "slo alert"


def _retype_child(env: Env, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Give the composite child ``key`` another type by hand (Datadog cannot, but an import
    can), so the next plan replaces it; returns the child and its composite as they were."""
    child = env.owned()[key]
    composite = env.owned()[key.rsplit("/", 1)[0]]
    with env.fake.lock:
        env.fake.monitors[child["id"]]["type"] = "log alert"
    return child, composite


def test_replacing_a_child_repoints_the_unchanged_composite(env: Env) -> None:
    applied(env)
    key = "checkout/latency/ticket-3d/long"
    child, composite = _retype_child(env, key)
    result = env.plan()
    assert f"-/+ monitor {key}" in result.stdout
    assert "~ monitor checkout/latency/ticket-3d\n" not in result.stdout
    env.apply()
    new_child = env.owned()[key]
    assert new_child["id"] != child["id"] and child["id"] not in env.fake.monitors
    assert str(new_child["id"]) in env.fake.monitors[composite["id"]]["query"]
    assert "No changes." in env.plan().stdout


# -- throttling, errors, interruption --------------------------------------------------------------


def _storm(fake: FakeDatadog, status: int, every: int, count: int) -> None:
    """Make every ``every``-th /api call answer ``status`` until ``count`` have, with the fake's
    own fault answers (a 429 carries X-RateLimit-Reset twice): a storm that hits the reads and
    the concurrent writes alike."""
    original = fake._handle
    state = {"seen": 0, "left": count}

    def handle(method: str, path: str, headers: Any, raw: bytes):
        if path.startswith("/api/"):
            with fake.lock:
                state["seen"] += 1
                due = state["seen"] % every == 0 and not fake.pending_injections
                if state["left"] > 0 and due:
                    state["left"] -= 1
                    fake.inject(status, 1, duplicate_reset_header=True, reset_seconds=1)
        return original(method, path, headers, raw)

    fake._handle = handle  # type: ignore[method-assign]


def test_429_storms_with_a_doubled_reset_header_converge(env: Env) -> None:
    env.fake.inject(429, count=5, duplicate_reset_header=True, reset_seconds=1)
    _storm(env.fake, 429, every=2, count=30)
    env.apply()
    assert env.fake.request_count() > 43 + 4 + 30  # every refused call was made again
    assert len(env.fake.monitors) == EXAMPLE_OBJECTS["monitors"]
    assert "No changes." in env.plan().stdout


def test_5xx_converge(env: Env) -> None:
    env.fake.inject(503, count=3)
    _storm(env.fake, 500, every=3, count=15)
    env.apply()
    assert len(env.fake.monitors) == EXAMPLE_OBJECTS["monitors"]
    assert "No changes." in env.plan().stdout


def test_rate_limit_reset_decides_the_sleep(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(dd_client.time, "sleep", slept.append)
    monkeypatch.setattr(dd_client, "RETRY", dd_client.RetryPolicy(max_sleep=4))
    env.fake.inject(429, count=1, duplicate_reset_header=True, reset_seconds=3)
    env.fake.inject(429, count=1, reset_seconds=60)
    env.plan()
    # the two list calls run side by side: either may meet either fault
    short, capped = sorted(slept)
    assert 3 <= short < 3.5  # "3, 3" read as 3 seconds
    assert capped == 4  # 60 s asked, capped


def test_retries_are_bounded(env: Env) -> None:
    env.fake.inject(503, count=100)
    result = env.plan(exit_code=1)
    assert "cannot read Datadog live state: listing " in result.stderr
    assert "HTTP 503: Service Unavailable" in result.stderr
    assert "Traceback" not in result.output
    # each of the three list calls (monitors, SLOs, dashboards) gave up after its attempts
    assert env.fake.pending_injections == 100 - 3 * dd_client.RETRY.attempts


def _fail_after(fake: FakeDatadog, requests: int) -> None:
    """From the ``requests``-th /api call on, every call answers 500 (until restored)."""
    original = fake._handle
    seen = [0]

    def handle(method: str, path: str, headers: Any, raw: bytes):
        if path.startswith("/api/"):
            with fake.lock:
                seen[0] += 1
                if seen[0] > requests:
                    fake.requests.append((method, path))
                    return 500, {"errors": ["Internal Server Error"]}, []
        return original(method, path, headers, raw)

    fake._handle = handle  # type: ignore[method-assign]
    fake._restore = original  # type: ignore[attr-defined]


def test_interrupted_apply_reports_what_was_done_and_plan_shows_the_rest(env: Env) -> None:
    # plan reads (5 list calls: monitors and dashboards twice, as some are missing), the apply
    # lock (create, list, mark held), the staleness check under it (5) and the apply's read
    # (3), then 12 requests succeed: 12 creates, or 11 when search's dashboard (it shows no SLO
    # object, so nothing holds it back) is among them, as its create lists dashboards first
    _fail_after(env.fake, 28)
    result = env.apply(exit_code=1)
    assert "Apply incomplete:" in result.stderr
    assert "HTTP 500: Internal Server Error" in result.stderr
    assert "Run 'slogen plan' to see what is left to do." in result.stderr
    done = result.stderr.count("  done ")
    failed = result.stderr.count("  failed ")
    skipped = result.stderr.count("  not attempted ")
    total = sum(EXAMPLE_OBJECTS.values())
    assert done in (11, 12) and failed > 0 and done + failed + skipped == total
    # what exists is exactly what was reported done
    lock_ids = [i for i, m in env.fake.monitors.items() if "slogen-lock" in m["tags"]]
    made = len(env.fake.monitors) - len(lock_ids) + len(env.fake.slos) + len(env.fake.dashboards)
    assert made == done
    env.fake._handle = env.fake._restore  # type: ignore[attr-defined]
    rest = env.plan()
    assert f"Plan: {total - done} to add, 0 to change, 0 to destroy." in rest.stdout
    # the apply lock could not be released either: it holds until its lease expires
    assert "could not release the lock" in result.stderr and len(lock_ids) == 1
    assert "is locked by" in env.apply(exit_code=1).stderr
    del env.fake.monitors[lock_ids[0]]  # as its expiry would
    env.apply()
    assert "No changes." in env.plan().stdout


def _refuse_posts(fake: FakeDatadog, path: str, needle: bytes, error: str) -> Any:
    """Make the fake answer 400 ``error`` to every POST to ``path`` whose body holds ``needle``;
    returns the original handler, to restore it."""
    original = fake._handle

    def handle(method: str, at: str, headers: Any, raw: bytes):
        if method == "POST" and at == path and needle in raw:
            return 400, {"errors": [error]}, []
        return original(method, at, headers, raw)

    fake._handle = handle  # type: ignore[method-assign]
    return original


def test_failures_skip_dependants_and_keep_independent_work(env: Env) -> None:
    # Datadog refuses every slo alert: the burn-rate monitors fail, composites that use them
    # are not attempted, everything else is created.
    original = _refuse_posts(
        env.fake, "/api/v1/monitor", b'"slo alert"', "burn rate alerts are disabled for this org"
    )
    result = env.apply(exit_code=1)
    assert "burn rate alerts are disabled for this org" in result.stderr
    assert "not attempted  + datadog.monitor.checkout/availability/page-1h\n" in result.stderr
    assert "done           + datadog.monitor.checkout/availability/ticket-3d\n" in result.stderr
    env.fake._handle = original  # type: ignore[method-assign]
    env.apply()
    assert "No changes." in env.plan().stdout


def test_saved_plan_applies_and_a_stale_one_is_refused(env: Env) -> None:
    plan_file = env.root / "plan.json"
    env.plan("-o", str(plan_file))
    run("apply", str(plan_file))
    assert "No changes." in env.plan().stdout
    env.plan("-o", str(plan_file))
    env.fake.edit_monitor(env.owned()["checkout/latency/page-1h"]["id"], name="renamed")
    result = run("apply", str(plan_file), exit_code=1)
    assert "the plan is stale" in result.stderr


# -- credentials and reachability -----------------------------------------------------------------


def test_keys_never_appear_in_output_or_plan_files(env: Env) -> None:
    plan_file = env.root / "plan.json"
    outputs = [env.plan("-o", str(plan_file)), env.plan("--format", "json")]
    outputs.append(env.plan("--format", "markdown"))
    env.fake.inject(500, count=200)
    outputs.append(env.apply(exit_code=1))
    env.fake.clear_injections()
    outputs.append(env.apply())
    run("explain", str(env.specs))
    texts = [o.output for o in outputs] + [plan_file.read_text()]
    for text in texts:
        assert API_KEY not in text and APP_KEY not in text
    assert API_KEY not in json.dumps(json.loads(plan_file.read_text()))


def test_wrong_keys_are_a_clear_error(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DD_APP_KEY", "not-the-right-key")
    result = env.plan(exit_code=1)
    assert "refused the API or application key" in result.stderr
    assert "HTTP 403" in result.stderr
    assert "not-the-right-key" not in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("unset", "named"),
    [(("DD_API_KEY", "DD_APP_KEY"), "DD_API_KEY and DD_APP_KEY"), (("DD_APP_KEY",), "DD_APP_KEY")],
)
def test_missing_credentials_are_a_clear_error(
    env: Env, monkeypatch: pytest.MonkeyPatch, unset: tuple[str, ...], named: str
) -> None:
    for name in unset:
        monkeypatch.delenv(name)
    before = len(env.fake.requests)
    result = env.plan(exit_code=1)
    assert f"Error: Datadog credentials are missing: set {named} in the environment" in (
        result.stderr
    )
    assert "Traceback" not in result.output
    assert len(env.fake.requests) == before  # nothing was sent


def test_an_unreachable_host_is_a_clear_error(env: Env) -> None:
    port = env.fake.port
    env.fake.stop()
    result = env.plan(exit_code=1)
    assert f"cannot reach the Datadog API at http://127.0.0.1:{port}" in result.stderr
    assert "connection refused" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("expected", "requests"), [(0, 3), (1500, 3), (2500, 3), (4500, 5)])
def test_paging_reads_every_owned_monitor(env: Env, expected: int, requests: int) -> None:
    from slogen.spec.model import Target

    for i in range(2100):
        env.fake.add_monitor(
            {
                "name": f"m{i}",
                "type": "metric alert",
                "query": f"avg(last_5m):avg:x{{*}} > {i}",
                "message": "",
                "tags": ["managed-by:slogen", f"slogen-key:s/{i}"],
            },
            validate=False,
        )
    env.fake.add_monitor(
        {"name": "other", "type": "metric alert", "query": "avg(last_5m):a{*} > 1"}
    )
    target = Target("datadog", "api", (("host", env.fake.url),))
    with dd_client.Client(target) as client:
        monitors = dd_read.list_owned_monitors(client, expected)
        assert client.requests == requests  # pages 0-2 (the last one short), or guessed pages
    assert sorted(m["name"] for m in monitors) == sorted(f"m{i}" for i in range(2100))


def test_a_create_whose_answer_was_lost_is_adopted_not_duplicated(env: Env) -> None:
    original = env.fake._handle
    lost: set[bytes] = set()

    def handle(method: str, path: str, headers: Any, raw: bytes):
        answer = original(method, path, headers, raw)
        if method == "POST" and path == "/api/v1/monitor" and raw not in lost:
            lost.add(raw)  # stored, but the client hears a 502
            return 502, {"errors": ["Bad Gateway"]}, []
        return answer

    env.fake._handle = handle  # type: ignore[method-assign]
    env.apply()
    env.fake._handle = original  # type: ignore[method-assign]
    assert len(env.fake.monitors) == EXAMPLE_OBJECTS["monitors"]  # no duplicates
    assert "No changes." in env.plan().stdout


# -- the API target through the shared executor, without the CLI -----------------------------------


def _target_plan(env: Env) -> tuple[Any, list[Any], list[Any]]:
    """(the API target, ordered changes, desired) for the env's specs, as the planner makes them."""
    from slogen.backends import registry
    from slogen.plan.diff import diff
    from slogen.plan.planner import ordered
    from slogen.spec.loader import load_project

    backend = registry.get("datadog")
    project = load_project([str(env.specs)])
    desired = backend.render(project, None)
    target = backend.target(project.target("datadog"))
    live = target.read_live(desired)
    plan = diff(desired, live.resources, backend.capabilities.immutable)
    return target, ordered(plan.changes), desired


def _outcomes(report: Any) -> dict[str, tuple[str, str]]:
    return {o.change.address: (o.status, o.error) for o in report.outcomes}


def test_target_replacement_creates_first_then_repoints_then_deletes(env: Env) -> None:
    from slogen.plan.model import REPLACE
    from slogen.plan.progress import Progress

    applied(env)
    key = "checkout/latency/ticket-3d/short"
    old, composite = _retype_child(env, key)
    target, changes, desired = _target_plan(env)
    assert [(c.action, c.resource.key) for c in changes] == [(REPLACE, key)]
    start = len(env.fake.requests)
    report = target.apply(changes, desired, Progress(0, quiet=True))
    assert _outcomes(report) == {f"datadog.monitor.{key}": ("done", "")}
    assert report.ok and report.notes[-1].startswith("Datadog: ")
    calls = [(m, p.split("?")[0]) for m, p in env.gets_since(start)]
    # read ids, create the new child, re-point the composite, then delete the old child
    assert calls[-3:] == [
        ("POST", "/api/v1/monitor"),
        ("PUT", f"/api/v1/monitor/{composite['id']}"),
        ("DELETE", f"/api/v1/monitor/{old['id']}"),
    ]
    new = env.owned()[key]
    assert str(new["id"]) in env.fake.monitors[composite["id"]]["query"]
    assert str(old["id"]) not in env.fake.monitors[composite["id"]]["query"]


def test_target_failure_leaves_dependants_not_attempted(env: Env) -> None:
    from slogen.plan.progress import Progress

    _refuse_posts(env.fake, "/api/v1/slo", b"checkout/latency", "SLO quota reached")
    target, changes, desired = _target_plan(env)
    report = target.apply(changes, desired, Progress(0, quiet=True))
    outcomes = _outcomes(report)
    assert outcomes["datadog.slo.checkout/latency"] == (
        "failed",
        "creating SLO checkout/latency: HTTP 400: SLO quota reached",
    )
    # the burn-rate monitors on that SLO are not attempted, nor is anything above them
    assert outcomes["datadog.monitor.checkout/latency/page-1h"] == ("not attempted", "")
    assert outcomes["datadog.monitor.checkout/latency/page-6h"] == ("not attempted", "")
    # independent work went on: the metric composite of the same SLO was made
    assert outcomes["datadog.monitor.checkout/latency/ticket-3d"] == ("done", "")
    assert outcomes["datadog.slo.checkout/availability"] == ("done", "")
    assert len(outcomes) == len(changes)
    assert "checkout/latency/page-1h" not in env.owned()


def test_target_refuses_a_body_naming_an_object_that_is_nowhere(env: Env) -> None:
    from slogen.plan.model import CREATE
    from slogen.plan.progress import Progress

    target, changes, desired = _target_plan(env)
    # only the burn-rate monitor, not the SLO it names: refused before any write
    lone = [
        c for c in changes if c.action == CREATE and c.resource.key == "checkout/latency/page-1h"
    ]
    start = len(env.fake.requests)
    report = target.apply(lone, desired, Progress(0, quiet=True))
    assert _outcomes(report) == {
        "datadog.monitor.checkout/latency/page-1h": (
            "failed",
            "references slo checkout/latency, which does not exist",
        )
    }
    assert [m for m, _ in env.gets_since(start)] == ["GET"] * 3  # the id reads only


def test_target_delete_of_an_object_already_gone_is_done(env: Env) -> None:
    from slogen.plan.model import DELETE
    from slogen.plan.progress import Progress

    applied(env)
    (env.specs / "search.yaml").unlink()
    target, changes, desired = _target_plan(env)
    assert changes and all(c.action == DELETE for c in changes)
    gone = next(c.resource for c in changes if c.resource.kind == "monitor")
    with env.fake.lock:
        del env.fake.monitors[int(str(gone.live_id))]
    report = target.apply(changes, desired, Progress(0, quiet=True))
    assert report.ok and report.count("done") == len(changes)
    assert not [k for k in env.owned() if k.startswith("search/")]


def test_the_no_traffic_monitor_is_accepted_and_reads_back_unchanged(env: Env) -> None:
    """checkout/availability opts in (``no_traffic: 15m``): Datadog takes the monitor, with
    ``<= 0`` and its critical threshold 0 agreeing, and a plan after apply sees no drift in
    the options it sets (``on_missing_data`` instead of ``notify_no_data``)."""
    env.apply()
    monitor = env.owned()["checkout/availability/no-traffic"]
    assert monitor["query"] == "sum(last_15m):sum:checkout.requests{env:prod}.as_count() <= 0"
    assert monitor["options"]["on_missing_data"] == "show_and_notify_no_data"
    assert monitor["options"]["thresholds"] == {"critical": 0.0}
    assert monitor["priority"] == 1 and "@pagerduty-checkout" in monitor["message"]
    assert "No changes." in env.plan().stdout
