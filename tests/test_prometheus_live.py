"""plan/apply against a real Prometheus: the ``files`` target with ``reload_url``.

Each test starts ``prometheus`` on 127.0.0.1 (see tests/prom_server.py) loading the rules
directory slogen writes to, next to a rule file slogen does not own. Before each apply that
waits for new groups' first evaluation, :func:`evaluate_soon` has Prometheus read that directory
through a path that puts the groups' evaluation slots seconds ahead instead of up to a minute.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from slogen.backends import registry
from slogen.backends.prometheus import rulefiles as prom_backend
from slogen.spec.loader import load_project_with_warnings
from tests.cli import Result, run
from tests.prom_server import PrometheusServer, prometheus_server  # noqa: F401 (fixture)
from tests.test_plan_apply import edit, summary_line, write_specs

pytestmark = pytest.mark.prometheus

# The Prometheus target is what these tests exercise; the specs' Grafana dashboards (files under
# out/grafana by default) are left out of their plans and applies.
ONLY_PROMETHEUS = ("--target", "prometheus")
UNOWNED_NAME = "team-extra.yml"
UNOWNED = b"""\
# Written by hand by the platform team; slogen must leave it alone.
groups:
  - name: team/extra
    rules:
      - record: team:up:count
        expr: count(up) or vector(0)
