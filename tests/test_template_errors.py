"""A mistaken template override is a located error in validate, and build writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run
from tests.conftest import SPECS


@pytest.mark.parametrize(
    ("name", "text", "where", "message"),
    [
        ("prometheus/summary.txt.j2", "{{ oops\n", ":1:1: error:", "unexpected end of template"),
        # the line of an undefined name comes from the template's frame in the traceback
        (
            "datadog/monitor_name.txt.j2",
            "fine\n{{ nope }}\n",
            ":2:1: error:",
            "'nope' is undefined",
        ),
        (
            "cloudwatch/composite_description.txt.j2",
            "{% if %}\n",
            ":1:1: error:",
            "Expected an expression",
        ),
    ],
)
def test_a_broken_override_fails_validate_and_build_cleanly(
    in_tmp: Path, name: str, text: str, where: str, message: str
) -> None:
    override = in_tmp / "templates" / name
    override.parent.mkdir(parents=True)
    override.write_text(text, encoding="utf-8")
    expected = f"{override}{where} template {name}: "
    for args in (("validate",), ("build", "-o", "out"), ("plan",)):
        result = run(*args, str(SPECS), "--templates", str(in_tmp / "templates"), exit_code=1)
        assert expected in result.stderr, result.stderr
        assert message in result.stderr
        assert f"hint: compare it with slogen's own templates/{name}" in result.stderr
        assert "Traceback" not in result.output
    assert not (in_tmp / "out").exists()


def test_valid_overrides_still_validate(in_tmp: Path) -> None:
    override = in_tmp / "templates" / "prometheus" / "summary.txt.j2"
    override.parent.mkdir(parents=True)
    override.write_text("{{ service }}/{{ slo }} burns its budget ({{ tier_id }})\n")
    run("validate", str(SPECS), "--templates", str(in_tmp / "templates"))
