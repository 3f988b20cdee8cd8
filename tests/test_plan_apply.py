"""plan and apply against the Prometheus ``files`` target (no server): exit codes, saved plans,
stale plans, confirmation, idempotency, ownership, interrupted applies and secrets.

The specs here name only a Prometheus source, so the counts stay the same whichever other
backends this installation manages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import _NamedTextIOWrapper

from slogen.plan.model import CREATE, DELETE, UPDATE, Change
from slogen.plan.planner import ordered
from slogen.resources import Resource
from tests.cli import run

BILLING = """\
service: billing
description: Invoice API
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
description: Checkout API of the web store
owner: payments
labels: {env: prod}
slos:
  - name: availability
    description: Checkout requests that do not fail with a server error
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
      page:
        prometheus: {team_channel: payments-oncall}

  - name: latency
    description: Checkout requests served in under 400 ms
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
description: Product search
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
# one recording-rules resource and three workbook alerts per SLO
COUNTS = {"billing": 4, "checkout": 8, "search": 4}
RULES = sum(COUNTS.values())
DASHBOARDS = len(COUNTS)  # and a Grafana dashboard per service (files target out/grafana)
TOTAL = RULES + DASHBOARDS
SECRET = "supersecretvalue123"


def write_specs(root: Path, rules_dir: str | Path, reload_url: str | None = None) -> Path:
    """A spec directory with billing, checkout and search, targeting ``rules_dir``."""
    specs = root / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    for name, text in SPEC_FILES.items():
        (specs / name).write_text(text)
    target = {"type": "files", "dir": str(rules_dir)}
    if reload_url:
        target["reload_url"] = reload_url
    (specs / "slogen.yaml").write_text(f"targets:\n  prometheus: {json.dumps(target)}\n")
    return specs


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def snapshot(directory: Path) -> dict[str, bytes | None]:
    """Every path under ``directory`` with its bytes (None for directories)."""
    if not directory.exists():
        return {}
    return {
        str(p.relative_to(directory)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(directory.rglob("*"))
    }


def summary_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.startswith(("Plan:", "No changes."))]
    assert len(lines) == 1, text
    return lines[0]


def plan_json(specs: Path, *args: str, exit_code: int = 0) -> dict:
    return json.loads(
        run("plan", str(specs), "--format", "json", *args, exit_code=exit_code).stdout
    )


@pytest.fixture
def specs(in_tmp: Path) -> Path:
    return write_specs(in_tmp, "out/prometheus")


@pytest.fixture
def rules(in_tmp: Path) -> Path:
    return in_tmp / "out" / "prometheus"


def _stdin_is_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make CliRunner's stdin claim to be a terminal, so apply asks its question."""
    original = _NamedTextIOWrapper.isatty

    def isatty(self: _NamedTextIOWrapper) -> bool:
        return self.name == "<stdin>" or original(self)

    monkeypatch.setattr(_NamedTextIOWrapper, "isatty", isatty, raising=False)


# -- exit codes and --target --------------------------------------------------------------------


def test_detailed_exitcode_2_with_changes_then_0_without(specs: Path, rules: Path) -> None:
    result = run("plan", str(specs), "--detailed-exitcode", exit_code=2)
    assert summary_line(result.stdout) == f"Plan: {TOTAL} to add, 0 to change, 0 to destroy."
    assert not rules.exists(), "plan must not write anything"
    run("apply", str(specs), "--auto-approve")
    result = run("plan", str(specs), "--detailed-exitcode", exit_code=0)
    assert summary_line(result.stdout) == "No changes."
    assert "prometheus (files:out/prometheus): up to date" in result.stdout


def test_plan_without_detailed_exitcode_exits_0_with_changes(specs: Path) -> None:
    result = run("plan", str(specs), exit_code=0)
    assert summary_line(result.stdout).startswith(f"Plan: {TOTAL} to add")


def test_detailed_exitcode_1_on_a_spec_error(specs: Path, rules: Path) -> None:
    edit(specs / "checkout.yaml", "objective: 99.9", "objective: 120")
    result = run("plan", str(specs), "--detailed-exitcode", exit_code=1)
    assert "checkout.yaml:" in result.stderr
    assert "objective" in result.stderr
    assert "Traceback" not in result.output
    assert not rules.exists()


