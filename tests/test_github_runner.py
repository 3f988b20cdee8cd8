"""The local composite-action runner behaves like GitHub's where the action depends on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.github_runner import (
    CompositeAction,
    Evaluator,
    ExpressionError,
    FileCommandError,
    condition,
    interpolate,
    parse_commands,
    parse_env_file,
)


def ev(**contexts: object) -> Evaluator:
    base: dict[str, object] = {"inputs": {}, "steps": {}, "github": {}, "env": {}, "runner": {}}
    base.update(contexts)
    return Evaluator(base)


def test_expression_semantics() -> None:
    e = ev(
        inputs={"comment": "false", "plan-file": "", "name": "Plan"},
        steps={"s": {"outputs": {"x": "1"}}},
    )
    assert e.evaluate("inputs.comment == 'FALSE'") is True  # strings: case-insensitive
    assert condition("inputs.comment", e) is True  # the string 'false' is truthy
    assert condition("inputs.plan-file", e) is False  # '' is falsy; dashes in names
    assert e.evaluate("inputs.plan-file || 'none'") == "none"
    assert e.evaluate("inputs.name == 'plan' && 'yes' || 'no'") == "yes"
    assert e.evaluate("steps.s.outputs.x == 1") is True  # number coercion
    assert e.evaluate("steps.missing.outputs.x") is None
    assert e.evaluate("inputs['name']") == "Plan"
    assert e.evaluate("!contains('abc', 'B')") is False
    assert e.evaluate("format('{0}-{1}', 'a', 1)") == "a-1"
    assert interpolate("a ${{ inputs.name }} b ${{ '}}' }}", e) == "a Plan b }}"
    with pytest.raises(ExpressionError, match="Unrecognized named-value"):
        e.evaluate("secrets.TOKEN")


def test_if_without_a_status_function_means_success_and() -> None:
    e = ev(inputs={"x": "true"})
    e.status = "failure"
    assert condition("inputs.x == 'true'", e) is False
    assert condition("always() && inputs.x == 'true'", e) is True
    assert condition("${{ failure() }}", e) is True
    assert condition(None, e) is False


def test_env_file_format() -> None:
    text = "a=1\nb<<EOF\nline 1\n\nline=3\nEOF\n\nc=x=y\n"
    assert parse_env_file(text) == {"a": "1", "b": "line 1\n\nline=3", "c": "x=y"}
    with pytest.raises(FileCommandError, match="Matching delimiter not found"):
        parse_env_file("b<<EOF\nno end\n")
    with pytest.raises(FileCommandError, match="Invalid format"):
        parse_env_file("just text\n")


def test_workflow_commands_are_unescaped() -> None:
    (a,) = parse_commands("::error file=a%2Cb.yaml,line=3,title=x%3A y::50%25%0Ahint")
    assert (a.level, a.message) == ("error", "50%\nhint")
    assert a.properties == {"file": "a,b.yaml", "line": "3", "title": "x: y"}
    assert parse_commands("echo ::error:: inside a line\n::set-output name=x::y") == []


ACTION = """
name: t
description: t
inputs:
  word: {description: w, default: hello}
  token: {description: t, default: "${{ github.token }}"}
outputs:
  said: {description: s, value: "${{ steps.one.outputs.said }}"}
runs:
  using: composite
  steps:
    - id: one
      shell: bash
      env: {WORD: "${{ inputs.word }}", TOKEN: "${{ inputs.token }}"}
      run: |
        [ -z "${INPUT_WORD:-}" ]  # composite actions get no INPUT_ variables
        echo "said<<END" >> "$GITHUB_OUTPUT"
        printf '%s\\n%s\\n' "$WORD" "$TOKEN" >> "$GITHUB_OUTPUT"
        echo "END" >> "$GITHUB_OUTPUT"
        echo "LATER=set" >> "$GITHUB_ENV"
        echo "::warning title=w::careful"
    - id: two
      shell: bash
      run: '[ "$LATER" = set ]; exit 3'
    - id: skipped
      shell: bash
      run: echo never
    - id: cleanup
      if: always()
      shell: bash
      working-directory: sub
      run: pwd
"""


def test_runs_steps_like_github(tmp_path: Path) -> None:
    (tmp_path / "action").mkdir()
    (tmp_path / "action" / "action.yml").write_text(ACTION)
    (tmp_path / "ws" / "sub").mkdir(parents=True)
    (tmp_path / "temp").mkdir()
    action = CompositeAction(
        tmp_path / "action", tmp_path / "ws", tmp_path / "temp", {"PATH": "/usr/bin:/bin"}, "tok"
    )
    run = action.run({"word": "hi"})
    assert [s.outcome for s in run.steps] == ["success", "failure", "skipped", "success"]
    assert run.steps[1].returncode == 3 and not run.success
    assert run.outputs == {"said": "hi\ntok"}
    assert run.steps[3].stdout.strip() == str(tmp_path / "ws" / "sub")
    assert [(a.level, a.message) for a in run.annotations] == [("warning", "careful")]
    with pytest.raises(ValueError, match="Unexpected input"):
        action.run({"wrod": "typo"})
