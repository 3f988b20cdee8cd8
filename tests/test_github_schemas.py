"""action.yml and the example workflows against SchemaStore's schemas, vendored (offline) by
check-jsonschema; and the README shows exactly the example files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from tests.conftest import ROOT

main_command = pytest.importorskip("check_jsonschema.cli.main_command")

EXAMPLES = sorted((ROOT / "examples" / "github").glob("*.yml"))


def check(schema: str, *files: Path) -> Result:
    """check-jsonschema's own command, in-process, with a schema it ships (no network)."""
    args = ["--builtin-schema", schema, *(str(f) for f in files)]
    return CliRunner().invoke(main_command.main, args)


def test_action_and_workflows_match_their_schemas() -> None:
    assert len(EXAMPLES) == 2
    for schema, files in (
        ("vendor.github-actions", [ROOT / "action.yml"]),
        ("vendor.github-workflows", EXAMPLES),
    ):
        result = check(schema, *files)
        assert result.exit_code == 0, result.output


def test_the_schema_check_catches_a_broken_action(tmp_path: Path) -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    del action["runs"]["steps"][1]["shell"]  # composite run steps must name their shell
    broken = tmp_path / "action.yml"
    broken.write_text(yaml.safe_dump(action))
    result = check("vendor.github-actions", broken)
    assert result.exit_code == 1
    assert "shell" in result.output


def test_examples_use_only_the_actions_inputs_and_outputs() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    inputs, outputs = set(action["inputs"]), set(action["outputs"])
    used = 0
    for path in EXAMPLES:
        workflow = yaml.safe_load(path.read_text())
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                if step.get("uses", "").startswith("your-org/slogen@"):
                    used += 1
                    assert set(step.get("with", {})) <= inputs, path
                    assert step["with"]["command"] in ("validate", "plan", "apply")
        text = path.read_text()
        for name in re.findall(r"steps\.\w+\.outputs\.([\w-]+)", text):
            assert name in outputs, (path, name)
    assert used == 3


def test_workflows_guard_concurrency_and_permissions() -> None:
    examples = ROOT / "examples" / "github"
    plan = yaml.safe_load((examples / "slogen-plan.yml").read_text())
    apply = yaml.safe_load((examples / "slogen-apply.yml").read_text())
    assert apply["concurrency"] == {"group": "slogen-apply", "cancel-in-progress": False}
    assert plan["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "pull-requests": "write",
    }
    assert "pull_request" in plan[True]  # PyYAML reads the key `on` as True
    assert apply[True]["push"]["branches"] == ["main"]


def test_readme_shows_the_example_files() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## GitHub Actions") : readme.index("## Development")]
    for path in EXAMPLES:
        assert f"```yaml\n{path.read_text().rstrip()}\n```" in section, path.name