def test_target_limits_the_backends(specs: Path, rules: Path) -> None:
    only_prom = run(
        "plan", str(specs), "--target", "prometheus", "--detailed-exitcode", exit_code=2
    )
    assert "prometheus (files:out/prometheus):" in only_prom.stdout
    assert summary_line(only_prom.stdout) == f"Plan: {RULES} to add, 0 to change, 0 to destroy."

    other = run("plan", str(specs), "--target", "datadog", "--detailed-exitcode", exit_code=0)
    assert "prometheus" not in other.stdout
    assert summary_line(other.stdout) == "No changes."
    run("apply", str(specs), "--target", "datadog", "--auto-approve")
    assert not rules.exists(), "--target datadog must not touch the prometheus target"

    bad = run("plan", str(specs), "--target", "nagios", exit_code=1)
    assert "unknown backend 'nagios'" in bad.stderr

    data = plan_json(specs, "--target", "prometheus")
    assert {c["backend"] for c in data["changes"]} == {"prometheus"}
    assert [t["backend"] for t in data["targets"]] == ["prometheus"]


# -- saved plans --------------------------------------------------------------------------------


def test_saved_plan_applies_and_then_there_are_no_changes(specs: Path, rules: Path) -> None:
    result = run("plan", str(specs), "-o", "plan.json", "--detailed-exitcode", exit_code=2)
    assert "Saved the plan to plan.json" in result.stdout
    assert not rules.exists()
    saved = json.loads(Path("plan.json").read_text())
    assert saved["format"] == "slogen-plan"
    assert saved["summary"] == {"add": TOTAL, "change": 0, "destroy": 0}

    result = run("apply", "plan.json")
    assert f"Apply complete: {TOTAL} changes made." in result.output
    assert sorted(p.name for p in rules.iterdir()) == [
        "billing.rules.yml",
        "checkout.rules.yml",
        "search.rules.yml",
    ]
    assert summary_line(run("plan", str(specs), "--detailed-exitcode").stdout) == "No changes."


def test_saved_plan_applies_exactly_what_it_holds(specs: Path, rules: Path) -> None:
    run("apply", str(specs), "--auto-approve")
    edit(specs / "checkout.yaml", "objective: 99.9", "objective: 99.8")
    planned = plan_json(specs, "-o", "plan.json")
    # three alerts, and the dashboard's attainment threshold and budget
    assert planned["summary"] == {"add": 0, "change": 4, "destroy": 0}
    # a later spec change that nobody reviewed is not part of the saved plan
    edit(specs / "search.yaml", "objective: 99.95", "objective: 99.9")

    result = run("apply", "plan.json")
    assert "Apply complete: 4 changes made." in result.output
    assert "0.0288" in (rules / "checkout.rules.yml").read_text()  # 14.4 × 0.2 %

    left = plan_json(specs)
    assert left["summary"] == {"add": 0, "change": 4, "destroy": 0}
    assert {c["key"].split("/")[0] for c in left["changes"]} == {"search"}


def test_saved_plan_with_deletes_removes_the_file(specs: Path, rules: Path) -> None:
    run("apply", str(specs), "--auto-approve")
    (specs / "search.yaml").unlink()
    result = run("plan", str(specs), "-o", "plan.json", "--detailed-exitcode", exit_code=2)
    assert summary_line(result.stdout) == "Plan: 0 to add, 0 to change, 5 to destroy."
    assert "  - alert search/availability/page-1h" in result.stdout
    run("apply", "plan.json")
    assert not (rules / "search.rules.yml").exists()
    assert (rules / "checkout.rules.yml").exists()
    assert summary_line(run("plan", str(specs)).stdout) == "No changes."


