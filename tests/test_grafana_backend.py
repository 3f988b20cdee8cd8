"""The Grafana backend in the registry, the loader, ``build`` and the ``files`` target.

Grafana is a *view*: no spec may name it as an indicator (it measures nothing), and it is used
whenever an SLO has a Prometheus indicator - then ``slogen build`` and the offline ``plan``
of the example specs show one dashboard per service, and the ``files`` target keeps to the
files it wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

from slogen.backends import registry
from slogen.spec.loader import load_project
from tests.cli import run
from tests.test_plan_apply import SPEC_FILES, summary_line

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "specs"

DATADOG_ONLY = """\
service: shop
slos:
  - name: availability
    objective: 99.9
    window: 30d
    indicator:
      datadog:
        errors: sum:shop.errors{*}.as_count()
        total: sum:shop.requests{*}.as_count()
    alerting:
      page: {datadog: ["@pagerduty-shop"]}
      ticket: {datadog: ["@slack-shop"]}
"""


def write(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_grafana_is_a_view_not_an_indicator(in_tmp: Path) -> None:
    assert "grafana" not in registry.NAMES
    assert "grafana" in registry.every()
    assert registry.get("grafana").capabilities.shows == "prometheus"
    spec = DATADOG_ONLY.replace("      datadog:\n        errors", "      grafana:\n        errors")
    specs = write(in_tmp / "specs", {"shop.yaml": spec})
    result = run("validate", str(specs), exit_code=1)
    assert "shop.yaml:7:7: error: slos[0].indicator.grafana" in result.stderr
    assert "Traceback" not in result.output


def test_used_only_with_prometheus_slos(in_tmp: Path) -> None:
    datadog = write(in_tmp / "dd", {"shop.yaml": DATADOG_ONLY})
    project = load_project([str(datadog)])
    assert "grafana" not in [b.name for b in registry.used_by(project)]
    assert registry.get("grafana").render(project, None) == []
    built = run("build", str(datadog), "-o", "built")
    assert "grafana" not in built.stdout and not (in_tmp / "built" / "grafana").exists()

    examples = load_project([str(EXAMPLES)])
    assert [b.name for b in registry.used_by(examples)][-1] == "grafana"


def test_build_and_offline_plan_of_the_examples(in_tmp: Path) -> None:
    built = run("build", str(EXAMPLES), "-o", "built")
    assert "grafana: wrote 3 files to built/grafana" in built.stdout
    files = sorted(p.name for p in (in_tmp / "built" / "grafana").iterdir())
    assert files == ["billing-worker.json", "checkout.json", "search.json"]
    checkout = json.loads((in_tmp / "built" / "grafana" / "checkout.json").read_text())
    assert checkout["title"] == "SLOs / checkout"  # a dashboard itself, as provisioning reads it

    plan = run("plan", str(EXAMPLES), "--target", "grafana")
    assert "grafana (files:out/grafana):" in plan.stdout
    assert "+ dashboard checkout" in plan.stdout
    assert summary_line(plan.stdout) == "Plan: 3 to add, 0 to change, 0 to destroy."


def test_files_target_apply_plan_and_files_it_does_not_own(in_tmp: Path) -> None:
    specs = write(in_tmp / "specs", SPEC_FILES)
    out = in_tmp / "out" / "grafana"
    out.mkdir(parents=True)
    hand_made = {"title": "Team board", "tags": ["team"], "panels": []}
    (out / "team.json").write_text(json.dumps(hand_made))
    (out / "notes.json").write_text("not json {")

    result = run("apply", str(specs), "--target", "grafana", "--auto-approve")
    assert "Apply complete: 3 changes made." in result.output
    again = run("plan", str(specs), "--target", "grafana", "--detailed-exitcode")
    assert summary_line(again.stdout) == "No changes."

    (specs / "search.yaml").unlink()
    result = run("apply", str(specs), "--target", "grafana", "--auto-approve")
    assert "Apply complete: 1 change" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "billing.json",
        "checkout.json",
        "notes.json",
        "team.json",
    ]
    assert json.loads((out / "team.json").read_text()) == hand_made

    (out / "checkout.json").write_text(json.dumps(hand_made))  # someone else's, at our name
    result = run("plan", str(specs), "--target", "grafana", exit_code=1)
    assert "checkout.json exists and is not managed by slogen" in result.stderr
    assert "managed-by:slogen" in result.stderr


def test_hand_edit_of_a_dashboard_file_is_an_update(in_tmp: Path) -> None:
    specs = write(in_tmp / "specs", SPEC_FILES)
    run("apply", str(specs), "--target", "grafana", "--auto-approve")
    path = in_tmp / "out" / "grafana" / "billing.json"
    doc = json.loads(path.read_text())
    doc["refresh"] = "5s"
    path.write_text(json.dumps(doc))
    data = json.loads(run("plan", str(specs), "--format", "json", "--target", "grafana").stdout)
    assert data["summary"] == {"add": 0, "change": 1, "destroy": 0}
    (change,) = data["changes"]
    assert change["key"] == "billing"
    assert [f["path"] for f in change["fields"]] == ["refresh"]


def test_deploy_example_grafana_target_validates() -> None:
    result = run("validate", str(EXAMPLES), "--config", str(ROOT / "examples/deploy/slogen.yaml"))
    assert "Valid:" in result.stdout
    project = load_project([str(EXAMPLES)], str(ROOT / "examples/deploy/slogen.yaml"))
    target = project.target("grafana")
    assert (target.type, target.option("token")) == ("api", "${GRAFANA_TOKEN}")


def test_uids_are_stable_short_and_apart_per_project() -> None:
    from slogen.backends.grafana import names

    long_name = "payments-" + "x" * 80
    assert names.uid("shop", "checkout") == names.uid("shop", "checkout")
    assert names.uid("shop", "checkout") != names.uid("other", "checkout")
    for service in ("checkout", long_name, long_name + "-2"):
        uid = names.uid("shop", service)
        assert len(uid) <= names.MAX_UID and uid.startswith("slo-")
    assert names.uid("shop", long_name) != names.uid("shop", long_name + "-2")


def test_type_none_turns_the_dashboards_off(in_tmp: Path) -> None:
    """A team without Grafana (or with dashboards of its own) sets ``grafana: {type: none}``:
    nothing is rendered, planned, built or written for Grafana, and the rest is unchanged."""
    specs = write(in_tmp / "specs", SPEC_FILES)
    settings = specs / "slogen.yaml"
    settings.write_text("targets:\n  grafana: {type: none}\n")
    plan = run("plan", str(specs))
    assert "dashboard" not in plan.stdout
    with_grafana = run("plan", str(write(in_tmp / "all", SPEC_FILES)))
    assert summary_line(with_grafana.stdout) != summary_line(plan.stdout)
    built = run("build", str(specs), "-o", "built")
    assert "grafana" not in built.stdout and not (in_tmp / "built" / "grafana").exists()
    run("apply", str(specs), "--auto-approve")
    assert not (in_tmp / "out" / "grafana").exists()
    assert summary_line(run("plan", str(specs)).stdout) == "No changes."

    settings.write_text("targets:\n  grafana: {type: none, dir: out/grafana}\n")
    result = run("validate", str(specs), exit_code=1)
    assert "targets.grafana" in result.stderr and "dir" in result.stderr
