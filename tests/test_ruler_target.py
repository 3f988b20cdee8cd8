"""plan and apply against the Prometheus ``ruler`` target (Mimir's ruler configuration API),
through the real CLI and the fake ruler of tests/fakes/ruler.py.

Every test counts the requests the fake saw, so "one list request, one request per changed
group" and "a no-op plan writes nothing" are asserted, not assumed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from slogen.backends.prometheus.ruler import client as client_mod
from tests.cli import Result, run
from tests.fakes.ruler import FakeRuler

TENANT = "team-a"
SECRET = "tok-9f8e7d6c5b4a-secret"
PASSWORD = "pw-1a2b3c4d5e-secret"

BILLING = """\
service: billing
owner: billing
slos:
  - name: availability
    category: availability
    objective: 99.5
    window: 30d
    indicator:
      prometheus:
        errors: sum(rate(http_requests_total{job="billing",code=~"5.."}[{{ window }}]))
        total: sum(rate(http_requests_total{job="billing"}[{{ window }}]))
"""

CHECKOUT = """\
service: checkout
owner: payments
labels: {env: prod}
slos:
  - name: availability
    category: availability
    objective: 99.9
    window: 30d
    indicator:
      prometheus:
        errors: sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{ window }}]))
        total: sum(rate(http_requests_total{job="checkout"}[{{ window }}]))
    alerting:
      min_events: 100
      runbook: https://runbooks.example.com/checkout/availability

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

SPEC_FILES = {"billing.yaml": BILLING, "checkout.yaml": CHECKOUT, "search.yaml": SEARCH}
GROUPS = {
    "slogen/billing/availability",
    "slogen/checkout/availability",
    "slogen/checkout/latency",
    "slogen/search/availability",
}
LIST = ("GET", "list")
POST = ("POST", "namespace")
DELETE = ("DELETE", "group")


def write_specs(root: Path, **target: str) -> Path:
    """Specs for billing, checkout and search with the ruler target (``target`` overrides)."""
    specs = root / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    for name, text in SPEC_FILES.items():
        (specs / name).write_text(text)
    options = {
        "type": "ruler",
        "url": "${MIMIR_URL}",
        "tenant": "${MIMIR_TENANT}",
        "token": "${MIMIR_TOKEN}",
        **target,
    }
    options = {k: v for k, v in options.items() if v}
    (specs / "slogen.yaml").write_text(f"targets:\n  prometheus: {json.dumps(options)}\n")
    return specs


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def plan(specs: Path, *args: str, exit_code: int | None = 0) -> Result:
    return run("plan", str(specs), "--target", "prometheus", *args, exit_code=exit_code)


def apply(specs: Path, *args: str, exit_code: int | None = 0) -> Result:
    # --no-lock: these tests count the apply's own requests; the lock's are tests/test_locks*
    return run(
        "apply",
        str(specs),
        "--target",
        "prometheus",
        "--auto-approve",
        "--no-lock",
        *args,
        exit_code=exit_code,
    )


