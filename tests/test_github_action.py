"""The composite action, run step by step as GitHub's runner would (tests/fakes/github_runner.py),
against the fake GitHub REST API on 127.0.0.1 (tests/fakes/github_api.py).

The install step reuses this test's Python (``SLOGEN_ACTION_TEST_PYTHON``) instead of
``pip install``-ing from the network; ``test_install_step_command_line`` checks what the real
install runs. The plans use ``targets: prometheus`` (files under the workspace), so no backend
credentials are needed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from slogen.plan import planfile
from tests.conftest import ROOT, SPECS
from tests.fakes.github_api import BODY_LIMIT, Comment, FakeGitHub
from tests.fakes.github_runner import (
    ActionRun,
    CompositeAction,
    parse_commands,
    parse_env_file,
)
from tests.test_github_markdown import balanced

REPO = "octo/shop"
PR = 7
HEAD_SHA = "0f1e2d3c4b5a69788796a5b4c3d2e1f001234567"
MARKER = "<!-- slogen-plan -->"


class Job:
    """One GitHub Actions job on this machine: a workspace, an event, the fake API."""

    def __init__(self, root: Path, gh: FakeGitHub):
        self.root = root
        self.gh = gh
        self.workspace = root / "workspace"
        self.workspace.mkdir()
        self.runs = 0
        self.pull_request()

    def pull_request(self, head_repo: str = REPO) -> None:
        self.event_name = "pull_request"
        self.payload: dict[str, Any] = {
            "action": "synchronize",
            "number": PR,
            "pull_request": {
                "number": PR,
                "head": {"sha": HEAD_SHA, "repo": {"full_name": head_repo}},
                "base": {"ref": "main", "repo": {"full_name": REPO}},
            },
            "repository": {"full_name": REPO},
        }

    def push(self) -> None:
        self.event_name = "push"
        self.payload = {
            "ref": "refs/heads/main",
            "after": HEAD_SHA,
            "repository": {"full_name": REPO},
        }

    def env(self) -> dict[str, str]:
        temp = self.root / f"runner-temp-{self.runs}"
        temp.mkdir()
        event = temp / "event.json"
        event.write_text(json.dumps(self.payload))
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "LANG": "C.UTF-8",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_EVENT_NAME": self.event_name,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": self.gh.url,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": str(1000 + self.runs),
            "GITHUB_SHA": "9999999999999999999999999999999999999999",
            "RUNNER_TEMP": str(temp),
            "RUNNER_OS": "Linux",
            "SLOGEN_ACTION_TEST_PYTHON": sys.executable,
        }

    def run(
        self,
        inputs: dict[str, str] | None = None,
        token: str | None = None,
        env: dict[str, str] | None = None,
        step_env: dict[str, str] | None = None,
        stop_after: str | None = None,
    ) -> ActionRun:
        self.runs += 1
        base = self.env()
        base.update(env or {})
        action = CompositeAction(
            ROOT, self.workspace, Path(base["RUNNER_TEMP"]), base, token or self.gh.token
        )
        return action.run(inputs or {}, step_env=step_env, stop_after=stop_after)

    def ours(self) -> list[Comment]:
        return [c for c in self.gh.comments(REPO, PR) if c.body.startswith(MARKER)]


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(token="ghs_workflowTokenABCDEF0123456789") as fake:
        yield fake


@pytest.fixture
def job(tmp_path: Path, gh: FakeGitHub) -> Job:
    return Job(tmp_path, gh)


def crowd(gh: FakeGitHub, count: int) -> dict[int, str]:
    for i in range(count):
        gh.add_comment(REPO, PR, f"review comment {i}", user=("alice", "bob")[i % 2])
    gh.add_comment(REPO, PR, f"what is the {MARKER} line for?", user="carol")
    return {c.id: c.body for c in gh.comments(REPO, PR)}


def describe(run: ActionRun) -> str:
    return "\n".join(
        f"--- {s.name}: {s.outcome} ({s.returncode})\n{s.stdout}{s.stderr}" for s in run.steps
    )


def assert_no_token(run: ActionRun, gh: FakeGitHub, token: str) -> None:
    seen = [run.log, run.summary, json.dumps(run.outputs)]
    seen += [s.raw_output_file for s in run.steps]
    seen += [c.body for c in gh.comments(REPO, PR)]
    assert all(token not in text for text in seen)


def test_plan_creates_one_comment_then_updates_it_in_place(job: Job, gh: FakeGitHub) -> None:
    shutil.copytree(SPECS, job.workspace / "specs")
    others = crowd(gh, 150)  # more than one page of 100: the comment is found by paging
    secret = "dd-api-key-0123456789abcdef"  # env: on the uses: step reaches the action's steps

    first = job.run({"targets": "prometheus"}, step_env={"DD_API_KEY": secret})
    assert first.success, describe(first)
    assert [(s.name, s.outcome) for s in first.steps] == [
        ("Set up Python", "skipped"),  # uses: steps are recorded, not run
        ("Install slogen", "success"),
        ("Run slogen", "success"),
        ("Comment on the pull request", "success"),
        ("Upload the plan", "skipped"),
    ]
    assert first.step("Set up Python").with_ == {"python-version": "3.12"}

    # outputs, in GitHub's file format (the multi-line summary with a random delimiter)
    outputs = first.outputs
    assert (outputs["changes"], outputs["exitcode"]) == ("true", "2")
    assert planfile.is_plan_file(outputs["plan-file"])
    summary = outputs["summary"].splitlines()
    assert len(summary) == 2
    assert re.fullmatch(
        r"prometheus \(files:out/prometheus\): Plan: \d+ to add, 0 to change, 0 to destroy\.",
        summary[0],
    )
    assert summary[1].startswith("Plan: ") and summary[1].split(": ", 1)[1] in summary[0]
    assert re.search(
        r"^summary<<ghadelimiter_[0-9a-f-]{36}$", first.step("slogen").raw_output_file, re.M
    )

    # the artifact: the plan directory, uploaded whatever happened
    upload = first.step("actions/upload-artifact")
    plan_dir = Path(first.step("slogen").outputs["plan-dir"])
    assert upload.with_ == {
        "name": "slogen-plan",
        "path": str(plan_dir),
        "if-no-files-found": "ignore",
    }
    assert sorted(p.name for p in plan_dir.iterdir()) == ["plan.json", "plan.md", "plan.txt"]
    plan_md = (plan_dir / "plan.md").read_text()

    # one comment: marker, summary line first, details folded, footer naming commit and run
    (comment,) = job.ours()
    first_body = comment.body  # the fake's comment object changes when it is updated
    assert comment.user == "github-actions[bot]"
    lines = comment.body.splitlines()
    assert lines[0] == MARKER and lines[1] == f"**{summary[1]}**"
    assert "\n### prometheus <code>files:out/prometheus</code>: " in comment.body
    assert "<details><summary><code>+</code> create <code>alert " in comment.body
    assert "```diff\n+ " in comment.body and balanced(comment.body)
    assert "commit 0f1e2d3" in lines[-1]
    assert "(https://github.com/octo/shop/actions/runs/1001)" in lines[-1]
    assert outputs["comment-url"].endswith(f"#issuecomment-{comment.id}")

    # the job summary has the whole plan
    assert first.summary.startswith("## slogen plan\n")
    assert plan_md.split("\n", 1)[1].strip() in first.summary

    # the second push changes an objective: the same comment is updated, nothing else
    spec = job.workspace / "specs" / "checkout.yaml"
    spec.write_text(spec.read_text().replace("objective: 99.9\n", "objective: 99.95\n", 1))
    second = job.run({"targets": "prometheus"})
    assert second.success, describe(second)
    (updated,) = job.ours()
    assert updated.id == comment.id and updated.edits == 1
    assert updated.body != first_body and "runs/1002" in updated.body
    assert "0.0072" in updated.body and "0.0072" not in first_body  # 14.4 × 0.05 %
    assert [r.method for r in gh.requests].count("POST") == 1
    assert {c.id: c.body for c in gh.comments(REPO, PR) if c.id != comment.id} == others
    for run in (first, second):
        assert_no_token(run, gh, gh.token)
    assert_no_token(first, gh, secret)


def many_services(target: Path, count: int) -> None:
    target.mkdir(parents=True)
    shutil.copy(SPECS / "slogen.yaml", target / "slogen.yaml")
    source = (SPECS / "checkout.yaml").read_text()
    for i in range(count):
        text = source.replace("service: checkout", f"service: checkout-{i}", 1)
        (target / f"checkout-{i}.yaml").write_text(text)


def test_oversized_plan_is_cut_in_the_comment_and_whole_in_the_summary(
    job: Job, gh: FakeGitHub
) -> None:
    many_services(job.workspace / "specs", 12)
    run = job.run({"targets": "prometheus"})
    assert run.success, describe(run)
    plan_md = (Path(run.step("slogen").outputs["plan-dir"]) / "plan.md").read_text()
    assert len(plan_md) > 2 * BODY_LIMIT

    (comment,) = job.ours()
    body = comment.body
    assert len(body) <= BODY_LIMIT  # the fake would have answered 422 otherwise
    assert len(body) > BODY_LIMIT - 4_000  # but not cut needlessly short
    assert body.startswith(MARKER + "\n**Plan: ")
    assert balanced(body)  # the open ```diff and <details> were closed
    assert "so it was cut here" in body
    assert "[job summary](https://github.com/octo/shop/actions/runs/1001)" in body
    assert "the `slogen-plan` artifact" in body
    kept = body[: body.index("```\n\n</details>")]
    assert plan_md.startswith(kept)  # a prefix of the plan, cut at a line boundary
    assert kept.endswith("\n")

    assert len(run.summary.encode()) < 1024 * 1024
    assert plan_md.split("\n", 1)[1].strip() in run.summary  # the whole plan


def test_failing_validation_fails_the_step_with_annotations_and_an_inline_comment(
    job: Job, gh: FakeGitHub
) -> None:
    project = job.workspace / "slo"
    (project / "specs").mkdir(parents=True)
    shutil.copy(
        ROOT / "tests" / "malformed" / "three-mistakes.yaml", project / "specs" / "shop.yaml"
    )
    run = job.run({"working-directory": "slo"})
    assert not run.success
    assert run.step("slogen").outcome == "failure"
    assert run.step("comment").outcome == "success"  # if: always()
    assert (run.outputs["exitcode"], run.outputs["changes"]) == ("1", "false")
    assert run.outputs["plan-file"] == ""

    errors = [a for a in run.annotations if a.level == "error"]
    assert [(a.properties["file"], a.properties["line"], a.properties["col"]) for a in errors] == [
        ("slo/specs/shop.yaml", "5", "13"),  # relative to the repository, not the step's cwd
        ("slo/specs/shop.yaml", "10", "11"),
        ("slo/specs/shop.yaml", "21", "9"),
    ]
    assert errors[1].properties["title"] == "slogen: slos[1].name"
    assert "found string 'Latency'" in errors[1].message

    (comment,) = job.ours()
    lines = comment.body.splitlines()
    assert lines[1] == "**slogen plan failed: 3 errors in the specs.**"
    assert "specs/shop.yaml:5:13: error: slos[0].window" in comment.body
    assert "<details" not in comment.body  # inline, not folded
    assert "slogen plan failed" in run.summary


def test_validate_command(job: Job, gh: FakeGitHub) -> None:
    shutil.copytree(SPECS, job.workspace / "specs")
    run = job.run({"command": "validate"})
    assert run.success, describe(run)
    assert run.outputs["summary"] == "Valid: 3 services, 5 SLOs."
    assert (run.outputs["exitcode"], run.outputs["changes"]) == ("0", "false")
    assert run.annotations == []
    (comment,) = job.ours()
    assert comment.body.splitlines()[1] == "**Valid: 3 services, 5 SLOs.**"


def test_apply_on_push_plans_and_applies_then_has_nothing_left(job: Job, gh: FakeGitHub) -> None:
    shutil.copytree(SPECS, job.workspace / "specs")
    job.push()
    first = job.run({"command": "apply", "targets": "prometheus"})
    assert first.success, describe(first)
    assert (first.outputs["changes"], first.outputs["exitcode"]) == ("true", "2")
    rules = sorted(p.name for p in (job.workspace / "out" / "prometheus").iterdir())
    assert rules == ["billing-worker.rules.yml", "checkout.rules.yml", "search.rules.yml"]
    assert first.step("comment").outcome == "skipped"  # not a pull request
    assert "### Apply\n\nApplied." in first.summary
    assert gh.requests == []

    second = job.run({"command": "apply", "targets": "prometheus"})
    assert second.success, describe(second)
    assert (second.outputs["changes"], second.outputs["exitcode"]) == ("false", "0")
    assert second.outputs["summary"].endswith("No changes.")


def test_apply_exactly_the_reviewed_plan_and_refuse_it_once_stale(job: Job, gh: FakeGitHub) -> None:
    shutil.copytree(SPECS, job.workspace / "specs")
    planned = job.run({"targets": "prometheus"})
    assert planned.success, describe(planned)
    downloaded = job.workspace / "slogen-plan"  # what actions/download-artifact would do
    shutil.copytree(planned.step("slogen").outputs["plan-dir"], downloaded)

    job.push()
    inputs = {"command": "apply", "plan-file": "slogen-plan/plan.json", "upload-artifact": "false"}
    applied = job.run(inputs)
    assert applied.success, describe(applied)
    assert (applied.outputs["changes"], applied.outputs["exitcode"]) == ("true", "2")
    assert applied.outputs["plan-file"] == "slogen-plan/plan.json"
    assert (job.workspace / "out" / "prometheus" / "checkout.rules.yml").is_file()
    assert applied.step("Upload the plan").with_ == {}  # if: upload-artifact == 'true'

    again = job.run(inputs)  # the live state is no longer what the plan was made against
    assert not again.success
    assert (again.outputs["exitcode"], again.outputs["changes"]) == ("1", "true")
    assert "Apply failed" in again.summary
    assert "changed" in again.step("slogen").stdout


def test_pull_request_from_a_fork_is_built_and_tested_instead_of_planned(
    job: Job, gh: FakeGitHub
) -> None:
    """Forks get no secrets: no plan (it would fail on credentials), no comment (read-only
    token), and no failing step; the job summary says why and what was checked instead."""
    (job.workspace / "specs").mkdir()
    for name in ("slogen.yaml", "checkout.yaml"):  # one service keeps the promtool proofs short
        shutil.copy(SPECS / name, job.workspace / "specs" / name)
    job.pull_request(head_repo="someone/shop")
    # every backend, as a real project would: a plan would need Datadog and AWS credentials
    run = job.run()
    assert run.success, describe(run)
    assert run.step("comment").outcome == "skipped"
    assert any(a.level == "notice" and "fork" in a.message for a in run.annotations)
    assert gh.requests == []
    assert "No plan for a pull request from a fork" in run.summary
    assert "- build: passed" in run.summary
    assert "- test (promtool proofs): passed" in run.summary
    assert "$ slogen plan" not in run.log
    assert run.outputs["changes"] == "false"


def test_fork_without_promtool_says_the_proofs_were_not_run(job: Job, gh: FakeGitHub) -> None:
    shutil.copytree(SPECS, job.workspace / "specs")
    job.pull_request(head_repo="someone/shop")
    bin_dir = job.root / "bin"  # a PATH with the shell tools but no promtool
    bin_dir.mkdir()
    for tool in ("bash", "sh", "env", "cat", "mkdir", "rm", "python3"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    run = job.run(env={"PATH": str(bin_dir)})
    assert run.success, describe(run)
    assert "- build: passed" in run.summary
    assert "test: not run, promtool is not installed" in run.summary


def test_comment_false_posts_nothing(job: Job, gh: FakeGitHub) -> None:
    shutil.copytree(SPECS, job.workspace / "specs")
    run = job.run({"command": "validate", "comment": "false"})
    assert run.success and run.step("comment").outcome == "skipped"
    assert gh.requests == []


def test_wrong_token_fails_the_comment_step_without_printing_it(job: Job, gh: FakeGitHub) -> None:
    shutil.copytree(SPECS, job.workspace / "specs")
    wrong = "ghs_notTheRightToken0123456789"
    run = job.run({"command": "validate"}, token=wrong)
    assert not run.success
    step = run.step("comment")
    assert step.outcome == "failure"
    assert "GitHub answered 401" in step.stderr and "Bad credentials" in step.stderr
    assert "hint: the token is missing, expired or wrong" in step.stderr
    assert_no_token(run, gh, wrong)


def test_install_step_command_line(job: Job, tmp_path: Path) -> None:
    """Without the test switch, the install step makes a venv and pip-installs the action."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    fake_python3 = bin_dir / "python3"
    fake_python3.write_text(
        "#!/bin/bash\n"
        f'echo "python3 $*" >> "{calls}"\n'
        'if [ "$1 $2" = "-m venv" ]; then\n'
        '  mkdir -p "$3/bin"\n'
        '  printf \'#!/bin/bash\\necho "venv-python $*" >> "%s"\\n'
        'if [ "$2" = slogen ]; then echo "slogen, version 0.1.0"; fi\\n\' '
        f'"{calls}" > "$3/bin/python"\n'
        '  chmod +x "$3/bin/python"\n'
        "fi\n"
    )
    fake_python3.chmod(fake_python3.stat().st_mode | stat.S_IXUSR)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "SLOGEN_ACTION_TEST_PYTHON": ""}
    run = job.run({}, env=env, stop_after="install")
    install = run.step("install")
    assert install.outcome == "success", describe(run)
    temp = run.step("Set up Python")  # recorded; the install step ran after it
    assert temp.outcome == "skipped"
    venv = Path(job.root / f"runner-temp-{job.runs}" / "slogen-venv")
    assert calls.read_text().splitlines() == [
        f"python3 -m venv {venv}",
        f"venv-python -m pip install --quiet --disable-pip-version-check {ROOT}",
        "venv-python -m slogen --version",
    ]
    assert install.outputs == {"python": f"{venv}/bin/python"}
    assert [s.name for s in run.steps] == ["Set up Python", "Install slogen"]


