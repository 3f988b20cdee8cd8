"""Every malformed spec in tests/malformed/ fails cleanly with exactly the expected problems.

Each case is run through the real CLI (``slogen validate``, text and JSON, and ``slogen build``)
from inside the corpus directory, so reported file names are the short relative ones the
expectations in ``tests/malformed/expected.yaml`` use.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from slogen.plural import plural
from tests.cli import run

CORPUS = Path(__file__).resolve().parent / "malformed"
EXPECTED_FILE = CORPUS / "expected.yaml"
EXPECTED: dict[str, Any] = yaml.safe_load(EXPECTED_FILE.read_text(encoding="utf-8"))
CASES = sorted(EXPECTED)

# A rendered problem line: ``file:line:col: error: path: message`` (path and position optional).
PROBLEM_LINE = re.compile(r"^(?!Error: )\S.*?: error: ")


def _args(case: str) -> list[str]:
    spec = EXPECTED[case]
    return list(spec["args"]) if isinstance(spec, dict) else [case]


def _expected(case: str) -> list[dict[str, Any]]:
    spec = EXPECTED[case]
    errors = spec["errors"] if isinstance(spec, dict) else spec
    out = []
    for error in errors:
        e = dict(error)
        e.setdefault("file", case)
        for key in ("message", "hint"):
            value = e.get(key, [])
            e[key] = [value] if isinstance(value, str) else list(value)
        out.append(e)
    return out


@pytest.fixture
def in_corpus(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(CORPUS)
    return CORPUS


def test_corpus_and_expectations_match() -> None:
    on_disk = {
        p.name
        for p in CORPUS.iterdir()
        if p != EXPECTED_FILE and (p.is_dir() or p.suffix in (".yaml", ".yml"))
    }
    assert on_disk == set(EXPECTED), (
        f"cases without expectations: {sorted(on_disk - set(EXPECTED))}; "
        f"expectations without cases: {sorted(set(EXPECTED) - on_disk)}"
    )
    assert len(CASES) >= 35
    for case in CASES:
        errors = _expected(case)
        assert errors, case
        for e in errors:
            assert {"file", "line", "column", "path", "message"} <= e.keys(), (case, e)
            assert (CORPUS / e["file"]).is_file(), (case, e["file"])
            assert e["message"], (case, e)


def _prefix(e: dict[str, Any]) -> str:
    path = f"{e['path']}: " if e["path"] else ""
    return f"{e['file']}:{e['line']}:{e['column']}: error: {path}"


@pytest.mark.parametrize("case", CASES)
def test_validate_reports_every_problem(case: str, in_corpus: Path) -> None:
    result = run("validate", *_args(case), exit_code=1)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    reported = [i for i, line in enumerate(lines) if PROBLEM_LINE.match(line)]
    expected = _expected(case)
    unmatched = list(reported)
    for e in expected:
        prefix = _prefix(e)
        for i in unmatched:
            line = lines[i]
            hint = (
                lines[i + 1] if i + 1 < len(lines) and lines[i + 1].startswith("  hint: ") else ""
            )
            if (
                line.startswith(prefix)
                and all(m in line[len(prefix) :] for m in e["message"])
                and all(h in hint for h in e["hint"])
            ):
                unmatched.remove(i)
                break
        else:
            pytest.fail(f"expected {prefix}{' … '.join(e['message'])}\n--- got\n{result.stderr}")
    assert not unmatched, "unexpected problems:\n" + "\n".join(lines[i] for i in unmatched)
    assert f"Error: {plural(len(expected), 'error')} in the specs." in result.stderr


@pytest.mark.parametrize("case", CASES)
def test_validate_json_has_the_same_problems(case: str, in_corpus: Path) -> None:
    result = run("validate", *_args(case), "--format", "json", exit_code=1)
    assert "Traceback" not in result.output
    report = json.loads(result.stdout)
    assert report["valid"] is False
    problems = [p for p in report["problems"] if p["severity"] == "error"]
    for p in problems:
        assert set(p) == {"file", "line", "column", "path", "severity", "message", "hint"}
    remaining = list(problems)
    for e in _expected(case):
        for p in remaining:
            if (
                (p["file"], p["line"], p["column"], p["path"])
                == (e["file"], e["line"], e["column"], e["path"])
                and all(m in p["message"] for m in e["message"])
                and all(h in p["hint"] for h in e["hint"])
            ):
                remaining.remove(p)
                break
        else:
            pytest.fail(f"expected {e} in\n{json.dumps(problems, indent=2)}")
    assert remaining == [], f"unexpected problems: {remaining}"


@pytest.mark.parametrize("case", CASES)
def test_hints_speak_of_the_right_thing(case: str, in_corpus: Path) -> None:
    """'allowed keys: ...' belongs to unknown keys, not to bad values or unknown policies."""
    result = run("validate", *_args(case), "--format", "json", exit_code=1)
    for p in json.loads(result.stdout)["problems"]:
        if p["hint"].startswith("allowed keys") or "allowed keys:" in p["hint"]:
            assert p["message"].startswith("unknown key"), p


@pytest.mark.parametrize("case", CASES)
def test_build_writes_nothing(case: str, in_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("build", *_args(case), "-o", str(out), exit_code=1)
    assert "Traceback" not in result.output
    assert "error" in result.stderr
    assert not out.exists()
    assert not (in_corpus / "out").exists()