def no_secret(*results: Result) -> None:
    for result in results:
        assert SECRET not in result.output
        assert PASSWORD not in result.output
        assert "Traceback" not in result.output


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries record their sleeps instead of sleeping."""
    slept: list[float] = []
    monkeypatch.setattr(client_mod, "_sleep", slept.append)
    return slept


@pytest.fixture
def ruler(monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> Iterator[FakeRuler]:
    with FakeRuler(tenant=TENANT, token=SECRET) as fake:
        monkeypatch.setenv("MIMIR_URL", fake.url)
        monkeypatch.setenv("MIMIR_TENANT", TENANT)
        monkeypatch.setenv("MIMIR_TOKEN", SECRET)
        yield fake


@pytest.fixture
def specs(in_tmp: Path, ruler: FakeRuler) -> Path:
    return write_specs(in_tmp)


@pytest.fixture
def applied(specs: Path, ruler: FakeRuler) -> Path:
    apply(specs)
    assert set(ruler.groups("slogen")) == GROUPS
    ruler.reset_counts()
    return specs


def built_groups(specs: Path, tmp: Path) -> dict[str, dict]:
    """What ``slogen build`` writes for the same specs, group name -> group."""
    out = tmp / "built"
    run("build", str(specs), "-o", str(out))
    groups = {}
    for path in (out / "prometheus").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            groups[group["name"]] = group
    return groups


# -- create, no-op, update, delete ----------------------------------------------------------


def test_first_apply_creates_one_group_per_slo_with_one_list_request(
    specs: Path, ruler: FakeRuler, in_tmp: Path
) -> None:
    result = plan(specs, "--detailed-exitcode", exit_code=2)
    assert "prometheus (ruler)" in result.stdout
    assert ruler.counts == {LIST: 1}, "plan reads with exactly one request and writes nothing"

    ruler.reset_counts()
    result = apply(specs)
    assert "Apply complete: 16 changes made." in result.output
    assert ruler.counts == {LIST: 1, POST: 4}
    stored = ruler.groups("slogen")
    assert set(stored) == GROUPS
    built = built_groups(specs, in_tmp)
    for name, group in stored.items():
        assert group["rules"] == built[name]["rules"], name
    # the tenant and credentials went with every request; bodies were YAML
    for _method, _path, headers in ruler.requests:
        assert headers["x-scope-orgid"] == TENANT
        assert headers["authorization"] == f"Bearer {SECRET}"
    posts = [h for m, _, h in ruler.requests if m == "POST"]
    assert all(h["content-type"] == "application/yaml" for h in posts)
    no_secret(result)


def test_no_op_plan_and_apply_make_no_write(applied: Path, ruler: FakeRuler) -> None:
    result = plan(applied, "--detailed-exitcode", exit_code=0)
    assert "No changes." in result.stdout
    assert ruler.counts == {LIST: 1}
    result = apply(applied)
    assert ruler.counts == {LIST: 2}, "apply of a no-op plan writes nothing"
    assert ruler.writes() == 0


def test_values_the_ruler_types_differently_still_compare_equal(
    applied: Path, ruler: FakeRuler
) -> None:
    """Annotation values read back as YAML numbers (burn_rate: 14.4) are still strings."""
    group = ruler.groups("slogen")["slogen/billing/availability"]
    alerts = [r for r in group["rules"] if "alert" in r]
    for alert in alerts:
        text = alert["annotations"]["burn_rate"]
        alert["annotations"]["burn_rate"] = int(text) if text.isdigit() else float(text)
    ruler.put_group("slogen", group)
    plan(applied, "--detailed-exitcode", exit_code=0)


def test_an_edited_objective_posts_only_that_group(applied: Path, ruler: FakeRuler) -> None:
    before = ruler.groups("slogen")
    edit(applied / "checkout.yaml", "objective: 99\n", "objective: 99.5\n")
    result = plan(applied, "--detailed-exitcode", exit_code=2)
    assert "0 to add" in result.stdout and "0 to destroy" in result.stdout
    ruler.reset_counts()
    apply(applied)
    assert ruler.counts == {LIST: 1, POST: 1}
    after = ruler.groups("slogen")
    changed = {name for name in GROUPS if after[name] != before[name]}
    assert changed == {"slogen/checkout/latency"}
    plan(applied, "--detailed-exitcode", exit_code=0)


def test_a_removed_slo_deletes_only_its_group(applied: Path, ruler: FakeRuler) -> None:
    (applied / "search.yaml").unlink()
    text = (applied / "checkout.yaml").read_text()
    (applied / "checkout.yaml").write_text(text[: text.index("\n  - name: latency")] + "\n")
    ruler.reset_counts()
    result = apply(applied)
    assert "8 changes made" in result.output
    assert ruler.counts == {LIST: 1, DELETE: 2}
    deleted = sorted(p for m, p, _ in ruler.requests if m == "DELETE")
    # group names are one path segment each: "/" sent as %2F
    assert deleted == [
        "/prometheus/config/v1/rules/slogen/slogen%2Fcheckout%2Flatency",
        "/prometheus/config/v1/rules/slogen/slogen%2Fsearch%2Favailability",
    ]
    assert set(ruler.groups("slogen")) == GROUPS - {
        "slogen/search/availability",
        "slogen/checkout/latency",
    }
    plan(applied, "--detailed-exitcode", exit_code=0)


def test_an_alert_removed_from_a_group_rewrites_the_group(applied: Path, ruler: FakeRuler) -> None:
    """A delete of one resource whose SLO is still wanted is a POST of the group, not DELETE."""
    billing = applied / "billing.yaml"
    billing.write_text(billing.read_text() + "    alerting:\n      no_traffic: 15m\n")
    apply(applied)
    assert ruler.counts == {LIST: 1, POST: 1}
    rules = ruler.groups("slogen")["slogen/billing/availability"]["rules"]
    assert len([r for r in rules if "alert" in r]) == 4

    billing.write_text(BILLING)
    ruler.reset_counts()
    result = apply(applied)
    assert "1 change made" in result.output
    assert ruler.counts == {LIST: 1, POST: 1}
    rules = ruler.groups("slogen")["slogen/billing/availability"]["rules"]
    assert len([r for r in rules if "alert" in r]) == 3


def test_404_for_an_empty_tenant_is_an_empty_list(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    """Cortex and Mimir < 2.0 answer ``404 no rule groups found`` when there is nothing."""
    with FakeRuler(empty_list_status=404) as fake:
        monkeypatch.setenv("MIMIR_URL", fake.url)
        specs = write_specs(in_tmp, tenant="", token="")
        apply(specs)
        assert set(fake.groups("slogen")) == GROUPS
        assert "x-scope-orgid" not in fake.requests[0][2]
        assert "authorization" not in fake.requests[0][2]


# -- ownership --------------------------------------------------------------------------------

FOREIGN_RULES = [{"record": "job:up:sum", "expr": "sum by (job) (up)"}]


def test_other_namespaces_and_unmarked_groups_are_never_touched(
    specs: Path, ruler: FakeRuler
) -> None:
    # a group that looks like slogen's, but in another namespace
    lookalike = {
        "name": "slogen/billing/availability",
        "rules": [
            {"record": "x", "expr": "1", "labels": {"service": "billing", "slo": "availability"}}
        ],
    }
    ruler.put_group("other", lookalike)
    # in slogen's namespace: an unrelated group, and one with the prefix but not the labels
    ruler.put_group("slogen", {"name": "team-dashboards", "rules": FOREIGN_RULES})
    ruler.put_group("slogen", {"name": "slogen/legacy/old", "rules": FOREIGN_RULES})
    # and a group of slogen's shape for another tenant
    ruler.put_group("slogen", {**lookalike, "name": "slogen/gone/slo"}, tenant="team-b")
    snapshot = json.dumps(ruler.store, sort_keys=True)

    result = plan(specs, "--format", "json")
    data = json.loads(result.stdout)
    assert {c["action"] for c in data["changes"]} == {"create"}
    assert any("'slogen/legacy/old'" in w and "leaves it alone" in w for w in data["warnings"])
    apply(specs)
    assert ruler.counts[DELETE] == 0
    store = json.loads(snapshot)
    assert ruler.groups("other") == store[TENANT]["other"]
    assert ruler.groups("slogen", tenant="team-b") == store["team-b"]["slogen"]
    slogen_ns = ruler.groups("slogen")
    assert slogen_ns["team-dashboards"] == store[TENANT]["slogen"]["team-dashboards"]
    assert slogen_ns["slogen/legacy/old"] == store[TENANT]["slogen"]["slogen/legacy/old"]
    assert set(slogen_ns) == GROUPS | {"team-dashboards", "slogen/legacy/old"}
    plan(specs, "--detailed-exitcode", exit_code=0)


def test_a_group_named_like_a_desired_one_but_unmarked_is_a_conflict(
    specs: Path, ruler: FakeRuler
) -> None:
    ruler.put_group("slogen", {"name": "slogen/checkout/latency", "rules": FOREIGN_RULES})
    result = plan(specs, exit_code=1)
    assert "cannot plan prometheus" in result.stderr
    assert "rule group 'slogen/checkout/latency' in ruler namespace 'slogen'" in result.stderr
    assert "not managed by slogen" in result.stderr
    apply(specs, exit_code=1)
    assert ruler.writes() == 0
    assert ruler.groups("slogen")["slogen/checkout/latency"]["rules"] == FOREIGN_RULES


def test_a_namespace_option_moves_everything_there(in_tmp: Path, ruler: FakeRuler) -> None:
    specs = write_specs(in_tmp, namespace="slo-rules")
    apply(specs)
    assert set(ruler.groups("slo-rules")) == GROUPS
    assert ruler.groups("slogen") == {}


# -- saved plans --------------------------------------------------------------------------------


def test_a_stale_saved_plan_is_refused_and_writes_nothing(applied: Path, ruler: FakeRuler) -> None:
    edit(applied / "billing.yaml", "objective: 99.5", "objective: 99.7")
    plan(applied, "-o", "p.json")
    saved = Path("p.json").read_text()
    assert "${MIMIR_TOKEN}" in saved and SECRET not in saved, "plan files keep the reference"
    # someone edits a slogen group behind slogen's back
    group = ruler.groups("slogen")["slogen/search/availability"]
    group["rules"] = group["rules"][:-1]
    ruler.put_group("slogen", group)
    ruler.reset_counts()
    result = run("apply", "p.json", exit_code=1)
    assert "the plan is stale" in result.stderr
    assert ruler.counts == {LIST: 1}
    assert ruler.writes() == 0

    plan(applied, "-o", "p.json")
    ruler.reset_counts()
    result = run("apply", "p.json", "--no-lock")  # the lock's requests: tests/test_locks*
    assert ruler.counts == {LIST: 1, POST: 2}


# -- failures and retries -----------------------------------------------------------------------


def test_429_and_5xx_are_retried_then_succeed(
    specs: Path, ruler: FakeRuler, sleeps: list[float]
) -> None:
    ruler.fail_next(1, 503, method="GET")
    ruler.fail_next(2, 429, retry_after="7", method="POST")
    ruler.fail_next(1, 502, method="POST")
    result = apply(specs)
    assert "Apply complete: 16 changes made." in result.output
    assert set(ruler.groups("slogen")) == GROUPS
    assert ruler.counts == {LIST: 2, POST: 4 + 3}
    assert sleeps.count(7.0) == 2, f"Retry-After honoured: {sleeps}"
    assert len(sleeps) == 4


def test_retries_are_bounded_and_the_failure_reported(
    specs: Path, ruler: FakeRuler, sleeps: list[float]
) -> None:
    ruler.fail_next(1000, 503, method="POST", body="ruler overloaded")
    result = apply(specs, exit_code=1)
    assert "Apply incomplete: 0 done, 16 failed" in result.stderr
    assert "rule group slogen/billing/availability: set rule group: HTTP 503: ruler overloaded" in (
        result.stderr
    )
    assert ruler.counts[POST] == 4 * client_mod.RETRY.attempts
    assert sum(sleeps) <= 4 * client_mod.RETRY.max_total_sleep


def test_a_refused_group_fails_alone_naming_it(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    """The tenant's rules-per-group limit refuses one group (400); the others are applied."""
    with FakeRuler(max_rules_per_group=12) as fake:
        monkeypatch.setenv("MIMIR_URL", fake.url)
        specs = write_specs(in_tmp, tenant="", token="")
        result = apply(specs, exit_code=1)
        assert "failed" in result.stderr
        assert (
            "prometheus.recording-rules.checkout/availability: rule group "
            "slogen/checkout/availability: set rule group: HTTP 400: per-user rules per rule "
            "group limit (limit: 12 actual: 13) exceeded"
        ) in result.stderr
        assert set(fake.groups("slogen")) == GROUPS - {"slogen/checkout/availability"}
        assert fake.counts[POST] == 4, "a 400 is not retried"
        assert sleeps == []