@pytest.mark.parametrize("how", ["edit an owned file", "delete an owned file", "apply first"])
def test_stale_plan_is_refused_and_nothing_changes(
    specs: Path, rules: Path, how: str, in_tmp: Path
) -> None:
    if how != "apply first":
        run("apply", str(specs), "--auto-approve")
        edit(specs / "checkout.yaml", "objective: 99.9", "objective: 99.8")
    run("plan", str(specs), "-o", "plan.json", "--detailed-exitcode", exit_code=2)
    if how == "edit an owned file":
        edit(rules / "checkout.rules.yml", "team_channel: payments-oncall", "team_channel: other")
    elif how == "delete an owned file":
        (rules / "search.rules.yml").unlink()
    else:
        run("apply", str(specs), "--auto-approve")  # someone else applied in the meantime
    before = snapshot(in_tmp)

    result = run("apply", "plan.json", exit_code=1)
    assert "the plan is stale" in result.stderr
    assert "prometheus (files:out/prometheus)" in result.stderr
    assert "nothing was changed" in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(in_tmp) == before


def test_a_file_someone_else_put_in_the_way_after_the_plan_is_left_alone(
    specs: Path, rules: Path, in_tmp: Path
) -> None:
    """Nothing slogen owns changed, so the plan is not stale; but applying it would write over a
    file slogen does not own. The conflict check runs again before anything is written."""
    run("plan", str(specs), "-o", "plan.json", "--detailed-exitcode", exit_code=2)
    rules.mkdir(parents=True, exist_ok=True)
    (rules / "checkout.rules.yml").write_text("groups: []  # written by hand\n")
    before = snapshot(in_tmp)
    result = run("apply", "plan.json", exit_code=1)
    assert "checkout.rules.yml exists and is not managed by slogen" in result.stderr
    assert "nothing was changed" in result.stderr
    assert snapshot(in_tmp) == before


def test_damaged_plan_file_is_a_clean_error(specs: Path, in_tmp: Path) -> None:
    run("plan", str(specs), "-o", "plan.json")
    data = json.loads(Path("plan.json").read_text())
    del data["changes"][0]["action"]
    Path("plan.json").write_text(json.dumps(data))
    before = snapshot(in_tmp)
    result = run("apply", "plan.json", exit_code=1)
    assert "damaged" in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(in_tmp) == before


# -- confirmation -------------------------------------------------------------------------------


def test_apply_refuses_without_auto_approve_when_stdin_is_not_a_terminal(
    specs: Path, in_tmp: Path
) -> None:
    before = snapshot(in_tmp)
    result = run("apply", str(specs), exit_code=1, input="yes\n")
    assert "refusing to apply without confirmation" in result.stderr
    assert "--auto-approve" in result.stderr
    assert snapshot(in_tmp) == before


