"""Datadog dashboards (one per service) through plan and apply, against the fake Datadog.

The fake (tests/fakes/datadog_dashboards.py) refuses an ``slo`` widget naming an SLO that does
not exist and, as Datadog does, the deletion of an SLO a dashboard still shows: so these tests
also check the order of an apply (SLOs before the dashboard that shows them; the dashboard
updated or deleted before the SLOs it stops showing).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from slogen.backends.datadog import dashboard
from slogen.backends.datadog.facts import SYMBOL_RE, references
from slogen.spec.loader import load_project
from tests.cli import run
from tests.conftest import SPECS
from tests.fakes import faults
from tests.test_datadog_api import Env, env

__all__ = ["env"]  # the fixture, used by name


def boards(env: Env) -> dict[str, dict[str, Any]]:
    """This project's live dashboards by the key in their marker."""
    with env.fake.lock:
        found = {}
        for board in env.fake.dashboards.values():
            mark = dashboard.marked(board.get("description"))
            if mark and mark[1] == "specs":
                found[mark[0]] = json.loads(json.dumps(board))
        return found


def definitions(widgets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for widget in widgets:
        out.append(widget["definition"])
        out.extend(definitions(widget["definition"].get("widgets") or []))
    return out


def test_body_groups_slos_by_category_with_burn_rates_and_monitors() -> None:
    project = load_project([str(SPECS)])
    (checkout,) = [r for r in dashboard.render(project) if r.key == "checkout"]
    body = checkout.body
    assert body["description"].endswith(
        "managed-by: slogen; slogen-key: checkout; slogen-project: specs"
    )
    assert dashboard.ownership(body["description"], "specs") == "checkout"
    assert dashboard.ownership(body["description"], "other") is None
    note, monitors, *groups = [w["definition"] for w in body["widgets"]]
    assert note["type"] == "note" and monitors["type"] == "manage_status"
    assert monitors["query"] == (
        "tag:managed-by:slogen tag:service:checkout tag:slogen-project:specs"
    )
    # categories in the loader's order: availability before latency
    assert [g["title"] for g in groups] == ["Availability SLOs", "Latency SLOs"]
    inner = definitions(groups[0]["widgets"])
    assert inner[0] == {
        "type": "slo",
        "title": "availability: 99.9% over 30d",
        "slo_id": "${slo:checkout/availability}",
        "view_type": "detail",
        "time_windows": ["30d"],
        "show_error_budget": True,
        "view_mode": "overall",
    }
    page = inner[1]
    assert page["title"] == "availability: burn rate of tier page-1h (page)"
    assert page["markers"] == [
        {"value": "y = 14.4", "display_type": "error dashed", "label": "page above burn rate 14.4"}
    ]
    assert page["requests"][0]["q"] == (
        "(moving_rollup(sum:checkout.requests.errors{env:prod}.as_count(), 3600, 'sum')) / "
        "moving_rollup(sum:checkout.requests{env:prod}.as_count(), 3600, 'sum') / 0.001"
    )
    assert "300, 'sum'" in page["requests"][1]["q"]  # the short window, 5m
    # the dashboard depends on the SLOs it shows
    assert checkout.depends_on == ("checkout/availability", "checkout/latency")


def test_an_slo_without_category_goes_last_in_other_slos(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    text = (SPECS / "checkout.yaml").read_text().replace("    category: availability\n", "")
    (specs / "checkout.yaml").write_text(text)
    (specs / "slogen.yaml").write_text((SPECS / "slogen.yaml").read_text())
    (board,) = dashboard.render(load_project([str(specs)]))
    groups = [w["definition"]["title"] for w in board.body["widgets"][2:]]
    assert groups == ["Latency SLOs", "Other SLOs"]


def test_apply_creates_dashboards_naming_the_slos_then_no_changes(env: Env) -> None:
    plan = env.plan()
    assert "  + dashboard checkout" in plan.stdout
    env.apply()
    live = boards(env)
    assert sorted(live) == ["billing-worker", "checkout", "search"]
    slo_ids = {
        s["id"]: next(t for t in s["tags"] if t.startswith("slogen-key:"))
        for s in env.fake.slos.values()
    }
    shown = [d["slo_id"] for d in definitions(live["checkout"]["widgets"]) if d["type"] == "slo"]
    assert [slo_ids[i] for i in shown] == [
        "slogen-key:checkout/availability",
        "slogen-key:checkout/latency",
    ]
    assert "No changes." in env.plan("--detailed-exitcode").stdout


def test_a_spec_change_updates_the_dashboard_in_place(env: Env) -> None:
    env.apply()
    before = boards(env)["checkout"]
    spec = env.specs / "checkout.yaml"
    spec.write_text(spec.read_text().replace("objective: 99.9\n", "objective: 99.5\n"))
    plan = env.plan()
    assert "  ~ dashboard checkout" in plan.stdout
    env.apply()
    after = boards(env)["checkout"]
    assert after["id"] == before["id"]  # the same dashboard, replaced as a whole
    titles = [d.get("title") for d in definitions(after["widgets"])]
    assert "availability: 99.5% over 30d" in titles
    assert "No changes." in env.plan().stdout


def test_removing_an_slo_updates_the_dashboard_before_deleting_the_slo(env: Env) -> None:
    env.apply()
    spec = env.specs / "checkout.yaml"
    spec.write_text(spec.read_text().split("\n  - name: latency")[0] + "\n")
    plan = env.plan()
    assert "  ~ dashboard checkout" in plan.stdout and "  - slo checkout/latency" in plan.stdout
    # the fake refuses to delete an SLO a dashboard shows: the dashboard must change first
    env.apply()
    board = boards(env)["checkout"]
    assert [g["title"] for g in definitions(board["widgets"]) if g["type"] == "group"] == [
        "Availability SLOs"
    ]
    assert len(env.fake.slos) == 2
    assert "No changes." in env.plan().stdout


def test_removing_a_service_deletes_its_dashboard_and_leaves_foreign_ones(env: Env) -> None:
    env.apply()
    by_hand = env.fake.add_dashboard(
        {"title": "search SLOs (slogen)", "layout_type": "ordered", "widgets": []}
    )
    other_project = env.fake.add_dashboard(
        {
            "title": "search SLOs (slogen)",
            "description": dashboard.marker_line("search", "elsewhere"),
            "layout_type": "ordered",
            "widgets": [],
        }
    )
    (env.specs / "search.yaml").unlink()
    plan = env.plan()
    assert "  - dashboard search" in plan.stdout
    assert "1 Datadog object owned by slogen project 'elsewhere' left alone" in plan.output
    env.apply()
    assert "search" not in boards(env)
    assert by_hand in env.fake.dashboards and other_project in env.fake.dashboards
    assert "No changes." in env.plan().stdout


def test_a_hand_edit_is_drift_and_makes_a_saved_plan_stale(env: Env, in_tmp: Path) -> None:
    env.apply()
    board_id = next(i for i, b in env.fake.dashboards.items() if "checkout" in b["title"])
    spec = env.specs / "checkout.yaml"
    spec.write_text(spec.read_text().replace("objective: 99.9\n", "objective: 99.5\n"))
    env.plan("-o", "plan.json")
    with env.fake.lock:
        env.fake.dashboards[board_id]["title"] = "renamed by hand"
    stale = run("apply", "plan.json", exit_code=1)
    assert "the plan is stale" in stale.stderr
    plan = env.plan()  # the hand edit shows as drift on the title, reverted by apply
    assert "  ~ dashboard checkout" in plan.stdout and '"renamed by hand"' in plan.stdout
    env.apply()
    assert env.fake.dashboards[board_id]["title"] == "checkout SLOs (slogen)"


def test_a_lost_create_answer_adopts_the_dashboard(env: Env) -> None:
    env.fake.inject_fault(faults.COMMIT_THEN_5XX, operation="POST dashboard")
    env.apply()
    assert sorted(boards(env)) == ["billing-worker", "checkout", "search"]  # no duplicate
    assert len(env.fake.dashboards) == 3
    assert "No changes." in env.plan().stdout


def test_files_target_writes_the_dashboards_and_converges(in_tmp: Path) -> None:
    first = run("plan", str(SPECS), "--target", "datadog")
    assert "  + dashboard checkout" in first.stdout
    run("apply", str(SPECS), "--target", "datadog", "--auto-approve")
    doc = json.loads((in_tmp / "out/datadog/checkout.datadog.json").read_text())
    kinds = [r["kind"] for r in doc["resources"]]
    assert kinds[-1] == "dashboard" and kinds.count("dashboard") == 1  # after the SLOs
    again = run("plan", str(SPECS), "--target", "datadog", "--detailed-exitcode")
    assert "No changes." in again.stdout


@pytest.mark.parametrize(
    "text",
    [
        "see ${slo:checkout/availability} and ${monitor:a/b/page-1h}",
        'quoted "${slo:x/y}" \\ ${',
        "café ${slo:é/x} ${slo:a/b}",
    ],
)
def test_references_are_what_the_json_text_of_the_widgets_names(text: str) -> None:
    """A dashboard's dependencies are found in its widgets' JSON text (written by orjson when it
    is ASCII): the same names as in json.dumps' text, escapes and all."""
    widgets = [
        {"definition": {"type": "note", "content": text}},
        {"definition": {"slo_id": "${slo:a/b}"}},
    ]
    expected = tuple(dict.fromkeys(key for _, key in SYMBOL_RE.findall(json.dumps(widgets))))
    assert references({"widgets": widgets}) == expected
    assert expected
