"""The Alertmanager fragment: golden files for the example specs, checked by the real
``amtool check-config`` (0.25), its shape, and every mistake in slogen.yaml's ``alertmanager:``
block as a located ``validate`` error.

The end-to-end proof (real Prometheus and Alertmanager delivering to webhooks) is in
tests/test_alertmanager_e2e.py.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from pathlib import Path

import pytest
import yaml

from slogen.alertmanager.fragment import fragment
from slogen.alertmanager.settings import AlertmanagerSettings, AlertRoute
from slogen.spec.loader import load_project
from tests.am_server import check_config
from tests.cli import run
from tests.conftest import GOLDEN, SPECS, regen_script

HOW_TO_FIX = (
    "if the change is intended, run `python scripts/regen_golden.py` and review the diff "
    "(git diff -- tests/golden) before committing"
)
regen = regen_script()

SPEC = """\
service: checkout
owner: payments
slos:
  - name: availability
    objective: 99.9
    window: 30d
    indicator:
      prometheus:
        errors: sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{ window }}]))
        total: sum(rate(http_requests_total{job="checkout"}[{{ window }}]))
"""
DATADOG_ONLY_SPEC = """\
service: checkout
slos:
  - name: availability
    objective: 99.9
    window: 30d
    indicator:
      datadog:
        errors: sum:checkout.requests.errors{env:prod}.as_count()
        total: sum:checkout.requests{env:prod}.as_count()
    alerting:
      page: {datadog: ["@pagerduty-checkout"]}
      ticket: {datadog: ["@slack-checkout"]}
