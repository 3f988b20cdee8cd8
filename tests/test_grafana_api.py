"""plan and apply against the Grafana ``api`` target, through the real CLI and the fake Grafana
of tests/fakes/grafana.py (built from Grafana's HTTP API docs; see its docstring).

Covers what the target promises: dashboards created, updated on a spec change and deleted when
their SLO or service goes; apply then plan is "No changes."; dashboards slogen did not write
(or another project wrote) are never changed; a dashboard of someone else's at slogen's uid
stops the plan; the token is required and never printed; a concurrent edit (412
version-mismatch) is reported, not overwritten; a dashboard already gone is deleted all the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from slogen.backends import registry
from slogen.backends.grafana import names
from slogen.backends.grafana.api import client as client_mod
from slogen.backends.grafana.api.client import Client, Connection, GrafanaError
from slogen.plan.model import DELETE, Change
from slogen.plan.outcome import DONE
from slogen.plan.progress import Progress
from slogen.spec.loader import load_project
from tests.cli import Result, run
from tests.fakes.grafana import FakeGrafana
from tests.test_plan_apply import SPEC_FILES, edit, summary_line

TOKEN = "glsa_sloGenTest_0123456789abcdef"
VIEWER = "glsa_viewerOnly_0123456789abcdef"
FOLDER = "slo"
PROJECT = "shop"


@pytest.fixture
def grafana(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGrafana]:
    monkeypatch.setattr(client_mod, "_sleep", lambda _seconds: None)  # retries without waiting
    with FakeGrafana(token=TOKEN, viewer_token=VIEWER, folders={FOLDER: "SLOs"}) as fake:
        monkeypatch.setenv("GRAFANA_URL", fake.url)
        monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
        yield fake


def write_specs(root: Path, **target: str) -> Path:
    specs = root / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    for name, text in SPEC_FILES.items():
        (specs / name).write_text(text)
    options = {
        "type": "api",
        "url": "${GRAFANA_URL}",
        "folder": FOLDER,
        "token": "${GRAFANA_TOKEN}",
    }
    options = {k: v for k, v in {**options, **target}.items() if v}
    (specs / "slogen.yaml").write_text(
        f"project: {PROJECT}\ntargets:\n  grafana: {json.dumps(options)}\n"
    )
    return specs


@pytest.fixture
def specs(in_tmp: Path, grafana: FakeGrafana) -> Path:
    return write_specs(in_tmp)


def plan(specs: Path, *args: str, exit_code: int | None = 0) -> Result:
    return run("plan", str(specs), "--target", "grafana", *args, exit_code=exit_code)


def apply(specs: Path, *args: str, exit_code: int | None = 0) -> Result:
    return run(
        "apply", str(specs), "--target", "grafana", "--auto-approve", *args, exit_code=exit_code
    )


def uid(service: str) -> str:
    return names.uid(PROJECT, service)


def clean(*results: Result) -> None:
    for result in results:
        assert TOKEN not in result.output
        assert "Traceback" not in result.output


def test_create_update_delete_then_no_changes(specs: Path, grafana: FakeGrafana) -> None:
    first = plan(specs)
    assert "grafana (api):" in first.stdout
    assert summary_line(first.stdout) == "Plan: 3 to add, 0 to change, 0 to destroy."
    assert grafana.writes() == 0, "plan must not write"

    result = apply(specs)
    assert "Apply complete: 3 changes made." in result.output
    for service in ("billing", "checkout", "search"):
        stored = grafana.get(uid(service))
        assert stored is not None and stored["version"] == 1
        assert stored["tags"][:2] == ["managed-by:slogen", f"slogen-project:{PROJECT}"]
        assert grafana.folder_of[uid(service)] == FOLDER
    creates = [s for s in grafana.saves if s["dashboard"]["uid"] == uid("checkout")]
    assert [(s["overwrite"], s["folderUid"]) for s in creates] == [(False, FOLDER)]
    assert all("version" not in s["dashboard"] for s in creates)

    grafana.reset_counts()
    again = plan(specs, "--detailed-exitcode")
    assert summary_line(again.stdout) == "No changes."
    assert grafana.counts[("GET", "search")] == 1
    assert grafana.counts[("GET", "dashboard")] == 3
    assert grafana.writes() == 0

    # a spec change: the checkout dashboard is updated in place, with the version just read
    edit(specs / "checkout.yaml", "objective: 99.9", "objective: 99.8")
    changed = plan(specs)
    assert summary_line(changed.stdout) == "Plan: 0 to add, 1 to change, 0 to destroy."
    assert "~ dashboard checkout" in changed.stdout
    apply(specs)
    stored = grafana.get(uid("checkout"))
    assert stored is not None and stored["version"] == 2
    assert "/ 0.002" in json.dumps(stored["panels"])
    update = grafana.saves[-1]
    assert update["overwrite"] is False and update["dashboard"]["version"] == 1

    # an SLO removed: its row goes; a service removed: its dashboard goes
    text = (specs / "checkout.yaml").read_text()
    (specs / "checkout.yaml").write_text(text[: text.index("\n  - name: latency")] + "\n")
    (specs / "search.yaml").unlink()
    result = plan(specs)
    assert summary_line(result.stdout) == "Plan: 0 to add, 1 to change, 1 to destroy."
    apply(specs)
    assert grafana.get(uid("search")) is None
    stored = grafana.get(uid("checkout"))
    assert stored is not None
    assert [p["title"] for p in stored["panels"] if p["type"] == "row"] == [
        "availability: 99.8% over 30d"
    ]
    final = plan(specs, "--detailed-exitcode")
    assert summary_line(final.stdout) == "No changes."
    clean(first, result, final)


def test_dashboards_slogen_does_not_own_are_left_alone(specs: Path, grafana: FakeGrafana) -> None:
    team = {"uid": "team-board", "title": "Team board", "tags": ["team"], "panels": []}
    other = {
        "uid": names.uid("other", "checkout"),
        "title": "SLOs / checkout",
        "tags": ["managed-by:slogen", "slogen-project:other", "slogen-service:checkout"],
        "panels": [],
    }
    grafana.put_dashboard(team)
    grafana.put_dashboard(other, folder=FOLDER)
    before = {u: grafana.get(u) for u in ("team-board", other["uid"])}

    result = plan(specs)
    assert summary_line(result.stdout) == "Plan: 3 to add, 0 to change, 0 to destroy."
    assert "1 dashboard owned by slogen project 'other' left alone" in result.output
    apply(specs)
    (specs / "billing.yaml").unlink()
    (specs / "checkout.yaml").unlink()
    apply(specs)
    assert {u: grafana.get(u) for u in before} == before
    assert grafana.get(uid("checkout")) is None
    assert grafana.get(uid("search")) is not None


def test_a_dashboard_of_someone_else_at_our_uid_is_a_conflict(
    specs: Path, grafana: FakeGrafana
) -> None:
    squatter = {"uid": uid("checkout"), "title": "Hand made", "tags": [], "panels": []}
    grafana.put_dashboard(squatter)
    for result in (plan(specs, exit_code=1), apply(specs, exit_code=1)):
        assert "is not managed by slogen (no managed-by:slogen tag)" in result.stderr
        assert "slogen never overwrites it" in result.stderr
        clean(result)
    assert grafana.get(uid("checkout"))["title"] == "Hand made"
    assert grafana.writes() == 0


def test_the_token_is_required_checked_and_never_printed(
    in_tmp: Path, grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = write_specs(in_tmp)
    monkeypatch.delenv("GRAFANA_TOKEN")
    result = plan(specs, exit_code=1)
    assert "environment variable GRAFANA_TOKEN is not set" in result.stderr

    monkeypatch.setenv("GRAFANA_TOKEN", "glsa_wrong")
    result = plan(specs, exit_code=1)
    assert "HTTP 401" in result.stderr and "check targets.grafana.token" in result.stderr

    monkeypatch.setenv("GRAFANA_TOKEN", VIEWER)  # may read, not write
    result = apply(specs, "--no-lock", exit_code=1)
    assert "Grafana refused the token" in result.output and "HTTP 403" in result.output
    assert "not attempted" in result.output  # the first refusal stops the rest
    assert not grafana.dashboards
    clean(result)

    literal = write_specs(in_tmp / "literal", token=TOKEN)
    result = run("validate", str(literal), exit_code=1)
    assert "targets.grafana.token" in result.stderr
    assert "credentials never go in a committed file" in result.stderr
    clean(result)

    no_token = write_specs(in_tmp / "none", token="")
    result = run("validate", str(no_token), exit_code=1)
    assert "token" in result.stderr and "Traceback" not in result.output


def test_bad_settings_are_located_errors(in_tmp: Path, grafana: FakeGrafana) -> None:
    specs = write_specs(in_tmp, folder="not a uid!")
    result = run("validate", str(specs), exit_code=1)
    assert "slogen.yaml:3:" in result.stderr and "targets.grafana.folder" in result.stderr
    specs = write_specs(in_tmp / "u", url="grafana.example.com")
    result = run("validate", str(specs), exit_code=1)
    assert "targets.grafana.url" in result.stderr and "http(s) URL" in result.stderr
    specs = write_specs(in_tmp / "t", type="ruler")
    result = run("validate", str(specs), exit_code=1)
    assert "targets.grafana.type" in result.stderr
    clean(result)


def test_a_concurrent_edit_is_reported_not_overwritten(specs: Path, grafana: FakeGrafana) -> None:
    apply(specs)
    edit(specs / "search.yaml", "objective: 99.95", "objective: 99.9")
    # someone saves the dashboard between slogen's read and its write: Grafana answers 412
    grafana.fail_next(
        1,
        412,
        method="POST",
        body={
            "message": "The dashboard has been changed by someone else",
            "status": "version-mismatch",
        },
    )
    result = apply(specs, "--no-lock", exit_code=1)
    assert "was changed in Grafana while slogen updated it" in result.output
    assert grafana.get(uid("search"))["version"] == 1
    assert summary_line(plan(specs).stdout) == "Plan: 0 to add, 1 to change, 0 to destroy."
    apply(specs)
    assert grafana.get(uid("search"))["version"] == 2


def test_the_fake_refuses_a_stale_version_and_a_taken_uid(grafana: FakeGrafana) -> None:
    """The two 412s of the docs, as the client sees them."""
    client = Client(Connection(grafana.url, None, TOKEN))
    board = {"uid": "b1", "title": "B", "tags": []}
    client.save(board, overwrite=False, message="")
    with pytest.raises(GrafanaError) as taken:
        client.save(board, overwrite=False, message="")
    assert (taken.value.status, taken.value.reason) == (412, "name-exists")
    client.save({**board, "version": 1}, overwrite=False, message="")
    with pytest.raises(GrafanaError) as stale:
        client.save({**board, "version": 1}, overwrite=False, message="")
    assert (stale.value.status, stale.value.reason) == (412, "version-mismatch")
    assert client.get("missing") is None and client.delete("missing") is False
    with pytest.raises(GrafanaError) as long_uid:
        client.save({"uid": "x" * 41, "title": "L"}, overwrite=False, message="")
    assert long_uid.value.status == 400


def test_a_dashboard_already_gone_counts_as_deleted(specs: Path, grafana: FakeGrafana) -> None:
    """A delete whose dashboard vanished after the plan (404 on the read before the delete)."""
    apply(specs)
    project = load_project([str(specs)])
    target = registry.get("grafana").target(project.target("grafana"))
    live = {r.key: r for r in target.read_live([]).resources}
    with grafana.lock:
        grafana.remove(uid("search"))  # deleted by hand after the plan was made
    grafana.reset_counts()
    change = Change(DELETE, live["search"], None)
    report = target.apply([change], [], Progress(1, quiet=True))
    assert [o.status for o in report.outcomes] == [DONE]
    assert grafana.counts[("DELETE", "dashboard")] == 0  # the read said 404: nothing to delete


def test_retries_and_the_lock_leave_nothing_behind(specs: Path, grafana: FakeGrafana) -> None:
    grafana.fail_next(2, 503, method="GET")  # an overloaded Grafana, twice
    result = apply(specs)  # with the apply lock (a lease dashboard tagged slogen-lock)
    assert "Apply complete: 3 changes made." in result.output
    assert sorted(grafana.dashboards) == sorted(uid(s) for s in ("billing", "checkout", "search"))
    assert any(s["dashboard"].get("tags") == ["slogen-lock"] for s in grafana.saves)
