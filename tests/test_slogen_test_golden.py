"""Golden files: the promtool rule unit tests ``slogen test specs/ --no-run --out DIR`` writes
for the example specs (tests/golden/promtool/), compared byte for byte.

The expected bytes come from :func:`render_promtool` in scripts/regen_golden.py, the script that
writes the golden files. On a mismatch: run ``python scripts/regen_golden.py`` and review
``git diff -- tests/golden/promtool`` before committing: it is what users' CI would run.
"""

from __future__ import annotations

import difflib

import pytest
import yaml

from tests.conftest import GOLDEN, regen_script

HOW_TO_FIX = (
    "if the change is intended, run `python scripts/regen_golden.py` and review the diff "
    "(git diff -- tests/golden/promtool) before committing"
)


regen = regen_script()


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    return regen.render_promtool()


def test_one_test_file_per_rule_set_and_its_rule_files(rendered: dict[str, bytes]) -> None:
    slos = {  # each SLO's slowest tier, which gets rules of its own
        "billing-worker.freshness": "ticket-21h",
        "checkout.availability": "ticket-3d",
        "checkout.latency": "ticket-3d",
        "search.availability": "ticket-3d",
        "search.query-latency": "ticket-3d",
    }
    expected = set()
    for slo, slowest in slos.items():  # the SLO's faster tiers, and its slowest on its own
        for key in (slo, f"{slo}.{slowest}"):
            expected |= {f"promtool/{key}.test.yml", f"promtool/rules/{key}.rules.yml"}
    assert set(rendered) == expected
    assert set(regen.read_promtool_golden()) == expected, HOW_TO_FIX


@pytest.mark.parametrize("name", sorted(regen.read_promtool_golden()))
def test_generated_promtool_file_matches_golden(rendered: dict[str, bytes], name: str) -> None:
    golden = (GOLDEN / name).read_bytes()
    actual = rendered.get(name)
    assert actual is not None, f"tests/golden/{name} is no longer produced; {HOW_TO_FIX}"
    if actual != golden:
        diff = difflib.unified_diff(
            golden.decode().splitlines(keepends=True),
            actual.decode().splitlines(keepends=True),
            f"tests/golden/{name}",
            "rendered now",
        )
        pytest.fail(f"{''.join(list(diff)[:60])}\n{HOW_TO_FIX}", pytrace=False)


def test_written_tests_hold_only_assertions_on_the_written_rules(
    rendered: dict[str, bytes],
) -> None:
    """Probes (which always 'fail' to report what they saw) stay out of users' CI files."""
    for name, data in rendered.items():
        if not name.endswith(".test.yml"):
            continue
        doc = yaml.safe_load(data)
        assert doc["evaluation_interval"] == "1m"
        for rule_file in doc["rule_files"]:
            assert f"promtool/{rule_file}" in rendered
        for group in doc["tests"]:
            assert group["interval"] == "1m"
            for check in group["promql_expr_test"]:
                assert "_over_time(timestamp(" not in check["expr"], check["expr"]
                assert "# check: " in check["expr"]


def test_rendering_is_deterministic(rendered: dict[str, bytes]) -> None:
    assert regen.render_promtool() == rendered