"""


def project_dir(tmp_path: Path, settings: str, spec: str = SPEC) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "checkout.yaml").write_text(spec, encoding="utf-8")
    (tmp_path / "slogen.yaml").write_text(settings, encoding="utf-8")
    return tmp_path


def build_fragment(tmp_path: Path, settings: str) -> tuple[Path, dict]:
    directory = project_dir(tmp_path / "specs", settings)
    run("build", str(directory), "-o", str(tmp_path / "out"))
    path = tmp_path / "out" / "alertmanager" / "alertmanager.yml"
    return path, yaml.safe_load(path.read_text(encoding="utf-8"))


# -- golden files, checked by amtool ------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    return regen.render_alertmanager()


def test_golden_files_match_the_rendered_fragments(rendered: dict[str, bytes]) -> None:
    assert set(rendered) == {"alertmanager/example.yml", "alertmanager/configured.yml"}
    for name, actual in sorted(rendered.items()):
        path = GOLDEN / name
        assert path.is_file(), f"tests/golden/{name} is missing; {HOW_TO_FIX}"
        golden = path.read_bytes()
        if actual != golden:
            diff = difflib.unified_diff(
                golden.decode().splitlines(keepends=True),
                actual.decode().splitlines(keepends=True),
                f"tests/golden/{name}",
                "rendered now",
            )
            pytest.fail(f"{''.join(list(diff)[:80])}\n{HOW_TO_FIX}", pytrace=False)
    assert not regen.regen_alertmanager_goldens(check=True)


@pytest.mark.parametrize("name", ["example.yml", "configured.yml"])
def test_amtool_accepts_the_golden_fragment(name: str) -> None:
    path = GOLDEN / "alertmanager" / name
    result = check_config(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "1 inhibit rules" in result.stdout


def test_amtool_rejects_a_broken_fragment(tmp_path: Path) -> None:
    """The check above means something: a route to a receiver the file does not define fails."""
    text = (GOLDEN / "alertmanager" / "example.yml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.yml"
    broken.write_text(text.replace("- name: slogen-ticket\n", ""), encoding="utf-8")
    result = check_config(broken)
    assert result.returncode != 0
    assert "slogen-ticket" in result.stdout + result.stderr


def test_build_writes_the_fragment_with_the_marker_first(tmp_path: Path) -> None:
    result = run("build", str(SPECS), "-o", str(tmp_path))
    assert f"alertmanager: wrote 1 file to {tmp_path / 'alertmanager'}" in result.stdout
    text = (tmp_path / "alertmanager" / "alertmanager.yml").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# managed-by: slogen"
    assert text.encode() == (GOLDEN / "alertmanager" / "example.yml").read_bytes()


def test_no_prometheus_source_no_fragment(tmp_path: Path) -> None:
    directory = project_dir(tmp_path / "specs", "", DATADOG_ONLY_SPEC)
    result = run("build", str(directory), "-o", str(tmp_path / "out"))
    assert "alertmanager" not in result.stdout
    assert not (tmp_path / "out" / "alertmanager").exists()


# -- shape ----------------------------------------------------------------------------------------


def test_the_example_fragment_routes_and_inhibits_slogen_alerts_only() -> None:
    config = fragment(load_project([str(SPECS)]))
    root = config["route"]
    assert "matchers" not in root, "Alertmanager's root route may not have matchers"
    (subtree,) = root["routes"]
    assert subtree["matchers"] == ['slo=~".+"', 'tier=~".+"']
    assert subtree["group_by"] == ["service", "slo"]
    assert [(r["receiver"], r["matchers"]) for r in subtree["routes"]] == [
        ("slogen-page", ['severity="page"']),
        ("slogen-ticket", ['severity="ticket"']),
    ]
    assert config["inhibit_rules"] == [
        {
            "source_matchers": ['severity="page"', 'slo=~".+"', 'tier=~".+"'],
            "target_matchers": ['severity="ticket"', 'slo=~".+"', 'tier=~".+"'],
            "equal": ["service", "slo"],
        }
    ]
    assert config["receivers"] == [{"name": "slogen-page"}, {"name": "slogen-ticket"}]


def test_every_generated_alert_matches_the_subtree() -> None:
    """The subtree's matchers hold for every alert rule slogen writes (the labels the rule files
    set), so none falls through to the root."""
    tmp_rules = regen.render_all()
    alerts = [
        rule
        for name, data in tmp_rules.items()
        if name.startswith("prometheus/rules/")
        for group in yaml.safe_load(data)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]
    assert alerts
    for rule in alerts:
        labels = rule["labels"]
        assert labels["slo"] and labels["tier"] and labels["service"], rule["alert"]
        assert labels["severity"] in ("page", "ticket"), rule["alert"]


def test_configured_routes_come_first_and_receivers_are_listed_once(tmp_path: Path) -> None:
    path, config = build_fragment(
        tmp_path,
        "alertmanager:\n"
        "  receivers: {page: sre-pager, ticket: sre-tickets}\n"
        "  routes:\n"
        "    - {match: {team: payments, severity: page}, receiver: payments-pager}\n"
        "    - {match: {team: payments}, receiver: sre-tickets}\n"
        "  group_by: ['...']\n"
        "  group_wait: 5s\n  group_interval: 1m\n  repeat_interval: 12h\n",
    )
    subtree = config["route"]["routes"][0]
    assert [r["receiver"] for r in subtree["routes"]] == [
        "payments-pager",
        "sre-tickets",
        "sre-pager",
        "sre-tickets",
    ]
    assert subtree["routes"][0]["matchers"] == ['severity="page"', 'team="payments"']
    assert (subtree["group_by"], subtree["group_wait"]) == (["..."], "5s")
    assert (subtree["group_interval"], subtree["repeat_interval"]) == ("1m", "12h")
    assert [r["name"] for r in config["receivers"]] == [
        "sre-pager",
        "sre-tickets",
        "payments-pager",
    ]
    result = check_config(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_inhibit_tickets_false_leaves_out_the_rule(tmp_path: Path) -> None:
    path, config = build_fragment(tmp_path, "alertmanager: {inhibit_tickets: false}\n")
    assert "inhibit_rules" not in config
    assert [r["name"] for r in config["receivers"]] == ["slogen-page", "slogen-ticket"]
    result = check_config(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 inhibit rules" in result.stdout


def test_label_values_are_quoted_for_alertmanager(tmp_path: Path) -> None:
    project = load_project([str(project_dir(tmp_path, ""))])
    settings = AlertmanagerSettings(
        routes=(AlertRoute((("team", 'a "b" \\ c'),), "x"),),
    )
    config = fragment(dataclasses.replace(project, alertmanager=settings))
    matchers = config["route"]["routes"][0]["routes"][0]["matchers"]
    assert matchers == ['team="a \\"b\\" \\\\ c"']
    path = tmp_path / "quoted.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = check_config(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_block_is_loaded_into_the_project(tmp_path: Path) -> None:
    project = load_project(
        [
            str(
                project_dir(
                    tmp_path,
                    "alertmanager:\n  receivers: {page: p, ticket: t}\n"
                    "  routes: [{match: {team: payments}, receiver: q}]\n",
                )
            )
        ]
    )
    am = project.alertmanager
    assert am is not None
    assert am.receivers == (("page", "p"), ("ticket", "t"))
    assert am.routes == (AlertRoute((("team", "payments"),), "q"),)
    assert am.group_by == ("service", "slo") and am.inhibit_tickets is True
    assert load_project([str(SPECS)]).alertmanager is None


# -- every mistake is a located error ---------------------------------------------------------

ERRORS = {
    "not-a-mapping": (
        "alertmanager: [page]\n",
        "slogen.yaml:1:15: error: alertmanager: expected a mapping (how Alertmanager delivers",
    ),
    "unknown-key": (
        "alertmanager:\n  group_bye: [service]\n",
        "slogen.yaml:2:3: error: alertmanager.group_bye: unknown key 'group_bye'",
        "did you mean 'group_by'?",
    ),
    "severity-no-policy-uses": (
        "alertmanager:\n  receivers: {page: p, ticket: t, tickt: x}\n",
        "slogen.yaml:2:35: error: alertmanager.receivers.tickt: no policy uses the severity "
        "'tickt', so no alert carries it",
        "did you mean 'ticket'?",
    ),
    "severity-without-receiver": (
        "alertmanager:\n  receivers: {page: sre-pager}\n",
        "slogen.yaml:2:14: error: alertmanager.receivers: no receiver for severity 'ticket'",
        "every severity a policy uses needs a receiver",
    ),
    "receivers-not-a-mapping": (
        "alertmanager:\n  receivers: sre-pager\n",
        "slogen.yaml:2:14: error: alertmanager.receivers: expected a mapping of severities to "
        "receiver names",
    ),
    "bad-receiver-name": (
        "alertmanager:\n  receivers: {page: 'sre pager', ticket: t}\n",
        "slogen.yaml:2:21: error: alertmanager.receivers.page: expected a receiver name",
        "e.g. sre-pager",
    ),
    "route-receiver-unknown-shape": (
        "alertmanager:\n  routes:\n    - {match: {team: payments}, receiver: 42}\n",
        "slogen.yaml:3:43: error: alertmanager.routes[0].receiver: expected a receiver name",
    ),
    "route-missing-receiver": (
        "alertmanager:\n  routes:\n    - {match: {team: payments}}\n",
        "slogen.yaml:3:7: error: alertmanager.routes[0].receiver: missing required key 'receiver'",
    ),
    "route-bad-label-name": (
        "alertmanager:\n  routes:\n    - {match: {team-name: payments}, receiver: x}\n",
        "slogen.yaml:3:16: error: alertmanager.routes[0].match.team-name: expected a label name "
        "matching [a-zA-Z_][a-zA-Z0-9_]*, found 'team-name'",
    ),
    "route-reserved-label-name": (
        "alertmanager:\n  routes:\n    - {match: {__name__: x}, receiver: x}\n",
        "slogen.yaml:3:16: error: alertmanager.routes[0].match.__name__: expected a label name",
        "names starting with __ are reserved",
    ),
    "route-number-value": (
        "alertmanager:\n  routes:\n    - {match: {shard: 3}, receiver: x}\n",
        "slogen.yaml:3:23: error: alertmanager.routes[0].match.shard: expected a non-empty "
        "string value",
    ),
    "route-empty-match": (
        "alertmanager:\n  routes:\n    - {match: {}, receiver: x}\n",
        "slogen.yaml:3:15: error: alertmanager.routes[0].match: expected at least one label to "
        "match",
    ),
    "route-severity-no-policy-uses": (
        "alertmanager:\n  routes:\n    - {match: {severity: critical}, receiver: x}\n",
        "slogen.yaml:3:26: error: alertmanager.routes[0].match.severity: no policy uses the "
        "severity 'critical'",
        "severities the policies use",
    ),
    "route-shadowed": (
        "alertmanager:\n  routes:\n    - {match: {team: a}, receiver: x}\n"
        "    - {match: {team: a}, receiver: y}\n",
        "slogen.yaml:4:15: error: alertmanager.routes[1].match: the same labels as the route at "
        "line 3",
    ),
    "routes-not-a-list": (
        "alertmanager:\n  routes: {team: a}\n",
        "slogen.yaml:2:11: error: alertmanager.routes: expected a list of routes",
    ),
    "group-by-bad-label": (
        "alertmanager:\n  group_by: [service, slo-name]\n",
        "slogen.yaml:2:23: error: alertmanager.group_by[1]: expected a label name",
    ),
    "group-by-twice": (
        "alertmanager:\n  group_by: [service, service]\n",
        "slogen.yaml:2:13: error: alertmanager.group_by: expected each label once",
    ),
    "group-by-empty": (
        "alertmanager:\n  group_by: []\n",
        "slogen.yaml:2:13: error: alertmanager.group_by: expected a list of at least one label",
    ),
    "group-by-dots-with-labels": (
        "alertmanager:\n  group_by: ['...', slo]\n",
        "slogen.yaml:2:13: error: alertmanager.group_by: expected '...' alone",
    ),
    "inhibit-not-boolean": (
        "alertmanager:\n  inhibit_tickets: 'no'\n",
        "slogen.yaml:2:20: error: alertmanager.inhibit_tickets: expected true or false, found "
        "string 'no'",
    ),
    "bad-duration": (
        "alertmanager:\n  group_wait: 10x\n",
        "slogen.yaml:2:15: error: alertmanager.group_wait: expected a duration",
        "30s, 5m or 4h",
    ),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_validate_reports_each_mistake_located(tmp_path: Path, case: str) -> None:
    settings, expected, *hint = ERRORS[case]
    directory = project_dir(tmp_path, settings)
    result = run("validate", str(directory), exit_code=1)
    assert "Traceback" not in result.output
    # file:line:column: error: field: expected ..., then the hint
    lines = [
        re.sub(r"^.*/slogen\.yaml", "slogen.yaml", line) for line in result.stderr.splitlines()
    ]
    assert any(line.startswith(expected) for line in lines), result.stderr
    for text in hint:
        assert text in result.stderr, result.stderr
    # build refuses too, and writes nothing
    run("build", str(directory), "-o", str(tmp_path / "out"), exit_code=1)
    assert not (tmp_path / "out").exists()


def test_a_valid_block_validates(tmp_path: Path) -> None:
    directory = project_dir(
        tmp_path,
        "alertmanager:\n  receivers: {page: sre-pager, ticket: sre-tickets}\n"
        "  routes:\n    - {match: {team: payments, severity: page}, receiver: payments-pager}\n"
        "  group_by: [service, slo]\n  inhibit_tickets: true\n  group_wait: 30s\n",
    )
    result = run("validate", str(directory))
    assert result.stdout.startswith("Valid:"), result.stdout