"""
# Parses as current PromQL, so validate only warns (limitk is experimental in Prometheus 3),
# but the Prometheus 2.x these tests run refuses it: the reload fails.
REFUSED_QUERY = (
    'sum(limitk(5, rate(grpc_server_handled_total{grpc_code="Unavailable"}[{{ window }}])))'
)
# Does not parse at all: validate refuses it before anything is written.
BROKEN_QUERY = 'sum(rate(grpc_server_handled_total{grpc_code="Unavailable"}[{{ window }}])'


@dataclass
class Setup:
    specs: Path
    rules: Path
    prom: PrometheusServer

    @property
    def unowned(self) -> Path:
        return self.rules / UNOWNED_NAME


@pytest.fixture
def live(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prometheus_server: PrometheusServer,  # noqa: F811
) -> Setup:
    monkeypatch.chdir(tmp_path)
    rules = prometheus_server.rules_dir
    (rules / UNOWNED_NAME).write_bytes(UNOWNED)
    status, body = prometheus_server.reload()
    assert status == 200, body
    prometheus_server.wait_evaluated(["team/extra"])
    specs = write_specs(tmp_path, rules, reload_url=prometheus_server.url)
    return Setup(specs, rules, prometheus_server)


def expected_groups(specs: Path) -> dict[str, list[tuple[str, str, str | None]]]:
    """Per rule group, (type, name, tier label) of every rule slogen renders for the specs."""
    project, _ = load_project_with_warnings([str(specs)])
    groups: dict[str, list[tuple[str, str, str | None]]] = {}
    for res in registry.get("prometheus").render(project, None):
        group = prom_backend.GROUP_PREFIX + "/".join(res.key.split("/")[:2])
        if res.kind == "recording-rules":
            rules = [("recording", r["record"], None) for r in res.body["rules"]]
        else:
            rules = [("alerting", res.body["alert"], res.body["labels"]["tier"])]
        groups.setdefault(group, []).extend(rules)
    return {name: sorted(rules) for name, rules in groups.items()}


def evaluate_soon(live: Setup) -> None:
    """Make the next apply's groups first evaluate within seconds (``schedule_soon``): the
    rule files, their groups and their one-minute interval stay exactly what slogen writes."""
    groups: dict[str, list[str]] = {}
    for name in expected_groups(live.specs):
        service = name.removeprefix(prom_backend.GROUP_PREFIX).split("/")[0]
        groups.setdefault(prom_backend.file_name(service), []).append(name)
    live.prom.schedule_soon(groups)


def loaded_groups(prom: PrometheusServer) -> dict[str, list[tuple[str, str, str | None]]]:
    return {
        name: sorted(
            (r["type"], r["name"], (r.get("labels") or {}).get("tier")) for r in group["rules"]
        )
        for name, group in prom.groups().items()
        if name.startswith(prom_backend.GROUP_PREFIX)
    }


def assert_all_healthy(prom: PrometheusServer) -> None:
    bad = [
        (name, r["name"], r["health"], r.get("lastError"))
        for name, group in prom.groups().items()
        for r in group["rules"]
        if r["health"] != "ok"
    ]
    assert not bad, bad


def alert_thresholds(prom: PrometheusServer, group: str) -> dict[str, str]:
    rules = prom.groups()[group]["rules"]
    return {
        r["labels"]["tier"]: r["annotations"]["threshold"] for r in rules if r["type"] == "alerting"
    }


def test_apply_update_and_delete_against_a_real_prometheus(live: Setup) -> None:
    specs, prom = live.specs, live.prom

    evaluate_soon(live)
    result = run("apply", str(specs), *ONLY_PROMETHEUS, "--auto-approve")
    assert f"Prometheus at {prom.url} reloaded; 4 rule group(s) loaded and healthy." in (
        result.output
    )
    expected = expected_groups(specs)
    assert sorted(expected) == [
        "slogen/billing/availability",
        "slogen/checkout/availability",
        "slogen/checkout/latency",
        "slogen/search/availability",
    ]
    assert loaded_groups(prom) == expected
    assert_all_healthy(prom)  # slogen waited for the first evaluation before reporting success
    assert live.unowned.read_bytes() == UNOWNED

    result = run("plan", str(specs), *ONLY_PROMETHEUS, "--detailed-exitcode", exit_code=0)
    assert summary_line(result.stdout) == "No changes."

    # -- change one objective: exactly the three alerts of that SLO change -----------------
    edit(specs / "checkout.yaml", "objective: 99.9", "objective: 99.8")
    result = run("plan", str(specs), *ONLY_PROMETHEUS, "--detailed-exitcode", exit_code=2)
    assert summary_line(result.stdout) == "Plan: 0 to add, 3 to change, 0 to destroy."
    data = json.loads(run("plan", str(specs), *ONLY_PROMETHEUS, "--format", "json").stdout)
    assert {
        c["key"]: (c["action"], sorted(f["path"] for f in c["fields"])) for c in data["changes"]
    } == {
        f"checkout/availability/{tier}": (
            "update",
            ["annotations.description", "annotations.threshold", "expr"],
        )
        for tier in ("page-1h", "page-6h", "ticket-3d")
    }
    assert alert_thresholds(prom, "slogen/checkout/availability") == {
        "page-1h": "0.0144",
        "page-6h": "0.006",
        "ticket-3d": "0.001",
    }

    evaluate_soon(live)
    result = run("apply", str(specs), *ONLY_PROMETHEUS, "--auto-approve")
    assert "Apply complete: 3 changes made." in result.output
    assert "reloaded; 4 rule group(s) loaded and healthy." in result.output
    assert alert_thresholds(prom, "slogen/checkout/availability") == {
        "page-1h": "0.0288",
        "page-6h": "0.012",
        "ticket-3d": "0.002",
    }
    queries = [
        r["query"]
        for r in prom.groups()["slogen/checkout/availability"]["rules"]
        if r["type"] == "alerting"
    ]
    assert any("> 0.0288" in q for q in queries), queries
    assert not any("0.0144" in q for q in queries), queries
    assert_all_healthy(prom)

    # -- delete an SLO: its rules are destroyed and its group unloaded ----------------------
    text = (specs / "checkout.yaml").read_text()
    (specs / "checkout.yaml").write_text(text[: text.index("  - name: latency")])
    result = run("plan", str(specs), *ONLY_PROMETHEUS, "--detailed-exitcode", exit_code=2)
    assert summary_line(result.stdout) == "Plan: 0 to add, 0 to change, 4 to destroy."
    headings = sorted(
        line.strip()
        for line in result.stdout.splitlines()
        if line.startswith("  - ") and "latency" in line
    )
    assert headings == [
        "- alert checkout/latency/page-1h",
        "- alert checkout/latency/page-6h",
        "- alert checkout/latency/ticket-3d",
        "- recording-rules checkout/latency",
    ]
    run("apply", str(specs), *ONLY_PROMETHEUS, "--auto-approve")
    groups = prom.groups()
    assert "slogen/checkout/latency" not in groups
    assert "slogen/checkout/availability" in groups
    assert loaded_groups(prom) == expected_groups(specs)

    # -- delete a whole service: its file goes, its group is unloaded -----------------------
    (specs / "search.yaml").unlink()
    run("apply", str(specs), *ONLY_PROMETHEUS, "--auto-approve")
    assert not (live.rules / "search.rules.yml").exists()
    assert "slogen/search/availability" not in prom.groups()
    assert summary_line(run("plan", str(specs), *ONLY_PROMETHEUS).stdout) == "No changes."

    # the unowned file was never touched and its group is still loaded and healthy
    assert live.unowned.read_bytes() == UNOWNED
    assert prom.groups()["team/extra"]["rules"][0]["name"] == "team:up:count"
    assert_all_healthy(prom)


def apply_then_edit(live: Setup, query: str, evaluated: bool = False) -> tuple[bytes, dict, Result]:
    """Apply the specs, swap search's errors query for ``query`` and apply again (which must
    fail); what the rule file and Prometheus held before, and the second apply's result.
    ``evaluated``: Prometheus loads the second apply's rules, so it waits for their first
    evaluation."""
    evaluate_soon(live)
    run("apply", str(live.specs), *ONLY_PROMETHEUS, "--auto-approve")
    good = (live.rules / "search.rules.yml").read_bytes()
    before = loaded_groups(live.prom)
    edit(
        live.specs / "search.yaml",
        'sum(rate(grpc_server_handled_total{grpc_code="Unavailable"}[{{ window }}]))',
        query,
    )
    if evaluated:
        evaluate_soon(live)
    return (
        good,
        before,
        run("apply", str(live.specs), *ONLY_PROMETHEUS, "--auto-approve", exit_code=1),
    )


def test_rules_prometheus_refuses_are_reported(live: Setup) -> None:
    _good, before, result = apply_then_edit(live, REFUSED_QUERY)
    assert "warning: slos[0].indicator.prometheus.errors: uses experimental PromQL" in result.stderr
    assert "Prometheus refused to reload (HTTP 500)" in result.stderr
    assert "failed to reload config" in result.stderr  # Prometheus's own words
    assert "Apply incomplete" in result.stderr
    assert "Traceback" not in result.output
    # Prometheus kept the rules it had
    assert loaded_groups(live.prom) == before
    assert live.unowned.read_bytes() == UNOWNED


def test_rejected_rules_stay_pending_in_the_next_plan(live: Setup) -> None:
    """After Prometheus refused the new rules, the change is not live: apply must not count it
    as done, must not leave the rejected file in place (Prometheus would refuse every later
    reload, and fail to start), and the next plan must still show it."""
    good, _before, result = apply_then_edit(live, REFUSED_QUERY)
    assert "done           ~ prometheus.recording-rules.search/availability" not in result.stderr
    assert (live.rules / "search.rules.yml").read_bytes() == good
    status, body = live.prom.reload()
    assert status == 200, body
    result = run("plan", str(live.specs), *ONLY_PROMETHEUS, "--detailed-exitcode", exit_code=2)
    assert summary_line(result.stdout) == "Plan: 0 to add, 1 to change, 0 to destroy."


def test_query_that_does_not_parse_changes_nothing(live: Setup) -> None:
    """validate rejects what Prometheus would refuse, so apply stops before writing."""
    good, before, result = apply_then_edit(live, BROKEN_QUERY)
    assert "search.yaml:" in result.stderr
    assert "PromQL does not parse: unclosed left parenthesis" in result.stderr
    assert "Error: 1 error in the specs." in result.stderr
    assert (live.rules / "search.rules.yml").read_bytes() == good
    assert loaded_groups(live.prom) == before


def test_rule_that_fails_evaluation_is_rolled_back(live: Setup) -> None:
    """Prometheus loads the new rule and every evaluation fails: apply reports it, puts the
    previous rule file back and reloads (like a refused reload), counts the file's change as
    failed, and the next plan still shows it; the other services' rules stay as they are."""
    # One series per SLO, as validate demands, but matched on() against two series: Prometheus
    # loads the rule and every evaluation fails ("many-to-many matching not allowed"). What
    # validate can see it refuses (grouping by a label the rules set, which used to be this
    # test's example); what only evaluation shows is reported by apply's health check.
    duplicate = (
        '(sum(rate(grpc_server_handled_total{grpc_code="Unavailable"}[{{ window }}])) or vector(0))'
        ' * on() (vector(1) or label_replace(vector(1), "a", "b", "", ""))'
    )
    good, before, result = apply_then_edit(live, duplicate, evaluated=True)
    assert (
        "rule slogen:sli_errors:rate5m in group slogen/search/availability fails:" in result.stderr
    )
    assert "many-to-many matching not allowed" in result.stderr
    assert "Apply incomplete: 0 done, 1 failed, 0 not attempted." in result.stderr
    assert (
        "failed         ~ prometheus.recording-rules.search/availability: rule group(s) "
        "slogen/search/availability fail evaluation; search.rules.yml was put back"
    ) in result.stderr
    assert "search.rules.yml put back as they were and Prometheus at" in result.stderr
    assert "Traceback" not in result.output
    # the failing rule is not left running: the previous file is back on disk and loaded
    assert (live.rules / "search.rules.yml").read_bytes() == good
    assert loaded_groups(live.prom) == before
    search = live.prom.groups()["slogen/search/availability"]["rules"]
    assert not any("on()" in r["query"] for r in search), search
    assert all(
        r["health"] == "ok" for r in live.prom.groups()["slogen/billing/availability"]["rules"]
    )
    result = run("plan", str(live.specs), *ONLY_PROMETHEUS, "--detailed-exitcode", exit_code=2)
    assert summary_line(result.stdout) == "Plan: 0 to add, 1 to change, 0 to destroy."
    assert live.unowned.read_bytes() == UNOWNED


def test_hand_broken_owned_file_is_repaired_by_apply(live: Setup) -> None:
    evaluate_soon(live)
    run("apply", str(live.specs), *ONLY_PROMETHEUS, "--auto-approve")
    owned = live.rules / "search.rules.yml"
    pristine = owned.read_bytes()
    text = owned.read_text()
    assert text.count("[5m]))") >= 1
    owned.write_text(text.replace("[5m]))", "[5m])", 1))  # unbalanced: Prometheus rejects it
    status, _ = live.prom.reload()
    assert status == 500

    data = json.loads(run("plan", str(live.specs), *ONLY_PROMETHEUS, "--format", "json").stdout)
    assert data["summary"] == {"add": 0, "change": 1, "destroy": 0}
    (change,) = data["changes"]
    assert change["key"] == "search/availability"
    assert [f["path"] for f in change["fields"]] == ["rules[0].expr"]

    result = run("apply", str(live.specs), *ONLY_PROMETHEUS, "--auto-approve")
    assert "reloaded; 4 rule group(s) loaded and healthy" in result.output
    assert owned.read_bytes() == pristine
    assert live.unowned.read_bytes() == UNOWNED
    assert_all_healthy(live.prom)