def test_a_bad_input_is_an_error_annotation_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from slogen import github

    output = tmp_path / "output"
    output.write_text("")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("RUNNER_TEMP", str(tmp_path))
    monkeypatch.setenv("SLOGEN_COMMAND", "destroy")
    assert github.main(["run"]) == 1
    (annotation,) = parse_commands(capsys.readouterr().out)
    assert annotation.level == "error"
    assert annotation.message.startswith("unknown command 'destroy'\nhint: the command input")
    assert parse_env_file(output.read_text()) == {"exitcode": "1", "changes": "false"}


# status: true --------------------------------------------------------------------------------

FAKE_HISTORY = '''\
"""Test only: serve made-up history to `slogen status` in the action's subprocesses."""
import os

if os.environ.get("SLOGEN_TEST_FAKE_HISTORY"):
    from slogen.backtest import sources
    from slogen.backtest.history import History, Semantics, Series

    class _Reader:
        """100 requests a minute; the last 30 minutes fail 30 of them."""

        def read(self, wanted, start, end, progress=None):
            n = (end - start) // 60 + 1
            total = [100.0] * n
            errors = [0.0] * (n - 30) + [30.0] * 30
            semantics = Semantics("synthetic counts")
            return {
                (s.name, o.name): History(
                    "prometheus", semantics, start, (Series((), errors, total),)
                )
                for s, o in wanted
            }

    sources.readers = lambda project, asked, urls: ({"prometheus": _Reader()}, [])
'''