def test_credentials_refused_during_apply_stop_the_rest(
    specs: Path, ruler: FakeRuler, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 401 while writing: no later request can succeed, so the rest is not attempted."""
    from slogen.backends.prometheus.ruler import target as target_mod

    monkeypatch.setattr(target_mod, "WORKERS", 1)
    ruler.fail_next(10, 401, method="POST", body="token expired")
    result = apply(specs, exit_code=1)
    assert "Apply incomplete: 0 done, 4 failed, 12 not attempted." in result.stderr
    assert "the ruler refused the credentials: set rule group: HTTP 401: token expired" in (
        result.stderr
    )
    assert ruler.counts[POST] == 1, "a refused credential is not retried nor used again"
    no_secret(result)


def test_unreachable_ruler_is_a_clear_error(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    with FakeRuler() as fake:
        url = fake.url
    monkeypatch.setenv("MIMIR_URL", url)  # nothing listens there any more
    specs = write_specs(in_tmp, tenant="", token="")
    result = plan(specs, exit_code=1)
    assert f"cannot reach the ruler at {url}: connection refused" in result.stderr
    assert "hint: check targets.prometheus.url" in result.stderr
    assert len(sleeps) == client_mod.RETRY.connect_attempts - 1
    no_secret(result)


def test_a_url_that_is_not_the_mimir_base_url(specs: Path, ruler: FakeRuler) -> None:
    write_specs(specs.parent, url=ruler.url + "/prometheus")
    result = plan(specs, exit_code=1)
    assert "HTTP 404: 404 page not found" in result.stderr
    assert "base URL of Mimir" in result.stderr


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("groups: [unclosed", "not valid YAML"),
        ("<html>Sign in</html>", "expected a mapping of namespaces, found str"),
        ("slogen: {name: x}", "namespace 'slogen' holds dict, not a list"),
        ("slogen:\n- rules: []\n", "group 0 of namespace 'slogen' has no name"),
    ],
)
def test_a_listing_of_the_wrong_shape_is_refused(
    specs: Path, ruler: FakeRuler, body: str, problem: str
) -> None:
    ruler.fail_next(1, 200, method="GET", body=body)
    result = apply(specs, exit_code=1)
    assert "answered something that is not a list of rule groups" in result.stderr
    assert problem in result.stderr
    assert ruler.writes() == 0


# -- tenant, credentials, secrets ---------------------------------------------------------------


def test_basic_auth_is_sent_and_never_printed(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    with FakeRuler(tenant=TENANT, username="slogen-ci", password=PASSWORD) as fake:
        monkeypatch.setenv("MIMIR_URL", fake.url)
        monkeypatch.setenv("MIMIR_TENANT", TENANT)
        monkeypatch.setenv("MIMIR_USER", "slogen-ci")
        monkeypatch.setenv("MIMIR_PASSWORD", PASSWORD)
        specs = write_specs(
            in_tmp, token="", username="${MIMIR_USER}", password="${MIMIR_PASSWORD}"
        )
        no_secret(apply(specs))
        assert set(fake.groups("slogen")) == GROUPS
        assert fake.requests[0][2]["authorization"].startswith("Basic ")
        # an error body that echoes the credentials is redacted
        fake.fail_next(1, 400, method="GET", body=f"bad password {PASSWORD} (user slogen-ci)")
        result = plan(specs, exit_code=1)
        assert "HTTP 400: bad password *** (user ***)" in result.stderr  # usernames too
        no_secret(result)


def test_wrong_credentials_and_missing_tenant_are_clear_errors(
    specs: Path, ruler: FakeRuler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIMIR_TOKEN", SECRET + "-wrong")
    result = plan(specs, exit_code=1)
    assert "HTTP 401: unauthorized" in result.stderr
    assert "hint: check targets.prometheus.username/password or token" in result.stderr
    no_secret(result)
    assert (SECRET + "-wrong") not in result.output

    monkeypatch.setenv("MIMIR_TOKEN", SECRET)
    write_specs(specs.parent, tenant="")
    result = plan(specs, exit_code=1)
    assert "HTTP 401: no org id" in result.stderr
    assert "set targets.prometheus.tenant (X-Scope-OrgID)" in result.stderr
    assert ruler.writes() == 0


def test_a_missing_variable_is_named_and_nothing_is_sent(
    specs: Path, ruler: FakeRuler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MIMIR_TOKEN")
    result = plan(specs, exit_code=1)
    assert "targets.prometheus.token: environment variable MIMIR_TOKEN is not set" in (
        result.stderr
    )
    assert "slogen.yaml" in result.stderr
    assert ruler.requests == []
    no_secret(result)


def test_validate_and_build_need_no_variables(
    specs: Path, ruler: FakeRuler, monkeypatch: pytest.MonkeyPatch, in_tmp: Path
) -> None:
    for name in ("MIMIR_URL", "MIMIR_TOKEN", "MIMIR_TENANT"):
        monkeypatch.delenv(name)
    run("validate", str(specs))
    run("build", str(specs), "-o", str(in_tmp / "out"))
    assert ruler.requests == []
