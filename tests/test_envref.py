"""Target settings from the environment: ``${VARIABLE}`` references and credential options.

slogen.yaml is committed, so URLs that differ per environment and every credential are written
as references, checked for shape by ``validate`` and expanded only when a target is used.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from slogen import envref
from slogen.errors import SlogenError
from slogen.redact import redact
from slogen.spec.loader import load_project
from slogen.spec.model import Target
from tests.cli import run
from tests.test_loader import spec, write


def project_dir(tmp_path: Path, target: str) -> Path:
    write(tmp_path, "shop.yaml", spec())
    write(tmp_path, "slogen.yaml", f"targets:\n  prometheus: {target}\n")
    return tmp_path


def test_references_are_kept_as_written_until_the_target_is_used(tmp_path: Path) -> None:
    project = load_project(
        [
            str(
                project_dir(
                    tmp_path,
                    "{type: ruler, url: '${MIMIR_URL}', tenant: 'team-${TEAM}', "
                    "password: '${MIMIR_PASSWORD}', username: '${MIMIR_USER}'}",
                )
            )
        ]
    )
    target = project.target("prometheus")
    assert target.option("url") == "${MIMIR_URL}"
    assert target.option("tenant") == "team-${TEAM}"
    assert target.option("password") == "${MIMIR_PASSWORD}"


@pytest.mark.parametrize(
    ("target", "line", "expected"),
    [
        ("{type: ruler, url: x, password: hunter2}", "url", "an http(s) URL"),
        ("{type: ruler, url: 'http://m', password: hunter2}", "password", "${MIMIR_PASSWORD}"),
        ("{type: ruler, url: 'http://m', token: 'Bearer ${T}'}", "token", "environment variable"),
        ("{type: ruler}", "prometheus", "missing required key 'url'"),
        ("{type: ruler, url: 'http://m', namespace: 'a b'}", "namespace", "letters, digits"),
        ("{type: vmalert, url: 'http://v'}", "prometheus", "missing required key 'dir'"),
        ("{type: amp, workspace_id: ws-1, region: mars}", "region", "an AWS region"),
        ("{type: amp, region: eu-west-1}", "prometheus", "missing required key 'workspace_id'"),
        (
            "{type: ruler, url: 'http://m', token: '${T}', password: '${P}', username: '${U}'}",
            "prometheus",
            "not both",
        ),
        ("{type: ruler, url: 'http://m', username: '${U}'}", "prometheus", "password is missing"),
    ],
)
def test_target_option_mistakes_are_located(
    tmp_path: Path, target: str, line: str, expected: str
) -> None:
    directory = project_dir(tmp_path, target)
    result = run("validate", str(directory), exit_code=1)
    assert expected in result.output
    assert "slogen.yaml:2" in result.output  # the line of the target
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output


def test_expand_names_the_missing_variable_and_where_it_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MIMIR_URL", raising=False)
    target = Target("prometheus", "ruler", (("url", "${MIMIR_URL}/prom"),))
    with pytest.raises(SlogenError) as caught:
        envref.option(target, "url")
    assert "MIMIR_URL is not set" in caught.value.message
    assert "targets.prometheus.url" in caught.value.message
    assert "secrets.MIMIR_URL" in caught.value.hint
    monkeypatch.setenv("MIMIR_URL", "http://127.0.0.1:9009")
    assert envref.option(target, "url") == "http://127.0.0.1:9009/prom"
    assert envref.option(target, "tenant", "anonymous") == "anonymous"


def test_an_empty_variable_is_as_good_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIMIR_TOKEN", "  ")
    with pytest.raises(SlogenError, match="MIMIR_TOKEN is not set"):
        envref.expand("${MIMIR_TOKEN}", "targets.prometheus.token")


def test_secret_values_are_redacted_once_read(monkeypatch: pytest.MonkeyPatch) -> None:
    value = "s3cr3t-value-for-the-ruler"
    monkeypatch.setenv("RULER_PASSWORD_FOR_TEST", value)
    assert redact(f"auth failed for {value}") == f"auth failed for {value}"
    envref.expand("${RULER_PASSWORD_FOR_TEST}", "targets.prometheus.password", secret=True)
    assert redact(f"auth failed for {value}") == "auth failed for ***"


def test_plan_files_keep_references_not_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A saved plan is uploaded as a CI artifact: it must hold no credential."""
    directory = project_dir(
        tmp_path, "{type: files, dir: '${RULES_DIR}', reload_url: '${PROM_URL}'}"
    )
    rules = tmp_path / "rules-out"
    monkeypatch.setenv("RULES_DIR", str(rules))
    monkeypatch.delenv("PROM_URL", raising=False)
    run("plan", str(directory), "-o", str(tmp_path / "plan.json"), exit_code=0)
    saved = yaml.safe_load((tmp_path / "plan.json").read_text())
    target = next(t for t in saved["targets"] if t["backend"] == "prometheus")
    assert "${RULES_DIR}" in str(target)
    assert str(rules) not in (tmp_path / "plan.json").read_text()


def test_names_amp_would_refuse_are_found_by_validate(tmp_path: Path) -> None:
    """AMP namespaces are `slogen-<service>` and may have 64 characters: a longer service name
    is a spec error, located at the SLO, before anything is planned."""
    data = spec()
    data["service"] = "s" * 58  # slogen- + 58 = 65 characters
    write(tmp_path, "long.yaml", data)
    write(
        tmp_path,
        "slogen.yaml",
        "targets:\n  prometheus: {type: amp, workspace_id: ws-1, region: eu-west-1}\n",
    )
    result = run("validate", str(tmp_path), exit_code=1)
    assert "long.yaml:" in result.output
    assert "more than AMP's 64" in result.output
    data["service"] = "s" * 57
    write(tmp_path, "long.yaml", data)
    run("validate", str(tmp_path))