def test_status_goes_under_the_plan_in_the_comment(job: Job, gh: FakeGitHub) -> None:
    """The real action and CLI; only the history is made up, by a sitecustomize on the
    PYTHONPATH that every Python of the job loads (so the status subprocess does too)."""
    shutil.copytree(SPECS, job.workspace / "specs")
    site = job.root / "fake-history"
    site.mkdir()
    (site / "sitecustomize.py").write_text(FAKE_HISTORY)
    env = {"PYTHONPATH": str(site), "SLOGEN_TEST_FAKE_HISTORY": "1"}
    run = job.run({"targets": "prometheus", "status": "true"}, env=env)
    assert run.success, describe(run)
    assert (run.outputs["changes"], run.outputs["exitcode"]) == ("true", "2")
    assert "$ slogen status specs --backend prometheus --format markdown" in run.log

    (comment,) = job.ours()
    body = comment.body
    assert body.startswith(MARKER + "\n**Plan: ")
    plan_end = body.index("\n### SLO status\n\n")
    assert "\n### prometheus <code>files:out/prometheus</code>: " in body[:plan_end]
    status = body[plan_end:]
    row = "| checkout/availability | prometheus | 99.979167% | 99.9% / 30d | 79.17% |"
    assert f"{row} **page-1h**, **page-6h**, **ticket-3d** |" in status  # 900 of 4,320,000
    assert (
        "| checkout/latency | prometheus | 99.979167% | 99% / 30d | 97.92% | **page-1h** |"
        in status
    )
    assert "<details><summary>Burn rates per tier</summary>" in status
    assert status.splitlines()[-1].startswith("<sub>slogen ")  # the footer still comes last
    assert balanced(body)

    plan_dir = Path(run.step("slogen").outputs["plan-dir"])
    assert sorted(p.name for p in plan_dir.iterdir()) == [
        "plan.json",
        "plan.md",
        "plan.txt",
        "status.md",
    ]
    assert "\n### SLO status\n\n" in run.summary
    assert (plan_dir / "status.md").read_text() in run.summary