@pytest.mark.parametrize("answer", ["no", "", "y", "YES please"])
def test_interactive_answer_other_than_yes_cancels(
    specs: Path, in_tmp: Path, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    _stdin_is_a_tty(monkeypatch)
    before = snapshot(in_tmp)
    result = run("apply", str(specs), exit_code=1, input=f"{answer}\n")
    assert "Apply these changes?" in result.stdout
    assert "Apply cancelled; nothing was changed." in result.output
    assert snapshot(in_tmp) == before


def test_interactive_yes_applies(specs: Path, rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin_is_a_tty(monkeypatch)
    result = run("apply", str(specs), input="yes\n")
    assert f"Apply complete: {TOTAL} changes made." in result.output
    assert len(list(rules.iterdir())) == 3


def test_interactive_apply_with_nothing_to_do_does_not_ask(
    specs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("apply", str(specs), "--auto-approve")
    _stdin_is_a_tty(monkeypatch)
    result = run("apply", str(specs), input="")
    assert "Apply these changes?" not in result.output
    assert summary_line(result.stdout) == "No changes."


# -- idempotency and ownership ------------------------------------------------------------------


def test_apply_is_idempotent(specs: Path, rules: Path) -> None:
    run("apply", str(specs), "--auto-approve")
    first = snapshot(rules)
    mtimes = {p.name: p.stat().st_mtime_ns for p in rules.iterdir()}
    result = run("apply", str(specs), "--auto-approve")
    assert summary_line(result.stdout) == "No changes."
    assert "Apply complete" not in result.output
    assert snapshot(rules) == first
    assert {p.name: p.stat().st_mtime_ns for p in rules.iterdir()} == mtimes


def test_only_changed_files_are_rewritten(specs: Path, rules: Path) -> None:
    run("apply", str(specs), "--auto-approve")
    before = snapshot(rules)
    edit(specs / "search.yaml", "objective: 99.95", "objective: 99.9")
    run("apply", str(specs), "--auto-approve")
    after = snapshot(rules)
    assert {name for name in before if before[name] != after[name]} == {"search.rules.yml"}


def test_unowned_file_with_a_generated_name_is_an_error_and_untouched(
    specs: Path, rules: Path
) -> None:
    rules.mkdir(parents=True)
    mine = rules / "checkout.rules.yml"
    mine.write_bytes(
        b"groups:\n- name: hand-written\n  rules:\n  - record: a\n    expr: vector(1)\n"
    )
    before = snapshot(rules)
    for args in (("plan", str(specs)), ("apply", str(specs), "--auto-approve")):
        result = run(*args, exit_code=1)
        assert "checkout.rules.yml exists and is not managed by slogen" in result.stderr
        assert "# managed-by: slogen" in result.stderr
        assert "Traceback" not in result.output
        assert snapshot(rules) == before


def test_unowned_files_are_never_read_changed_or_deleted(specs: Path, rules: Path) -> None:
    rules.mkdir(parents=True)
    other = {
        "team.rules.yml": b"groups:\n- name: slogen/team/own\n  rules: []\n",
        "notes.yaml": b"# managed-by: someone else\nnot: [valid, rules\n",
        "README": b"# managed-by: slogen\nnot yaml at all: [\n",
    }
    for name, data in other.items():
        (rules / name).write_bytes(data)
    run("apply", str(specs), "--auto-approve")
    (specs / "search.yaml").unlink()
    (specs / "billing.yaml").unlink()
    result = run("plan", str(specs), "--detailed-exitcode", exit_code=2)
    assert summary_line(result.stdout) == "Plan: 0 to add, 0 to change, 10 to destroy."
    run("apply", str(specs), "--auto-approve")
    assert sorted(p.name for p in rules.iterdir()) == sorted([*other, "checkout.rules.yml"])
    for name, data in other.items():
        assert (rules / name).read_bytes() == data


def test_broken_owned_file_is_reported_with_a_hint(specs: Path, rules: Path) -> None:
    run("apply", str(specs), "--auto-approve")
    (rules / "search.rules.yml").write_text("# managed-by: slogen\ngroups: [\n")
    result = run("plan", str(specs), exit_code=1)
    assert "search.rules.yml" in result.stderr
    assert "a rule file slogen manages" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.output


def test_hand_edit_of_an_owned_file_shows_as_an_update_and_is_reverted(
    specs: Path, rules: Path
) -> None:
    run("apply", str(specs), "--auto-approve")
    pristine = (rules / "checkout.rules.yml").read_bytes()
    edit(rules / "checkout.rules.yml", "team_channel: payments-oncall", "team_channel: nobody")
    data = plan_json(specs)
    assert data["summary"] == {"add": 0, "change": 1, "destroy": 0}
    (change,) = data["changes"]
    assert change["key"] == "checkout/availability/page-1h"
    assert change["fields"] == [
        {"path": "labels.team_channel", "before": "nobody", "after": "payments-oncall"}
    ]
    run("apply", str(specs), "--auto-approve")
    assert (rules / "checkout.rules.yml").read_bytes() == pristine


# -- interrupted apply --------------------------------------------------------------------------


def test_interrupted_apply_reports_what_was_done_and_plan_shows_the_rest(
    specs: Path, rules: Path
) -> None:
    # A directory where checkout's rule file goes: writing it fails even when running as root.
    (rules / "checkout.rules.yml").mkdir(parents=True)
    result = run("apply", str(specs), "--auto-approve", exit_code=1)
    report = result.stderr
    # the Grafana dashboards are another target's: written whatever Prometheus's fate
    assert (
        f"Apply incomplete: {COUNTS['billing'] + DASHBOARDS} done, {COUNTS['checkout']} failed, "
        f"{COUNTS['search']} not attempted." in report
    )
    failed = [line for line in report.splitlines() if line.startswith("  failed ")]
    skipped = [line for line in report.splitlines() if line.startswith("  not attempted ")]
    done = [
        line
        for line in report.splitlines()
        if line.startswith("  done ") and " grafana.dashboard." not in line
    ]
    assert len(failed) == COUNTS["checkout"]
    assert all(" prometheus." in line and ".checkout/" in line for line in failed)
    assert all("checkout.rules.yml" in line and "Is a directory" in line for line in failed)
    assert len(skipped) == COUNTS["search"] and all(".search/" in s for s in skipped)
    assert len(done) == COUNTS["billing"] and all(".billing/" in d for d in done)
    assert "Run 'slogen plan' to see what is left to do." in report

    left = plan_json(specs, exit_code=0)
    assert left["summary"] == {
        "add": COUNTS["checkout"] + COUNTS["search"],
        "change": 0,
        "destroy": 0,
    }
    assert {c["key"].split("/")[0] for c in left["changes"]} == {"checkout", "search"}
    assert (rules / "billing.rules.yml").is_file()

    (rules / "checkout.rules.yml").rmdir()
    result = run("apply", str(specs), "--auto-approve")
    assert f"Apply complete: {COUNTS['checkout'] + COUNTS['search']} changes made." in (
        result.output
    )
    assert summary_line(run("plan", str(specs)).stdout) == "No changes."


# -- ordering -----------------------------------------------------------------------------------


def _res(key: str, *deps: str) -> Resource:
    return Resource("cloudwatch", "api", "alarm", key, {}, depends_on=deps)


def _position(changes: list[Change]) -> dict[str, int]:
    return {c.resource.key: i for i, c in enumerate(changes)}


def test_creates_put_dependencies_first_and_deletes_dependants_first() -> None:
    creates = [Change(CREATE, None, _res("a/composite", "a/long", "a/short"))]
    creates += [
        Change(CREATE, None, _res("a/long")),
        Change(UPDATE, _res("a/short"), _res("a/short")),
    ]
    deletes = [
        Change(DELETE, _res("b/long"), None),
        Change(DELETE, _res("b/composite", "b/long", "b/short"), None),
        Change(DELETE, _res("b/short"), None),
    ]
    result = ordered(deletes + creates)
    pos = _position(result)
    assert pos["a/long"] < pos["a/composite"] and pos["a/short"] < pos["a/composite"]
    assert pos["b/composite"] < pos["b/long"] and pos["b/composite"] < pos["b/short"]
    assert max(pos[k] for k in ("a/long", "a/short", "a/composite")) < pos["b/composite"]


@pytest.mark.parametrize("names", [("k/1", "k/2", "k/3"), ("k/3", "k/2", "k/1")])
def test_deletes_respect_a_chain_of_dependencies(names: tuple[str, str, str]) -> None:
    """top depends on middle, middle on bottom: delete top, then middle, then bottom,
    whatever the keys sort like (a dependency can't be deleted while something uses it)."""
    top, middle, bottom = names
    changes = [
        Change(DELETE, _res(k, *deps), None)
        for k, deps in sorted([(top, (middle,)), (middle, (bottom,)), (bottom, ())])
    ]
    assert [c.resource.key for c in ordered(changes)] == [top, middle, bottom]


# -- secrets ------------------------------------------------------------------------------------


def test_secrets_never_appear_in_output_or_files(
    specs: Path, rules: Path, in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DD_API_KEY", "DD_APP_KEY", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN"):
        monkeypatch.setenv(name, SECRET + name)
    monkeypatch.setenv("DD_API_KEY", SECRET)
    outputs = [
        run("plan", str(specs), exit_code=0),
        run("plan", str(specs), "--format", "markdown"),
        run("plan", str(specs), "--format", "json"),
        run("plan", str(specs), "-o", "plan.json", "--detailed-exitcode", exit_code=2),
        run("apply", "plan.json"),
        run("plan", str(specs), "-o", "plan2.json"),
    ]
    edit(specs / "checkout.yaml", "objective: 99.9", "objective: 99.8")
    outputs.append(run("plan", str(specs), "-o", "plan3.json", exit_code=0))
    edit(rules / "checkout.rules.yml", "payments-oncall", "x")
    outputs.append(run("apply", "plan3.json", exit_code=1))  # stale
    outputs.append(run("apply", str(specs), exit_code=1))  # no confirmation
    edit(specs / "checkout.yaml", "objective: 99.8", "objective: 120")
    outputs.append(run("plan", str(specs), exit_code=1))  # spec error
    for result in outputs:
        assert SECRET not in result.output
    for path in in_tmp.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
