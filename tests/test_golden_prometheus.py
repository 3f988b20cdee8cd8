"""Golden files: the Prometheus rule files (both forms) and ``slogen explain`` output (JSON and
text) for the example specs, compared byte for byte.

The expected bytes come from :func:`render_all` in scripts/regen_golden.py, the script that
writes the golden files, so the two cannot drift apart. On a mismatch: run
``python scripts/regen_golden.py`` and review ``git diff -- tests/golden`` before committing.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys

import pytest

from slogen.backends.prometheus import rulefiles as prometheus
from slogen.backends.prometheus.render import alert_rule
from slogen.engine import analyse_slo
from slogen.spec.loader import load_project
from tests.conftest import GOLDEN, REGEN_SCRIPT, ROOT, SPECS, regen_script

HOW_TO_FIX = (
    "if the change is intended, run `python scripts/regen_golden.py` and review the diff "
    "(git diff -- tests/golden) before committing"
)


regen = regen_script()


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    return regen.render_all()


def _golden_names() -> list[str]:
    return sorted(regen.read_golden())


def test_golden_file_set_matches_rendered_output(rendered: dict[str, bytes]) -> None:
    services = [s.name for s in load_project([str(SPECS)]).services]
    expected = {"explain/explain.json", "explain/explain.txt"}
    for form in ("rules", "prometheusrule"):
        expected.update(f"prometheus/{form}/{prometheus.file_name(s, form)}" for s in services)
    assert set(rendered) == expected, "one rule file per service and form, plus explain"
    changes = regen.differences(rendered, regen.read_golden())
    missing_or_stale = [c for c in changes if not c.startswith("changed")]
    assert not missing_or_stale, "\n".join([*missing_or_stale, HOW_TO_FIX])


@pytest.mark.parametrize("name", _golden_names())
def test_rendered_output_matches_golden_file(rendered: dict[str, bytes], name: str) -> None:
    golden = (GOLDEN / name).read_bytes()
    actual = rendered.get(name)
    assert actual is not None, f"tests/golden/{name} is no longer produced; {HOW_TO_FIX}"
    if actual != golden:
        diff = difflib.unified_diff(
            golden.decode("utf-8", "replace").splitlines(keepends=True),
            actual.decode("utf-8", "replace").splitlines(keepends=True),
            f"tests/golden/{name}",
            "rendered now",
        )
        text = "".join(list(diff)[:80])
        pytest.fail(
            f"tests/golden/{name} differs from the rendered output:\n{text}\n{HOW_TO_FIX}",
            pytrace=False,
        )


def test_rendering_is_deterministic_across_runs_and_hash_seeds(
    rendered: dict[str, bytes],
) -> None:
    """Same bytes when rendered again in this process and in a fresh interpreter with another
    hash seed (set and dict ordering must never leak into the output)."""
    assert regen.render_all() == rendered
    env = {**os.environ, "PYTHONHASHSEED": "12345", "NO_COLOR": "1"}
    code = (
        "import sys, json; sys.path.insert(0, sys.argv[1]); import importlib.util as u\n"
        "s = u.spec_from_file_location('regen_golden', sys.argv[2]); m = u.module_from_spec(s)\n"
        "s.loader.exec_module(m)\n"
        "print(json.dumps({k: v.decode() for k, v in m.render_all().items()}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), str(REGEN_SCRIPT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    other = {k: v.encode() for k, v in json.loads(proc.stdout).items()}
    assert other == rendered


def test_annotations_read_true_when_firing_and_when_resolved() -> None:
    """Alertmanager sends the same annotations with the resolved notification (those of the last
    firing evaluation), so they state the condition instead of claiming a burn or a recovery."""
    project = load_project([str(SPECS)])
    service, slo = next(
        (s, o) for s, o in project.slos() if (s.name, o.name) == ("checkout", "availability")
    )
    page = next(m for m in analyse_slo(slo) if m.id == "page-1h")
    annotations = alert_rule(service, slo, page, None)["annotations"]
    assert annotations["summary"] == (
        "checkout/availability: error budget burn above 14.4x the sustainable rate (page-1h)"
    )
    assert (
        "Fires while all of these hold, resolves once any one does not: error ratio above "
        "1.44% over the last 1h; above 1.44% over the last 5m; at least 100 events in the "
        "last 1h.\n"
    ) in annotations["description"]
    assert "when last seen firing: {{ $value | humanizePercentage }}" in annotations["description"]
    assert "is burning" not in annotations["summary"] + annotations["description"]