def test_status_that_cannot_be_read_leaves_a_line_and_the_plan(job: Job, gh: FakeGitHub) -> None:
    shutil.copytree(SPECS, job.workspace / "specs")  # no query_url for Prometheus
    run = job.run({"targets": "prometheus", "status": "true"})
    assert run.success, describe(run)
    assert (run.outputs["changes"], run.outputs["exitcode"]) == ("true", "2")
    (comment,) = job.ours()
    assert "\n### prometheus <code>files:out/prometheus</code>: " in comment.body
    section = comment.body[comment.body.index("\n### SLO status\n") + 1 :]
    lines = [line for line in section.splitlines()[1:] if line.strip()]
    assert lines[0].startswith("_No SLO status: cannot read history from")
    assert lines[0].endswith(". The workflow log has the details._")
    assert lines[1].startswith("<sub>slogen ")  # one line, then the footer
    warnings = [a for a in run.annotations if a.level == "warning"]
    assert [a.properties.get("title") for a in warnings] == ["slogen status"]
    assert "Error: cannot read history from" in run.step("slogen").stdout  # the log has it all


def test_status_is_not_run_unless_asked_nor_on_apply(job: Job, gh: FakeGitHub) -> None:
    shutil.copytree(SPECS, job.workspace / "specs")
    planned = job.run({"targets": "prometheus"})
    assert planned.success, describe(planned)
    assert "SLO status" not in job.ours()[0].body and "slogen status" not in planned.log
    job.push()
    applied = job.run({"command": "apply", "targets": "prometheus", "status": "true"})
    assert applied.success, describe(applied)
    assert "slogen status" not in applied.log


