"""``slogen validate --format github``: spec problems as GitHub Actions annotations."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from slogen import github
from slogen.errors import Location, Problem
from tests.cli import run
from tests.conftest import ROOT, SPECS
from tests.fakes.github_runner import parse_commands

MALFORMED = ROOT / "tests" / "malformed"


def test_escaping_follows_the_toolkit() -> None:
    assert github.escape_data("50% of\r\nit: a,b") == "50%25 of%0D%0Ait: a,b"
    assert github.escape_property("50% of\r\nit: a,b") == "50%25 of%0D%0Ait%3A a%2Cb"
    # % first, so an escape sequence already in the text survives the round trip
    assert github.escape_data("%0A") == "%250A"


def test_workflow_command_leaves_out_empty_properties() -> None:
    line = github.workflow_command("error", "boom", file="a.yaml", line=0, col=None, title="t")
    assert line == "::error file=a.yaml,title=t::boom"


def test_problem_becomes_an_error_with_place_title_and_hint() -> None:
    problem = Problem(
        Location("specs/shop.yaml", 5, 13),
        "slos[0].window",
        "expected a duration, found '30days'",
        "write 30d, 4w or 720h",
    )
    line = github.problem_annotation(problem, environ={})
    assert line == (
        "::error file=specs/shop.yaml,line=5,col=13,title=slogen%3A slos[0].window"
        "::slos[0].window: expected a duration, found '30days'%0Ahint: write 30d, 4w or 720h"
    )
    (parsed,) = parse_commands(line)
    assert parsed.properties["title"] == "slogen: slos[0].window"
    assert parsed.message.endswith("\nhint: write 30d, 4w or 720h")


def test_warnings_are_warning_annotations() -> None:
    problem = Problem(Location("a.yaml", 2, 1), "", "50% done", severity="warning")
    assert github.problem_annotation(problem, environ={}) == (
        "::warning file=a.yaml,line=2,col=1,title=slogen::50%25 done"
    )


def test_paths_are_made_relative_to_the_workspace(tmp_path: Path) -> None:
    spec = tmp_path / "repo" / "slo" / "specs" / "a.yaml"
    env = {"GITHUB_WORKSPACE": str(tmp_path / "repo")}
    assert github.workspace_path(str(spec), env) == "slo/specs/a.yaml"
    assert github.workspace_path("/elsewhere/a.yaml", env) == "/elsewhere/a.yaml"
    assert github.workspace_path("specs/a.yaml", {}) == "specs/a.yaml"


def test_validate_github_format_on_valid_specs() -> None:
    result = run("validate", str(SPECS), "--format", "github")
    assert "::error" not in result.stdout
    assert result.stdout.strip() == "Valid: 3 services, 5 SLOs."


def test_validate_github_format_annotates_every_error(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (in_tmp / "specs").mkdir()
    shutil.copy(MALFORMED / "three-mistakes.yaml", in_tmp / "specs" / "shop.yaml")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(in_tmp))
    result = run("validate", "specs", "--format", "github", exit_code=1)
    annotations = parse_commands(result.stdout)
    assert [(a.level, a.properties["file"], a.properties["line"]) for a in annotations] == [
        ("error", "specs/shop.yaml", "5"),
        ("error", "specs/shop.yaml", "10"),
        ("error", "specs/shop.yaml", "21"),
    ]
    assert annotations[0].properties["col"] == "13"
    assert annotations[0].properties["title"] == "slogen: slos[0].window"
    assert "found string '30days'" in annotations[0].message
    assert "hint: write a duration" in annotations[0].message
    assert "3 errors in the specs." in result.stdout
    assert "Traceback" not in result.output


def test_validate_github_format_errors_in_two_files(in_tmp: Path) -> None:
    shutil.copytree(MALFORMED / "errors-in-two-files", in_tmp / "specs")
    result = run("validate", "specs", "--format", "github", exit_code=1)
    files = {a.properties["file"] for a in parse_commands(result.stdout)}
    assert files == {"specs/cart.yaml", "specs/shop.yaml"}


def test_validate_github_format_error_without_a_place(in_tmp: Path) -> None:
    result = run("validate", "nowhere", "--format", "github", exit_code=1)
    (annotation,) = parse_commands(result.stdout)
    assert annotation.level == "error"
    assert annotation.properties["file"] == "nowhere"
    assert "no such file" in annotation.message