def test_status_skips_targets_without_history(job: Job, gh: FakeGitHub) -> None:
    shutil.copytree(SPECS, job.workspace / "specs")
    run = job.run({"targets": "grafana", "status": "true"})
    assert run.success, describe(run)
    (comment,) = job.ours()
    assert "_No SLO status: none of the targets (grafana) keeps history._" in comment.body
    assert "$ slogen status" not in run.log


def test_a_long_plan_is_cut_to_leave_the_status_its_room() -> None:
    from slogen.github.comment import COMMENT_BUDGET
    from slogen.github.markdown import utf16_len
    from slogen.github.status import comment_content

    plan = MARKER + "\n**Plan: 9 to add.**\n\n```diff\n" + "+ a line of the plan\n" * 5000 + "```\n"
    section = "### SLO status\n\n| SLO | firing |\n| --- | --- |\n| shop/checkout | none |\n"
    content = comment_content(plan, section, "slogen-plan")
    assert content.endswith(section)
    assert utf16_len(content) <= COMMENT_BUDGET - 512
    assert "together with the SLO status, so it was cut here" in content
    assert "the `slogen-plan` artifact" in content and balanced(content)
    assert comment_content("short plan\n", section, "") == "short plan\n\n" + section


def test_status_input_must_be_true_or_false() -> None:
    from slogen.errors import SlogenError
    from slogen.github.step import Settings

    assert Settings.from_env({}).status is False
    assert Settings.from_env({"SLOGEN_STATUS": "TRUE"}).status is True
    with pytest.raises(SlogenError, match="status must be true or false, found 'yes'"):
        Settings.from_env({"SLOGEN_STATUS": "yes"})
